"""The checks of lessons 07-11 (U-Net counts, losses, optimisers, GPU costs, evaluation).

The solution notebooks' answers must pass; deliberately wrong answers must fail with a
CheckFailed whose message names the mistake.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from minitorch_unet import metrics
from minitorch_unet.autograd import Function, Tensor
from minitorch_unet.checks import CheckFailed, check
from minitorch_unet.checks.core import load_all
from minitorch_unet.course.notebooks import grade_id, is_check, is_demo, read_notebook

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
LESSONS = ("07_modules_and_unet", "08_losses", "09_training", "10_gpu", "11_evaluation")
GRADE_IDS = sorted(g for g, e in load_all().items() if e.lesson in LESSONS)


def failure(grade: str, fn: Callable[..., Any]) -> str:
    """The message with which `fn` fails check `grade` (the test fails if it passes)."""
    with pytest.raises(CheckFailed) as info:
        check(grade, fn)
    return str(info.value)


def solution_function(grade: str) -> Callable[..., Any]:
    """The function the solution notebook defines for `grade`: its code cells before that
    check (not demo or check cells), run in the notebook's folder."""
    exercise = load_all()[grade]
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for cell in read_notebook(SOLUTIONS / exercise.lesson / f"{exercise.lesson}.ipynb").cells:
        if grade_id(cell) == grade:
            return namespace[exercise.function]
        if cell.cell_type == "code" and not is_check(cell) and not is_demo(cell):
            exec(compile(cell.source, f"<{exercise.lesson}>", "exec"), namespace)
    raise AssertionError(f"{exercise.lesson} has no {grade} cell")


def test_every_lesson_has_checks() -> None:
    assert {load_all()[g].lesson for g in GRADE_IDS} == set(LESSONS)


@pytest.mark.parametrize("grade", GRADE_IDS)
def test_solution_passes(grade: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SOLUTIONS / load_all()[grade].lesson)
    check(grade, solution_function(grade))


# ---- 07: parameter count and receptive field -------------------------------------------------
def closed_count(depth: int, base_filters: int, in_channels: int = 1, skip: int = 2,
                 up_bias: int = 1) -> int:
    w = [base_filters * 2 ** i for i in range(depth + 1)]
    total = w[0] + 1
    for i in range(depth + 1):
        total += 9 * w[i] * ((in_channels if i == 0 else w[i - 1]) + w[i]) + 4 * w[i]
    for i in range(depth):
        total += 4 * w[i + 1] * w[i] + up_bias * w[i] + 9 * w[i] * (skip * w[i] + w[i]) + 4 * w[i]
    return total


def test_count_parameters_names_the_mistake() -> None:
    assert "skip connection" in failure(
        "check_count_parameters", lambda depth, base_filters, in_channels=1:
        closed_count(depth, base_filters, in_channels, skip=1))
    assert "transposed convolutions' biases" in failure(
        "check_count_parameters", lambda depth, base_filters, in_channels=1:
        closed_count(depth, base_filters, in_channels, up_bias=0))
    assert "in_channels is ignored" in failure(
        "check_count_parameters", lambda depth, base_filters, in_channels=1:
        closed_count(depth, base_filters))
    assert "return a Python int" in failure(
        "check_count_parameters", lambda depth, base_filters, in_channels=1:
        float(closed_count(depth, base_filters, in_channels)))


def test_receptive_field_names_the_mistake() -> None:
    assert "strides are ignored" in failure(
        "check_receptive_field", lambda layers: 1 + sum(k - 1 for k, _ in layers))

    def own_stride(layers: list[tuple[int, int]]) -> int:
        field, jump = 1, 1
        for k, s in layers:
            jump *= s
            field += (k - 1) * jump
        return field

    assert "own stride" in failure("check_receptive_field", own_stride)


# ---- 08: losses ----------------------------------------------------------------------------------
def stable_bce(logits: Tensor, target: Tensor) -> Tensor:
    magnitude = logits.relu() + (-logits).relu()
    return logits.relu() - logits * target + (1 + (-magnitude).exp()).log()


def test_bce_names_the_mistake() -> None:
    def naive(logits: Tensor, target: Tensor) -> Tensor:
        p = logits.sigmoid()
        return (-(target * p.log() + (1 - target) * (1 - p).log())).mean()

    with np.errstate(all="ignore"):
        assert "overflows" in failure("check_bce_with_logits", naive)
    assert "sum over the pixels" in failure("check_bce_with_logits",
                                            lambda x, t: stable_bce(x, t).sum())
    assert "not connected" in failure(
        "check_bce_with_logits", lambda x, t: Tensor(stable_bce(x.detach(), t).mean().data))


