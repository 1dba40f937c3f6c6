"""Wrong answers for lessons 02-05 that crash in the learner's own line, each with the usual
reason for that error there (an empty *bias tuple indexed, a stride slice on the batch and
channel axes, a weight unpacked in another axis order, max-pool's channels left in im2col's
rows, a transposed conv's gradient windowed without its full-size embedding), and near misses
whose diagnosis must say exactly what was done (an empty [p:-p] slice, a bias gradient summed
over the wrong axis, a missing channel sum, rows of x nudged at once, a size rule without the
padding of a padded input); right answers written differently. Entries follow
tests/test_checks_catalogue.py."""
import numpy as np
from minitorch_unet.convolution import col2im as c2i, im2col as i2c
from minitorch_unet.winograd import A_T, B_T, G
from test_checks_catalogue import Mistake

A_T, B_T, G = (np.array(m, dtype=np.float64) for m in (A_T, B_T, G))
CRASHES: list[Mistake] = []
RIGHT: list[tuple[str, str, dict]] = []
windows_of = np.lib.stride_tricks.sliding_window_view


def entry(grade, function, *words, also=None):
    def add(fn):
        CRASHES.append(Mistake(f"crash_{fn.__name__}", grade, {function: fn, **(also or {})}, words))
        return fn
    return add


def right(grade, function, also=None):
    def add(fn):
        RIGHT.append((f"crash_{fn.__name__}", grade, {function: fn, **(also or {})}))
        return fn
    return add


# ---- an empty *bias tuple indexed ------------------------------------------------------------------
@entry("check_conv2d_forward", "conv2d_forward", "exercise 4 (`conv2d_forward`)",
       "empty tuple ()", "`bias is not None` is always true", "`if bias:`")
def conv_forward_bias_is_not_none(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    out = i2c(xpad, kh, kw, sh, sw) @ weight.reshape(o, -1).T
    if bias is not None:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = i2c(xpad, kh, kw, sh, sw), weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward",
       "exercise 2 (`conv_transpose2d_forward`)", "empty tuple ()", "use it only under `if b:`")
def transposed_forward_bias_always_added(ctx, x, weight, *b, stride, padding, output_padding):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = c2i(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)
    out = out[:, :, ph:full[2] - ph, pw:full[3] - pw] + b[0][:, None, None]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(b)
    return out


@right("check_conv2d_forward", "conv2d_forward")
def conv_forward_bias_tested_by_length(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if len(bias) == 1:
        out += bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, len(bias) == 1
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


# ---- a stride slice on the batch and channel axes -----------------------------------------------
@entry("check_im2col", "im2col", "`[::sh, ::sw]`", "the batch and the channels",
       "`[:, :, ::sh, ::sw]`")
def im2col_stride_on_batch_and_channels(x, kh, kw, sh, sw):
    n, c = x.shape[:2]
    windows = windows_of(x, (kh, kw), axis=(2, 3))[::sh, ::sw]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, c * kh * kw)


@entry("check_max_pool2d_forward", "max_pool2d_forward", "`[::step_h, ::step_w]`",
       "the batch and the channels", "`[:, :, ::step_h, ::step_w]`")
def pool_forward_stride_on_batch_and_channels(ctx, x, kernel, stride, padding):
    (kh, kw), (step_h, step_w), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // step_h + 1, (xpad.shape[3] - kw) // step_w + 1
    grid = windows_of(xpad, (kh, kw), axis=(2, 3))[::step_h, ::step_w]
    rows = grid.reshape(n * c * ho * wo, kh * kw)
    ctx.argmax = rows.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return rows.max(axis=1).reshape(n, c, ho, wo)


@right("check_im2col", "im2col")
def im2col_strided_view_of_the_grid(x, kh, kw, sh, sw):
    n, c = x.shape[:2]
    grid = windows_of(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return grid.transpose(0, 2, 3, 1, 4, 5).reshape(-1, c * kh * kw)


# ---- a weight unpacked in another axis order --------------------------------------------------------
def _transposed_forward(ctx, x, weight, bias, stride, padding, output_padding, o, c, kh, kw):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, _, h, w = x.shape
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = c2i(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)[:, :, ph:full[2] - ph, pw:full[3] - pw]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out + bias[0][:, None, None] if bias else out


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward",
       "`_transposed_forward` in exercise 2 (`conv_transpose2d_forward`)",
       "`out_channels, in_channels, kh, kw = weight.shape`", "(C_in, C_out, kh, kw)",
       "`in_channels, out_channels, kh, kw = weight.shape`")
def transposed_forward_unpacks_conv_layout(ctx, x, weight, *bias, stride, padding, output_padding):
    out_channels, in_channels, kh, kw = weight.shape
    x2 = x.transpose(0, 2, 3, 1).reshape(-1, in_channels)
    return _transposed_forward(ctx, x, weight, bias, stride, padding, output_padding,
                               out_channels, x2.shape[1], kh, kw)


