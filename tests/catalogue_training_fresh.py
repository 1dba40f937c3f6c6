"""Two fresh sets of wrong answers for lessons 00, 01 and 06-11, written as learners write
them after the first training catalogue was merged.

Set d6 was measured before the checks grew on it: 35 of 36 named (the Dice that skips the last
row was not). The checks then grew generically (pixel probes for Dice, a step-sign relation for
the optimisers, a second threshold for the evaluation checks, layout relations for Dice), and
set d7 was written and measured without growing anything: 34 of 39 named (the five in
GAPS_D7 were not), before the checks grew on it too. Set d8, written after that growth, was
measured before growing on it: 18 of 25 named (GAPS_D8: a step's wrong numerator and weight
decay had been read as low precision). Set d9, written last, was measured before growing on
it: 15 of 24 named (and a tenth answer, 1 - |P xor T| / (|P| + |T|), is a right Dice). The three
in STILL_UNNAMED are still not named. Entries follow tests/test_checks_catalogue.py; every
message must hold the listed words.
"""
import itertools
import math

import numpy as np

from test_checks_catalogue import Mistake, solution

FRESH_D6: list[Mistake] = []
FRESH_D7: list[Mistake] = []
FRESH_D8: list[Mistake] = []
FRESH_D9: list[Mistake] = []
GAPS_D6 = {"dice_skips_last_row"}
GAPS_D7 = {"adam_ascends", "bce_positive_term_only", "dice_transposed_target", "rf_product",
           "slice_threshold_swapped"}
GAPS_D8 = {"adam_grad_not_m", "crop_backward_pad_swapped", "dice_min_size",
           "patient_consecutive_groups", "sgd_weight_decay", "soft_dice_product_of_sums",
           "tanh_of_product"}
STILL_UNNAMED: set[str] = set()
GAPS_D9 = {"adam_eps_before_correction", "adam_v_corrected_with_beta1", "bce_arguments_swapped",
           "crop_tuple_first_only", "soft_dice_sigmoid_target", "unbroadcast_left_aligned",
           "bce_target_mean", "count_linear_widths", "cost_channels_added"} | STILL_UNNAMED


def d6(grade, function, *words):
    def add(fn):
        FRESH_D6.append(Mistake(f"d6_{fn.__name__}", grade, {function: fn}, words))
        return fn
    return add


def d7(grade, function, *words):
    def add(fn):
        FRESH_D7.append(Mistake(f"d7_{fn.__name__}", grade, {function: fn}, words))
        return fn
    return add


def d8(grade, function, *words):
    def add(fn):
        FRESH_D8.append(Mistake(f"d8_{fn.__name__}", grade, {function: fn}, words))
        return fn
    return add


def d9(grade, function, *words):
    def add(fn):
        FRESH_D9.append(Mistake(f"d9_{fn.__name__}", grade, {function: fn}, words))
        return fn
    return add


# ---- set d6 --------------------------------------------------------------------------------------
def _crop_d6():
    return solution("06_concatenation_and_cropping")["CropFunction"]


@d6("check_dice", "dice", "union")
def dice_union_minus_overlap(pred, target):
    p, t = np.asarray(pred) > 0, np.asarray(target) > 0
    i = (p & t).sum()
    total = p.sum() + t.sum() - i
    return 1.0 if total == 0 else float(2 * i / total)


