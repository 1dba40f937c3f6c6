"""Wrong answers for lessons 02-05 by class of mistake, one or more per diagnosis that names a
whole class (a constant term or factor over all cases, arguments slipped in a call, a size rule
with its arguments mixed up, a wrong combination of Winograd transforms, an answer laid out or
routed in another order...), and right answers written differently; entries follow
tests/test_checks_catalogue.py."""
import numpy as np
from minitorch_unet.convolution import col2im as c2i, im2col as i2c
from minitorch_unet.winograd import A_T, B_T, G
from test_checks_catalogue import Mistake

A_T, B_T, G = (np.array(m, dtype=np.float64) for m in (A_T, B_T, G))
CLASSES: list[Mistake] = []
RIGHT: list[tuple[str, str, dict]] = []


def entry(grade, function, *words, also=None):
    def add(fn):
        CLASSES.append(Mistake(f"class_{fn.__name__}", grade, {function: fn, **(also or {})}, words))
        return fn
    return add


def right(grade, function, also=None):
    def add(fn):
        RIGHT.append((f"class_{fn.__name__}", grade, {function: fn, **(also or {})}))
        return fn
    return add


# ---- 02 ------------------------------------------------------------------------------------------
def _nudged(f, x, eps, value):
    """value(f_plus, f_minus, f_at_x) for each entry, x restored after each."""
    flat = x.reshape(-1)
    out = []
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + eps
        up = f(x)
        flat[k] = saved - eps
        down = f(x)
        flat[k] = saved
        out.append(value(up, down, f(x)))
    return np.array(out)


@entry("check_numerical_gradient", "numerical_gradient", "plus 1", "np.zeros")
def ng_grad_from_ones(f, x, eps=1e-6):
    return np.ones(x.shape) + _nudged(f, x, eps, lambda u, d, m: (u - d) / (2 * eps)).reshape(x.shape)


@entry("check_numerical_gradient", "numerical_gradient", "half a forward difference")
def ng_minus_side_lost(f, x, eps=1e-6):
    return _nudged(f, x, eps, lambda u, d, m: (u - m) / (2 * eps)).reshape(x.shape)


@entry("check_numerical_gradient", "numerical_gradient", "half a backward difference")
def ng_plus_side_lost(f, x, eps=1e-6):
    return _nudged(f, x, eps, lambda u, d, m: (m - d) / (2 * eps)).reshape(x.shape)


@entry("check_numerical_gradient", "numerical_gradient", "divided by 8 * eps")
def ng_over_eight_eps(f, x, eps=1e-6):
    return _nudged(f, x, eps, lambda u, d, m: (u - d) / (8 * eps)).reshape(x.shape)


@entry("check_numerical_gradient", "numerical_gradient", "sign flipped")
def ng_minus_first(f, x, eps=1e-6):
    return _nudged(f, x, eps, lambda u, d, m: (d - u) / (2 * eps)).reshape(x.shape)


@entry("check_numerical_gradient", "numerical_gradient", "memory order", "reshape to x.shape")
def ng_shape_reversed(f, x, eps=1e-6):
    return _nudged(f, x, eps, lambda u, d, m: (u - d) / (2 * eps)).reshape(x.shape[::-1])


@right("check_numerical_gradient", "numerical_gradient")
def ng_through_a_flat_view(f, x, eps=1e-6):
    return _nudged(f, x, eps, lambda u, d, m: (u - d) / (2 * eps)).reshape(x.shape)


@entry("check_numerical_gradient", "numerical_gradient", "= does not copy", "up and down are x itself",
       "call f right after each nudge")
def ng_both_nudges_on_aliases(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        up = x
        down = x
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


@entry("check_numerical_gradient", "numerical_gradient", "= does not copy", "xp and xm are x itself")
def ng_chained_alias(f, x, eps=1e-6):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        xp = xm = x
        xp[i] += eps
        xm[i] -= eps
        grad[i] = (f(xp) - f(xm)) / (2 * eps)
    return grad


@right("check_numerical_gradient", "numerical_gradient")
def ng_alias_evaluated_after_each_nudge(f, x, eps=1e-6):
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        moved = x
        saved = x[i]
        moved[i] += eps
        high = f(moved)
        moved[i] -= 2 * eps
        low = f(moved)
        moved[i] = saved
        grad[i] = (high - low) / (2 * eps)
    return grad


def _errors(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    return np.abs(a - b) / np.where(scale == 0, 1.0, scale)


@entry("check_relative_error", "relative_error", "percent")
def re_times_hundred(a, b):
    return 100.0 * float(_errors(a, b).max())


@entry("check_relative_error", "relative_error", "log10")
def re_order_of_magnitude(a, b):
    with np.errstate(divide="ignore"):
        return float(np.log10(_errors(a, b).max()))


@entry("check_relative_error", "relative_error", "index of the worst entry", "np.argmax")
def re_where_worst(a, b):
    return int(np.argmax(_errors(a, b)))


@entry("check_relative_error", "relative_error", "max(|a|, |b|) + 1")
def re_scale_plus_one(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / (np.maximum(np.abs(a), np.abs(b)) + 1)))


@entry("check_relative_error", "relative_error", "largest absolute difference")
def re_no_denominator(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - b)))


