"""Batch normalisation over (N, H, W) for each channel, as ``torch.nn.functional.batch_norm``."""
from __future__ import annotations

from typing import Any

from . import backend
from .autograd import Context, Function


def _per_channel(v: Any) -> Any:
    return v[None, :, None, None]


class BatchNorm(Function):
    """x: (N, C, H, W), weight and bias: (C,) -> (N, C, H, W).

    In training, normalises with the batch's mean and biased variance and updates the
    running statistics in place (running_var with the unbiased variance, as PyTorch does);
    in evaluation, normalises with the running statistics.
    """

    @staticmethod
    def forward(ctx: Context, x, *affine, running_mean, running_var, training: bool,
                momentum: float, eps: float):
        xp = backend.xp_of(x)
        axes = (0, 2, 3)
        if training:
            count = x.size // x.shape[1]
            mean = x.mean(axis=axes)
            centred = x - _per_channel(mean)
            var = (centred * centred).mean(axis=axes)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += momentum * var * (count / max(count - 1, 1))
        else:
            centred = x - _per_channel(running_mean)
            var = running_var
        invstd = 1 / xp.sqrt(var + eps)
        xhat = centred * _per_channel(invstd)
        ctx.xhat, ctx.invstd, ctx.training = xhat, invstd, training
        ctx.weight = affine[0] if affine else None
        if not affine:
            return xhat
        return xhat * _per_channel(affine[0]) + _per_channel(affine[1])

    @staticmethod
    def backward(ctx: Context, g):
        axes = (0, 2, 3)
        xhat, invstd = ctx.xhat, ctx.invstd
        gxhat = g * _per_channel(ctx.weight) if ctx.weight is not None else g
        if ctx.training:
            mean_g = gxhat.mean(axis=axes)
            mean_gx = (gxhat * xhat).mean(axis=axes)
            gx = (gxhat - _per_channel(mean_g) - xhat * _per_channel(mean_gx)) * _per_channel(invstd)
        else:
            gx = gxhat * _per_channel(invstd)
        if ctx.weight is None:
            return gx
        return gx, (g * xhat).sum(axis=axes), g.sum(axis=axes)
