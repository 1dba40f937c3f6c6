"""Wrong answers for lessons 03-05, one or more per class of mistake named whatever its
member: a weight read with its axes in another order (in values, or in a product that then
fails), a max-pool backward routing each window's gradient to another offset by a fixed rule or
to windows placed with another step, the transposed convolution's size rule with its arguments
in another order, x laid out in another pixel order for the weight's gradient, results whose
earlier slices a loop loses, window slices of the wrong length, indices past the end, loops
that step over indices, overlaps kept by max/min, reductions over another axis or by another
rule, borders cut by another width than the padding, im2col's shape from a folded batch or a
count rule; and right answers that take things in another order on purpose. Entries follow
tests/test_checks_catalogue.py."""
import numpy as np
from minitorch_unet.convolution import col2im as c2i, im2col as i2c
from test_checks_catalogue import Mistake

ORDERS: list[Mistake] = []


def entry(grade, function, *words):
    def add(fn):
        ORDERS.append(Mistake(f"order_{fn.__name__}", grade, {function: fn}, words))
        return fn
    return add


# ---- a weight read with its axes in another order --------------------------------------------
def _ct_forward(read):
    """conv_transpose2d's forward (col2im of x2 @ W) with the weight matrix made by `read`."""
    def conv_transpose2d_forward(ctx, x, weight, *bias, stride, padding, output_padding):
        (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
        n, c, h, w = x.shape
        o, kh, kw = weight.shape[1:]
        full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
        x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
        out = c2i(x2 @ read(weight), full, kh, kw, sh, sw)
        out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
        if bias:
            out = out + bias[0][:, None, None]
        ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
        ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
        return out
    return conv_transpose2d_forward


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "reordered to (C, kh, kw, O)")
def ct_forward_weight_kh_kw_o(ctx, x, weight, *bias, stride, padding, output_padding):
    return _ct_forward(lambda w: w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1))(
        ctx, x, weight, *bias, stride=stride, padding=padding, output_padding=output_padding)


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "reordered to (C, kw, kh, O)")
def ct_forward_weight_kw_kh_o(ctx, x, weight, *bias, stride, padding, output_padding):
    return _ct_forward(lambda w: w.transpose(0, 3, 2, 1).reshape(w.shape[0], -1))(
        ctx, x, weight, *bias, stride=stride, padding=padding, output_padding=output_padding)


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward",
       "read as if it were laid out (C, kh, kw, O)")
def ct_forward_weight_read_as_kh_kw_o(ctx, x, weight, *bias, stride, padding, output_padding):
    def read(w):
        c, o, kh, kw = w.shape
        return w.reshape(c, kh, kw, o).transpose(0, 3, 1, 2).reshape(c, -1)
    return _ct_forward(read)(ctx, x, weight, *bias, stride=stride, padding=padding,
                             output_padding=output_padding)


def _ct_backward(read):
    """conv_transpose2d's backward, with the weight matrix for grad_x made by `read`."""
    def conv_transpose2d_backward(ctx, grad):
        (sh, sw), (ph, pw) = ctx.stride, ctx.padding
        n, c, h, w = ctx.xshape
        o, kh, kw = ctx.weight.shape[1:]
        full = np.zeros(ctx.full)
        full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
        cols = i2c(full, kh, kw, sh, sw)
        grad_x = (cols @ read(ctx.weight).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
        grad_weight = (ctx.x2.T @ cols).reshape(ctx.weight.shape)
        return (grad_x, grad_weight) + ((grad.sum(axis=(0, 2, 3)),) if ctx.has_bias else ())
    return conv_transpose2d_backward


@entry("check_conv_transpose2d", "conv_transpose2d_backward", "in the input's gradient",
       "reordered to (C, kh, kw, O)")
def ct_backward_weight_kh_kw_o(ctx, grad):
    return _ct_backward(lambda w: w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1))(ctx, grad)


def _conv_forward(read):
    def conv2d_forward(ctx, x, weight, *bias, stride, padding):
        (sh, sw), (ph, pw) = stride, padding
        o, c, kh, kw = weight.shape
        xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
        cols = i2c(xpad, kh, kw, sh, sw)
        out = cols @ read(weight)
        if bias:
            out = out + bias[0]
        ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
        ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
        return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    return conv2d_forward


