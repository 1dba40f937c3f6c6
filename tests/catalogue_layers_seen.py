"""Wrong answers for lessons 02-05 of the classes that the last fresh set found only generically
named (a nudge of the wrong size, a kernel picked by the sample's index, an output made like
the input, height and width unpacked in the wrong order, a loop bound taken from the other
kernel size, a one-sided crop, a bias gradient summed over the wrong axes, a reshape read in
another layout and then transposed; later: a bias replaced by its total or mean, an output
scaled before or after the bias, a padding of another constant, a maximum across channels, a
backward that returns window rows without col2im, one value for every maximum, all-zero
estimates although f saw the nudges, a two-sided matrix transform written on one side), and
right answers written differently; entries follow tests/test_checks_catalogue.py."""
import numpy as np
from minitorch_unet.convolution import col2im as c2i, im2col as i2c
from minitorch_unet import winograd
from test_checks_catalogue import Mistake

SEEN: list[Mistake] = []
RIGHT: list[tuple[str, str, dict]] = []


def entry(grade, function, *words, also=None):
    def add(fn):
        SEEN.append(Mistake(f"seen_{fn.__name__}", grade, {function: fn, **(also or {})}, words))
        return fn
    return add


def right(grade, function, also=None):
    def add(fn):
        RIGHT.append((f"seen_{fn.__name__}", grade, {function: fn, **(also or {})}))
        return fn
    return add


# ---- 02: numerical_gradient ---------------------------------------------------------------------
def _stepped(f, x, eps, up, down, entries=None):
    grad = np.zeros(x.shape)
    for i in entries if entries is not None else np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + up * eps
        plus = f(x)
        x[i] = saved - down * eps
        minus = f(x)
        x[i] = saved
        grad[i] = (plus - minus) / (2 * eps)
    return grad


@entry("check_numerical_gradient", "numerical_gradient", "nudged by +1 eps, -3 eps")
def ng_minus_side_three_eps(f, x, eps=1e-6):
    return _stepped(f, x, eps, 1, 3)


@entry("check_numerical_gradient", "numerical_gradient", "nudged by +0.5 eps, -0.5 eps")
def ng_half_steps(f, x, eps=1e-6):
    return _stepped(f, x, eps, 0.5, 0.5)


@right("check_numerical_gradient", "numerical_gradient")
def ng_with_copies(f, x, eps=1e-6):
    """Nudges copies of x (x itself never changes)."""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


# ---- 03: conv2d_naive ---------------------------------------------------------------------------
def _naive(x, weight, bias, stride, padding, kernel_of=None, sample_of=None, out=None):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    result = np.zeros((n, o, ho, wo)) if out is None else out
    for b in range(n):
        for k in range(min(o, result.shape[1])):
            kern = weight[kernel_of(b, k) if kernel_of else k]
            src = sample_of(b, k) if sample_of else b
            for i in range(min(ho, result.shape[2])):
                for j in range(min(wo, result.shape[3])):
                    win = xpad[src, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    result[b, k, i, j] = np.sum(win * kern) + (0 if bias is None else bias[k])
    return result


@entry("check_conv2d_naive", "conv2d_naive", "kernel weight[n]", "weight[o]")
def naive_kernel_by_batch_index(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, kernel_of=lambda b, k: b % weight.shape[0])


@entry("check_conv2d_naive", "conv2d_naive", "from sample x[o]", "x[n]")
def naive_sample_by_channel_index(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, sample_of=lambda b, k: k % x.shape[0])


@entry("check_conv2d_naive", "conv2d_naive", "the input's own shape", "(N, O, Ho, Wo)")
def naive_output_as_empty_like_x(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, out=np.empty_like(x, dtype=np.float64))


@right("check_conv2d_naive", "conv2d_naive")
def naive_with_einsum(x, weight, bias=None, stride=1, padding=0):
    """Windows with sliding_window_view, then one einsum."""
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("ncijab,ocab->noij", win, weight)
    return out if bias is None else out + bias[None, :, None, None]


# ---- 03: col2im ---------------------------------------------------------------------------------
def _col2im(cols, shape, kh, kw, sh, sw, rows=None, columns=None, size=None):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    blocks = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(size or shape)
    for a in range(rows if rows is not None else kh):
        for b in range(columns if columns is not None else kw):
            out[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] += blocks[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return out


@entry("check_col2im", "col2im", "column offsets b runs over range(kh)")
def col2im_window_loops_offsets_over_kh(cols, shape, kh, kw, sh, sw):
    """Window by window, every column offset in range(kh) (kh < kw drops the last ones)."""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    blocks = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape)
    for i in range(ho):
        for j in range(wo):
            for a in range(kh):
                for b in range(min(kh, kw)):
                    out[:, :, i * sh + a, j * sw + b] += blocks[:, i, j, :, a, b]
    return out


@entry("check_col2im", "col2im", "height and width swapped", "n, c, h, w = shape")
def col2im_returned_as_n_c_w_h(cols, shape, kh, kw, sh, sw):
    """Right sums, but the return reshapes with the names unpacked as n, c, w, h = shape."""
    n, c, w, h = shape
    return _col2im(cols, shape, kh, kw, sh, sw).reshape(n, c, h, w)


# ---- 05: conv_transpose2d -----------------------------------------------------------------------
def _ct_forward(ctx, x, weight, bias, stride, padding, output_padding, crop=None):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = c2i(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)
    out = crop(out, full) if crop else out[:, :, ph:full[2] - ph, pw:full[3] - pw]
    if bias:
        out = out + bias[0][:, None, None]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "cut off the top/left",
       "EACH side")
