"""Fresh wrong answers for lessons 02-05, written as learners write them before the
diagnoses by probing existed, measured, then used to grow them (set c6); entries follow
tests/test_checks_catalogue.py: the function, the check it goes through, and the words its
message must hold."""
import numpy as np
from minitorch_unet.convolution import col2im as c2i, im2col as i2c
from minitorch_unet.winograd import A_T, B_T, G

A_T, B_T, G = (np.array(m, dtype=np.float64) for m in (A_T, B_T, G))
from test_checks_catalogue import Mistake

FRESH: list[Mistake] = []
NOT_NAMED_YET: list[Mistake] = []


def entry(grade, function, *words, also=None):
    def add(fn):
        FRESH.append(Mistake(fn.__name__, grade, {function: fn, **(also or {})}, words))
        return fn
    return add


# ---- lesson 02 -------------------------------------------------------------------------------
@entry("check_numerical_gradient", "numerical_gradient", "put each entry back")
def ng_not_restored(f, x, eps=1e-6):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        s = x[i]; x[i] = s + eps; a = f(x); x[i] = s - eps; b = f(x)
        grad[i] = (a - b) / (2 * eps)
    return grad


@entry("check_numerical_gradient", "numerical_gradient", "last")
def ng_flat_range_short(f, x, eps=1e-6):
    flat = x.reshape(-1)
    grad = np.zeros(flat.shape)
    for i in range(flat.size - 1):
        s = flat[i]; flat[i] = s + eps; a = f(x); flat[i] = s - eps; b = f(x); flat[i] = s
        grad[i] = (a - b) / (2 * eps)
    return grad.reshape(x.shape)


@entry("check_numerical_gradient", "numerical_gradient", "float32")
def ng_float32_copy(f, x, eps=1e-6):
    x32 = x.astype(np.float32)
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        s = x32[i]; x32[i] = s + eps; a = f(x32); x32[i] = s - eps; b = f(x32); x32[i] = s
        grad[i] = (a - b) / (2 * eps)
    return grad


@entry("check_numerical_gradient", "numerical_gradient", "one entry")
def ng_whole_array_nudged(f, x, eps=1e-6):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        grad[i] = (f(x + eps) - f(x - eps)) / (2 * eps)
    return grad


@entry("check_relative_error", "relative_error", "abs")
def re_signed_denominator(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(a, b), 1e-12)))


