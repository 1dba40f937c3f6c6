"""Dropout: zero each element with probability p in training, scale the rest by 1/(1-p)."""
from __future__ import annotations

from . import backend
from .autograd import Context, Function


class Dropout(Function):
    """x: any shape -> same shape; the kept mask is drawn from the device's seeded generator."""

    @staticmethod
    def forward(ctx: Context, x, p: float):
        rng = backend.generator(backend.device_of(x))
        keep = rng.random(x.shape, dtype=x.dtype) >= p
        ctx.scale = keep * x.dtype.type(1 / (1 - p)) if p < 1 else keep * x.dtype.type(0)
        return x * ctx.scale

    @staticmethod
    def backward(ctx: Context, g):
        return g * ctx.scale
