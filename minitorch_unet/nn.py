"""Modules: layers that own their parameters, with PyTorch's initialisation and key names.

The same weights give the same outputs here and in PyTorch: ``state_dict()`` returns NumPy
arrays under PyTorch's names, and ``load_state_dict`` takes them (or PyTorch's own, converted
with ``.numpy()``).
"""
from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from . import backend, functional, losses  # functional: nn.functional, as in PyTorch
from . import functional as F
from .autograd import Tensor


class Parameter(Tensor):
    """A tensor that a Module trains: requires_grad=True unless told otherwise."""

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class: assign Parameters, buffers (``register_buffer``) and sub-modules as attributes."""

    training: bool = True

    def __init__(self) -> None:
        self.training = True
        self._buffers: list[str] = []

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def register_buffer(self, name: str, value: Tensor) -> None:
        """A tensor saved in the state_dict but not trained (running statistics)."""
        setattr(self, name, value)
        self._buffers.append(name)

    # ---- traversal --------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        return (m for _, m in self.named_modules())

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for prefix, module in self.named_modules():
            for name, value in vars(module).items():
                if isinstance(value, Parameter):
                    yield (f"{prefix}.{name}" if prefix else name), value

    def parameters(self) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters())

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        for prefix, module in self.named_modules():
            for name in module._buffers:
                yield (f"{prefix}.{name}" if prefix else name), getattr(module, name)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ---- modes, devices, gradients -------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def to(self, target: str) -> "Module":
        """Move (device 'cpu', 'cuda', 'cuda:0') or cast (dtype name, e.g. 'float64') in place."""
        if str(target).split(":")[0] in backend.DEVICES:
            device = backend.check_device(target)
            convert = lambda a: backend.to_device(a, device)  # noqa: E731
        else:
            convert = lambda a: a.astype(target) if a.dtype.kind == "f" else a  # noqa: E731
        for t in list(self.parameters()) + [b for _, b in self.named_buffers()]:
            t.data = convert(t.data)
            if t.grad is not None:
                t.grad.data = convert(t.grad.data)
        return self

    def cuda(self) -> "Module":
        return self.to("cuda")

    def cpu(self) -> "Module":
        return self.to("cpu")

    def double(self) -> "Module":
        return self.to("float64")

    def float(self) -> "Module":
        return self.to("float32")

    # ---- saving and loading ------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer as a NumPy copy, under PyTorch's key names."""
        state = {name: backend.to_numpy(p.data).copy() for name, p in self.named_parameters()}
        state.update((name, backend.to_numpy(b.data).copy()) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays (NumPy, CuPy, Tensor) into the parameters and buffers, checking keys and shapes."""
        own = dict(self.named_parameters())
        own.update(self.named_buffers())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict into {type(self).__name__}: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        for name, value in state.items():
            if name not in own:
                continue
            target = own[name]
            array = value.data if isinstance(value, Tensor) else value
            if tuple(array.shape) != target.shape:
                raise ValueError(f"load_state_dict: '{name}' has shape {tuple(array.shape)} in the "
                                 f"state but {target.shape} in {type(self).__name__}")
            target.data = backend.asarray(array, target.device, dtype=target.dtype).copy()

    def __repr__(self) -> str:
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self.named_children()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}({extra}\n" + "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        return ""


def _uniform(shape: tuple[int, ...], bound: float) -> np.ndarray:
    return backend.generator("cpu").uniform(-bound, bound, size=shape).astype(np.float32)


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


class Conv2d(Module):
    """weight: (out, in, kh, kw), bias: (out,); PyTorch's default init (uniform, 1/sqrt(fan_in))."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                 bias: bool = True, device: str = "cpu") -> None:
        super().__init__()
        kh, kw = _pair(kernel_size)
        self.stride, self.padding = stride, padding
        bound = 1 / math.sqrt(in_channels * kh * kw)  # kaiming_uniform(a=sqrt(5)) reduces to this
        self.weight = Parameter(_uniform((out_channels, in_channels, kh, kw), bound))
        self.bias = Parameter(_uniform((out_channels,), bound)) if bias else None
        self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        o, c, kh, kw = self.weight.shape
        return f"{c}, {o}, kernel_size=({kh}, {kw}), stride={self.stride}, padding={self.padding!r}"


class ConvTranspose2d(Module):
    """weight: (in, out, kh, kw), bias: (out,); init as PyTorch (fan_in = out * kh * kw)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 output_padding: int | tuple[int, int] = 0, bias: bool = True,
                 device: str = "cpu") -> None:
        super().__init__()
        kh, kw = _pair(kernel_size)
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        bound = 1 / math.sqrt(out_channels * kh * kw)  # PyTorch computes fan_in from dim 1
        self.weight = Parameter(_uniform((in_channels, out_channels, kh, kw), bound))
        self.bias = Parameter(_uniform((out_channels,), bound)) if bias else None
        self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding)

    def extra_repr(self) -> str:
        c, o, kh, kw = self.weight.shape
        return f"{c}, {o}, kernel_size=({kh}, {kw}), stride={self.stride}"


class BatchNorm2d(Module):
    """weight (ones), bias (zeros), running_mean, running_var, num_batches_tracked: as PyTorch."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 device: str = "cpu") -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = Parameter(np.ones(num_features, np.float32))
        self.bias = Parameter(np.zeros(num_features, np.float32))
        self.register_buffer("running_mean", Tensor(np.zeros(num_features, np.float32)))
        self.register_buffer("running_var", Tensor(np.ones(num_features, np.float32)))
        self.register_buffer("num_batches_tracked", Tensor(np.zeros((), np.int64)))
        self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            self.num_batches_tracked.data = self.num_batches_tracked.data + 1
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}, momentum={self.momentum}"


class MaxPool2d(Module):
    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}"


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Dropout(Module):
    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Sequential(Module):
    """Modules applied in order; their keys in the state_dict are '0', '1', ... as in PyTorch."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, module in enumerate(modules):
            setattr(self, str(i), module)

    def __len__(self) -> int:
        return sum(1 for _ in self.named_children())

    def __getitem__(self, i: int) -> Module:
        return getattr(self, str(i % len(self)))

    def forward(self, x: Tensor) -> Tensor:
        for _, module in self.named_children():
            x = module(x)
        return x


# ---- losses: modules over the functions of functional and losses -----------------------------
class BCEWithLogitsLoss(Module):
    """Binary cross-entropy from logits (N, ...) and targets of the same shape, mean over all."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target)


class BCELoss(Module):
    """Binary cross-entropy from probabilities in [0, 1] (after a sigmoid), mean over all."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target)


class DiceLoss(Module):
    """Soft Dice loss from logits, over the whole batch (see ``losses.soft_dice_loss``)."""

    def __init__(self, smooth: float = 1.0) -> None:
        super().__init__()
        self.smooth = smooth

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return losses.soft_dice_loss(input, target, self.smooth)

    def extra_repr(self) -> str:
        return f"smooth={self.smooth}"