def dice(logits: Tensor, target: Tensor, smooth: float = 1.0, axes: Any = None) -> Tensor:
    p = logits.sigmoid()
    ratio = (2 * (p * target).sum(axes) + smooth) / (p.sum(axes) + target.sum(axes) + smooth)
    return (1 - ratio).mean()


class WrongSigmoid(Function):
    """sigmoid forward, a wrong backward (missing the factor 1 - s)."""

    @staticmethod
    def forward(ctx, x):
        ctx.s = 1 / (1 + np.exp(-x))
        return ctx.s

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.s


def test_soft_dice_names_the_mistake() -> None:
    assert "mean of one Dice loss per slice" in failure(
        "check_soft_dice_loss", lambda x, t, smooth=1.0: dice(x, t, smooth, axes=(1, 2, 3)))
    assert "smooth is ignored" in failure("check_soft_dice_loss",
                                          lambda x, t, smooth=1.0: dice(x, t))
    assert "sigmoid is missing" in failure(
        "check_soft_dice_loss", lambda x, t, smooth=1.0:
        1 - (2 * (x * t).sum() + smooth) / (x.sum() + t.sum() + smooth))

    def wrong_gradient(x: Tensor, t: Tensor, smooth: float = 1.0) -> Tensor:
        p = WrongSigmoid.apply(x)
        return 1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)

    assert "gradient check" in failure("check_soft_dice_loss", wrong_gradient)


# ---- 09: optimiser steps ----------------------------------------------------------------------
def adam(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, correct=True,
         eps_inside=False):
    m = betas[0] * m + (1 - betas[0]) * grad
    v = betas[1] * v + (1 - betas[1]) * grad ** 2
    m_hat = m / (1 - betas[0] ** t) if correct else m
    v_hat = v / (1 - betas[1] ** t) if correct else v
    return param - lr * m_hat / (np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps), m, v


def test_adam_step_names_the_mistake() -> None:
    assert "no bias correction" in failure(
        "check_adam_step", lambda *a, **k: adam(*a, **k, correct=False))
    assert "eps is inside the square root" in failure(
        "check_adam_step", lambda *a, **k: adam(*a, **k, eps_inside=True))
    assert "tuple of 3 arrays" in failure("check_adam_step", lambda *a, **k: adam(*a, **k)[0])


def test_sgd_momentum_step_names_the_mistake() -> None:
    def averaged(param, grad, buf, lr, momentum):
        buf = momentum * buf + (1 - momentum) * grad
        return param - lr * buf, buf

    def by_gradient(param, grad, buf, lr, momentum):
        return param - lr * grad, momentum * buf + grad

    assert "plain sum" in failure("check_sgd_momentum_step", averaged)
    assert "not by the momentum buffer" in failure("check_sgd_momentum_step", by_gradient)


# ---- 10: convolution cost -------------------------------------------------------------------------
def test_conv2d_cost_names_the_mistake() -> None:
    def cost(n, c_in, c_out, h, w, k, itemsize=4, fma=2, weights=True):
        values = n * c_in * h * w + (c_out * c_in * k * k if weights else 0) + n * c_out * h * w
        return fma * n * c_out * h * w * c_in * k * k, itemsize * values

    assert "multiply-add once" in failure("check_conv2d_cost",
                                          lambda *a, **k: cost(*a, **k, fma=1))
    assert "leave out the weights" in failure("check_conv2d_cost",
                                              lambda *a, **k: cost(*a, **k, weights=False))


# ---- 11: Dice per slice and per patient ---------------------------------------------------------
def test_dice_per_slice_names_the_mistake() -> None:
    def empty_as_zero(pred, target, threshold=0.5):
        return np.nan_to_num(metrics.dice_per_slice(pred, target, threshold)
                             * (((pred > threshold) | (target > 0.5)).reshape(len(pred), -1).any(1)))

    assert "0/0" in failure("check_dice_per_slice", empty_as_zero)
    assert "the IoU" in failure("check_dice_per_slice", metrics.iou_per_slice)


def test_dice_per_patient_names_the_mistake() -> None:
    def slice_mean(pred, target, patients, threshold=0.5):
        d = metrics.dice_per_slice(pred, target, threshold)
        return {p: float(np.mean([d[i] for i, q in enumerate(patients) if q == p]))
                for p in set(patients)}

    assert "mean of each patient's slice Dices" in failure("check_dice_per_patient", slice_mean)
    assert "exactly at the threshold" in failure(
        "check_dice_per_patient",
        lambda pred, target, patients, threshold=0.5:
        metrics.dice_per_patient(pred, target, patients, 0.4999999))
    assert "return a dict" in failure(
        "check_dice_per_patient",
        lambda pred, target, patients, threshold=0.5:
        list(metrics.dice_per_patient(pred, target, patients).values()))