@entry("check_conv2d_forward", "conv2d_forward", "read as if it were laid out (kh, kw, C, O)")
def conv_forward_weight_read_as_hwio(ctx, x, weight, *bias, stride, padding):
    """The TensorFlow layout (kh, kw, C, O) assumed, its rows then put in (C, kh, kw) order."""
    def read(w):
        o, c, kh, kw = w.shape
        return w.reshape(kh, kw, c, o).transpose(2, 0, 1, 3).reshape(-1, o)
    return _conv_forward(read)(ctx, x, weight, *bias, stride=stride, padding=padding)


@entry("check_conv2d_naive", "conv2d_naive", "read as if it were laid out (O, kh, kw, C)")
def naive_weight_read_channels_last(x, weight, bias=None, stride=1, padding=0):
    """Each kernel taken as weight[o].reshape(kh, kw, C) and moved to (C, kh, kw)."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for ch in range(o):
        kernel = weight[ch].reshape(kh, kw, c).transpose(2, 0, 1)
        for i in range(ho):
            for j in range(wo):
                window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                out[:, ch, i, j] = np.sum(window * kernel, axis=(1, 2, 3))
        if bias is not None:
            out[:, ch] += bias[ch]
    return out


# ---- max-pool backward: a window's gradient sent to another offset by a fixed rule -----------
def _pool_backward(move):
    """The im2col route back with the window index f replaced by move(f, kh, kw)."""
    def max_pool2d_backward(ctx, grad):
        (kh, kw), (sh, sw), (ph, pw) = ctx.params
        n, c, hp, wp = ctx.padded_shape
        rows = np.zeros((len(ctx.argmax), kh * kw))
        rows[np.arange(len(rows)), move(ctx.argmax, kh, kw)] = grad.reshape(-1)
        grad_x = c2i(rows, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
        return grad_x[:, :, ph:hp - ph, pw:wp - pw]
    return max_pool2d_backward


for _name, _move, _words in (
        ("index_from_the_end", lambda f, kh, kw: kh * kw - 1 - f, "counted from the other end"),
        ("rows_from_the_bottom", lambda f, kh, kw: (kh - 1 - f // kw) * kw + f % kw,
         "rows are counted from the bottom"),
        ("columns_from_the_right", lambda f, kh, kw: f // kw * kw + kw - 1 - f % kw,
         "columns are counted from the right"),
        ("index_plus_one", lambda f, kh, kw: (f + 1) % (kh * kw),
         "sends its gradient to another offset")):
    ORDERS.append(Mistake(f"order_pool_backward_{_name}", "check_max_pool2d",
                          {"max_pool2d_backward": _pool_backward(_move)}, (_words,)))


# ---- a matmul that fails because the weight's axes are read in another order --------------------
@entry("check_conv2d_forward", "conv2d_forward", "the product fits with `weight.reshape(o, -1).T`",
       "reshape it as it is")
def conv_forward_weight_matrix_from_c(ctx, x, weight, *bias, stride, padding):
    """The weight matrix made with its in-channel axis first: (C, O*kh*kw).T."""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = i2c(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(c, -1).T
    return out.reshape(x.shape[0], -1, o).transpose(0, 2, 1)


@entry("check_conv_transpose2d", "conv_transpose2d_backward",
       "the product fits with `ctx.weight.reshape(c, -1).T`", "reshape it as it is")
def ct_backward_weight_matrix_out_first(ctx, grad):
    """The weight matrix for grad_x made as conv2d's would be, out-channels first."""
    o = ctx.weight.shape[1]
    return _ct_backward(lambda w: w.transpose(1, 0, 2, 3).reshape(o, -1))(ctx, grad)


# ---- the output-size rule with its arguments in another order ------------------------------------
@entry("check_conv_transpose2d_output_size", "conv_transpose2d_output_size",
       "padding and output_padding are swapped")
