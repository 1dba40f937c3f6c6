"""Wrong answers for lessons 02-05 of the classes that a fresh set measured before found
unnamed (a window start shifted by the padding, col2im's column offset taken from the row's,
an earlier call with swapped arguments that fails only later, an argmax over the wrong axis,
a height padding used for the width), and right answers written differently; entries follow
tests/test_checks_catalogue.py."""
import numpy as np
from minitorch_unet.convolution import col2im as c2i, im2col as i2c
from test_checks_catalogue import Mistake

LEARNED: list[Mistake] = []
RIGHT: list[tuple[str, str, dict]] = []


def entry(grade, function, *words, also=None):
    def add(fn):
        LEARNED.append(Mistake(f"learned_{fn.__name__}", grade, {function: fn, **(also or {})},
                               words))
        return fn
    return add


def right(grade, function, also=None):
    def add(fn):
        RIGHT.append((f"learned_{fn.__name__}", grade, {function: fn, **(also or {})}))
        return fn
    return add


# ---- 02: numerical_gradient and relative_error --------------------------------------------------
def _differences(f, x, eps, combine, entries=None):
    grad = np.zeros(x.shape)
    for i in entries if entries is not None else np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        up = f(x)
        x[i] = saved - eps
        down = f(x)
        x[i] = saved
        grad[i] = combine(up - down, eps)
    return grad


@entry("check_numerical_gradient", "numerical_gradient", "divided by 2 (", "2 * eps")
def ng_divided_by_two_only(f, x, eps=1e-6):
    return _differences(f, x, eps, lambda d, e: d / 2)


@entry("check_numerical_gradient", "numerical_gradient", "divided by 4 * eps", "half the gradient")
def ng_divided_by_four_eps(f, x, eps=1e-6):
    return _differences(f, x, eps, lambda d, e: d / (4 * e))


@entry("check_numerical_gradient", "numerical_gradient", "never divided")
def ng_difference_only(f, x, eps=1e-6):
    return _differences(f, x, eps, lambda d, e: d)


@entry("check_numerical_gradient", "numerical_gradient", "entries are 0", "np.ndindex")
def ng_even_flat_indices_only(f, x, eps=1e-6):
    """Steps through the flat indices two at a time (range(0, x.size, 2))."""
    every_other = [np.unravel_index(k, x.shape) for k in range(0, x.size, 2)]
    return _differences(f, x, eps, lambda d, e: d / (2 * e), entries=every_other)


@entry("check_numerical_gradient", "numerical_gradient", "memory order", "x.shape")
def ng_stacked_flat(f, x, eps=1e-6):
    return np.hstack([_differences(f, x, eps, lambda d, e: d / (2 * e))[i] for i in
                      np.ndindex(x.shape[:1])]) if x.ndim > 1 else \
        _differences(f, x, eps, lambda d, e: d / (2 * e))


def _relative(a, b, scale_of, guard=lambda s: np.where(s == 0, 1.0, s)):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / guard(scale_of(np.abs(a), np.abs(b)))))


@entry("check_relative_error", "relative_error", "min(|a|, |b|)")
def re_smaller_side_guarded(a, b):
    return _relative(a, b, np.minimum)


@entry("check_relative_error", "relative_error", "sqrt(a**2 + b**2)")
def re_euclidean_size(a, b):
    return _relative(a, b, np.hypot)


