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
