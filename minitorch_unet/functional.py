"""The ops, with PyTorch's names, signatures and semantics (``import ... functional as F``).

Each function checks its arguments and names the op and the shapes at fault, then applies
a Function. The layers a learner writes in the course can replace the engine's own with
:func:`override`, so that the whole U-Net runs on the learner's code::

    with F.override(conv2d=my_conv2d):
        logits = unet(images)
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

from . import backend, fast_conv, winograd, winograd43
from .autograd import Tensor
from .basic_ops import Cat, GetItem, ReLU, Sigmoid, Tanh
from .batchnorm import BatchNorm
from .convolution import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .pooling import MaxPool2d, MaxPool2x2

IntPair = int | tuple[int, int]

# Layer implementations a learner may replace; see override().
_OVERRIDABLE = ("conv2d", "conv_transpose2d", "max_pool2d", "cat", "center_crop")
_overrides: dict[str, Callable[..., Tensor]] = {}
# False makes conv2d, conv_transpose2d and max_pool2d always take the plain kernels.
use_fast_kernels = True


@contextlib.contextmanager
def override(**implementations: Callable[..., Tensor]) -> Iterator[None]:
    """Use the given functions instead of the engine's own within the block.

    Keys: conv2d, conv_transpose2d, max_pool2d, cat, center_crop. Each function takes the
    same arguments as the op it replaces and returns a Tensor.
    """
    unknown = set(implementations) - set(_OVERRIDABLE)
    if unknown:
        raise KeyError(f"override: cannot replace {sorted(unknown)}; choose from {list(_OVERRIDABLE)}")
    previous = dict(_overrides)
    _overrides.update(implementations)
    try:
        yield
    finally:
        _overrides.clear()
        _overrides.update(previous)


def _pair(value: IntPair, name: str, op: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return pair


def _check_float(op: str, **tensors: Tensor | None) -> None:
    dtypes = set()
    for name, t in tensors.items():
        if t is None:
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype.kind != "f":
            raise TypeError(f"{op}: {name} has dtype {t.dtype}; a floating-point tensor is needed "
                            f"(convert with .float())")
        dtypes.add(str(t.dtype))
    if len(dtypes) > 1:
        found = ", ".join(f"{k}={v.dtype}" for k, v in tensors.items() if v is not None)
        raise TypeError(f"{op}: mixed dtypes ({found}); convert them to one dtype")


def _check_4d(op: str, name: str, t: Tensor, what: str = "(N, C, H, W)") -> None:
    if t.ndim != 4:
        raise ValueError(f"{op}: {name} must be 4-D {what}, got shape {t.shape}")


# ---- activations -----------------------------------------------------------------------------
def relu(input: Tensor) -> Tensor:
    return ReLU.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    return Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    return Tanh.apply(input)


# ---- convolution -----------------------------------------------------------------------------
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
           padding: IntPair | str = 0) -> Tensor:
    """input: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) -> (N, O, Ho, Wo).

    padding: an int, a pair, 'valid' (no padding) or 'same' (stride 1; output size = input
    size; an even kernel pads one more on the bottom/right, as PyTorch does).
    """
    if "conv2d" in _overrides:
        return _overrides["conv2d"](input, weight, bias, stride, padding)
    op = "conv2d"
    _check_float(op, input=input, weight=weight, bias=bias)
    _check_4d(op, "input", input)
    _check_4d(op, "weight", weight, "(out_channels, in_channels, kh, kw)")
    stride = _pair(stride, "stride", op)
    o, c, kh, kw = weight.shape
    if input.shape[1] != c:
        raise ValueError(f"{op}: input has {input.shape[1]} channels (shape {input.shape}) but the "
                         f"weight expects {c} (weight shape {weight.shape})")
    if bias is not None and bias.shape != (o,):
        raise ValueError(f"{op}: bias must have shape ({o},) for weight {weight.shape}, got {bias.shape}")
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":
        if stride != (1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
        if kh % 2 == 0 or kw % 2 == 0:  # asymmetric: pad the input once, then convolve unpadded
            input = _pad_bottom_right(input, (kh - 1) // 2, kh // 2, (kw - 1) // 2, kw // 2)
            padding = (0, 0)
        else:
            padding = (kh // 2, kw // 2)
    elif isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    padding = _pair(padding, "padding", op)
    hp, wp = input.shape[2] + 2 * padding[0], input.shape[3] + 2 * padding[1]
    if kh > hp or kw > wp:
        raise ValueError(f"{op}: kernel {kh}x{kw} is larger than the padded input {hp}x{wp} "
                         f"(input {input.shape}, padding {padding})")
    tensors = (input, weight) if bias is None else (input, weight, bias)
    if use_fast_kernels and stride == (1, 1):
        if (kh, kw) == (3, 3) and min(c, o) >= winograd.MIN_CHANNELS and \
                input.shape[2] * input.shape[3] <= winograd.MAX_PIXELS:
            if min(input.shape[2:]) >= winograd43.MIN_SIDE:
                return winograd43.Conv2dWinograd43.apply(*tensors, padding=padding)
            return winograd.Conv2dWinograd.apply(*tensors, padding=padding)
        return fast_conv.Conv2dColumnBlocks.apply(*tensors, padding=padding)
    return Conv2d.apply(*tensors, stride=stride, padding=padding)


def _pad_bottom_right(x: Tensor, top: int, bottom: int, left: int, right: int) -> Tensor:
    """Zero-pad H and W unevenly, differentiably (for 'same' with an even kernel)."""
    xp = backend.xp_of(x.data)
    n, c, h, w = x.shape
    # Cat.apply, not cat(): internal padding must not go through a learner's override.
    x = Cat.apply(Tensor._wrap(xp.zeros((n, c, top, w), x.dtype)), x,
                  Tensor._wrap(xp.zeros((n, c, bottom, w), x.dtype)), dim=2)
    return Cat.apply(Tensor._wrap(xp.zeros((n, c, x.shape[2], left), x.dtype)), x,
                     Tensor._wrap(xp.zeros((n, c, x.shape[2], right), x.dtype)), dim=3)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: IntPair = 1, padding: IntPair = 0,
                     output_padding: IntPair = 0) -> Tensor:
    """input: (N, C, H, W), weight: (C, O, kh, kw), bias: (O,) -> (N, O, Ho, Wo) with
    Ho = (H - 1) * stride - 2 * padding + kh + output_padding."""
    if "conv_transpose2d" in _overrides:
        return _overrides["conv_transpose2d"](input, weight, bias, stride, padding, output_padding)
    op = "conv_transpose2d"
    _check_float(op, input=input, weight=weight, bias=bias)
    _check_4d(op, "input", input)
    _check_4d(op, "weight", weight, "(in_channels, out_channels, kh, kw)")
    stride, padding = _pair(stride, "stride", op), _pair(padding, "padding", op)
    output_padding = _pair(output_padding, "output_padding", op)
    c, o, kh, kw = weight.shape
    if input.shape[1] != c:
        raise ValueError(f"{op}: input has {input.shape[1]} channels (shape {input.shape}) but the "
                         f"weight expects {c} (weight shape {weight.shape}, laid out as (in, out, kh, kw))")
    if bias is not None and bias.shape != (o,):
        raise ValueError(f"{op}: bias must have shape ({o},) for weight {weight.shape}, got {bias.shape}")
    if any(op_ >= s for op_, s in zip(output_padding, stride)):
        raise ValueError(f"{op}: output_padding {output_padding} must be smaller than stride {stride}")
    ho = (input.shape[2] - 1) * stride[0] - 2 * padding[0] + kh + output_padding[0]
    wo = (input.shape[3] - 1) * stride[1] - 2 * padding[1] + kw + output_padding[1]
    if ho <= 0 or wo <= 0:
        raise ValueError(f"{op}: output size {ho}x{wo} is not positive (input {input.shape}, "
                         f"kernel {kh}x{kw}, stride {stride}, padding {padding})")
    tensors = (input, weight) if bias is None else (input, weight, bias)
    if use_fast_kernels and (kh, kw) == stride and padding == (0, 0) and output_padding == (0, 0):
        return fast_conv.ConvTranspose2dPixelShuffle.apply(*tensors)
    return ConvTranspose2d.apply(*tensors, stride=stride, padding=padding,
                                 output_padding=output_padding)


def max_pool2d(input: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0) -> Tensor:
    """input: (N, C, H, W) -> (N, C, Ho, Wo), Ho = (H + 2 * padding - kernel) // stride + 1;
    stride defaults to kernel_size."""
    if "max_pool2d" in _overrides:
        return _overrides["max_pool2d"](input, kernel_size, stride, padding)
    op = "max_pool2d"
    _check_float(op, input=input)
    _check_4d(op, "input", input)
    kernel = _pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else _pair(stride, "stride", op)
    padding = _pair(padding, "padding", op)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}")
    if kernel[0] > input.shape[2] + 2 * padding[0] or kernel[1] > input.shape[3] + 2 * padding[1]:
        raise ValueError(f"{op}: kernel {kernel} is larger than the padded input "
                         f"(input {input.shape}, padding {padding})")
    if use_fast_kernels and kernel == (2, 2) and stride == (2, 2) and padding == (0, 0):
        return MaxPool2x2.apply(input)
    return MaxPool2d.apply(input, kernel=kernel, stride=stride, padding=padding)


# ---- joining and cropping --------------------------------------------------------------------
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along `dim`; every other size must match."""
    if "cat" in _overrides:
        return _overrides["cat"](tensors, dim)
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    first = tensors[0]
    if not -first.ndim <= dim < first.ndim:
        raise IndexError(f"cat: dim {dim} out of range for {first.ndim}-D tensors")
    dim %= first.ndim
    for i, t in enumerate(tensors[1:], 1):
        if t.ndim != first.ndim:
            raise ValueError(f"cat: tensor 0 has shape {first.shape} but tensor {i} has shape "
                             f"{t.shape} (different number of dimensions)")
        bad = [d for d in range(first.ndim) if d != dim and t.shape[d] != first.shape[d]]
        if bad:
            hint = ""
            if set(bad) <= {first.ndim - 2, first.ndim - 1} and first.ndim >= 3:
                dh, dw = (t.shape[-2] - first.shape[-2], t.shape[-1] - first.shape[-1])
                hint = (f"; the spatial sizes differ by {abs(dh)}x{abs(dw)}: center_crop the larger "
                        f"one to {min(t.shape[-2], first.shape[-2])}x{min(t.shape[-1], first.shape[-1])} "
                        "first (a skip connection of an unpadded U-Net needs this)")
            raise ValueError(f"cat along dim {dim}: tensor 0 has shape {first.shape} but tensor {i} "
                             f"has shape {t.shape}; sizes must match except in dim {dim}{hint}")
        if t.dtype != first.dtype:
            raise TypeError(f"cat: tensor 0 is {first.dtype} but tensor {i} is {t.dtype}")
    return Cat.apply(*tensors, dim=dim)


