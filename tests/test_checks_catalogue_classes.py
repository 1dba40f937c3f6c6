"""Wrong answers of the classes the checks once read only as wrong values (a backward that
resets the grads, a Dice averaged over rows, a second derivative, a gradient counted twice in
the SGD step, an unbroadcast that skips the 1-axes, the best slice as a patient's Dice; crop
offsets and sizes of another rule, cat gradients scaled by the number of inputs, a receptive
field taken as a max, a BCE term subtracted, a moment fed another term, a rescaled pred, errors
raised in the learner's code; ratios of the mask sizes, traversals that reach part of the graph,
a seed of 1 on every node, crop slices that end elsewhere, the simplest reading of a changed BCE
term, a smoothed Dice per slice), each run through its lesson's own check; right answers written
differently must still pass.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from minitorch_unet.checks.core import PASSED
from test_checks_catalogue import Mistake, catalogue_tests, registrars, run, solution

CLASSES: list[Mistake] = []
RIGHT: list[tuple[str, str, dict[str, Callable[..., Any]]]] = []

mistake, right = registrars(CLASSES, RIGHT)


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


# ---- 06: crop offsets and sizes fitted to a family of rules; cat scaled or running totals ------
def _apply_crop(input, h, w, top, left):
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=top, left=left, height=h, width=w)


def _hw(size):
    return (size, size) if isinstance(size, int) else tuple(size)


@mistake("check_center_crop", "center_crop", "wrong place", "(n - k) // 4")
def crop_quarter_of_leftover(input, size):
    h, w = _hw(size)
    height, width = input.shape[-2:]
    return _apply_crop(input, h, w, (height - h) // 4, (width - w) // 4)


@mistake("check_center_crop", "center_crop", "wrong place", "the centre itself")
def crop_starts_at_centre(input, size):
    h, w = _hw(size)
    return _apply_crop(input, h, w, input.shape[-2] // 2, input.shape[-1] // 2)


@mistake("check_center_crop", "center_crop", "2 * (k // 2)")
def crop_slice_around_centre(input, size):
    h, w = _hw(size)
    cy, cx = input.shape[-2] // 2, input.shape[-1] // 2
    return input[..., cy - h // 2:cy + h // 2, cx - w // 2:cx + w // 2]


@mistake("check_center_crop", "crop_backward", "far side", "(before, after)")
def crop_backward_far_side_slices(ctx, grad):
    out = np.zeros(ctx.shape, dtype=grad.dtype)
    h, w = grad.shape[-2:]
    top, left = ctx.shape[-2] - h - ctx.top, ctx.shape[-1] - w - ctx.left
    out[..., top:top + h, left:left + w] = grad
    return out


@mistake("check_cat", "cat_backward", "multiplied by the number of inputs")
def cat_backward_times_inputs(ctx, grad):
    cuts = np.cumsum(ctx.sizes)[:-1]
    return tuple(len(ctx.sizes) * g for g in np.split(grad, cuts, axis=ctx.dim))


@mistake("check_cat", "cat_forward", "running totals")
def cat_forward_accumulated_sizes(ctx, *arrays, dim):
    import itertools
    ctx.sizes, ctx.dim = list(itertools.accumulate(a.shape[dim] for a in arrays)), dim
    return np.concatenate(arrays, axis=dim)


@mistake("check_cat", "cat_forward", "given twice", "pass the list itself")
def cat_forward_stack_unpacked(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    return np.concatenate(*arrays, axis=dim)


# ---- 01: an axis past the array's last one -----------------------------------------------------
@mistake("check_unbroadcast", "unbroadcast", "an axis is a position")
def unbroadcast_sizes_as_axes(grad, shape):
    axes = tuple(n for n in shape if n != 1)
    return grad.sum(axis=axes).reshape(shape) if grad.shape != tuple(shape) else grad


# ---- 07: the field's update and the loop's unpacking --------------------------------------------
@mistake("check_receptive_field", "receptive_field", "max(field, ", "add up")
def rf_widest_layer(layers):
    field, jump = 1, 1
    for k, s in layers:
        field = max(field, (k - 1) * jump + 1)
        jump *= s
    return field


@mistake("check_receptive_field", "receptive_field", "an extra stride term")
def rf_stride_gap_times_jump(layers):
    field, jump = 1, 1
    for k, s in layers:
        field += (k + s - 2) * jump
        jump *= s
    return field


@mistake("check_receptive_field", "receptive_field", "unpacks 3 names", "holds 2 entries")
def rf_unpacks_padding_too(layers):
    field, jump = 1, 1
    for k, s, p in layers:
        field += (k - 1) * jump
        jump *= s
    return field


# ---- 08: a term of the stable BCE subtracted -----------------------------------------------------
@mistake("check_bce_with_logits", "bce_with_logits", "the first term", "subtracted")
def bce_relu_subtracted(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (-logits.relu() - logits * target + (1 + (-magnitude).exp()).log()).mean()


@mistake("check_bce_with_logits", "bce_with_logits", "the last term", "subtracted")
def bce_softplus_subtracted(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() - logits * target - (1 + (-magnitude).exp()).log()).mean()


# ---- 09: a buffer decayed by 1 - momentum; a moment fed another term ----------------------------
@mistake("check_sgd_momentum_step", "sgd_momentum_step", "(1 - momentum) * buf")
def sgd_buffer_decayed_by_one_minus(param, grad, buf, lr, momentum):
    buf = (1 - momentum) * buf + grad
    return param - lr * buf, buf


@mistake("check_adam_step", "adam_step", "grad * m, the old m", "grad**2")
def adam_v_fed_old_m(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    v = b2 * v + (1 - b2) * grad * m
    m = b1 * m + (1 - b1) * grad
    with np.errstate(all="ignore"):
        return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


# ---- 11: pred rescaled before the threshold; a dict read before its key is set -----------------
@mistake("check_dice_per_slice", "dice_per_slice", "rescaled before the threshold")
def slice_min_max_normalised(pred, target, threshold=0.5):
    low, high = pred.min(), pred.max()
    return _slice_dice((pred - low) / (high - low), target, threshold)


@mistake("check_dice_per_patient", "dice_per_patient", "no entry", "defaultdict")
def patient_sums_into_unset_keys(pred, target, patients, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = {}, {}
    for i, patient in enumerate(patients):
        overlap[patient] += (p[i] & t[i]).sum()
        total[patient] += p[i].sum() + t[i].sum()
    return {q: 1.0 if total[q] == 0 else 2 * overlap[q] / total[q] for q in overlap}


@right("check_dice_per_slice", "dice_per_slice")
def slice_dice_in_a_loop(pred, target, threshold=0.5):
    scores = []
    for p, t in zip(pred, target):
        p, t = p > threshold, t > 0.5
        total = int(p.sum() + t.sum())
        scores.append(1.0 if total == 0 else 2.0 * float((p & t).sum()) / total)
    return scores


@right("check_center_crop", "crop_backward")
def crop_backward_padded(ctx, grad):
    h, w = grad.shape[-2:]
    pads = [(0, 0)] * (grad.ndim - 2) + [(ctx.top, ctx.shape[-2] - h - ctx.top),
                                         (ctx.left, ctx.shape[-1] - w - ctx.left)]
    return np.pad(grad, pads)


# ---- 00: ratios of the mask sizes ------------------------------------------------------------
def _sizes(pred: Any, target: Any) -> tuple[int, int, int]:
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    return int((p & t).sum()), int(p.sum()), int(t.sum())


@mistake("check_dice", "dice", "min(|P|, |T|) / max(|P|, |T|)")
def dice_size_ratio(pred, target):
    _, a, b = _sizes(pred, target)
    return 1.0 if a + b == 0 else min(a, b) / max(a, b)


@mistake("check_dice", "dice", "the smaller mask")
def dice_overlap_coefficient(pred, target):
    i, a, b = _sizes(pred, target)
    return 1.0 if a + b == 0 else i / max(min(a, b), 1)


@mistake("check_dice", "dice", "the larger mask")
def dice_over_larger_mask(pred, target):
    i, a, b = _sizes(pred, target)
    return 1.0 if a + b == 0 else i / max(a, b)


@right("check_dice", "dice")
def dice_by_confusion_counts(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    tp = np.count_nonzero(p & t)
    fp, fn = np.count_nonzero(p & ~t), np.count_nonzero(~p & t)
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


# ---- 01: traversals that reach part of the graph ---------------------------------------------
def _partial_order(root: Any, pick: Callable[[list[Any]], list[Any]], leaves: bool = True
                   ) -> list[Any]:
    order, seen = [], set()

    def visit(node: Any) -> None:
        if node not in seen:
            seen.add(node)
            for child in pick(list(node._prev)):
                visit(child)
            if leaves or node._prev:
                order.append(node)
    visit(root)
    return order


@mistake("check_topological_order", "topological_order", "only the last input", "every node")
def topo_last_input_only(root):
    return _partial_order(root, lambda prev: prev[-1:])


@mistake("check_topological_order", "topological_order", "leaves", "are missing")
def topo_appends_only_ops(root):
    return _partial_order(root, lambda prev: prev, leaves=False)


@mistake("check_backward", "backward", "starts at 1", "only root.grad = 1.0")
def backward_seeds_every_node_by_adding(root):
    for node in reversed(_order(root)):
        node.grad += 1.0
        node._backward()


# ---- 06: a crop's slice that ends elsewhere ----------------------------------------------------
def _slice_crop(input: Any, size: Any, end: Callable[[int, int, int], int]) -> Any:
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return input[..., top:end(input.shape[-2], h, top), left:end(input.shape[-1], w, left)]


@mistake("check_center_crop", "center_crop", "stops at k, the crop's size")
def crop_stop_at_size(input, size):
    return _slice_crop(input, size, lambda n, k, o: k)


@mistake("check_center_crop", "center_crop", "stops at -offset")
def crop_stop_at_minus_offset(input, size):
    return _slice_crop(input, size, lambda n, k, o: -o)


@mistake("check_center_crop", "center_crop", "one past the window")
def crop_stop_one_past(input, size):
    return _slice_crop(input, size, lambda n, k, o: o + k + 1)


# ---- 08: the simplest reading of a changed BCE term -------------------------------------------
@mistake("check_bce_with_logits", "bce_with_logits", "first term is max(-x, 0)")
def bce_relu_of_negative(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return ((-logits).relu() - logits * target + (1 + (-magnitude).exp()).log()).mean()


# ---- 11: a smoothed Dice per slice -------------------------------------------------------------
def _smoothed_slices(pred, target, threshold, a, b):
    p = (np.asarray(pred) > threshold).reshape(len(pred), -1)
    t = (np.asarray(target) > 0.5).reshape(len(target), -1)
    return (2 * (p & t).sum(1) + a) / (p.sum(1) + t.sum(1) + b)


@mistake("check_dice_per_slice", "dice_per_slice", "smoothing term")
def slice_smoothed_by_one(pred, target, threshold=0.5):
    return _smoothed_slices(pred, target, threshold, 1.0, 1.0)


@mistake("check_dice_per_slice", "dice_per_slice", "smoothing term")
def slice_smoothed_by_epsilon(pred, target, threshold=0.5):
    return _smoothed_slices(pred, target, threshold, 1e-6, 1e-6)


test_the_mistake_is_named, test_a_right_answer_written_differently_passes = \
    catalogue_tests(CLASSES, RIGHT)


def test_two_digits_off_is_not_called_float16() -> None:
    """Values two digits off that are not float16 numbers get no low-precision claim."""
    from minitorch_unet.checks.core import value_pattern
    right_values = np.random.default_rng(3).normal(size=(4, 5))
    assert "float16" not in value_pattern(right_values * 1.004, right_values)
    assert "float16" in value_pattern(right_values.astype(np.float16).astype(np.float64),
                                      right_values)


def test_the_solutions_pass() -> None:
    for grade, lesson, function in (("check_backward", "01_autograd", "backward"),
                                    ("check_dice", "00_task_and_data", "dice"),
                                    ("check_dice_per_patient", "11_evaluation",
                                     "dice_per_patient")):
        assert run(grade, **{function: solution(lesson)[function]}).status == PASSED
