"""Convolution and transposed convolution, the plain way: im2col and one matrix product.

im2col gathers every kernel-sized window of the (padded) input into a row of a matrix,
so a convolution becomes ``columns @ weight``. col2im is its adjoint: it adds each row back
onto the windows it came from. A transposed convolution is col2im of ``x @ weight``, which is
why it is the gradient of a convolution. Loops run over kernel offsets only (k*k of them),
never over pixels, channels or batch items.
"""
from __future__ import annotations

from typing import Any

from . import backend
from .autograd import Context, Function


def windows(x: Any, kh: int, kw: int, sh: int, sw: int) -> Any:
    """Strided view of all (kh, kw) windows of x: (N, C, H, W) -> (N, C, Ho, Wo, kh, kw)."""
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    s0, s1, s2, s3 = x.strides
    return backend.xp_of(x).lib.stride_tricks.as_strided(
        x, (n, c, ho, wo, kh, kw), (s0, s1, s2 * sh, s3 * sw, s2, s3))


def im2col(x: Any, kh: int, kw: int, sh: int, sw: int) -> Any:
    """x: (N, C, H, W) -> columns (N*Ho*Wo, C*kh*kw), one row per output pixel."""
    win = windows(x, kh, kw, sh, sw)
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)


def col2im(cols: Any, shape: tuple[int, int, int, int], kh: int, kw: int, sh: int, sw: int) -> Any:
    """Adjoint of im2col: cols (N*Ho*Wo, C*kh*kw) summed back into an array of `shape`."""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = backend.xp_of(cols).zeros(shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += cols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return out


def pad2d(x: Any, ph: int, pw: int) -> Any:
    """Zero-pad the last two dims of x by (ph, pw) on each side."""
    if ph == 0 and pw == 0:
        return x
    return backend.xp_of(x).pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


class Conv2d(Function):
    """x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) -> (N, O, Ho, Wo)."""

    @staticmethod
    def forward(ctx: Context, x, weight, *bias, stride: tuple[int, int], padding: tuple[int, int]):
        (sh, sw), (ph, pw) = stride, padding
        o, c, kh, kw = weight.shape
        n = x.shape[0]
        xpad = pad2d(x, ph, pw)
        ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
        cols = im2col(xpad, kh, kw, sh, sw)
        out = cols @ weight.reshape(o, -1).T                      # (N*Ho*Wo, O)
        if bias:
            out += bias[0]
        ctx.cols, ctx.weight, ctx.xshape = cols, weight, xpad.shape
        ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
        return out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Context, g):
        (sh, sw), (ph, pw) = ctx.stride, ctx.padding
        o, c, kh, kw = ctx.weight.shape
        g2 = g.transpose(0, 2, 3, 1).reshape(-1, o)             # (N*Ho*Wo, O)
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gcols = g2 @ ctx.weight.reshape(o, -1)
            gx = col2im(gcols, ctx.xshape, kh, kw, sh, sw)
            gx = gx[:, :, ph:gx.shape[2] - ph, pw:gx.shape[3] - pw]
        if ctx.needs_input_grad[1]:
            gw = (g2.T @ ctx.cols).reshape(ctx.weight.shape)
        if ctx.has_bias:
            return gx, gw, g2.sum(axis=0)
        return gx, gw


class ConvTranspose2d(Function):
    """x: (N, C, H, W), weight: (C, O, kh, kw), bias: (O,) -> (N, O, Ho, Wo) with
    Ho = (H - 1) * stride - 2 * padding + kh + output_padding."""

    @staticmethod
    def forward(ctx: Context, x, weight, *bias, stride: tuple[int, int], padding: tuple[int, int],
                output_padding: tuple[int, int]):
        (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
        n, c, h, w = x.shape
        o, kh, kw = weight.shape[1:]
        full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
        x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
        out = col2im(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)
        out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
        if bias:
            out = out + bias[0][:, None, None]
        ctx.x2, ctx.weight, ctx.full = x2, weight, full
        ctx.stride, ctx.padding, ctx.xshape, ctx.has_bias = stride, padding, x.shape, bool(bias)
        return out

    @staticmethod
    def backward(ctx: Context, g):
        (sh, sw), (ph, pw) = ctx.stride, ctx.padding
        n, c, h, w = ctx.xshape
        o, kh, kw = ctx.weight.shape[1:]
        gfull = backend.xp_of(g).zeros(ctx.full, dtype=g.dtype)
        gfull[:, :, ph:ctx.full[2] - ph, pw:ctx.full[3] - pw] = g
        gcols = im2col(gfull, kh, kw, sh, sw)                    # (N*H*W, O*kh*kw)
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = (gcols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
        if ctx.needs_input_grad[1]:
            gw = (ctx.x2.T @ gcols).reshape(ctx.weight.shape)
        if ctx.has_bias:
            return gx, gw, g.sum(axis=(0, 2, 3))
        return gx, gw