def center_crop(input: Tensor, size: IntPair) -> Tensor:
    """Crop the last two dims to `size`, centred: top = (H - h) // 2, left = (W - w) // 2."""
    if "center_crop" in _overrides:
        return _overrides["center_crop"](input, size)
    h, w = _pair(size, "size", "center_crop")
    if input.ndim < 2:
        raise ValueError(f"center_crop: input must have at least 2 dims, got shape {input.shape}")
    height, width = input.shape[-2:]
    if h > height or w > width or h <= 0 or w <= 0:
        raise ValueError(f"center_crop: cannot crop {height}x{width} (shape {input.shape}) to {h}x{w}")
    top, left = (height - h) // 2, (width - w) // 2
    return GetItem.apply(input, index=(Ellipsis, slice(top, top + h), slice(left, left + w)))


# ---- normalisation, regularisation, loss -------------------------------------------------------
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """input: (N, C, H, W); running_mean, running_var, weight, bias: (C,).

    Training normalises with batch statistics and updates the running ones in place."""
    op = "batch_norm"
    _check_float(op, input=input, weight=weight, bias=bias)
    _check_4d(op, "input", input)
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (c,):
            raise ValueError(f"{op}: {name} must have shape ({c},) for input {input.shape}, got {t.shape}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"{op}: evaluation mode needs running_mean and running_var")
    if training and input.numel() // c <= 1:
        raise ValueError(f"{op}: training needs more than one value per channel, got input {input.shape}")
    if (weight is None) != (bias is None):
        raise ValueError(f"{op}: give both weight and bias, or neither")
    affine = () if weight is None else (weight, bias)
    return BatchNorm.apply(input, *affine,
                           running_mean=None if running_mean is None else running_mean.data,
                           running_var=None if running_var is None else running_var.data,
                           training=training, momentum=momentum, eps=eps)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero elements with probability p and scale the rest by 1/(1-p); identity when not training."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    return Dropout.apply(input, p=p)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor) -> Tensor:
    """Mean of -[t log s(x) + (1 - t) log(1 - s(x))], computed stably from logits x."""
    from .losses import BCEWithLogits
    _check_float("binary_cross_entropy_with_logits", input=input, target=target)
    if input.shape != target.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: input {input.shape} and target "
                         f"{target.shape} must have the same shape")
    return BCEWithLogits.apply(input, target)


def binary_cross_entropy(input: Tensor, target: Tensor) -> Tensor:
    """Mean of -[t log p + (1 - t) log(1 - p)] from probabilities p = input in [0, 1]; each log
    is clamped at -100, as PyTorch does. From logits, binary_cross_entropy_with_logits is exact."""
    from .losses import BinaryCrossEntropy
    op = "binary_cross_entropy"
    _check_float(op, input=input, target=target)
    if input.shape != target.shape:
        raise ValueError(f"{op}: input {input.shape} and target {target.shape} must have the "
                         "same shape")
    xp = backend.xp_of(input.data)
    if input.numel() and not bool(((input.data >= 0) & (input.data <= 1)).all()):
        low, high = float(xp.min(input.data)), float(xp.max(input.data))
        raise ValueError(f"{op}: input must be probabilities in [0, 1], got values in "
                         f"[{low:.4g}, {high:.4g}]; for logits use binary_cross_entropy_with_logits")
    return BinaryCrossEntropy.apply(input, target)