@entry("check_relative_error", "relative_error", "max")
def re_relative_to_b(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


# ---- lesson 03: naive conv -------------------------------------------------------------------
def _naive(x, weight, bias, stride, padding, bug=""):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    if bug == "pad_one_side":
        xpad = np.pad(x, ((0, 0), (0, 0), (0, 2 * padding), (0, 2 * padding)))
    else:
        xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    wmax = wo - 1 if bug == "last_col" else wo
    for b_ in range(n):
        for ch in range(o):
            k = weight[ch]
            if bug == "flip_rows":
                k = k[:, ::-1, :]
            for i in range(ho):
                for j in range(wmax):
                    if bug == "dilated":
                        win = xpad[b_, :, i * stride:i * stride + (kh - 1) * stride + 1:stride,
                                   j * stride:j * stride + (kw - 1) * stride + 1:stride]
                    else:
                        win = xpad[b_, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[b_, ch, i, j] = np.sum(win * k)
            if bias is not None and not (bug == "bias_first_only" and b_ > 0):
                out[b_, ch] += bias[ch]
    return out


def naive(bug, *words):
    def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
        return _naive(x, weight, bias, stride, padding, bug)
    FRESH.append(Mistake(f"naive_{bug}", "check_conv2d_naive", {"conv2d_naive": conv2d_naive}, words))


naive("last_col", "last")
naive("pad_one_side", "pad")
naive("dilated", "stride", "a dilation")
naive("bias_first_only", "bias")
naive("flip_rows", "flip")


@entry("check_conv2d_naive", "conv2d_naive", "channel")
def naive_channels_summed_first(x, weight, bias=None, stride=1, padding=0):
    # sums the input channels first, then one kernel slice: a classic shortcut
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))).sum(axis=1)
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for b_ in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    window = xpad[b_, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[b_, ch, i, j] = np.sum(window * weight[ch].sum(axis=0))
            if bias is not None:
                out[b_, ch] += bias[ch]
    return out


# ---- im2col / col2im -------------------------------------------------------------------------
@entry("check_im2col", "im2col", "channel")
def im2col_kernel_major(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    rows = [x[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw].transpose(1, 2, 0).ravel()
            for b in range(n) for i in range(ho) for j in range(wo)]
    return np.array(rows)


@entry("check_im2col", "im2col", "+ 1")
def im2col_no_plus_one(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh, (w - kw) // sw
    rows = [x[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw].ravel()
            for b in range(n) for i in range(ho) for j in range(wo)]
    return np.array(rows)


@entry("check_im2col", "im2col", "transpose")
def im2col_view_no_transpose(x, kh, kw, sh, sw):
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    n, c, ho, wo = win.shape[:4]
    return win.reshape(n * ho * wo, c * kh * kw)


@entry("check_col2im", "col2im", "first")
def col2im_skips_first_row(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    blocks = cols.reshape(n, ho, wo, c, kh, kw)
    for i in range(1, ho):
        for j in range(wo):
            out[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += blocks[:, i, j]
    return out


@entry("check_col2im", "col2im", "stride")
def col2im_stride_ignored(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    blocks = cols.reshape(n, ho, wo, c, kh, kw)
    for i in range(ho):
        for j in range(wo):
            out[:, :, i:i + kh, j:j + kw] += blocks[:, i, j]
    return out


# ---- conv2d forward / backward ---------------------------------------------------------------
def _fwd(ctx, x, weight, bias, stride, padding, bug=""):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if bias and bug != "bias_late":
        out = out + bias[0]
    ctx.cols = i2c(x, kh, kw, sh, sw) if bug == "save_unpadded" else cols
    ctx.weight, ctx.padded_shape = weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    if bug == "no_transpose":
        return out.reshape(x.shape[0], o, ho, wo)
    out = out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    if bias and bug == "bias_late":
        out = out + bias[0][:, None]
    return out


def fwd(bug, grade, *words):
    def conv2d_forward(ctx, x, weight, *bias, stride, padding):
        return _fwd(ctx, x, weight, bias, stride, padding, bug)
    also = {} if grade == "check_conv2d_forward" else {"conv2d_backward": lambda ctx, g: _bwd(ctx, g)}
    FRESH.append(Mistake(f"conv2d_forward_{bug}", grade, {"conv2d_forward": conv2d_forward, **also}, words))


def _bwd(ctx, grad, bug=""):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    hp, wp = ctx.padded_shape[2:]
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    wmat = ctx.weight[:, :, ::-1, ::-1].reshape(o, -1) if bug == "flip_for_grad_x" else ctx.weight.reshape(o, -1)
    grad_x = c2i(g @ wmat, ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:, pw:] if bug == "crop_front_only" else grad_x[:, :, ph:hp - ph, pw:wp - pw]
    if bug == "weight_T":
        grad_weight = (ctx.cols.T @ g).reshape(ctx.weight.shape)
    else:
        grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    grad_bias = g.sum(axis=0)
    return (grad_x, grad_weight) + ((grad_bias,) if ctx.has_bias else ())


def bwd(bug, *words):
    def conv2d_backward(ctx, grad):
        return _bwd(ctx, grad, bug)
    forward = {"conv2d_forward": lambda ctx, x, w, *b, stride, padding: _fwd(ctx, x, w, b, stride, padding)}
    FRESH.append(Mistake(f"conv2d_backward_{bug}", "check_conv2d",
                         {"conv2d_backward": conv2d_backward, **forward}, words))


fwd("no_transpose", "check_conv2d_forward", "transpose")
fwd("bias_late", "check_conv2d_forward", "bias")
fwd("save_unpadded", "check_conv2d", "unpadded")
bwd("crop_front_only", "cut off one side only")
bwd("weight_T", "(C*kh*kw, O)")
bwd("flip_for_grad_x", "flip")


# ---- Winograd --------------------------------------------------------------------------------
@entry("check_winograd_tile", "winograd_tile", "sum")
def wino_no_channel_sum(d, g):
    return A_T @ ((G @ g @ G.T) * (B_T @ d @ B_T.T)) @ A_T.T


@entry("check_winograd_tile", "winograd_tile", "B_T")
def wino_B_wrong_side(d, g):
    return A_T @ ((G @ g @ G.T) * (B_T.T @ d @ B_T)).sum(axis=0) @ A_T.T


# ---- lesson 04 -------------------------------------------------------------------------------
def _pf(ctx, x, kernel, stride, padding, bug=""):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    src = xpad.transpose(1, 0, 2, 3) if bug == "channel_major" else xpad
    cols = i2c(src.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    if bug == "mean":
        return cols.mean(axis=1).reshape(n, c, ho, wo)
    return cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)


def pf(bug, *words):
    def max_pool2d_forward(ctx, x, kernel, stride, padding):
        return _pf(ctx, x, kernel, stride, padding, bug)
    FRESH.append(Mistake(f"pool_forward_{bug}", "check_max_pool2d_forward",
                         {"max_pool2d_forward": max_pool2d_forward}, words))


pf("channel_major", "transpose")
pf("mean", "average")

PF = {"max_pool2d_forward": _pf}


def _pb(ctx, grad, bug=""):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw), dtype=grad.dtype)
    g = grad.transpose(0, 1, 3, 2) if bug == "transposed" else grad
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = g.reshape(-1)
    if bug == "per_window":
        grad_cols /= kh * kw
    grad_x = c2i(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    if bug == "not_cropped":
        return grad_x
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


def pb(bug, *words):
    def max_pool2d_backward(ctx, grad):
        return _pb(ctx, grad, bug)
    FRESH.append(Mistake(f"pool_backward_{bug}", "check_max_pool2d",
                         {"max_pool2d_backward": max_pool2d_backward, **PF}, words))


pb("transposed", "transpose")
pb("per_window", "kh*kw")
pb("not_cropped", "cut the padding off")


# ---- lesson 05 -------------------------------------------------------------------------------
@entry("check_conv_transpose2d_output_size", "conv_transpose2d_output_size", "output_padding")
def ct_size_op_twice(size, kernel, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride - 2 * padding + kernel + 2 * output_padding


@entry("check_conv_transpose2d_output_size", "conv_transpose2d_output_size", "2 * padding")
def ct_size_padding_once(size, kernel, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride - padding + kernel + output_padding


def _ctf(ctx, x, weight, bias, stride, padding, output_padding, bug=""):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    wmat = weight.transpose(1, 0, 2, 3).reshape(c, -1) if bug == "weight_T_reshape" else weight.reshape(c, -1)
    out = c2i(x2 @ wmat, full, kh, kw, sh, sw)
    if bug == "flip":
        out = c2i(x2 @ weight[:, :, ::-1, ::-1].reshape(c, -1), full, kh, kw, sh, sw)
    out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
    if bias:
        out = out + bias[0][:, None, None]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out


def ctf(bug, *words):
    def conv_transpose2d_forward(ctx, x, weight, *bias, stride, padding, output_padding):
        return _ctf(ctx, x, weight, bias, stride, padding, output_padding, bug)
    FRESH.append(Mistake(f"ct_forward_{bug}", "check_conv_transpose2d_forward",
                         {"conv_transpose2d_forward": conv_transpose2d_forward}, words))


ctf("weight_T_reshape", "weight")
ctf("flip", "flip")


def _ctb(ctx, grad, bug=""):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    grad_full = np.zeros(ctx.full, dtype=grad.dtype)
    grad_full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    grad_cols = i2c(grad_full, kh, kw, sh, sw)
    if bug == "grad_x_no_transpose":
        grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, c, h, w)
    else:
        grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    if bug == "weight_batch_mean":
        grad_weight = grad_weight / n
    grad_bias = grad.sum(axis=(0, 2, 3))
    return (grad_x, grad_weight) + ((grad_bias,) if ctx.has_bias else ())


def ctb(bug, *words):
    def conv_transpose2d_backward(ctx, grad):
        return _ctb(ctx, grad, bug)
    FRESH.append(Mistake(f"ct_backward_{bug}", "check_conv_transpose2d",
                         {"conv_transpose2d_backward": conv_transpose2d_backward,
                          "conv_transpose2d_forward": _ctf_right}, words))


def _ctf_right(ctx, x, weight, *bias, stride, padding, output_padding):
    return _ctf(ctx, x, weight, bias, stride, padding, output_padding)


ctb("grad_x_no_transpose", "transpose")
ctb("weight_batch_mean", "batch")
