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
from catalogue_training_fresh import (FRESH_D6, FRESH_D7, FRESH_D8, FRESH_D9, GAPS_D6, GAPS_D7,
                                      GAPS_D8, GAPS_D9, STILL_UNNAMED)
from test_checks_catalogue import Mistake, catalogue_tests, registrars, run, solution

TRAINING: list[Mistake] = []
RIGHT: list[tuple[str, str, dict[str, Callable[..., Any]]]] = []

mistake, right = registrars(TRAINING, RIGHT)


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


# ---- 01: autograd
@mistake("check_mul_backward", "mul_backward", "raised ZeroDivisionError", "a * b * grad / a")
def mul_divides_the_product_out(a, b, grad):
    return a * b * grad / a, a * b * grad / b


@mistake("check_mul_backward", "mul_backward", "a = 0 or b = 0", "grad_a = b * grad")
def mul_divides_out_with_a_guard(a, b, grad):
    product = a * b * grad
    return (product / a if a else 0.0), (product / b if b else 0.0)


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


@mistake("check_unbroadcast", "unbroadcast", "LAST")
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


# ---- 06: cat and crop
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


@mistake("check_center_crop", "center_crop", "n // 2 - k // 2")
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


# ---- 07: modules
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


# ---- 08: losses
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


# ---- 09: training
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


# ---- 10: the GPU
@mistake("check_conv2d_cost", "conv2d_cost", "- 1")
def cost_exact_adds(n, c_in, c_out, h, w, k, itemsize=4):
    flops = n * c_out * h * w * (2 * c_in * k * k - 1)
    return flops, itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w)


@mistake("check_conv2d_cost", "conv2d_cost", "padding")
def cost_padded_input(n, c_in, c_out, h, w, k, itemsize=4):
    flops = 2 * n * c_out * h * w * c_in * k * k
    padded = n * c_in * (h + k - 1) * (w + k - 1)
    return flops, itemsize * (padded + c_out * c_in * k * k + n * c_out * h * w)


# ---- 11: evaluation
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


