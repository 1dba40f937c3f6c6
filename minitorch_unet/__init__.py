"""minitorch_unet: a small NumPy/CuPy autograd engine and the U-Net built on it.

PyTorch's names where PyTorch has the thing: ``mt.nn``, ``mt.optim``, ``mt.functional``,
``mt.tensor``, ``mt.from_numpy``, ``mt.sigmoid``, ``mt.save``/``mt.load`` (a ``.npz``),
``mt.no_grad``, ``mt.manual_seed``, ``mt.cuda.is_available()``. Each is the engine's one
implementation under that name.
"""
from types import SimpleNamespace as _Namespace

import numpy as _np

from . import backend, functional, losses, nn, optim, threads
from .autograd import Function, Tensor, is_grad_enabled, no_grad
from .backend import DeviceError, cuda_available, manual_seed
from .checkpoint import load, save
from .functional import cat, relu, sigmoid, tanh
from .gradcheck import gradcheck
from .unet import UNet

__version__ = "0.1.0"

threads.limit_at_import()  # NumPy's BLAS threads, chosen for this machine (see threads.py)

# torch.cuda.is_available() and torch.float32 style names.
cuda = _Namespace(is_available=cuda_available)
float32, float64 = "float32", "float64"


def tensor(data: object, requires_grad: bool = False, device: str | None = None,
           dtype: object = None) -> Tensor:
    """A new tensor from a number, list or array (floats from Python data become float32)."""
    return Tensor(data, requires_grad=requires_grad, device=device, dtype=dtype)


def as_tensor(data: object, dtype: object = None, device: str | None = None) -> Tensor:
    """`data` as a tensor, sharing memory with a NumPy/CuPy array where dtype and device allow."""
    if isinstance(data, Tensor) and dtype is None and device in (None, data.device):
        return data
    return Tensor(data, device=device, dtype=dtype)


def from_numpy(array: _np.ndarray) -> Tensor:
    """A tensor that shares memory with a NumPy array (same dtype, on the CPU)."""
    if not isinstance(array, _np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def _filled(fill: str, shape: tuple, dtype: object, device: str, requires_grad: bool) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    array = getattr(backend.xp_for(device), fill)(shape, dtype=dtype)
    return Tensor(array, requires_grad=requires_grad)


def zeros(*shape: int, dtype: object = "float32", device: str = "cpu",
          requires_grad: bool = False) -> Tensor:
    return _filled("zeros", shape, dtype, device, requires_grad)


def ones(*shape: int, dtype: object = "float32", device: str = "cpu",
         requires_grad: bool = False) -> Tensor:
    return _filled("ones", shape, dtype, device, requires_grad)


def randn(*shape: int, dtype: object = "float32", device: str = "cpu",
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the seeded generator (see manual_seed)."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    array = backend.generator(device).standard_normal(shape).astype(dtype)
    return Tensor(array, requires_grad=requires_grad)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return a @ b


def exp(input: Tensor) -> Tensor:
    return input.exp()


def log(input: Tensor) -> Tensor:
    return input.log()


__all__ = ["Tensor", "Function", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "randn",
           "matmul", "cat", "relu", "sigmoid", "tanh", "exp", "log", "no_grad",
           "is_grad_enabled", "gradcheck", "manual_seed", "save", "load", "cuda",
           "cuda_available", "DeviceError", "float32", "float64", "UNet", "functional", "nn",
           "optim", "losses", "backend", "threads"]
