"""Faster kernels for the U-Net's own layer shapes, beside the plain ones in convolution.py.

Stride-1 convolution as kh*kw shifted matrix products. Pad the input and lay it out
channel-first, flattened: X is (C, N*Hp*Wp). The output pixel at flat position p is
``sum_ij W[:, :, i, j] @ X[:, p + i*Wp + j]``, so each kernel offset is one product of the
(O, C) weight slice with a *shifted view* of X: no column matrix is built. Positions that
straddle a row or image border are computed and thrown away (a few percent of the work).

Results stay channel-first in memory (a transposed view that reads as (N, C, H, W)), and
elementwise ops keep that layout, so the next layer reads its input without a transpose.
``Conv2dColumnBlocks`` keeps that layout but makes each product one: it copies the kh*kw
shifted views of a block of positions into a column matrix small enough to stay in the
cache, and multiplies it by the whole weight. The accumulation passes over memory are
gone and each product has an inner size of C*kh*kw. conv2d takes it for every stride-1 layer
that Winograd does not take.

The tests check these kernels against the plain ones and against PyTorch.
"""
from __future__ import annotations

from typing import Any, Iterator

from . import backend
from .autograd import Context, Function

# Below this many input channels, stack the kh*kw shifted views into one column matrix.
THIN_INPUT = 8
# Conv2dColumnBlocks: the size of one block's column matrix on the CPU (on the GPU the whole
# matrix is one block). Large enough that BLAS, splitting each product over the cores, gets a
# worthwhile share per core; small enough to stay in the L3 cache. Forward + backward of the
# U-Net's 128 and 64 pixel layers, batch 8, wall clock, 2 cores, time / that with 1 MB blocks:
# 2 MB 0.55-0.99, 4 MB 0.55-0.96, 8 MB 0.56-0.97, 16 MB 0.63-1.03 (on one thread all about 1).
COLUMN_BLOCK_BYTES = 1 << 22


def _padded_channel_first(x: Any, ph: int, pw: int) -> Any:
    """x: (N, C, H, W) -> zero-padded copy laid out as (C, N, H+2ph, W+2pw)."""
    n, c, h, w = x.shape
    out = backend.xp_of(x).zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x.transpose(1, 0, 2, 3)
    return out


class Conv2dShifted(Function):
    """Stride-1 conv2d. x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) -> (N, O, Ho, Wo)."""

    @staticmethod
    def forward(ctx: Context, x, weight, *bias, padding: tuple[int, int]):
        xp = backend.xp_of(x)
        ph, pw = padding
        n = x.shape[0]
        o, c, kh, kw = weight.shape
        xpad = _padded_channel_first(x, ph, pw)
        hp, wp = xpad.shape[2:]
        flat = xpad.reshape(c, -1)
        length = flat.shape[1] - (kh - 1) * wp - (kw - 1)   # last position all shifts reach
        taps = weight.transpose(2, 3, 0, 1).reshape(kh * kw, o, c)  # one (O, C) matrix per offset
        offsets = [i * wp + j for i in range(kh) for j in range(kw)]
        y = xp.empty((o, flat.shape[1]), dtype=x.dtype)
        acc = y[:, :length]
        cols = None
        if c < THIN_INPUT:  # products with a tiny inner size are slow: stack the shifts instead
            cols = xp.stack([flat[:, off:off + length] for off in offsets]).reshape(-1, length)
            xp.matmul(taps.transpose(1, 0, 2).reshape(o, -1), cols, out=acc)
        else:
            tmp = xp.empty((o, length), dtype=x.dtype)
            for k, offset in enumerate(offsets):
                xp.matmul(taps[k], flat[:, offset:offset + length], out=acc if k == 0 else tmp)
                if k:
                    acc += tmp
        if bias:
            acc += bias[0][:, None]
        ctx.flat, ctx.cols, ctx.taps = flat, cols, taps
        ctx.shape = (n, c, hp, wp, kh, kw, ph, pw, length)
        ctx.has_bias = bool(bias)
        ho, wo = hp - kh + 1, wp - kw + 1
        return y.reshape(o, n, hp, wp)[:, :, :ho, :wo].transpose(1, 0, 2, 3)

    @staticmethod
    def backward(ctx: Context, g):
        xp = backend.xp_of(g)
        n, c, hp, wp, kh, kw, ph, pw, length = ctx.shape
        o = g.shape[1]
        ho, wo = hp - kh + 1, wp - kw + 1
        # The output gradient spread on the padded grid, zero where no output pixel sits.
        gy = xp.zeros((o, n, hp, wp), dtype=g.dtype)
        gy[:, :, :ho, :wo] = g.transpose(1, 0, 2, 3)
        gy = gy.reshape(o, -1)[:, :length]
        offsets = [i * wp + j for i in range(kh) for j in range(kw)]
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gflat = xp.zeros((c, n * hp * wp), dtype=g.dtype)
            tmp = xp.empty((c, length), dtype=g.dtype)
            for k, offset in enumerate(offsets):
                xp.matmul(ctx.taps[k].T, gy, out=tmp)
                gflat[:, offset:offset + length] += tmp
            gx = gflat.reshape(c, n, hp, wp)[:, :, ph:hp - ph, pw:wp - pw].transpose(1, 0, 2, 3)
        if ctx.needs_input_grad[1]:
            if ctx.cols is not None:
                gtaps = (gy @ ctx.cols.T).reshape(o, kh * kw, c).transpose(1, 0, 2)
            else:
                gtaps = xp.stack([gy @ ctx.flat[:, off:off + length].T for off in offsets])
            gw = gtaps.reshape(kh, kw, o, c).transpose(2, 3, 0, 1)
        if ctx.has_bias:
            return gx, gw, gy.sum(axis=1)
        return gx, gw


