"""Winograd convolution F(2x2, 3x3): a stride-1 3x3 convolution with 2.25x fewer multiplications.

Cut the padded input into 4x4 tiles that overlap by 2 (stride 2); each tile d gives a 2x2
block of the output. In one dimension, two outputs of a 3-tap kernel g on four samples d are

    y = A^T [(G g) * (B^T d)]        (4 multiplications instead of 6)

and in two, Y = A^T [(G g G^T) * (B^T d B)] A: 16 multiplications per tile and channel pair
instead of 36. Summed over the input channels, the elementwise product of each of the 16
tile positions is a matrix product, so the layer is 16 products (O, C) @ (C, tiles):

    U = G w G^T   (16, O, C)      V = B^T d B   (16, C, tiles)      Y = A^T (U @ V) A

The data's transforms are additions only (B, A); they run in cache-sized blocks of channels
(see parallel.py). The weight's (G) is one small matrix product for all the kernels.
The backward applies the adjoint of each step in reverse order, so the input and weight
gradients are 16 products too. The rounding differs from a direct sum (the transforms add
and subtract before multiplying); the tests measure it against the plain kernel.
"""
from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from . import backend, parallel
from .autograd import Context, Function

# conv2d takes this kernel for layers with at least MIN_CHANNELS input and output channels
# and at most MAX_PIXELS pixels per image and channel. With fewer channels the transforms cost
# about what the multiplications save; on larger images the transforms' passes over memory
# (V is four times the input) cost more than the column blocks of fast_conv. Measured with
# benchmarks/bench_conv_kernels.py (batch 8, one thread, CPU time), time / the column
# blocks': 64 -> 64 at 64x64 1.10, 128 -> 64 at 64x64 1.04 (1.88 and 1.45 while other jobs
# loaded the memory), 64 -> 128 at 32x32 0.79, 256 -> 256 at 16x16 0.50, 512 -> 512 at 8x8 0.36.
MIN_CHANNELS = 64
MAX_PIXELS = 32 * 32

# The transforms of F(2, 3) (Lavin & Gray, 2016); the functions below apply B and A with
# additions only, and the tests check that they do what these matrices say.
B_T = ((1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1))
G = ((1, 0, 0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0, 0, 1))
A_T = ((1, 1, 1, 0), (0, 1, -1, -1))


def _every_other(a: Any, axis: int, start: int, count: int) -> Any:
    """a[..., start:start + 2*count:2, ...] along `axis`: the `start`-th sample of each tile."""
    index = [slice(None)] * a.ndim
    index[axis] = slice(start, start + 2 * count, 2)
    return a[tuple(index)]


def _input_transform_1d(a: Any, axis: int, tiles: int, out: list[Any]) -> None:
    """B^T d along `axis` for every tile of 4 samples (stride 2): out[k] = row k of B^T d."""
    xp = backend.xp_of(a)
    d0, d1, d2, d3 = (_every_other(a, axis, k, tiles) for k in range(4))
    xp.subtract(d0, d2, out=out[0])
    xp.add(d1, d2, out=out[1])
    xp.subtract(d2, d1, out=out[2])
    xp.subtract(d1, d3, out=out[3])


def _input_transform_1d_adjoint(g: list[Any], axis: int, tiles: int, out: Any) -> None:
    """Adjoint of _input_transform_1d: out (2*tiles + 2 along `axis`) = B g, summed where
    tiles overlap: sample 2i gets g0[i] + (g1 + g2 - g0)[i-1], sample 2i+1 gets
    (g1 - g2 + g3)[i] - g3[i-1]."""
    xp = backend.xp_of(out)
    g0, g1, g2, g3 = g
    even, odd = _every_other(out, axis, 0, tiles + 1), _every_other(out, axis, 1, tiles + 1)
    for samples, head, tail in ((even, g0, xp.subtract(xp.add(g1, g2), g0)),
                                (odd, xp.add(xp.subtract(g1, g2), g3), xp.negative(g3))):
        index = [slice(None)] * out.ndim
        index[axis] = slice(0, tiles)
        samples[tuple(index)] = head
        index[axis] = slice(tiles, None)
        samples[tuple(index)] = 0
        index[axis] = slice(1, None)
        samples[tuple(index)] += tail


def _output_transform_1d(m: list[Any], out: list[Any]) -> None:
    """A^T m: out[0] = m0 + m1 + m2, out[1] = m1 - m2 - m3."""
    xp = backend.xp_of(m[0])
    xp.add(m[0], m[1], out=out[0])
    out[0] += m[2]
    xp.subtract(m[1], m[2], out=out[1])
    out[1] -= m[3]


