"""Families of wrong answers the checks recognise from the outputs, whatever the member: a
second class (the background) scored with the tumour, a state returned as it was given, factors
of the layer's sizes left out of a count, slices left out of a per-slice result, a selection
that matches no slice or the wrong ones, crop offsets of the wrong sign, slices of the gradient
at other bounds, a step taken with the moments passed in, a chain rule that adds, a derivative
off by a constant, a loop update that divides, a part counted once per level, a low-precision
dtype, an error raised in the learner's code. Each member runs through its lesson's own check;
right answers written differently must still pass.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from test_checks_catalogue import Mistake, catalogue_tests, registrars, run, solution

FAMILIES: list[Mistake] = []
RIGHT: list[tuple[str, str, dict[str, Callable[..., Any]]]] = []

mistake, right = registrars(FAMILIES, RIGHT)


def _dice(p: np.ndarray, t: np.ndarray) -> float:
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


def _rows(pred: np.ndarray, target: np.ndarray, threshold: float) -> tuple[np.ndarray, ...]:
    return (pred > threshold).reshape(len(pred), -1), (target > 0.5).reshape(len(target), -1)


def _per_slice(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    total = p.sum(1) + t.sum(1)
    return np.where(total == 0, 1.0, 2 * (p & t).sum(1) / np.maximum(total, 1))


# ---- the chain rule's product, and derivatives scaled by a constant ---------------------------
@mistake("check_tanh_backward", "tanh_backward", "you return (1 - tanh(x)**2) + grad",
         "multiplies")
def tanh_adds_grad(x, grad):
    return (1 - math.tanh(x) ** 2) + grad


@mistake("check_tanh_backward", "tanh_backward", "2 times 1 / cosh(x)")
def tanh_sech_from_exponentials(x, grad):
    return 4 / (math.exp(x) + math.exp(-x)) * grad


# ---- a loop's update or a part counted per level ----------------------------------------------
@mistake("check_receptive_field", "receptive_field", "the jump becomes jump // s")
def rf_jump_floor_divided(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump //= stride
    return field


@mistake("check_count_parameters", "count_parameters", "the 1x1 head", "once per decoder level")
def count_head_in_decoder_loop(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = 0
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (3 * widths[i]) + 4 * widths[i]
        total += widths[0] + 1
    return total


def _visit_some(root: Any, pick: Callable[[list[Any]], list[Any]]) -> list[Any]:
    order, seen = [], set()

    def visit(node: Any) -> None:
        if node not in seen:
            seen.add(node)
            for child in pick(list(node._prev)):
                visit(child)
            order.append(node)
    visit(root)
    return order


@mistake("check_topological_order", "topological_order", "is in your list but its input",
         "recurse into every node in _prev")
def topo_skips_the_first_input(root):
    return _visit_some(root, lambda inputs: inputs[1:])


@mistake("check_mul_backward", "mul_backward", "all zero")
def mul_second_gradient_zero(a, b, grad):
    return b * grad, 0.0


# ---- a second class scored with the tumour ----------------------------------------------------
@mistake("check_dice", "dice", "background", "averaged in")
def dice_mean_with_background(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    return (_dice(p, t) + _dice(~p, ~t)) / 2


@mistake("check_dice", "dice", "sum of the tumour's Dice and the background's")
def dice_plus_background(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    return _dice(p, t) + _dice(~p, ~t)


@mistake("check_dice", "dice", "0.75 * the tumour's Dice + 0.25 * the background's")
def dice_weighted_with_background(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    return 0.75 * _dice(p, t) + 0.25 * _dice(~p, ~t)


@mistake("check_dice", "dice", "the product of the tumour's Dice and the background's")
def dice_times_background(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    return _dice(p, t) * _dice(~p, ~t)


@mistake("check_dice_per_slice", "dice_per_slice", "background", "slice by slice")
def slice_mean_with_background(pred, target, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    return (_per_slice(p, t) + _per_slice(~p, ~t)) / 2


@mistake("check_dice_per_patient", "dice_per_patient", "background", "patient by patient")
def patient_mean_with_background(pred, target, patients, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    ids = np.asarray(patients)
    return {q: (_dice(p[ids == q], t[ids == q]) + _dice(~p[ids == q], ~t[ids == q])) / 2
            for q in dict.fromkeys(patients)}


@mistake("check_soft_dice_loss", "soft_dice_loss", "0.7 * the tumour's soft Dice + 0.3 * the "
         "background's")
def soft_dice_weighted_with_background(logits, target, smooth=1.0):
    p = logits.sigmoid()
    tumour = (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)
    q, u = 1 - p, 1 - target
    background = (2 * (q * u).sum() + smooth) / (q.sum() + u.sum() + smooth)
    return 1 - (0.7 * tumour + 0.3 * background)


def _bce_terms(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return logits.relu() - logits * target + (1 + (-magnitude).exp()).log()


@mistake("check_bce_with_logits", "bce_with_logits", "mean over the tumour pixels only")
def bce_over_tumour_pixels(logits, target):
    return (_bce_terms(logits, target) * target).sum() / target.sum()


@mistake("check_bce_with_logits", "bce_with_logits", "0.8 * (the mean over the tumour pixels)")
def bce_classes_weighted(logits, target):
    loss = _bce_terms(logits, target)
    return (0.8 * (loss * target).sum() / target.sum()
            + 0.2 * (loss * (1 - target)).sum() / (1 - target).sum())


@mistake("check_bce_with_logits", "bce_with_logits", "the target went through a sigmoid")
def bce_target_through_sigmoid(logits, target):
    return _bce_terms(logits, target.sigmoid()).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "sum(p + t)")
def soft_dice_overlap_as_a_sum(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p + target).sum() + smooth) / (p.sum() + target.sum() + smooth)


# ---- a state returned as it was given ---------------------------------------------------------
def _adam(param, grad, m, v, t, lr, betas, eps):
    b1, b2 = betas
    m1, v1 = b1 * m + (1 - b1) * grad, b2 * v + (1 - b2) * grad ** 2
    return param - lr * (m1 / (1 - b1 ** t)) / (np.sqrt(v1 / (1 - b2 ** t)) + eps), m1, v1


@mistake("check_adam_step", "adam_step", "returns the old m and v", "unchanged")
def adam_returns_given_moments(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    new_param, _, _ = _adam(param, grad, m, v, t, lr, betas, eps)
    return new_param, m, v


@mistake("check_adam_step", "adam_step", "returns the old m,", "unchanged")
def adam_returns_given_m(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    new_param, _, new_v = _adam(param, grad, m, v, t, lr, betas, eps)
    return new_param, m, new_v


@mistake("check_adam_step", "adam_step", "returns the old parameter,", "unchanged")
def adam_returns_given_param(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    _, new_m, new_v = _adam(param, grad, m, v, t, lr, betas, eps)
    return param, new_m, new_v


@mistake("check_sgd_momentum_step", "sgd_momentum_step",
         "returns the old parameter,", "unchanged")
def sgd_returns_given_param(param, grad, buf, lr, momentum):
    return param, momentum * buf + grad


@mistake("check_adam_step", "adam_step", "the step uses the old v, the one passed in")
def adam_steps_with_given_v(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    _, new_m, new_v = _adam(param, grad, m, v, t, lr, betas, eps)
    b1, b2 = betas
    return param - lr * (new_m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), new_m, new_v


@mistake("check_adam_step", "adam_step", "the step uses the old m, the one passed in")
def adam_steps_with_given_m(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    _, new_m, new_v = _adam(param, grad, m, v, t, lr, betas, eps)
    b1, b2 = betas
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(new_v / (1 - b2 ** t)) + eps), new_m, new_v


@mistake("check_adam_step", "adam_step", "you return the step itself", "not the new parameter")
def adam_returns_the_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    new_param, new_m, new_v = _adam(param, grad, m, v, t, lr, betas, eps)
    return param - new_param, new_m, new_v


# ---- factors of the layer's sizes left out of a count -----------------------------------------
@mistake("check_conv2d_cost", "conv2d_cost", "the weights without the factors k * k")
def cost_weights_without_kernel_area(n, c_in, c_out, h, w, k, itemsize=4):
    return (2 * n * c_out * h * w * c_in * k * k,
            itemsize * (n * c_in * h * w + c_out * c_in + n * c_out * h * w))


@mistake("check_conv2d_cost", "conv2d_cost", "FLOPs leave out the factors H * W")
def cost_flops_per_pixel(n, c_in, c_out, h, w, k, itemsize=4):
    return (2 * n * c_out * c_in * k * k,
            itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w))


@mistake("check_conv2d_cost", "conv2d_cost", "the input and the output without the factor N")
def cost_one_sample_of_bytes(n, c_in, c_out, h, w, k, itemsize=4):
    return (2 * n * c_out * h * w * c_in * k * k,
            itemsize * (c_in * h * w + c_out * c_in * k * k + c_out * h * w))


@mistake("check_conv2d_cost", "conv2d_cost", "the output without the factors H * W")
def cost_output_per_pixel(n, c_in, c_out, h, w, k, itemsize=4):
    return (2 * n * c_out * h * w * c_in * k * k,
            itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out))


@mistake("check_conv2d_cost", "conv2d_cost", "the weights without the factors c_in * k * k")
def cost_weights_one_per_filter(n, c_in, c_out, h, w, k, itemsize=4):
    return (2 * n * c_out * h * w * c_in * k * k,
            itemsize * (n * c_in * h * w + c_out + n * c_out * h * w))


# ---- slices left out of a per-slice result ----------------------------------------------------
@mistake("check_dice_per_slice", "dice_per_slice", "slices [", "are missing",
         "no tumour and no prediction")
def slice_skips_empty(pred, target, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    total = p.sum(1) + t.sum(1)
    return 2 * (p & t).sum(1)[total > 0] / total[total > 0]


@mistake("check_dice_per_slice", "dice_per_slice", "are missing", "with no tumour")
def slice_only_with_tumour(pred, target, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    return _per_slice(p, t)[t.any(1)]


@mistake("check_dice_per_slice", "dice_per_slice", "slices [0] are missing", "start late")
def slice_loop_from_second(pred, target, threshold=0.5):
    return np.array([_dice(pred[i] > threshold, target[i] > 0.5) for i in range(1, len(pred))])


@mistake("check_dice_per_slice", "dice_per_slice", "slices [5, 7] are missing", "false alarms")
def slice_skips_false_alarms(pred, target, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    return _per_slice(p, t)[t.any(1) | ~p.any(1)]


@mistake("check_dice_per_slice", "dice_per_slice", "slices [10, 11] are missing", "stop early")
def slice_loop_two_short(pred, target, threshold=0.5):
    return np.array([_dice(pred[i] > threshold, target[i] > 0.5) for i in range(len(pred) - 2)])


@mistake("check_dice_per_slice", "dice_per_slice", "plus extra values at positions [12]",
         "the mean of the slices' Dice")
def slice_mean_appended(pred, target, threshold=0.5):
    values = _per_slice(*_rows(pred, target, threshold))
    return np.append(values, values.mean())


# ---- a selection that matches no slice, or the wrong ones -------------------------------------
@mistake("check_dice_per_patient", "dice_per_patient", "no slice were selected",
         "np.asarray(patients) == patient")
def patient_selects_with_list_comparison(pred, target, patients, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    return {q: _dice(p[patients == q], t[patients == q]) for q in dict.fromkeys(patients)}


@mistake("check_dice_per_patient", "dice_per_patient", "other patients' slices", "inverted")
def patient_selects_the_others(pred, target, patients, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    ids = np.asarray(patients)
    return {q: _dice(p[ids != q], t[ids != q]) for q in dict.fromkeys(patients)}


@mistake("check_cat", "cat_backward", "every piece is an empty slice")
def cat_backward_stops_at_start(ctx, grad):
    pieces, start = [], 0
    for size in ctx.sizes:
        index = [slice(None)] * grad.ndim
        index[ctx.dim] = slice(start, start)
        pieces.append(grad[tuple(index)])
        start += size
    return tuple(pieces)


@mistake("check_cat", "cat_backward", "at offset 1 along dim 0, expected offset 0",
         "the first piece starts at 0")
def cat_backward_starts_one_late(ctx, grad):
    pieces, start = [], 1
    for size in ctx.sizes:
        index = [slice(None)] * grad.ndim
        index[ctx.dim] = slice(start, start + size)
        pieces.append(grad[tuple(index)])
        start += size
    return tuple(pieces)


@mistake("check_dice_per_patient", "dice_per_patient", "all but their last slice")
def patient_drops_its_last_slice(pred, target, patients, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    rows = {}
    for i, q in enumerate(patients):
        rows.setdefault(q, []).append(i)
    return {q: _dice(p[r[:-1]], t[r[:-1]]) for q, r in rows.items()}


@mistake("check_dice_per_patient", "dice_per_patient", "their first two slices only")
def patient_first_two_slices(pred, target, patients, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    ids = np.asarray(patients)
    return {q: _dice(p[np.flatnonzero(ids == q)[:2]], t[np.flatnonzero(ids == q)[:2]])
            for q in dict.fromkeys(patients)}


@mistake("check_dice_per_patient", "dice_per_patient", "slice 0, of patient 'B', is left out",
         "start at 1")
def patient_rows_from_one(pred, target, patients, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    ids = np.asarray(patients)
    rows = {q: [i for i in range(1, len(patients)) if ids[i] == q]
            for q in dict.fromkeys(patients)}
    return {q: _dice(p[r], t[r]) for q, r in rows.items()}


# ---- crop offsets of the wrong sign -----------------------------------------------------------
def _crop(input, top, left, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "center_crop", "offsets are negative", "(h - H) // 2")
def crop_offsets_target_minus_source(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    return _crop(input, (h - input.shape[-2]) // 2, (w - input.shape[-1]) // 2, size)


@mistake("check_center_crop", "center_crop", "offsets are negative", "-((H - h) // 2)")
def crop_offsets_negated(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    return _crop(input, -((input.shape[-2] - h) // 2), -((input.shape[-1] - w) // 2), size)


@mistake("check_center_crop", "center_crop", "the left offset is (w - W) // 2")
def crop_left_offset_reversed(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    return _crop(input, (input.shape[-2] - h) // 2, (w - input.shape[-1]) // 2, size)


@mistake("check_dice", "dice", "0.6 fp + 1.4 fn", "weighted apart")
def dice_tversky_index(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    tp, fp, fn = (p & t).sum(), (p & ~t).sum(), (~p & t).sum()
    return 1.0 if tp + fp + fn == 0 else float(tp / (tp + 0.3 * fp + 0.7 * fn))


# ---- a low-precision dtype, a constant added, a sign --------------------------------------------
@mistake("check_dice", "dice", "float16 numbers")
def dice_in_float16(pred, target):
    p, t = np.asarray(pred).astype(np.float16), np.asarray(target).astype(np.float16)
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(np.float16(2) * (p * t).sum() / total)


@mistake("check_soft_dice_loss", "soft_dice_loss", "1 plus the Dice coefficient")
def soft_dice_one_plus_dice(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 + (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


@mistake("check_conv2d_cost", "conv2d_cost", "the right count plus 1", "a constant term is extra")
def cost_flops_one_more(n, c_in, c_out, h, w, k, itemsize=4):
    return (2 * n * c_out * h * w * c_in * k * k + 1,
            itemsize * (n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w))


# ---- an error raised in the learner's own code ------------------------------------------------
@mistake("check_center_crop", "center_crop", "received size=4 where it unpacks a pair",
         "an int stands for the pair (v, v)",
         "h, w = (size, size) if isinstance(size, int) else size")
def crop_unpacks_an_int_size(input, size):
    h, w = size
    return _crop(input, (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2, (h, w))


@mistake("check_center_crop", "crop_backward", "top=-2, left=-2 are negative",
         "(H - h) // 2 and (W - w) // 2")
def crop_backward_offsets_reversed(ctx, grad):
    (height, width), (h, w) = ctx.shape[-2:], grad.shape[-2:]
    top, left = (h - height) // 2, (w - width) // 2
    grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
    grad_x[..., top:top + h, left:left + w] = grad
    return grad_x


@mistake("check_center_crop", "crop_backward", "are negative", "np.pad refuses")
def crop_backward_padded_by_negative_widths(ctx, grad):
    (height, width), (h, w) = ctx.shape[-2:], grad.shape[-2:]
    top, left = (h - height) // 2, (w - width) // 2
    lead = ((0, 0),) * (grad.ndim - 2)
    return np.pad(grad, lead + ((top, h - height - top), (left, w - width - left)))


# ---- right answers written differently ---------------------------------------------------------
@right("check_dice_per_slice", "dice_per_slice")
def slice_dice_appended_in_a_loop(pred, target, threshold=0.5):
    out = []
    for i in range(len(pred)):
        out.append(_dice(pred[i] > threshold, target[i] > 0.5))
    return out


@right("check_dice_per_patient", "dice_per_patient")
def patient_dice_by_index_lists(pred, target, patients, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    rows = {}
    for i, q in enumerate(patients):
        rows.setdefault(q, []).append(i)
    return {q: _dice(p[r], t[r]) for q, r in rows.items()}


@right("check_adam_step", "adam_step")
def adam_updates_in_place(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m *= b1
    m += (1 - b1) * grad
    v *= b2
    v += (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@right("check_conv2d_cost", "conv2d_cost")
def cost_by_tensor(n, c_in, c_out, h, w, k, itemsize=4):
    tensors = {"input": (n, c_in, h, w), "weight": (c_out, c_in, k, k), "output": (n, c_out, h, w)}
    return 2 * n * c_out * h * w * c_in * k * k, itemsize * sum(
        int(np.prod(shape)) for shape in tensors.values())


@right("check_center_crop", "center_crop")
def crop_from_the_far_side(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    H, W = input.shape[-2:]
    return _crop(input, H - h - (H - h + 1) // 2, W - w - (W - w + 1) // 2, size)


@right("check_topological_order", "topological_order")
def topo_iterative_postorder(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev if child not in seen)
    return order


@right("check_tanh_backward", "tanh_backward")
def tanh_by_cosh(x, grad):
    return grad / math.cosh(x) ** 2


@right("check_sgd_momentum_step", "sgd_momentum_step")
def sgd_buffer_in_place(param, grad, buf, lr, momentum):
    buf = buf.copy()
    buf *= momentum
    buf += grad
    return param - lr * buf, buf


@right("check_dice_per_patient", "dice_per_patient")
def patient_dice_by_inverse_index(pred, target, patients, threshold=0.5):
    p, t = _rows(pred, target, threshold)
    ids, where = np.unique(np.asarray(patients), return_inverse=True)
    overlap = np.bincount(where, (p & t).sum(1), len(ids))
    total = np.bincount(where, p.sum(1) + t.sum(1), len(ids))
    return {str(q): 1.0 if n == 0 else float(2 * o / n) for q, o, n in zip(ids, overlap, total)}


test_the_mistake_is_named, test_a_right_answer_written_differently_passes = \
    catalogue_tests(FAMILIES, RIGHT)