@d6("check_dice", "dice", "Both masks are empty")
def dice_nan_on_empty(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    with np.errstate(all="ignore"):
        return float(2 * (p & t).sum() / (p.sum() + t.sum()))


@d6("check_dice", "dice", "factor 2 is missing")
def dice_no_two(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float((p & t).sum() / total)


@d6("check_dice", "dice", "the last row", "not counted")
def dice_skips_last_row(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    p, t = p[..., :-1, :], t[..., :-1, :]
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


@d6("check_mul_backward", "mul_backward", "grad_b is b * grad")
def mul_copy_paste(a, b, grad):
    return grad * b, grad * b


@d6("check_tanh_backward", "tanh_backward", "1 - x**2")
def tanh_treats_x_as_output(x, grad):
    return (1 - x ** 2) * grad


@d6("check_tanh_backward", "tanh_backward", "square it")
def tanh_cosh_not_squared(x, grad):
    return grad / math.cosh(x)


@d6("check_topological_order", "topological_order", "visited")
def topo_no_visited(root):
    order = []

    def visit(node):
        for child in node._prev:
            visit(child)
        order.append(node)
    visit(root)
    return order


@d6("check_topological_order", "topological_order", "comes before its input")
def topo_bfs(root):
    order, queue, seen = [], [root], {root}
    while queue:
        node = queue.pop(0)
        order.append(node)
        for child in node._prev:
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return order[::-1]


@d6("check_backward", "backward", "root.grad = 1.0")
def backward_no_seed(root):
    topo = solution("01_autograd")["topological_order"]
    for node in reversed(topo(root)):
        node._backward()


@d6("check_backward", "backward", "reverse")
def backward_forward_order(root):
    topo = solution("01_autograd")["topological_order"]
    root.grad = 1.0
    for node in topo(root):
        node._backward()


@d6("check_backward", "backward", "start at 0")
def backward_seeds_every_node(root):
    topo = solution("01_autograd")["topological_order"]
    order = topo(root)
    for node in order:
        node.grad = 1.0
    for node in reversed(order):
        node._backward()


@d6("check_unbroadcast", "unbroadcast", "1 of the 2 axes")
def unbroadcast_one_leading_sum(grad, shape):
    if grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.ndim == len(shape) and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


@d6("check_unbroadcast", "unbroadcast", "averaged")
def unbroadcast_mean(grad, shape):
    extra = grad.ndim - len(shape)
    grad = grad.mean(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.mean(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


@d6("check_cat", "cat_forward", "np.stack", "np.concatenate")
def cat_stacks(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    return np.stack(arrays, axis=dim)


@d6("check_cat", "cat_backward", "wrong order")
def cat_backward_reversed(ctx, grad):
    return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim))[::-1]


@d6("check_cat", "cat_backward", "inputs' sizes")
def cat_backward_equal_parts(ctx, grad):
    return tuple(np.array_split(grad, len(ctx.sizes), axis=ctx.dim))


@d6("check_center_crop", "crop_backward", "np.zeros")
def crop_backward_ones(ctx, grad):
    grad_x = np.ones(ctx.shape, dtype=grad.dtype)
    grad_x[..., ctx.top:ctx.top + grad.shape[-2], ctx.left:ctx.left + grad.shape[-1]] = grad
    return grad_x


@d6("check_center_crop", "center_crop", "rounded down")
def crop_rounds_up(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = -(-(input.shape[-2] - h) // 2), -(-(input.shape[-1] - w) // 2)
    return _crop_d6().apply(input, top=top, left=left, height=h, width=w)


@d6("check_center_crop", "center_crop", "(height, width)")
def crop_swaps_size(input, size):
    w, h = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return _crop_d6().apply(input, top=top, left=left, height=h, width=w)


@d6("check_count_parameters", "count_parameters", "head")
def count_no_head(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = 0
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (2 * widths[i] + widths[i]) + 4 * widths[i]
    return total


@d6("check_count_parameters", "count_parameters", "skip connection")
def count_no_skip_channels(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (widths[i] + widths[i]) + 4 * widths[i]
    return total


@d6("check_receptive_field", "receptive_field", "own stride")
def rf_jump_first(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        field += (kernel - 1) * jump
    return field


@d6("check_receptive_field", "receptive_field", "k instead of k - 1")
def rf_whole_kernel(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += kernel * jump
        jump *= stride
    return field


@d6("check_bce_with_logits", "bce_with_logits", "stable form")
def bce_naive_sigmoid(logits, target):
    p = logits.sigmoid()
    return -(target * p.log() + (1 - target) * (1 - p).log()).mean()


@d6("check_bce_with_logits", "bce_with_logits", "sum over the pixels")
def bce_summed(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() - logits * target + (1 + (-magnitude).exp()).log()).sum()


@d6("check_soft_dice_loss", "soft_dice_loss", "1 minus it")
def soft_dice_returns_dice(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


@d6("check_soft_dice_loss", "soft_dice_loss", "denominator too")
def soft_dice_smooth_top_only(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * target).sum() + smooth) / (p.sum() + target.sum())


@d6("check_sgd_momentum_step", "sgd_momentum_step", "learning rate went into the buffer")
def sgd_lr_in_buffer(param, grad, buf, lr, momentum):
    buf = momentum * buf + lr * grad
    return param - buf, buf


@d6("check_adam_step", "adam_step", "eps is inside")
def adam_eps_inside_sqrt(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / np.sqrt(v / (1 - b2 ** t) + eps), m, v


@d6("check_adam_step", "adam_step", "t + 1")
def adam_t_plus_one(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** (t + 1))) / (np.sqrt(v / (1 - b2 ** (t + 1))) + eps), m, v


@d6("check_adam_step", "adam_step", "bias-corrected")
def adam_returns_hats(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = (b1 * m + (1 - b1) * grad) / (1 - b1 ** t)
    v = (b2 * v + (1 - b2) * grad * grad) / (1 - b2 ** t)
    return param - lr * m / (np.sqrt(v) + eps), m, v


@d6("check_conv2d_cost", "conv2d_cost", "2 floating-point")
def cost_macs(n, c_in, c_out, h, w, k, itemsize=4):
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w
    return n * c_out * h * w * c_in * k * k, itemsize * values


@d6("check_conv2d_cost", "conv2d_cost", "itemsize")
def cost_values_not_bytes(n, c_in, c_out, h, w, k, itemsize=4):
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w
    return 2 * n * c_out * h * w * c_in * k * k, values


@d6("check_dice_per_slice", "dice_per_slice", "no tumour and no prediction")
def slice_empty_zero(pred, target, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    total = p.sum(1) + t.sum(1)
    return 2 * (p & t).sum(1) / np.maximum(total, 1)


@d6("check_dice_per_patient", "dice_per_patient", "mean of each patient's slice")
def patient_mean_of_slices(pred, target, patients, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    total = p.sum(1) + t.sum(1)
    per = np.where(total == 0, 1.0, 2 * (p & t).sum(1) / np.maximum(total, 1))
    ids = np.asarray(patients)
    return {q: float(per[ids == q].mean()) for q in dict.fromkeys(patients)}


# ---- set d7 --------------------------------------------------------------------------------------
def _sol_d7(name):
    lesson = "01_autograd" if name == "topological_order" else "06_concatenation_and_cropping"
    return solution(lesson)[name]


@d7("check_dice", "dice", "samples after the first", "not counted")
def dice_first_sample_only(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    if p.ndim > 2:
        p, t = p[0], t[0]
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


@d7("check_dice", "dice", "Both masks are empty")
def dice_pred_empty_zero(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    if p.sum() == 0:
        return 0.0
    return float(2 * (p & t).sum() / (p.sum() + t.sum()))


@d7("check_dice", "dice", "rows and columns swapped")
def dice_transposed_target(pred, target):
    p, t = np.asarray(pred).astype(bool), np.swapaxes(np.asarray(target).astype(bool), -1, -2)
    if p.shape != t.shape:
        t = np.asarray(target).astype(bool)
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


@d7("check_mul_backward", "mul_backward", "swapped")
def mul_own_input(a, b, grad):
    return a * grad, b * grad


@d7("check_mul_backward", "mul_backward", "chain rule")
def mul_b_no_grad(a, b, grad):
    return b * grad, a


@d7("check_tanh_backward", "tanh_backward", "1 - tanh(x)**2")
def tanh_no_one_minus(x, grad):
    return math.tanh(x) ** 2 * grad


@d7("check_tanh_backward", "tanh_backward", "(1 - tanh(x))**2")
def tanh_bad_parens(x, grad):
    return (1 - math.tanh(x)) ** 2 * grad


@d7("check_topological_order", "topological_order", "output comes first")
def topo_preorder(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            order.append(node)
            for child in node._prev:
                visit(child)
    visit(root)
    return order


@d7("check_topological_order", "topological_order", "is missing")
def topo_one_level(root):
    return list(root._prev) + [root]


@d7("check_backward", "backward", "once")
def backward_recursive_no_topo(root):
    root.grad = 1.0

    def send(node):
        node._backward()
        for child in node._prev:
            send(child)
    send(root)


@d7("check_backward", "backward", "never sent its gradient")
def backward_skips_root_backward(root):
    root.grad = 1.0
    for node in reversed(_sol_d7("topological_order")(root)[:-1]):
        node._backward()


@d7("check_unbroadcast", "unbroadcast", "reshape the result")
def unbroadcast_no_keepdims(grad, shape):
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes) if axes else grad


@d7("check_unbroadcast", "unbroadcast", "trailing axes")
def unbroadcast_trailing(grad, shape):
    grad = grad.sum(axis=tuple(range(len(shape), grad.ndim)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


@d7("check_cat", "cat_backward", "cut along ctx.dim")
def cat_backward_axis0(ctx, grad):
    return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=0))


@d7("check_cat", "cat_backward", "whole output's gradient")
def cat_backward_whole(ctx, grad):
    return tuple(grad for _ in ctx.sizes)


@d7("check_cat", "cat_forward", "running totals")
def cat_forward_cumulative_sizes(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = list(np.cumsum([a.shape[dim] for a in arrays])), dim
    return np.concatenate(arrays, axis=dim)


@d7("check_center_crop", "crop_backward", "wrong place")
def crop_backward_top_left(ctx, grad):
    grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
    grad_x[..., :grad.shape[-2], :grad.shape[-1]] = grad
    return grad_x


@d7("check_center_crop", "center_crop", "wrong place")
def crop_swapped_dims(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-1] - h) // 2, (input.shape[-2] - w) // 2
    return _sol_d7("CropFunction").apply(input, top=top, left=left, height=h, width=w)


@d7("check_center_crop", "center_crop", "not connected")
def crop_numpy_slice(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return type(input)(input.data[..., top:top + h, left:left + w])


@d7("check_count_parameters", "count_parameters", "bias")
def count_conv_bias(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 6 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (2 * widths[i] + widths[i]) + 6 * widths[i]
    return total


@d7("check_count_parameters", "count_parameters", "in_channels is ignored")
def count_ignores_in_channels(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = 1 if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (2 * widths[i] + widths[i]) + 4 * widths[i]
    return total


@d7("check_receptive_field", "receptive_field", "reverse order")
def rf_reversed(layers):
    field, jump = 1, 1
    for kernel, stride in reversed(layers):
        field += (kernel - 1) * jump
        jump *= stride
    return field


@d7("check_receptive_field", "receptive_field", "multiplied by each stride")
def rf_product(layers):
    field = 1
    for kernel, stride in layers:
        field = field * stride + kernel - 1
    return field


@d7("check_bce_with_logits", "bce_with_logits", "|x|")
def bce_no_abs(logits, target):
    return (logits.relu() - logits * target + (1 + (-logits).exp()).log()).mean()


@d7("check_bce_with_logits", "bce_with_logits", "background term")
def bce_positive_term_only(logits, target):
    return -(target * logits.sigmoid().log()).mean()


@d7("check_soft_dice_loss", "soft_dice_loss", "one Dice loss per slice")
def soft_dice_per_sample(logits, target, smooth=1.0):
    p = logits.sigmoid()
    inter = (p * target).sum(dim=(1, 2, 3))
    return (1 - (2 * inter + smooth) / (p.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + smooth)).mean()


@d7("check_soft_dice_loss", "soft_dice_loss", "sigmoid is missing")
def soft_dice_on_logits(logits, target, smooth=1.0):
    p = logits
    return 1 - (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


@d7("check_soft_dice_loss", "soft_dice_loss", "squares")
def soft_dice_squared(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * target).sum() + smooth) / ((p * p).sum() + (target * target).sum() + smooth)


@d7("check_sgd_momentum_step", "sgd_momentum_step", "Nesterov")
def sgd_nesterov(param, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return param - lr * (grad + momentum * buf), buf


@d7("check_sgd_momentum_step", "sgd_momentum_step", "plain sum")
def sgd_dampened(param, grad, buf, lr, momentum):
    buf = momentum * buf + (1 - momentum) * grad
    return param - lr * buf, buf


@d7("check_adam_step", "adam_step", "swapped")
def adam_betas_roles_swapped(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * grad + (1 - b1) * m
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@d7("check_adam_step", "adam_step", "square the gradient")
def adam_v_not_squared(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * np.abs(grad)
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@d7("check_adam_step", "adam_step", "wrong sign")
def adam_ascends(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param + lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@d7("check_conv2d_cost", "conv2d_cost", "'valid' output")
def cost_valid_output(n, c_in, c_out, h, w, k, itemsize=4):
    ho, wo = h - k + 1, w - k + 1
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * ho * wo
    return 2 * n * c_out * ho * wo * c_in * k * k, itemsize * values


@d7("check_conv2d_cost", "conv2d_cost", "leave out writing the output")
def cost_no_output_bytes(n, c_in, c_out, h, w, k, itemsize=4):
    values = n * c_in * h * w + c_out * c_in * k * k
    return 2 * n * c_out * h * w * c_in * k * k, itemsize * values


@d7("check_dice_per_slice", "dice_per_slice", "threshold argument is ignored")
def slice_threshold_swapped(pred, target, threshold=0.5):
    p = (pred > 0.5).reshape(len(pred), -1)
    t = (target > threshold).reshape(len(target), -1)
    total = p.sum(1) + t.sum(1)
    return np.where(total == 0, 1.0, 2 * (p & t).sum(1) / np.maximum(total, 1))


@d7("check_dice_per_slice", "dice_per_slice", "one Dice per slice")
def slice_returns_mean(pred, target, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    total = p.sum(1) + t.sum(1)
    return float(np.where(total == 0, 1.0, 2 * (p & t).sum(1) / np.maximum(total, 1)).mean())


@d7("check_dice_per_patient", "dice_per_patient", "not patient ids")
def patient_keyed_by_index(pred, target, patients, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids = np.asarray(patients)
    out = {}
    for k, q in enumerate(dict.fromkeys(patients)):
        rows = ids == q
        total = p[rows].sum() + t[rows].sum()
        out[k] = 1.0 if total == 0 else float(2 * (p[rows] & t[rows]).sum() / total)
    return out


@d7("check_dice_per_patient", "dice_per_patient", "0/0 as 1.0")
def patient_empty_zero(pred, target, patients, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids = np.asarray(patients)
    out = {}
    for q in dict.fromkeys(patients):
        rows = ids == q
        total = p[rows].sum() + t[rows].sum()
        out[q] = float(2 * (p[rows] & t[rows]).sum() / max(total, 1))
    return out


# ---- set d8 --------------------------------------------------------------------------------------
def _topo_d8(root):
    return solution("01_autograd")["topological_order"](root)


def _crop_d8():
    return solution("06_concatenation_and_cropping")["CropFunction"]


@d8("check_dice", "dice", "min(|P|, |T|)")
def dice_min_size(pred, target):
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    if p.sum() + t.sum() == 0:
        return 1.0
    return float((p & t).sum() / max(min(p.sum(), t.sum()), 1))


@d8("check_dice", "dice", "the last column", "not counted")
def dice_loop_skips_last_column(pred, target):
    p = np.asarray(pred).astype(bool).reshape(-1, np.shape(pred)[-1])
    t = np.asarray(target).astype(bool).reshape(-1, np.shape(target)[-1])
    inter = size = 0
    for i in range(p.shape[0]):
        for j in range(p.shape[1] - 1):
            inter += p[i, j] and t[i, j]
            size += int(p[i, j]) + int(t[i, j])
    return 1.0 if size == 0 else 2 * inter / size


@d8("check_mul_backward", "mul_backward", "you divide where the chain rule multiplies")
def mul_quotient(a, b, grad):
    return grad / a, grad / b


@d8("check_tanh_backward", "tanh_backward", "sigmoid's derivative")
def tanh_sigmoid_derivative(x, grad):
    s = 1 / (1 + math.exp(-x))
    return s * (1 - s) * grad


@d8("check_tanh_backward", "tanh_backward", "grad went inside the tanh")
def tanh_of_product(x, grad):
    return 1 - math.tanh(x * grad) ** 2


@d8("check_topological_order", "topological_order", "'o' itself is missing")
def topo_drops_root(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    return order[:-1]


@d8("check_backward", "backward", "reverse")
def backward_over_a_set(root):
    root.grad = 1.0
    for node in sorted(set(_topo_d8(root)), key=id):
        node._backward()


@d8("check_unbroadcast", "unbroadcast", "reshape the result")
def unbroadcast_shifting_axes(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and i < grad.ndim and grad.shape[i] != 1:
            grad = grad.sum(axis=i)
    return grad


@d8("check_cat", "cat_forward", "along axis 0")
def cat_forward_sizes_axis0(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[0] for a in arrays], dim
    return np.concatenate(arrays, axis=dim)


@d8("check_cat", "cat_backward", "advance the start")
def cat_backward_start_not_advanced(ctx, grad):
    pieces, start = [], 0
    for size in ctx.sizes:
        pieces.append(np.take(grad, range(start, start + size), axis=ctx.dim))
        start = size
    return tuple(pieces)


@d8("check_center_crop", "crop_backward", "paddings are swapped")
def crop_backward_pad_swapped(ctx, grad):
    h, w = grad.shape[-2:]
    H, W = ctx.shape[-2:]
    pads = [(0, 0)] * (grad.ndim - 2) + [(ctx.left, W - w - ctx.left), (ctx.top, H - h - ctx.top)]
    return np.pad(grad, pads)


@d8("check_center_crop", "center_crop", "wrong place")
def crop_from_leading_axes(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = max((input.shape[0] - h) // 2, 0), max((input.shape[1] - w) // 2, 0)
    return _crop_d8().apply(input, top=top, left=left, height=h, width=w)


@d8("check_count_parameters", "count_parameters", "transposed convolutions' biases")
def count_transposed_no_bias(depth, base_filters, in_channels=1):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i]
        total += 9 * widths[i] * (2 * widths[i] + widths[i]) + 4 * widths[i]
    return total


@d8("check_receptive_field", "receptive_field", "+ 1 is missing")
def rf_starts_at_zero(layers):
    field, jump = 0, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


@d8("check_bce_with_logits", "bce_with_logits", "first term is max(-x, 0)")
def bce_relu_of_minus_x(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return ((-logits).relu() - logits * target + (1 + (-magnitude).exp()).log()).mean()


@d8("check_soft_dice_loss", "soft_dice_loss", "product of sums")
def soft_dice_product_of_sums(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * p.sum() * target.sum() + smooth) / (p.sum() + target.sum() + smooth)


@d8("check_soft_dice_loss", "soft_dice_loss", "numerator twice")
def soft_dice_smooth_doubled(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - 2 * ((p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


@d8("check_sgd_momentum_step", "sgd_momentum_step", "return the updated one")
def sgd_returns_old_buffer(param, grad, buf, lr, momentum):
    new = momentum * buf + grad
    return param - lr * new, buf


@d8("check_sgd_momentum_step", "sgd_momentum_step", "weight decay")
def sgd_weight_decay(param, grad, buf, lr, momentum):
    buf = momentum * buf + grad + 1e-2 * param
    return param - lr * buf, buf


@d8("check_adam_step", "adam_step", "wrong order")
def adam_returns_v_m(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), v, m


@d8("check_adam_step", "adam_step", "numerator is grad")
def adam_grad_not_m(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * grad / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v


@d8("check_conv2d_cost", "conv2d_cost", "once per sample")
def cost_weights_per_sample(n, c_in, c_out, h, w, k, itemsize=4):
    values = n * c_in * h * w + n * c_out * c_in * k * k + n * c_out * h * w
    return 2 * n * c_out * h * w * c_in * k * k, itemsize * values


@d8("check_conv2d_cost", "conv2d_cost", "factor k")
def cost_k_not_squared(n, c_in, c_out, h, w, k, itemsize=4):
    values = n * c_in * h * w + c_out * c_in * k + n * c_out * h * w
    return 2 * n * c_out * h * w * c_in * k, itemsize * values


@d8("check_dice_per_slice", "dice_per_slice", "one Dice per slice")
def slice_rows_not_slices(pred, target, threshold=0.5):
    p = (pred > threshold).reshape(-1, pred.shape[-1])
    t = (target > 0.5).reshape(-1, target.shape[-1])
    total = p.sum(1) + t.sum(1)
    return np.where(total == 0, 1.0, 2 * (p & t).sum(1) / np.maximum(total, 1))


@d8("check_dice_per_patient", "dice_per_patient", "consecutive slices")
def patient_consecutive_groups(pred, target, patients, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    out, start = {}, 0
    for q, group in itertools.groupby(patients):
        n = len(list(group))
        rows = slice(start, start + n)
        start += n
        total = p[rows].sum() + t[rows].sum()
        out[q] = 1.0 if total == 0 else float(2 * (p[rows] & t[rows]).sum() / total)
    return out


# ---- set d9 --------------------------------------------------------------------------------------
def _topo_d9(root):
    return solution("01_autograd")["topological_order"](root)


def _crop_d9():
    return solution("06_concatenation_and_cropping")["CropFunction"]


@d9("check_dice", "dice", "not counted")
def dice_channel_zero(pred, target):
    p, t = np.asarray(pred).astype(bool)[:, 0], np.asarray(target).astype(bool)[:, 0]
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


@d9("check_mul_backward", "mul_backward", "backward of a + b")
def mul_like_add(a, b, grad):
    return grad, grad


@d9("check_tanh_backward", "tanh_backward", "square it")
def tanh_exp_unsquared(x, grad):
    return 2 / (math.exp(x) + math.exp(-x)) * grad


@d9("check_topological_order", "topological_order", "comes before its input")
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


@d9("check_backward", "backward", "once")
def backward_root_twice(root):
    root.grad = 1.0
    root._backward()
    for node in reversed(_topo_d9(root)):
        node._backward()


@d9("check_unbroadcast", "unbroadcast", "from the right")
def unbroadcast_left_aligned(grad, shape):
    axes = tuple(i for i, n in enumerate(shape) if i < grad.ndim and n != grad.shape[i])
    grad = grad.sum(axis=axes, keepdims=True) if axes else grad
    while grad.ndim > len(shape):
        grad = grad.sum(axis=-1)
    return grad


@d9("check_cat", "cat_forward", "reverse order")
def cat_forward_reversed(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    return np.concatenate(arrays[::-1], axis=dim)


@d9("check_cat", "cat_backward", "empty piece")
def cat_backward_cumsum_full(ctx, grad):
    return tuple(np.split(grad, np.cumsum(ctx.sizes), axis=ctx.dim))


@d9("check_center_crop", "crop_backward", "int dtype")
def crop_backward_int_buffer(ctx, grad):
    grad_x = np.zeros(ctx.shape, dtype=int)
    grad_x[..., ctx.top:ctx.top + grad.shape[-2], ctx.left:ctx.left + grad.shape[-1]] = grad
    return grad_x


@d9("check_center_crop", "center_crop", "serves both sides")
def crop_tuple_first_only(input, size):
    h = w = size if isinstance(size, int) else size[0]
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return _crop_d9().apply(input, top=top, left=left, height=h, width=w)


@d9("check_count_parameters", "count_parameters", "2 ** i")
def count_linear_widths(depth, base_filters, in_channels=1):
    widths = [base_filters * max(2 * i, 1) for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (2 * widths[i] + widths[i]) + 4 * widths[i]
    return total


@d9("check_receptive_field", "receptive_field", "product of the kernel sizes")
def rf_jump_by_kernel(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= kernel
    return field


@d9("check_bce_with_logits", "bce_with_logits", "mean of the target")
def bce_target_mean(logits, target):
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() - logits * target.mean() + (1 + (-magnitude).exp()).log()).mean()


@d9("check_bce_with_logits", "bce_with_logits", "arguments are swapped")
def bce_arguments_swapped(logits, target):
    logits, target = target, logits
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() - logits * target + (1 + (-magnitude).exp()).log()).mean()


@d9("check_soft_dice_loss", "soft_dice_loss", "target went through a sigmoid")
def soft_dice_sigmoid_target(logits, target, smooth=1.0):
    p, t = logits.sigmoid(), target.sigmoid()
    return 1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)


@d9("check_soft_dice_loss", "soft_dice_loss", "mean(p t)")
def soft_dice_mean_intersection(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * target).mean() + smooth) / (p.sum() + target.sum() + smooth)


@d9("check_sgd_momentum_step", "sgd_momentum_step", "not by the momentum buffer")
def sgd_param_uses_grad(param, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return param - lr * grad, buf


@d9("check_adam_step", "adam_step", "1 - beta1 ** t")
def adam_v_corrected_with_beta1(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b1 ** t)) + eps), m, v


@d9("check_adam_step", "adam_step", "before the correction")
def adam_eps_before_correction(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * (m / (1 - b1 ** t)) / np.sqrt((v + eps) / (1 - b2 ** t)), m, v


@d9("check_conv2d_cost", "conv2d_cost", "itemsize")
def cost_itemsize_eight(n, c_in, c_out, h, w, k, itemsize=4):
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w
    return 2 * n * c_out * h * w * c_in * k * k, 8 * values


@d9("check_conv2d_cost", "conv2d_cost", "c_in + c_out")
def cost_channels_added(n, c_in, c_out, h, w, k, itemsize=4):
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w
    return 2 * n * (c_in + c_out) * h * w * k * k, itemsize * values


@d9("check_dice_per_slice", "dice_per_slice", "every axis but the first")
def slice_keeps_channel_axis(pred, target, threshold=0.5):
    p, t = pred > threshold, target > 0.5
    total = p.sum(axis=(2, 3)) + t.sum(axis=(2, 3))
    return np.where(total == 0, 1.0, 2 * (p & t).sum(axis=(2, 3)) / np.maximum(total, 1))


@d9("check_dice_per_patient", "dice_per_patient", "another patient's id")
def patient_keys_misaligned(pred, target, patients, threshold=0.5):
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids = np.asarray(patients)
    values = []
    for q in dict.fromkeys(patients):
        rows = ids == q
        total = p[rows].sum() + t[rows].sum()
        values.append(1.0 if total == 0 else float(2 * (p[rows] & t[rows]).sum() / total))
    return dict(zip(np.unique(patients).tolist(), values))


@d9("check_dice_per_patient", "dice_per_patient", "no threshold")
def patient_soft(pred, target, patients, threshold=0.5):
    ids = np.asarray(patients)
    out = {}
    for q in dict.fromkeys(patients):
        p, t = pred[ids == q], target[ids == q]
        total = p.sum() + t.sum()
        out[q] = 1.0 if total == 0 else float(2 * (p * t).sum() / total)
    return out
