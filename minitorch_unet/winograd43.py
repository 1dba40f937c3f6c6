"""Winograd convolution F(4x4, 3x3): a stride-1 3x3 convolution with 4x fewer multiplications.

The same idea as winograd.py's F(2x2, 3x3), with larger tiles: 6x6 input tiles that overlap
by 2 (stride 4) each give a 4x4 block of the output, from 36 products per tile and channel
pair instead of 144:

    U = G w G^T   (36, O, C)      V = B^T d B   (36, C, tiles)      Y = A^T (U @ V) A

Fewer multiplications, and V and U @ V are 36/16 = 2.25 times the input's and the output's
size instead of 4 times: less memory to pass over. The transforms' entries are no longer
0 and +-1, so each transform is one matrix product over all the tiles: the Kronecker
product of its matrix with itself (B^T (x) B^T, 36 x 36) times the tiles gathered as
columns, (36, tiles). That product runs in BLAS, on every core.

The price is rounding: the transforms multiply by up to 8 and divide by 24, so a float32
result is off by 2e-6 to 1e-5 of the output's largest value (F(2x2, 3x3): 2e-7 to 7e-7),
which the tests measure against the plain kernel and PyTorch. The backward applies the adjoint of
each step in reverse order (winograd.conv_forward and conv_backward).
"""
from __future__ import annotations

import sys
from typing import Any

from . import backend, winograd
from .autograd import Context

# conv2d takes this kernel instead of F(2x2, 3x3) for the layers winograd.py's thresholds
# give to Winograd whose images are at least MIN_SIDE pixels high and wide: with fewer tiles
# per image the products are too small. Measured with benchmarks/bench_conv_kernels.py
# (batch 8, one thread, CPU time), time / F(2x2, 3x3)'s: 128 -> 128 at 32x32 0.74,
# 256 -> 128 at 32x32 0.78, 256 -> 256 at 16x16 0.93, 512 -> 512 at 8x8 1.49.
MIN_SIDE = 16

# The transforms of F(4, 3) (Lavin & Gray, 2016), for the interpolation points 0, +-1, +-2.
B_T = ((4, 0, -5, 0, 1, 0), (0, -4, -4, 1, 1, 0), (0, 4, -4, -1, 1, 0),
       (0, -2, -1, 2, 1, 0), (0, 2, -1, -2, 1, 0), (0, 4, 0, -5, 0, 1))
G = ((1 / 4, 0, 0), (-1 / 6, -1 / 6, -1 / 6), (-1 / 6, 1 / 6, -1 / 6),
     (1 / 24, 1 / 12, 1 / 6), (1 / 24, -1 / 12, 1 / 6), (0, 0, 1))
A_T = ((1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0), (0, 1, -1, 8, -8, 1))


