"""Checks of lesson 02 (gradient checking): central differences and the relative error.

The expected gradients are the exact derivatives of the functions the check chooses (and,
for the cubic, the exact value of the central difference, which tells central from forward
differences and shows whether ``eps`` is used). Inputs are float64 and seeded.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .core import CheckFailed, Exercise, Outputs, expect_close, number_exercises, register
from .lesson00 import returned

LESSON = "02_gradient_checking"
number_exercises(LESSON, ("numerical_gradient", "relative_error"))
Function = Callable[[np.ndarray], float]


def gradient_cases() -> list[tuple[str, np.ndarray, Function, Function, float | None]]:
    """(name, x, f, its exact gradient, eps to pass or None for the default)."""
    rng = np.random.default_rng(2)
    w1, w2 = rng.uniform(0.5, 1.5, 4), rng.uniform(-1.0, 1.0, (2, 2, 3))
    return [
        ("sum(x**3) on x of shape (2, 3), eps=1e-3", rng.uniform(-1, 1, (2, 3)),
         lambda x: float(np.sum(x ** 3)), lambda x: 3 * x ** 2 + 1e-3 ** 2, 1e-3),
        ("sum(w * sin(x)) on x of shape (4,)", rng.uniform(-2, 2, 4),
         lambda x: float(np.sum(w1 * np.sin(x))), lambda x: w1 * np.cos(x), None),
        ("sum(w * tanh(x)) on x of shape (2, 2, 3)", rng.uniform(-2, 2, (2, 2, 3)),
         lambda x: float(np.sum(w2 * np.tanh(x))), lambda x: w2 * (1 - np.tanh(x) ** 2), None),
    ]


def _probe_gradient(numerical_gradient: Callable[..., Any]) -> Outputs:
    out = {}
    for i, (_, x, f, _, eps) in enumerate(gradient_cases()):
        given = x.copy()
        grad = numerical_gradient(f, given) if eps is None else numerical_gradient(f, given, eps)
        out[f"grad{i}"] = returned(grad, "numerical_gradient")
        out[f"x{i}"] = given
    return out


def _verdict_gradient(outputs: Outputs) -> None:
    for i, (what, x, _, exact, eps) in enumerate(gradient_cases()):
        got, after = outputs[f"grad{i}"], outputs[f"x{i}"]
        call = f"numerical_gradient({what})"
        if not np.array_equal(after, x):
            k = np.unravel_index(np.argmax(np.abs(after - x)), x.shape)
            raise CheckFailed(f"{call} changed x: x{list(k)} was {x[k]:.6g}, is {after[k]:.6g} "
                              "afterwards; put each entry back after nudging it")
        if got.shape != x.shape:
            raise CheckFailed(f"{call}: wrong shape: expected {x.shape} (one partial derivative "
                              f"per entry of x), got {got.shape}")
        expected = exact(x)
        if eps is not None:
            forward = 3 * x ** 2 + 3 * x * eps + eps ** 2
            if np.allclose(got, forward, rtol=0, atol=1e-8):
                raise CheckFailed(f"{call}: your values are forward differences "
                                  "(f(x + eps) - f(x)) / eps, whose error shrinks like eps; use "
                                  "central ones, (f(x + eps) - f(x - eps)) / (2 eps)")
            if np.allclose(got, 3 * x ** 2, rtol=0, atol=1e-9):
                raise CheckFailed(f"{call}: your values ignore the eps argument (the central "
                                  "difference of x**3 with eps=1e-3 is 3x**2 + 1e-6 exactly); "
                                  "nudge x by the eps given")
        if np.allclose(got, 2 * expected, rtol=1e-5, atol=1e-7):
            raise CheckFailed(f"{call}: your values are twice the gradient: divide the central "
                              "difference by 2 * eps")
        tolerance = 1e-8 if eps is not None else 1e-6
        expect_close(call, got, expected, rtol=tolerance, atol=tolerance)


# ---- relative error --------------------------------------------------------------------------
def error_cases() -> list[tuple[str, Any, Any]]:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 4))
    return [
        ("equal arrays", a, a.copy()),
        ("[1.0, 2.0] and [1.0, 2.002]", np.array([1.0, 2.0]), np.array([1.0, 2.002])),
        ("all zeros", np.zeros(3), np.zeros(3)),
        ("[0.0, 1.0] and [1e-3, 1.0] (one side zero)", np.array([0.0, 1.0]), np.array([1e-3, 1.0])),
        ("the numbers 3.0 and 3.3", 3.0, 3.3),
        ("[-1.0, 2.0] and [-3.0, 2.0] (negative numbers)", np.array([-1.0, 2.0]),
         np.array([-3.0, 2.0])),
        ("random (3, 4) arrays", a, a + rng.normal(scale=1e-4, size=(3, 4))),
    ]


def relative_error_formula(a: Any, b: Any) -> float:
    """max over entries of |a - b| / max(|a|, |b|), with 0/0 counted as 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))


def _copy(value: Any) -> Any:
    """A copy of an array (numbers pass as they are), so the answer cannot change the cases."""
    return value.copy() if isinstance(value, np.ndarray) else value


def _probe_error(relative_error: Callable[..., Any]) -> Outputs:
    return {f"case{i}": returned(relative_error(_copy(a), _copy(b)), "relative_error")
            for i, (_, a, b) in enumerate(error_cases())}


def _verdict_error(outputs: Outputs) -> None:
    for i, (what, a, b) in enumerate(error_cases()):
        got = outputs[f"case{i}"]
        if got.shape != ():
            raise CheckFailed(f"relative_error({what}): expected one number (the largest "
                              f"entry's error), got an array of shape {got.shape}")
        expected = relative_error_formula(a, b)
        if abs(float(got) - expected) <= 1e-9 * max(1.0, expected):
            continue
        message = f"relative_error({what}): expected {expected:.6g}, got {float(got):.6g}"
        if np.isnan(got):
            raise CheckFailed(f"{message}: where both entries are 0 the error is 0 (0/0 counts "
                              "as no error)")
        diff = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
        scale = np.maximum(np.abs(a), np.abs(b))
        ratio = diff / np.where(scale == 0, 1.0, scale)
        if np.ndim(ratio) and abs(float(got) - float(np.mean(ratio))) <= 1e-9:
            raise CheckFailed(f"{message}: that is the mean over the entries; take the largest")
        raise CheckFailed(f"{message}. The error is max over entries of |a - b| / max(|a|, |b|), "
                          "where 0/0 counts as 0")


register(Exercise(
    grade_id="check_numerical_gradient", lesson=LESSON, function="numerical_gradient",
    probe=_probe_gradient, verdict=_verdict_gradient,
    success="numerical_gradient gives central differences for inputs of any shape", points=2,
    engine_ops=("minitorch_unet.gradcheck.numerical_grad", "minitorch_unet.gradcheck.gradcheck")))
register(Exercise(
    grade_id="check_relative_error", lesson=LESSON, function="relative_error",
    probe=_probe_error, verdict=_verdict_error,
    success="relative_error is right, zeros included"))
