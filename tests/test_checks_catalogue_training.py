"""More typical wrong answers for lessons 00, 01 and 06 to 11, each run through its lesson's
own check (the helpers of test_checks_catalogue.py).

These were written apart from the checks' own lists of mistakes, as learners write them
(a loop one level short, integer division, a cut at the sizes instead of the offsets, a
factor left out of a moment...): each message must name the mistake, none may pass, none
may end in a traceback.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest

from minitorch_unet.checks.core import FAILED, NOT_WRITTEN, PASSED
from test_checks_catalogue import Mistake, run, solution

TRAINING: list[Mistake] = []
RIGHT: list[tuple[str, str, dict[str, Callable[..., Any]]]] = []


def mistake(grade: str, function: str, *words: str,
            also: dict[str, Callable[..., Any]] | None = None) -> Callable[..., Any]:
    """Decorator: the decorated function is a wrong `function` for check `grade`, whose
    message must hold every one of `words`."""
    def add(fn: Callable[..., Any]) -> Callable[..., Any]:
        TRAINING.append(Mistake(fn.__name__, grade, {function: fn, **(also or {})}, words))
        return fn
    return add


def right(grade: str, function: str) -> Callable[..., Any]:
    def add(fn: Callable[..., Any]) -> Callable[..., Any]:
        RIGHT.append((fn.__name__, grade, {function: fn}))
        return fn
    return add


# ---- 00: dice
@mistake("check_dice", "dice", "integer division")
def dice_floor_division(pred, target):
    p, t = np.asarray(pred).astype(int), np.asarray(target).astype(int)
    total = p.sum() + t.sum()
    if total == 0:
        return 1.0
    return float(2 * (p * t).sum() // total)


@mistake("check_dice", "dice", "one of the masks is empty")
def dice_either_empty_is_one(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    if p.sum() == 0 or t.sum() == 0:
        return 1.0
    return float(2 * (p & t).sum() / (p.sum() + t.sum()))


@mistake("check_dice", "dice", "per image")
def dice_mean_over_images(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    if p.ndim == 2:
        p, t = p[None], t[None]
    p, t = p.reshape(len(p), -1), t.reshape(len(t), -1)
    scores = []
    for pi, ti in zip(p, t):
        total = pi.sum() + ti.sum()
        scores.append(1.0 if total == 0 else 2 * (pi & ti).sum() / total)
    return float(np.mean(scores))


@mistake("check_dice", "dice", "number of pixels")
def dice_over_pixel_count(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    if not (p.any() or t.any()):
        return 1.0
    return float(2 * (p & t).sum() / (p.size + t.size))


# ---- 01 autograd
@mistake("check_mul_backward", "mul_backward", "grad_b", "chain rule")
def mul_b_forgets_chain(a, b, grad):
    return b * grad, a


@mistake("check_tanh_backward", "tanh_backward", "parenthes")
def tanh_precedence(x, grad):
    return 1 - math.tanh(x) ** 2 * grad


@mistake("check_tanh_backward", "tanh_backward", "cosh")
def tanh_sech_not_squared(x, grad):
    return grad / math.cosh(x)


@mistake("check_tanh_backward", "tanh_backward", "swapped")
def tanh_arguments_swapped(x, grad):
    return (1 - math.tanh(grad) ** 2) * x


@mistake("check_topological_order", "topological_order", "missing")
def topo_visited_by_value(root):
    order, seen = [], set()

    def visit(node):
        if node.data in seen:
            return
        seen.add(node.data)
        for child in node._prev:
            visit(child)
        order.append(node)
    visit(root)
    return order


@mistake("check_topological_order", "topological_order", "before its input")
def topo_bfs_reversed(root):
    order, seen, queue = [], {root}, [root]
    while queue:
        node = queue.pop(0)
        order.append(node)
        for child in node._prev:
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return order[::-1]


@mistake("check_topological_order", "topological_order", "missing")
def topo_one_level(root):
    return list(root._prev) + [root]


@mistake("check_backward", "backward", "times")
def backward_recursive(root):
    root.grad = 1.0

    def go(node):
        node._backward()
        for child in node._prev:
            go(child)
    go(root)


@mistake("check_backward", "backward", "never sent")
def backward_skips_root(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for c in node._prev:
                visit(c)
            order.append(node)
    visit(root)
    root.grad = 1.0
    for node in reversed(order[:-1]):
        node._backward()


@mistake("check_unbroadcast", "unbroadcast", "keepdims")
def unbroadcast_ones_before_leading(grad, shape):
    for i, n in enumerate(shape):
        if n == 1 and i < grad.ndim:
            grad = grad.sum(axis=i, keepdims=True)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad


@mistake("check_unbroadcast", "unbroadcast", "sum")
def unbroadcast_takes_first_copy(grad, shape):
    while grad.ndim > len(shape):
        grad = grad[0]
    index = tuple(slice(0, 1) if n == 1 else slice(None) for n in shape)
    return grad[index]


# ---- 06 cat and crop
@mistake("check_cat", "cat_backward", "cumsum")
def cat_backward_split_at_sizes(ctx, grad):
    return tuple(np.split(grad, ctx.sizes[:-1], axis=ctx.dim))


@mistake("check_cat", "cat_backward", "offset")
def cat_backward_pieces_from_zero(ctx, grad):
    pieces = []
    for size in ctx.sizes:
        pieces.append(np.take(grad, range(0, size), axis=ctx.dim))
    return tuple(pieces)


@mistake("check_cat", "cat_forward", "dim")
def cat_forward_hstack(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    return np.hstack(arrays)


@mistake("check_cat", "cat_backward", "last axis")
def cat_backward_last_axis(ctx, grad):
    pieces, start = [], 0
    for size in ctx.sizes:
        pieces.append(grad[..., start:start + size])
        start += size
    return tuple(pieces)


@mistake("check_center_crop", "center_crop", "off by one")
def crop_half_minus_half(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = input.shape[-2] // 2 - h // 2, input.shape[-1] // 2 - w // 2
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "crop_backward", "left")
def crop_backward_top_twice(ctx, grad):
    grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
    grad_x[..., ctx.top:ctx.top + grad.shape[-2], ctx.top:ctx.top + grad.shape[-1]] = grad
    return grad_x


@mistake("check_center_crop", "crop_backward", "bottom")
def crop_backward_symmetric_pad(ctx, grad):
    pads = [(0, 0)] * (grad.ndim - 2) + [(ctx.top, ctx.top), (ctx.left, ctx.left)]
    return np.pad(grad, pads)


# ---- 07 modules
@mistake("check_count_parameters", "count_parameters", "bottleneck")
def count_without_bottleneck(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (2 * widths[i] + widths[i]) + 4 * widths[i]
    return total


@mistake("check_count_parameters", "count_parameters", "2x2 kernel")
def count_up_kernel_three(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 9 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (2 * widths[i] + widths[i]) + 4 * widths[i]
    return total


@mistake("check_receptive_field", "receptive_field", "first layer")
def rf_skips_first(layers):
    field, jump = 1, 1
    for kernel, stride in layers[1:]:
        field += (kernel - 1) * jump
        jump *= stride
    return field


@mistake("check_receptive_field", "receptive_field", "reverse order")
def rf_recursion_forward_order(layers):
    field = 1
    for kernel, stride in layers:
        field = stride * (field - 1) + kernel
    return field


# ---- 08 losses
@mistake("check_bce_with_logits", "bce_with_logits", "|x|")
def bce_exp_minus_x(logits, target):
    return (logits.relu() - logits * target + (1 + (-logits).exp()).log()).mean()


@mistake("check_bce_with_logits", "bce_with_logits", "stable")
def bce_clipped_log(logits, target):
    p = logits.sigmoid()
    return -(target * (p + 1e-7).log() + (1 - target) * (1 - p + 1e-7).log()).mean()


@mistake("check_bce_with_logits", "bce_with_logits", "number of values")
def bce_divides_by_last_axis(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    loss = logits.relu() - logits * target + (1 + (-magnitude).exp()).log()
    return loss.sum() / logits.shape[-1]


@mistake("check_soft_dice_loss", "soft_dice_loss", "denominator", "sum(t)")
def soft_dice_no_target_sum(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * target).sum() + smooth) / (p.sum() + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "mean")
def soft_dice_mean_intersection(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * target).mean() + smooth) / (p.sum() + target.sum() + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "background")
def soft_dice_of_background(logits, target, smooth=1.0):
    p = 1 - logits.sigmoid()
    return 1 - (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


# ---- 09 training
@mistake("check_sgd_momentum_step", "sgd_momentum_step", "momentum multiplies")
def sgd_momentum_on_sum(param, grad, buf, lr, momentum):
    buf = momentum * (buf + grad)
    return param - lr * buf, buf


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "order")
def sgd_returns_swapped(param, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return buf, param - lr * buf


@mistake("check_adam_step", "adam_step", "beta1 ** t")
def adam_correction_times_t(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat, v_hat = m / (1 - b1 * t), v / (1 - b2 * t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@mistake("check_adam_step", "adam_step", "1 - beta1")
def adam_m_without_one_minus_beta(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@mistake("check_adam_step", "adam_step", "beta2")
def adam_betas_mixed(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b2) * grad
    v = b2 * v + (1 - b1) * grad * grad
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


# ---- 10 gpu
@mistake("check_conv2d_cost", "conv2d_cost", "- 1")
def cost_exact_adds(n, c_in, c_out, h, w, k, itemsize=4):
    flops = n * c_out * h * w * (2 * c_in * k * k - 1)
    return flops, itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w)


@mistake("check_conv2d_cost", "conv2d_cost", "padding")
def cost_padded_input(n, c_in, c_out, h, w, k, itemsize=4):
    flops = 2 * n * c_out * h * w * c_in * k * k
    padded = n * c_in * (h + k - 1) * (w + k - 1)
    return flops, itemsize * (padded + c_out * c_in * k * k + n * c_out * h * w)


# ---- 11 evaluation
@mistake("check_dice_per_slice", "dice_per_slice", "false alarm")
def slice_empty_target_is_one(pred, target, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    dice = 2 * (p & t).sum(1) / np.maximum(p.sum(1) + t.sum(1), 1)
    return np.where(t.sum(1) == 0, 1.0, dice)


@mistake("check_dice_per_patient", "dice_per_patient", "pooled")
def patient_pooled_over_all(pred, target, patients, threshold=0.5):
    p, t = pred > threshold, target > 0.5
    value = 2 * (p & t).sum() / (p.sum() + t.sum())
    return {q: float(value) for q in patients}


@mistake("check_dice_per_patient", "dice_per_patient", "first slice")
def patient_first_slice_only(pred, target, patients, threshold=0.5):
    out = {}
    for q in dict.fromkeys(patients):
        i = patients.index(q)
        p, t = pred[i] > threshold, target[i] > 0.5
        total = p.sum() + t.sum()
        out[q] = 1.0 if total == 0 else float(2 * (p & t).sum() / total)
    return out


# ---- right answers written differently -----------------------------------------------------------
@right("check_tanh_backward", "tanh_backward")
def tanh_factored(x, grad):
    t = math.tanh(x)
    return grad * (1 - t) * (1 + t)


@right("check_topological_order", "topological_order")
def topo_deduplicated_afterwards(root):
    order = []

    def visit(node):
        for child in node._prev:
            visit(child)
        order.append(node)
    visit(root)
    return list({id(node): node for node in reversed(order)}.values())[::-1]


@right("check_unbroadcast", "unbroadcast")
def unbroadcast_loop(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


@right("check_cat", "cat_backward")
def cat_backward_take(ctx, grad):
    starts = np.concatenate([[0], np.cumsum(ctx.sizes)])
    return [np.take(grad, range(a, b), axis=ctx.dim) for a, b in zip(starts[:-1], starts[1:])]


@right("check_center_crop", "crop_backward")
def crop_backward_add_into_zeros(ctx, grad):
    grad_x = np.zeros(ctx.shape)
    h, w = grad.shape[-2:]
    grad_x[..., ctx.top:ctx.top + h, ctx.left:ctx.left + w] += grad
    return grad_x


@right("check_dice_per_slice", "dice_per_slice")
def slice_dice_loop(pred, target, threshold=0.5):
    out = []
    for p, t in zip(pred > threshold, target > 0.5):
        total = p.sum() + t.sum()
        out.append(1.0 if total == 0 else 2 * (p & t).sum() / total)
    return np.array(out)


@right("check_adam_step", "adam_step")
def adam_in_place(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m *= b1
    m += (1 - b1) * grad
    v *= b2
    v += (1 - b2) * grad ** 2
    param -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return param, m, v


# ---- the tests ------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", TRAINING, ids=[m.name for m in TRAINING])
def test_the_mistake_is_named(entry: Mistake) -> None:
    result = run(entry.grade, **entry.answers)
    assert result.status == FAILED, result
    assert all(word in result.message for word in entry.words), result.message


@pytest.mark.parametrize("name, grade, answers", RIGHT, ids=[r[0] for r in RIGHT])
def test_a_right_answer_written_differently_passes(name: str, grade: str,
                                                   answers: dict[str, Callable[..., Any]]) -> None:
    result = run(grade, **answers)
    assert result.status == PASSED, result.message


def test_a_backward_that_raises_in_every_case_is_reported_with_its_line() -> None:
    def crop_backward(ctx, grad):
        return np.zeros(ctx.shape)[..., ctx.top:-ctx.top, ctx.left:-ctx.left] + grad.T

    result = run("check_center_crop", crop_backward=crop_backward)
    assert result.status == FAILED
    assert "raised ValueError" in result.message and "grad.T" in result.message, result.message


def test_an_unwritten_backward_is_not_written_yet() -> None:
    def cat_backward(ctx, grad):
        raise NotImplementedError

    result = run("check_cat", cat_backward=cat_backward)
    assert result.status == NOT_WRITTEN and "not written yet" in result.message, result.message


def test_the_training_catalogue_figure(capsys: pytest.CaptureFixture[str]) -> None:
    """The share of these wrong answers whose message names the mistake."""
    named = passed = 0
    for entry in TRAINING:
        result = run(entry.grade, **entry.answers)
        passed += result.status == PASSED
        named += result.status == FAILED and all(w in result.message for w in entry.words)
    with capsys.disabled():
        print(f"\ncatalogue (lessons 00, 01, 06-11): {named} of {len(TRAINING)} wrong answers "
              f"named ({100 * named / len(TRAINING):.0f}%), {passed} passed")
    assert len(TRAINING) >= 40 and passed == 0 and named >= 0.9 * len(TRAINING)
