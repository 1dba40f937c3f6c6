"""Wrong answers for lessons 02-05 whose structure is wrong, not their bounds: a
loop variable reused by a nested loop, an index taken from the loop of another axis, and
the values such slips leave. Entries follow tests/test_checks_catalogue.py."""
import numpy as np
from test_checks_catalogue import Mistake

LOOPS: list[Mistake] = []
RIGHT: list[tuple[str, str, dict]] = []


def entry(grade, function, *words):
    def add(fn):
        LOOPS.append(Mistake(f"loops_{fn.__name__}", grade, {function: fn}, words))
        return fn
    return add


def right(grade, function):
    def add(fn):
        RIGHT.append((f"loops_{fn.__name__}", grade, {function: fn}))
        return fn
    return add


# ---- a loop variable reused, or taken from the loop of another axis ---------------------------
@entry("check_im2col", "im2col", "two nested loops", "own name")
def im2col_sample_variable_reused_for_rows(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    rows = []
    for b in range(n):
        for b in range(ho):  # noqa: B007 - the slip
            for j in range(wo):
                rows.append(x[b, :, b * sh:b * sh + kh, j * sw:j * sw + kw].ravel())
    return np.array(rows)


@entry("check_conv2d_naive", "conv2d_naive", "index that axis with b, not ch")
def naive_sample_indexed_by_the_channel_loop(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for b in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    patch = xp[ch, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[b, ch, i, j] = np.sum(patch * weight[ch]) + (0 if bias is None else bias[ch])
    return out


@right("check_im2col", "im2col")
def im2col_two_sequential_loops_over_one_name(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    starts = []
    for i in range(ho):
        starts.append(i * sh)
    rows = []
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                rows.append(x[b, :, starts[i]:starts[i] + kh, j * sw:j * sw + kw].ravel())
    return np.array(rows)


# ---- a stride pair used where one of its numbers belongs --------------------------------------
@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "`stride` is (", "a tuple",
       "`stride[0]` for the height")
def ct_full_size_times_the_stride_pair(ctx, x, weight, *bias, stride, padding, output_padding):
    from minitorch_unet.convolution import col2im
    (ph, pw), (oph, opw) = padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * stride + kh + oph, (w - 1) * stride + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = col2im(x2 @ weight.reshape(c, -1), full, kh, kw, *stride)
    out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
    return out + bias[0][:, None, None] if bias else out


@entry("check_max_pool2d_forward", "max_pool2d_forward", "`stride` is (", "a tuple")
def pool_size_over_the_stride_pair(ctx, x, kernel, stride, padding):
    from minitorch_unet.convolution import im2col
    (kh, kw), (ph, pw) = kernel, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho = (xpad.shape[2] - kh) // stride + 1
    wo = (xpad.shape[3] - kw) // stride + 1
    cols = im2col(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, *stride)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols.max(axis=1).reshape(n, c, ho, wo)


# ---- a max over one window axis only ----------------------------------------------------------
@entry("check_max_pool2d_forward", "max_pool2d_forward", "the max is taken over each window's rows only",
       ".max(axis=(-2, -1))")
def pool_max_over_window_rows_only(ctx, x, kernel, stride, padding):
    from minitorch_unet.convolution import windows
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return windows(xpad, kh, kw, sh, sw).max(axis=4)


# ---- zero-stuffing one block per pixel (H * stride long) --------------------------------------
@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "H * stride long",
       "(H - 1) * stride + 1 entries")
def ct_stuffed_by_kron_blocks(ctx, x, weight, *bias, stride, padding, output_padding):
    from minitorch_unet.convolution import im2col
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    block = np.zeros((sh, sw))
    block[0, 0] = 1
    up = np.kron(x, block)  # each pixel followed by stride - 1 zeros, the last one too
    up = np.pad(up, ((0, 0), (0, 0), (kh - 1 - ph, kh - 1 - ph + oph), (kw - 1 - pw, kw - 1 - pw + opw)))
    k = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    ho, wo = up.shape[2] - kh + 1, up.shape[3] - kw + 1
    out = (im2col(up, kh, kw, 1, 1) @ k.reshape(o, -1).T).reshape(n, ho, wo, o).transpose(0, 3, 1, 2)
    return out + bias[0][:, None, None] if bias else out


# ---- values that a loop slip leaves --------------------------------------------------------------
@entry("check_conv2d_naive", "conv2d_naive", "only the last input channel counts")
def naive_channel_products_assigned(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for cin in range(c):
        win = np.lib.stride_tricks.sliding_window_view(xp[:, cin], (kh, kw), axis=(1, 2))
        out[:] = np.einsum("nijab,oab->noij", win[:, ::stride, ::stride], weight[:, cin])
    return out if bias is None else out + bias[:, None, None]


@entry("check_im2col", "im2col", "every window is written into the same row")
def im2col_row_index_computed_once(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = np.zeros((n * ho * wo, c * kh * kw))
    row = 0
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                cols[row, :] = x[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(-1)
        row = b * ho * wo
    return cols


# ---- .T on an array of three axes -----------------------------------------------------------------
@entry("check_conv2d_naive", "conv2d_naive", "reverses every axis of", "drop the .T")
def naive_window_transposed(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for b in range(n):
        for k in range(o):
            for i in range(ho):
                for j in range(wo):
                    patch = xp[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[b, k, i, j] = (patch.T * weight[k]).sum()
    return out if bias is None else out + bias[:, None, None]


# ---- 02: the absolute value after the maximum ---------------------------------------------------
@entry("check_relative_error", "relative_error", "|min(a, b)|")
def relative_error_abs_of_the_signed_minimum(a, b):
    worst = 0.0
    for x, y in zip(np.ravel(a), np.ravel(b)):
        if x != y:
            worst = max(worst, abs(x - y) / abs(min(x, y)))
    return worst


# ---- conv2d backward: the gradient's rows read as if O came first ---------------------------------
@entry("check_conv2d", "conv2d_backward", "as if O came first")
def conv_backward_rows_read_channel_first(ctx, grad):
    from minitorch_unet.convolution import col2im
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    _, _, hp, wp = ctx.padded_shape
    rows = np.reshape(grad, (o, -1)).T
    grad_x = col2im(np.dot(rows, ctx.weight.reshape(o, -1)), ctx.padded_shape, kh, kw, sh, sw)
    grad_w = (grad.transpose(1, 0, 2, 3).reshape(o, -1) @ ctx.cols).reshape(ctx.weight.shape)
    out = (grad_x[:, :, ph:hp - ph, pw:wp - pw], grad_w)
    return out + (grad.sum(axis=(0, 2, 3)),) if ctx.has_bias else out


# ---- transposed convolution: kernel copies assigned where they overlap -----------------------------
@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "written with = instead of added")
def ct_scatter_by_kernel_offsets_assigns(ctx, x, weight, *bias, stride, padding, output_padding):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = np.zeros((n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw))
    for a in range(kh):
        for b in range(kw):
            full[:, :, a:a + sh * h:sh, b:b + sw * w:sw] = np.einsum("nchw,co->nohw", x, weight[:, :, a, b])
    out = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
    return out + bias[0][:, None, None] if bias else out


# ---- 02: nudged copies made once, so earlier entries stay nudged -----------------------------------
@entry("check_numerical_gradient", "numerical_gradient", "the entries nudged before stay nudged")
def numgrad_flat_copies_made_once(f, x, eps=1e-6):
    up, down = x.astype(np.float64).ravel(), x.astype(np.float64).ravel()
    grad = np.zeros(x.size)
    for k in range(x.size):
        up[k] += eps
        down[k] -= eps
        grad[k] = (f(up.reshape(x.shape)) - f(down.reshape(x.shape))) / (2 * eps)
    return grad.reshape(x.shape)


# ---- an array made with the shape of another, too small for the positions written into it ----------
@entry("check_max_pool2d", "max_pool2d_backward", "was made with `g`'s shape", "make it that array's shape")
def pool_backward_gradient_made_like_grad_out(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    g = np.asarray(grad)
    gx = np.zeros(g.shape, dtype=np.float64)
    ho, wo = g.shape[2:]
    flat = ctx.argmax.reshape(g.shape)
    for b, ch, i, j in np.ndindex(*g.shape):
        a = int(flat[b, ch, i, j])
        gx[b, ch, i * sh + a // kw, j * sw + a % kw] += g[b, ch, i, j]
    return gx[:, :, ph:gx.shape[2] - ph, pw:gx.shape[3] - pw]


# ---- transposed convolution backward: the gradient cropped where it must be padded back -----------
@entry("check_conv_transpose2d", "conv_transpose2d_backward", "is `grad` cropped by the padding again")
def ct_backward_gradient_cropped_again(ctx, grad):
    from minitorch_unet.convolution import im2col
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    g = grad[:, :, ph:grad.shape[2] - ph, pw:grad.shape[3] - pw]
    rows = im2col(g, kh, kw, sh, sw)
    grad_x = (rows @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ rows).reshape(ctx.weight.shape)
    return (grad_x, grad_weight) + ((grad.sum(axis=(0, 2, 3)),) if ctx.has_bias else ())


@entry("check_conv2d_naive", "conv2d_naive", "hold the same axes in reverse order")
def naive_window_read_channel_last(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))).transpose(0, 3, 2, 1)
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for b in range(n):
        for k in range(o):
            for i in range(ho):
                for j in range(wo):
                    patch = xp[b, j * stride:j * stride + kw, i * stride:i * stride + kh]
                    out[b, k, i, j] = np.sum(patch * weight[k])
    return out if bias is None else out + bias[:, None, None]
