"""minitorch_unet: a small NumPy/CuPy autograd engine and the U-Net built on it."""
from __future__ import annotations

from typing import Any

from . import backend, functional, nn
from .autograd import Function, Tensor, is_grad_enabled, no_grad
from .backend import DeviceError, cuda_available, manual_seed
from .functional import cat
from .gradcheck import gradcheck

__version__ = "0.1.0"


def tensor(data: Any, requires_grad: bool = False, device: str | None = None,
           dtype: Any = None) -> Tensor:
    """A new tensor from a number, list or array (floats from Python data become float32)."""
    return Tensor(data, requires_grad=requires_grad, device=device, dtype=dtype)


def _filled(fill: str, shape: tuple, dtype: Any, device: str, requires_grad: bool) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    array = getattr(backend.xp_for(device), fill)(shape, dtype=dtype)
    return Tensor(array, requires_grad=requires_grad)


def zeros(*shape: int, dtype: Any = "float32", device: str = "cpu",
          requires_grad: bool = False) -> Tensor:
    return _filled("zeros", shape, dtype, device, requires_grad)


def ones(*shape: int, dtype: Any = "float32", device: str = "cpu",
         requires_grad: bool = False) -> Tensor:
    return _filled("ones", shape, dtype, device, requires_grad)


def randn(*shape: int, dtype: Any = "float32", device: str = "cpu",
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the seeded generator (see manual_seed)."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    array = backend.generator(device).standard_normal(shape).astype(dtype)
    return Tensor(array, requires_grad=requires_grad)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return a @ b


__all__ = ["Tensor", "Function", "tensor", "zeros", "ones", "randn", "matmul", "cat", "no_grad",
           "is_grad_enabled", "gradcheck", "manual_seed", "cuda_available", "DeviceError",
           "functional", "nn", "backend"]
