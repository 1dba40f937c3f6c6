"""The checks of lessons 00-02: the solutions pass, and classic mistakes get precise messages."""
from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from minitorch_unet.checks import CheckFailed, check
from minitorch_unet.checks.core import load_all
from minitorch_unet.course import notebooks as nbs

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
GRADE_IDS = ["check_dice", "check_mul_backward", "check_tanh_backward", "check_topological_order",
             "check_backward", "check_unbroadcast", "check_numerical_gradient",
             "check_relative_error"]


@lru_cache(maxsize=None)
def solution_namespace(lesson: str) -> dict[str, Any]:
    """What the solution notebook's setup and exercise cells define (demo and check cells skipped)."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for cell in nbs.read_notebook(SOLUTIONS / lesson / f"{lesson}.ipynb").cells:
        if cell.cell_type == "code" and not (nbs.is_demo(cell) or nbs.is_check(cell)):
            exec(compile(cell.source, lesson, "exec"), namespace)
    return namespace


def solution_of(grade_id: str) -> Callable[..., Any]:
    exercise = load_all()[grade_id]
    return solution_namespace(exercise.lesson)[exercise.function]


def fails(grade_id: str, fn: Callable[..., Any], *words: str) -> str:
    """Run the check on `fn`; it must fail with a message holding every one of `words`."""
    with pytest.raises(CheckFailed) as failure:
        check(grade_id, fn)
    message = str(failure.value)
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_the_solution_passes_and_its_outputs_survive_a_file(grade_id: str,
                                                            capsys: pytest.CaptureFixture) -> None:
    exercise, solved = load_all()[grade_id], solution_of(grade_id)
    capsys.readouterr()  # what the solution's setup cells printed
    outputs = exercise.probe(solved)
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in outputs.values())
    buffer = io.BytesIO()
    np.savez(buffer, **outputs)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as stored:
        exercise.verdict({key: stored[key] for key in stored.files})
    check(grade_id, solved)
    line = capsys.readouterr().out
    assert line.startswith("\u2714") and line.count("\n") == 1


# ---- 00: dice ------------------------------------------------------------------------------
def dice_without_empty_rule(pred: Any, target: Any) -> float:
    p, t = np.asarray(pred, bool), np.asarray(target, bool)
    with np.errstate(invalid="ignore"):
        return float(2 * (p & t).sum() / (p.sum() + t.sum()))


def test_dice_mistakes() -> None:
    fails("check_dice", dice_without_empty_rule, "both masks empty", "0/0", "perfect")
    fails("check_dice", lambda p, t: 0.0 if not np.any(p) and not np.any(t) else
          dice_without_empty_rule(p, t), "expected 1, got 0", "Both masks are empty")
    iou = lambda p, t: 1.0 if not (np.any(p) or np.any(t)) else float(  # noqa: E731
        (np.logical_and(p, t)).sum() / np.logical_or(p, t).sum())
    fails("check_dice", iou, "IoU")
    half = lambda p, t: 1.0 if not (np.any(p) or np.any(t)) else 0.5 * dice_without_empty_rule(p, t)  # noqa: E731
    fails("check_dice", half, "factor 2")
    fails("check_dice", lambda p, t: float(np.mean(np.asarray(p, bool) == np.asarray(t, bool))),
          "pixel accuracy")
    fails("check_dice", lambda p, t: np.ones(np.shape(p)), "one number", "shape (8, 8)")
    fails("check_dice", lambda p, t: None, "returned None")


# ---- 01: op gradients, order, backward, unbroadcast ----------------------------------------
def test_op_gradient_mistakes() -> None:
    fails("check_mul_backward", lambda a, b, g: (a * g, b * g), "swapped")
    fails("check_mul_backward", lambda a, b, g: (b, a), "chain rule")
    fails("check_mul_backward", lambda a, b, g: b * g, "two numbers", "one number")
    fails("check_mul_backward", lambda a, b, g: (b * g, a), "grad_b is a", "chain rule")
    fails("check_tanh_backward", lambda x, g: (1 - x ** 2) * g, "1 - x**2")
    fails("check_tanh_backward", lambda x, g: 1 - math.tanh(x) ** 2, "chain rule")
    fails("check_tanh_backward", lambda x, g: (1 - math.tanh(x)) * g, "1 - tanh(x);")
    fails("check_tanh_backward", lambda x, g: 0.5 * g, "right shape but wrong values")


def order_without_visited_set(root: Any) -> list[Any]:
    order: list[Any] = []

    def visit(node: Any) -> None:
        for child in node._prev:
            visit(child)
        order.append(node)

    visit(root)
    return order


def breadth_first_order(root: Any) -> list[Any]:
    """Every node once, but by distance from the root, reversed: not topological."""
    seen, queue = [root], [root]
    while queue:
        for child in queue.pop(0)._prev:
            if all(child is not s for s in seen):
                seen.append(child)
                queue.append(child)
    return seen[::-1]


def test_topological_order_mistakes() -> None:
    right = solution_of("check_topological_order")
    fails("check_topological_order", order_without_visited_set, "appears", "times", "visited")
    fails("check_topological_order", lambda root: right(root)[::-1], "read backwards",
          "not reversed")
    fails("check_topological_order", lambda root: [n for n in right(root) if n._prev] or [root],
          "missing")
    fails("check_topological_order", breadth_first_order, "comes before its input")
    fails("check_topological_order", lambda root: None, "returned None")


def test_backward_mistakes() -> None:
    order = solution_of("check_topological_order")

    def no_seed(root: Any) -> None:
        for node in reversed(order(root)):
            node._backward()

    def not_reversed(root: Any) -> None:
        root.grad = 1.0
        for node in order(root):
            node._backward()

    def twice(root: Any) -> None:
        root.grad = 1.0
        for node in reversed(order_without_visited_set(root)):
            node._backward()

    def skips_the_root(root: Any) -> None:
        root.grad = 1.0
        for node in reversed(order(root)[:-1]):
            node._backward()

    fails("check_backward", no_seed, "root.grad = 1.0")
    fails("check_backward", not_reversed, "walk the topological order in reverse")
    fails("check_backward", twice, "times", "once")
    fails("check_backward", skips_the_root, "never sent its gradient back")


def test_unbroadcast_mistakes() -> None:
    fails("check_unbroadcast", lambda g, shape: g, "unchanged in every case")
    right = solution_of("check_unbroadcast")
    fails("check_unbroadcast", lambda g, shape: right(g, shape) * np.prod(shape) / g.size,
          "averaged")
    fails("check_unbroadcast", lambda g, shape: g.sum(axis=tuple(range(g.ndim - len(shape)))),
          "wrong shape", "the axes where `shape` has a 1 are not summed")
    fails("check_unbroadcast", lambda g, shape: right(g, shape).ravel(), "wrong shape", "reshape")


# ---- 02: numerical gradient, relative error -------------------------------------------------
def forward_difference(f: Callable[[np.ndarray], float], x: np.ndarray,
                       eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        y = x.copy()
        y[i] += eps
        grad[i] = (f(y) - f(x)) / eps
    return grad


def test_numerical_gradient_mistakes() -> None:
    right = solution_of("check_numerical_gradient")
    fails("check_numerical_gradient", forward_difference, "forward differences")
    fails("check_numerical_gradient", lambda f, x, eps=1e-6: right(f, x), "ignore the eps")
    fails("check_numerical_gradient", lambda f, x, eps=1e-6: 2 * right(f, x, eps), "twice")

    def keeps_the_nudge(f: Callable[[np.ndarray], float], x: np.ndarray,
                        eps: float = 1e-6) -> np.ndarray:
        grad = right(f, x.copy(), eps)
        x += eps
        return grad

    fails("check_numerical_gradient", keeps_the_nudge, "changed x", "put each entry back")
    fails("check_numerical_gradient", lambda f, x, eps=1e-6: right(f, x, eps).ravel(),
          "wrong shape")


def _central_with(change: str) -> Callable[..., np.ndarray]:
    """A loop-written central difference with one operation changed."""
    def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                           eps: float = 1e-6) -> np.ndarray:
        grad = np.zeros(x.shape)
        for i in np.ndindex(x.shape):
            saved = x[i]
            x[i] = saved + eps
            up = f(x)
            x[i] = saved - eps
            down = f(x)
            x[i] = saved
            if change == "squared":
                up, down = up ** 2, down ** 2
            slope = (up - down) / (2 * eps)
            if change == "whole_array":
                grad[...] = slope
            else:
                grad[i] = slope * saved if change == "times_x" else slope
        return grad / x.size if change == "averaged" else grad
    return numerical_gradient


def test_numerical_gradient_with_one_operation_changed() -> None:
    fails("check_numerical_gradient", _central_with("times_x"), "times x", "grad[i] =")
    fails("check_numerical_gradient", _central_with("squared"), "squares")
    fails("check_numerical_gradient", _central_with("averaged"), "x.size")
    fails("check_numerical_gradient", _central_with("whole_array"), "last entry's slope")
    check("check_numerical_gradient", _central_with(""))  # the loop written right passes


def test_relative_error_mistakes() -> None:
    def no_zero_rule(a: Any, b: Any) -> float:
        a, b = np.asarray(a, float), np.asarray(b, float)
        with np.errstate(invalid="ignore"):
            return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))))

    def mean(a: Any, b: Any) -> float:
        a, b = np.asarray(a, float), np.asarray(b, float)
        scale = np.maximum(np.abs(a), np.abs(b))
        return float(np.mean(np.abs(a - b) / np.where(scale == 0, 1, scale)))

    def no_abs(a: Any, b: Any) -> float:
        a, b = np.asarray(a, float), np.asarray(b, float)
        scale = np.maximum(a, b)
        return float(np.max(np.abs(a - b) / np.where(scale == 0, 1, scale)))

    fails("check_relative_error", no_zero_rule, "all zeros", "0/0")
    fails("check_relative_error", mean, "mean")
    fails("check_relative_error", no_abs, "negative numbers", "max(|a|, |b|)")
    fails("check_relative_error", lambda a, b: np.abs(np.asarray(a) - np.asarray(b)),
          "one number")
