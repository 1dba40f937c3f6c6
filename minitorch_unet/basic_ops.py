"""Elementwise, reduction, shape and matrix ops: each a Function on raw arrays."""
from __future__ import annotations

from typing import Any, Sequence

from . import backend
from .autograd import Context, Function, Tensor


def _xp(a: Any):
    return backend.xp_of(a)


# ---- elementwise arithmetic ----------------------------------------------------------------
class Add(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        return a + b

    @staticmethod
    def backward(ctx: Context, g):
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        return a - b

    @staticmethod
    def backward(ctx: Context, g):
        return g, -g


class Mul(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.a, ctx.b = a, b
        return a * b

    @staticmethod
    def backward(ctx: Context, g):
        ga, gb = ctx.needs_input_grad
        return (g * ctx.b if ga else None), (g * ctx.a if gb else None)


class Div(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.a, ctx.b = a, b
        return a / b

    @staticmethod
    def backward(ctx: Context, g):
        ga, gb = ctx.needs_input_grad
        return (g / ctx.b if ga else None), (-g * ctx.a / (ctx.b * ctx.b) if gb else None)


class Neg(Function):
    @staticmethod
    def forward(ctx: Context, a):
        return -a

    @staticmethod
    def backward(ctx: Context, g):
        return -g


class Pow(Function):
    """a ** exponent, for a Python number exponent."""

    @staticmethod
    def forward(ctx: Context, a, exponent: float):
        ctx.a, ctx.exponent = a, exponent
        return a ** exponent

    @staticmethod
    def backward(ctx: Context, g):
        p = ctx.exponent
        return g * p * ctx.a ** (p - 1)


class Exp(Function):
    @staticmethod
    def forward(ctx: Context, a):
        ctx.out = _xp(a).exp(a)
        return ctx.out

    @staticmethod
    def backward(ctx: Context, g):
        return g * ctx.out


class Log(Function):
    @staticmethod
    def forward(ctx: Context, a):
        ctx.a = a
        return _xp(a).log(a)

    @staticmethod
    def backward(ctx: Context, g):
        return g / ctx.a


class ReLU(Function):
    @staticmethod
    def forward(ctx: Context, a):
        out = _xp(a).maximum(a, 0)
        ctx.positive = out > 0
        return out

    @staticmethod
    def backward(ctx: Context, g):
        return g * ctx.positive


class Sigmoid(Function):
    @staticmethod
    def forward(ctx: Context, a):
        xp = _xp(a)
        # 0.5 * (1 + tanh(a / 2)) equals 1 / (1 + exp(-a)) and never overflows.
        ctx.out = 0.5 * (1 + xp.tanh(0.5 * a))
        return ctx.out

    @staticmethod
    def backward(ctx: Context, g):
        s = ctx.out
        return g * s * (1 - s)


class Tanh(Function):
    @staticmethod
    def forward(ctx: Context, a):
        ctx.out = _xp(a).tanh(a)
        return ctx.out

    @staticmethod
    def backward(ctx: Context, g):
        return g * (1 - ctx.out * ctx.out)


# ---- reductions ---------------------------------------------------------------------------
def _axes(dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dim {d} out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(d % max(ndim, 1) for d in dims)) if ndim else ()


class Sum(Function):
    @staticmethod
    def forward(ctx: Context, a, dim=None, keepdim=False):
        ctx.shape, ctx.axes, ctx.keepdim = a.shape, _axes(dim, a.ndim), keepdim
        return a.sum(axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Context, g):
        if not ctx.keepdim:
            g = _xp(g).expand_dims(g, ctx.axes)
        return _xp(g).broadcast_to(g, ctx.shape)


class Max(Function):
    """Maximum over all elements: the gradient is shared among tied maxima, as in PyTorch."""

    @staticmethod
    def forward(ctx: Context, a):
        out = a.max()
        ctx.mask = a == out
        return out

    @staticmethod
    def backward(ctx: Context, g):
        return g * ctx.mask / ctx.mask.sum().astype(g.dtype)


class MaxDim(Function):
    """Maximum along one dim; the gradient goes to the first maximum (`index`, from argmax)."""

    @staticmethod
    def forward(ctx: Context, a, axis: int, keepdim: bool, index):
        out = _xp(a).take_along_axis(a, index, axis=axis)
        ctx.shape, ctx.axis, ctx.index = a.shape, axis, index
        return out if keepdim else out.squeeze(axis)

    @staticmethod
    def backward(ctx: Context, g):
        xp = _xp(g)
        along = [1] * len(ctx.shape)
        along[ctx.axis] = ctx.shape[ctx.axis]
        positions = xp.arange(ctx.shape[ctx.axis]).reshape(along)
        return (positions == ctx.index) * g.reshape(ctx.index.shape)


# ---- shape --------------------------------------------------------------------------------
class Reshape(Function):
    @staticmethod
    def forward(ctx: Context, a, shape: tuple[int, ...]):
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError as err:
            raise ValueError(f"reshape: cannot view shape {tuple(a.shape)} "
                             f"({a.size} elements) as {tuple(shape)}") from err

    @staticmethod
    def backward(ctx: Context, g):
        return g.reshape(ctx.shape)


class Permute(Function):
    @staticmethod
    def forward(ctx: Context, a, dims: tuple[int, ...]):
        if sorted(d % a.ndim for d in dims) != list(range(a.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of the {a.ndim} dims of {tuple(a.shape)}")
        ctx.dims = tuple(d % a.ndim for d in dims)
        return a.transpose(ctx.dims)

    @staticmethod
    def backward(ctx: Context, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return g.transpose(inverse)


def _is_basic_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice)) or i is None or i is Ellipsis for i in items)


class GetItem(Function):
    @staticmethod
    def forward(ctx: Context, a, index):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return a[index]

    @staticmethod
    def backward(ctx: Context, g):
        xp = _xp(g)
        grad = xp.zeros(ctx.shape, dtype=g.dtype)
        if _is_basic_index(ctx.index):
            grad[ctx.index] = g
        else:  # advanced indexing may pick one element twice: accumulate
            xp.add.at(grad, ctx.index, g)
        return grad


class Cat(Function):
    @staticmethod
    def forward(ctx: Context, *arrays, dim: int):
        ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
        return _xp(arrays[0]).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx: Context, g):
        xp = _xp(g)
        bounds = [sum(ctx.sizes[:i + 1]) for i in range(len(ctx.sizes) - 1)]
        return tuple(xp.split(g, bounds, axis=ctx.dim))


class Matmul(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.a, ctx.b = a, b
        return _xp(a).matmul(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        xp = _xp(g)
        a = ctx.a if ctx.a.ndim > 1 else ctx.a[None, :]
        b = ctx.b if ctx.b.ndim > 1 else ctx.b[:, None]
        g = g.reshape(g.shape[:-1] + (1,)) if ctx.b.ndim == 1 else g
        g = xp.expand_dims(g, -2) if ctx.a.ndim == 1 else g
        ga = xp.matmul(g, xp.swapaxes(b, -1, -2)) if ctx.needs_input_grad[0] else None
        gb = xp.matmul(xp.swapaxes(a, -1, -2), g) if ctx.needs_input_grad[1] else None
        if ga is not None:
            ga = _sum_to(ga, a.shape).reshape(ctx.a.shape)
        if gb is not None:
            gb = _sum_to(gb, b.shape).reshape(ctx.b.shape)
        return ga, gb


def _sum_to(grad, shape):
    """Undo matmul's broadcasting of batch dims."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape[:-2]) if n == 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad


class ToDevice(Function):
    @staticmethod
    def forward(ctx: Context, a, device: str):
        ctx.source = backend.device_of(a)
        return backend.to_device(a, device)

    @staticmethod
    def backward(ctx: Context, g):
        return backend.to_device(g, ctx.source)


class Cast(Function):
    @staticmethod
    def forward(ctx: Context, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx: Context, g):
        return g.astype(ctx.dtype)


# ---- wiring into Tensor ------------------------------------------------------------------
def as_tensor(value: Any, like: Tensor) -> Tensor:
    """A Python number or array as a tensor on `like`'s device (numbers take its dtype)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float, bool)):
        return Tensor._wrap(backend.xp_of(like.data).asarray(value, dtype=like.dtype))
    return Tensor(value, device=like.device)


def _binary(op: type[Function], swap: bool = False):
    def method(self: Tensor, other: Any) -> Tensor:
        other = as_tensor(other, self)
        return op.apply(other, self) if swap else op.apply(self, other)
    return method


def _compare(name: str):
    def method(self: Tensor, other: Any) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(getattr(self.data, name)(other))
    return method


def install_tensor_methods(cls: type[Tensor]) -> None:
    """Give Tensor its operators and methods (kept here, beside the ops they call)."""
    cls.__add__ = _binary(Add)
    cls.__radd__ = _binary(Add, swap=True)
    cls.__sub__ = _binary(Sub)
    cls.__rsub__ = _binary(Sub, swap=True)
    cls.__mul__ = _binary(Mul)
    cls.__rmul__ = _binary(Mul, swap=True)
    cls.__truediv__ = _binary(Div)
    cls.__rtruediv__ = _binary(Div, swap=True)
    cls.__matmul__ = _binary(Matmul)
    cls.__rmatmul__ = _binary(Matmul, swap=True)
    cls.__neg__ = lambda self: Neg.apply(self)
    cls.__pow__ = pow_
    cls.pow = pow_
    for name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
        setattr(cls, name, _compare(name))
    cls.__hash__ = object.__hash__
    cls.__getitem__ = lambda self, index: GetItem.apply(self, index=_plain_index(index))
    cls.exp = lambda self: Exp.apply(self)
    cls.log = lambda self: Log.apply(self)
    cls.relu = lambda self: ReLU.apply(self)
    cls.sigmoid = lambda self: Sigmoid.apply(self)
    cls.tanh = lambda self: Tanh.apply(self)
    cls.sum = lambda self, dim=None, keepdim=False: Sum.apply(self, dim=dim, keepdim=keepdim)
    cls.mean = mean
    cls.max = max_
    cls.matmul = lambda self, other: Matmul.apply(self, as_tensor(other, self))
    cls.reshape = reshape
    cls.view = reshape
    cls.flatten = lambda self, start_dim=0: reshape(self, *self.shape[:start_dim], -1)
    cls.permute = permute
    cls.transpose = transpose
    cls.T = property(lambda self: permute(self, *reversed(range(self.ndim))))
    cls.squeeze = squeeze
    cls.unsqueeze = lambda self, dim: reshape(
        self, *_insert(self.shape, dim % (self.ndim + 1), 1))


def _insert(shape: tuple[int, ...], at: int, n: int) -> tuple[int, ...]:
    return shape[:at] + (n,) + shape[at:]


def _plain_index(index: Any) -> Any:
    """Tensors used as indices become their arrays."""
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index.data if isinstance(index, Tensor) else index


def pow_(self: Tensor, exponent: float) -> Tensor:
    if isinstance(exponent, Tensor):
        raise TypeError("pow: the exponent must be a Python number, not a Tensor")
    return Pow.apply(self, exponent=exponent)


def mean(self: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    count = 1
    for axis in _axes(dim, self.ndim):
        count *= self.shape[axis]
    return Sum.apply(self, dim=dim, keepdim=keepdim) * (1.0 / count)


def max_(self: Tensor, dim: int | None = None, keepdim: bool = False):
    """Global maximum, or (values, indices) along `dim` as in PyTorch."""
    if dim is None:
        return Max.apply(self)
    xp = backend.xp_of(self.data)
    axis = _axes(dim, self.ndim)[0]
    index = xp.expand_dims(self.data.argmax(axis=axis), axis)
    values = MaxDim.apply(self, axis=axis, keepdim=keepdim, index=index)
    return values, Tensor._wrap(index if keepdim else index.squeeze(axis))


def reshape(self: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply(self, shape=tuple(shape))


def permute(self: Tensor, *dims) -> Tensor:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return Permute.apply(self, dims=tuple(dims))


def transpose(self: Tensor, dim0: int, dim1: int) -> Tensor:
    dims = list(range(self.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(self, dims=tuple(dims))


def squeeze(self: Tensor, dim: int | None = None) -> Tensor:
    if dim is None:
        shape = tuple(n for n in self.shape if n != 1)
    else:
        d = dim % self.ndim
        shape = self.shape[:d] + self.shape[d + 1:] if self.shape[d] == 1 else self.shape
    return reshape(self, *shape)
