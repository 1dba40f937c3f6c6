"""Wrong answers of the classes the checks once read only as wrong values (a backward that
resets the grads, a Dice averaged over rows, a second derivative, a gradient counted twice in
the SGD step, an unbroadcast that skips the 1-axes, the best slice as a patient's Dice), each
run through its lesson's own check; right answers written differently must still pass.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest

from minitorch_unet.checks.core import FAILED, PASSED
from test_checks_catalogue import Mistake, run, solution

CLASSES: list[Mistake] = []
RIGHT: list[tuple[str, str, dict[str, Callable[..., Any]]]] = []


def mistake(grade: str, function: str, *words: str) -> Callable[..., Any]:
    """Decorator: a wrong `function` for check `grade`, whose message must hold `words`."""
    def add(fn: Callable[..., Any]) -> Callable[..., Any]:
        CLASSES.append(Mistake(fn.__name__, grade, {function: fn}, words))
        return fn
    return add


def right(grade: str, function: str) -> Callable[..., Any]:
    def add(fn: Callable[..., Any]) -> Callable[..., Any]:
        RIGHT.append((fn.__name__, grade, {function: fn}))
        return fn
    return add


def _order(root: Any) -> list[Any]:
    order, seen = [], set()

    def visit(node: Any) -> None:
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    return order


# ---- 01: a second backward adds ---------------------------------------------------------------
@mistake("check_backward", "backward", "second time", "resets them")
def backward_zero_grad_inside(root):
    order = _order(root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        node._backward()


@mistake("check_backward", "backward", "second time", "never assign or reset")
def backward_zeroes_leaves_only(root):
    order = _order(root)
    for node in order:
        if not node._prev:
            node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        node._backward()


@right("check_backward", "backward")
def backward_with_a_stack(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev)
    root.grad = 1.0
    for node in order[::-1]:
        node._backward()


# ---- 00: Dice over parts of the masks ---------------------------------------------------------
def _part_mean(p: np.ndarray, t: np.ndarray, empty: float) -> float:
    total = p.sum(1) + t.sum(1)
    scores = np.where(total == 0, empty, 2 * (p & t).sum(1) / np.maximum(total, 1))
    return float(np.nanmean(scores)) if not np.isnan(scores).all() else 1.0


@mistake("check_dice", "dice", "one Dice per row")
def dice_rows_in_a_loop(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    scores = []
    for row_p, row_t in zip(p.reshape(-1, p.shape[-1]), t.reshape(-1, t.shape[-1])):
        total = row_p.sum() + row_t.sum()
        scores.append(1.0 if total == 0 else 2 * (row_p & row_t).sum() / total)
    return float(np.mean(scores))


@mistake("check_dice", "dice", "one Dice per sample")
def dice_per_sample_skipping_empty(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    return _part_mean(p.reshape(len(p), -1), t.reshape(len(t), -1), np.nan)


@mistake("check_dice", "dice", "one Dice per column")
def dice_per_column(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    cols = lambda m: np.moveaxis(m, -1, 0).reshape(m.shape[-1], -1)  # noqa: E731
    return _part_mean(cols(p), cols(t), 1.0)


@right("check_dice", "dice")
def dice_float64_sums(pred, target):
    p, t = np.asarray(pred, dtype=np.float64) > 0.5, np.asarray(target, dtype=np.float64) > 0.5
    total = float(p.sum(dtype=np.float64) + t.sum(dtype=np.float64))
    return 1.0 if total == 0 else 2.0 * float(np.logical_and(p, t).sum()) / total


# ---- 01: derivatives of another order ----------------------------------------------------------
@mistake("check_tanh_backward", "tanh_backward", "second derivative")
def tanh_differentiated_twice(x, grad):
    t = math.tanh(x)
    return -2 * t * (1 - t ** 2) * grad


@mistake("check_tanh_backward", "tanh_backward", "without its minus sign")
def tanh_second_derivative_unsigned(x, grad):
    return 2 * math.tanh(x) / math.cosh(x) ** 2 * grad


@mistake("check_tanh_backward", "tanh_backward", "integral of tanh")
def tanh_log_cosh(x, grad):
    return math.log(math.cosh(x)) * grad


# ---- 09: the gradient counted twice in the SGD step -------------------------------------------
@mistake("check_sgd_momentum_step", "sgd_momentum_step", "counted twice")
def sgd_grad_added_to_step(param, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return param - lr * buf - lr * grad, buf


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "counted twice")
def sgd_grad_in_step_and_buffer(param, grad, buf, lr, momentum):
    new = momentum * buf + grad
    return param - lr * (grad + new), new


# ---- 01: unbroadcast that sums the leading axes only ------------------------------------------
@mistake("check_unbroadcast", "unbroadcast", "leading ax", "if/elif")
def unbroadcast_leading_then_return(grad, shape):
    extra = grad.ndim - len(shape)
    if extra > 0:
        return grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


# ---- 11: one slice standing for the patient ----------------------------------------------------
def _slice_dice(pred: np.ndarray, target: np.ndarray, threshold: float) -> np.ndarray:
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    total = p.sum(1) + t.sum(1)
    return np.where(total == 0, 1.0, 2 * (p & t).sum(1) / np.maximum(total, 1))


@mistake("check_dice_per_patient", "dice_per_patient", "maximum")
def patient_best_slice_in_a_loop(pred, target, patients, threshold=0.5):
    scores = _slice_dice(pred, target, threshold)
    best: dict[str, float] = {}
    for patient, score in zip(patients, scores):
        best[patient] = max(best.get(patient, 0.0), float(score))
    return best


@mistake("check_dice_per_patient", "dice_per_patient", "last slice")
def patient_overwritten_in_a_loop(pred, target, patients, threshold=0.5):
    scores = _slice_dice(pred, target, threshold)
    result = {}
    for patient, score in zip(patients, scores):
        result[patient] = float(score)
    return result


# ---- 08: a NaN that no overflow explains -------------------------------------------------------
@mistake("check_bce_with_logits", "bce_with_logits", "cannot overflow", "target.sum()")
def bce_mean_per_class(logits, target):
    mag = logits.relu() + (-logits).relu()
    loss = logits.relu() - logits * target + (1 + (-mag).exp()).log()
    return ((loss * target).sum() / target.sum()
            + (loss * (1 - target)).sum() / (1 - target).sum()) * 0.5


# ---- 11: the right Dice values in another order -----------------------------------------------
@mistake("check_dice_per_slice", "dice_per_slice", "the right values, sorted")
def slice_sorted_scores(pred, target, threshold=0.5):
    return np.sort(_slice_dice(pred, target, threshold))


@mistake("check_dice_per_slice", "dice_per_slice", "in another order")
def slice_grouped_by_emptiness(pred, target, threshold=0.5):
    scores = _slice_dice(pred, target, threshold)
    has_tumour = (target.reshape(len(target), -1) > 0.5).any(1)
    return np.concatenate([scores[has_tumour], scores[~has_tumour]])


@pytest.mark.parametrize("entry", CLASSES, ids=[m.name for m in CLASSES])
def test_the_mistake_is_named(entry: Mistake) -> None:
    result = run(entry.grade, **entry.answers)
    assert result.status == FAILED, result
    assert all(word in result.message for word in entry.words), result.message


@pytest.mark.parametrize("name, grade, answers", RIGHT, ids=[r[0] for r in RIGHT])
def test_a_right_answer_written_differently_passes(name: str, grade: str,
                                                  answers: dict[str, Callable[..., Any]]) -> None:
    assert run(grade, **answers).status == PASSED, name


def test_the_solutions_pass() -> None:
    for grade, lesson, function in (("check_backward", "01_autograd", "backward"),
                                    ("check_dice", "00_task_and_data", "dice"),
                                    ("check_dice_per_patient", "11_evaluation",
                                     "dice_per_patient")):
        assert run(grade, **{function: solution(lesson)[function]}).status == PASSED