def tile_counts(h: int, w: int, padding: tuple[int, int]) -> tuple[int, int]:
    """Tiles down and across for an (h, w) input: each gives 4x4 output pixels."""
    return -(-(h + 2 * padding[0] - 2) // 4), -(-(w + 2 * padding[1] - 2) // 4)


def _padded(x: Any, padding: tuple[int, int], th: int, tw: int) -> Any:
    """x: (N, C, H, W) -> zero-padded, channel first, room for whole tiles: (C, N, 4th+2, 4tw+2)."""
    n, c, h, w = x.shape
    ph, pw = padding
    xpad = backend.xp_of(x).zeros((c, n, 4 * th + 2, 4 * tw + 2), dtype=x.dtype)
    xpad[:, :, ph:ph + h, pw:pw + w] = x.transpose(1, 0, 2, 3)
    return xpad


def _tiles(xpad: Any, th: int, tw: int) -> Any:
    """xpad: (C, N, 4th+2, 4tw+2) -> view (6, 6, C, N, th, tw): [a, b, c, n, i, j] is
    xpad[c, n, 4i + a, 4j + b], entry (a, b) of tile (i, j)."""
    sc, sn, sh, sw = xpad.strides
    c, n = xpad.shape[:2]
    return backend.xp_of(xpad).lib.stride_tricks.as_strided(
        xpad, (6, 6, c, n, th, tw), (sh, sw, sc, sn, 4 * sh, 4 * sw))


def transform_weight(w: Any) -> Any:
    """w: (O, C, 3, 3) -> U = G w G^T: (36, O, C)."""
    return winograd.transform_weight(w, G)


def transform_weight_adjoint(gu: Any) -> Any:
    """Adjoint of transform_weight: gU (36, O, C) -> G^T gU G: (O, C, 3, 3)."""
    return winograd.transform_weight_adjoint(gu, G)


def transform_input(x: Any, padding: tuple[int, int]) -> Any:
    """x: (N, C, H, W) -> V = B^T d B for every 6x6 tile d of the padded input: (36, C, N*th*tw)."""
    xp = backend.xp_of(x)
    n, c, h, w = x.shape
    th, tw = tile_counts(h, w, padding)
    tiles = xp.ascontiguousarray(_tiles(_padded(x, padding, th, tw), th, tw)).reshape(36, -1)
    return (winograd.kron_square(B_T, x) @ tiles).reshape(36, c, n * th * tw)


def transform_input_adjoint(gv: Any, shape: tuple[int, int, int, int],
                            padding: tuple[int, int]) -> Any:
    """Adjoint of transform_input: gV (36, C, N*th*tw) -> gradient of x, (N, C, H, W); where
    tiles overlap, their gradients add up."""
    xp = backend.xp_of(gv)
    n, c, h, w = shape
    th, tw = tile_counts(h, w, padding)
    ph, pw = padding
    gd = (winograd.kron_square(B_T, gv).T @ gv.reshape(36, -1)).reshape(6, 6, c, n, th, tw)
    gpad = xp.zeros((c, n, 4 * th + 2, 4 * tw + 2), dtype=gv.dtype)
    for a in range(6):
        for b in range(6):
            gpad[:, :, a:a + 4 * th:4, b:b + 4 * tw:4] += gd[a, b]
    return gpad[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)


def transform_output(m: Any, n: int, th: int, tw: int, ho: int, wo: int) -> Any:
    """M (36, O, N*th*tw) -> Y = A^T M A for every tile, assembled channel first: (O, N, ho, wo)."""
    xp = backend.xp_of(m)
    o = m.shape[1]
    blocks = (winograd.kron_square(A_T, m) @ m.reshape(36, -1)).reshape(4, 4, o, n, th, tw)
    y = xp.ascontiguousarray(blocks.transpose(2, 3, 4, 0, 5, 1)).reshape(o, n, 4 * th, 4 * tw)
    return y[:, :, :ho, :wo]


def transform_output_adjoint(g: Any, th: int, tw: int) -> Any:
    """Adjoint of transform_output: g (N, O, ho, wo) -> gM (36, O, N*th*tw)."""
    xp = backend.xp_of(g)
    n, o, ho, wo = g.shape
    gy = g.transpose(1, 0, 2, 3)
    if (ho, wo) != (4 * th, 4 * tw):  # the last tiles reach past the output
        gy = xp.zeros((o, n, 4 * th, 4 * tw), dtype=g.dtype)
        gy[:, :, :ho, :wo] = g.transpose(1, 0, 2, 3)
    blocks = xp.ascontiguousarray(gy.reshape(o, n, th, 4, tw, 4).transpose(3, 5, 0, 1, 2, 4))
    return (winograd.kron_square(A_T, g).T @ blocks.reshape(16, -1)).reshape(36, o, n * th * tw)


class Conv2dWinograd43(winograd.Conv2dWinograd):
    """Stride-1 3x3 conv2d. x: (N, C, H, W), weight: (O, C, 3, 3), bias: (O,) -> (N, O, Ho, Wo).
    The steps of winograd.Conv2dWinograd, with this module's transforms."""

    @staticmethod
    def forward(ctx: Context, x, weight, *bias, padding: tuple[int, int]):
        return winograd.conv_forward(ctx, sys.modules[__name__], x, weight, bias, padding)