@entry("check_relative_error", "relative_error", "float32")
def re_single_precision(a, b):
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.abs(a - b) / np.where(scale == 0, np.float32(1), scale)))


@right("check_relative_error", "relative_error")
def re_with_divide_where(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    ratio = np.divide(np.abs(a - b), scale, out=np.zeros(np.broadcast(a, b).shape), where=scale != 0)
    return float(ratio.max())


# ---- 03: conv2d_naive, im2col ---------------------------------------------------------------------
def _naive(x, weight, bias, stride, padding, reduce=np.sum, size=lambda a, b: a // b):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = size(h + 2 * padding - kh, stride) + 1, size(w + 2 * padding - kw, stride) + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            for ch in range(o):
                out[:, ch, i, j] = reduce(window * weight[ch], axis=(1, 2, 3))
    return out if bias is None else out + bias[:, None, None]


@entry("check_conv2d_naive", "conv2d_naive", "mean of the window's products")
def naive_window_mean(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, reduce=np.mean)


@entry("check_conv2d_naive", "conv2d_naive", "// (floor division)")
def naive_true_division(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, size=lambda a, b: a / b)


def _windows(x, kh, kw):
    return np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))


@entry("check_im2col", "im2col", "pad x again")
def im2col_pads_by_half_kernel(x, kh, kw, sh, sw):
    x = np.pad(x, ((0, 0), (0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2)))
    win = _windows(x, kh, kw)[:, :, ::sh, ::sw]
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)


@entry("check_im2col", "im2col", "axes 4 and 5")
def im2col_strided_windows(x, kh, kw, sh, sw):
    win = _windows(x, kh, kw)[..., ::sh, ::sw]
    n, c, ho, wo, a, b = win.shape
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * a * b)


@entry("check_im2col", "im2col", "rotated by 180 degrees")
def im2col_upside_down(x, kh, kw, sh, sw):
    win = _windows(x, kh, kw)[:, :, ::sh, ::sw][..., ::-1, ::-1]
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)