@entry("check_relative_error", "relative_error", "sum |a - b| / (sum |a| + sum |b|)")
def re_totals_over_sizes(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    total = np.abs(a).sum() + np.abs(b).sum()
    return 0.0 if total == 0 else float(np.abs(a - b).sum() / total)


@entry("check_relative_error", "relative_error", "whole number")
def re_rounded_to_int(a, b):
    return round(_relative(a, b, np.maximum))


@entry("check_relative_error", "relative_error", "||a| - |b||")
def re_sizes_compared(a, b):
    a, b = np.abs(np.asarray(a, dtype=np.float64)), np.abs(np.asarray(b, dtype=np.float64))
    scale = np.maximum(a, b)
    return float(np.max(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))


# ---- 03: conv2d_naive ---------------------------------------------------------------------------
@entry("check_conv2d_naive", "conv2d_naive", "i*stride + padding", "EACH side")
def naive_window_start_plus_padding(x, weight, bias=None, stride=1, padding=0):
    """Pads both sides (and the bottom/right once more, 'so no window runs off'), then starts
    window i at i*stride + padding."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    p = padding
    xpad = np.pad(x, ((0, 0), (0, 0), (p, 2 * p), (p, 2 * p)))
    ho, wo = (h + 2 * p - kh) // stride + 1, (w + 2 * p - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            r, q = i * stride + p, j * stride + p
            out[:, :, i, j] = np.einsum("nchw,ochw->no", xpad[:, :, r:r + kh, q:q + kw], weight)
    return out if bias is None else out + bias[:, None, None]


# ---- 03: im2col ---------------------------------------------------------------------------------
@entry("check_im2col", "im2col", "(kh*i) + a", "sh*i + a")
def im2col_windows_step_by_kernel(x, kh, kw, sh, sw):
    """Windows placed side by side, kh apart (as in pooling without overlap), columns right."""
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    rows = []
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                top = min(i * kh, h - kh)
                rows.append(x[s, :, top:top + kh, j * sw:j * sw + kw].reshape(-1))
    return np.stack(rows)


# ---- 03: col2im ---------------------------------------------------------------------------------
@entry("check_col2im", "col2im", "column index must use b")
def col2im_column_offset_from_row(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape)
    for a in range(kh):
        for b in range(kw):
            col = min(a, kw - 1)
            out[:, :, a:a + sh * ho:sh, col:col + sw * wo:sw] += \
                cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return out


@entry("check_col2im", "col2im", "the row offset of entry (c, a, b) is its column offset b")
def col2im_row_offset_from_column(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    for k, row in enumerate(cols):
        s, i, j = k // (ho * wo), k // wo % ho, k % wo
        for idx, value in enumerate(row):
            ch, a, b = idx // (kh * kw), idx // kw % kh, idx % kw
            out[s, ch, i * sh + min(b, kh - 1), j * sw + b] += value
    return out


# ---- 03: conv2d forward -------------------------------------------------------------------------
@entry("check_conv2d_forward", "conv2d_forward", "passes your sw", "as sh")
def conv2d_forward_im2col_strides_swapped(ctx, x, weight, *bias, stride, padding):
    """The strides swapped in the im2col call; only the reshape after it fails."""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sw, sh)
    out = (cols @ weight.reshape(o, -1).T + (bias[0] if bias else 0)).reshape(x.shape[0], ho, wo, o)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.transpose(0, 3, 1, 2)


# ---- 04: max-pool -------------------------------------------------------------------------------
@entry("check_max_pool2d_forward", "max_pool2d_forward", "an argmax over axis 0", "axis=1")
def pool_forward_argmax_over_windows(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    best = cols.argmax(axis=0)
    ctx.argmax, ctx.padded_shape, ctx.params = best, xpad.shape, (kernel, stride, padding)
    return cols[np.arange(len(cols)), best].reshape(n, c, ho, wo)


@entry("check_max_pool2d", "max_pool2d_backward", "padding[0] rows and padding[1] columns")
def pool_backward_crop_by_width_padding(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw))
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = grad.reshape(-1)
    grad_x = c2i(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, pw:hp - pw, pw:wp - pw]


@entry("check_max_pool2d", "max_pool2d_backward", "pairs every row with every saved index",
       "grad_cols[np.arange(len(ctx.argmax)), ctx.argmax]")
def pool_backward_columns_indexed_alone(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw))
    grad_cols[:, ctx.argmax] = grad.ravel()
    grad_x = c2i(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@entry("check_col2im", "col2im", "without the + 1", "(H - kh) // sh + 1")
def col2im_windows_counted_without_plus_one(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh, (w - kw) // sw
    out = np.zeros(shape)
    k = 0
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                out[s, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += cols[k].reshape(c, kh, kw)
                k += 1
    return out


@entry("check_conv2d_naive", "conv2d_naive", "`axis=(-2, -1)` leaves axes of sizes", "drop axis=")
def naive_window_summed_over_its_rows_and_columns_only(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for s in range(n):
        for k in range(o):
            for i in range(ho):
                for j in range(wo):
                    patch = xpad[s, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[s, k, i, j] = (patch * weight[k]).sum(axis=(-2, -1))
            if bias is not None:
                out[s, k] += bias[k]
    return out


# ---- right answers written differently ----------------------------------------------------------
@right("check_col2im", "col2im")
def col2im_entry_by_entry(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    for k, row in enumerate(cols):
        s, i, j = k // (ho * wo), k // wo % ho, k % wo
        for idx, value in enumerate(row):
            ch, a, b = idx // (kh * kw), idx // kw % kh, idx % kw
            out[s, ch, i * sh + a, j * sw + b] += value
    return out


# ---- 05: conv_transpose2d backward --------------------------------------------------------------
@entry("check_conv_transpose2d", "conv_transpose2d_backward", "divided by N*H*W")
def ct_backward_weight_mean_over_input_pixels(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    full = np.zeros(ctx.full)
    full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    grad_cols = i2c(full, kh, kw, sh, sw)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = np.mean(ctx.x2[:, :, None] * grad_cols[:, None, :], axis=0)
    return (grad_x, grad_weight.reshape(ctx.weight.shape)) + \
        ((grad.sum(axis=(0, 2, 3)),) if ctx.has_bias else ())


# ---- wrappers that pass an argument on unconverted ----------------------------------------------
def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _conv_transpose2d_stride_unpaired(input, weight, bias=None, stride=1, padding=0,
                                      output_padding=0):
    from test_checks_catalogue import solution
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return solution("05_transposed_convolution")["ConvTranspose2dFunction"].apply(
        *tensors, stride=stride, padding=_pair(padding), output_padding=_pair(output_padding))


LEARNED.append(Mistake("learned_conv_transpose2d_stride_unpaired", "check_conv_transpose2d_forward",
                       {"conv_transpose2d": _conv_transpose2d_stride_unpaired},
                       ("received stride=", "(v, v)")))



# ---- window steps: pooling windows and transposed-convolution copies placed without the stride --
@entry("check_max_pool2d_forward", "max_pool2d_forward", "a wrong step", "start it at `j * sw`")
def pool_forward_windows_kernel_apart(ctx, x, kernel, stride, padding):
    """Loops with the right output size, but window (i, j) starts at (kh*i, kw*j)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    n, c, hp, wp = xpad.shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = xpad[:, :, i * kh:i * kh + kh, j * kw:j * kw + kw].max(axis=(2, 3))
    cols = i2c(xpad.reshape(n * c, 1, hp, wp), kh, kw, sh, sw)
    ctx.argmax, ctx.padded_shape = cols.argmax(axis=1), xpad.shape
    ctx.params = (kernel, stride, padding)
    return out


def _pool_forward_windows_kernel_apart_cut(ctx, x, kernel, stride, padding):
    """The same, with the window start kept inside the array (no empty slice)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    n, c, hp, wp = xpad.shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            top, left = min(i * kh, hp - 1), min(j * kw, wp - 1)
            out[:, :, i, j] = xpad[:, :, top:top + kh, left:left + kw].max(axis=(2, 3))
    cols = i2c(xpad.reshape(n * c, 1, hp, wp), kh, kw, sh, sw)
    ctx.argmax, ctx.padded_shape = cols.argmax(axis=1), xpad.shape
    ctx.params = (kernel, stride, padding)
    return out


LEARNED.append(Mistake("learned_pool_forward_windows_kernel_apart_cut", "check_max_pool2d_forward",
                       {"max_pool2d_forward": _pool_forward_windows_kernel_apart_cut},
                       ("step by the kernel size",)))


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward",
       "stride is ignored where the kernel copies land")
def ct_forward_copies_at_input_pixel(ctx, x, weight, *bias, stride, padding, output_padding):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = np.zeros((n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw))
    for i in range(h):
        for j in range(w):
            full[:, :, i:i + kh, j:j + kw] += np.tensordot(x[:, :, i, j], weight, axes=(1, 0))
    out = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
    return out + bias[0][:, None, None] if bias else out


# ---- a bias gradient summed over the wrong axes -------------------------------------------------
@entry("check_conv_transpose2d", "conv_transpose2d_backward", "summed over axes (0, 1) only",
       "grad.sum(axis=(0, 2, 3))")
def ct_backward_bias_over_batch_and_channels(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    full = np.zeros(ctx.full)
    full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    grad_cols = i2c(full, kh, kw, sh, sw)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight) + ((grad.sum(axis=0).sum(axis=0),) if ctx.has_bias else ())


# ---- Winograd: a kernel or a tile flipped -------------------------------------------------------
def _winograd(d, g):
    from minitorch_unet.winograd import A_T, B_T, G
    a_t, b_t, g_m = (np.array(m, dtype=np.float64) for m in (A_T, B_T, G))
    m = sum((g_m @ g[k] @ g_m.T) * (b_t @ d[k] @ b_t.T) for k in range(len(d)))
    return a_t @ m @ a_t.T


@entry("check_winograd_tile", "winograd_tile", "flipped upside down")
def wino_kernel_rows_reversed(d, g):
    return _winograd(d, np.flip(g, axis=1))


@entry("check_winograd_tile", "winograd_tile", "input tile is flipped")
def wino_tile_rotated(d, g):
    return _winograd(np.rot90(d, 2, axes=(1, 2)), g)


# ---- conv2d_naive: the kernels of all output channels, and a loop over the input channels -------
def _naive_loops(x, weight, bias, stride, padding, kernel_of, channels):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for ch in range(min(channels(c, o), o)):
        for i in range(ho):
            for j in range(wo):
                window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                out[:, ch, i, j] = (window[:, None] * kernel_of(weight, ch)).sum(axis=(1, 2, 3, 4))
        if bias is not None:
            out[:, ch] += bias[ch]
    return out


@entry("check_conv2d_naive", "conv2d_naive", "EVERY output channel's kernel")
def naive_window_times_whole_weight(x, weight, bias=None, stride=1, padding=0):
    return _naive_loops(x, weight, bias, stride, padding, lambda wt, ch: wt, lambda c, o: o)


@entry("check_conv2d_naive", "conv2d_naive", "range(C)", "range(O)")
def naive_output_channels_from_input_count(x, weight, bias=None, stride=1, padding=0):
    return _naive_loops(x, weight, bias, stride, padding, lambda wt, ch: wt[ch][None],
                        lambda c, o: c)


# ---- the transposed convolution's size rule with a product of two arguments ---------------------
@entry("check_conv_transpose2d_output_size", "conv_transpose2d_output_size", "padding * stride")
def ct_size_padding_scaled_by_stride(size, kernel, stride=1, padding=0, output_padding=0):
    return (size - 1 - padding) * stride - padding + kernel + output_padding


# ---- a forward or a backward without `return` ---------------------------------------------------
@entry("check_max_pool2d_forward", "max_pool2d_forward", "forward returned None", "`return`")
def pool_forward_without_return(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    cols = i2c(xpad.reshape(-1, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax, ctx.padded_shape = cols.argmax(axis=1), xpad.shape
    ctx.params = (kernel, stride, padding)
    out = cols.max(axis=1)  # noqa: F841 (the mistake: computed, never returned)


@entry("check_conv_transpose2d", "conv_transpose2d_backward", "backward returned None")
def ct_backward_without_return(ctx, grad):
    grad_x = np.zeros(ctx.xshape)  # noqa: F841 (the mistake: computed, never returned)


# ---- two axes left merged, or one left split ----------------------------------------------------
@entry("check_max_pool2d_forward", "max_pool2d_forward", "merged into one axis")
def pool_forward_pixels_left_flat(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax, ctx.padded_shape = cols.argmax(axis=1), xpad.shape
    ctx.params = (kernel, stride, padding)
    return cols.max(axis=1).reshape(n, c, -1)


@entry("check_im2col", "im2col", "one too many", "reshape to (")
def im2col_rows_per_sample(x, kh, kw, sh, sw):
    n, c = x.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    ho, wo = windows.shape[2:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, ho * wo, c * kh * kw)


# ---- a stride of 0 passed on --------------------------------------------------------------------
def _conv2d_stride_from_padding(input, weight, bias=None, stride=1, padding=0):
    from test_checks_catalogue import solution
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return solution("03_convolution")["Conv2dFunction"].apply(
        *tensors, stride=_pair(padding), padding=_pair(stride))


LEARNED.append(Mistake("learned_conv2d_stride_and_padding_swapped", "check_conv2d_forward",
                       {"conv2d": _conv2d_stride_from_padding}, ("received stride=(0, 0)",)))


@entry("check_winograd_tile", "winograd_tile", "in place of `b_t`", "mixed up")
def wino_kernel_through_the_input_transform(d, g):
    from minitorch_unet.winograd import A_T, B_T, G
    a_t, b_t, g_m = (np.array(m, dtype=np.float64) for m in (A_T, B_T, G))
    u = b_t @ g @ b_t.T
    v = g_m @ d @ g_m.T
    return a_t @ (u * v).sum(axis=0) @ a_t.T


# ---- col2im: windows placed a kernel apart (a slice cut short at the edge) ----------------------
@entry("check_col2im", "col2im", "a wrong step", "start it at `i * sh`")
def col2im_windows_kernel_apart(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                out[s, :, i * kh:i * kh + kh, j * sw:j * sw + kw] += \
                    cols[(s * ho + i) * wo + j].reshape(c, kh, kw)
    return out


# ---- more right answers written differently (the new probes must let them pass) -----------------
@right("check_im2col", "im2col")
def im2col_as_strided_float32(x, kh, kw, sh, sw):
    x = np.ascontiguousarray(x, dtype=np.float32)
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    s = x.strides
    view = np.lib.stride_tricks.as_strided(
        x, (n, ho, wo, c, kh, kw), (s[0], s[2] * sh, s[3] * sw, s[1], s[2], s[3]))
    return view.reshape(n * ho * wo, c * kh * kw)


@right("check_col2im", "col2im")
def col2im_add_at(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    s, i, j, ch, a, b = np.indices((n, ho, wo, c, kh, kw)).reshape(6, -1)
    out = np.zeros(shape)
    np.add.at(out, (s, ch, i * sh + a, j * sw + b), cols.reshape(-1))
    return out


@right("check_numerical_gradient", "numerical_gradient")
def ng_through_flat_iterator(f, x, eps=1e-6):
    grad = np.zeros_like(x, dtype=np.float64)
    for k in range(x.size):
        saved = x.flat[k]
        x.flat[k] = saved + eps
        up = f(x)
        x.flat[k] = saved - eps
        down = f(x)
        x.flat[k] = saved
        grad.flat[k] = (up - down) / (2 * eps)
    return grad


@right("check_relative_error", "relative_error")
def re_divide_where(a, b):
    a = np.atleast_1d(np.asarray(a, dtype=np.float64))
    b = np.atleast_1d(np.asarray(b, dtype=np.float64))
    scale = np.maximum(np.abs(a), np.abs(b))
    ratio = np.divide(np.abs(a - b), scale, out=np.zeros_like(scale), where=scale != 0)
    return float(ratio.max())
