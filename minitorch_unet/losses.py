"""Segmentation losses: binary cross-entropy, soft Dice, and their sum.

All take the network's *logits* (before the sigmoid; what ``UNet`` returns) and a {0, 1}
target of the same shape, (N, 1, H, W): computing the cross-entropy from logits never takes
log(0). ``BinaryCrossEntropy`` is the form on probabilities, for ``F.binary_cross_entropy``.
"""
from __future__ import annotations

from . import backend
from .autograd import Context, Function, Tensor
from .basic_ops import Sigmoid


class BCEWithLogits(Function):
    """mean(max(x, 0) - x t + log(1 + exp(-|x|))), the stable form of binary cross-entropy."""

    @staticmethod
    def forward(ctx: Context, x, t):
        xp = backend.xp_of(x)
        ctx.x, ctx.t = x, t
        loss = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
        return loss.mean()

    @staticmethod
    def backward(ctx: Context, g):
        x, t = ctx.x, ctx.t
        s = 0.5 * (1 + backend.xp_of(x).tanh(0.5 * x))   # sigmoid(x)
        scale = g / x.size
        gx = (s - t) * scale if ctx.needs_input_grad[0] else None
        gt = -x * scale if ctx.needs_input_grad[1] else None
        return gx, gt


class BinaryCrossEntropy(Function):
    """mean(-[t log p + (1 - t) log(1 - p)]) from probabilities p, as PyTorch computes it: each
    log clamped at -100 in the loss, the gradient's denominator p (1 - p) at 1e-12."""

    @staticmethod
    def forward(ctx: Context, p, t):
        xp = backend.xp_of(p)
        with backend.log_of_zero_allowed():
            log_p, log_q = xp.log(p), xp.log1p(-p)
        ctx.p, ctx.t, ctx.log_p, ctx.log_q = p, t, log_p, log_q
        return (-(t * xp.maximum(log_p, -100) + (1 - t) * xp.maximum(log_q, -100))).mean()

    @staticmethod
    def backward(ctx: Context, g):
        p, t = ctx.p, ctx.t
        scale = g / p.size
        xp = backend.xp_of(p)
        gp = (p - t) / xp.maximum(p * (1 - p), 1e-12) * scale if ctx.needs_input_grad[0] else None
        gt = (ctx.log_q - ctx.log_p) * scale if ctx.needs_input_grad[1] else None
        return gp, gt


def bce_loss(logits: Tensor, target: Tensor) -> Tensor:
    """Binary cross-entropy, averaged over every pixel of the batch."""
    from .functional import binary_cross_entropy_with_logits
    return binary_cross_entropy_with_logits(logits, target)


def soft_dice_loss(logits: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    """1 - (2 sum(p t) + smooth) / (sum(p) + sum(t) + smooth) over the whole batch, p = sigmoid.

    `smooth` keeps the ratio defined (and equal to 1) when both masks are empty, which most
    MRI slices are.
    """
    if logits.shape != target.shape:
        raise ValueError(f"soft_dice_loss: logits {logits.shape} and target {target.shape} "
                         "must have the same shape")
    p = Sigmoid.apply(logits)
    intersection = (p * target).sum()
    return 1 - (2 * intersection + smooth) / (p.sum() + target.sum() + smooth)


def bce_dice_loss(logits: Tensor, target: Tensor, bce_weight: float = 0.5) -> Tensor:
    """bce_weight * BCE + (1 - bce_weight) * soft Dice."""
    return bce_weight * bce_loss(logits, target) + (1 - bce_weight) * soft_dice_loss(logits, target)


LOSSES = {"bce": bce_loss, "dice": soft_dice_loss, "bce_dice": bce_dice_loss}