@entry("check_im2col", "im2col", "counted from the width W")
def im2col_rows_from_width(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (w - kh) // sh + 1, (w - kw) // sw + 1
    rows = np.zeros((n, ho, wo, c, kh, kw))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            rows[:, i, j, :, :patch.shape[2], :patch.shape[3]] = patch
    return rows.reshape(n * ho * wo, c * kh * kw)


# ---- 03: conv2d -------------------------------------------------------------------------------------
def _forward(ctx, x, weight, bias, stride, padding, sw_from_sh=False, unpadded_size=False):
    (sh, sw), (ph, pw) = stride, padding
    sw = sh if sw_from_sh else sw
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    size = x.shape if unpadded_size else xpad.shape
    ho, wo = (size[2] - kh) // sh + 1, (size[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


def conv2d_forward(ctx, x, weight, *bias, stride, padding):
    return _forward(ctx, x, weight, bias, stride, padding)


@entry("check_conv2d_forward", "conv2d_forward", "height's stride used for the width")
def conv2d_forward_one_stride(ctx, x, weight, *bias, stride, padding):
    return _forward(ctx, x, weight, bias, stride, padding, sw_from_sh=True)


@entry("check_conv2d_forward", "conv2d_forward", "the padding is not applied", "7 x 9 output pixels")
def conv2d_forward_size_of_x(ctx, x, weight, *bias, stride, padding):
    return _forward(ctx, x, weight, bias, stride, padding, unpadded_size=True)


def _backward(ctx, grad, layout=(0, 2, 3, 1), kernel_swapped=False, crop=None, weight_loop=False):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    g = grad.transpose(layout).reshape(-1, o)
    if kernel_swapped:
        grad_x = c2i(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kw, kh, sh, sw)
    else:
        grad_x = c2i(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    top, left = crop or (ph, pw)
    grad_x = grad_x[:, :, top:ctx.padded_shape[2] - top, left:ctx.padded_shape[3] - left]
    if weight_loop:
        per = len(g) // grad.shape[0]
        for k in range(grad.shape[0]):
            rows = slice(k * per, (k + 1) * per)
            grad_weight = (g[rows].T @ ctx.cols[rows]).reshape(ctx.weight.shape)
    else:
        grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight) + ((g.sum(axis=0),) if ctx.has_bias else ())


FORWARD = {"conv2d_forward": conv2d_forward}


@entry("check_conv2d", "conv2d_backward", "grad.transpose(0, 3, 2, 1)", also=FORWARD)
def conv2d_backward_columns_before_rows(ctx, grad):
    return _backward(ctx, grad, layout=(0, 3, 2, 1))


@entry("check_conv2d", "conv2d_backward", "last sample", also=FORWARD)
def conv2d_backward_weight_overwritten_per_sample(ctx, grad):
    return _backward(ctx, grad, weight_loop=True)


@entry("check_conv2d", "conv2d_backward", "passes kh and kw swapped", also=FORWARD)
def conv2d_backward_kernel_sizes_swapped(ctx, grad):
    return _backward(ctx, grad, kernel_swapped=True)


@entry("check_conv2d", "conv2d_backward", "paddings of height and width are swapped", also=FORWARD)
def conv2d_backward_crop_swapped(ctx, grad):
    return _backward(ctx, grad, crop=ctx.padding[::-1])


# ---- 03: Winograd -----------------------------------------------------------------------------------
@entry("check_winograd_tile", "winograd_tile", "output transform is missing")
def wino_returns_m(d, g):
    return ((G @ g @ G.T) * (B_T @ d @ B_T.T)).sum(axis=0)


@entry("check_winograd_tile", "winograd_tile", "channels are summed before the product")
def wino_sums_first(d, g):
    return A_T @ ((G @ g @ G.T).sum(axis=0) * (B_T @ d @ B_T.T).sum(axis=0)) @ A_T.T


@entry("check_winograd_tile", "winograd_tile", "input tile is not transformed")
def wino_raw_tile(d, g):
    return A_T @ np.einsum("cij,cij->ij", G @ g @ G.T, d) @ A_T.T


@right("check_winograd_tile", "winograd_tile")
def wino_einsum(d, g):
    return np.einsum("ai,cij,bj->ab", A_T, (G @ g @ G.T) * (B_T @ d @ B_T.T), A_T)


# ---- 04 ---------------------------------------------------------------------------------------------
def _pool_forward(ctx, x, kernel, stride, padding, stride_from_kernel=False):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    sh, sw = (kh, kw) if stride_from_kernel else (sh, sw)
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols.max(axis=1).reshape(n, c, ho, wo)


def pool_forward(ctx, x, kernel, stride, padding):
    return _pool_forward(ctx, x, kernel, stride, padding)


@entry("check_max_pool2d_forward", "max_pool2d_forward", "kernel size used as the stride")
def pool_forward_stride_is_kernel(ctx, x, kernel, stride, padding):
    return _pool_forward(ctx, x, kernel, stride, padding, stride_from_kernel=True)


@entry("check_max_pool2d_forward", "max_pool2d", "(v, v)")
def max_pool2d_int_stride_passed_on(input, kernel_size, stride=None, padding=0):
    from test_checks_catalogue import solution
    MaxPool2dFunction = solution("04_max_pooling")["MaxPool2dFunction"]
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    pad = (padding, padding) if isinstance(padding, int) else tuple(padding)
    return MaxPool2dFunction.apply(input, kernel=kernel, stride=kernel if stride is None else stride,
                                   padding=pad)


def _pool_backward(ctx, grad, values=None, fold=True, crop=None, reshape=True):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    rows = np.zeros((len(ctx.argmax), kh * kw))
    rows[np.arange(len(rows)), ctx.argmax] = grad.reshape(-1) if values is None else values
    grad_x = c2i(rows, (n * c, 1, hp, wp) if fold else (n, c, hp, wp), kh, kw, sh, sw)
    if reshape:
        grad_x = grad_x.reshape(n, c, hp, wp)
    top, left = crop or (ph, pw)
    return grad_x[:, :, top:hp - top, left:wp - left]


POOL = {"max_pool2d_forward": pool_forward}


@entry("check_max_pool2d", "max_pool2d_backward", "maximum's value", also=POOL)
def pool_backward_times_the_maximum(ctx, grad):
    (kh, kw), (sh, sw), _ = ctx.params
    n, c, hp, wp = ctx.padded_shape
    return _pool_backward(ctx, grad, values=grad.reshape(-1) * ctx.maxima)


def pool_forward_keeping_maxima(ctx, x, kernel, stride, padding):
    out = pool_forward(ctx, x, kernel, stride, padding)
    ctx.maxima = out.reshape(-1)
    return out


CLASSES[-1].answers["max_pool2d_forward"] = pool_forward_keeping_maxima


@entry("check_max_pool2d", "max_pool2d_backward", "(N*C, 1, H, W)", also=POOL)
def pool_backward_col2im_unfolded(ctx, grad):
    return _pool_backward(ctx, grad, fold=False)


@entry("check_max_pool2d", "max_pool2d_backward", "grad.transpose(1, 0, 2, 3)", also=POOL)
def pool_backward_channel_major(ctx, grad):
    return _pool_backward(ctx, grad, values=grad.transpose(1, 0, 2, 3).reshape(-1))


@entry("check_max_pool2d", "max_pool2d_backward", "folded", also=POOL)
def pool_backward_left_folded(ctx, grad):
    return _pool_backward(ctx, grad, reshape=False)


@entry("check_max_pool2d", "max_pool2d_backward", "kh*kw", also=POOL)
def pool_backward_times_window_size(ctx, grad):
    (kh, kw), _, _ = ctx.params
    return _pool_backward(ctx, grad, values=grad.reshape(-1) * kh * kw)


@entry("check_max_pool2d_forward", "max_pool2d_forward", "kh*kw")
def pool_forward_divided_by_window_size(ctx, x, kernel, stride, padding):
    (kh, kw) = kernel
    return pool_forward(ctx, x, kernel, stride, padding) / (kh * kw)


def _pool_columns(ctx, x, kernel, stride, padding, fold=True):
    """(the window rows of x, padded with -inf, its channels folded or not; the output size)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    image = xpad.reshape(n * c, 1, *xpad.shape[2:]) if fold else xpad
    size = ((xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1)
    return i2c(image, kh, kw, sh, sw), size


@entry("check_max_pool2d_forward", "max_pool2d_forward", "`np.max(windows, axis=0)` reduces across",
       "reduce along axis=1")
def pool_forward_max_across_windows(ctx, x, kernel, stride, padding):
    windows, (ho, wo) = _pool_columns(ctx, x, kernel, stride, padding)
    ctx.argmax = np.argmax(windows, axis=1)
    pooled = np.max(windows, axis=0)
    return pooled.reshape(x.shape[0], x.shape[1], ho, wo)


@entry("check_max_pool2d_forward", "max_pool2d_forward", "channel axis is gone",
       "fold the channels into the batch")
def pool_forward_channels_in_each_row(ctx, x, kernel, stride, padding):
    rows, (ho, wo) = _pool_columns(ctx, x, kernel, stride, padding, fold=False)
    ctx.argmax = rows.argmax(axis=1)
    return rows.max(axis=1).reshape(x.shape[0], ho, wo)


@right("check_max_pool2d_forward", "max_pool2d_forward")
def pool_forward_amax_last_axis(ctx, x, kernel, stride, padding):
    windows, (ho, wo) = _pool_columns(ctx, x, kernel, stride, padding)
    ctx.argmax = np.argmax(windows, -1)
    return np.amax(windows, axis=-1).reshape(x.shape[0], x.shape[1], ho, wo)


@right("check_max_pool2d", "max_pool2d_backward", also=POOL)
def pool_backward_add_at(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    ho, wo = grad.shape[2:]
    a, b = np.divmod(ctx.argmax.reshape(n, c, ho, wo), kw)
    rows = a + sh * np.arange(ho)[:, None]
    columns = b + sw * np.arange(wo)
    out = np.zeros(ctx.padded_shape)
    np.add.at(out, (np.arange(n)[:, None, None, None], np.arange(c)[:, None, None], rows, columns), grad)
    return out[:, :, ph:hp - ph, pw:wp - pw]


# ---- 05 ---------------------------------------------------------------------------------------------
@entry("check_conv_transpose2d_output_size", "conv_transpose2d_output_size", "your sizes follow H_out =")
def ct_size_stride_times_size(size, kernel, stride=1, padding=0, output_padding=0):
    return size * stride + kernel - 1 - 2 * padding + output_padding


@right("check_conv_transpose2d_output_size", "conv_transpose2d_output_size")
def ct_size_expanded(size, kernel, stride=1, padding=0, output_padding=0):
    return size * stride - stride + kernel - padding - padding + output_padding


def _ct_forward(ctx, x, weight, bias, stride, padding, output_padding, bug=""):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    extra = (0, 0) if bug == "op_after" else (oph, opw)
    full = (n, o, (h - 1) * sh + kh + extra[0], (w - 1) * sw + kw + extra[1])
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    cols = x2 @ weight.reshape(c, -1)
    if bias and bug == "bias_in_columns":
        cols = cols + np.repeat(bias[0], kh * kw)
    strides = (sw, sh) if bug == "strides_swapped" else (sh, sw)
    out = c2i(cols, full, kh, kw, *strides)
    out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
    if bug == "op_after":
        out = np.pad(out, ((0, 0), (0, 0), (0, oph), (0, opw)))
    if bias and bug != "bias_in_columns":
        out = out + bias[0][:, None, None]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out


def ct_forward(bug, *words):
    def conv_transpose2d_forward(ctx, x, weight, *bias, stride, padding, output_padding):
        return _ct_forward(ctx, x, weight, bias, stride, padding, output_padding, bug)
    CLASSES.append(Mistake(f"class_ct_forward_{bug}", "check_conv_transpose2d_forward",
                           {"conv_transpose2d_forward": conv_transpose2d_forward}, words))


ct_forward("op_after", "zeros after the crop")
ct_forward("bias_in_columns", "once per window")
ct_forward("strides_swapped", "passes sh and sw swapped")


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "`shift` (",
       "one value per channel", "`shift[:, None, None]`")
def ct_forward_bias_renamed_on_the_width(ctx, x, weight, *bias, stride, padding, output_padding):
    out = _ct_forward(ctx, x, weight, (), stride, padding, output_padding)
    if bias:
        shift = bias[0]
        out = out + shift
    return out


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "`bias[0]` (",
       "meets the width axis", "`bias[0][:, None, None]`")
def ct_forward_bias_added_in_place(ctx, x, weight, *bias, stride, padding, output_padding):
    out = _ct_forward(ctx, x, weight, (), stride, padding, output_padding)
    if bias:
        out += bias[0]
    return out


@right("check_conv_transpose2d_forward", "conv_transpose2d_forward")
def ct_forward_bias_reshaped(ctx, x, weight, *bias, stride, padding, output_padding):
    out = _ct_forward(ctx, x, weight, (), stride, padding, output_padding)
    for b in bias:
        out = out + np.reshape(b, (1, -1, 1, 1))
    ctx.has_bias = bool(bias)
    return out


# ---- later classes: padding mode, values on the failing line, named factors, floors ----------
@entry("check_conv2d_naive", "conv2d_naive", "mode='edge'")
def naive_edge_padded(x, weight, bias=None, stride=1, padding=0):
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="edge")
    return _naive(xpad, weight, bias, stride, 0)


@entry("check_conv2d_forward", "conv2d", "`bias` is None on this line")
def conv2d_bias_always_passed(input, weight, bias=None, stride=1, padding=0):
    from test_checks_catalogue import solution
    function = solution("03_convolution")["Conv2dFunction"]
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    return function.apply(input, weight, bias, stride=pair(stride), padding=pair(padding))


@entry("check_conv2d_forward", "conv2d_forward", "a pair where one number belongs",
       "`(padding, padding)` pairs `padding`")
def conv2d_forward_pair_of_pairs(ctx, x, weight, *bias, stride, padding):
    ph, pw = (padding, padding)
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    return _forward(ctx, xpad, weight, bias, stride, (0, 0))


@entry("check_conv2d_forward", "conv2d_forward", "`ph` is 0 and `pw` is 0",
       "one number where a pair belongs", "write (ph, ph), (pw, pw)")
def conv2d_forward_pad_widths_unpaired(ctx, x, weight, *bias, stride, padding):
    ph, pw = padding
    xpad = np.pad(x, ((0, 0), (0, 0), ph, pw))
    return _forward(ctx, xpad, weight, bias, stride, (0, 0))


@entry("check_conv2d", "conv2d_backward", "multiplied by the batch size N", also=FORWARD)
def conv2d_backward_weight_times_batch(ctx, grad):
    grad_x, grad_weight, *rest = _backward(ctx, grad)
    return (grad_x, grad_weight * grad.shape[0], *rest)


@entry("check_conv2d", "conv2d_backward", "one number, a sum over every axis", also=FORWARD)
def conv2d_backward_bias_total(ctx, grad):
    grad_x, grad_weight, *rest = _backward(ctx, grad)
    return (grad_x, grad_weight) + ((grad.sum(),) if rest else ())


@entry("check_max_pool2d", "max_pool2d_backward", "passes sh=1, sw=1", also=POOL)
def pool_backward_col2im_stride_one(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    rows = np.zeros((len(ctx.argmax), kh * kw))
    rows[np.arange(len(rows)), ctx.argmax] = grad.reshape(-1)
    grad_x = c2i(rows, (n * c, 1, hp, wp), kh, kw, 1, 1).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@entry("check_relative_error", "relative_error", "floored", "0.001")
def re_clipped_scale(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b)).clip(1e-3)))


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "the product fits with",
       "for the second factor")
def ct_forward_weight_matrix_transposed(ctx, x, weight, *bias, stride, padding, output_padding):
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + output_padding[0], (w - 1) * sw + kw + output_padding[1])
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    cols = x2 @ weight.reshape(c, -1).T
    return c2i(cols, full, kh, kw, sh, sw)[:, :, ph:full[2] - ph, pw:full[3] - pw]


@entry("check_max_pool2d_forward", "max_pool2d_forward", "positions of the maxima")
def pool_forward_returns_positions(ctx, x, kernel, stride, padding):
    out = pool_forward(ctx, x, kernel, stride, padding)
    return ctx.argmax.reshape(out.shape).astype(np.float64)


@entry("check_conv_transpose2d", "conv_transpose2d_backward", ".transpose(0, 3, 1, 2) of yours")
def ct_backward_grad_x_channels_last(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    full = np.zeros(ctx.full)
    full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    cols = i2c(full, *ctx.weight.shape[2:], sh, sw)
    grad_x = (cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c)
    grad_weight = (ctx.x2.T @ cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight) + ((grad.sum(axis=(0, 2, 3)),) if ctx.has_bias else ())


@entry("check_conv_transpose2d", "conv_transpose2d_backward", "grad_x was reshaped straight",
       "reshape it to (N, H, W, C), then .transpose(0, 3, 1, 2)")
def ct_backward_grad_x_rows_reshaped_straight(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    full = np.zeros(ctx.full)
    full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    cols = i2c(full, *ctx.weight.shape[2:], sh, sw)
    grad_x = (cols @ ctx.weight.reshape(c, -1).T).reshape(n, c, h, w)
    grad_weight = (ctx.x2.T @ cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight) + ((grad.sum(axis=(0, 2, 3)),) if ctx.has_bias else ())


@entry("check_relative_error", "relative_error", "np.max over axis 1 only")
def re_max_per_row(a, b):
    errors = _errors(a, b)
    return errors.max(axis=1) if errors.ndim == 2 else float(errors.max())


@entry("check_relative_error", "relative_error", "missing on a in the denominator")
def re_a_without_abs(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(a, np.abs(b))
    return float(np.max(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))


@entry("check_conv2d_forward", "conv2d_forward", "padded by 1 on every axis")
def conv2d_forward_pads_every_axis(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ph)
    cols = i2c(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    return out.reshape(x.shape[0], -1, o).transpose(0, 2, 1)


# ---- paddings given to np.pad in another order, stride slices on other axes, formulas fitted --
def _conv_forward_padded(ctx, x, weight, bias, stride, widths):
    """conv2d's forward on x padded with np.pad(x, widths), the rest right."""
    (sh, sw) = stride
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, widths)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    return out + bias[0][:, None, None] if bias else out