def ct_size_padding_and_output_padding_swapped(size, kernel, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride - 2 * output_padding + kernel + padding


@entry("check_conv_transpose2d_output_size", "conv_transpose2d_output_size",
       "H and stride are swapped")
def ct_size_size_and_stride_swapped(size, kernel, stride=1, padding=0, output_padding=0):
    return (stride - 1) * size - 2 * padding + kernel + output_padding


# ---- conv_transpose2d's backward with x's rows laid out in another pixel order ------------------
def _ct_forward_saving_x(ctx, x, weight, *bias, stride, padding, output_padding):
    out = _ct_forward(lambda w: w.reshape(w.shape[0], -1))(ctx, x, weight, *bias, stride=stride,
                                                           padding=padding,
                                                           output_padding=output_padding)
    ctx.x = x
    return out


def ct_backward_x_columns_first(ctx, grad):
    """grad_weight from x laid out with transpose(0, 3, 2, 1): the pixels in (n, j, i) order."""
    n, c, h, w = ctx.xshape
    rows = ctx.x.transpose(0, 3, 2, 1).reshape(-1, c)
    grad_x, _, *rest = _ct_backward(lambda w_: w_.reshape(c, -1))(ctx, grad)
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    full = np.zeros(ctx.full)
    full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    cols = i2c(full, *ctx.weight.shape[2:], sh, sw)
    return (grad_x, (rows.T @ cols).reshape(ctx.weight.shape), *rest)


ORDERS.append(Mistake("order_ct_backward_x_columns_first", "check_conv_transpose2d",
                      {"conv_transpose2d_forward": _ct_forward_saving_x,
                       "conv_transpose2d_backward": ct_backward_x_columns_first},
                      ("in the weight's gradient", "x.transpose(0, 3, 2, 1)")))


# ---- col2im whose passes over the samples lose what earlier passes wrote -------------------------
@entry("check_col2im", "col2im", "the pass for index 0 never reaches the result")
def col2im_out_made_per_sample(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    blocks = cols.reshape(n, ho, wo, c, kh, kw)
    for b in range(n):
        out = np.zeros(shape)
        for i in range(ho):
            for j in range(wo):
                out[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += blocks[b, i, j]
    return out


# ---- a window slice of the wrong length, fitted from the learner's own numbers ---------------
def _naive_loops(x, weight, bias, stride, padding, extra=0, rows=None):
    """conv2d_naive by loops, the window's stop `extra` past r + kh, `rows` windows down."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = rows(h, kh, stride, padding) if rows else (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    r, q = i * stride, j * stride
                    window = xpad[item, :, r:r + kh + extra, q:q + kw]
                    out[item, ch, i, j] = np.sum(window * weight[ch])
            if bias is not None:
                out[item, ch] += bias[ch]
    return out


@entry("check_conv2d_naive", "conv2d_naive", "its stop is 1 too far; cut `r:r + kh`")
def naive_window_one_row_too_long(x, weight, bias=None, stride=1, padding=0):
    return _naive_loops(x, weight, bias, stride, padding, extra=1)


@entry("check_conv2d_naive", "conv2d_naive", "past the end of its axis 2",
       "stays below 5, so the loop must stop there")
def naive_rows_counted_without_the_kernel(x, weight, bias=None, stride=1, padding=0):
    """Ho = (H + 2p) // stride: the kernel's size left out of the count of windows."""
    return _naive_loops(x, weight, bias, stride, padding, rows=lambda h, k, s, p: (h + 2 * p) // s)


# ---- a reduction or a loop step that changes what is combined ---------------------------------
@entry("check_conv2d_naive", "conv2d_naive", "only one column in 2 is computed",
       "steps by 2 (range(0, n, 2))")
def naive_column_loop_steps_by_stride(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(0, wo, stride):
            window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", window, weight)
    return out if bias is None else out + bias[:, None, None]


@entry("check_col2im", "col2im", "you keep the smallest (np.minimum)")
def col2im_keeps_the_smallest(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    blocks = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape)
    for i in range(ho):
        for j in range(wo):
            region = out[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            region[...] = np.minimum(region, blocks[:, i, j])
    return out


@entry("check_winograd_tile", "winograd_tile",
       "the product fits with `.sum(axis=0)` in place of `.sum(axis=2)`")
def wino_channels_summed_over_rows(d, g):
    from minitorch_unet.winograd import A_T, B_T, G
    a_t, b_t, g_m = (np.array(m, dtype=np.float64) for m in (A_T, B_T, G))
    return a_t @ ((g_m @ g @ g_m.T) * (b_t @ d @ b_t.T)).sum(axis=2) @ a_t.T


@entry("check_im2col", "im2col", "holds the window of pixel (n, i + 1, j)")
def im2col_rows_start_one_stride_down(x, kh, kw, sh, sw):
    """Window (i, j) cut from row (i + 1) * sh: one stride late (short windows padded by 0)."""
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = np.zeros((n * ho * wo, c, kh, kw))
    for r, (b, i, j) in enumerate(np.ndindex(n, ho, wo)):
        part = x[b, :, (i + 1) * sh:(i + 1) * sh + kh, j * sw:j * sw + kw]
        cols[r, :, :part.shape[1], :part.shape[2]] = part
    return cols.reshape(len(cols), -1)


# ---- im2col's shape from a count rule or a stacking slip ---------------------------------------
def _sample_columns(x, kh, kw, sh, sw, ho, wo):
    return [np.stack([x[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw].ravel()
                      for i in range(ho) for j in range(wo)]) for b in range(x.shape[0])]


@entry("check_im2col", "im2col", "the batch folded into the columns")
def im2col_samples_stacked_side_by_side(x, kh, kw, sh, sw):
    ho, wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    return np.hstack(_sample_columns(x, kh, kw, sh, sw, ho, wo))


@entry("check_im2col", "im2col", "the stride is applied twice")
def im2col_window_loops_step_by_the_stride(x, kh, kw, sh, sw):
    """Loops over range(0, Ho, sh): window positions already strided, stepped again."""
    n = x.shape[0]
    ho, wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    return np.stack([x[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw].ravel() for b in range(n)
                     for i in range(0, ho, sh) for j in range(0, wo, sw)])


# ---- conv2d backward that cuts another border than the padding -----------------------------------
@entry("check_conv2d", "conv2d_backward", "1 rows and 1 columns are cut off each side",
       "cut padding[0] = 0 rows")
def conv_backward_cuts_half_the_kernel(ctx, grad):
    """The border cut as if the padding were kh // 2 ('same' padding assumed)."""
    (sh, sw) = ctx.stride
    o, c, kh, kw = ctx.weight.shape
    hp, wp = ctx.padded_shape[2:]
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grad_x = c2i(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, kh // 2:hp - kh // 2, kw // 2:wp - kw // 2]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight, g.sum(axis=0)) if ctx.has_bias else (grad_x, grad_weight)


# ---- an index that runs past the end, named with the loop values where it does -----------------
@entry("check_conv2d_naive", "conv2d_naive",
       "the loop `for i in range(h)` reaches i = 5, past the last index 4 of axis 2 of `out`")
def naive_rows_loop_over_the_input_height(x, weight, bias=None, stride=1, padding=0):
    """The row loop over range(H - kh + 1 + 2 * padding) written as range(H): too many rows."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(h):
        for j in range(wo):
            top = min(i * stride, xpad.shape[2] - kh)
            window = xpad[:, :, top:top + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", window, weight)
    return out if bias is None else out + bias[:, None, None]


@entry("check_col2im", "col2im",
       "is 25 at j = 4, i = 4, b = 0, past the last index 24 of axis 0 of `cols`")
def col2im_reads_the_next_row(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                out[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += \
                    cols[(b * ho + i) * wo + j + 1].reshape(c, kh, kw)
    return out


@entry("check_conv_transpose2d", "conv_transpose2d_backward", "the slice `pw:` of `grad_full`",
       "runs to the end of its axis 3", "cut `pw:pw + ")
def ct_backward_columns_slice_without_end(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    grad_full = np.zeros(ctx.full)
    grad_full[:, :, ph:ph + grad.shape[2], pw:] = grad
    cols = i2c(grad_full, *ctx.weight.shape[2:], sh, sw)
    grad_x = (cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight) + ((grad.sum(axis=(0, 2, 3)),) if ctx.has_bias else ())


# ---- a bias gradient reduced by another rule than the sum ------------------------------------
@entry("check_conv2d", "conv2d_backward", "grad_bias[o] is the largest entry (max) of channel o")
def conv_backward_bias_max(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grad_x = c2i(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight, g.max(axis=0)) if ctx.has_bias else (grad_x, grad_weight)


@entry("check_conv_transpose2d", "conv_transpose2d_backward",
       "grad_bias[o] is the sum of |grad_out|")
def ct_backward_bias_of_magnitudes(ctx, grad):
    grad_x, grad_weight, *rest = _ct_backward(lambda w: w.reshape(w.shape[0], -1))(ctx, grad)
    return (grad_x, grad_weight) + ((np.abs(grad).sum(axis=(0, 2, 3)),) if rest else ())


# ---- max-pool backward placing windows with another step -----------------------------------------
@entry("check_max_pool2d", "max_pool2d_backward", "windows placed with another step",
       "the strides are swapped")
def pool_backward_strides_swapped(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    ho, wo = grad.shape[2:]
    grad_x = np.zeros(ctx.padded_shape)
    picks = np.eye(kh * kw)[ctx.argmax].reshape(n, c, ho, wo, kh, kw)
    for i in range(ho):
        for j in range(wo):
            region = grad_x[:, :, sw * i:sw * i + kh, sh * j:sh * j + kw]  # cut at the edge
            region += (picks[:, :, i, j] * grad[:, :, i, j, None, None])[
                :, :, :region.shape[2], :region.shape[3]]
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


# ---- right answers that take things in another order on purpose ---------------------------------
RIGHT: list[tuple[str, str, dict]] = []


def _ct_forward_channels_last(ctx, x, weight, *bias, stride, padding, output_padding):
    """The weight's columns in (kh, kw, O) order, and col2im's rows read in that order too."""
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    cols = x2 @ weight.transpose(0, 2, 3, 1).reshape(c, -1)  # columns (a, b, o)
    cols = cols.reshape(-1, kh, kw, o).transpose(0, 3, 1, 2).reshape(len(cols), -1)
    out = c2i(cols, full, kh, kw, sh, sw)[:, :, ph:full[2] - ph, pw:full[3] - pw]
    if bias:
        out = out + bias[0][:, None, None]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out


def _pool_backward_by_offsets(ctx, grad):
    """Each window's gradient added at row argmax // kw, column argmax % kw, by loops."""
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    ho, wo = grad.shape[2:]
    grad_x = np.zeros(ctx.padded_shape)
    rows, columns = np.divmod(ctx.argmax.reshape(n, c, ho, wo), kw)
    for b, ch, i, j in np.ndindex(n, c, ho, wo):
        a, d = rows[b, ch, i, j], columns[b, ch, i, j]
        grad_x[b, ch, sh * i + a, sw * j + d] += grad[b, ch, i, j]
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


RIGHT += [("order_right_ct_forward_channels_last", "check_conv_transpose2d_forward",
           {"conv_transpose2d_forward": _ct_forward_channels_last}),
          ("order_right_pool_backward_by_offsets", "check_max_pool2d",
           {"max_pool2d_backward": _pool_backward_by_offsets})]


@entry("check_conv2d_naive", "conv2d_naive", "the two indices are swapped",
       "i belongs at axis 2 and j at axis 3")
def naive_output_indices_swapped(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, j, i] = np.einsum("nchw,ochw->no", window, weight)
    return out if bias is None else out + bias[:, None, None]


@entry("check_numerical_gradient", "numerical_gradient", "a flat index", "`grad.flat[k]`")
def ng_flat_loop_into_rows(f, x, eps=1e-6):
    grad = np.zeros(x.shape)
    flat = x.reshape(-1)
    for k in range(grad.size):
        saved = flat[k]
        flat[k] = saved + eps
        up = f(x)
        flat[k] = saved - eps
        down = f(x)
        flat[k] = saved
        grad[k] = (up - down) / (2 * eps)
    return grad


@entry("check_conv2d_naive", "conv2d_naive", "is the unpadded array", "cut the windows from `xpad`")
def naive_windows_cut_from_the_input(x, weight, bias=None, stride=1, padding=0):
    """xpad is made, but the windows are cut from x."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (xpad.shape[2] - kh) // stride + 1, (xpad.shape[3] - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", window, weight)
    return out if bias is None else out + bias[:, None, None]