def _output_transform_1d_adjoint(g: list[Any], out: list[Any]) -> None:
    """Adjoint of _output_transform_1d: out = A g = (g0, g0 + g1, g0 - g1, -g1)."""
    xp = backend.xp_of(g[0])
    out[0][...] = g[0]
    xp.negative(g[1], out=out[3])
    xp.subtract(out[0], out[3], out=out[1])
    xp.add(out[0], out[3], out=out[2])


def tile_counts(h: int, w: int, padding: tuple[int, int]) -> tuple[int, int]:
    """Tiles down and across for an (h, w) input: each gives 2x2 output pixels."""
    return -(-(h + 2 * padding[0] - 2) // 2), -(-(w + 2 * padding[1] - 2) // 2)


def kron_square(matrix: tuple, like: Any) -> Any:
    """matrix (x) matrix, in `like`'s array library and dtype: row (a, b), column (i, j) holds
    matrix[a][i] * matrix[b][j], so that it times a flattened tile d is matrix d matrix^T."""
    xp = backend.xp_of(like)
    m = xp.asarray(matrix, dtype=like.dtype)
    return xp.kron(m, m)


def transform_weight(w: Any, g: tuple = G) -> Any:
    """w: (O, C, 3, 3) -> U = G w G^T: (16, O, C) (len(g)**2 for another G), one product
    for all the kernels."""
    o, c = w.shape[:2]
    return (kron_square(g, w) @ w.reshape(o * c, 9).T).reshape(len(g) ** 2, o, c)


def transform_weight_adjoint(gu: Any, g: tuple = G) -> Any:
    """Adjoint of transform_weight: gU (16, O, C) -> G^T gU G: (O, C, 3, 3)."""
    o, c = gu.shape[1:]
    return (gu.reshape(len(g) ** 2, o * c).T @ kron_square(g, gu)).reshape(o, c, 3, 3)


def transform_input(x: Any, padding: tuple[int, int]) -> Any:
    """x: (N, C, H, W) -> V = B^T d B for every 4x4 tile d of the padded input: (16, C, N*th*tw)."""
    xp = backend.xp_of(x)
    n, c, h, w = x.shape
    th, tw = tile_counts(h, w, padding)
    ph, pw = padding
    # Zero-padded, channel first, with room for whole tiles at the bottom and right.
    xpad = xp.zeros((c, n, 2 * th + 2, 2 * tw + 2), dtype=x.dtype)
    rows = xp.empty((4, c, n, th, 2 * tw + 2), dtype=x.dtype)
    v = xp.empty((4, 4, c, n, th, tw), dtype=x.dtype)
    xcf = x.transpose(1, 0, 2, 3)

    def part(cs: slice) -> None:
        xpad[cs, :, ph:ph + h, pw:pw + w] = xcf[cs]
        _input_transform_1d(xpad[cs], 2, th, list(rows[:, cs]))
        _input_transform_1d(rows[:, cs], 4, tw, [v[:, k, cs] for k in range(4)])
    parallel.over_blocks(part, c, v[:, :, 0].nbytes, backend.device_of(x))
    return v.reshape(16, c, n * th * tw)


def transform_input_adjoint(gv: Any, shape: tuple[int, int, int, int],
                            padding: tuple[int, int]) -> Any:
    """Adjoint of transform_input: gV (16, C, N*th*tw) -> gradient of x, (N, C, H, W)."""
    xp = backend.xp_of(gv)
    n, c, h, w = shape
    th, tw = tile_counts(h, w, padding)
    ph, pw = padding
    gv = gv.reshape(4, 4, c, n, th, tw)
    rows = xp.empty((4, c, n, th, 2 * tw + 2), dtype=gv.dtype)
    gpad = xp.empty((c, n, 2 * th + 2, 2 * tw + 2), dtype=gv.dtype)

    def part(cs: slice) -> None:
        _input_transform_1d_adjoint([gv[:, k, cs] for k in range(4)], 4, tw, rows[:, cs])
        _input_transform_1d_adjoint(list(rows[:, cs]), 2, th, gpad[cs])
    parallel.over_blocks(part, c, gv[:, :, 0].nbytes, backend.device_of(gv))
    return gpad[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)


def transform_output(m: Any, n: int, th: int, tw: int, ho: int, wo: int) -> Any:
    """M (16, O, N*th*tw) -> Y = A^T M A for every tile, assembled channel first: (O, N, ho, wo)."""
    xp = backend.xp_of(m)
    o = m.shape[1]
    m = m.reshape(4, 4, o, n, th, tw)
    half = xp.empty((2, 4, o, n, th, tw), dtype=m.dtype)
    y = xp.empty((o, n, 2 * th, 2 * tw), dtype=m.dtype)

    def part(os_: slice) -> None:
        _output_transform_1d(list(m[:, :, os_]), list(half[:, :, os_]))
        for a in range(2):
            _output_transform_1d(list(half[a, :, os_]),
                                 [y[os_, :, a::2, 0::2], y[os_, :, a::2, 1::2]])
    parallel.over_blocks(part, o, m[:, :, 0].nbytes, backend.device_of(m))
    return y[:, :, :ho, :wo]


def transform_output_adjoint(g: Any, th: int, tw: int) -> Any:
    """Adjoint of transform_output: g (N, O, ho, wo) -> gM (16, O, N*th*tw)."""
    xp = backend.xp_of(g)
    n, o, ho, wo = g.shape
    gy = g.transpose(1, 0, 2, 3)
    if (ho, wo) != (2 * th, 2 * tw):  # an odd size: the last tiles reach past the output
        gy = xp.zeros((o, n, 2 * th, 2 * tw), dtype=g.dtype)
        gy[:, :, :ho, :wo] = g.transpose(1, 0, 2, 3)
    half = xp.empty((2, 4, o, n, th, tw), dtype=g.dtype)
    gm = xp.empty((4, 4, o, n, th, tw), dtype=g.dtype)

    def part(os_: slice) -> None:
        for a in range(2):
            _output_transform_1d_adjoint([gy[os_, :, a::2, 0::2], gy[os_, :, a::2, 1::2]],
                                         list(half[a, :, os_]))
        _output_transform_1d_adjoint(list(half[:, :, os_]), list(gm[:, :, os_]))
    parallel.over_blocks(part, o, gm[:, :, 0].nbytes, backend.device_of(g))
    return gm.reshape(16, o, n * th * tw)


def conv_forward(ctx: Context, transforms: ModuleType, x: Any, weight: Any, bias: tuple,
                 padding: tuple[int, int]) -> Any:
    """The forward of a Winograd convolution whose transforms are the functions of the module
    `transforms` (this one, or winograd43's larger tiles): Y = A^T [U @ V] A."""
    n, c, h, w = x.shape
    th, tw = transforms.tile_counts(h, w, padding)
    v = transforms.transform_input(x, padding)
    y = transforms.transform_output(transforms.transform_weight(weight) @ v, n, th, tw,
                                    h + 2 * padding[0] - 2, w + 2 * padding[1] - 2)
    if bias:
        y += bias[0][:, None, None, None]
    # V (4 or 2.25 times the input's size) is kept for the weight's gradient: transforming
    # the input again would cost a pass over it; U (a few times the weight) is cheap to redo.
    ctx.transforms, ctx.v, ctx.xshape, ctx.weight = transforms, v, x.shape, weight
    ctx.padding, ctx.has_bias = padding, bool(bias)
    return y.transpose(1, 0, 2, 3)  # reads as (N, O, Ho, Wo), stays channel first in memory


def conv_backward(ctx: Context, g: Any) -> tuple:
    """conv_forward's adjoint, step by step in reverse order."""
    t, xshape, padding = ctx.transforms, ctx.xshape, ctx.padding
    th, tw = t.tile_counts(*xshape[2:], padding)
    gm = t.transform_output_adjoint(g, th, tw)
    gx = gw = None
    if ctx.needs_input_grad[0]:
        u = t.transform_weight(ctx.weight)
        gx = t.transform_input_adjoint(u.transpose(0, 2, 1) @ gm, xshape, padding)
    if ctx.needs_input_grad[1]:
        gw = t.transform_weight_adjoint(gm @ ctx.v.transpose(0, 2, 1))
    if ctx.has_bias:
        return gx, gw, g.sum(axis=(0, 2, 3))
    return gx, gw


class Conv2dWinograd(Function):
    """Stride-1 3x3 conv2d. x: (N, C, H, W), weight: (O, C, 3, 3), bias: (O,) -> (N, O, Ho, Wo)."""

    @staticmethod
    def forward(ctx: Context, x, weight, *bias, padding: tuple[int, int]):
        return conv_forward(ctx, sys.modules[__name__], x, weight, bias, padding)

    @staticmethod
    def backward(ctx: Context, g):
        return conv_backward(ctx, g)