@entry("check_conv2d_forward", "conv2d_forward", "(before, after)", "((ph, ph), (pw, pw))")
def conv2d_forward_padding_pair_per_axis(ctx, x, weight, *bias, stride, padding):
    return _conv_forward_padded(ctx, x, weight, bias, stride, ((0, 0), (0, 0), padding, padding))


@entry("check_conv2d_forward", "conv2d_forward", "padded with widths", "(N, C, H, W)")
def conv2d_forward_padding_leading_axes(ctx, x, weight, *bias, stride, padding):
    return _conv_forward_padded(ctx, x, weight, bias, stride, [padding, padding, (0, 0), (0, 0)])


@entry("check_im2col", "im2col", "axes 1 and 2", "windows[:, :, ::sh, ::sw]")
def im2col_strides_one_axis_early(x, kh, kw, sh, sw):
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, ::sh, ::sw]
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)


@entry("check_im2col", "im2col", "the width's kernel size used for the height too")
def im2col_square_windows_of_kw(x, kh, kw, sh, sw):
    return i2c(x, kw, kw, sh, sw)


@entry("check_relative_error", "relative_error", "root mean square")
def re_root_mean_square(a, b):
    return float(np.sqrt(np.mean(_errors(a, b) ** 2)))


@entry("check_relative_error", "relative_error", "Euclidean norm")
def re_sqrt_of_summed_squares(a, b):
    return float(np.sqrt(np.sum(np.square(_errors(a, b)))))