# ---- a second set, written after the checks had grown on the first -----------------------
def _pt(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(pred).astype(bool), np.asarray(target).astype(bool)


@mistake("check_dice", "dice", "1 -")
def dice_one_minus(pred, target):
    p, t = _pt(pred, target)
    total = p.sum() + t.sum()
    return 0.0 if total == 0 else float(1 - 2 * (p & t).sum() / total)


@mistake("check_dice", "dice", "uint8")
def dice_uint8_sums(pred, target):
    p, t = np.asarray(pred).astype(np.uint8), np.asarray(target).astype(np.uint8)
    total = int(p.sum(dtype=np.uint8)) + int(t.sum(dtype=np.uint8))
    if total == 0:
        return 1.0
    return float(2 * int((p * t).sum(dtype=np.uint8)) / total)


# ---- 01: autograd
@mistake("check_mul_backward", "mul_backward", "divide")
def mul_divides(a, b, grad):
    return b / grad, a / grad


@mistake("check_tanh_backward", "tanh_backward", "tanh(x) (1 - tanh(x))")
def tanh_t_one_minus_t(x, grad):
    t = math.tanh(x)
    return t * (1 - t) * grad


@mistake("check_tanh_backward", "tanh_backward", "parenthes")
def tanh_precedence_left(x, grad):
    return grad * 1 - math.tanh(x) ** 2


@mistake("check_topological_order", "topological_order", "before its input")
def topo_preorder_reversed(root):
    order, seen = [], set()

    def visit(node):
        if node in seen:
            return
        seen.add(node)
        order.append(node)
        for child in node._prev:
            visit(child)
    visit(root)
    return order[::-1]


@mistake("check_topological_order", "topological_order", "missing")
def topo_without_root(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    return order[:-1]


@mistake("check_backward", "backward", "root.grad = 1.0", "before")
def backward_seed_after_loop(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    for node in reversed(order):
        node._backward()
    root.grad = 1.0


@mistake("check_unbroadcast", "unbroadcast", "in front")
def unbroadcast_one_leading_axis(grad, shape):
    if grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1:
            grad = grad.sum(axis=i, keepdims=True)
    return grad


@mistake("check_unbroadcast", "unbroadcast", "reshape")
def unbroadcast_no_keepdims(grad, shape):
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    ones = tuple(i for i, n in enumerate(shape) if n == 1)
    return grad.sum(axis=ones) if ones else grad


# ---- 06: cat and crop
@mistake("check_cat", "cat_forward", "last")
def cat_forward_drops_last(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    return np.concatenate(arrays[:-1], axis=dim)


@mistake("check_cat", "cat_backward", "cumsum")
def cat_backward_split_at_all_sizes(ctx, grad):
    return tuple(np.split(grad, ctx.sizes, axis=ctx.dim))


@mistake("check_cat", "cat_backward", "order")
def cat_backward_rotated(ctx, grad):
    pieces = list(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim))
    return tuple(pieces[1:] + pieces[:1])


@mistake("check_cat", "cat_backward", "one too")
def cat_backward_slice_one_too_many(ctx, grad):
    pieces, start = [], 0
    for size in ctx.sizes:
        index = [slice(None)] * grad.ndim
        index[ctx.dim] = slice(start, start + size + 1)
        pieces.append(grad[tuple(index)])
        start += size
    return tuple(pieces)


@mistake("check_center_crop", "center_crop", "apply")
def crop_from_data(input, size):
    from minitorch_unet import Tensor
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return Tensor(input.data[..., top:top + h, left:left + w])


@mistake("check_center_crop", "center_crop", "round")
def crop_round_half(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = round((input.shape[-2] - h) / 2), round((input.shape[-1] - w) / 2)
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "crop_backward", "outside the crop", "zero")
def crop_backward_ones_outside(ctx, grad):
    grad_x = np.ones(ctx.shape, dtype=grad.dtype)
    grad_x[..., ctx.top:ctx.top + grad.shape[-2], ctx.left:ctx.left + grad.shape[-1]] = grad
    return grad_x


# ---- 07: modules
def _count_variant(depth, base, c_in0, bn=4, head_out=1):
    widths = [base * 2 ** i for i in range(depth + 1)]
    total = head_out * (widths[0] + 1)
    for i in range(depth + 1):
        c_in = c_in0 if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + bn * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (3 * widths[i]) + bn * widths[i]
    return total


@mistake("check_count_parameters", "count_parameters", "batch norm")
def count_one_bn_per_block(depth, base_filters, in_channels=1):
    return _count_variant(depth, base_filters, in_channels, bn=2)


@mistake("check_count_parameters", "count_parameters", "head", "times")
def count_two_class_head(depth, base_filters, in_channels=1):
    return _count_variant(depth, base_filters, in_channels, head_out=2)


@mistake("check_receptive_field", "receptive_field", "its own stride only")
def rf_own_stride_only(layers):
    field = 1
    for kernel, stride in layers:
        field += (kernel - 1) * stride
    return field


@mistake("check_receptive_field", "receptive_field", "jump")
def rf_jump_zero(layers):
    field, jump = 1, 0
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


# ---- 08: losses
@mistake("check_bce_with_logits", "bce_with_logits", "stable")
def bce_log_sigmoid(logits, target):
    return -(target * logits.sigmoid().log() + (1 - target) * (-logits).sigmoid().log()).mean()


@mistake("check_bce_with_logits", "bce_with_logits", "single number")
def bce_no_reduction(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return logits.relu() - logits * target + (1 + (-magnitude).exp()).log()


@mistake("check_bce_with_logits", "bce_with_logits", "|x|")
def bce_half_magnitude(logits, target):
    return (logits.relu() - logits * target + (1 + (-logits.relu()).exp()).log()).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "smooth", "numerator")
def soft_dice_double_smooth(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - 2 * ((p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "sum(p)")
def soft_dice_target_twice(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * target).sum() + smooth) / (target.sum() + target.sum() + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "sigmoid")
def soft_dice_tanh(logits, target, smooth=1.0):
    p = logits.tanh()
    return 1 - (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


# ---- 09: training
@mistake("check_sgd_momentum_step", "sgd_momentum_step", "old buffer")
def sgd_returns_old_buffer(param, grad, buf, lr, momentum):
    new = momentum * buf + grad
    return param - lr * new, buf


@mistake("check_adam_step", "adam_step", "beta1", "beta2")
def adam_corrections_swapped(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b2 ** t)) / (np.sqrt(v / (1 - b1 ** t)) + eps), m, v


@mistake("check_adam_step", "adam_step", "square root")
def adam_correction_outside_sqrt(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v) / (1 - b2 ** t) + eps), m, v


@mistake("check_adam_step", "adam_step", "old")
def adam_step_before_moments(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    new_param = param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return new_param, m, v


# ---- 10: the GPU
@mistake("check_conv2d_cost", "conv2d_cost", "batch")
def cost_no_batch(n, c_in, c_out, h, w, k, itemsize=4):
    flops = 2 * c_out * h * w * c_in * k * k
    return flops, itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w)


@mistake("check_conv2d_cost", "conv2d_cost", "weights")
def cost_weights_per_sample(n, c_in, c_out, h, w, k, itemsize=4):
    flops = 2 * n * c_out * h * w * c_in * k * k
    return flops, itemsize * (n * c_in * h * w + n * c_out * c_in * k * k + n * c_out * h * w)


# ---- 11: evaluation
@mistake("check_dice_per_slice", "dice_per_slice", "axis")
def slice_sum_wrong_axis(pred, target, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    total = p.sum(axis=0) + t.sum(axis=0)
    return np.where(total == 0, 1.0, 2 * (p & t).sum(axis=0) / np.maximum(total, 1))


@mistake("check_dice_per_slice", "dice_per_slice", "loop")
def slice_loop_one_short(pred, target, threshold=0.5):
    out = np.zeros(len(pred))
    for i in range(len(pred) - 1):
        p, t = pred[i] > threshold, target[i] > 0.5
        total = p.sum() + t.sum()
        out[i] = 1.0 if total == 0 else 2 * (p & t).sum() / total
    return out


@mistake("check_dice_per_patient", "dice_per_patient", "1.0")
def patient_empty_zero(pred, target, patients, threshold=0.5):
    ids = np.asarray(patients)
    out = {}
    for q in dict.fromkeys(patients):
        p, t = pred[ids == q] > threshold, target[ids == q] > 0.5
        total = p.sum() + t.sum()
        out[q] = 0.0 if total == 0 else float(2 * (p & t).sum() / total)
    return out


@mistake("check_dice_per_patient", "dice_per_patient", "median")
def patient_median(pred, target, patients, threshold=0.5):
    ids = np.asarray(patients)
    out = {}
    for q in dict.fromkeys(patients):
        scores = []
        for p, t in zip(pred[ids == q] > threshold, target[ids == q] > 0.5):
            total = p.sum() + t.sum()
            scores.append(1.0 if total == 0 else 2 * (p & t).sum() / total)
        out[q] = float(np.median(scores))
    return out

# ---- a third set, written after the checks had grown on the second -----------------------
# ---- 00: dice
@mistake("check_dice", "dice", "bool")
def dice_bitwise_on_floats(pred, target):
    inter = np.sum(pred & target)
    total = np.sum(pred) + np.sum(target)
    return 1.0 if total == 0 else float(2 * inter / total)


@mistake("check_dice", "dice", "Both masks are empty")
def dice_epsilon(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    return float(2 * (p & t).sum() / (p.sum() + t.sum() + 1e-8))


@mistake("check_dice", "dice", "intersection")
def dice_len_nonzero(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * len(np.nonzero(p & t)) / total)


# ---- 01: autograd
@mistake("check_tanh_backward", "tanh_backward", "1 - tanh(x)**2")
def tanh_arctan(x, grad):
    return grad / (1 + x ** 2)


@mistake("check_tanh_backward", "tanh_backward", "x")
def tanh_extra_x(x, grad):
    return grad * (1 - math.tanh(x) ** 2) * x


@mistake("check_topological_order", "topological_order", "before its input")
def topo_stack_preorder(root):
    order, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        stack.extend(node._prev)
    return order[::-1]


@mistake("check_topological_order", "topological_order", "after")
def topo_returns_set(root):
    seen = set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
    visit(root)
    return list(seen)


@mistake("check_backward", "backward", "never sent")
def backward_forgets_call(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    root.grad = 1.0
    for node in reversed(order):
        node._backward  # noqa: B018


@mistake("check_backward", "backward", "root.grad = 1.0")
def backward_zeroes_after_seed(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    root.grad = 1.0
    for node in order:
        node.grad = 0.0
    for node in reversed(order):
        node._backward()


@mistake("check_unbroadcast", "unbroadcast", "axes where")
def unbroadcast_first_axis_keepdims(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    if grad.shape != tuple(shape):
        grad = grad.sum(axis=0, keepdims=True)
    return grad


# ---- 06: cat and crop
@mistake("check_cat", "cat_forward", "along dim")
def cat_forward_forgets_dim(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], 0
    return np.concatenate(arrays, axis=dim)


@mistake("check_cat", "cat_backward", "swap")
def cat_backward_swapaxes_forgot(ctx, grad):
    moved = np.swapaxes(grad, 0, ctx.dim)
    return tuple(np.split(moved, np.cumsum(ctx.sizes)[:-1], axis=0))


@mistake("check_center_crop", "center_crop", "-2")
def crop_fixed_axes(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[2] - h) // 2, (input.shape[3] - w) // 2
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "crop_backward", "input's shape")
def crop_backward_zeros_like_grad(ctx, grad):
    grad_x = np.zeros_like(grad)
    grad_x[..., ctx.top:ctx.top + grad.shape[-2], ctx.left:ctx.left + grad.shape[-1]] = grad
    return grad_x


# ---- 07: modules
def _count_levels(depth, base, c_in0, head_k=1, dec_levels=None):
    widths = [base * 2 ** i for i in range(depth + 1)]
    total = widths[0] * head_k * head_k + 1
    for i in range(depth + 1):
        c_in = c_in0 if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth if dec_levels is None else dec_levels(depth)):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (3 * widths[i]) + 4 * widths[i]
    return total


@mistake("check_count_parameters", "count_parameters", "1x1 kernel")
def count_head_three(depth, base_filters, in_channels=1):
    return _count_levels(depth, base_filters, in_channels, head_k=3)


@mistake("check_count_parameters", "count_parameters", "leaves out")
def count_decoder_one_short(depth, base_filters, in_channels=1):
    return _count_levels(depth, base_filters, in_channels, dec_levels=lambda d: d - 1)


@mistake("check_receptive_field", "receptive_field", "k - 1")
def rf_product_of_kernels(layers):
    field = 1
    for kernel, _ in layers:
        field *= kernel
    return field


@mistake("check_receptive_field", "receptive_field", "jump")
def rf_returns_jump(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return jump


# ---- 08: losses
def _bce_terms(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return logits.relu() - logits * target + (1 + (-magnitude).exp()).log()


@mistake("check_bce_with_logits", "bce_with_logits", "batch")
def bce_len(logits, target):
    return _bce_terms(logits, target).sum() / len(logits.data)


@mistake("check_bce_with_logits", "bce_with_logits", "stable form")
def bce_softplus_naive(logits, target):
    return ((1 + logits.exp()).log() - logits * target).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "per slice")
def soft_dice_hw_mean(logits, target, smooth=1.0):
    p = logits.sigmoid()
    inter = (p * target).sum(dim=(2, 3))
    total = p.sum(dim=(2, 3)) + target.sum(dim=(2, 3))
    return (1 - (2 * inter + smooth) / (total + smooth)).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "connected")
def soft_dice_numpy(logits, target, smooth=1.0):
    from minitorch_unet import Tensor
    p = 1 / (1 + np.exp(-logits.data))
    t = target.data
    return Tensor(np.array(1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)))


@mistake("check_soft_dice_loss", "soft_dice_loss", "smooth")
def soft_dice_smooth_outside(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * target).sum() + smooth) / (p.sum() + target.sum()) + smooth


# ---- 09: training
@mistake("check_sgd_momentum_step", "sgd_momentum_step", "velocity")
def sgd_velocity(param, grad, buf, lr, momentum):
    buf = momentum * buf - lr * grad
    return param + buf, buf


@mistake("check_adam_step", "adam_step", "**")
def adam_precedence_power(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1) ** t) / (np.sqrt(v / (1 - b2) ** t) + eps), m, v


@mistake("check_adam_step", "adam_step", "eps")
def adam_fixed_eps(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + 1e-8), m, v


@mistake("check_adam_step", "adam_step", "lr")
def adam_fixed_lr(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - 1e-3 * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


# ---- 10: the GPU
@mistake("check_conv2d_cost", "conv2d_cost", "itemsize")
def cost_fixed_itemsize(n, c_in, c_out, h, w, k, itemsize=4):
    flops = 2 * n * c_out * h * w * c_in * k * k
    return flops, 4 * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w)


@mistake("check_conv2d_cost", "conv2d_cost", "order")
def cost_swapped(n, c_in, c_out, h, w, k, itemsize=4):
    flops = 2 * n * c_out * h * w * c_in * k * k
    return itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w), flops


# ---- 11: evaluation
@mistake("check_dice_per_slice", "dice_per_slice", "axis but the first")
def slice_sum_two_axes(pred, target, threshold=0.5):
    p, t = pred > threshold, target > 0.5
    total = p.sum(axis=(1, 2)) + t.sum(axis=(1, 2))
    return np.where(total == 0, 1.0, 2 * (p & t).sum(axis=(1, 2)) / np.maximum(total, 1))


@mistake("check_dice_per_patient", "dice_per_patient", "slices")
def patient_skip_empty_slices(pred, target, patients, threshold=0.5):
    ids = np.asarray(patients)
    out = {}
    for q in dict.fromkeys(patients):
        rows = (ids == q) & (target.reshape(len(target), -1).sum(1) > 0)
        p, t = pred[rows] > threshold, target[rows] > 0.5
        total = p.sum() + t.sum()
        out[q] = 1.0 if total == 0 else float(2 * (p & t).sum() / total)
    return out

# ---- a fourth set, written after the checks had grown on the third -----------------------
# ---- 00: dice
@mistake("check_dice", "dice", "Both masks are empty")
def dice_nan_to_num(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    with np.errstate(invalid="ignore"):
        return float(np.nan_to_num(2 * (p & t).sum() / (p.sum() + t.sum())))


@mistake("check_dice", "dice", "transpos")
def dice_target_transposed(pred, target):
    p, t = np.asarray(pred) > 0, (np.asarray(target) > 0).T
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


# ---- 01: autograd
@mistake("check_mul_backward", "mul_backward", "int")
def mul_int_truncation(a, b, grad):
    return int(b * grad), int(a * grad)


@mistake("check_tanh_backward", "tanh_backward", "extra factor 1 - tanh(x)**2")
def tanh_derivative_squared(x, grad):
    return grad * (1 - math.tanh(x) ** 2) ** 2


def _topo_mutable(root, order=[]):  # noqa: B006
    seen = {id(n) for n in order}

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        for child in node._prev:
            visit(child)
        order.append(node)
    visit(root)
    return order


@mistake("check_topological_order", "topological_order", "earlier calls", "survives between calls")
def topo_mutable_default(root):
    return _topo_mutable(root)


@mistake("check_backward", "backward", "in reverse")
def backward_sorted_by_value(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    root.grad = 1.0
    for node in sorted(order, key=lambda n: -n.data):
        node._backward()


@mistake("check_unbroadcast", "unbroadcast", "sum")
def unbroadcast_broadcast_to(grad, shape):
    return np.broadcast_to(grad, shape)


@mistake("check_unbroadcast", "unbroadcast", "LAST")
def unbroadcast_ones_first_keepdims(grad, shape):
    ones = tuple(i for i, n in enumerate(shape) if n == 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad


# ---- 06: cat and crop
@mistake("check_cat", "cat_forward", "sizes")
def cat_forward_sizes_last_axis(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[-1] for a in arrays], dim
    return np.concatenate(arrays, axis=dim)


@mistake("check_cat", "cat_backward", "offset")
def cat_backward_take_from_start(ctx, grad):
    return [grad.take(range(size), axis=ctx.dim) for size in ctx.sizes]


@mistake("check_cat", "cat_backward", "cumsum")
def cat_backward_cuts_with_zero(ctx, grad):
    return tuple(np.split(grad, np.cumsum([0] + list(ctx.sizes[:-1])), axis=ctx.dim))


@mistake("check_center_crop", "center_crop", "width")
def crop_height_only(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top = (input.shape[-2] - h) // 2
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=top, left=0, height=h, width=input.shape[-1])


@mistake("check_center_crop", "crop_backward", "per axis")
def crop_backward_pad_two_axes(ctx, grad):
    h, w = ctx.shape[-2:]
    pads = ((ctx.top, h - ctx.top - grad.shape[-2]), (ctx.left, w - ctx.left - grad.shape[-1]))
    return np.pad(grad, pads)


@mistake("check_center_crop", "crop_backward", "wrong place")
def crop_backward_swapped_offsets(ctx, grad):
    grad_x = np.zeros(ctx.shape)
    h, w = grad.shape[-2:]
    top, left = min(ctx.left, ctx.shape[-2] - h), min(ctx.top, ctx.shape[-1] - w)
    grad_x[..., top:top + h, left:left + w] = grad
    return grad_x


# ---- 07: modules
def _count_head(depth, base, c_in0, head_bias=True):
    widths = [base * 2 ** i for i in range(depth + 1)]
    total = widths[0] + (1 if head_bias else 0)
    for i in range(depth + 1):
        c_in = c_in0 if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (3 * widths[i]) + 4 * widths[i]
    return total


@mistake("check_count_parameters", "count_parameters", "head's bias")
def count_no_head_bias(depth, base_filters, in_channels=1):
    return _count_head(depth, base_filters, in_channels, head_bias=False)


# ---- 08: losses
def _bce_parts(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return logits.relu() - logits * target + (1 + (-magnitude).exp()).log()


@mistake("check_bce_with_logits", "bce_with_logits", "number of values")
def bce_divide_by_positives(logits, target):
    return _bce_parts(logits, target).sum() / target.sum()


@mistake("check_bce_with_logits", "bce_with_logits", "1 - target are swapped")
def bce_x_one_minus_t(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() - logits * (1 - target) + (1 + (-magnitude).exp()).log()).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "sum(p)")
def soft_dice_denominator_intersection(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * target).sum() + smooth) / ((p * target).sum() + target.sum() + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "mean")
def soft_dice_all_means(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * target).mean() + smooth) / (p.mean() + target.mean() + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "per slice")
def soft_dice_per_slice_sum(logits, target, smooth=1.0):
    p = logits.sigmoid()
    axes = tuple(range(1, len(logits.shape)))
    inter = (p * target).sum(dim=axes)
    total = p.sum(dim=axes) + target.sum(dim=axes)
    return (1 - (2 * inter + smooth) / (total + smooth)).sum()


# ---- 09: training
@mistake("check_sgd_momentum_step", "sgd_momentum_step", "momentum")
def sgd_step_times_momentum(param, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return param - lr * momentum * buf, buf


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "1 - momentum")
def sgd_damped_step(param, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return param - lr * (1 - momentum) * buf, buf


def _adam_variant(param, grad, m, v, t, lr, betas, eps, amsgrad=False, decay=0.0, m_hat_out=False):
    b1, b2 = betas
    grad = grad + decay * param
    m = b1 * m + (1 - b1) * grad
    new_v = b2 * v + (1 - b2) * grad * grad
    v = np.maximum(v, new_v) if amsgrad else new_v
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), (m_hat if m_hat_out else m), v


@mistake("check_adam_step", "adam_step", "new v")
def adam_max_v(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return _adam_variant(param, grad, m, v, t, lr, betas, eps, amsgrad=True)


@mistake("check_adam_step", "adam_step", "weight decay")
def adam_weight_decay(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return _adam_variant(param, grad, m, v, t, lr, betas, eps, decay=0.01)


@mistake("check_adam_step", "adam_step", "m_hat")
def adam_returns_m_hat(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return _adam_variant(param, grad, m, v, t, lr, betas, eps, m_hat_out=True)


# ---- 10: the GPU
@mistake("check_conv2d_cost", "conv2d_cost", "same")
def cost_valid_output(n, c_in, c_out, h, w, k, itemsize=4):
    ho, wo = h - k + 1, w - k + 1
    flops = 2 * n * c_out * ho * wo * c_in * k * k
    return flops, itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * ho * wo)


@mistake("check_conv2d_cost", "conv2d_cost", "8")
def cost_bits(n, c_in, c_out, h, w, k, itemsize=4):
    flops = 2 * n * c_out * h * w * c_in * k * k
    return flops, 8 * itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w)


# ---- 11: evaluation
@mistake("check_dice_per_slice", "dice_per_slice", "bool")
def slice_bitwise_float(pred, target, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = target.reshape(len(target), -1)
    total = p.sum(1) + t.sum(1)
    return np.where(total == 0, 1.0, 2 * (p & t).sum(1) / np.maximum(total, 1))


@mistake("check_dice_per_patient", "dice_per_patient", "another patient")
def patient_ids_misaligned(pred, target, patients, threshold=0.5):
    ids = np.asarray(patients)
    values = []
    for q in dict.fromkeys(patients):
        p, t = pred[ids == q] > threshold, target[ids == q] > 0.5
        total = p.sum() + t.sum()
        values.append(1.0 if total == 0 else float(2 * (p & t).sum() / total))
    return dict(zip(sorted(set(patients)), values))


@mistake("check_dice_per_patient", "dice_per_patient", "1.0")
def patient_nan_when_empty(pred, target, patients, threshold=0.5):
    ids = np.asarray(patients)
    out = {}
    for q in dict.fromkeys(patients):
        p, t = pred[ids == q] > threshold, target[ids == q] > 0.5
        with np.errstate(invalid="ignore"):
            out[q] = float(2 * (p & t).sum() / (p.sum() + t.sum()))
    return out

# ---- a fifth set, written after the checks had grown on the fourth -----------------------
@mistake("check_dice", "dice", "100 times")
def dice_percent(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    total = p.sum() + t.sum()
    return 100.0 if total == 0 else float(200 * (p & t).sum() / total)


@mistake("check_dice", "dice", "background")
def dice_background(pred, target):
    p, t = ~(np.asarray(pred) > 0), ~(np.asarray(target) > 0)
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


@mistake("check_mul_backward", "mul_backward", "multipl")
def mul_adds_grad(a, b, grad):
    return b + grad, a + grad


@mistake("check_tanh_backward", "tanh_backward", "divide")
def tanh_divides(x, grad):
    return (1 - math.tanh(x) ** 2) / grad


@mistake("check_topological_order", "topological_order", "read backwards", "not reversed")
def topo_reversed(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    return order[::-1]


@mistake("check_backward", "backward", "grad")
def backward_zeroes_after_send(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    root.grad = 1.0
    for node in reversed(order):
        node._backward()
        node.grad = 0.0


@mistake("check_unbroadcast", "unbroadcast", "has a 1")
def unbroadcast_ignores_ones(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad


@mistake("check_cat", "cat_forward", "sizes")
def cat_sizes_len(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [len(a) for a in arrays], dim
    return np.concatenate(arrays, axis=dim)


@mistake("check_center_crop", "crop_backward", "int")
def crop_backward_int_zeros(ctx, grad):
    grad_x = np.zeros(ctx.shape, dtype=int)
    grad_x[..., ctx.top:ctx.top + grad.shape[-2], ctx.left:ctx.left + grad.shape[-1]] = grad
    return grad_x


@mistake("check_center_crop", "center_crop", "wrong place")
def crop_bottom_right(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=input.shape[-2] - h, left=input.shape[-1] - w, height=h, width=w)


@mistake("check_receptive_field", "receptive_field", "(kernel, stride)")
def rf_swapped_tuple(layers):
    field, jump = 1, 1
    for stride, kernel in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


@mistake("check_bce_with_logits", "bce_with_logits", "0.5 times")
def bce_halved(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() - logits * target + (1 + (-magnitude).exp()).log()).mean() * 0.5


@mistake("check_soft_dice_loss", "soft_dice_loss", "sigmoid")
def soft_dice_double_sigmoid(logits, target, smooth=1.0):
    p = logits.sigmoid().sigmoid()
    return 1 - (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


@mistake("check_adam_step", "adam_step", "sqrt(t)")
def adam_lr_decay(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr / np.sqrt(t) * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@mistake("check_conv2d_cost", "conv2d_cost", "bias")
def cost_plus_bias_add(n, c_in, c_out, h, w, k, itemsize=4):
    flops = n * c_out * h * w * (2 * c_in * k * k + 1)
    return flops, itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w)


@mistake("check_dice_per_slice", "dice_per_slice", "threshold")
def slice_pred_equals_one(pred, target, threshold=0.5):
    p = (pred == 1).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    total = p.sum(1) + t.sum(1)
    return np.where(total == 0, 1.0, 2 * (p & t).sum(1) / np.maximum(total, 1))


@mistake("check_dice_per_patient", "dice_per_patient", "threshold")
def patient_no_threshold(pred, target, patients, threshold=0.5):
    ids = np.asarray(patients)
    out = {}
    for q in dict.fromkeys(patients):
        p, t = pred[ids == q], target[ids == q]
        total = p.sum() + t.sum()
        out[q] = 1.0 if total == 0 else float(2 * (p * t).sum() / total)
    return out

# ---- a sixth set: the classes a measurement left unnamed (ratios of counts, a lost mask,
# rounding, cut rules, shifted settings, loop parts, linear rules, bias corrections in pairs)
def _tfp(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    return p, t, (p & t).sum(), (p & ~t).sum(), (~p & t).sum()


@mistake("check_dice", "dice", "|P| × |T|")
def dice_product_of_sizes(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    if p.sum() + t.sum() == 0:
        return 1.0
    return float(2 * tp / max(p.sum() * t.sum(), 1))


@mistake("check_dice", "dice", "rounded to 2 decimal places")
def dice_rounded_two(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else round(float(2 * tp / total), 2)


@mistake("check_dice", "dice", "2tp + 2fp + fn", "fp 2 times")
def dice_false_positives_twice(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    den = 2 * tp + 2 * fp + fn
    return 1.0 if den == 0 else float(2 * tp / den)


@mistake("check_dice", "dice", "|P| + 3|T|")
def dice_target_weighted(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    den = p.sum() + 3 * t.sum()
    return 1.0 if den == 0 else float(2 * tp / den)


@mistake("check_dice", "dice", "an empty target")
def dice_target_above_one(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target) > 1
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


@mistake("check_dice", "dice", "the numerator is 2|P|")
def dice_pred_and_pred(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & p).sum() / total)


@mistake("check_unbroadcast", "unbroadcast", "whole numbers")
def unbroadcast_int_sum(grad, shape):
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))), dtype=int)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return np.asarray(grad).reshape(shape)


@mistake("check_cat", "cat_forward", "a.size")
def cat_forward_element_counts(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.size for a in arrays], dim
    return np.concatenate(arrays, axis=dim)


@mistake("check_cat", "cat_backward", "np.cumsum(sizes)[1:]")
def cat_backward_cuts_at_ends(ctx, grad):
    return tuple(np.split(grad, np.cumsum(ctx.sizes)[1:], axis=ctx.dim))


@mistake("check_cat", "cat_forward", "along axis 0")
def cat_forward_len(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [len(a) for a in arrays], dim
    return np.concatenate(arrays, axis=dim)


def _count_shifted(depth, base, in_channels, start=0):
    widths = [base * 2 ** (i + start) for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * 3 * widths[i] + 4 * widths[i]
    return total


@mistake("check_count_parameters", "count_parameters", "base_filters * 2")
def count_widths_from_two_base(depth, base_filters, in_channels=1):
    return _count_shifted(depth, base_filters, in_channels, start=1)


@mistake("check_count_parameters", "count_parameters", "depth + 1")
def count_one_level_more(depth, base_filters, in_channels=1):
    return _count_shifted(depth + 1, base_filters, in_channels)


@mistake("check_receptive_field", "receptive_field", "jump + s")
def rf_jump_plus_stride(layers):
    field, jump = 1, 1
    for k, s in layers:
        field += (k - 1) * jump
        jump += s
    return field


@mistake("check_receptive_field", "receptive_field", "k * jump", "starts at 0")
def rf_from_zero_whole_kernels(layers):
    field, jump = 0, 1
    for k, s in layers:
        field += k * jump
        jump *= s
    return field


@mistake("check_receptive_field", "receptive_field", "recursed without end through line")
def rf_recursive_without_base(layers):
    def walk(rest):
        return walk(rest[1:]) * rest[0][1] + rest[0][0] - 1
    return walk(list(layers))


@mistake("check_soft_dice_loss", "soft_dice_loss", "Jaccard")
def soft_dice_jaccard_denominator(logits, target, smooth=1.0):
    p = logits.sigmoid()
    inter = (p * target).sum()
    return 1 - (2 * inter + smooth) / (p.sum() + target.sum() - inter + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "parentheses")
def soft_dice_numerator_unbracketed(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - 2 * (p * target).sum() + smooth / (p.sum() + target.sum() + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "sum(logits t)")
def soft_dice_logits_intersection(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (logits * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "lr * grad + momentum * buf")
def sgd_heavy_ball_grad_buffer(param, grad, buf, lr, momentum):
    return param - lr * grad - momentum * buf, grad


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "(1 + momentum) * grad")
def sgd_buffer_grad_weighted(param, grad, buf, lr, momentum):
    buf = momentum * buf + (1 + momentum) * grad
    return param - lr * buf, buf


@mistake("check_adam_step", "adam_step", "beta1 ** t where", "beta2 ** t where")
def adam_divides_by_powers(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / b1 ** t) / (np.sqrt(v / b2 ** t) + eps), m, v


@mistake("check_adam_step", "adam_step", "(1 - beta1) ** t")
def adam_m_power_of_difference(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1) ** t) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@mistake("check_adam_step", "adam_step", "grad + (1 - beta1) * m")
def adam_m_weights_misplaced(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = (1 - b1) * m + grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@mistake("check_conv2d_cost", "conv2d_cost", "weights without the factor c_in")
def cost_weights_without_c_in(n, c_in, c_out, h, w, k, itemsize=4):
    return (2 * n * c_out * h * w * c_in * k * k,
            itemsize * (n * c_in * h * w + c_out * k * k + n * c_out * h * w))


@mistake("check_conv2d_cost", "conv2d_cost", "output with an extra factor k")
def cost_output_times_k(n, c_in, c_out, h, w, k, itemsize=4):
    return (2 * n * c_out * h * w * c_in * k * k,
            itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w * k))


def _flat(pred, target, threshold):
    return (pred > threshold).reshape(len(pred), -1), (target > 0.5).reshape(len(target), -1)


@mistake("check_dice_per_slice", "dice_per_slice", "reshape(-1, S)")
def slice_columns_not_slices(pred, target, threshold=0.5):
    p, t = (pred > threshold).reshape(-1, len(pred)), (target > 0.5).reshape(-1, len(target))
    overlap, total = (p & t).sum(axis=0), p.sum(axis=0) + t.sum(axis=0)
    return np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))


@mistake("check_dice_per_slice", "dice_per_slice", "|P| + 2|T|")
def slice_target_counted_twice(pred, target, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    overlap, total = (p & t).sum(axis=1), p.sum(axis=1) + 2 * t.sum(axis=1)
    return np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))


@mistake("check_dice_per_patient", "dice_per_patient", "2|P|")
def patient_prediction_twice(pred, target, patients, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    ids, out = np.asarray(patients), {}
    for q in dict.fromkeys(patients):
        rows = ids == q
        total = 2 * p[rows].sum()
        out[q] = 1.0 if total == 0 else float(2 * (p[rows] & t[rows]).sum() / total)
    return out


@mistake("check_dice_per_patient", "dice_per_patient", "first slice to the next")
def patient_blocks_from_first_slice(pred, target, patients, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    names = list(dict.fromkeys(patients))
    starts = sorted(patients.index(q) for q in names) + [len(patients)]
    out = {}
    for a, b in zip(starts, starts[1:]):
        total = p[a:b].sum() + t[a:b].sum()
        out[patients[a]] = 1.0 if total == 0 else float(2 * (p[a:b] & t[a:b]).sum() / total)
    return out


@mistake("check_dice_per_patient", "dice_per_patient", "3tp + fp + fn")
def patient_overlap_in_denominator(pred, target, patients, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    ids, out = np.asarray(patients), {}
    for q in dict.fromkeys(patients):
        rows = ids == q
        overlap = (p[rows] & t[rows]).sum()
        total = p[rows].sum() + t[rows].sum() + overlap
        out[q] = 1.0 if total == 0 else float(2 * overlap / total)
    return out


@mistake("check_tanh_backward", "tanh_backward", "1 - sinh(x)**2")
def tanh_with_sinh(x, grad):
    return (1 - math.sinh(x) ** 2) * grad


@mistake("check_mul_backward", "mul_backward", "b * b * grad")
def mul_squares_the_other(a, b, grad):
    return b * b * grad, a * a * grad


@mistake("check_unbroadcast", "unbroadcast", "np.max over the broadcast axes")
def unbroadcast_max(grad, shape):
    grad = grad.max(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.max(axis=stretched, keepdims=True)
    return np.asarray(grad).reshape(shape)


@mistake("check_center_crop", "center_crop", "unpack it first")
def crop_size_not_unpacked(input, size):
    crop = solution("06_concatenation_and_cropping")["CropFunction"]
    h = w = size
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return crop.apply(input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "crop_backward", "the region you assign to is 6x6")
def crop_backward_from_zero(ctx, grad):
    grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
    grad_x[..., :ctx.top + grad.shape[-2], :ctx.left + grad.shape[-1]] = grad
    return grad_x


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "lr * grad + momentum * buf")
def sgd_lr_in_buffer_and_step(param, grad, buf, lr, momentum):
    buf = momentum * buf + lr * grad
    return param - lr * buf, buf


@mistake("check_adam_step", "adam_step", "lr is applied twice")
def adam_lr_squared(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@mistake("check_conv2d_cost", "conv2d_cost", "c_in where c_out belongs")
def cost_output_with_c_in(n, c_in, c_out, h, w, k, itemsize=4):
    return (2 * n * c_out * h * w * c_in * k * k,
            itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_in * h * w))


@mistake("check_conv2d_cost", "conv2d_cost", "FLOPs use c_out where c_in belongs")
def cost_flops_c_out_twice(n, c_in, c_out, h, w, k, itemsize=4):
    return (2 * n * c_out * h * w * c_out * k * k,
            itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w))


@mistake("check_dice_per_slice", "dice_per_slice", "n, the number of pixels")
def slice_over_pixel_count(pred, target, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    return 2 * (p & t).sum(axis=1) / p.shape[1]


@mistake("check_dice_per_patient", "dice_per_patient", "rounded to 3 decimal places")
def patient_rounded(pred, target, patients, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    ids, out = np.asarray(patients), {}
    for q in dict.fromkeys(patients):
        rows = ids == q
        total = p[rows].sum() + t[rows].sum()
        out[q] = 1.0 if total == 0 else round(float(2 * (p[rows] & t[rows]).sum() / total), 3)
    return out


@mistake("check_mul_backward", "mul_backward", "a tuple (or list) and a number")
def mul_pair_times_grad(a, b, grad):
    return [b, a] * grad


@mistake("check_bce_with_logits", "bce_with_logits", "middle term is summed")
def bce_target_term_summed(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu().mean() - (logits * target).sum()
            + (1 + (-magnitude).exp()).log().mean())


@mistake("check_bce_with_logits", "bce_with_logits", "NumPy function met the course's Tensor")
def bce_numpy_on_tensors(logits, target):
    return (logits.relu() - logits * target + np.log1p(np.exp(-np.abs(logits)))).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "dim=")
def soft_dice_axis_keyword(logits, target, smooth=1.0):
    p = logits.sigmoid()
    inter = (p * target).sum(axis=(0, 1, 2, 3))
    return 1 - (2 * inter + smooth) / (p.sum() + target.sum() + smooth)


@mistake("check_topological_order", "topological_order", "_prev (the inputs)")
def topo_reads_prev(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node.prev:
                visit(child)
            order.append(node)
    visit(root)
    return order


@mistake("check_center_crop", "center_crop", "shape[-2:]")
def crop_two_axis_shape(input, size):
    crop = solution("06_concatenation_and_cropping")["CropFunction"]
    h, w = (size, size) if isinstance(size, int) else size
    height, width = input.shape
    return crop.apply(input, top=(height - h) // 2, left=(width - w) // 2, height=h, width=w)


@mistake("check_center_crop", "center_crop", "the rest of the image after the offset")
def crop_keeps_to_the_end(input, size):
    crop = solution("06_concatenation_and_cropping")["CropFunction"]
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    height, width = input.shape[-2:]
    top, left = (height - h) // 2, (width - w) // 2
    return crop.apply(input, top=top, left=left, height=height - top, width=width - left)


@mistake("check_center_crop", "center_crop", "the window's end")
def crop_stop_as_size(input, size):
    crop = solution("06_concatenation_and_cropping")["CropFunction"]
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return crop.apply(input, top=top, left=left, height=top + h, width=left + w)


@mistake("check_count_parameters", "count_parameters", "base_filters * (i + 1)")
def count_widths_grow_linearly(depth, base_filters, in_channels=1):
    widths = [base_filters * (i + 1) for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 27 * widths[i] * widths[i] + 4 * widths[i]
    return total


@mistake("check_center_crop", "crop_backward", "keep its leading axes")
def crop_backward_image_axes_only(ctx, grad):
    grad_x = np.zeros(ctx.shape[-2:], dtype=grad.dtype)
    grad_x[ctx.top:ctx.top + grad.shape[-2], ctx.left:ctx.left + grad.shape[-1]] = \
        grad.sum(axis=tuple(range(grad.ndim - 2)))
    return grad_x


@mistake("check_bce_with_logits", "bce_with_logits", "has no .abs", "x.relu() + (-x).relu()")
def bce_tensor_abs(logits, target):
    return (logits.relu() - logits * target + (1 + (-logits.abs()).exp()).log()).mean()


# ---- classes of mistake recognised from the outputs: combinations of precision and recall,
# structures of the U-Net, steps of the receptive field's loop, units, reductions of a Dice
@mistake("check_dice", "dice", "geometric mean")
def dice_geometric_mean(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    if p.sum() + t.sum() == 0:
        return 1.0
    if p.sum() == 0 or t.sum() == 0:
        return 0.0
    return float(np.sqrt(tp / p.sum() * tp / t.sum()))


@mistake("check_dice", "dice", "arithmetic mean", "harmonic mean")
def dice_average_of_rates(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    if p.sum() + t.sum() == 0:
        return 1.0
    precision = tp / p.sum() if p.sum() else 0.0
    recall = tp / t.sum() if t.sum() else 0.0
    return float(0.5 * precision + 0.5 * recall)


@mistake("check_dice", "dice", "only |T| divides", "parentheses")
def dice_unbracketed_target_first(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    if p.sum() + t.sum() == 0:
        return 1.0
    return float(2 * tp / t.sum() + p.sum()) if t.sum() else 0.0


@mistake("check_dice", "dice", "square root of Dice")
def dice_rooted(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    if p.sum() + t.sum() == 0:
        return 1.0
    return float(math.sqrt(2 * tp / (p.sum() + t.sum())))


@mistake("check_unbroadcast", "unbroadcast", "leading axis", "(3,)")
def unbroadcast_leading_count_negative(grad, shape):
    grad = grad.sum(axis=tuple(range(len(shape) - grad.ndim)))
    ones = [i for i, n in enumerate(shape) if n == 1 and i < grad.ndim and grad.shape[i] > 1]
    if ones:
        grad = grad.sum(axis=tuple(ones), keepdims=True)
    return np.asarray(grad).reshape(shape)


@mistake("check_cat", "cat_forward", "whole shapes", "a.shape[dim]")
def cat_forward_keeps_shapes(ctx, *arrays, dim):
    ctx.sizes = [tuple(a.shape) for a in arrays]
    ctx.dim = dim
    return np.concatenate(arrays, axis=dim)


@mistake("check_cat", "cat_forward", "in every case", "ctx.dim = dim")
def cat_forward_dim_fixed_zero(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], 0
    return np.concatenate(arrays, axis=dim)


@mistake("check_cat", "cat_forward", "axis after dim")
def cat_forward_sizes_next_axis(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim + 1] for a in arrays], dim
    return np.concatenate(arrays, axis=dim)


@mistake("check_cat", "cat_backward", "one after its place")
def cat_backward_cuts_late(ctx, grad):
    return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1] + 1, axis=ctx.dim))


@mistake("check_cat", "cat_backward", "must be a tuple", "grad[tuple(index)]")
def cat_backward_slice_list(ctx, grad):
    pieces, start = [], 0
    for size in ctx.sizes:
        index = [slice(None) for _ in grad.shape]
        index[ctx.dim] = slice(start, start + size)
        pieces.append(grad[index])
        start += size
    return pieces


@mistake("check_center_crop", "center_crop", "n - 2 * offset")
def crop_side_from_both_margins(input, size):
    h, w = (size, size) if isinstance(size, int) else size
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=top, left=left, height=input.shape[-2] - 2 * top,
        width=input.shape[-1] - 2 * left)


def _count_structure(depth, base, c_in0, up_keeps=False, second_in=lambda level: False,
                     decoder=0):
    widths = [base * 2 ** i for i in range(depth + 2)]
    total = widths[0] + 1

    def block(level, c_in, c_out):
        return 9 * c_out * (c_in + (c_in if second_in(level) else c_out)) + 4 * c_out

    for i in range(depth + 1):
        total += block(("enc", i), c_in0 if i == 0 else widths[i - 1], widths[i])
    for i in range(depth + decoder):
        up = widths[i + 1] if up_keeps else widths[i]
        total += 4 * widths[i + 1] * up + up + block(("dec", i), up + widths[i], widths[i])
    return total


@mistake("check_count_parameters", "count_parameters", "keeps its channel count")
def count_transposed_keeps_width(depth, base_filters, in_channels=1):
    return _count_structure(depth, base_filters, in_channels, up_keeps=True)


@mistake("check_count_parameters", "count_parameters", "second convolution of every block")
def count_second_conv_from_input(depth, base_filters, in_channels=1):
    return _count_structure(depth, base_filters, in_channels, second_in=lambda level: True)


@mistake("check_count_parameters", "count_parameters", "one level more")
def count_decoder_loop_too_long(depth, base_filters, in_channels=1):
    return _count_structure(depth, base_filters, in_channels, decoder=1)


@mistake("check_receptive_field", "receptive_field", "k - 1 * jump", "brackets")
def rf_unbracketed_step(layers):
    field, jump = 1, 1
    for k, s in layers:
        field += k - 1 * jump
        jump *= s
    return field


@mistake("check_receptive_field", "receptive_field", "(k - 1) * jump + 1")
def rf_step_plus_one(layers):
    field, jump = 1, 1
    for k, s in layers:
        field += (k - 1) * jump + 1
        jump *= s
    return field


@mistake("check_bce_with_logits", "bce_with_logits", "the log is taken before the 1 is added")
def bce_log_before_one(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() - logits * target + 1 + (-magnitude).exp().log()).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "1 - D**2")
def soft_dice_squared_ratio(logits, target, smooth=1.0):
    p = logits.sigmoid()
    ratio = (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)
    return 1 - ratio * ratio


@mistake("check_soft_dice_loss", "soft_dice_loss", "-log(D)")
def soft_dice_log_ratio(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return -((2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)).log()


@mistake("check_soft_dice_loss", "soft_dice_loss", "sum(p p)")
def soft_dice_intersection_squared(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * p).sum() + smooth) / (p.sum() + target.sum() + smooth)


@mistake("check_adam_step", "adam_step", "eps is ignored")
def adam_without_eps(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad ** 2
    with np.errstate(all="ignore"):
        return param - lr * (m / (1 - b1 ** t)) / np.sqrt(v / (1 - b2 ** t)), m, v


@mistake("check_adam_step", "adam_step", "eps is added to the step itself")
def adam_eps_after_ratio(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad ** 2
    with np.errstate(all="ignore"):
        step = lr * (m / (1 - b1 ** t)) / np.sqrt(v / (1 - b2 ** t)) + eps
    return param - step, m, v


@mistake("check_adam_step", "adam_step", "beta1 and 1 - beta1 are swapped",
         "beta2 and 1 - beta2 are swapped")
def adam_averages_weighted_backwards(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999),
                                     eps=1e-8):
    b1, b2 = betas
    m = b1 * grad + (1 - b1) * m
    v = b2 * grad * grad + (1 - b2) * v
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@mistake("check_conv2d_cost", "conv2d_cost", "FLOPs in millions", "bytes in MiB")
def cost_mflops_mib(n, c_in, c_out, h, w, k, itemsize=4):
    flops = 2 * n * c_out * h * w * c_in * k * k
    moved = itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w)
    return flops / 1e6, moved / 2 ** 20


@mistake("check_conv2d_cost", "conv2d_cost", "bytes in thousands")
def cost_kilobytes_floored(n, c_in, c_out, h, w, k, itemsize=4):
    flops = 2 * n * c_out * h * w * c_in * k * k
    return flops, itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w) // 1000


@mistake("check_dice_per_slice", "dice_per_slice", "first size is sum(pred)")
def slice_soft_predicted_size(pred, target, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    total = pred.reshape(len(pred), -1).sum(1) + t.sum(1)
    return np.where((p | t).any(1), 2 * (p & t).sum(1) / np.maximum(total, 1e-12), 1.0)


@mistake("check_dice_per_slice", "dice_per_slice", "subtracted from the denominator")
def slice_union_below(pred, target, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    overlap = (p & t).sum(1)
    union = p.sum(1) + t.sum(1) - overlap
    return np.where(union == 0, 1.0, 2 * overlap / np.maximum(union, 1))


@mistake("check_dice_per_patient", "dice_per_patient", "max(|P| + |T|, 1)")
def patient_guard_each_slice(pred, target, patients, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    ids, out = np.asarray(patients), {}
    for patient in dict.fromkeys(patients):
        rows = ids == patient
        total = p[rows].sum(1) + t[rows].sum(1)
        out[patient] = 1.0 if total.sum() == 0 else \
            float(2 * (p[rows] & t[rows]).sum() / np.maximum(total, 1).sum())
    return out


@mistake("check_dice_per_patient", "dice_per_patient", "smoothing 1")
def patient_smoothed_ratio(pred, target, patients, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    ids, out = np.asarray(patients), {}
    for patient in dict.fromkeys(patients):
        rows = ids == patient
        total = p[rows].sum() + t[rows].sum()
        out[patient] = float((2 * (p[rows] & t[rows]).sum() + 1) / (total + 1))
    return out


@mistake("check_dice", "dice", "1e-06 to the denominator")
def dice_epsilon_below(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    if p.sum() + t.sum() == 0:
        return 1.0
    return float(2 * tp / (p.sum() + t.sum() + 1e-6))


@mistake("check_tanh_backward", "tanh_backward", "1 - tanh(x)**3")
def tanh_cubed(x, grad):
    return (1 - math.tanh(x) ** 3) * grad


@mistake("check_bce_with_logits", "bce_with_logits", "weighted by 1 - target")
def bce_log_term_background_only(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() - logits * target + (1 - target) * (1 + (-magnitude).exp()).log()).mean()


@mistake("check_receptive_field", "receptive_field", "r = (r + k - 1) * s")
def rf_widen_then_stride(layers):
    field = 1
    for k, s in layers:
        field = (field + k - 1) * s
    return field


@mistake("check_count_parameters", "count_parameters", "bottleneck is as wide as the deepest")
def count_flat_bottleneck(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth)] + [base_filters * 2 ** (depth - 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i] + 27 * widths[i] ** 2 + 4 * widths[i]
    return total


@mistake("check_soft_dice_loss", "soft_dice_loss", "smooth enters the denominator twice")
def soft_dice_smooth_inside_the_two(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - 2 * ((p * target).sum() + smooth) / (p.sum() + target.sum() + 2 * smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "the sums run over axes", "one ratio")
def soft_dice_over_the_batch_axis(logits, target, smooth=1.0):
    p = logits.sigmoid()
    inter, total = (p * target).sum(dim=0), p.sum(dim=0) + target.sum(dim=0)
    return (1 - (2 * inter + smooth) / (total + smooth)).mean()


@mistake("check_conv2d_cost", "conv2d_cost", "c_out + c_in where they multiply")
def cost_weights_added_channels(n, c_in, c_out, h, w, k, itemsize=4):
    flops = 2 * n * c_out * h * w * c_in * k * k
    return flops, itemsize * (n * c_in * h * w + (c_out + c_in) * k * k + n * c_out * h * w)


@mistake("check_dice_per_patient", "dice_per_patient", "weighted by the tumour's size")
def patient_weighted_slice_mean(pred, target, patients, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    total = p.sum(1) + t.sum(1)
    dice = np.where(total == 0, 1.0, 2 * (p & t).sum(1) / np.maximum(total, 1))
    ids, out = np.asarray(patients), {}
    for patient in dict.fromkeys(patients):
        rows = ids == patient
        weights = t[rows].sum(1)
        out[patient] = float((dice[rows] * weights).sum() / weights.sum()) if weights.sum() else 1.0
    return out


@mistake("check_dice", "dice", "raised ZeroDivisionError", "both empty", "1.0")
def dice_python_counts_unguarded(pred, target):
    overlap = int(np.logical_and(pred, target).sum())
    return 2 * overlap / int(np.count_nonzero(pred) + np.count_nonzero(target))


@mistake("check_tanh_backward", "tanh_backward", "returned an array or list", "one number")
def tanh_in_a_list(x, grad):
    return [(1 - math.tanh(x) ** 2) * grad]


@mistake("check_bce_with_logits", "bce_with_logits", "NumPy function", "x.relu()")
def bce_numpy_maximum(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (np.maximum(logits, 0) - logits * target + (1 + (-magnitude).exp()).log()).mean()


@mistake("check_adam_step", "adam_step", "m_hat is multiplied by sqrt(v_hat) + eps")
def adam_multiplies_by_root(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) * (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@mistake("check_receptive_field", "receptive_field", "the jump starts at the first layer's stride")
def rf_jump_from_first_stride(layers):
    field, jump = 1, layers[0][1]
    for k, s in layers:
        field += (k - 1) * jump
        jump *= s
    return field


@mistake("check_conv2d_cost", "conv2d_cost", "itemsize multiplies only the input")
def cost_itemsize_first_term(n, c_in, c_out, h, w, k, itemsize=4):
    flops = 2 * n * c_out * h * w * c_in * k * k
    return flops, itemsize * n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w


@mistake("check_bce_with_logits", "bce_with_logits", "outside the last 1 axis", "summed")
def bce_rows_summed(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() - logits * target + (1 + (-magnitude).exp()).log()).sum(dim=-1).mean()


@mistake("check_dice_per_patient", "dice_per_patient", "takes |P ∧ T| from the probabilities")
def patient_soft_overlap(pred, target, patients, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    soft = pred.reshape(len(pred), -1)
    ids, out = np.asarray(patients), {}
    for patient in dict.fromkeys(patients):
        rows = ids == patient
        total = p[rows].sum() + t[rows].sum()
        out[patient] = 1.0 if total == 0 else float(2 * (soft[rows] * t[rows]).sum() / total)
    return out


@mistake("check_mul_backward", "mul_backward", "a * grad + b * grad", "you add where")
def mul_sum_of_inputs(a, b, grad):
    return (a + b) * grad, (a + b) * grad


@mistake("check_mul_backward", "mul_backward", "you subtract where")
def mul_subtracts_grad(a, b, grad):
    return b - grad, a - grad


@mistake("check_unbroadcast", "unbroadcast", "you summed its last 1", "first 1")
def unbroadcast_trailing_loop(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=-1)
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)
    return grad.reshape(shape)


@mistake("check_count_parameters", "count_parameters", "leaves out the decoder's second convolutions")
def count_decoder_single_conv(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i] + 9 * widths[i] * 2 * widths[i] + 2 * widths[i]
    return total


@mistake("check_bce_with_logits", "bce_with_logits", "the middle term is - 2 x t")
def bce_target_term_doubled(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() - 2 * logits * target + (1 + (-magnitude).exp()).log()).mean()


@mistake("check_adam_step", "adam_step", "lr is divided by t")
def adam_lr_over_t(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr / t * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@mistake("check_count_parameters", "count_parameters", "raised IndexError", "one level too long")
def count_decoder_range_past_end(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth + 1):
        total += 4 * widths[i + 1] * widths[i] + widths[i] + 27 * widths[i] ** 2 + 4 * widths[i]
    return total


@mistake("check_adam_step", "adam_step", "raised TypeError", "np.sqrt")
def adam_math_sqrt(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / (math.sqrt(v / (1 - b2 ** t)) + eps), m, v


@mistake("check_soft_dice_loss", "soft_dice_loss", "two-class Dice")
def soft_dice_with_background(logits, target, smooth=1.0):
    p = logits.sigmoid()
    tumour = (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)
    q, u = 1 - p, 1 - target
    background = (2 * (q * u).sum() + smooth) / (q.sum() + u.sum() + smooth)
    return 1 - (tumour + background) / 2


@mistake("check_soft_dice_loss", "soft_dice_loss", "BCE plus the Dice loss")
def soft_dice_plus_bce(logits, target, smooth=1.0):
    p = logits.sigmoid()
    dice = 1 - (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)
    magnitude = logits.relu() + (-logits).relu()
    return dice + (logits.relu() - logits * target + (1 + (-magnitude).exp()).log()).mean()


@mistake("check_dice_per_patient", "dice_per_patient", "100 times", "percentage")
def patient_percent(pred, target, patients, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    ids, out = np.asarray(patients), {}
    for patient in dict.fromkeys(patients):
        rows = ids == patient
        total = p[rows].sum() + t[rows].sum()
        out[patient] = 100.0 if total == 0 else float(200 * (p[rows] & t[rows]).sum() / total)
    return out


@right("check_dice", "dice")
def dice_harmonic_mean(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    if p.sum() + t.sum() == 0:
        return 1.0
    if tp == 0:
        return 0.0
    return float(2 / (p.sum() / tp + t.sum() / tp))


@right("check_cat", "cat_backward")
def cat_backward_tuple_index(ctx, grad):
    pieces, start = [], 0
    for size in ctx.sizes:
        index = [slice(None)] * grad.ndim
        index[ctx.dim] = slice(start, start + size)
        pieces.append(grad[tuple(index)])
        start += size
    return pieces


@right("check_conv2d_cost", "conv2d_cost")
def cost_numpy_ints(n, c_in, c_out, h, w, k, itemsize=4):
    sizes = np.array([n * c_in * h * w, c_out * c_in * k * k, n * c_out * h * w], dtype=np.int64)
    return np.int64(2) * n * c_out * h * w * c_in * k * k, np.int64(itemsize) * sizes.sum()


@right("check_dice_per_patient", "dice_per_patient")
def patient_guard_after_summing(pred, target, patients, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    ids, out = np.asarray(patients), {}
    for patient in dict.fromkeys(patients):
        rows = ids == patient
        total = (p[rows].sum(1) + t[rows].sum(1)).sum()
        out[patient] = float(np.where(total == 0, 1.0,
                                      2 * (p[rows] & t[rows]).sum() / max(total, 1)))
    return out


@right("check_dice", "dice")
def dice_from_confusion_counts(pred, target):
    p, t, tp, fp, fn = _tfp(pred, target)
    den = 2 * tp + fp + fn
    return 1.0 if den == 0 else float(2 * tp / den)


@right("check_receptive_field", "receptive_field")
def rf_backward_walk(layers):
    field = 1
    for k, s in reversed(layers):
        field = s * (field - 1) + k
    return field


@right("check_sgd_momentum_step", "sgd_momentum_step")
def sgd_expanded(param, grad, buf, lr, momentum):
    return param - lr * momentum * buf - lr * grad, grad + momentum * buf


@right("check_adam_step", "adam_step")
def adam_corrections_as_powers(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * np.square(grad)
    m_hat, v_hat = m / (1.0 - np.power(b1, t)), v / (1.0 - np.power(b2, t))
    return param - lr * m_hat / (v_hat ** 0.5 + eps), m, v


@right("check_dice_per_patient", "dice_per_patient")
def patient_from_counts(pred, target, patients, threshold=0.5):
    p, t = _flat(pred, target, threshold)
    out = {}
    for q in dict.fromkeys(patients):
        rows = [i for i, r in enumerate(patients) if r == q]
        tp = int((p[rows] & t[rows]).sum())
        fp, fn = int(p[rows].sum()) - tp, int(t[rows].sum()) - tp
        out[q] = 1.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
    return out


# ---- right answers written differently -----------------------------------------------------------
@right("check_tanh_backward", "tanh_backward")
def tanh_factored(x, grad):
    t = math.tanh(x)
    return grad * (1 - t) * (1 + t)


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


@right("check_dice", "dice")
def dice_from_xor(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(1 - (p ^ t).sum() / total)


# ---- classes missed by the ninth fresh set: means where sums belong, breadth-first orders,
# radius and stride-power receptive fields, logits in the soft Dice, equal-count structures,
# slice bounds swapped, truncated buffers, totals carried over ---------------------------------
@mistake("check_dice", "dice", "times the number of pixels", "averaged")
def dice_sizes_averaged(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    if p.sum() + t.sum() == 0:
        return 1.0
    return float(2 * (p & t).sum() / (p.mean() + t.mean()))


@mistake("check_dice", "dice", "divided by the number of pixels", "averaged")
def dice_overlap_averaged(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    if p.sum() + t.sum() == 0:
        return 1.0
    return float(2 * (p & t).mean() / (p.sum() + t.sum()))


@mistake("check_dice", "dice", "length of the first axis", "averaged")
def dice_sizes_averaged_over_rows(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    if p.sum() + t.sum() == 0:
        return 1.0
    return float(2 * (p & t).sum() / (p.mean(axis=0).sum() + t.mean(axis=0).sum()))


@mistake("check_topological_order", "topological_order", "leaves first, then the operations "
         "breadth-first", "before its input")
def topo_leaves_then_breadth_first(root):
    seen, queue, ops, leaves = {root}, [root], [], []
    while queue:
        node = queue.pop(0)
        (ops if node._prev else leaves).append(node)
        for child in node._prev:
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return leaves + ops[::-1]


@mistake("check_receptive_field", "receptive_field", "2 * (k // 2) * jump")
def rf_twice_the_radius(layers):
    field, jump = 1, 1
    for k, s in layers:
        field += 2 * (k // 2) * jump
        jump *= s
    return field


@mistake("check_receptive_field", "receptive_field", "to the power of the layer's index")
def rf_stride_to_the_index(layers):
    return 1 + sum((k - 1) * s ** i for i, (k, s) in enumerate(layers))


@mistake("check_soft_dice_loss", "soft_dice_loss", "sum(logits)", "where sum(p) belongs")
def soft_dice_logits_below(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * target).sum() + smooth) / (logits.sum() + target.sum() + smooth)


@mistake("check_count_parameters", "count_parameters", "w_(i+1) + w_i = 3 w_i")
def count_decoder_reads_the_width_below(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (widths[i + 1] + widths[i] + widths[i]) + 4 * widths[i]
    return total


@mistake("check_center_crop", "crop_backward", "bounds along axis 2 span", "swapped in the slice")
def crop_backward_bounds_swapped(ctx, grad):
    grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
    grad_x[..., ctx.top:ctx.top + grad.shape[-1], ctx.left:ctx.left + grad.shape[-2]] = grad
    return grad_x


@mistake("check_dice_per_slice", "dice_per_slice", "truncated", "integer array")
def slice_dice_in_int_buffer(pred, target, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(1), p.sum(1) + t.sum(1)
    out = np.zeros_like(overlap)
    for i in range(len(out)):
        out[i] = 1.0 if total[i] == 0 else 2 * overlap[i] / total[i]
    return out


@mistake("check_dice_per_slice", "dice_per_slice", "slices 0 to i pooled", "not reset")
def slice_dice_running_totals(pred, target, threshold=0.5):
    out, overlap, total = [], 0, 0
    for p, t in zip(pred > threshold, target > 0.5):
        overlap += (p & t).sum()
        total += p.sum() + t.sum()
        out.append(1.0 if total == 0 else 2 * overlap / total)
    return np.array(out)


@mistake("check_dice_per_patient", "dice_per_patient", "not reset between patients")
def patient_totals_carried_over(pred, target, patients, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids, out, overlap, total = np.asarray(patients), {}, 0, 0
    for q in sorted(set(patients)):
        rows = ids == q
        overlap += (p[rows] & t[rows]).sum()
        total += p[rows].sum() + t[rows].sum()
        out[q] = 1.0 if total == 0 else float(2 * overlap / total)
    return out


@mistake("check_unbroadcast", "unbroadcast", "summed twice", "shift the positions")
def unbroadcast_axes_in_shape_frame(grad, shape):
    extra = grad.ndim - len(shape)
    ones = [i for i, n in enumerate(shape) if n == 1]
    return grad.sum(axis=tuple(range(extra)) + tuple(ones)).reshape(shape)


@mistake("check_dice_per_slice", "dice_per_slice", "mean(P), a mean where the count belongs")
def slice_dice_sizes_averaged(pred, target, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    total = p.mean(1) + t.mean(1)
    return np.where(total == 0, 1.0, 2 * (p & t).sum(1) / np.where(total == 0, 1, total))


@right("check_dice_per_slice", "dice_per_slice")
def slice_dice_float_buffer(pred, target, threshold=0.5):
    out = np.zeros(len(pred))
    for i in range(len(pred)):
        p, t = pred[i] > threshold, target[i] > 0.5
        total = p.sum() + t.sum()
        out[i] = 1.0 if total == 0 else 2 * (p & t).sum() / total
    return out


# ---- classes missed by the tenth fresh set: shape-derived denominators, one value repeated for
# every slice, other rules for the prediction mask, equal-count readings, orders that two walks
# give, walks that revisit nodes ----------------------------------------------------------------
@mistake("check_dice", "dice", "len(pred) + len(target)", "first axis")
def dice_over_lengths(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    if p.sum() + t.sum() == 0:
        return 1.0
    return float(2 * (p & t).sum() / (len(p) + len(t)))


@mistake("check_dice", "dice", "len(pred)", "first axis")
def dice_over_one_length(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    if p.sum() + t.sum() == 0:
        return 1.0
    return float(2 * (p & t).sum() / len(p))


@mistake("check_dice_per_slice", "dice_per_slice", "all slices pooled", "repeated")
def slice_pooled_for_each(pred, target, threshold=0.5):
    p, t = pred > threshold, target > 0.5
    total = p.sum() + t.sum()
    return np.full(len(pred), 1.0 if total == 0 else 2 * (p & t).sum() / total)


@mistake("check_dice_per_slice", "dice_per_slice", "the mean of the slices' Dice", "repeated")
def slice_mean_for_each(pred, target, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    total = p.sum(1) + t.sum(1)
    each = np.where(total == 0, 1.0, 2 * (p & t).sum(1) / np.maximum(total, 1))
    return np.full(len(pred), each.mean())


@mistake("check_dice_per_slice", "dice_per_slice", "the last slice's Dice", "overwritten")
def slice_last_for_each(pred, target, threshold=0.5):
    out = np.zeros(len(pred))
    for i in range(len(pred)):
        p, t = pred[i] > threshold, target[i] > 0.5
        total = p.sum() + t.sum()
        out[:] = 1.0 if total == 0 else 2 * (p & t).sum() / total
    return out


@mistake("check_dice_per_patient", "dice_per_patient", "all slices pooled",
         "each patient's own slices")
def patient_all_slices_for_each(pred, target, patients, threshold=0.5):
    p, t = pred > threshold, target > 0.5
    total = p.sum() + t.sum()
    return {patient: 1.0 if total == 0 else float(2 * (p & t).sum() / total)
            for patient in patients}


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "returned None", "return")
def sgd_in_place_without_return(param, grad, buf, lr, momentum):
    buf *= momentum
    buf += grad
    param -= lr * buf


@mistake("check_unbroadcast", "unbroadcast", "reshape regroups the values", "memory order")
def unbroadcast_by_reshape(grad, shape):
    return grad.reshape(-1, *shape).sum(axis=0)


@mistake("check_receptive_field", "receptive_field", "walk from the output back",
         "r = s * r + k")
def rf_walk_back_without_minus_one(layers):
    r = 1
    for k, s in reversed(layers):
        r = s * r + k
    return r


@mistake("check_receptive_field", "receptive_field", "walk from the output back",
         "r starts at 0", "s * r + k")
def rf_walk_back_from_zero(layers):
    r = 0
    for k, s in reversed(layers):
        r = s * r + k
    return r


@right("check_receptive_field", "receptive_field")
def rf_walk_back_from_the_output(layers):
    r = 1
    for k, s in layers[::-1]:
        r = (r - 1) * s + k
    return r


@mistake("check_dice", "dice", "float32", "cast the masks to bool")
def dice_sums_in_mask_dtype(pred, target):
    p, t = np.asarray(pred), np.asarray(target)
    inter = sum(1 for a, b in zip(p.ravel(), t.ravel()) if a and b)
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * inter / total)


@mistake("check_dice_per_slice", "dice_per_slice", "the last slice (11) keeps", "stops short")
def slice_loop_one_short(pred, target, threshold=0.5):
    out = np.ones(len(pred))
    for i in range(len(pred) - 1):
        p, t = pred[i] > threshold, target[i] > 0.5
        total = p.sum() + t.sum()
        out[i] = 1.0 if total == 0 else 2 * (p & t).sum() / total
    return out


@mistake("check_dice_per_slice", "dice_per_slice", "the first slice (0) keeps", "starts late")
def slice_loop_from_one(pred, target, threshold=0.5):
    out = np.zeros(len(pred))
    for i in range(1, len(pred)):
        p, t = pred[i] > threshold, target[i] > 0.5
        total = p.sum() + t.sum()
        out[i] = 1.0 if total == 0 else 2 * (p & t).sum() / total
    return out


@mistake("check_topological_order", "topological_order", "only the leaves", "operations too")
def topo_leaves_only(root):
    order, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            if not node._prev:
                order.append(node)
            stack.extend(node._prev)
    return order


@mistake("check_adam_step", "adam_step", "eps squared inside the root")
def adam_eps_squared_in_root(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad ** 2
    return param - lr * (m / (1 - b1 ** t)) / np.sqrt(v / (1 - b2 ** t) + eps ** 2), m, v


@mistake("check_adam_step", "adam_step", "multiplied by 1 - beta1 ** t",
         "multiplied by 1 - beta2 ** t")
def adam_corrections_multiplied(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad ** 2
    return param - lr * (m * (1 - b1 ** t)) / (np.sqrt(v * (1 - b2 ** t)) + eps), m, v


@mistake("check_dice_per_patient", "dice_per_patient", "total |P| + |T| runs on",
         "not reset between patients")
def patient_total_carried_over(pred, target, patients, threshold=0.5):
    ids, result, total = np.asarray(patients), {}, 0
    for patient in dict.fromkeys(patients):
        p, t = pred[ids == patient] > threshold, target[ids == patient] > 0.5
        overlap = (p & t).sum()
        total += p.sum() + t.sum()
        result[patient] = 1.0 if total == 0 else float(2 * overlap / total)
    return result


@mistake("check_dice_per_patient", "dice_per_patient", "pred > 0", "pred > threshold")
def patient_pred_nonzero(pred, target, patients, threshold=0.5):
    ids, result = np.asarray(patients), {}
    for patient in dict.fromkeys(patients):
        p, t = pred[ids == patient] != 0, target[ids == patient] > 0.5
        total = p.sum() + t.sum()
        result[patient] = 1.0 if total == 0 else float(2 * (p & t).sum() / total)
    return result


@mistake("check_dice_per_patient", "dice_per_patient", "pred == 1", "pred > threshold")
def patient_pred_is_one(pred, target, patients, threshold=0.5):
    ids, result = np.asarray(patients), {}
    for patient in dict.fromkeys(patients):
        p, t = pred[ids == patient] == 1, target[ids == patient] > 0.5
        total = p.sum() + t.sum()
        result[patient] = 1.0 if total == 0 else float(2 * (p & t).sum() / total)
    return result


@mistake("check_topological_order", "topological_order", "preorder walk with a visited set",
         "no visited set", "same list")
def topo_preorder_stack_reversed(root):
    order, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            order.append(node)
            stack.extend(node._prev)
    return order[::-1]


@mistake("check_topological_order", "topological_order", "read node._prev more than", "once")
def topo_deduplicated_afterwards(root):
    """Right in value, but exponential in time: every path to a node walks it again."""
    order = []

    def visit(node):
        for child in node._prev:
            visit(child)
        order.append(node)
    visit(root)
    return list({id(node): node for node in order}.values())


@mistake("check_backward", "backward", "read node._prev more than", "visit each node once")
def backward_revisits_every_path(root):
    order = []

    def visit(node):
        for child in node._prev:
            visit(child)
        order.append(node)
    visit(root)
    root.grad = 1.0
    for node in reversed(list(dict.fromkeys(order))):
        node._backward()


@mistake("check_count_parameters", "count_parameters", "head reads the bottleneck's width",
         "biases 2 times", "same count")
def count_head_reads_bottleneck(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[depth] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (2 * widths[i] + widths[i]) + 4 * widths[i]
    return total


@right("check_topological_order", "topological_order")
def topo_kahn_reads_inputs_often(root):
    nodes, stack = [], [root]                      # every node, reading _prev several times
    while stack:
        node = stack.pop()
        if node not in nodes:
            nodes.append(node)
            stack.extend(node._prev)
    users = {node: sum(node in other._prev for other in nodes) for node in nodes}
    ready, order = [root], []
    while ready:
        node = ready.pop()
        order.append(node)
        for child in node._prev:
            users[child] -= 1
            if users[child] == 0:
                ready.append(child)
    return order[::-1]


# ---- the tests -----------------------------------------------------------------------------------
test_the_mistake_is_named, test_a_right_answer_written_differently_passes = \
    catalogue_tests(TRAINING, RIGHT)


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
    assert len(TRAINING) >= 100 and passed == 0 and named >= 0.9 * len(TRAINING)


FRESH = FRESH_D6 + FRESH_D7 + FRESH_D8 + FRESH_D9


def _unnamed(entry: Mistake) -> bool:
    return entry.name.split("_", 1)[1] in STILL_UNNAMED


@pytest.mark.parametrize("entry", FRESH, ids=[m.name for m in FRESH])
def test_a_fresh_mistake_is_named(entry: Mistake) -> None:
    """Every fresh wrong answer is refused; all but STILL_UNNAMED are named."""
    result = run(entry.grade, **entry.answers)
    assert result.status == FAILED, result
    if not _unnamed(entry):
        assert all(word in result.message for word in entry.words), result.message



def test_the_fresh_sets_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """Each fresh set's share of named wrong answers now; its gaps were those not named when it
    was first measured, before the checks grew on it."""
    for label, entries, gaps in (("d6", FRESH_D6, GAPS_D6), ("d7", FRESH_D7, GAPS_D7),
                                  ("d8", FRESH_D8, GAPS_D8), ("d9", FRESH_D9, GAPS_D9)):
        names = {m.name.split("_", 1)[1] for m in entries}
        assert gaps <= names, gaps - names
        results = [(run(m.grade, **m.answers), m.words) for m in entries]
        named = sum(r.status == FAILED and all(w in r.message for w in words)
                    for r, words in results)
        with capsys.disabled():
            print(f"\nfresh set {label} (lessons 00, 01, 06-11): {named} of {len(entries)} named "
                  f"now; {len(entries) - len(gaps)} of {len(entries)} before growing on it")
        assert named == sum(not _unnamed(m) for m in entries)