def ct_forward_crop_start_only(ctx, x, weight, *bias, stride, padding, output_padding):
    (ph, pw) = padding
    return _ct_forward(ctx, x, weight, bias, stride, padding, output_padding,
                       crop=lambda out, full: out[:, :, 2 * ph:, 2 * pw:])


def _ct_backward(ctx, grad, bias_axes=(0, 2, 3), weight_layout=False):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    grad_full = np.zeros(ctx.full)
    grad_full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    grad_cols = i2c(grad_full, kh, kw, sh, sw)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = ctx.x2.T @ grad_cols
    grad_weight = grad_weight.reshape(o, kh, c, kw).transpose(2, 0, 1, 3) if weight_layout \
        else grad_weight.reshape(ctx.weight.shape)
    return (grad_x, grad_weight) + ((grad.sum(axis=bias_axes),) if ctx.has_bias else ())


@entry("check_conv_transpose2d", "conv_transpose2d_backward", "summed over axes (0, 3) only",
       "grad.sum(axis=(0, 2, 3))")
def ct_backward_bias_over_batch_and_width(ctx, grad):
    return _ct_backward(ctx, grad, bias_axes=(0, 3))


@entry("check_conv_transpose2d", "conv_transpose2d_backward", "memory read as shape",
       "without the transpose")
def ct_backward_weight_read_o_kh_c_kw(ctx, grad):
    return _ct_backward(ctx, grad, weight_layout=True)


# ---- 03 and 05: wrappers that hand values over under each other's names -------------------------
def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


@entry("check_conv2d_forward", "conv2d", "stride and padding swapped", "under its own name")
def conv2d_hands_stride_and_padding_swapped(input, weight, bias=None, stride=1, padding=0):
    from test_checks_catalogue import solution
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return solution("03_convolution")["Conv2dFunction"].apply(
        *tensors, stride=_pair(padding), padding=_pair(stride))


# ---- 03: winograd_tile --------------------------------------------------------------------------
A_T, B_T, G = (np.array(m, dtype=np.float64) for m in (winograd.A_T, winograd.B_T, winograd.G))


@entry("check_winograd_tile", "winograd_tile", "`A_T` (2, 4) and `G` (4, 3) exchanged")
def wino_output_and_kernel_transforms_exchanged(d, g):
    return G @ ((A_T @ g @ A_T.T) * (B_T @ d @ B_T.T)).sum(axis=0) @ G.T


# ---- 03 and 05: a function of each product, the pixels of x in another order --------------------
@entry("check_conv2d_naive", "conv2d_naive", "the square of each product")
def naive_squared_products(x, weight, bias=None, stride=1, padding=0):
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("ncijab,ocab->noij", win ** 2, weight ** 2)
    return out if bias is None else out + bias[None, :, None, None]


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "x.transpose(2, 3, 0, 1)",
       "x.transpose(0, 2, 3, 1).reshape(-1, C)")