@entry("check_conv_transpose2d", "conv_transpose2d_backward", "`o, c, kh, kw = ctx.weight.shape`",
       "`c` holds", "`c, o, kh, kw = ctx.weight.shape`")
def transposed_backward_unpacks_conv_layout(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, _, h, w = ctx.xshape
    o, c, kh, kw = ctx.weight.shape
    grad_full = np.zeros(ctx.full)
    grad_full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    grad_cols = i2c(grad_full, kh, kw, sh, sw)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight) + ((grad.sum(axis=(0, 2, 3)),) if ctx.has_bias else ())


@entry("check_conv2d_forward", "conv2d_forward", "`c, o, kh, kw = weight.shape`",
       "(C_out, C_in, kh, kw)", "`o, c, kh, kw = weight.shape`")
def conv_forward_unpacks_transposed_layout(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    c, o, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@entry("check_conv2d", "conv2d_backward", "`c, o, kh, kw = ctx.weight.shape`", "`c` holds 5 (C_out)",
       "`o, c, kh, kw = ctx.weight.shape`")
def conv_backward_unpacks_transposed_layout(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    c, o, kh, kw = ctx.weight.shape
    hp, wp = ctx.padded_shape[2:]
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grad_x = c2i(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    return (grad_x[:, :, ph:hp - ph, pw:wp - pw], grad_weight) + \
        ((g.sum(axis=0),) if ctx.has_bias else ())


@entry("check_conv2d_forward", "conv2d_forward", "`kh, kw, o, c = weight.shape`",
       "(C_out, C_in, kh, kw) = ", "`o, c, kh, kw = weight.shape`")
def conv_forward_unpacks_kernel_first(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    kh, kw, o, c = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@right("check_conv_transpose2d_forward", "conv_transpose2d_forward")
def transposed_forward_with_long_names(ctx, x, weight, *bias, stride, padding, output_padding):
    c_in, c_out, kh, kw = weight.shape
    return _transposed_forward(ctx, x, weight, bias, stride, padding, output_padding,
                               c_out, c_in, kh, kw)


# ---- max-pool's channels left in im2col's rows ----------------------------------------------------
@entry("check_max_pool2d_forward", "max_pool2d_forward", "exercise 1 (`max_pool2d_forward`)",
       "im2col got `xpad`", "the max mixes them", "fold the channels into the batch")
def pool_forward_channels_not_folded(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols.max(axis=1).reshape(n, c, ho, wo)


@right("check_max_pool2d_forward", "max_pool2d_forward")
def pool_forward_channels_in_the_last_axis(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw).reshape(n * ho * wo, c, kh * kw)
    ctx.argmax = cols.transpose(1, 0, 2).reshape(-1, kh * kw).argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols.max(axis=2).reshape(n, ho, wo, c).transpose(0, 3, 1, 2)


# ---- a transposed conv's gradient windowed without its embedding ------------------------------------
@entry("check_conv_transpose2d", "conv_transpose2d_backward", "im2col runs on `grad` itself",
       "zeros of the uncropped size", "[padding : padding + ")
def transposed_backward_windows_grad_itself(ctx, grad):
    (sh, sw) = ctx.stride
    n, c, h, w = ctx.xshape
    kh, kw = ctx.weight.shape[2:]
    grad_cols = i2c(grad, kh, kw, sh, sw)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight) + ((grad.sum(axis=(0, 2, 3)),) if ctx.has_bias else ())


@right("check_conv_transpose2d", "conv_transpose2d_backward")
def transposed_backward_embeds_with_np_pad(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    kh, kw = ctx.weight.shape[2:]
    extra = [f - g - 2 * p for f, g, p in zip(ctx.full[2:], grad.shape[2:], (ph, pw))]
    grad_full = np.pad(grad, ((0, 0), (0, 0), (ph, ph + extra[0]), (pw, pw + extra[1])))
    grad_cols = i2c(grad_full, kh, kw, sh, sw)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    return [grad_x, grad_weight] + ([grad.sum(axis=(0, 2, 3))] if ctx.has_bias else [])


# ---- near misses: an empty [p:-p] slice -------------------------------------------------------------
def _pool_forward_saving_argmax(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)


@entry("check_max_pool2d", "max_pool2d_backward", "x[p:-p] is empty when p = 0")
def pool_backward_crops_minus_padding(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    rows = np.zeros((len(ctx.argmax), kh * kw))
    rows[np.arange(len(ctx.argmax)), ctx.argmax] = grad.reshape(-1)
    grad_x = c2i(rows, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:-ph, pw:-pw]


@entry("check_max_pool2d", "max_pool2d_backward", "x[p:-p] is empty when p = 0")
def pool_backward_crops_minus_padding_rows_only(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    rows = np.zeros((len(ctx.argmax), kh * kw))
    np.add.at(rows, (np.arange(len(ctx.argmax)), ctx.argmax), grad.reshape(-1))
    grad_x = c2i(rows, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:-ph, pw:wp - pw]


@right("check_max_pool2d", "max_pool2d_backward")
def pool_backward_with_add_at(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    rows = np.zeros((len(ctx.argmax), kh * kw))
    np.add.at(rows, (np.arange(len(ctx.argmax)), ctx.argmax), grad.reshape(-1))
    grad_x = c2i(rows, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


# ---- near misses: a bias gradient summed over the wrong axis ---------------------------------------
def _conv_backward(ctx, grad, bias_of):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    hp, wp = ctx.padded_shape[2:]
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grad_x = c2i(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    return (grad_x[:, :, ph:hp - ph, pw:wp - pw], grad_weight) + \
        ((bias_of(g),) if ctx.has_bias else ())


@entry("check_conv2d", "conv2d_backward", "summed over axis 1, its 5 channels",
       "sum that matrix over axis 0")
def conv_backward_bias_over_channels(ctx, grad):
    return _conv_backward(ctx, grad, lambda g: g.sum(axis=1))


@entry("check_conv2d", "conv2d_backward", "summed over axis 1", "sum that matrix over axis 0")
def conv_backward_bias_over_channels_by_loop(ctx, grad):
    return _conv_backward(ctx, grad, lambda g: np.array([row.sum() for row in g]))


@entry("check_conv_transpose2d", "conv_transpose2d_backward", "summed over axis 1",
       "sum that matrix over axis 0")
def transposed_backward_bias_over_channels(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    grad_full = np.zeros(ctx.full)
    grad_full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    grad_cols = i2c(grad_full, kh, kw, sh, sw)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    bias = grad.transpose(0, 2, 3, 1).reshape(-1, o).sum(axis=1)
    return (grad_x, grad_weight) + ((bias,) if ctx.has_bias else ())


@right("check_conv2d", "conv2d_backward")
def conv_backward_bias_by_einsum(ctx, grad):
    return _conv_backward(ctx, grad, lambda g: np.einsum("ro->o", g))


# ---- near misses: Winograd's channel sum missing ---------------------------------------------------
@entry("check_winograd_tile", "winograd_tile", "C=3", "got (3, 2, 2)",
       "the sum over the channels is missing")
def winograd_blocks_per_channel(d, g):
    return np.stack([A_T @ ((G @ g[k] @ G.T) * (B_T @ d[k] @ B_T.T)) @ A_T.T
                     for k in range(d.shape[0])])


@right("check_winograd_tile", "winograd_tile")
def winograd_channel_loop(d, g):
    m = np.zeros((4, 4))
    for k in range(d.shape[0]):
        m += (G @ g[k] @ G.T) * (B_T @ d[k] @ B_T.T)
    return A_T @ m @ A_T.T


# ---- near misses: rows of x, or all of x, nudged at once --------------------------------------------
@entry("check_numerical_gradient", "numerical_gradient", "moves 3 entries of x at once",
       "a whole row", "one entry at a time")
def numgrad_nudges_rows(f, x, eps=1e-6):
    grad = np.zeros(x.shape)
    for i, row in enumerate(x):
        saved = row.copy()
        x[i] = saved + eps
        up = f(x)
        x[i] = saved - eps
        down = f(x)
        x[i] = saved
        grad[i] = (up - down) / (2 * eps)
    return grad


@entry("check_numerical_gradient", "numerical_gradient", "moves every entry of x at once",
       "one entry at a time")
def numgrad_nudges_all_of_x(f, x, eps=1e-6):
    return np.full(x.shape, (f(x + eps) - f(x - eps)) / (2 * eps))


# ---- near misses: sizes without the padding of a padded input ---------------------------------------
@entry("check_conv2d_naive", "conv2d_naive", "(H - k) // stride + 1",
       "the right output's first rows and columns", "(H + 2*padding - kh) // stride + 1")
def naive_sized_without_padding(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", window, weight)
    return out + (0 if bias is None else bias[None, :, None, None])


@entry("check_max_pool2d_forward", "max_pool2d_forward", "(H - k) // stride + 1",
       "the right output's first rows and columns")
def pool_forward_sized_without_padding(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    rows = cols.max(axis=1).reshape(n, c, (xpad.shape[2] - kh) // sh + 1, -1)
    return rows[:, :, :ho, :wo]


# What the messages of some entries must not say: a generic rule or a fix that is not theirs.
UNSAID = {
    "crash_naive_sized_without_padding": "pad the input",
    "crash_pool_forward_sized_without_padding": "pad the input",
    "crash_winograd_blocks_per_channel": "reshape to (2, 2)",
    "crash_pool_backward_crops_minus_padding": "cut off each side",
    "crash_pool_forward_channels_not_folded": "reshape keeps the number of values",
    "crash_transposed_backward_windows_grad_itself": "reshape keeps the number of values",
    "crash_im2col_stride_on_batch_and_channels": "reshape keeps the number of values",
    "crash_conv_forward_unpacks_transposed_layout": "the product fits with",
}
