"""Max pooling: the maximum of each window forward, the gradient routed to that maximum back.

``MaxPool2d`` is the plain version: pad with -inf, view all windows, take the argmax of each
(the first one on ties, as PyTorch does). ``MaxPool2x2`` is the U-Net's own case (kernel 2,
stride 2, no padding) from four strided slices and ``maximum``, tested against the plain one.
"""
from __future__ import annotations

from . import backend
from .autograd import Context, Function
from .convolution import windows


class MaxPool2d(Function):
    """x: (N, C, H, W) -> (N, C, Ho, Wo), Ho = (H + 2p - k) // s + 1."""

    @staticmethod
    def forward(ctx: Context, x, kernel: tuple[int, int], stride: tuple[int, int],
                padding: tuple[int, int]):
        xp = backend.xp_of(x)
        (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
        xpad = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-xp.inf) \
            if ph or pw else x
        win = windows(xpad, kh, kw, sh, sw)
        n, c, ho, wo = win.shape[:4]
        win = win.reshape(n, c, ho, wo, kh * kw)
        arg = win.argmax(axis=-1)                                   # first maximum in each window
        ctx.arg, ctx.padded, ctx.params = arg, xpad.shape, (kernel, stride, padding)
        return xp.take_along_axis(win, arg[..., None], axis=-1)[..., 0]

    @staticmethod
    def backward(ctx: Context, g):
        xp = backend.xp_of(g)
        (kh, kw), (sh, sw), (ph, pw) = ctx.params
        ho, wo = g.shape[2:]
        gx = xp.zeros(ctx.padded, dtype=g.dtype)
        for i in range(kh):           # loop over the k*k window offsets, not over pixels
            for j in range(kw):
                gx[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += g * (ctx.arg == i * kw + j)
        return gx[:, :, ph:gx.shape[2] - ph, pw:gx.shape[3] - pw]


class MaxPool2x2(Function):
    """Kernel 2, stride 2, no padding. x: (N, C, H, W) -> (N, C, H//2, W//2)."""

    @staticmethod
    def forward(ctx: Context, x):
        xp = backend.xp_of(x)
        h, w = x.shape[2] // 2 * 2, x.shape[3] // 2 * 2
        corners = [x[:, :, i:h:2, j:w:2] for i in (0, 1) for j in (0, 1)]  # row-major window order
        out = xp.maximum(xp.maximum(corners[0], corners[1]), xp.maximum(corners[2], corners[3]))
        ctx.x, ctx.out = x, out
        return out

    @staticmethod
    def backward(ctx: Context, g):
        xp = backend.xp_of(g)
        x, out = ctx.x, ctx.out
        h, w = x.shape[2] // 2 * 2, x.shape[3] // 2 * 2
        gx = xp.zeros_like(x)
        taken = xp.zeros(out.shape, dtype=bool)
        for i in (0, 1):
            for j in (0, 1):
                first = (x[:, :, i:h:2, j:w:2] == out) & ~taken  # the first maximum wins ties
                gx[:, :, i:h:2, j:w:2] = g * first
                taken |= first
        return gx