@entry("check_max_pool2d", "max_pool2d_backward", "flat index", "each channel's padded image")
def pool_backward_window_index_per_plane(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    planes = np.zeros((n * c, hp * wp))
    best = ctx.argmax.reshape(n * c, -1)
    for plane in range(n * c):
        for k, f in enumerate(best[plane]):
            planes[plane, f] += grad.reshape(n * c, -1)[plane, k]
    return planes.reshape(n, c, hp, wp)[:, :, ph:hp - ph, pw:wp - pw]


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "stride - 1 zeros")
def ct_forward_stuffed_with_stride_zeros(ctx, x, weight, *bias, stride, padding, output_padding):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    up = np.zeros((n, c, h + (h - 1) * sh, w + (w - 1) * sw))
    for i in range(h):
        for j in range(w):
            up[:, :, i * (sh + 1), j * (sw + 1)] = x[:, :, i, j]
    up = np.pad(up, ((0, 0), (0, 0), (kh - 1 - ph, kh - 1 - ph + oph), (kw - 1 - pw, kw - 1 - pw + opw)))
    k = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(o, -1)
    ho, wo = up.shape[2] - kh + 1, up.shape[3] - kw + 1
    out = (i2c(up, kh, kw, 1, 1) @ k.T).reshape(n, ho, wo, o).transpose(0, 3, 1, 2)
    return out + bias[0][:, None, None] if bias else out


