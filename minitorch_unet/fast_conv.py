"""Faster kernels for the U-Net's own layer shapes, beside the plain ones in convolution.py.

Stride-1 convolution as kh*kw shifted matrix products. Pad the input and lay it out
channel-first, flattened: X is (C, N*Hp*Wp). The output pixel at flat position p is
``sum_ij W[:, :, i, j] @ X[:, p + i*Wp + j]``, so each kernel offset is one product of the
(O, C) weight slice with a *shifted view* of X: no column matrix is built. Positions that
straddle a row or image border are computed and thrown away (a few percent of the work).

Results stay channel-first in memory (a transposed view that reads as (N, C, H, W)), and
elementwise ops keep that layout, so the next layer reads its input without a transpose.
The tests check these kernels against the plain ones and against PyTorch.
"""
from __future__ import annotations

from typing import Any

from . import backend
from .autograd import Context, Function

# Below this many input channels, stack the kh*kw shifted views into one column matrix.
THIN_INPUT = 8


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
