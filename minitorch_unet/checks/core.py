"""Exercise registry and the comparisons that turn a wrong answer into a precise message."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..reference import mismatch

Outputs = dict[str, np.ndarray]


class CheckFailed(AssertionError):
    """A check found a wrong answer; the message says what and where."""


@dataclass(frozen=True)
class Exercise:
    """One graded exercise of a lesson.

    grade_id: the nbgrader grade id of its check cell (unique across the course).
    lesson: the lesson folder, e.g. "03_convolution".
    function: the name the learner's solution defines, e.g. "conv2d".
    probe: runs the learner's function on chosen inputs -> arrays (learner's process).
    verdict: compares those arrays with the references; raises CheckFailed (clean process).
    success: the one short line printed when the answer is right.
    engine_ops: dotted names of engine functions the answer must not call, e.g.
        ("minitorch_unet.functional.conv2d",); calling them is flagged and earns no points.
    """

    grade_id: str
    lesson: str
    function: str
    probe: Callable[[Callable[..., Any]], Outputs]
    verdict: Callable[[Outputs], None]
    success: str
    points: int = 1
    engine_ops: tuple[str, ...] = field(default=())


EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    if exercise.grade_id in EXERCISES:
        raise ValueError(f"exercise grade id {exercise.grade_id!r} registered twice")
    EXERCISES[exercise.grade_id] = exercise
    return exercise


def load_all() -> dict[str, Exercise]:
    """Import every lesson's check module so that all exercises are registered."""
    from .. import checks
    for info in pkgutil.iter_modules(checks.__path__):
        if info.name.startswith("lesson"):
            importlib.import_module(f"{checks.__name__}.{info.name}")
    return EXERCISES


def check(grade_id: str, fn: Callable[..., Any]) -> None:
    """Probe the learner's `fn`, judge it, and print one line; raises CheckFailed if wrong."""
    load_all()
    if grade_id not in EXERCISES:
        raise KeyError(f"no exercise with grade id {grade_id!r}")
    exercise = EXERCISES[grade_id]
    exercise.verdict(exercise.probe(fn))
    print(f"\u2714 {exercise.success}")


def expect_shape(what: str, got: Any, expected: tuple[int, ...], hint: str = "") -> None:
    """Fail with 'wrong shape: expected ..., got ...' (and an off-by-one note) if shapes differ."""
    got_shape = tuple(np.shape(got))
    expected = tuple(expected)
    if got_shape == expected:
        return
    message = f"{what}: wrong shape: expected {expected}, got {got_shape}"
    if len(got_shape) == len(expected):
        diffs = [g - e for g, e in zip(got_shape, expected)]
        off = [i for i, d in enumerate(diffs) if d]
        if off and all(abs(diffs[i]) <= 2 for i in off):
            message += (f" (dims {off} off by {[diffs[i] for i in off]}: check the output-size "
                        "formula, the padding and the stride)")
    raise CheckFailed(message + (f". {hint}" if hint else ""))


def expect_close(what: str, got: Any, expected: np.ndarray, rtol: float = 1e-4, atol: float = 1e-5,
                 hint: str = "") -> None:
    """Fail with where and by how much `got` differs from `expected` (shapes checked first)."""
    expect_shape(what, got, expected.shape, hint)
    got = np.asarray(got, dtype=np.float64)
    if not np.isfinite(got).all():
        bad = np.argwhere(~np.isfinite(got))[0]
        raise CheckFailed(f"{what}: contains NaN or inf (first at index {tuple(int(i) for i in bad)})"
                          + (f". {hint}" if hint else ""))
    off = mismatch(got, expected, rtol, atol)
    if off is None:
        return
    n_bad, worst = off
    raise CheckFailed(
        f"{what}: right shape but wrong values: {n_bad} of {got.size} off; "
        f"worst at index {worst}: expected {expected[worst]:.6g}, got "
        f"{got[worst]:.6g} (off by {abs(got[worst] - expected[worst]):.3g})"
        + (f". {hint}" if hint else ""))