def _shifted_views(flat: Any, kh: int, kw: int, wp: int, length: int) -> Any:
    """flat: (C, L) -> strided view (kh, kw, C, length): [i, j, c, p] = flat[c, p + i*wp + j]."""
    step_c, step_p = flat.strides
    return backend.xp_of(flat).lib.stride_tricks.as_strided(
        flat, (kh, kw, flat.shape[0], length), (wp * step_p, step_p, step_c, step_p))


def _column_blocks(flat: Any, kh: int, kw: int, wp: int,
                   length: int) -> Iterator[tuple[slice, Any]]:
    """(positions, columns) per block: columns is (kh*kw*C, block), row (i, j, c) holding
    flat[c, p + i*wp + j] for the positions p of the block; one buffer serves every block."""
    xp = backend.xp_of(flat)
    views = _shifted_views(flat, kh, kw, wp, length)
    rows = kh * kw * flat.shape[0]
    step = length if backend.device_of(flat) != "cpu" else \
        max(1, COLUMN_BLOCK_BYTES // (rows * flat.itemsize))
    buffer = xp.empty((kh, kw, flat.shape[0], min(step, length)), dtype=flat.dtype)
    for start in range(0, length, step):
        stop = min(start + step, length)
        block = buffer[..., :stop - start]
        xp.copyto(block, views[..., start:stop])
        yield slice(start, stop), block.reshape(rows, stop - start)


def _correlate(flat: Any, taps: Any, kh: int, kw: int, wp: int, out: Any) -> None:
    """out[:, p] = taps @ (the column of position p), for p < out.shape[1].

    flat: (C, L), taps: (O, kh*kw*C) in (i, j, c) order, out: (O, length)."""
    xp = backend.xp_of(flat)
    for positions, columns in _column_blocks(flat, kh, kw, wp, out.shape[1]):
        xp.matmul(taps, columns, out=out[:, positions])


def _correlate_adjoint_taps(g: Any, flat: Any, kh: int, kw: int, wp: int) -> Any:
    """The gradient of _correlate's taps: g (O, length) @ columns.T -> (O, kh*kw*C)."""
    xp = backend.xp_of(flat)
    gtaps = xp.zeros((g.shape[0], kh * kw * flat.shape[0]), dtype=g.dtype)
    product = xp.empty_like(gtaps)
    for positions, columns in _column_blocks(flat, kh, kw, wp, g.shape[1]):
        xp.matmul(g[:, positions], columns.T, out=product)
        gtaps += product
    return gtaps


class Conv2dColumnBlocks(Function):
    """Stride-1 conv2d. x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) -> (N, O, Ho, Wo).

    The forward correlates the padded input with the weight; the input's gradient correlates
    the output's gradient (on the padded grid, with a margin of zeros in front) with the
    flipped weight; the weight's gradient is the output's gradient times the columns."""

    @staticmethod
    def forward(ctx: Context, x, weight, *bias, padding: tuple[int, int]):
        xp = backend.xp_of(x)
        ph, pw = padding
        n = x.shape[0]
        o, c, kh, kw = weight.shape
        flat = _padded_channel_first(x, ph, pw)
        hp, wp = flat.shape[2:]
        flat = flat.reshape(c, -1)
        length = flat.shape[1] - (kh - 1) * wp - (kw - 1)   # last position all shifts reach
        y = xp.empty((o, flat.shape[1]), dtype=x.dtype)
        _correlate(flat, weight.transpose(0, 2, 3, 1).reshape(o, -1), kh, kw, wp, y[:, :length])
        if bias:
            y[:, :length] += bias[0][:, None]
        ctx.flat, ctx.weight, ctx.has_bias = flat, weight, bool(bias)
        ctx.shape = (n, hp, wp, ph, pw, length)
        return y.reshape(o, n, hp, wp)[:, :, :hp - kh + 1, :wp - kw + 1].transpose(1, 0, 2, 3)

    @staticmethod
    def backward(ctx: Context, g):
        xp = backend.xp_of(g)
        n, hp, wp, ph, pw, length = ctx.shape
        o, c, kh, kw = ctx.weight.shape
        # The output's gradient on the padded grid, zero where no output pixel sits, after
        # a margin of zeros as long as the largest shift.
        margin = (kh - 1) * wp + (kw - 1)
        spread = xp.zeros((o, margin + n * hp * wp), dtype=g.dtype)
        spread[:, margin:].reshape(o, n, hp, wp)[:, :, :hp - kh + 1, :wp - kw + 1] = \
            g.transpose(1, 0, 2, 3)
        gy = spread[:, margin:margin + length]
        gx = gw = None
        if ctx.needs_input_grad[0]:
            # gx[:, q] = sum_ij W[:, :, i, j].T @ gy[:, q - i*wp - j]: the flipped weight's
            # correlation, the shift i*wp + j becoming margin - i*wp - j.
            flipped = ctx.weight[:, :, ::-1, ::-1].transpose(1, 2, 3, 0).reshape(c, -1)
            gflat = xp.empty((c, n * hp * wp), dtype=g.dtype)
            _correlate(spread, flipped, kh, kw, wp, gflat)
            gx = gflat.reshape(c, n, hp, wp)[:, :, ph:hp - ph, pw:wp - pw].transpose(1, 0, 2, 3)
        if ctx.needs_input_grad[1]:
            gtaps = _correlate_adjoint_taps(gy, ctx.flat, kh, kw, wp)
            gw = gtaps.reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
        if ctx.has_bias:
            return gx, gw, gy.sum(axis=1)
        return gx, gw


class ConvTranspose2dPixelShuffle(Function):
    """conv_transpose2d with kernel == stride, no padding (U-Net upsampling): windows do not
    overlap, so it is one matrix product whose result is scattered into k x k blocks.
    x: (N, C, H, W), weight: (C, O, k, k) -> (N, O, H*k, W*k)."""

    @staticmethod
    def forward(ctx: Context, x, weight, *bias):
        n, c, h, w = x.shape
        o, kh, kw = weight.shape[1:]
        xcf = x.transpose(1, 0, 2, 3).reshape(c, -1)                    # (C, N*H*W)
        y = weight.reshape(c, -1).T @ xcf                                # (O*kh*kw, N*H*W)
        out = y.reshape(o, kh, kw, n, h, w).transpose(0, 3, 4, 1, 5, 2)  # (O, N, H, kh, W, kw)
        out = backend.xp_of(x).ascontiguousarray(out).reshape(o, n, h * kh, w * kw)
        if bias:
            out += bias[0][:, None, None, None]
        ctx.xcf, ctx.weight, ctx.xshape, ctx.has_bias = xcf, weight, x.shape, bool(bias)
        return out.transpose(1, 0, 2, 3)

    @staticmethod
    def backward(ctx: Context, g):
        n, c, h, w = ctx.xshape
        o, kh, kw = ctx.weight.shape[1:]
        # (N, O, H*kh, W*kw) -> (O, kh, kw, N, H, W) -> (O*kh*kw, N*H*W)
        gy = g.reshape(n, o, h, kh, w, kw).transpose(1, 3, 5, 0, 2, 4).reshape(o * kh * kw, -1)
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = (ctx.weight.reshape(c, -1) @ gy).reshape(c, n, h, w).transpose(1, 0, 2, 3)
        if ctx.needs_input_grad[1]:
            gw = (ctx.xcf @ gy.T).reshape(ctx.weight.shape)
        if ctx.has_bias:
            return gx, gw, g.sum(axis=(0, 2, 3))
        return gx, gw