@entry("check_max_pool2d_forward", "max_pool2d_forward", "step count", "q // 2")
def pool_forward_out_indexed_by_position(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    hp, wp = xpad.shape[2:]
    out = np.zeros((n, c, (hp - kh) // sh + 1, (wp - kw) // sw + 1))
    for r in range(0, hp - kh + 1, sh):
        for q in range(0, wp - kw + 1, sw):
            out[:, :, r, q] = xpad[:, :, r:r + kh, q:q + kw].max(axis=(2, 3))
    return out


@entry("check_conv2d", "conv2d_backward", "channels where the columns hold")
def conv2d_backward_col2im_shape_with_o(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    n, _, hp, wp = ctx.padded_shape
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grad_x = c2i(g @ ctx.weight.reshape(o, -1), (n, o, hp, wp), kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:hp - ph, pw:wp - pw]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight, g.sum(axis=0)) if ctx.has_bias else (grad_x, grad_weight)


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "height and width swapped")
def ct_forward_full_size_reversed(ctx, x, weight, *bias, stride, padding, output_padding):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    sizes = [(h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw]
    full = (n, o, *sizes[::-1])
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = c2i(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)
    out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
    return out + bias[0][:, None, None] if bias else out


@entry("check_max_pool2d_forward", "max_pool2d_forward", "the kernel size used as the stride")
def pool_forward_blocks_of_the_padded_input(ctx, x, kernel, stride, padding):
    (kh, kw), (ph, pw) = kernel, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = xpad.shape[2] // kh, xpad.shape[3] // kw
    blocks = xpad[:, :, :ho * kh, :wo * kw].reshape(n, c, ho, kh, wo, kw)
    return blocks.max(axis=(3, 5))


@entry("check_max_pool2d_forward", "max_pool2d_forward", "H // k", "non-overlapping")
def pool_forward_blocks_of_the_input(ctx, x, kernel, stride, padding):
    (kh, kw) = kernel
    n, c, h, w = x.shape
    blocks = x[:, :, :h // kh * kh, :w // kw * kw].reshape(n, c, h // kh, kh, w // kw, kw)
    return blocks.max(axis=(3, 5))


@entry("check_im2col", "im2col", "your rows run over (n, i, j) and your columns over (a, c, b)")
def im2col_channel_between_kernel_axes(x, kh, kw, sh, sw):
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 4, 1, 5).reshape(n * ho * wo, c * kh * kw)


@entry("check_im2col", "im2col", "your rows run over (i, n, j)")
def im2col_rows_with_the_batch_second(x, kh, kw, sh, sw):
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    n, c, ho, wo = win.shape[:4]
    rows = [win[b, :, i, j].ravel() for i in range(ho) for b in range(n) for j in range(wo)]
    return np.array(rows)


@entry("check_col2im", "col2im", "you read cols as laid out (i, n, j, c, a, b)")
def col2im_rows_read_with_the_batch_second(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    for r, (i, b, j) in enumerate(np.ndindex(ho, n, wo)):
        out[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += cols[r].reshape(c, kh, kw)
    return out


@entry("check_col2im", "col2im", "you read cols as laid out (n, i, j, a, c, b)")
def col2im_row_read_with_the_channel_second(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    blocks = cols.reshape(n, ho, wo, kh, c, kw).transpose(0, 1, 2, 4, 3, 5)
    return c2i(blocks.reshape(n * ho * wo, c * kh * kw), shape, kh, kw, sh, sw)


def _col2im_counted(cols, shape, kh, kw, sh, sw, count):
    """col2im with the window counts given by count(size, k, stride)."""
    n, c, h, w = shape
    ho, wo = count(h, kh, sh), count(w, kw, sw)
    blocks = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] += blocks[..., a, b].transpose(0, 3, 1, 2)
    return out


@entry("check_col2im", "col2im", "your reshape asks for", "the stride is ignored",
       "Ho = (H - kh) // sh + 1")
def col2im_count_without_stride(cols, shape, kh, kw, sh, sw):
    return _col2im_counted(cols, shape, kh, kw, sh, sw, lambda size, k, s: size - k + 1)


@entry("check_col2im", "col2im", "your reshape asks for", "the + 1 is missing")
def col2im_count_without_plus_one(cols, shape, kh, kw, sh, sw):
    return _col2im_counted(cols, shape, kh, kw, sh, sw, lambda size, k, s: (size - k) // s)


@right("check_col2im", "col2im")
def col2im_count_from_the_rows(cols, shape, kh, kw, sh, sw):
    return _col2im_counted(cols, shape, kh, kw, sh, sw, lambda size, k, s: len(range(0, size - k + 1, s)))


def _conv_forward_read(ctx, x, weight, bias, stride, padding, layout):
    """conv2d's forward whose product cols @ W is read as laid out `layout` (a string of n, i,
    j, o) and then moved to (N, O, Ho, Wo)."""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    sizes = dict(n=x.shape[0], i=(xpad.shape[2] - kh) // sh + 1, j=(xpad.shape[3] - kw) // sw + 1, o=o)
    cols = i2c(xpad, kh, kw, sh, sw)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    out = (cols @ weight.reshape(o, -1).T).reshape([sizes[k] for k in layout])
    out = out.transpose([layout.index(k) for k in "noij"])
    return out + bias[0][:, None, None] if bias else out


@entry("check_conv2d_forward", "conv2d_forward", "you read the product's values as laid out (i, n, j, o)")
def conv2d_forward_rows_read_with_the_batch_second(ctx, x, weight, *bias, stride, padding):
    return _conv_forward_read(ctx, x, weight, bias, stride, padding, "injo")


@entry("check_conv2d_forward", "conv2d_forward", "you read the product's values as laid out (n, i, o, j)")
def conv2d_forward_channels_read_before_columns(ctx, x, weight, *bias, stride, padding):
    return _conv_forward_read(ctx, x, weight, bias, stride, padding, "nioj")


@right("check_conv2d_forward", "conv2d_forward")
def conv2d_forward_read_through_einsum(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = np.lib.stride_tricks.sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    ctx.cols = i2c(xpad, kh, kw, sh, sw)
    ctx.weight, ctx.padded_shape = weight, xpad.shape
    out = np.einsum("ncijab,ocab->noij", win, weight)
    return out + bias[0][:, None, None] if bias else out


@entry("check_max_pool2d_forward", "max_pool2d_forward", "as laid out (n, i, c, j)")
def pool_forward_maxima_read_channels_third(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols.max(axis=1).reshape(n, ho, c, wo).transpose(0, 2, 1, 3)


@entry("check_max_pool2d", "max_pool2d_backward", "grad.transpose(0, 2, 1, 3).reshape(-1)")
def pool_backward_grad_flattened_rows_before_channels(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw))
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = grad.transpose(0, 2, 1, 3).reshape(-1)
    grad_x = c2i(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@entry("check_im2col", "im2col", "reshape it to that shape first", ".ravel()")
def im2col_window_assigned_unflattened(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((n * ho * wo, c * kh * kw))
    for r, (b, i, j) in enumerate(np.ndindex(n, ho, wo)):
        out[r] = x[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
    return out


@entry("check_col2im", "col2im", "holds the right number of entries", ".reshape(")
def col2im_row_added_unreshaped(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    for r, (b, i, j) in enumerate(np.ndindex(n, ho, wo)):
        out[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += cols[r]
    return out


@entry("check_conv2d_forward", "conv2d_forward", "np.dot(a, b) pairs", "the second needs its .T")
def conv2d_forward_dot_without_transpose(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = np.dot(cols, weight.reshape(o, -1)).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    return out + bias[0][:, None, None] if bias else out


def _conv_forward_bare(x, weight, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    return (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@entry("check_conv2d_forward", "conv2d_forward", "the tuple that `*bias` packs", "`bias[0]`")
def conv2d_forward_packed_bias_indexed(ctx, x, weight, *bias, stride, padding):
    out = _conv_forward_bare(x, weight, stride, padding)
    return out + bias[:, None, None] if bias else out


@entry("check_conv2d_forward", "conv2d_forward", "the tuple that `*bias` packs", "`bias[0]`")
def conv2d_forward_packed_bias_added(ctx, x, weight, *bias, stride, padding):
    out = _conv_forward_bare(x, weight, stride, padding)
    return out + bias if bias else out