def ct_forward_pixels_before_samples(ctx, x, weight, *bias, stride, padding, output_padding):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(2, 3, 0, 1).reshape(-1, c)
    out = c2i(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)[:, :, ph:full[2] - ph, pw:full[3] - pw]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out + bias[0][:, None, None] if bias else out


# ---- 03: im2col and col2im rows at the wrong index ----------------------------------------------
@entry("check_im2col", "im2col", "is written to row 7*i (Wo*i) + j", "42*n + 7*i + j")
def im2col_row_without_sample_offset(x, kh, kw, sh, sw):
    """Preallocates cols and writes window (b, i, j) to row i*wo + j: every sample on sample 0's rows."""
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = np.zeros((n * ho * wo, c * kh * kw))
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                cols[i * wo + j] = x[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(-1)
    return cols


@entry("check_col2im", "col2im", "gets row 7*i (Wo*i) + j", "42*n + 7*i + j")
def col2im_row_without_sample_offset(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                out[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += cols[i * wo + j].reshape(c, kh, kw)
    return out


# ---- 03: output sizes with a slip, seen only through a failed reshape ---------------------------
@entry("check_conv2d_forward", "conv2d_forward", "the stride is ignored", "9 x 10 output pixels")
def conv2d_forward_sizes_without_stride(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = xpad.shape[2] - kh + 1, xpad.shape[3] - kw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T + (bias[0] if bias else 0)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@entry("check_max_pool2d_forward", "max_pool2d_forward", "the stride is ignored")
def pool_forward_sizes_without_stride(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = h + 2 * ph - kh + 1, w + 2 * pw - kw + 1
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols.max(axis=1).reshape(n, c, ho, wo)


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "the input's 3 channels",
       "O = weight.shape[1]")
def ct_forward_full_from_x_shape(ctx, x, weight, *bias, stride, padding, output_padding):
    """Builds the full-size output as x.shape with the spatial sizes replaced."""
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    kh, kw = weight.shape[2:]
    full = x.shape[:2] + ((h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = c2i(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)[:, :, ph:full[2] - ph, pw:full[3] - pw]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out + bias[0][:, None, None] if bias else out


# ---- 03/04: a whole term changed (a bias replaced or rescaled, a maximum across channels) ----------
def _conv_loops(x, weight, bias, stride, padding, scale=1.0, bias_as=None):
    """conv2d by loops; scale multiplies each window's sum, bias_as(bias, o) is what is added."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (xpad.shape[2] - kh) // stride + 1, (xpad.shape[3] - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    win = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, ch, i, j] = scale * np.sum(win * weight[ch])
            if bias is not None:
                out[item, ch] += bias_as(bias, ch) if bias_as else bias[ch]
    return out


@entry("check_conv2d_naive", "conv2d_naive", "bias's mean")
def naive_bias_mean(x, weight, bias=None, stride=1, padding=0):
    return _conv_loops(x, weight, bias, stride, padding, bias_as=lambda b, o: b.mean())


@entry("check_conv2d_naive", "conv2d_naive", "multiplied by 0.5", "before the bias")
def naive_half_sum(x, weight, bias=None, stride=1, padding=0):
    return _conv_loops(x, weight, bias, stride, padding, scale=0.5)


@entry("check_conv2d_forward", "conv2d_forward", "bias included", "multiplied by 3")
def conv_forward_tripled(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T + (bias[0] if bias else 0)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return 3 * out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@entry("check_max_pool2d_forward", "max_pool2d_forward", "all C channels")
def pool_forward_channel_max(ctx, x, kernel, stride, padding):
    """Pools x.max(axis=1) (the channels first reduced) and repeats it for every channel."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    top = xpad.max(axis=1, keepdims=True)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    m = i2c(top, kh, kw, sh, sw).max(axis=1).reshape(n, 1, ho, wo)
    return np.repeat(m, c, axis=1)


def _conv_backward_rows(ctx, grad, transposed=False):
    """conv2d backward whose input gradient is the window rows, never passed through col2im."""
    o = ctx.weight.shape[0]
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    rows = ctx.weight.reshape(o, -1).T @ g.T if transposed else g @ ctx.weight.reshape(o, -1)
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    return (rows, grad_weight) + ((g.sum(axis=0),) if ctx.has_bias else ())


@entry("check_conv2d", "conv2d_backward", "matrix of window rows", "col2im")
def conv_backward_rows_returned(ctx, grad):
    return _conv_backward_rows(ctx, grad)


@entry("check_conv2d", "conv2d_backward", "transposed matrix of window rows", "col2im")
def conv_backward_rows_transposed(ctx, grad):
    return _conv_backward_rows(ctx, grad, transposed=True)


@entry("check_max_pool2d", "max_pool2d_backward", "matrix of window rows", "col2im")
def pool_backward_rows_returned(ctx, grad):
    (kh, kw), _, _ = ctx.params
    rows = np.zeros((len(ctx.argmax), kh * kw))
    np.add.at(rows, (np.arange(len(rows)), ctx.argmax), grad.reshape(-1))
    return rows


# ---- 02: all-zero estimates although f saw the nudges ------------------------------------------------
@entry("check_numerical_gradient", "numerical_gradient", "nudged by -1 eps", "+ eps and by - eps")
def ng_minus_twice(f, x, eps=1e-6):
    """Both f values taken at x - eps (the + nudge written as a second - nudge)."""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved - eps
        plus = f(x)
        x[i] = saved - eps
        minus = f(x)
        x[i] = saved
        grad[i] = (plus - minus) / (2 * eps)
    return grad


@entry("check_numerical_gradient", "numerical_gradient", "never stored in grad")
def ng_stored_in_copy(f, x, eps=1e-6):
    """Writes each estimate into grad.flatten(), a copy."""
    grad = np.zeros(x.shape)
    for k, i in enumerate(np.ndindex(x.shape)):
        saved = x[i]
        x[i] = saved + eps
        plus = f(x)
        x[i] = saved - eps
        minus = f(x)
        x[i] = saved
        grad.flatten()[k] = (plus - minus) / (2 * eps)
    return grad


# ---- 03: a two-sided transform written on one side only (a broadcast error) ---------------------------
@entry("check_winograd_tile", "winograd_tile", "one side only", "`g_m @ g @ g_m.T`")
def wino_kernel_right_side_only(d, g):
    b_t, g_m, a_t = (np.array(m, dtype=np.float64) for m in (winograd.B_T, winograd.G, winograd.A_T))
    u = g @ g_m.T
    v = b_t @ d @ b_t.T
    return a_t @ (u * v).sum(axis=0) @ a_t.T


@entry("check_winograd_tile", "winograd_tile", "one side only", "`g_m @ g @ g_m.T`")
def wino_kernel_left_side_only_inline(d, g):
    b_t, g_m, a_t = (np.array(m, dtype=np.float64) for m in (winograd.B_T, winograd.G, winograd.A_T))
    return a_t @ ((g_m @ g) * (b_t @ d @ b_t.T)).sum(axis=0) @ a_t.T


# ---- 03: the padding filled with another value than 0 ---------------------------------------------------
@entry("check_conv2d_forward", "conv2d_forward", "filled with -1", "constant_values=0")
def conv_forward_pad_minus_one(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-1)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T + (bias[0] if bias else 0)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


# ---- 05: the transposed convolution's output scaled, or its bias replaced ----------------------------
def _ct_forward_scaled(ctx, x, weight, bias, stride, padding, output_padding, scale=1.0, bias_of=None):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = scale * c2i(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)[:, :, ph:full[2] - ph, pw:full[3] - pw]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    if bias:
        out = out + (bias_of(bias[0]) if bias_of else bias[0][:, None, None])
    return out


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "multiplied by 0.25", "before the bias")
def ct_forward_quartered(ctx, x, weight, *bias, stride, padding, output_padding):
    return _ct_forward_scaled(ctx, x, weight, bias, stride, padding, output_padding, scale=0.25)


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "bias[0]")
def ct_forward_first_bias(ctx, x, weight, *bias, stride, padding, output_padding):
    return _ct_forward_scaled(ctx, x, weight, bias, stride, padding, output_padding, bias_of=lambda b: b[0])


# ---- 04: one value for every maximum ------------------------------------------------------------------
@entry("check_max_pool2d", "max_pool2d_backward", "grad.mean()")
def pool_backward_mean_everywhere(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    rows = np.zeros((len(ctx.argmax), kh * kw))
    rows[np.arange(len(rows)), ctx.argmax] = grad.mean()
    grad_x = c2i(rows, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]
