"""Typical mistakes, written blind: the mistakes a marker meets most often in each exercise,
listed by frequency in three rounds by markers who had not read the checks, run through each
lesson's own check and judged by hand (named, generic, wrong cause). The blind figures of those
judgements: first round, 64 of 70 named (lessons 02-05) and 75 of 79 (lessons 00, 01,
06-11); second round, 68 of 72 (lessons 02-05) and 83 of 85 (the others); third round, 61 of 65
(lessons 02-05) and 61 of 63 (the others). The misses were worked on afterwards, so the figure
that test_checks_catalogue_typical.py prints is no longer blind.

Entries follow tests/test_checks_catalogue.py: each is a wrong answer with the exercise's
signature, registered with the check it goes through and the words that name the mistake in
its message; `t13_`/`t14_`/`t15_` tell the round, the docstring is the marker's description.
364 of the 434 are here: the other 70 are the same code as an entry of another catalogue (or of
an earlier round) for the same check, tested there (listed at the head of their lesson).
NOT_NAMED_YET holds those whose message does not name them yet, with the words a naming
message would hold.
"""
from __future__ import annotations

import math

import numpy as np

from minitorch_unet import Tensor
from test_checks_catalogue import Mistake, registrars, solution

TYPICAL: list[Mistake] = []
NOT_NAMED_YET: list[Mistake] = []

mistake, _ = registrars(TYPICAL, [])  # every entry is wrong: no right answers here
gap, _ = registrars(NOT_NAMED_YET, [])

NS01 = solution("01_autograd")
NS03 = solution("03_convolution")
NS04 = solution("04_max_pooling")
NS05 = solution("05_transposed_convolution")
NS06 = solution("06_concatenation_and_cropping")
im2col, col2im = NS03["im2col"], NS03["col2im"]
Conv2dFunction = NS03["Conv2dFunction"]
MaxPool2dFunction = NS04["MaxPool2dFunction"]
ConvTranspose2dFunction = NS05["ConvTranspose2dFunction"]
B_T, G, A_T = NS03["B_T"], NS03["G"], NS03["A_T"]
topological_order_ref = NS01["topological_order"]
CatFunction, CropFunction = NS06["CatFunction"], NS06["CropFunction"]


# ---- pieces shared by several entries (variants of one answer, a parameter count) ----------------

def _t13_cb(crop="ok", bias_axis=0, g_layout="ok", wgrad="ok", mean=False):
    def conv2d_backward(ctx, grad):
        (sh, sw), (ph, pw) = ctx.stride, ctx.padding
        o, c, kh, kw = ctx.weight.shape
        if g_layout == "ok":
            g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
        else:
            g = grad.reshape(-1, o)
        grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
        if crop == "ok":
            grad_x = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
        elif crop == "negative":
            grad_x = grad_x[:, :, ph:-ph, pw:-pw]
        if wgrad == "ok":
            grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
        else:
            grad_weight = (ctx.cols.T @ g).reshape(ctx.weight.shape)
        grad_bias = g.sum(axis=bias_axis)
        if mean:
            n = grad.shape[0]
            grad_weight, grad_bias = grad_weight / n, grad_bias / n
        if ctx.has_bias:
            return grad_x, grad_weight, grad_bias
        return grad_x, grad_weight
    return conv2d_backward


def _t13_mp_fwd_saving_cols(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.cols = cols
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)


def _t13_tf(x_layout="ok", bias="ok", oph_used=True, crop="ok", conv_layout=False):
    def conv_transpose2d_forward(ctx, x, weight, *bias_, stride, padding, output_padding):
        (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
        n, c, h, w = x.shape
        if conv_layout:
            o, c, kh, kw = weight.shape
        else:
            o, kh, kw = weight.shape[1:]
        if not oph_used:
            oph = opw = 0
        full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
        if x_layout == "ok":
            x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
        else:
            x2 = x.reshape(n * h * w, c)
        out = col2im(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)
        if crop == "ok":
            out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
        else:
            out = out[:, :, ph:-ph, pw:-pw]
        if bias_:
            if bias == "ok":
                out = out + bias_[0][:, None, None]
            else:
                out = out + bias_[0]
        ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
        ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias_)
        return out
    return conv_transpose2d_forward


def _t13_tb(bias_axes=(0, 2, 3), embed="ok", wgrad="ok", gx_layout="ok"):
    def conv_transpose2d_backward(ctx, grad):
        (sh, sw), (ph, pw) = ctx.stride, ctx.padding
        n, c, h, w = ctx.xshape
        o, kh, kw = ctx.weight.shape[1:]
        if embed == "none":
            grad_full = grad
        else:
            grad_full = np.zeros(ctx.full, dtype=grad.dtype)
            if embed == "ok":
                grad_full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
            else:
                grad_full[:, :, :grad.shape[2], :grad.shape[3]] = grad
        grad_cols = im2col(grad_full, kh, kw, sh, sw)
        if gx_layout == "ok":
            grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c)
            grad_x = grad_x.transpose(0, 3, 1, 2)
        else:
            grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, c, h, w)
        if wgrad == "ok":
            grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
        else:
            grad_weight = (grad_cols.T @ ctx.x2).reshape(ctx.weight.shape)
        if ctx.has_bias:
            return grad_x, grad_weight, grad.sum(axis=bias_axes)
        return grad_x, grad_weight
    return conv_transpose2d_backward


def _t13_count(depth, base_filters, in_channels, bn=2, dec_factor=2, up_bias=True, head_bias=True):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + (1 if head_bias else 0)
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 2 * bn * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + (widths[i] if up_bias else 0)
        total += 9 * widths[i] * (dec_factor * widths[i] + widths[i]) + 2 * bn * widths[i]
    return total


def _t14_bwd_parts(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    return sh, sw, ph, pw, o, c, kh, kw, g


def _t14_tfwd(ctx, x, weight, bias, stride, padding, output_padding, *, transpose_x=True,
          crop="right", add_bias="right", oppad=True):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    if not oppad:
        oph = opw = 0
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c) if transpose_x else x.reshape(n * h * w, c)
    out = col2im(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)
    if crop == "right":
        out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
    else:
        out = out[:, :, ph:-ph, pw:-pw]
    if bias:
        out = out + (bias[0][:, None, None] if add_bias == "right" else bias[0])
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out


def _t14_tbwd(ctx, grad, *, bias_axes=(0, 2, 3), place="right", x_transpose=True, w_order="right"):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    grad_full = np.zeros(ctx.full, dtype=grad.dtype)
    if place == "right":
        grad_full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    else:
        grad_full[:, :, :grad.shape[2], :grad.shape[3]] = grad
    grad_cols = im2col(grad_full, kh, kw, sh, sw)
    gx = grad_cols @ ctx.weight.reshape(c, -1).T
    grad_x = gx.reshape(n, h, w, c).transpose(0, 3, 1, 2) if x_transpose else gx.reshape(n, c, h, w)
    if w_order == "right":
        grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    else:
        grad_weight = (grad_cols.T @ ctx.x2).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return grad_x, grad_weight, grad.sum(axis=bias_axes)
    return grad_x, grad_weight


def _t14_count(depth, base_filters, in_channels, conv_bias=False, bn=2, concat=True, head=True,
           up_bias=True):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = (widths[0] + 1) if head else 0

    def double(c_in, c_out):
        n = 9 * c_out * (c_in + c_out) + 2 * bn * c_out
        return n + (2 * c_out if conv_bias else 0)

    for i in range(depth + 1):
        total += double(in_channels if i == 0 else widths[i - 1], widths[i])
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + (widths[i] if up_bias else 0)
        total += double(2 * widths[i] if concat else widths[i], widths[i])
    return total


def _t14_dice_per_slice(pred, target, threshold=0.5):
    """The learner's own (right) dice_per_slice, reused."""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(axis=1), p.sum(axis=1) + t.sum(axis=1)
    return np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))


def _t14_visit(node, order=[], visited=set()):  # noqa: B006 (the mistake: mutable defaults)
    if node not in visited:
        visited.add(node)
        for child in node._prev:
            _t14_visit(child, order, visited)
        order.append(node)
    return order


_T15_L3, _T15_L4, _T15_L5 = "03_convolution", "04_max_pooling", "05_transposed_convolution"


def _t15_ns(lesson, name):
    return solution(lesson)[name]


def _t15_naive(x, weight, bias, stride, padding, flip=False, pad=True, use_stride=True, plus_one=1,
           use_bias=True):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    p = padding if pad else 0
    xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho = (h + 2 * padding - kh) // stride + plus_one
    wo = (w + 2 * padding - kw) // stride + plus_one
    if not pad:
        ho, wo = (h - kh) // stride + 1, (w - kw) // stride + 1
    wt = weight[:, :, ::-1, ::-1] if flip else weight
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    s = stride if use_stride else 1
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    window = xpad[item, :, i * s:i * s + kh, j * s:j * s + kw]
                    out[item, ch, i, j] = np.sum(window * wt[ch])
            if bias is not None and use_bias:
                out[item, ch] += bias[ch]
    return out


def _t15_windows(x, kh, kw, sh, sw, stride=True):
    v = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return v[:, :, ::sh, ::sw] if stride else v


def _t15_col2im(cols, shape, kh, kw, sh, sw, accumulate=True, stride=True, transpose=True):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape, dtype=cols.dtype)
    if transpose:
        cols = cols.reshape(n, ho, wo, c, kh, kw)
    else:
        cols = cols.reshape(n, c, ho, wo, kh, kw).transpose(0, 2, 3, 1, 4, 5)
    for a in range(kh):
        for b in range(kw):
            if stride:
                sl = (slice(None), slice(None), slice(a, a + sh * ho, sh),
                      slice(b, b + sw * wo, sw))
            else:
                sl = (slice(None), slice(None), slice(a, a + ho), slice(b, b + wo))
            piece = cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
            if accumulate:
                out[sl] += piece
            else:
                out[sl] = piece
    return out


def _t15_fwd(ctx, x, weight, *bias, stride, padding, use_bias=True, pad=True, out_transpose=True,
             wlayout=True):
    im2col = _t15_ns(_T15_L3, "im2col")
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if pad else x
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    wmat = weight.reshape(o, -1).T if wlayout else weight.reshape(-1, o)
    out = cols @ wmat
    if bias and use_bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    if out_transpose:
        return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    return out.reshape(x.shape[0], o, ho, wo)


def _t15_bwd(ctx, grad, bias_axis=0, crop=True, gw_T=False, g_layout=True, bias_mean=False):
    col2im = _t15_ns(_T15_L3, "col2im")
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o) if g_layout else grad.reshape(-1, o)
    grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    if crop:
        grad_x = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
    if gw_T:
        grad_weight = (ctx.cols.T @ g).reshape(ctx.weight.shape)
    else:
        grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    if ctx.has_bias:
        gb = g.mean(axis=0) if bias_mean else g.sum(axis=0)
        if bias_axis == 1:
            gb = grad.sum(axis=(0, 1, 2))
        return grad_x, grad_weight, gb
    return grad_x, grad_weight


def _t15_mp_fwd(ctx, x, kernel, stride, padding, fill=-np.inf, fold=True):
    im2col = _t15_ns(_T15_L4, "im2col")
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    if fold:
        cols = im2col(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
        ctx.argmax = cols.argmax(axis=1)
        out = cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)
    else:
        cols = im2col(xpad, kh, kw, sh, sw)  # (N*Ho*Wo, C*kh*kw)
        m = cols.max(axis=1).reshape(n, ho, wo, 1)
        out = np.repeat(m.transpose(0, 3, 1, 2), c, axis=1)
        ctx.argmax = np.zeros(n * c * ho * wo, dtype=int)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return out


def _t15_tfwd(ctx, x, weight, *bias, stride, padding, output_padding, use_op=True, crop=True,
              bias_bcast=True, x_transpose=True):
    col2im = _t15_ns(_T15_L5, "col2im")
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    if not use_op:
        oph = opw = 0
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c) if x_transpose else x.reshape(n * h * w, c)
    out = col2im(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)
    if crop:
        out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
    if bias:
        out = out + (bias[0][:, None, None] if bias_bcast else bias[0])
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out


def _t15_tbwd(ctx, grad, bias_axis=(0, 2, 3), offset=True, gw_T=False, gx_transpose=True):
    im2col = _t15_ns(_T15_L5, "im2col")
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    grad_full = np.zeros(ctx.full, dtype=grad.dtype)
    if offset:
        grad_full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    else:
        grad_full[:, :, :grad.shape[2], :grad.shape[3]] = grad
    grad_cols = im2col(grad_full, kh, kw, sh, sw)
    gx = grad_cols @ ctx.weight.reshape(c, -1).T
    gx = gx.reshape(n, h, w, c).transpose(0, 3, 1, 2) if gx_transpose else gx.reshape(n, c, h, w)
    if gw_T:
        gw = (grad_cols.T @ ctx.x2).reshape(ctx.weight.shape)
    else:
        gw = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return gx, gw, grad.sum(axis=bias_axis)
    return gx, gw


def _t15_count(depth, base_filters, in_channels=1, dec_in=3, bn=4, head=True, conv_bias=0):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1 if head else 0
    for i in range(depth + 1):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + bn * widths[i] + conv_bias * 2 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (dec_in * widths[i]) + bn * widths[i] + conv_bias * 2 * widths[i]
    return total


# ---- 00_task_and_data ----------------------------------------------------------------------------

@mistake("check_dice", "dice", "the factor 2 is missing", "Dice = 2|P∩T|")
def t13_dice_no_factor_2(pred, target):
    """forgets the factor 2 in the numerator"""
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    total = p.sum() + t.sum()
    if total == 0:
        return 1.0
    return float(np.logical_and(p, t).sum() / total)


@mistake("check_dice", "dice", "Both masks are empty", "counts as a perfect match (1.0)")
def t13_dice_no_empty_case(pred, target):
    """no special case for two empty masks (0/0 -> nan)"""
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    return float(2 * np.logical_and(p, t).sum() / (p.sum() + t.sum()))


@mistake("check_dice", "dice", "Both masks are empty", "counts as a perfect match (1.0)")
def t13_dice_empty_is_0(pred, target):
    """two empty masks give 0.0 instead of 1.0"""
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    total = p.sum() + t.sum()
    if total == 0:
        return 0.0
    return float(2 * np.logical_and(p, t).sum() / total)


@mistake("check_dice", "dice", "your values are the IoU", "not Dice")
def t13_dice_is_iou(pred, target):
    """computes IoU |P∩T| / |P∪T| instead of Dice"""
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    union = np.logical_or(p, t).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(p, t).sum() / union)


@mistake("check_dice", "dice", "your values are the pixel accuracy",
         "the share of pixels that agree")
def t13_dice_accuracy(pred, target):
    """counts agreeing pixels (pred == target), background included"""
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    return float((p == t).sum() / p.size)


@mistake("check_dice", "dice", "Both masks are empty", "counts as a perfect match (1.0)")
def t14_dice_no_empty_case(pred, target):
    """no special case for two empty masks (0/0 -> nan)"""
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    return float(2 * np.logical_and(p, t).sum() / (p.sum() + t.sum()))


@mistake("check_dice", "dice", "Both masks are empty", "counts as a perfect match (1.0)")
def t14_dice_empty_is_zero(pred, target):
    """both masks empty returns 0.0 instead of 1.0"""
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    total = p.sum() + t.sum()
    if total == 0:
        return 0.0
    return float(2 * np.logical_and(p, t).sum() / total)


@mistake("check_dice", "dice", "your values are the IoU", "not Dice")
def t14_dice_iou(pred, target):
    """computes IoU |P&T|/|P|T| instead of Dice"""
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    union = np.logical_or(p, t).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(p, t).sum() / union)


@mistake("check_dice", "dice", "the factor 2 is missing", "Dice = 2|P∩T|")
def t14_dice_no_factor_2(pred, target):
    """forgets the factor 2 in the numerator"""
    p, t = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    total = p.sum() + t.sum()
    if total == 0:
        return 1.0
    return float(np.logical_and(p, t).sum() / total)


@mistake("check_dice", "dice", "&, | and ~ are bitwise", "refuse floats", "make them bool first")
def t14_dice_bitand_on_floats(pred, target):
    """pred & target on float 0/1 masks (TypeError)"""
    inter = (pred & target).sum()
    total = pred.sum() + target.sum()
    if total == 0:
        return 1.0
    return float(2 * inter / total)


@mistake("check_dice", "dice", "Both masks are empty: 0/0", "counts as a perfect match (1.0)")
def t15_dice_no_empty_case(pred, target):
    """no special case for two empty masks: 0/0 -> nan"""
    p = np.asarray(pred).astype(bool); t = np.asarray(target).astype(bool)
    return float(2 * np.logical_and(p, t).sum() / (p.sum() + t.sum()))


@mistake("check_dice", "dice", "the factor 2 is missing", "Dice = 2|P∩T| / (|P| + |T|)")
def t15_dice_forgot_2(pred, target):
    """forgot the factor 2 in the numerator"""
    p = np.asarray(pred).astype(bool); t = np.asarray(target).astype(bool)
    total = p.sum() + t.sum()
    if total == 0:
        return 1.0
    return float(np.logical_and(p, t).sum() / total)


@mistake("check_dice", "dice", "your values are the IoU", "not Dice")
def t15_dice_iou(pred, target):
    """computed IoU (intersection over union) instead of Dice"""
    p = np.asarray(pred).astype(bool); t = np.asarray(target).astype(bool)
    union = np.logical_or(p, t).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(p, t).sum() / union)


@mistake("check_dice", "dice", "counts every pixel where the masks agree, background included",
         "counts the pixels that are 1 in both")
def t15_dice_pixel_agreement(pred, target):
    """counts agreeing pixels (pred == target) as the overlap, background included"""
    p = np.asarray(pred).astype(bool); t = np.asarray(target).astype(bool)
    total = p.sum() + t.sum()
    if total == 0:
        return 1.0
    return float(2 * (p == t).sum() / total)



# ---- 01_autograd ---------------------------------------------------------------------------------
# Left out here, the same code as an entry of another catalogue for the same check: t13_mul_swapped
# (mul_swapped), t13_mul_no_grad (mul_no_chain), t13_topo_no_visited (d6_topo_no_visited),
# t13_backward_root_only (backward_root_only), t14_mul_swapped (mul_swapped), t14_mul_no_grad
# (mul_no_chain), t14_mul_copy_paste (mul_b_twice), t14_topo_no_visited (d6_topo_no_visited),
# t14_backward_root_only (backward_root_only), t14_unbroadcast_leading_only
# (unbroadcast_ignores_ones), t15_mul_swapped (mul_swapped), t15_mul_no_grad (mul_no_chain),
# t15_tanh_x_not_out (t13_tanh_1_minus_x2).

@mistake("check_tanh_backward", "tanh_backward", "you multiply by 1 - x**2",
         "square the output t = tanh(x), not the input")
def t13_tanh_1_minus_x2(x, grad):
    """uses 1 - x**2 (forgets to take tanh of x)"""
    return (1.0 - x ** 2) * grad


@mistake("check_tanh_backward", "tanh_backward", "without multiplying it by grad", "chain rule")
def t13_tanh_no_grad(x, grad):
    """forgets to multiply by grad"""
    return 1.0 - math.tanh(x) ** 2


@mistake("check_tanh_backward", "tanh_backward", "you multiply by 1 - tanh(x);", "1 - tanh(x)**2")
def t13_tanh_no_square(x, grad):
    """1 - tanh(x) without the square"""
    return (1.0 - math.tanh(x)) * grad


@mistake("check_topological_order", "topological_order", "the output comes first",
         "only after all its inputs (_prev) have been added")
def t13_topo_preorder(root):
    """appends the node before visiting its inputs (root first)"""
    order, visited = [], set()

    def visit(node):
        if node in visited:
            return
        visited.add(node)
        order.append(node)
        for child in node._prev:
            visit(child)

    visit(root)
    return order


@mistake("check_topological_order", "topological_order", "a topological order read backwards",
         "return the order as built, not reversed")
def t13_topo_reversed(root):
    """returns the order reversed (root first), ready for backward"""
    order, visited = [], set()

    def visit(node):
        if node in visited:
            return
        visited.add(node)
        for child in node._prev:
            visit(child)
        order.append(node)

    visit(root)
    return order[::-1]


@mistake("check_topological_order", "topological_order", "the output 'o' itself is missing",
         "append the root too")
def t13_topo_forgets_root(root):
    """visits root's inputs but never appends root itself"""
    order, visited = [], set()

    def visit(node):
        if node in visited:
            return
        visited.add(node)
        for child in node._prev:
            visit(child)
        order.append(node)

    for child in root._prev:
        visit(child)
    return order


@mistake("check_backward", "backward", "never set to 1.0", "set root.grad = 1.0")
def t13_backward_no_seed(root):
    """forgets root.grad = 1 (all gradients stay 0)"""
    for node in reversed(NS01["topological_order"](root)):
        node._backward()


@mistake("check_backward", "backward", "sent its gradient back before",
         "walk the topological order in reverse")
def t13_backward_not_reversed(root):
    """walks the topological order forwards, not in reverse"""
    root.grad = 1.0
    for node in NS01["topological_order"](root):
        node._backward()


@mistake("check_backward", "backward", "your backward resets them (grad = 0)", "zero nothing")
def t13_backward_zeroes_grads(root):
    """sets every node's grad to 0 first (second call does not accumulate)"""
    order = NS01["topological_order"](root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        node._backward()


@mistake("check_backward", "backward", "your backward calls a node's .backward()",
         "call node._backward()")
def t13_backward_calls_backward(root):
    """calls node.backward() instead of node._backward() (endless recursion)"""
    root.grad = 1.0
    for node in reversed(NS01["topological_order"](root)):
        node.backward()


@mistake("check_unbroadcast", "unbroadcast", "the values may be right",
         "reshape the result to `shape`")
def t13_unb_no_keepdims(grad, shape):
    """sums the size-1 axes without keepdims (no final reshape)"""
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched)
    return grad


@mistake("check_unbroadcast", "unbroadcast", "the axes where `shape` has a 1 are not summed",
         "sum them with keepdims=True")
def t13_unb_only_leading(grad, shape):
    """sums only the added leading axes, not the size-1 ones"""
    extra = grad.ndim - len(shape)
    return grad.sum(axis=tuple(range(extra)))


@mistake("check_unbroadcast", "unbroadcast", "you averaged",
         "sum the gradient over the broadcast axes")
def t13_unb_mean(grad, shape):
    """uses mean instead of sum"""
    extra = grad.ndim - len(shape)
    grad = grad.mean(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.mean(axis=stretched, keepdims=True)
    return np.asarray(grad).reshape(shape)


@mistake("check_unbroadcast", "unbroadcast", "but not the axes where `shape` has 1",
         "grad's axis 1 + i for every shape[i] == 1")
def t13_unb_left_aligned(grad, shape):
    """compares shape with grad.shape from the left, before removing the added axes"""
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))
    return np.asarray(grad)


@mistake("check_tanh_backward", "tanh_backward", "you multiply by 1 - x**2",
         "square the output t = tanh(x), not the input")
def t14_tanh_x_as_t(x, grad):
    """(1 - x**2)*grad: uses the input x where tanh(x) belongs"""
    return (1.0 - x ** 2) * grad


@mistake("check_tanh_backward", "tanh_backward", "you return the local derivative",
         "without multiplying it by grad")
def t14_tanh_no_grad(x, grad):
    """1 - tanh(x)**2: forgets the incoming grad (chain rule)"""
    return 1.0 - math.tanh(x) ** 2


@mistake("check_tanh_backward", "tanh_backward", "you multiply by (1 - tanh(x))**2",
         "square tanh(x) alone")
def t14_tanh_square_misplaced(x, grad):
    """(1 - tanh(x))**2 * grad: the square outside the bracket"""
    return (1.0 - math.tanh(x)) ** 2 * grad


@mistake("check_topological_order", "topological_order", "the output comes first",
         "only after all its inputs (_prev) have been added")
def t14_topo_preorder(root):
    """appends the node before visiting its inputs (pre-order)"""
    order, visited = [], set()

    def visit(node):
        if node in visited:
            return
        visited.add(node)
        order.append(node)
        for child in node._prev:
            visit(child)

    visit(root)
    return order


@mistake("check_topological_order", "topological_order", "a topological order read backwards",
         "return the order as built, not reversed")
def t14_topo_reversed(root):
    """returns the order reversed (root first)"""
    order, visited = [], set()

    def visit(node):
        if node in visited:
            return
        visited.add(node)
        for child in node._prev:
            visit(child)
        order.append(node)

    visit(root)
    return order[::-1]


@mistake("check_topological_order", "topological_order", "graphs walked in earlier calls",
          "the default argument order=[]")
def t14_topo_mutable_default(root):
    """helper with mutable default arguments (order=[], visited=set()): state kept between calls"""
    return _t14_visit(root)


@mistake("check_backward", "backward", "sent its gradient back before",
         "walk the topological order in reverse (output first)")
def t14_backward_not_reversed(root):
    """walks the topological order forwards, not in reverse"""
    root.grad = 1.0
    for node in topological_order_ref(root):
        node._backward()


@mistake("check_backward", "backward", "never set to 1.0", "set root.grad = 1.0")
def t14_backward_no_seed(root):
    """forgets root.grad = 1"""
    for node in reversed(topological_order_ref(root)):
        node._backward()


@mistake("check_backward", "backward", "your backward resets them (grad = 0)", "zero nothing")
def t14_backward_zeroes_grads(root):
    """zeroes every grad first: a second backward does not accumulate"""
    order = topological_order_ref(root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        node._backward()


@mistake("check_backward", "backward", "your backward calls a node's .backward()",
         "call node._backward()")
def t14_backward_calls_backward(root):
    """calls node.backward() (the public method) instead of node._backward()"""
    root.grad = 1.0
    for node in reversed(topological_order_ref(root)):
        if node is not root:
            node.backward()


@mistake("check_unbroadcast", "unbroadcast", "the values may be right",
         "reshape the result to `shape`")
def t14_unbroadcast_no_keepdims(grad, shape):
    """sums the size-1 axes without keepdims (the axis disappears)"""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(axis=i)
    return grad


@mistake("check_unbroadcast", "unbroadcast", "you summed the trailing axes away",
         "sum over the first 1 axis")
def t14_unbroadcast_trailing(grad, shape):
    """sums the trailing axes instead of the leading ones"""
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(len(shape), grad.ndim))) if extra else grad
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(axis=i, keepdims=True)
    return grad


@mistake("check_unbroadcast", "unbroadcast", "you averaged",
         "sum the gradient over the broadcast axes")
def t14_unbroadcast_mean(grad, shape):
    """averages instead of summing"""
    while grad.ndim > len(shape):
        grad = grad.mean(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.mean(axis=i, keepdims=True)
    return grad


@mistake("check_unbroadcast", "unbroadcast",
         "you summed 1 of the 2 axes that broadcasting added in front", "the first 2 axes of grad")
def t14_unbroadcast_axis0_once(grad, shape):
    """sums axis 0 once (if, not while): fails with 2+ added axes"""
    if grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(axis=i, keepdims=True)
    return grad


@mistake("check_tanh_backward", "tanh_backward", "you return the local derivative 1 - tanh(x)**2",
         "without multiplying it by grad (chain rule)")
def t15_tanh_no_grad(x, grad):
    """forgot the chain-rule factor grad: returns 1 - tanh(x)^2"""
    return 1.0 - math.tanh(x) ** 2


@mistake("check_topological_order", "topological_order", "'a' appears 4 times",
         "keep a set of visited nodes")
def t15_topo_no_visited(root):
    """no visited set: a node reached by two paths appears twice"""
    order = []
    def visit(node):
        for child in node._prev:
            visit(child)
        order.append(node)
    visit(root)
    return order


@mistake("check_topological_order", "topological_order", "the output comes first",
         "add a node to the list only after all its inputs (_prev) have been added")
def t15_topo_preorder(root):
    """appends the node before visiting its inputs (pre-order): root comes first"""
    order, visited = [], set()
    def visit(node):
        if node in visited:
            return
        visited.add(node)
        order.append(node)
        for child in node._prev:
            visit(child)
    visit(root)
    return order


@mistake("check_backward", "backward", "never set to 1.0", "set root.grad = 1.0")
def t15_backward_no_seed(root):
    """forgot root.grad = 1.0 before walking the graph"""
    for node in reversed(NS01["topological_order"](root)):
        node._backward()


@mistake("check_backward", "backward", "sent its gradient back before 's', which uses it",
         "walk the topological order in reverse")
def t15_backward_not_reversed(root):
    """walks the topological order forwards (inputs first) instead of reversed"""
    root.grad = 1.0
    for node in NS01["topological_order"](root):
        node._backward()


@mistake("check_backward", "backward", "'x1*w1' never sent its gradient back",
         "call _backward() of every node of topological_order(root)")
def t15_backward_one_level(root):
    """only calls root._backward() and its direct inputs', no full graph walk"""
    root.grad = 1.0
    root._backward()
    for child in root._prev:
        child._backward()


@mistake("check_unbroadcast", "unbroadcast", "the axes where `shape` has a 1 are not summed",
         "sum them with keepdims=True")
def t15_unbroadcast_leading_only(grad, shape):
    """sums only the extra leading axes, forgets the size-1 axes that were stretched"""
    extra = grad.ndim - len(shape)
    return grad.sum(axis=tuple(range(extra)))


@mistake("check_unbroadcast", "unbroadcast", "you averaged",
         "sum the gradient over the broadcast axes")
def t15_unbroadcast_mean(grad, shape):
    """mean instead of sum over the broadcast axes"""
    extra = grad.ndim - len(shape)
    grad = grad.mean(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.mean(axis=stretched, keepdims=True)
    return grad.reshape(shape)


@mistake("check_unbroadcast", "unbroadcast", "you summed grad (3, 4, 5) over axis 0",
          "the axes to sum are axis 1")
def t15_unbroadcast_axis0_once(grad, shape):
    """sums axis 0 once whenever the shapes differ (the bias-of-a-batch case only)"""
    if grad.shape != tuple(shape):
        grad = grad.sum(axis=0)
    return grad


@mistake("check_unbroadcast", "unbroadcast", "the values may be right",
         "reshape the result to `shape`")
def t15_unbroadcast_no_keepdims(grad, shape):
    """sums the stretched size-1 axes without keepdims and returns (the 1s are dropped)"""
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched)
    return grad


@mistake("check_topological_order", "topological_order", "the output 'o' itself is missing",
         "append the root too")
def t15_topo_no_root(root):
    """collects only the inputs (visits children of root) and forgets to add root itself"""
    order, visited = [], set()
    def visit(node):
        if node in visited:
            return
        visited.add(node)
        for child in node._prev:
            visit(child)
        order.append(node)
    for child in root._prev:
        visit(child)
    return order



# ---- 02_gradient_checking ------------------------------------------------------------------------
# Left out here, the same code as an entry of another catalogue for the same check:
# t14_ng_nudge_all_at_once (ng_all_entries_at_once).

@mistake("check_numerical_gradient", "numerical_gradient", "your values are forward differences",
         "use central ones")
def t13_ng_forward_difference(f, x, eps=1e-6):
    """forward difference (f(x+eps)-f(x))/eps instead of the central difference"""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        saved = x[i]
        f0 = f(x)
        x[i] = saved + eps
        f_plus = f(x)
        x[i] = saved
        grad[i] = (f_plus - f0) / eps
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "divided by eps (twice the gradient)",
         "divide it by 2 * eps")
def t13_ng_divide_by_eps(f, x, eps=1e-6):
    """central difference divided by eps instead of 2*eps (gradient twice too large)"""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        f_plus = f(x)
        x[i] = saved - eps
        f_minus = f(x)
        x[i] = saved
        grad[i] = (f_plus - f_minus) / eps
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "changed x",
         "put each entry back after nudging it")
def t13_ng_not_restored(f, x, eps=1e-6):
    """never puts x[i] back: x is left at saved-eps for every entry"""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        f_plus = f(x)
        x[i] = saved - eps
        f_minus = f(x)
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "f(x - eps) is taken at x itself",
         "the - eps nudge is lost", "each from the saved value")
def t13_ng_alias_no_copy(f, x, eps=1e-6):
    """x_plus = x; x_minus = x (aliases, no copy): the minus nudge undoes the plus one, f_minus =
    f(x)
    """
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x_plus = x
        x_plus[i] += eps
        f_plus = f(x_plus)
        x_minus = x
        x_minus[i] -= eps
        f_minus = f(x_minus)
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "x[i] is a row",
         "range(len(x)) runs over the rows", "for i in np.ndindex(x.shape)")
def t13_ng_range_len(f, x, eps=1e-6):
    """loops over range(len(x)): nudges a whole row at once for 2-D x instead of one entry"""
    grad = np.zeros(x.shape)
    for i in range(len(x)):
        saved = x[i].copy()
        x[i] = saved + eps
        f_plus = f(x)
        x[i] = saved - eps
        f_minus = f(x)
        x[i] = saved
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


@mistake("check_numerical_gradient", "numerical_gradient",
         "moves every entry of x at once (f(x + eps))", "nudge one entry at a time")
def t13_ng_nudge_all(f, x, eps=1e-6):
    """nudges every entry at once (f(x + eps)) and fills the array with one number"""
    f_plus = f(x + eps)
    f_minus = f(x - eps)
    return np.full(x.shape, (f_plus - f_minus) / (2 * eps))


@mistake("check_relative_error", "relative_error", "you divide by |a| + |b|",
         "divide by max(|a|, |b|)")
def t13_re_cs231n(a, b):
    """CS231n's rel_error: denominator |a|+|b| (floored at 1e-8) instead of max(|a|,|b|)"""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


@mistake("check_relative_error", "relative_error", "got nan",
         "where both entries are 0 the error is 0")
def t13_re_nan_zero(a, b):
    """no 0/0 guard: entries where both are 0 give nan"""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))))


@mistake("check_relative_error", "relative_error",
         "you divide by max(a, b) without absolute values", "divide by max(|a|, |b|)")
def t13_re_no_abs_denominator(a, b):
    """max(a, b) instead of max(|a|, |b|) in the denominator (negatives)"""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(a, b)
    return float(np.max(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))


@mistake("check_relative_error", "relative_error", "that is the mean over the entries",
         "take the largest")
def t13_re_mean(a, b):
    """mean of the relative errors instead of the largest"""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.mean(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))


@mistake("check_relative_error", "relative_error", "the errors of every entry",
         "return the largest")
def t13_re_returns_array(a, b):
    """returns the per-entry array of relative errors (no max, no float)"""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    return np.abs(a - b) / np.where(scale == 0, 1.0, scale)


@mistake("check_numerical_gradient", "numerical_gradient", "your values are forward differences",
         "use central ones")
def t14_ng_forward_difference(f, x, eps=1e-6):
    """one-sided (forward) difference (f(x+eps) - f(x)) / eps instead of the central one"""
    grad = np.zeros(x.shape)
    fx = f(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        grad[i] = (f(x) - fx) / eps
        x[i] = saved
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "divided by eps (twice the gradient)",
         "divide it by 2 * eps")
def t14_ng_divide_by_eps(f, x, eps=1e-6):
    """central difference divided by eps instead of 2*eps (gradient twice too large)"""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        fp = f(x)
        x[i] = saved - eps
        fm = f(x)
        x[i] = saved
        grad[i] = (fp - fm) / eps
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "changed x",
         "put each entry back after nudging it")
def t14_ng_not_restored(f, x, eps=1e-6):
    """x[i] += eps; x[i] -= 2*eps and never put back: x ends shifted by -eps"""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x[i] += eps
        fp = f(x)
        x[i] -= 2 * eps
        fm = f(x)
        grad[i] = (fp - fm) / (2 * eps)
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "= does not copy",
          "both nudges land on x")
def t14_ng_alias_copy(f, x, eps=1e-6):
    """x_plus = x; x_minus = x (aliases, no copy): both nudges cancel, the gradient is all zeros"""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x_plus = x
        x_plus[i] += eps
        x_minus = x
        x_minus[i] -= eps
        grad[i] = (f(x_plus) - f(x_minus)) / (2 * eps)
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "x[i] is a row",
         "range(len(x)) runs over the rows", "for i in np.ndindex(x.shape)")
def t14_ng_range_len(f, x, eps=1e-6):
    """loops `for i in range(len(x))`: on a 2-D x, x[i] nudges a whole row"""
    grad = np.zeros_like(x)
    for i in range(len(x)):
        saved = x[i].copy()
        x[i] = saved + eps
        fp = f(x)
        x[i] = saved - eps
        fm = f(x)
        x[i] = saved
        grad[i] = (fp - fm) / (2 * eps)
    return grad


@mistake("check_relative_error", "relative_error", "that is the mean over the entries",
         "take the largest")
def t14_re_mean(a, b):
    """returns the mean relative error instead of the largest"""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.mean(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))


@mistake("check_relative_error", "relative_error", "you divide by |a| + |b|",
         "divide by max(|a|, |b|)")
def t14_re_sum_denominator(a, b):
    """denominator |a| + |b| instead of max(|a|, |b|)"""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.abs(a) + np.abs(b)
    return float(np.max(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))


@mistake("check_relative_error", "relative_error", "got nan",
         "where both entries are 0 the error is 0")
def t14_re_no_zero_case(a, b):
    """0/0 not handled: nan when both entries are 0"""
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))))


@mistake("check_relative_error", "relative_error", "the absolute value is missing", "use |a - b|")
def t14_re_no_abs(a, b):
    """no abs on the difference: (a - b) / max(...), negative errors ignored"""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.max((a - b) / np.where(scale == 0, 1.0, scale)))


@mistake("check_relative_error", "relative_error", "you compare norms of whole arrays",
         "the error here is per entry")
def t14_re_norm_based(a, b):
    """norm-based error ||a - b|| / max(||a||, ||b||) instead of the largest entrywise one"""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / scale) if scale else 0.0


@mistake("check_numerical_gradient", "numerical_gradient", "your values are forward differences",
         "use central ones")
def t15_ng_forward_difference(f, x, eps=1e-6):
    """forward difference (f(x+eps)-f(x))/eps instead of the central one"""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        saved = x[i]
        f0 = f(x)
        x[i] = saved + eps
        f_plus = f(x)
        x[i] = saved
        grad[i] = (f_plus - f0) / eps
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "changed x", "put each entry back")
def t15_ng_not_restored(f, x, eps=1e-6):
    """entry left at x-eps: x not put back after the nudge"""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x[i] += eps
        f_plus = f(x)
        x[i] -= 2 * eps
        f_minus = f(x)
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "divided by eps (twice the gradient)",
         "divide it by 2 * eps")
def t15_ng_divide_by_eps(f, x, eps=1e-6):
    """central difference divided by eps instead of 2*eps (gradient twice too big)"""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        f_plus = f(x)
        x[i] = saved - eps
        f_minus = f(x)
        x[i] = saved
        grad[i] = (f_plus - f_minus) / eps
    return grad


@mistake("check_numerical_gradient", "numerical_gradient",
         "moves 3 entries of x at once, a whole row", "x[i] for i in np.ndindex(x.shape)")
def t15_ng_range_len_rows(f, x, eps=1e-6):
    """loops over range(len(x)): on a 2-D x nudges a whole row at once"""
    grad = np.zeros(x.shape)
    for i in range(len(x)):
        saved = x[i].copy()
        x[i] = saved + eps
        f_plus = f(x)
        x[i] = saved - eps
        f_minus = f(x)
        x[i] = saved
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


@mistake("check_relative_error", "relative_error", "you divide by |a| + |b|",
         "divide by max(|a|, |b|)")
def t15_re_sum_denominator(a, b):
    """denominator |a|+|b| (CS231n's form) instead of max(|a|,|b|)"""
    a, b = np.asarray(a, float), np.asarray(b, float)
    den = np.abs(a) + np.abs(b)
    return float(np.max(np.abs(a - b) / np.where(den == 0, 1.0, den)))


@mistake("check_relative_error", "relative_error", "that is the mean over the entries",
         "take the largest")
def t15_re_mean_not_max(a, b):
    """mean of the relative errors instead of the largest"""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.mean(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))


@mistake("check_relative_error", "relative_error", "where both entries are 0 the error is 0",
         "0/0 counts as no error")
def t15_re_zero_over_zero_nan(a, b):
    """no guard for 0/0: returns nan when both entries are 0"""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))))


@mistake("check_relative_error", "relative_error", "max(a, b) without absolute values",
         "divide by max(|a|, |b|)")
def t15_re_no_abs_in_scale(a, b):
    """max(a, b) without abs in the denominator (negative entries)"""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(a, b)
    return float(np.max(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))


@mistake("check_numerical_gradient", "numerical_gradient", "the right values in x's memory order",
         "np.reshape(grad, x.shape)")
def t15_ng_flat_list(f, x, eps=1e-6):
    """collects the entries in a list: returns a flat (size,) array, not x's shape"""
    grad = []
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        f_plus = f(x)
        x[i] = saved - eps
        f_minus = f(x)
        x[i] = saved
        grad.append((f_plus - f_minus) / (2 * eps))
    return np.array(grad)


@mistake("check_relative_error", "relative_error",
         "got an array of shape (3, 4): the errors of every entry", "return the largest")
def t15_re_returns_array(a, b):
    """returns the array of per-entry errors, never takes the max"""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(a), np.abs(b))
    return np.abs(a - b) / np.where(scale == 0, 1.0, scale)



# ---- 03_convolution ------------------------------------------------------------------------------

@mistake("check_conv2d_naive", "conv2d_naive", "off by one",
         "the + 1 is missing (the first window counts too)")
def t13_cn_no_plus_one(x, weight, bias=None, stride=1, padding=0):
    """output size (H+2p-k)//s without the +1 (off by one: last window dropped)"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride
    wo = (w + 2 * padding - kw) // stride
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for channel in range(o):
            for i in range(ho):
                for j in range(wo):
                    window = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, channel, i, j] = np.sum(window * weight[channel])
            if bias is not None:
                out[item, channel] += bias[channel]
    return out


@mistake("check_conv2d_naive", "conv2d_naive",
         "padded by 1 on every axis, the batch and channel axes too",
         "np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))")
def t13_cn_pad_all_axes(x, weight, bias=None, stride=1, padding=0):
    """np.pad(x, padding): pads the batch and channel axes too"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, padding)
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for channel in range(o):
            for i in range(ho):
                for j in range(wo):
                    window = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, channel, i, j] = np.sum(window * weight[channel])
            if bias is not None:
                out[item, channel] += bias[channel]
    return out


@mistake("check_conv2d_naive", "conv2d_naive",
         "the windows start at (i, j) instead of (stride * i, stride * j)",
         "the stride is not applied when slicing the windows")
def t13_cn_no_stride_window(x, weight, bias=None, stride=1, padding=0):
    """window starts at i, j instead of i*stride, j*stride (stride ignored in slicing)"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for channel in range(o):
            for i in range(ho):
                for j in range(wo):
                    window = xpad[item, :, i:i + kh, j:j + kw]
                    out[item, channel, i, j] = np.sum(window * weight[channel])
            if bias is not None:
                out[item, channel] += bias[channel]
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "the kernel is flipped", "no flip")
def t13_cn_flipped(x, weight, bias=None, stride=1, padding=0):
    """flips the kernel (true convolution instead of cross-correlation)"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for channel in range(o):
            kernel = weight[channel, :, ::-1, ::-1]
            for i in range(ho):
                for j in range(wo):
                    window = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, channel, i, j] = np.sum(window * kernel)
            if bias is not None:
                out[item, channel] += bias[channel]
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "the bias is missing",
         "add bias[o] to every pixel of output channel o")
def t13_cn_no_bias(x, weight, bias=None, stride=1, padding=0):
    """forgets to add the bias"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for channel in range(o):
            for i in range(ho):
                for j in range(wo):
                    window = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, channel, i, j] = np.sum(window * weight[channel])
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "only the last input channel counts",
         "assigns with = where += belongs")
def t13_cn_channel_overwrite(x, weight, bias=None, stride=1, padding=0):
    """loop over input channels with = instead of +=: only the last channel kept"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for channel in range(o):
            for i in range(ho):
                for j in range(wo):
                    for ci in range(c):
                        window = xpad[item, ci, i * stride:i * stride + kh,
                                      j * stride:j * stride + kw]
                        out[item, channel, i, j] = np.sum(window * weight[channel, ci])
            if bias is not None:
                out[item, channel] += bias[channel]
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "the bias is added twice")
def t13_cn_bias_in_channel_loop(x, weight, bias=None, stride=1, padding=0):
    """adds the bias inside the input-channel loop: bias counted C times"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for channel in range(o):
            for ci in range(c):
                for i in range(ho):
                    for j in range(wo):
                        window = xpad[item, ci, i * stride:i * stride + kh,
                                      j * stride:j * stride + kw]
                        out[item, channel, i, j] += np.sum(window * weight[channel, ci])
                if bias is not None:
                    out[item, channel] += bias[channel]
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "your sizes follow (H - k) // stride + 1",
         "count the windows of the padded input")
def t13_cn_size_ignores_padding(x, weight, bias=None, stride=1, padding=0):
    """output size (H - k)//s + 1 leaves the padding out"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h - kh) // stride + 1
    wo = (w - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for channel in range(o):
            for i in range(ho):
                for j in range(wo):
                    window = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, channel, i, j] = np.sum(window * weight[channel])
            if bias is not None:
                out[item, channel] += bias[channel]
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "`x` is the unpadded array",
         "cut the windows from `xpad`")
def t13_cn_uses_x_not_xpad(x, weight, bias=None, stride=1, padding=0):
    """pads into xpad but slices the windows from the unpadded x"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for channel in range(o):
            for i in range(ho):
                for j in range(wo):
                    window = x[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, channel, i, j] = np.sum(window * weight[channel])
            if bias is not None:
                out[item, channel] += bias[channel]
    return out


@mistake("check_im2col", "im2col", "reshaped without the transpose",
         "transpose(0, 2, 3, 1, 4, 5) first")
def t13_im_no_transpose(x, kh, kw, sh, sw):
    """reshapes the (N,C,Ho,Wo,kh,kw) windows directly, without the transpose"""
    n, c = x.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    ho, wo = windows.shape[2:4]
    return windows.reshape(n * ho * wo, c * kh * kw)


@mistake("check_im2col", "im2col", "steps through axes 0 and 1", "the batch and the channels",
         "write `[:, :, ::sh, ::sw]`")
def t13_im_stride_wrong_axes(x, kh, kw, sh, sw):
    """windows[::sh, ::sw]: the stride slices the batch and channel axes"""
    n, c = x.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[::sh, ::sw]
    ho, wo = windows.shape[2:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, c * kh * kw)


@mistake("check_im2col", "im2col", "the stride is ignored, your windows start at every pixel",
         "starts at (sh * i, sw * j)")
def t13_im_no_stride(x, kh, kw, sh, sw):
    """forgets the stride (no [:, :, ::sh, ::sw])"""
    n, c = x.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    ho, wo = windows.shape[2:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)


@mistake("check_im2col", "im2col", "your columns run over (a, b, c), the channel last",
         "they must run over (c, a, b)")
def t13_im_channel_last(x, kh, kw, sh, sw):
    """transpose(0,2,3,4,5,1): columns ordered (a, b, c) instead of (c, a, b)"""
    n, c = x.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    ho, wo = windows.shape[2:4]
    return windows.transpose(0, 2, 3, 4, 5, 1).reshape(n * ho * wo, c * kh * kw)


@mistake("check_im2col", "im2col", "your rows run over (i, j, n), the batch last",
         "they must run over (n, i, j)")
def t13_im_loop_row_order(x, kh, kw, sh, sw):
    """loops over (i, j) and stacks x[:, :, window].reshape(N, -1): rows ordered (i, j, n), not
    (n, i, j)
    """
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    rows = []
    for i in range(ho):
        for j in range(wo):
            rows.append(x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(n, -1))
    return np.concatenate(rows, axis=0)


@mistake("check_col2im", "col2im", "overlapping windows overwrite each other", "col2im must ADD")
def t13_c2_overwrite(cols, shape, kh, kw, sh, sw):
    """= instead of += : overlapping windows overwrite instead of adding"""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape, dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] = \
                cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return out


@mistake("check_col2im", "col2im", "the stride is ignored",
         "goes back to (sh * i, sw * j), not (i, j)")
def t13_c2_no_stride(cols, shape, kh, kw, sh, sw):
    """slice a:a+ho instead of a:a+sh*ho:sh (stride ignored when putting back)"""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape, dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + ho, b:b + wo] += cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return out


@mistake("check_col2im", "col2im", "reshaped to (N, C, Ho, Wo, kh, kw) without the transpose",
         "move C next to N")
def t13_c2_reshape_not_transpose(cols, shape, kh, kw, sh, sw):
    """(N,Ho,Wo,C) -> (N,C,Ho,Wo) with reshape instead of transpose(0,3,1,2)"""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape, dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] += \
                cols[:, :, :, :, a, b].reshape(n, c, ho, wo)
    return out


@mistake("check_col2im", "col2im", "you average their values (divided by the count)",
         "col2im SUMS them")
def t13_c2_average(cols, shape, kh, kw, sh, sw):
    """averages overlapping entries (divides by the count) instead of summing"""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape, dtype=cols.dtype)
    count = np.zeros(shape, dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] += \
                cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
            count[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] += 1
    return out / np.maximum(count, 1)


@mistake("check_col2im", "col2im", "4 x 4 windows where cols holds 5 x 5",
         "the + 1 is missing")
def t13_c2_ho_no_plus_one(cols, shape, kh, kw, sh, sw):
    """Ho = (H - kh)//sh without the +1 (off by one)"""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh, (w - kw) // sw
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape, dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] += \
                cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return out


@mistake("check_conv2d_forward", "conv2d_forward", "`bias` is the empty tuple ()",
         "`bias is not None` is always true", "test it with `if bias:`")
def t13_cf_bias_is_not_none(ctx, x, weight, *bias, stride, padding):
    """`if bias is not None:` on the *bias tuple (always true) -> bias[0] IndexError without bias"""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if bias is not None:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@mistake("check_conv2d_forward", "conv2d_forward", "reshaped straight to (N, O, Ho, Wo)",
         "(N, Ho, Wo, O) first, then transpose")
def t13_cf_reshape_no_transpose(ctx, x, weight, *bias, stride, padding):
    """reshapes (N*Ho*Wo, O) straight to (N, O, Ho, Wo), no transpose"""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], o, ho, wo)


@mistake("check_conv2d_forward", "conv2d_forward", "the weight matrix is weight.reshape(-1, O)",
         "use weight.reshape(O, -1).T")
def t13_cf_weight_reshape_wrong(ctx, x, weight, *bias, stride, padding):
    """weight.reshape(-1, O) instead of weight.reshape(O, -1).T"""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(-1, o)
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@mistake("check_conv2d_forward", "conv2d", "received stride=1, padding=0 where it unpacks a pair",
         "turn an int v into (v, v)")
def t13_cw_int_stride(input, weight, bias=None, stride=1, padding=0):
    """conv2d passes int stride/padding through without making pairs"""
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return Conv2dFunction.apply(*tensors, stride=stride, padding=padding)


@mistake("check_conv2d_forward", "conv2d", "`bias` is None on this line",
         "leave it out when it is None")
def t13_cw_bias_none_passed(input, weight, bias=None, stride=1, padding=0):
    """conv2d passes bias=None to Conv2dFunction.apply as a third input"""
    stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
    padding = (padding, padding) if isinstance(padding, int) else tuple(padding)
    return Conv2dFunction.apply(input, weight, bias, stride=stride, padding=padding)


@mistake("check_conv2d_forward", "conv2d_forward", "the padding is not applied",
         "pad the input by `padding` zeros")
def t13_cf_no_pad(ctx, x, weight, *bias, stride, padding):
    """forgets to pad x before im2col"""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    ho, wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    cols = im2col(x, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@mistake("check_conv2d_forward", "conv2d_forward", "meets the width axis",
         "give it the channel axis", ".reshape(1, 5, 1, 1)")
def t13_cf_bias_after_transpose(ctx, x, weight, *bias, stride, padding):
    """adds bias[0] after the transpose to (N, O, Ho, Wo): broadcasts along the width axis"""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out


@mistake("check_conv2d", "conv2d_backward", "x[p:-p] is empty when p = 0", "write x[p:size - p]")
def t13_cb_crop_negative(ctx, grad):
    """crops with grad_x[:, :, ph:-ph, pw:-pw]: empty when padding is 0"""
    return _t13_cb(crop="negative")(ctx, grad)


@mistake("check_conv2d", "conv2d_backward", "summed over axis 1, its 5 channels",
         "sum that matrix over axis 0")
def t13_cb_bias_wrong_axis(ctx, grad):
    """grad_bias = g.sum(axis=1) (sums over channels instead of over rows)"""
    return _t13_cb(bias_axis=1)(ctx, grad)


@mistake("check_conv2d", "conv2d_backward", "computed from grad.reshape(-1, O)",
         "grad.transpose(0, 2, 3, 1).reshape(-1, O)")
def t13_cb_grad_reshape_no_transpose(ctx, grad):
    """G = grad.reshape(-1, O) without transpose(0, 2, 3, 1)"""
    return _t13_cb(g_layout="bad")(ctx, grad)


@mistake("check_conv2d", "conv2d_backward",
         "reshaped from a (C*kh*kw, O) matrix (cols.T @ grad_cols)", "grad_cols.T @ cols")
def t13_cb_weight_grad_transposed(ctx, grad):
    """grad_weight = (cols.T @ G).reshape(weight.shape): (C*k*k, O) reshaped as (O, C, k, k)"""
    return _t13_cb(wgrad="bad")(ctx, grad)


@mistake("check_conv2d", "conv2d_backward", "it is larger by [0, 0, 2, 2]",
         "cut the padding off before returning it")
def t13_cb_no_crop(ctx, grad):
    """forgets to cut the padding off grad_x (returns the padded input's gradient)"""
    return _t13_cb(crop="none")(ctx, grad)


@mistake("check_conv2d", "conv2d_backward", "grad_weight is divided by the batch size",
         "the samples' gradients add up")
def t13_cb_mean_over_batch(ctx, grad):
    """divides grad_weight and grad_bias by the batch size (mean instead of sum)"""
    return _t13_cb(mean=True)(ctx, grad)


@mistake("check_conv2d", "conv2d_backward", "backward returned 3 gradients for 2 tensor inputs",
         "return one per input")
def t13_cb_always_three(ctx, grad):
    """backward always returns grad_bias, also when the layer has no bias"""
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    return grad_x, grad_weight, g.sum(axis=0)


@mistake("check_winograd_tile", "winograd_tile", "U and V are multiplied as matrices (@)",
         "(U * V).sum(axis=0)")
def t13_wg_matmul(d, g):
    """u @ v (matrix product) instead of the elementwise u * v"""
    u = G @ g @ G.T
    v = B_T @ d @ B_T.T
    return A_T @ (u @ v).sum(axis=0) @ A_T.T


@mistake("check_winograd_tile", "winograd_tile", "one block per channel",
         "the sum over the channels is missing")
def t13_wg_no_channel_sum(d, g):
    """forgets to sum over the channels (returns (C, 2, 2))"""
    u = G @ g @ G.T
    v = B_T @ d @ B_T.T
    return A_T @ (u * v) @ A_T.T


@mistake("check_winograd_tile", "winograd_tile", "the input transform is B_T @ d @ B_T;",
         "V = B_T @ d @ B_T.T")
def t13_wg_B_not_transposed(d, g):
    """B_T @ d @ B_T instead of B_T @ d @ B_T.T (right-hand B not transposed)"""
    u = G @ g @ G.T
    v = B_T @ d @ B_T
    return A_T @ (u * v).sum(axis=0) @ A_T.T


@mistake("check_conv2d_naive", "conv2d_naive", "off by one", "the + 1 is missing")
def t14_naive_no_plus_one(x, weight, bias=None, stride=1, padding=0):
    """output size without the +1: (H + 2p - k) // s"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride
    wo = (w + 2 * padding - kw) // stride
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    win = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, ch, i, j] = np.sum(win * weight[ch])
            if bias is not None:
                out[item, ch] += bias[ch]
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "the bias is missing",
         "add bias[o] to every pixel of output channel o")
def t14_naive_no_bias(x, weight, bias=None, stride=1, padding=0):
    """forgets to add the bias"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    win = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, ch, i, j] = np.sum(win * weight[ch])
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "the kernel is flipped", "no flip")
def t14_naive_flip(x, weight, bias=None, stride=1, padding=0):
    """flips the kernel (true convolution) instead of cross-correlation"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for ch in range(o):
            k = weight[ch, :, ::-1, ::-1]
            for i in range(ho):
                for j in range(wo):
                    win = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, ch, i, j] = np.sum(win * k)
            if bias is not None:
                out[item, ch] += bias[ch]
    return out


@mistake("check_conv2d_naive", "conv2d_naive",
         "the windows start at (i, j) instead of (stride * i, stride * j)",
         "the stride is not applied when slicing the windows")
def t14_naive_window_no_stride(x, weight, bias=None, stride=1, padding=0):
    """window taken at [i:i+kh, j:j+kw], stride not multiplied in (size is right)"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    win = xpad[item, :, i:i + kh, j:j + kw]
                    out[item, ch, i, j] = np.sum(win * weight[ch])
            if bias is not None:
                out[item, ch] += bias[ch]
    return out


@mistake("check_conv2d_naive", "conv2d_naive",
         "padded by 1 on every axis, the batch and channel axes too",
         "np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))")
def t14_naive_pad_all_axes(x, weight, bias=None, stride=1, padding=0):
    """np.pad(x, padding) pads all four axes, batch and channels too"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, padding)
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    win = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, ch, i, j] = np.sum(win * weight[ch])
            if bias is not None:
                out[item, ch] += bias[ch]
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "the padding is not applied",
         "pad the input by `padding` zeros")
def t14_naive_no_pad(x, weight, bias=None, stride=1, padding=0):
    """forgets padding altogether (no np.pad, size formula without 2p)"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    ho = (h - kh) // stride + 1
    wo = (w - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    win = x[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, ch, i, j] = np.sum(win * weight[ch])
            if bias is not None:
                out[item, ch] += bias[ch]
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "times EVERY output channel's kernel",
         "uses weight[o] only")
def t14_naive_sum_all_kernels(x, weight, bias=None, stride=1, padding=0):
    """np.sum(window * weight): multiplies by every output channel's kernel (weight, not
    weight[o])
    """
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    win = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, ch, i, j] = np.sum(win * weight)
            if bias is not None:
                out[item, ch] += bias[ch]
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "only the last input channel counts",
         "assigns with = where += belongs")
def t14_naive_channel_loop_assign(x, weight, bias=None, stride=1, padding=0):
    """loop over input channels with `=` instead of `+=`: only the last channel survives"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    for k in range(c):
                        win = xpad[item, k, i * stride:i * stride + kh, j * stride:j * stride + kw]
                        out[item, ch, i, j] = np.sum(win * weight[ch, k])
            if bias is not None:
                out[item, ch] += bias[ch]
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "`+= bias` sits inside the pixel loop",
         "add bias[o] once")
def t14_naive_bias_in_pixel_loop(x, weight, bias=None, stride=1, padding=0):
    """`out[n, o] += bias[o]` indented into the pixel loop: bias added Ho*Wo times"""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    win = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, ch, i, j] = np.sum(win * weight[ch])
                    if bias is not None:
                        out[item, ch] += bias[ch]
    return out


@mistake("check_im2col", "im2col", "reshaped without the transpose",
         "transpose(0, 2, 3, 1, 4, 5) first")
def t14_im2col_no_transpose(x, kh, kw, sh, sw):
    """reshape of the window view without the transpose (rows/columns in the wrong order)"""
    n, c = x.shape[:2]
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    ho, wo = win.shape[2:4]
    return win.reshape(n * ho * wo, c * kh * kw)


@mistake("check_im2col", "im2col", "your columns run over (a, b, c), the channel last",
         "they must run over (c, a, b)")
def t14_im2col_channel_last(x, kh, kw, sh, sw):
    """columns ordered (a, b, c) instead of (c, a, b): transpose(0, 2, 3, 4, 5, 1)"""
    n, c = x.shape[:2]
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    ho, wo = win.shape[2:4]
    return win.transpose(0, 2, 3, 4, 5, 1).reshape(n * ho * wo, c * kh * kw)


@mistake("check_im2col", "im2col", "the stride is ignored, your windows start at every pixel",
         "starts at (sh * i, sw * j)")
def t14_im2col_no_stride(x, kh, kw, sh, sw):
    """ignores the stride (no [::sh, ::sw] on the window view)"""
    n, c = x.shape[:2]
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    ho, wo = win.shape[2:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)


@mistake("check_im2col", "im2col", "last window of each row and column is missing",
         "range(Ho), not range(Ho - 1)")
def t14_im2col_loop_no_plus_one(x, kh, kw, sh, sw):
    """loop version, ho = (H - kh) // sh without +1: the last row/column of windows missing"""
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh, (w - kw) // sw
    rows = []
    for item in range(n):
        for i in range(ho):
            for j in range(wo):
                rows.append(x[item, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(-1))
    return np.array(rows)


@mistake("check_im2col", "im2col", "sh and sw are swapped", "sh is the stride down the rows")
def t14_im2col_strides_swapped(x, kh, kw, sh, sw):
    """[:, :, ::sw, ::sh]: row and column strides swapped"""
    n, c = x.shape[:2]
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sw, ::sh]
    ho, wo = win.shape[2:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)


@mistake("check_col2im", "col2im", "overlapping windows overwrite each other", "col2im must ADD")
def t14_col2im_assign(cols, shape, kh, kw, sh, sw):
    """`=` instead of `+=`: overlapping windows overwrite instead of adding"""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape, dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] = \
                cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return out


@mistake("check_col2im", "col2im", "reshaped to (N, C, Ho, Wo, kh, kw)",
         "reshape to (N, Ho, Wo, C, kh, kw)")
def t14_col2im_reshape_order(cols, shape, kh, kw, sh, sw):
    """cols.reshape(n, c, ho, wo, kh, kw): channel axis put before the pixel axes"""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, c, ho, wo, kh, kw)
    out = np.zeros(shape, dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] += \
                cols[:, :, :, :, a, b]
    return out


@mistake("check_col2im", "col2im", "the stride is ignored",
         "goes back to (sh * i, sw * j), not (i, j)")
def t14_col2im_loop_no_stride(cols, shape, kh, kw, sh, sw):
    """pixel loop that places window (i, j) at [i:i+kh, j:j+kw] (stride forgotten)"""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape, dtype=cols.dtype)
    r = 0
    for item in range(n):
        for i in range(ho):
            for j in range(wo):
                out[item, :, i:i + kh, j:j + kw] += cols[r].reshape(c, kh, kw)
                r += 1
    return out


@mistake("check_col2im", "col2im", "the stride is ignored", "(H - kh) // sh + 1")
def t14_col2im_size_no_stride(cols, shape, kh, kw, sh, sw):
    """Ho = H - kh + 1 (stride left out of the window count)"""
    n, c, h, w = shape
    ho, wo = h - kh + 1, w - kw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape, dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] += \
                cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return out


@mistake("check_conv2d_forward", "conv2d_forward", "the bias is missing",
         "add bias[o] to every pixel of output channel o")
def t14_fwd_no_bias(ctx, x, weight, *bias, stride, padding):
    """forgets to add the bias"""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@mistake("check_conv2d_forward", "conv2d_forward", "reshaped straight to (N, O, Ho, Wo)",
         "reshape to (N, Ho, Wo, O) first")
def t14_fwd_reshape_no_transpose(ctx, x, weight, *bias, stride, padding):
    """out.reshape(N, O, Ho, Wo) straight from (N*Ho*Wo, O), without reshape+transpose"""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], o, ho, wo)


@mistake("check_conv2d_forward", "conv2d_forward", "weight matrix is weight.reshape(-1, O)",
         "use weight.reshape(O, -1).T")
def t14_fwd_weight_reshape_wrong(ctx, x, weight, *bias, stride, padding):
    """weight.reshape(-1, O) instead of weight.reshape(O, -1).T (shapes fit, values scrambled)"""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(-1, o)
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@mistake("check_conv2d_forward", "conv2d_forward", "the padding is not applied",
         "pad the input by `padding` zeros")
def t14_fwd_no_pad(ctx, x, weight, *bias, stride, padding):
    """im2col on x itself, padding forgotten"""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    ho, wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    cols = im2col(x, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@mistake("check_conv2d_forward", "conv2d", "received stride=1, padding=0 where it unpacks a pair",
         "turn an int v into (v, v)")
def t14_conv2d_int_not_paired(input, weight, bias=None, stride=1, padding=0):
    """passes stride/padding on as ints (no conversion to pairs)"""
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return Conv2dFunction.apply(*tensors, stride=stride, padding=padding)


@mistake("check_conv2d_forward", "conv2d", "`bias` is None on this line",
         "leave it out when it is None")
def t14_conv2d_none_bias_passed(input, weight, bias=None, stride=1, padding=0):
    """passes bias=None on to apply as a third input"""
    stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
    padding = (padding, padding) if isinstance(padding, int) else tuple(padding)
    return Conv2dFunction.apply(input, weight, bias, stride=stride, padding=padding)


@mistake("check_conv2d", "conv2d_backward", "x[p:-p] is empty when p = 0", "write x[p:size - p]")
def t14_bwd_crop_minus_p(ctx, grad):
    """crops with [p:-p], empty when padding is 0"""
    sh, sw, ph, pw, o, c, kh, kw, g = _t14_bwd_parts(ctx, grad)
    grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:-ph, pw:-pw]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return grad_x, grad_weight, g.sum(axis=0)
    return grad_x, grad_weight


@mistake("check_conv2d", "conv2d_backward", "it is larger by [0, 0, 2, 2]",
         "cut the padding off before returning it")
def t14_bwd_no_crop(ctx, grad):
    """forgets to cut the padding off grad_x"""
    sh, sw, ph, pw, o, c, kh, kw, g = _t14_bwd_parts(ctx, grad)
    grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return grad_x, grad_weight, g.sum(axis=0)
    return grad_x, grad_weight


@mistake("check_conv2d", "conv2d_backward",
         "reshaped from a (C*kh*kw, O) matrix (cols.T @ grad_cols)", "grad_cols.T @ cols")
def t14_bwd_gradw_transposed(ctx, grad):
    """grad_weight = (cols.T @ G).reshape(weight.shape): (CKK, O) reshaped as (O, C, kh, kw)"""
    sh, sw, ph, pw, o, c, kh, kw, g = _t14_bwd_parts(ctx, grad)
    grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
    grad_weight = (ctx.cols.T @ g).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return grad_x, grad_weight, g.sum(axis=0)
    return grad_x, grad_weight


@mistake("check_conv2d", "conv2d_backward", "computed from grad.reshape(-1, O)",
         "grad.transpose(0, 2, 3, 1).reshape(-1, O)")
def t14_bwd_grad_layout(ctx, grad):
    """G = grad.reshape(-1, O) without moving the channel axis last"""
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    g = grad.reshape(-1, o)
    grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return grad_x, grad_weight, g.sum(axis=0)
    return grad_x, grad_weight


@mistake("check_conv2d", "conv2d_backward", "grad_bias is the mean of grad_out instead of its sum")
def t14_bwd_bias_mean(ctx, grad):
    """grad_bias = G.mean(axis=0) instead of the sum over batch and pixels"""
    sh, sw, ph, pw, o, c, kh, kw, g = _t14_bwd_parts(ctx, grad)
    grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return grad_x, grad_weight, g.mean(axis=0)
    return grad_x, grad_weight


@mistake("check_conv2d", "conv2d_forward", "your forward saves `ctx.padded_shape = x.shape`",
         "save `ctx.padded_shape = xpad.shape`")
def t14_fwd_saves_unpadded_shape(ctx, x, weight, *bias, stride, padding):
    """forward saves ctx.padded_shape = x.shape (the unpadded one); backward is right"""
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)


@mistake("check_conv2d", "conv2d_backward", "backward returned 3 gradients for 2 tensor inputs",
         "return one per input")
def t14_bwd_always_three(ctx, grad):
    """always returns (grad_x, grad_weight, grad_bias), even when there is no bias"""
    sh, sw, ph, pw, o, c, kh, kw, g = _t14_bwd_parts(ctx, grad)
    grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    return grad_x, grad_weight, g.sum(axis=0)


@mistake("check_conv2d", "conv2d_backward", "in the wrong order",
         "gradient 0 has the shape of weight",
         "return them in forward's order (input, weight, bias)")
def t14_bwd_order_swapped(ctx, grad):
    """returns (grad_weight, grad_x, ...) in the wrong order"""
    sh, sw, ph, pw, o, c, kh, kw, g = _t14_bwd_parts(ctx, grad)
    grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return grad_weight, grad_x, g.sum(axis=0)
    return grad_weight, grad_x


@mistake("check_winograd_tile", "winograd_tile", "the input transform is B_T.T @ d @ B_T",
         "V = B_T @ d @ B_T.T")
def t14_wino_transposes_swapped(d, g):
    """input transform B_T.T @ d @ B_T (B and B^T swapped)"""
    u = G @ g @ G.T
    v = B_T.T @ d @ B_T
    return A_T @ (u * v).sum(axis=0) @ A_T.T


@mistake("check_winograd_tile", "winograd_tile", "one block per channel",
         "the sum over the channels is missing")
def t14_wino_no_channel_sum(d, g):
    """forgets the sum over channels: returns (C, 2, 2)"""
    u = G @ g @ G.T
    v = B_T @ d @ B_T.T
    return A_T @ (u * v) @ A_T.T


@mistake("check_winograd_tile", "winograd_tile", "`A_T.T @ (u * v).sum(axis=0) @ A_T`",
         "a .T is missing or extra there")
def t14_wino_output_transform_swapped(d, g):
    """output transform A_T.T @ M @ A_T (A and A^T swapped): a 4x4 result"""
    u = G @ g @ G.T
    v = B_T @ d @ B_T.T
    return A_T.T @ (u * v).sum(axis=0) @ A_T


@mistake("check_conv2d_naive", "conv2d_naive", "the kernel is flipped", "no flip")
def t15_naive_flip_kernel(x, weight, bias=None, stride=1, padding=0):
    """flips the kernel (true convolution, not cross-correlation)"""
    return _t15_naive(x, weight, bias, stride, padding, flip=True)


@mistake("check_conv2d_naive", "conv2d_naive", "the padding is not applied",
         "pad the input by `padding` zeros")
def t15_naive_no_padding(x, weight, bias=None, stride=1, padding=0):
    """never pads the input (padding ignored)"""
    return _t15_naive(x, weight, bias, stride, padding, pad=False)


@mistake("check_conv2d_naive", "conv2d_naive",
         "the windows start at (i, j) instead of (stride * i, stride * j)",
         "the stride is not applied when slicing the windows")
def t15_naive_window_ignores_stride(x, weight, bias=None, stride=1, padding=0):
    """window taken at [i:i+kh] instead of [i*stride:i*stride+kh] (size right, positions wrong)"""
    return _t15_naive(x, weight, bias, stride, padding, use_stride=False)


@mistake("check_conv2d_naive", "conv2d_naive", "the + 1 is missing", "the first window counts too")
def t15_naive_no_plus_one(x, weight, bias=None, stride=1, padding=0):
    """output size (H+2p-k)//s without the +1"""
    return _t15_naive(x, weight, bias, stride, padding, plus_one=0)


@mistake("check_conv2d_naive", "conv2d_naive", "the bias is missing",
         "add bias[o] to every pixel of output channel o")
def t15_naive_no_bias(x, weight, bias=None, stride=1, padding=0):
    """forgets to add the bias"""
    return _t15_naive(x, weight, bias, stride, padding, use_bias=False)


@mistake("check_im2col", "im2col", "your columns run over (a, b, c), the channel last",
         "they must run over (c, a, b)")
def t15_im2col_channel_last_columns(x, kh, kw, sh, sw):
    """columns ordered (a, b, c) instead of (c, a, b): transpose(0,2,3,4,5,1)"""
    win = _t15_windows(x, kh, kw, sh, sw)
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 4, 5, 1).reshape(n * ho * wo, c * kh * kw)


@mistake("check_im2col", "im2col", "were reshaped without the transpose",
         "transpose(0, 2, 3, 1, 4, 5) first")
def t15_im2col_reshape_without_transpose(x, kh, kw, sh, sw):
    """reshapes the (N,C,Ho,Wo,kh,kw) view directly, no transpose"""
    win = _t15_windows(x, kh, kw, sh, sw)
    n, c, ho, wo = win.shape[:4]
    return win.reshape(n * ho * wo, c * kh * kw)


@mistake("check_im2col", "im2col", "the stride is ignored, your windows start at every pixel",
         "starts at (sh * i, sw * j)")
def t15_im2col_stride_ignored(x, kh, kw, sh, sw):
    """forgets the [::sh, ::sw] slice (stride ignored)"""
    win = _t15_windows(x, kh, kw, sh, sw, stride=False)
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)


@mistake("check_col2im", "col2im", "overlapping windows overwrite each other",
         "col2im must ADD every window's values (+=)")
def t15_col2im_assign_not_add(cols, shape, kh, kw, sh, sw):
    """`=` instead of `+=`: overlapping windows overwrite instead of summing"""
    return _t15_col2im(cols, shape, kh, kw, sh, sw, accumulate=False)


@mistake("check_col2im", "col2im", "the stride is ignored",
         "goes back to (sh * i, sw * j), not (i, j)")
def t15_col2im_stride_ignored(cols, shape, kh, kw, sh, sw):
    """slice a:a+Ho instead of a:a+sh*Ho:sh (stride ignored)"""
    return _t15_col2im(cols, shape, kh, kw, sh, sw, stride=False)


@mistake("check_col2im", "col2im",
         "the rows were reshaped to (N, C, Ho, Wo, kh, kw) without the transpose",
         "so reshape to (N, Ho, Wo, C, kh, kw)")
def t15_col2im_rows_as_channel_first(cols, shape, kh, kw, sh, sw):
    """reshapes cols as (N, C, Ho, Wo, kh, kw): rows/columns layout misread"""
    return _t15_col2im(cols, shape, kh, kw, sh, sw, transpose=False)


@mistake("check_conv2d_forward", "conv2d_forward", "the bias is missing",
         "add bias[o] to every pixel of output channel o")
def t15_fwd_no_bias(ctx, x, weight, *bias, stride, padding):
    """conv2d_forward forgets to add the bias"""
    return _t15_fwd(ctx, x, weight, *bias, stride=stride, padding=padding, use_bias=False)


@mistake("check_conv2d_forward", "conv2d_forward", "the padding is not applied",
         "pad the input by `padding` zeros")
def t15_fwd_no_padding(ctx, x, weight, *bias, stride, padding):
    """conv2d_forward never pads x"""
    return _t15_fwd(ctx, x, weight, *bias, stride=stride, padding=padding, pad=False)


@mistake("check_conv2d_forward", "conv2d_forward", "was reshaped straight to (N, O, Ho, Wo)",
         "so reshape to (N, Ho, Wo, O) first, then transpose(0, 3, 1, 2)")
def t15_fwd_reshape_no_transpose(ctx, x, weight, *bias, stride, padding):
    """reshapes (N*Ho*Wo, O) straight to (N, O, Ho, Wo) without the transpose"""
    return _t15_fwd(ctx, x, weight, *bias, stride=stride, padding=padding, out_transpose=False)


@mistake("check_conv2d_forward", "conv2d_forward", "weight.reshape(-1, O)",
         "use weight.reshape(O, -1).T")
def t15_fwd_weight_reshape_minus1_o(ctx, x, weight, *bias, stride, padding):
    """weight.reshape(-1, O) instead of weight.reshape(O, -1).T"""
    return _t15_fwd(ctx, x, weight, *bias, stride=stride, padding=padding, wlayout=False)


@mistake("check_conv2d_forward", "conv2d", "the caller passes the argument on unconverted",
         "turn an int v into (v, v)")
def t15_conv2d_int_not_paired(input, weight, bias=None, stride=1, padding=0):
    """conv2d passes int stride/padding on without making pairs"""
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return _t15_ns(_T15_L3, "Conv2dFunction").apply(*tensors, stride=stride, padding=padding)


@mistake("check_conv2d_forward", "conv2d", "never uses its argument `bias`", "pass bias on")
def t15_conv2d_bias_not_passed(input, weight, bias=None, stride=1, padding=0):
    """conv2d never passes the bias tensor to the Function"""
    stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
    padding = (padding, padding) if isinstance(padding, int) else tuple(padding)
    return _t15_ns(_T15_L3, "Conv2dFunction").apply(input, weight, stride=stride, padding=padding)


@mistake("check_conv2d", "conv2d_backward", "that is grad summed over axes (0, 1, 2) only",
         "grad.sum(axis=(0, 2, 3))")
def t15_bwd_bias_wrong_axes(ctx, grad):
    """grad_bias = grad.sum(axis=(0, 1, 2)) (sums over O instead of over N, Ho, Wo)"""
    return _t15_bwd(ctx, grad, bias_axis=1)


@mistake("check_conv2d", "conv2d_backward", "grad_bias is the mean of grad_out",
         "instead of its sum over batch and pixels")
def t15_bwd_bias_mean(ctx, grad):
    """grad_bias is the mean over rows instead of the sum"""
    return _t15_bwd(ctx, grad, bias_mean=True)


@mistake("check_conv2d", "conv2d_backward", "a border of [0, 0, 1, 1] on each side",
         "cut the padding off before returning it")
def t15_bwd_no_crop(ctx, grad):
    """grad_x not cropped: returned with the padding still on"""
    return _t15_bwd(ctx, grad, crop=False)


@mistake("check_conv2d", "conv2d_backward",
         "reshaped from a (C*kh*kw, O) matrix (cols.T @ grad_cols)",
         "grad_cols.T @ cols, then reshape")
def t15_bwd_weight_grad_transposed(ctx, grad):
    """grad_weight = (cols.T @ g).reshape(...) : (Ckk, O) reshaped as (O, C, kh, kw)"""
    return _t15_bwd(ctx, grad, gw_T=True)


@mistake("check_conv2d", "conv2d_backward",
         "computed from grad.reshape(-1, O), which mixes channels and pixels",
         "grad.transpose(0, 2, 3, 1).reshape(-1, O) first")
def t15_bwd_grad_reshape_no_transpose(ctx, grad):
    """G = grad.reshape(-1, O) without moving O last first"""
    return _t15_bwd(ctx, grad, g_layout=False)


@mistake("check_winograd_tile", "winograd_tile", "U and V are multiplied as matrices (@)",
         "(U * V).sum(axis=0)")
def t15_wino_matmul_not_elementwise(d, g):
    """u @ v (matrix product) instead of the elementwise u * v"""
    G, B_T, A_T = _t15_ns(_T15_L3, "G"), _t15_ns(_T15_L3, "B_T"), _t15_ns(_T15_L3, "A_T")
    u = G @ g @ G.T
    v = B_T @ d @ B_T.T
    return A_T @ (u @ v).sum(axis=0) @ A_T.T


@mistake("check_winograd_tile", "winograd_tile", "B d B^T instead of B^T d B",
         "V = B_T @ d @ B_T.T")
def t15_wino_B_transposes_swapped(d, g):
    """input transform B d B^T instead of B^T d B"""
    G, B_T, A_T = _t15_ns(_T15_L3, "G"), _t15_ns(_T15_L3, "B_T"), _t15_ns(_T15_L3, "A_T")
    u = G @ g @ G.T
    v = B_T.T @ d @ B_T
    return A_T @ (u * v).sum(axis=0) @ A_T.T


@mistake("check_conv2d_naive", "conv2d_naive", "the window times EVERY output channel's kernel",
         "output channel o uses weight[o] only")
def t15_naive_whole_weight(x, weight, bias=None, stride=1, padding=0):
    """np.sum(window * weight) instead of weight[channel]: sums over every output channel's kernel
    """
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    window = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, ch, i, j] = np.sum(window * weight)
            if bias is not None:
                out[item, ch] += bias[ch]
    return out


@mistake("check_im2col", "im2col", "shape (9, 25) is transposed", "one ROW per output pixel")
def t15_im2col_cs231n_transposed(x, kh, kw, sh, sw):
    """CS231n's layout: returns (C*kh*kw, N*Ho*Wo), the transpose"""
    win = _t15_windows(x, kh, kw, sh, sw)
    n, c, ho, wo = win.shape[:4]
    return win.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * ho * wo)


@mistake("check_col2im", "col2im", "your sizes follow H - k + 1", "take every stride-th window")
def t15_col2im_count_without_stride(cols, shape, kh, kw, sh, sw):
    """Ho = H - kh + 1 (stride left out of the window count)"""
    n, c, h, w = shape
    ho, wo = h - kh + 1, w - kw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape, dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            window = cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
            out[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] += window
    return out


@mistake("check_conv2d", "conv2d_forward", "ctx.padded_shape = x.shape",
          "save `ctx.padded_shape = xpad.shape`")
def t15_fwd_saves_unpadded_shape(ctx, x, weight, *bias, stride, padding):
    """conv2d_forward saves x.shape, not the padded shape, for col2im"""
    out = _t15_fwd(ctx, x, weight, *bias, stride=stride, padding=padding)
    ctx.padded_shape = x.shape
    return out


@mistake("check_conv2d", "conv2d_backward", "backward returned 3 gradients for 2 tensor inputs",
         "return one per input")
def t15_bwd_always_returns_bias_grad(ctx, grad):
    """returns three gradients even when there is no bias"""
    out = _t15_bwd(ctx, grad)
    if len(out) == 2:
        o = ctx.weight.shape[0]
        return out[0], out[1], grad.transpose(0, 2, 3, 1).reshape(-1, o).sum(axis=0)
    return out


@mistake("check_conv2d", "conv2d_backward", "returns the gradients in the wrong order",
         "gradient 0 has the shape of weight")
def t15_bwd_returns_weight_first(ctx, grad):
    """returns (grad_weight, grad_x, ...) : order of the inputs swapped"""
    out = _t15_bwd(ctx, grad)
    return (out[1], out[0]) + tuple(out[2:])


@mistake("check_conv2d_forward", "conv2d_forward",
         "it meets the width axis (axis 3) of `out`", "give it the channel axis (axis 1)")
def t15_fwd_bias_added_to_nchw(ctx, x, weight, *bias, stride, padding):
    """adds bias (O,) to the (N, O, Ho, Wo) output: broadcasts along the width"""
    out = _t15_fwd(ctx, x, weight, stride=stride, padding=padding)
    ctx.has_bias = bool(bias)
    return out + bias[0] if bias else out


@mistake("check_conv2d", "conv2d_backward", "x[p:-p] is empty when p = 0", "write x[p:size - p]")
def t15_bwd_crop_minus_p(ctx, grad):
    """crops with [p:-p]: empty gradient when padding is 0"""
    col2im = _t15_ns(_T15_L3, "col2im")
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:-ph, pw:-pw]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return grad_x, grad_weight, g.sum(axis=0)
    return grad_x, grad_weight



# ---- 04_max_pooling ------------------------------------------------------------------------------

@mistake("check_max_pool2d_forward", "max_pool2d_forward", "the padding is filled with zeros",
         "pad with -inf")
def t13_mp_zero_pad(ctx, x, kernel, stride, padding):
    """pads with 0 (np.pad default) instead of -inf"""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)


@mistake("check_max_pool2d_forward", "max_pool2d", "where stride=None",
         "the stride defaults to kernel_size")
def t13_mw_stride_default_one(input, kernel_size, stride=None, padding=0):
    """max_pool2d: stride=None becomes 1 instead of kernel_size"""
    def pair(value):
        return (value, value) if isinstance(value, int) else tuple(value)
    if stride is None:
        stride = 1
    return MaxPool2dFunction.apply(input, kernel=pair(kernel_size), stride=pair(stride),
                                   padding=pair(padding))


@mistake("check_max_pool2d_forward", "max_pool2d_forward", "the max mixes them",
         "fold the channels into the batch first")
def t13_mp_channels_not_folded(ctx, x, kernel, stride, padding):
    """im2col on (N, C, H, W) without folding C into the batch: max taken across channels"""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)


@mistake("check_max_pool2d_forward", "max_pool2d",
         "received kernel=2, stride=2 where it unpacks a pair", "turn an int v into (v, v)")
def t13_mw_int_kernel(input, kernel_size, stride=None, padding=0):
    """max_pool2d passes an int kernel_size (and stride) through without making pairs"""
    def pair(value):
        return (value, value) if isinstance(value, int) else tuple(value)
    stride = kernel_size if stride is None else stride
    return MaxPool2dFunction.apply(input, kernel=kernel_size, stride=stride,
                                   padding=pair(padding))


@mistake("check_max_pool2d", "max_pool2d_backward",
         "the gradient went to every maximum of a window", "the first one only",
         also={"max_pool2d_forward": _t13_mp_fwd_saving_cols})
def t13_mb_all_ties(ctx, grad):
    """mask cols == max: gradient sent to every tied maximum, not only the first"""
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    mask = ctx.cols == ctx.cols.max(axis=1, keepdims=True)
    grad_cols = mask * grad.reshape(-1, 1)
    grad_x = col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@mistake("check_max_pool2d", "max_pool2d_backward",
         "a later window's gradient overwrote an earlier one", "add them (+=)")
def t13_mb_fancy_assign(ctx, grad):
    """scatters with fancy-index assignment (=) instead of adding: overlapping windows lose
    gradient
    """
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    a, b = np.divmod(ctx.argmax.reshape(n, c, ho, wo), kw)
    ii, jj = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    rows, cols = ii * sh + a, jj * sw + b
    nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    grad_x = np.zeros((n, c, hp, wp), dtype=grad.dtype)
    grad_x[nn[:, :, None, None], cc[:, :, None, None], rows, cols] = grad
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@mistake("check_max_pool2d", "max_pool2d_backward",
         "`grad_cols[:, ctx.argmax] = ...` pairs every row with every saved index",
         "grad_cols[np.arange(len(ctx.argmax)), ctx.argmax]")
def t13_mb_missing_arange(ctx, grad):
    """grad_cols[:, argmax] = grad (no np.arange row index): every row gets every value"""
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw), dtype=grad.dtype)
    grad_cols[:, ctx.argmax] = grad.reshape(-1)
    grad_x = col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@mistake("check_max_pool2d", "max_pool2d_backward", "x[p:-p] is empty when p = 0",
         "write x[p:size - p]")
def t13_mb_crop_negative(ctx, grad):
    """crops with [ph:-ph, pw:-pw]: empty when padding is 0"""
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw), dtype=grad.dtype)
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = grad.reshape(-1)
    grad_x = col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:-ph, pw:-pw]


@mistake("check_max_pool2d", "max_pool2d_backward", "it is larger by [0, 0, 2, 2]",
         "cut the padding off before returning it")
def t13_mb_no_crop(ctx, grad):
    """forgets to cut the padding off the input's gradient"""
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw), dtype=grad.dtype)
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = grad.reshape(-1)
    return col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)


@mistake("check_max_pool2d_forward", "max_pool2d_forward", "the padding is filled with zeros",
         "pad with -inf")
def t14_mp_zero_padding(ctx, x, kernel, stride, padding):
    """pads with zeros (np.pad default) instead of -inf"""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)


@mistake("check_max_pool2d_forward", "max_pool2d_forward", "fold the channels into the batch")
def t14_mp_channels_not_folded(ctx, x, kernel, stride, padding):
    """im2col on (N, C, H, W) without folding channels into the batch: max over all channels"""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols.max(axis=1).reshape(n, ho, wo)


@mistake("check_max_pool2d_forward", "max_pool2d_forward", "reduces across the 96 rows",
          "reduce along axis=1")
def t14_mp_max_wrong_axis(ctx, x, kernel, stride, padding):
    """cols.max(axis=0) / argmax(axis=0): maximum over windows instead of within each"""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=0)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols.max(axis=0).reshape(n, c, ho, wo)


@mistake("check_max_pool2d_forward", "max_pool2d", "where stride=None",
         "the stride defaults to kernel_size")
def t14_mp_stride_default_one(input, kernel_size, stride=None, padding=0):
    """stride=None taken as 1 (`stride or 1`) instead of the kernel size"""
    def pair(v):
        return (v, v) if isinstance(v, int) else tuple(v)
    return MaxPool2dFunction.apply(input, kernel=pair(kernel_size), stride=pair(stride or 1),
                                   padding=pair(padding))


@mistake("check_max_pool2d_forward", "max_pool2d", "received padding=0 where it unpacks a pair",
         "turn an int v into (v, v)")
def t14_mp_padding_not_paired(input, kernel_size, stride=None, padding=0):
    """kernel and stride made pairs, padding passed on as an int"""
    def pair(v):
        return (v, v) if isinstance(v, int) else tuple(v)
    kernel = pair(kernel_size)
    return MaxPool2dFunction.apply(input, kernel=kernel,
                                   stride=kernel if stride is None else pair(stride),
                                   padding=padding)


@mistake("check_max_pool2d", "max_pool2d_backward", "the gradient went to the whole window",
         "the window's maximum only")
def t14_mpb_spread_to_window(ctx, grad):
    """gradient copied to every entry of the window, not only to the argmax"""
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.repeat(grad.reshape(-1, 1), kh * kw, axis=1)
    grad_x = col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@mistake("check_max_pool2d", "max_pool2d_backward",
         "the gradient is spread evenly over each window", "average pooling's backward")
def t14_mpb_average(ctx, grad):
    """gradient divided evenly over the window (average-pool backward)"""
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.repeat(grad.reshape(-1, 1), kh * kw, axis=1) / (kh * kw)
    grad_x = col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@mistake("check_max_pool2d", "max_pool2d_backward",
         "a later window's gradient overwrote an earlier one", "add them (+=)")
def t14_mpb_loop_assign(ctx, grad):
    """loop over windows with `=` at the argmax: overlapping windows overwrite instead of adding"""
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    ho, wo = grad.shape[2:]
    arg = ctx.argmax.reshape(n, c, ho, wo)
    grad_x = np.zeros((n, c, hp, wp), dtype=grad.dtype)
    for a in range(n):
        for b in range(c):
            for i in range(ho):
                for j in range(wo):
                    r, q = divmod(int(arg[a, b, i, j]), kw)
                    grad_x[a, b, i * sh + r, j * sw + q] = grad[a, b, i, j]
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@mistake("check_max_pool2d", "max_pool2d_backward", "it is larger by [0, 0, 2, 2]",
         "cut the padding off before returning it")
def t14_mpb_no_crop(ctx, grad):
    """forgets to cut the -inf padding off the gradient"""
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw), dtype=grad.dtype)
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = grad.reshape(-1)
    return col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)


@mistake("check_max_pool2d", "max_pool2d_backward",
         "`grad_cols[:, ctx.argmax] = ...` pairs every row with every saved index",
         "grad_cols[np.arange(len(ctx.argmax)), ctx.argmax]")
def t14_mpb_fancy_index_no_arange(ctx, grad):
    """grad_cols[:, argmax] = grad (no np.arange for the rows): fills whole columns"""
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw), dtype=grad.dtype)
    grad_cols[:, ctx.argmax] = grad.reshape(-1)
    grad_x = col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@mistake("check_max_pool2d", "max_pool2d_backward", "that is the folded (N*C, 1, H, W) image",
         "reshape it back")
def t14_mpb_not_unfolded(ctx, grad):
    """returns col2im's (N*C, 1, H, W) without reshaping back to (N, C, H, W)"""
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw), dtype=grad.dtype)
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = grad.reshape(-1)
    grad_x = col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@mistake("check_max_pool2d_forward", "max_pool2d_forward", "the padding is filled with zeros",
         "pad with -inf")
def t15_mp_pad_zeros(ctx, x, kernel, stride, padding):
    """pads with zeros instead of -inf (negative windows at the border give 0)"""
    return _t15_mp_fwd(ctx, x, kernel, stride, padding, fill=0.0)


@mistake("check_max_pool2d_forward", "max_pool2d_forward",
         "your maximum is taken over all C channels of the window",
         "im2col of x.reshape(N*C, 1, H, W)")
def t15_mp_channels_not_folded(ctx, x, kernel, stride, padding):
    """im2col on (N, C, H, W) directly: max taken across channels too"""
    return _t15_mp_fwd(ctx, x, kernel, stride, padding, fold=False)


@mistake("check_max_pool2d_forward", "max_pool2d", "the stride defaults to kernel_size", "not 1")
def t15_mp_stride_none_means_one(input, kernel_size, stride=None, padding=0):
    """stride=None taken as 1 instead of kernel_size"""
    def pair(v):
        return (v, v) if isinstance(v, int) else tuple(v)
    return _t15_ns(_T15_L4, "MaxPool2dFunction").apply(input, kernel=pair(kernel_size),
                                             stride=(1, 1) if stride is None else pair(stride),
                                             padding=pair(padding))


@mistake("check_max_pool2d", "max_pool2d_backward", "the gradient went to the whole window",
         "sends it to the window's maximum only")
def t15_mpb_gradient_to_every_entry(ctx, grad):
    """copies each output's gradient to every entry of its window, not only the argmax"""
    col2im = _t15_ns(_T15_L4, "col2im")
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.repeat(grad.reshape(-1, 1), kh * kw, axis=1).astype(grad.dtype)
    grad_x = col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@mistake("check_max_pool2d", "max_pool2d_backward", "a border of [0, 0, 1, 1] on each side",
         "cut the padding off before returning it")
def t15_mpb_no_crop(ctx, grad):
    """returns the padded-size gradient: padding not cut off"""
    col2im = _t15_ns(_T15_L4, "col2im")
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw), dtype=grad.dtype)
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = grad.reshape(-1)
    return col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)


@mistake("check_max_pool2d", "max_pool2d_backward", "a later window's gradient overwrote",
         "add them (+=)")
def t15_mpb_overlap_assign(ctx, grad):
    """loop writes `=` at the argmax: a max shared by two overlapping windows gets one gradient, not
    the sum
    """
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    ho, wo = grad.shape[2:]
    am = ctx.argmax.reshape(n, c, ho, wo)
    gx = np.zeros((n, c, hp, wp), dtype=grad.dtype)
    for b in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    a, bb = divmod(int(am[b, ch, i, j]), kw)
                    gx[b, ch, i * sh + a, j * sw + bb] = grad[b, ch, i, j]
    return gx[:, :, ph:hp - ph, pw:wp - pw]


@mistake("check_max_pool2d_forward", "max_pool2d_forward",
         "reduces across the 96 rows of `cols` (96, 4)",
         "reduce along axis=1 instead")
def t15_mp_max_over_axis0(ctx, x, kernel, stride, padding):
    """cols.max(axis=0) / argmax(axis=0): over the windows instead of within each row"""
    im2col = _t15_ns(_T15_L4, "im2col")
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=0)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols.max(axis=0).reshape(n, c, ho, wo)


@mistake("check_max_pool2d", "max_pool2d_backward", "pairs every row with every saved index",
          "np.arange(len(ctx.argmax))")
def t15_mpb_fancy_index_without_arange(ctx, grad):
    """grad_cols[:, argmax] = ... instead of grad_cols[np.arange(M), argmax]"""
    col2im = _t15_ns(_T15_L4, "col2im")
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw), dtype=grad.dtype)
    grad_cols[:, ctx.argmax] = grad.reshape(-1, 1)
    grad_x = col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]


@mistake("check_max_pool2d", "max_pool2d_forward", "axis=0 runs across the windows", "axis=1")
def t15_mp_argmax_wrong_axis(ctx, x, kernel, stride, padding):
    """forward values right (max axis=1) but saves cols.argmax(axis=0) for backward"""
    out = _t15_mp_fwd(ctx, x, kernel, stride, padding)
    im2col = _t15_ns(_T15_L4, "im2col")
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ctx.argmax = im2col(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw).argmax(axis=0)
    return out


@mistake("check_max_pool2d", "max_pool2d_backward", "x[p:-p] is empty when p = 0",
         "write x[p:size - p]")
def t15_mpb_crop_minus_p(ctx, grad):
    """crops with [p:-p]: empty gradient when padding is 0"""
    col2im = _t15_ns(_T15_L4, "col2im")
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw), dtype=grad.dtype)
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = grad.reshape(-1)
    grad_x = col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:-ph, pw:-pw]



# ---- 05_transposed_convolution -------------------------------------------------------------------
# Left out here, the same code as an entry of another catalogue for the same check:
# t13_os_no_output_padding (size_without_output_padding), t13_os_single_padding
# (ct_size_padding_once), t13_os_size_times_stride (size_h_times_s), t14_ts_no_output_padding
# (size_without_output_padding), t14_ts_size_times_stride (size_h_times_s), t14_ts_padding_once
# (ct_size_padding_once), t14_ts_conv_formula (size_of_convolution), t15_ts_single_padding
# (ct_size_padding_once), t15_ts_no_output_padding (size_without_output_padding),
# t15_ts_conv_formula (unseen_ct_size_conv_rule).

@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward",
         "x was reshaped straight to (N*H*W, C)", "x.transpose(0, 2, 3, 1).reshape(-1, C) first")
def t13_tf_x_reshape_no_transpose(ctx, x, weight, *bias_, stride, padding, output_padding):
    """X = x.reshape(N*H*W, C) without transpose(0, 2, 3, 1)"""
    return _t13_tf(x_layout="bad")(ctx, x, weight, *bias_, stride=stride, padding=padding,
                                   output_padding=output_padding)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward",
         "meets the width axis", ".reshape(1, 2, 1, 1)")
def t13_tf_bias_last_axis(ctx, x, weight, *bias_, stride, padding, output_padding):
    """out + bias[0]: bias broadcast over the last (width) axis instead of the channel axis"""
    return _t13_tf(bias="bad")(ctx, x, weight, *bias_, stride=stride, padding=padding,
                               output_padding=output_padding)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward", "output_padding is ignored",
         "adds rows/columns at the bottom/right")
def t13_tf_no_output_padding(ctx, x, weight, *bias_, stride, padding, output_padding):
    """full size leaves out output_padding"""
    return _t13_tf(oph_used=False)(ctx, x, weight, *bias_, stride=stride, padding=padding,
                                   output_padding=output_padding)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward",
         "x[p:-p] is empty when p = 0", "write x[p:size - p]")
def t13_tf_crop_negative(ctx, x, weight, *bias_, stride, padding, output_padding):
    """crops with out[:, :, ph:-ph, pw:-pw]: empty when padding is 0"""
    return _t13_tf(crop="negative")(ctx, x, weight, *bias_, stride=stride, padding=padding,
                                    output_padding=output_padding)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward",
         "reads the weight in another axis order", "(C_in, C_out, kh, kw)",
         "write `c, o, kh, kw = weight.shape`")
def t13_tf_conv_layout(ctx, x, weight, *bias_, stride, padding, output_padding):
    """unpacks weight as conv2d's (O, C, kh, kw): o, c, kh, kw = weight.shape"""
    return _t13_tf(conv_layout=True)(ctx, x, weight, *bias_, stride=stride, padding=padding,
                                     output_padding=output_padding)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d",
         "received output_padding=0 where it unpacks a pair", "turn an int v into (v, v)")
def t13_tw_output_padding_not_pair(input, weight, bias=None, stride=1, padding=0, output_padding=0):
    """conv_transpose2d makes pairs of stride and padding but passes output_padding as an int"""
    def pair(value):
        return (value, value) if isinstance(value, int) else tuple(value)
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return ConvTranspose2dFunction.apply(*tensors, stride=pair(stride), padding=pair(padding),
                                         output_padding=output_padding)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward", "grad summed over axes (0,) only",
         "grad.sum(axis=(0, 2, 3))")
def t13_tb_bias_axis0(ctx, grad):
    """grad_bias = grad.sum(axis=0) (carried over from conv2d's 2-D G): shape (O, Ho, Wo)"""
    return _t13_tb(bias_axes=0)(ctx, grad)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward",
         "reshaped from the (O*kh*kw, C) product grad_cols.T @ x2", "x2.T @ grad_cols")
def t13_tb_weight_grad_transposed(ctx, grad):
    """grad_weight = (G_col.T @ X).reshape(weight.shape) instead of X.T @ G_col"""
    return _t13_tb(wgrad="bad")(ctx, grad)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward", "the cropped output's gradient",
         "put grad into zeros of the uncropped size")
def t13_tb_no_embed(ctx, grad):
    """im2col straight on grad, without putting it back into the full-size zero array"""
    return _t13_tb(embed="none")(ctx, grad)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward",
         "reshape it to (N, H, W, C)", ".transpose(0, 3, 1, 2)")
def t13_tb_grad_x_reshape_no_transpose(ctx, grad):
    """grad_x = (...).reshape(N, C, H, W) without going through (N, H, W, C) and transposing"""
    return _t13_tb(gx_layout="bad")(ctx, grad)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward",
         "grad_out put back at the top-left corner", "offset grad_out by the padding")
def t13_tb_embed_at_zero(ctx, grad):
    """puts grad into the full array at [0:Ho, 0:Wo] instead of at offset padding"""
    return _t13_tb(embed="corner")(ctx, grad)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward",
         "meets the width axis", ".reshape(1, 2, 1, 1)")
def t14_tf_bias_broadcast(ctx, x, weight, *bias, stride, padding, output_padding):
    """out + bias without [:, None, None]: bias broadcast along the width"""
    return _t14_tfwd(ctx, x, weight, bias, stride, padding, output_padding, add_bias="wrong")


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward",
         "x was reshaped straight to (N*H*W, C)", "x.transpose(0, 2, 3, 1).reshape(-1, C) first")
def t14_tf_x_no_transpose(ctx, x, weight, *bias, stride, padding, output_padding):
    """x.reshape(N*H*W, C) without moving channels last"""
    return _t14_tfwd(ctx, x, weight, bias, stride, padding, output_padding, transpose_x=False)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward",
         "x[p:-p] is empty when p = 0", "write x[p:size - p]")
def t14_tf_crop_minus_p(ctx, x, weight, *bias, stride, padding, output_padding):
    """crops with [p:-p]: empty output when padding is 0"""
    return _t14_tfwd(ctx, x, weight, bias, stride, padding, output_padding, crop="wrong")


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward", "output_padding is ignored",
         "adds rows/columns at the bottom/right")
def t14_tf_no_output_padding(ctx, x, weight, *bias, stride, padding, output_padding):
    """full size ignores output_padding"""
    return _t14_tfwd(ctx, x, weight, bias, stride, padding, output_padding, oppad=False)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward", "built with C = x.shape[1]",
         "use O = weight.shape[1]")
def t14_tf_weight_as_conv_layout(ctx, x, weight, *bias, stride, padding, output_padding):
    """reads the weight as conv2d's (O, C, kh, kw): O = weight.shape[0]"""
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = col2im(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)
    out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
    if bias:
        out = out + bias[0][:, None, None]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out


@mistake("check_conv_transpose2d_forward", "conv_transpose2d",
         "received output_padding=0 where it unpacks a pair", "turn an int v into (v, v)")
def t14_ct_output_padding_not_paired(input, weight, bias=None, stride=1, padding=0,
                                     output_padding=0):
    """converts stride and padding to pairs but passes output_padding on as an int"""
    def pair(v):
        return (v, v) if isinstance(v, int) else tuple(v)
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return ConvTranspose2dFunction.apply(*tensors, stride=pair(stride), padding=pair(padding),
                                         output_padding=output_padding)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward", "summed over axes (0,) only",
         "grad.sum(axis=(0, 2, 3))")
def t14_tb_bias_axis0(ctx, grad):
    """grad_bias = grad.sum(axis=0): summed over the batch only"""
    return _t14_tbwd(ctx, grad, bias_axes=0)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward",
         "grad_out put back at the top-left corner", "offset grad_out by the padding")
def t14_tb_grad_at_corner(ctx, grad):
    """puts grad at [0:Ho, 0:Wo] of the full array instead of offset by the padding"""
    return _t14_tbwd(ctx, grad, place="wrong")


@mistake("check_conv_transpose2d", "conv_transpose2d_backward",
         "reshape it to (N, H, W, C)", ".transpose(0, 3, 1, 2)")
def t14_tb_gradx_reshape(ctx, grad):
    """grad_x = (...).reshape(N, C, H, W) without the transpose from (N, H, W, C)"""
    return _t14_tbwd(ctx, grad, x_transpose=False)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward",
         "reshaped from the (O*kh*kw, C) product grad_cols.T @ x2", "x2.T @ grad_cols")
def t14_tb_gradw_transposed(ctx, grad):
    """grad_weight = (G_col.T @ X).reshape(weight.shape): the product transposed"""
    return _t14_tbwd(ctx, grad, w_order="wrong")


@mistake("check_conv_transpose2d", "conv_transpose2d_backward", "im2col runs on `grad` itself",
         "put grad into zeros of the uncropped size")
def t14_tb_im2col_on_grad_directly(ctx, grad):
    """im2col(grad) directly, without putting grad back into the full-size zeros"""
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    grad_cols = im2col(grad, kh, kw, sh, sw)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return grad_x, grad_weight, grad.sum(axis=(0, 2, 3))
    return grad_x, grad_weight


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward", "output_padding is ignored",
         "adds rows/columns at the bottom/right")
def t15_tf_output_padding_ignored(ctx, x, weight, *bias, stride, padding, output_padding):
    """full size built without output_padding"""
    return _t15_tfwd(ctx, x, weight, *bias, stride=stride, padding=padding,
                     output_padding=output_padding, use_op=False)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward", "the padding is ignored",
         "padding REMOVES 2*padding rows")
def t15_tf_no_crop(ctx, x, weight, *bias, stride, padding, output_padding):
    """padding never cropped off the full output"""
    return _t15_tfwd(ctx, x, weight, *bias, stride=stride, padding=padding,
                     output_padding=output_padding, crop=False)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward",
         "it meets the width axis (axis 3) of `out`", "give it the channel axis (axis 1)")
def t15_tf_bias_not_broadcast(ctx, x, weight, *bias, stride, padding, output_padding):
    """out + bias (O,) without [:, None, None]: added along the width"""
    return _t15_tfwd(ctx, x, weight, *bias, stride=stride, padding=padding,
                     output_padding=output_padding, bias_bcast=False)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward",
         "x was reshaped straight to (N*H*W, C)", "x.transpose(0, 2, 3, 1).reshape(-1, C) first")
def t15_tf_x_reshape_no_transpose(ctx, x, weight, *bias, stride, padding, output_padding):
    """x.reshape(N*H*W, C) without moving C last"""
    return _t15_tfwd(ctx, x, weight, *bias, stride=stride, padding=padding,
                     output_padding=output_padding, x_transpose=False)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward",
         "that is grad summed over axes (0,) only", "grad.sum(axis=(0, 2, 3))")
def t15_tb_bias_sum_batch_only(ctx, grad):
    """grad_bias = grad.sum(axis=0) (not summed over the pixels), returns (O, Ho, Wo)"""
    return _t15_tbwd(ctx, grad, bias_axis=0)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward",
         "grad_out put back at the top-left corner", "must offset grad_out by the padding")
def t15_tb_grad_not_offset(ctx, grad):
    """grad placed at the top-left of the full array instead of at offset (ph, pw)"""
    return _t15_tbwd(ctx, grad, offset=False)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward", "grad_cols.T @ x2",
         "x2.T @ grad_cols")
def t15_tb_weight_grad_transposed(ctx, grad):
    """grad_weight = (G_col.T @ X).reshape(...) instead of X.T @ G_col"""
    return _t15_tbwd(ctx, grad, gw_T=True)


@mistake("check_conv_transpose2d", "conv_transpose2d_backward",
         "grad_x was reshaped straight to (N, C, H, W)",
         "reshape it to (N, H, W, C), then .transpose(0, 3, 1, 2)")
def t15_tb_grad_x_reshape_no_transpose(ctx, grad):
    """grad_x reshaped (N, C, H, W) directly from (N*H*W, C)"""
    return _t15_tbwd(ctx, grad, gx_transpose=False)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward", "built with C",
         "use O = weight.shape[1]")
def t15_tf_weight_read_as_OC(ctx, x, weight, *bias, stride, padding, output_padding):
    """reads weight as (O, C, kh, kw) like conv2d's; it is (C, O, kh, kw)"""
    col2im = _t15_ns(_T15_L5, "col2im")
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape          # reads the weight as conv2d's (O, C, kh, kw)
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = col2im(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)
    out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
    if bias:
        out = out + bias[0][:, None, None]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward",
         "x[p:-p] is empty when p = 0", "write x[p:size - p]")
def t15_tf_crop_minus_p(ctx, x, weight, *bias, stride, padding, output_padding):
    """crops with [p:-p]: empty output when padding is 0"""
    col2im = _t15_ns(_T15_L5, "col2im")
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = col2im(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)
    out = out[:, :, ph:-ph, pw:-pw]
    if bias:
        out = out + bias[0][:, None, None]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out



# ---- 06_concatenation_and_cropping ---------------------------------------------------------------
# Left out here, the same code as an entry of another catalogue for the same check:
# t13_cat_split_at_sizes (cat_backward_split_at_sizes), t13_cat_split_equal
# (cat_backward_split_equal), t13_cat_forward_stack (cat_forward_stack), t13_crop_bw_no_offset
# (crop_backward_at_corner), t14_cat_forward_stack (cat_forward_stack),
# t14_cat_backward_sizes_as_cuts (cat_backward_split_at_all_sizes), t14_cat_backward_equal_parts
# (cat_backward_split_equal), t14_cat_backward_cumsum_with_last (d9_cat_backward_cumsum_full),
# t14_crop_backward_returns_grad (crop_backward_unpadded), t14_crop_backward_top_left
# (crop_backward_at_corner).

@mistake("check_cat", "cat_backward", "backward cut the gradient along dim 0", "cut along ctx.dim")
def t13_cat_split_axis0(ctx, grad):
    """splits along axis 0 instead of dim"""
    return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1]))


@mistake("check_cat", "cat", "`cat` passes dim=1 to", "not its own argument `dim`",
         "pass dim=dim")
def t13_cat_dim_hardcoded(tensors, dim=0):
    """cat ignores dim and always joins along channels (dim=1)"""
    return NS06["CatFunction"].apply(*tensors, dim=1)


@mistake("check_cat", "cat", "received a list of Tensors as one input",
         "CatFunction.apply(*tensors, dim=dim)")
def t13_cat_list_not_unpacked(tensors, dim=0):
    """passes the list itself to apply (no *): CatFunction.apply(tensors, dim=dim)"""
    return NS06["CatFunction"].apply(tensors, dim=dim)


@mistake("check_cat", "cat_forward", "backward reads ctx.sizes, which forward never saved",
         "set ctx.sizes = ... in forward")
def t13_cat_forward_no_ctx(ctx, *arrays, dim):
    """cat_forward forgets to save the sizes and dim on ctx (backward needs them)"""
    return np.concatenate(arrays, axis=dim)


@mistake("check_center_crop", "center_crop", "your offsets are (n - k + 1) // 2, rounded up",
         "the offset is rounded down")
def t13_crop_round_up(input, size):
    """top/left rounded up (ceil) instead of down"""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = -(-(input.shape[-2] - h) // 2), -(-(input.shape[-1] - w) // 2)
    return NS06["CropFunction"].apply(input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "center_crop", "the two offsets are swapped",
         "the rows start at `top`")
def t13_crop_hw_swapped(input, size):
    """uses the height's margin for the columns and the width's for the rows"""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-1] - w) // 2, (input.shape[-2] - h) // 2
    return NS06["CropFunction"].apply(input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "center_crop", "received size=4 where it unpacks a pair",
         "an int stands for the pair (v, v)")
def t13_crop_int_size_unhandled(input, size):
    """h, w = size: crashes on an int size"""
    h, w = size
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return NS06["CropFunction"].apply(input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "crop_backward", "grad_out sits at the right place",
         "the bottom/right border differs from the top/left one")
def t13_crop_bw_symmetric_pad(ctx, grad):
    """crop_backward pads symmetrically by top/left on both sides (wrong when the margin is odd)"""
    pad = [(0, 0)] * (grad.ndim - 2) + [(ctx.top, ctx.top), (ctx.left, ctx.left)]
    return np.pad(grad, pad)


@mistake("check_center_crop", "center_crop", "slice bounds must be ints", "divide with // (not /)")
def t13_crop_float_offset(input, size):
    """top = (H - h) / 2: a float offset (true division)"""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) / 2, (input.shape[-1] - w) / 2
    return NS06["CropFunction"].apply(input, top=top, left=left, height=h, width=w)


@mistake("check_cat", "cat_forward", "joined along an axis other than the one asked for",
         "use the `dim` argument")
def t14_cat_forward_axis1(ctx, *arrays, dim):
    """concatenates along axis 1 always, ignoring dim"""
    ctx.sizes, ctx.dim = [a.shape[1] for a in arrays], 1
    return np.concatenate(arrays, axis=1)


@mistake("check_cat", "cat_backward", "cut the gradient along dim 0 in every case",
         "cut along ctx.dim")
def t14_cat_backward_axis0(ctx, grad):
    """np.split without axis=ctx.dim (splits along axis 0)"""
    return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1]))


@mistake("check_cat", "cat", "not connected to its inputs", "CatFunction.apply(*tensors, dim=dim)")
def t14_cat_numpy(tensors, dim=0):
    """concatenates the .data in NumPy and wraps a new Tensor: no graph"""
    return Tensor(np.concatenate([t.data for t in tensors], axis=dim))


@mistake("check_cat", "cat", "CatFunction.apply received a list of Tensors as one input",
         "apply(*tensors, dim=dim)")
def t14_cat_list_not_unpacked(tensors, dim=0):
    """CatFunction.apply(tensors) instead of apply(*tensors)"""
    return CatFunction.apply(tensors, dim=dim)


@mistake("check_cat", "cat_forward", "backward reads ctx.sizes, which forward never saved",
         "set ctx.sizes = ... in forward")
def t14_cat_forward_no_ctx(ctx, *arrays, dim):
    """forward saves nothing in ctx (sizes, dim) for backward"""
    return np.concatenate(arrays, axis=dim)


@mistake("check_cat", "cat", "CatFunction.apply took 0 for an input Tensor",
         "forward's other arguments by name (dim)")
def t14_cat_dim_positional(tensors, dim=0):
    """passes dim positionally: apply(*tensors, dim) makes dim an input"""
    return CatFunction.apply(*tensors, dim)


@mistake("check_center_crop", "center_crop", "your offsets are (n - k + 1) // 2, rounded up",
         "the offset is rounded down")
def t14_center_crop_round_up(input, size):
    """rounds the offset up: (H - h + 1) // 2"""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h + 1) // 2, (input.shape[-1] - w + 1) // 2
    return CropFunction.apply(input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "center_crop", "slice bounds must be ints", "divide with // (not /)")
def t14_center_crop_true_division(input, size):
    """(H - h) / 2: a float offset"""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) / 2, (input.shape[-1] - w) / 2
    return CropFunction.apply(input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "center_crop", "`size` is (4, 5), a tuple", "unpack it first, h, w =")
def t14_center_crop_int_only(input, size):
    """handles only an int size, not a (h, w) pair"""
    top, left = (input.shape[-2] - size) // 2, (input.shape[-1] - size) // 2
    return CropFunction.apply(input, top=top, left=left, height=size, width=size)


@mistake("check_center_crop", "center_crop", "the two offsets are swapped",
         "the rows start at `top`")
def t14_center_crop_swapped_axes(input, size):
    """top from the width and left from the height"""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-1] - w) // 2, (input.shape[-2] - h) // 2
    return CropFunction.apply(input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "crop_backward", "grad_out sits at the right place",
         "the bottom/right border differs from the top/left one")
def t14_crop_backward_symmetric_pad(ctx, grad):
    """np.pad with (top, top), (left, left): wrong when the leftover is odd"""
    pad_h, pad_w = ctx.top, ctx.left
    widths = [(0, 0)] * (grad.ndim - 2) + [(pad_h, pad_h), (pad_w, pad_w)]
    return np.pad(grad, widths)


@mistake("check_center_crop", "center_crop", "not connected to its inputs (made from .data",
         "build it with the Function's .apply(...)")
def t14_center_crop_on_data(input, size):
    """slices input.data and wraps a new Tensor: no graph"""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return Tensor(input.data[..., top:top + h, left:left + w])


@mistake("check_cat", "cat_backward", "np.split takes the positions of the cuts",
         "np.cumsum(sizes)[:-1], not the sizes")
def t15_cat_split_at_sizes(ctx, grad):
    """backward: np.split at the sizes themselves instead of their cumulative sums"""
    return tuple(np.split(grad, ctx.sizes[:-1], axis=ctx.dim))


@mistake("check_cat", "cat_backward", "backward cut the gradient along dim 0 in every case",
         "cut along ctx.dim")
def t15_cat_backward_axis0(ctx, grad):
    """backward splits along axis 0 whatever dim was"""
    return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=0))


@mistake("check_cat", "cat_forward", "np.stack", "NEW axis")
def t15_cat_forward_stack(ctx, *arrays, dim):
    """forward uses np.stack (new axis) instead of np.concatenate"""
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    return np.stack(arrays, axis=dim)


@mistake("check_cat", "cat", "passes dim=0", "pass dim=dim")
def t15_cat_dim_not_passed(tensors, dim=0):
    """cat forgets to pass dim on: CatFunction.apply(*tensors, dim=0)"""
    return NS06["CatFunction"].apply(*tensors, dim=0)


@mistake("check_center_crop", "center_crop", "your offsets are (n - k + 1) // 2, rounded up",
         "the offset is rounded down")
def t15_crop_round_up(input, size):
    """rounds the offset up: top = (H - h + 1) // 2"""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h + 1) // 2, (input.shape[-1] - w + 1) // 2
    return NS06["CropFunction"].apply(input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "crop_backward", "grad_out is put back at the wrong place",
         "your offsets are 0, the corner")
def t15_crop_backward_no_offset(ctx, grad):
    """backward writes grad at the top-left corner, forgetting the top/left offset"""
    g = np.zeros(ctx.shape, dtype=grad.dtype)
    g[..., :grad.shape[-2], :grad.shape[-1]] = grad
    return g


@mistake("check_center_crop", "center_crop", "the two offsets are swapped",
         "the rows start at `top`, the columns at `left`")
def t15_crop_hw_swapped(input, size):
    """uses W for the top offset and H for the left one (axes swapped)"""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-1] - w) // 2, (input.shape[-2] - h) // 2
    return NS06["CropFunction"].apply(input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "center_crop", "received size=4 where it unpacks a pair",
         "h, w = (size, size) if isinstance(size, int)")
def t15_crop_int_size_unpacked(input, size):
    """h, w = size without handling an int size"""
    h, w = size
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return NS06["CropFunction"].apply(input, top=top, left=left, height=h, width=w)



# ---- 07_modules_and_unet -------------------------------------------------------------------------
# Left out here, the same code as an entry of another catalogue for the same check:
# t13_rf_jump_before_add (rf_own_stride), t13_rf_k_not_k_minus_1 (rf_sums_kernels), t13_rf_start_0
# (rf_no_one), t14_count_no_bottleneck (count_without_bottleneck), t14_rf_stride_first
# (rf_own_stride), t14_rf_starts_at_zero (rf_no_one).

@mistake("check_count_parameters", "count_parameters", "the decoder's first convolution takes w_i",
         "the skip connection is concatenated first", "it takes 2 * w_i")
def t13_count_no_cat_doubling(depth, base_filters, in_channels=1):
    """decoder's first conv takes w_i, not 2 w_i (forgets the concatenation)"""
    return _t13_count(depth, base_filters, in_channels, dec_factor=1)


@mistake("check_count_parameters", "count_parameters",
         "you also counted batch norm's running mean and variance", "they are buffers")
def t13_count_bn_4C(depth, base_filters, in_channels=1):
    """counts the running mean/var: 4C per batch norm"""
    return _t13_count(depth, base_filters, in_channels, bn=4)


@mistake("check_count_parameters", "count_parameters", "the batch-norm parameters are missing",
         "a weight (gamma) and a bias (beta)")
def t13_count_no_bn(depth, base_filters, in_channels=1):
    """forgets the batch norm parameters altogether"""
    return _t13_count(depth, base_filters, in_channels, bn=0)


@mistake("check_count_parameters", "count_parameters",
         "the transposed convolutions' biases (w_i each) are missing")
def t13_count_no_up_bias(depth, base_filters, in_channels=1):
    """forgets the transposed convolutions' bias"""
    return _t13_count(depth, base_filters, in_channels, up_bias=False)


@mistake("check_count_parameters", "count_parameters",
         "you counted a bias for every 3x3 convolution", "bias=False")
def t13_count_conv_bias(depth, base_filters, in_channels=1):
    """gives every 3x3 convolution a bias (C_out more each), though they have none"""
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    extra = sum(2 * widths[i] for i in range(depth + 1)) + sum(2 * widths[i] for i in range(depth))
    return _t13_count(depth, base_filters, in_channels) + extra


@mistake("check_count_parameters", "count_parameters", "your count leaves out the bottleneck",
         "the deepest double convolution")
def t13_count_no_bottleneck(depth, base_filters, in_channels=1):
    """encoder loop over range(depth): forgets the bottleneck"""
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    return _t13_count(depth, base_filters, in_channels) - (
        9 * widths[depth] * (widths[depth - 1] + widths[depth]) + 4 * widths[depth])


@mistake("check_receptive_field", "receptive_field", "the strides are ignored",
         "its (k - 1) counts s times")
def t13_rf_ignores_strides(layers):
    """1 + sum(k - 1): ignores the strides"""
    return 1 + sum(kernel - 1 for kernel, _ in layers)


@mistake("check_count_parameters", "count_parameters",
         "you counted a bias for every 3x3 convolution", "(bias=False)")
def t14_count_conv_bias(depth, base_filters, in_channels=1):
    """gives every 3x3 convolution a bias"""
    return _t14_count(depth, base_filters, in_channels, conv_bias=True)


@mistake("check_count_parameters", "count_parameters",
         "you also counted batch norm's running mean and variance", "they are buffers")
def t14_count_bn_buffers(depth, base_filters, in_channels=1):
    """counts batch norm as 4C (running mean and var too)"""
    return _t14_count(depth, base_filters, in_channels, bn=4)


@mistake("check_count_parameters", "count_parameters", "the decoder's first convolution takes w_i",
         "it takes 2 * w_i")
def t14_count_no_concat(depth, base_filters, in_channels=1):
    """decoder's first conv takes w_i, not 2 w_i (forgets the concatenation)"""
    return _t14_count(depth, base_filters, in_channels, concat=False)


@mistake("check_count_parameters", "count_parameters",
         "the 1x1 head (w_0 weights + 1 bias) is missing")
def t14_count_no_head(depth, base_filters, in_channels=1):
    """forgets the 1x1 head"""
    return _t14_count(depth, base_filters, in_channels, head=False)


@mistake("check_count_parameters", "count_parameters",
         "the transposed convolutions' biases (w_i each) are missing")
def t14_count_no_up_bias(depth, base_filters, in_channels=1):
    """forgets the transposed convolution's bias"""
    return _t14_count(depth, base_filters, in_channels, up_bias=False)


@mistake("check_receptive_field", "receptive_field", "the strides are ignored",
         "its (k - 1) counts s times")
def t14_rf_ignores_strides(layers):
    """1 + sum(k - 1): ignores the strides"""
    return 1 + sum(kernel - 1 for kernel, _ in layers)


@mistake("check_count_parameters", "count_parameters", "takes w_i input channels in your count",
         "it takes 2 * w_i")
def t15_count_no_concat(depth, base_filters, in_channels=1):
    """decoder's first conv takes w_i input channels, forgetting the concatenation doubles it"""
    return _t15_count(depth, base_filters, in_channels, dec_in=2)


@mistake("check_count_parameters", "count_parameters",
         "you also counted batch norm's running mean and variance",
         "they are buffers (statistics), not trained parameters")
def t15_count_bn_running_stats(depth, base_filters, in_channels=1):
    """counts batch norm as 4C (running mean and var included)"""
    return _t15_count(depth, base_filters, in_channels, bn=8)


@mistake("check_count_parameters", "count_parameters",
         "you counted a bias for every 3x3 convolution",
         "a convolution followed by batch norm has none (bias=False)")
def t15_count_conv_bias(depth, base_filters, in_channels=1):
    """adds a bias to every 3x3 conv (C_out each)"""
    return _t15_count(depth, base_filters, in_channels, conv_bias=1)


@mistake("check_count_parameters", "count_parameters", "the 1x1 head",
         "(w_0 weights + 1 bias) is missing")
def t15_count_no_head(depth, base_filters, in_channels=1):
    """forgot the 1x1 output head"""
    return _t15_count(depth, base_filters, in_channels, head=False)


@mistake("check_receptive_field", "receptive_field", "the strides are ignored",
         "its (k - 1) counts s times")
def t15_rf_no_stride(layers):
    """ignores strides: 1 + sum(k - 1)"""
    return 1 + sum(k - 1 for k, s in layers)


@mistake("check_receptive_field", "receptive_field", "is multiplied by its own stride too",
         "only the strides of the layers *before* it count")
def t15_rf_jump_first(layers):
    """multiplies the jump by the layer's own stride before adding its k - 1"""
    field, jump = 1, 1
    for k, s in layers:
        jump *= s
        field += (k - 1) * jump
    return field


@mistake("check_receptive_field", "receptive_field", "the + 1 is missing",
         "an empty stack already sees 1 input pixel")
def t15_rf_start_0(layers):
    """starts the field at 0 instead of 1"""
    field, jump = 0, 1
    for k, s in layers:
        field += (k - 1) * jump
        jump *= s
    return field


@mistake("check_count_parameters", "count_parameters", "your count leaves out the bottleneck",
         "the deepest double convolution")
def t15_count_no_bottleneck(depth, base_filters, in_channels=1):
    """encoder loop over range(depth): the bottleneck's double conv is left out"""
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1
    for i in range(depth):
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + widths[i]
        total += 9 * widths[i] * (3 * widths[i]) + 4 * widths[i]
    return total



# ---- 08_losses -----------------------------------------------------------------------------------
# Left out here, the same code as an entry of another catalogue for the same check: t13_bce_naive
# (bce_naive), t13_bce_sum (d6_bce_summed), t13_bce_no_abs (bce_exp_minus_x), t13_bce_no_mean
# (bce_no_reduction), t13_sdice_no_sigmoid (d7_soft_dice_on_logits), t13_sdice_returns_dice
# (d6_soft_dice_returns_dice), t14_bce_naive (bce_naive), t14_bce_sum (d6_bce_summed),
# t14_sdl_returns_dice (d6_soft_dice_returns_dice), t15_bce_sum (d6_bce_summed), t15_bce_sign_xt
# (t13_bce_sign_xt), t15_bce_exp_no_abs (d7_bce_no_abs), t15_dice_loss_no_sigmoid
# (d7_soft_dice_on_logits), t15_dice_loss_returns_dice (d6_soft_dice_returns_dice),
# t15_dice_loss_smooth_denominator_only (t13_sdice_smooth_denominator_only),
# t15_dice_loss_no_factor_2 (t13_sdice_no_factor_2).

@mistake("check_bce_with_logits", "bce_with_logits", "the target enters with the wrong sign",
         "the x * t term is subtracted")
def t13_bce_sign_xt(logits, target):
    """+ x*t instead of - x*t"""
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() + logits * target + (1 + (-magnitude).exp()).log()).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "smooth is only added to the denominator",
         "add it to the numerator too")
def t13_sdice_smooth_denominator_only(logits, target, smooth=1.0):
    """smoothing only in the denominator"""
    p = logits.sigmoid()
    return 1 - (2 * (p * target).sum()) / (p.sum() + target.sum() + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "the mean of one Dice loss per slice",
         "pools every pixel of the batch into one ratio")
def t13_sdice_per_image_mean(logits, target, smooth=1.0):
    """one Dice per image (sum over C,H,W), then the mean over the batch"""
    p = logits.sigmoid()
    axes = tuple(range(1, logits.ndim))
    inter = (p * target).sum(axes)
    return (1 - (2 * inter + smooth) / (p.sum(axes) + target.sum(axes) + smooth)).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "the intersection is not doubled", "2 sum(p t)")
def t13_sdice_no_factor_2(logits, target, smooth=1.0):
    """forgets the 2 in front of the intersection"""
    p = logits.sigmoid()
    return 1 - ((p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


@mistake("check_bce_with_logits", "bce_with_logits", "the target enters with the wrong sign",
         "the x * t term is subtracted")
def t14_bce_sign(logits, target):
    """+ x*t instead of - x*t"""
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() + logits * target + (1 + (-magnitude).exp()).log()).mean()


@mistake("check_bce_with_logits", "bce_with_logits", "logits.grad is None after backward()",
         "not connected to the logits")
def t14_bce_numpy(logits, target):
    """computes in NumPy on .data: right value, no gradient"""
    x, t = logits.data, target.data
    return Tensor(np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))))


@mistake("check_bce_with_logits", "bce_with_logits", "a form that takes exp of a positive number",
         "Use the stable form")
def t14_bce_unstable_exp(logits, target):
    """(1 - t) x + log(1 + exp(-x)): overflows for x << 0"""
    return ((1 - target) * logits + (1 + (-logits).exp()).log()).mean()


@mistake("check_bce_with_logits", "bce_with_logits", "the max(x, 0) term is missing")
def t14_bce_no_relu(logits, target):
    """drops the max(x, 0) term: -x t + log(1 + exp(-|x|))"""
    magnitude = logits.relu() + (-logits).relu()
    return (-(logits * target) + (1 + (-magnitude).exp()).log()).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "the sigmoid is missing", "p = sigmoid(logits)")
def t14_sdl_no_sigmoid(logits, target, smooth=1.0):
    """uses the logits as probabilities (no sigmoid)"""
    intersection = (logits * target).sum()
    return 1 - (2 * intersection + smooth) / (logits.sum() + target.sum() + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "smooth is only added to the denominator",
         "add it to the numerator too")
def t14_sdl_smooth_denominator_only(logits, target, smooth=1.0):
    """smoothing only in the denominator"""
    p = logits.sigmoid()
    return 1 - (2 * (p * target).sum()) / (p.sum() + target.sum() + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "the mean of one Dice loss per slice",
         "the course's loss pools every pixel of the batch")
def t14_sdl_per_image_mean(logits, target, smooth=1.0):
    """one Dice per image, averaged, instead of one over the batch"""
    p = logits.sigmoid()
    n = logits.shape[0]
    inter = (p * target).reshape(n, -1).sum(dim=1)
    total = p.reshape(n, -1).sum(dim=1) + target.reshape(n, -1).sum(dim=1)
    return (1 - (2 * inter + smooth) / (total + smooth)).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "the intersection is not doubled", "2 sum(p t)")
def t14_sdl_no_factor_2(logits, target, smooth=1.0):
    """forgets the factor 2 on the intersection"""
    p = logits.sigmoid()
    return 1 - ((p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


@mistake("check_bce_with_logits", "bce_with_logits", "log(sigmoid(x)) or exp(-x) overflows there",
         "Use the stable form")
def t15_bce_naive(logits, target):
    """naive -(t log sigmoid + (1-t) log(1-sigmoid)): inf/nan for large logits"""
    p = logits.sigmoid()
    return (-(target * p.log() + (1 - target) * (1 - p).log())).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "the mean of one Dice loss per slice",
         "pools every pixel of the batch")
def t15_dice_loss_per_sample(logits, target, smooth=1.0):
    """Dice per image then averaged over the batch, not over the whole batch"""
    p = logits.sigmoid()
    dims = tuple(range(1, len(logits.shape)))
    inter = (p * target).sum(dim=dims)
    d = (2 * inter + smooth) / (p.sum(dim=dims) + target.sum(dim=dims) + smooth)
    return 1 - d.mean()



# ---- 09_training ---------------------------------------------------------------------------------
# Left out here, the same code as an entry of another catalogue for the same check:
# t13_sgd_steps_with_grad (d9_sgd_param_uses_grad), t13_sgd_dampening (sgd_dampened),
# t13_sgd_old_buffer (sgd_returns_old_buffer), t13_sgd_plus (sgd_uphill), t14_sgd_dampened
# (sgd_dampened), t14_sgd_steps_with_grad (d9_sgd_param_uses_grad), t14_sgd_lr_in_buffer
# (sgd_lr_in_buffer), t15_sgd_dampening (d7_sgd_dampened), t15_sgd_step_with_grad
# (d9_sgd_param_uses_grad), t15_sgd_lr_in_buffer (sgd_lr_in_buffer), t15_sgd_returns_old_buf
# (d8_sgd_returns_old_buffer).

@mistake("check_adam_step", "adam_step", "no bias correction", "divide m by (1 - beta1**t)")
def t13_adam_no_bias_correction(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """no bias correction"""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * m / (np.sqrt(v) + eps), m, v


@mistake("check_adam_step", "adam_step", "v averages the gradient", "it averages grad**2")
def t13_adam_v_not_squared(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """v averages grad instead of grad**2"""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return param - lr * m_hat / (np.sqrt(np.abs(v_hat)) + eps), m, v


@mistake("check_adam_step", "adam_step",
         "you return the bias-corrected m_hat and v_hat as the new moments",
         "return m and v themselves")
def t13_adam_returns_hats(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """returns the bias-corrected m_hat, v_hat as the new state"""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m_hat, v_hat


@mistake("check_adam_step", "adam_step", "eps is inside the square root", "(sqrt(v_hat) + eps)")
def t13_adam_eps_in_sqrt(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """eps inside the square root: sqrt(v_hat + eps)"""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return param - lr * m_hat / np.sqrt(v_hat + eps), m, v


@mistake("check_adam_step", "adam_step", "the bias correction uses t + 1 instead of t")
def t13_adam_t_plus_1(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """bias correction with t + 1 (thinks t counts from 0)"""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat, v_hat = m / (1 - b1 ** (t + 1)), v / (1 - b2 ** (t + 1))
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@mistake("check_adam_step", "adam_step", "m is divided by beta1 ** t",
         "its bias correction is 1 - beta1 ** t")
def t13_adam_divide_by_beta_t(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """bias correction divides by beta**t instead of 1 - beta**t"""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat, v_hat = m / b1 ** t, v / b2 ** t
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "the parameter moves by the OLD buffer",
         "update buf = momentum buf + grad first")
def t14_sgd_old_buffer(param, grad, buf, lr, momentum):
    """steps with the old buffer, then updates it"""
    new_param = param - lr * buf
    buf = momentum * buf + grad
    return new_param, buf


@mistake("check_adam_step", "adam_step", "no bias correction", "divide m by (1 - beta1**t)")
def t14_adam_no_bias_correction(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """no bias correction"""
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    return param - lr * m / (np.sqrt(v) + eps), m, v


@mistake("check_adam_step", "adam_step",
         "you return the bias-corrected m_hat and v_hat as the new moments",
         "return m and v themselves")
def t14_adam_returns_corrected(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """returns the bias-corrected m_hat, v_hat as the new state"""
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m = m / (1 - beta1 ** t)
    v = v / (1 - beta2 ** t)
    return param - lr * m / (np.sqrt(v) + eps), m, v


@mistake("check_adam_step", "adam_step", "eps is inside the square root", "(sqrt(v_hat) + eps)")
def t14_adam_eps_inside_sqrt(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """sqrt(v_hat + eps) instead of sqrt(v_hat) + eps"""
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return param - lr * m_hat / np.sqrt(v_hat + eps), m, v


@mistake("check_adam_step", "adam_step", "the second moment v averages the gradient",
         "it averages grad**2")
def t14_adam_grad_not_squared(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """second moment of g instead of g**2 (forgets the square)"""
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@mistake("check_adam_step", "adam_step", "m is divided by 1 - beta1 where",
         "its bias correction is 1 - beta1 ** t")
def t14_adam_correction_no_power(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """bias correction 1 - beta (no ** t)"""
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1), v / (1 - beta2)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@mistake("check_adam_step", "adam_step", "no bias correction",
         "divide m by (1 - beta1**t) and v by (1 - beta2**t)")
def t15_adam_no_bias_correction(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """no bias correction of m and v"""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    return param - lr * m / (np.sqrt(v) + eps), m, v


@mistake("check_adam_step", "adam_step", "eps is inside the square root",
         "lr * m_hat / (sqrt(v_hat) + eps)")
def t15_adam_eps_inside_sqrt(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """eps inside the square root: sqrt(v_hat + eps)"""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return param - lr * m_hat / np.sqrt(v_hat + eps), m, v


@mistake("check_adam_step", "adam_step", "the second moment v averages the gradient",
         "it averages grad**2")
def t15_adam_v_not_squared(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """v accumulates grad instead of grad**2"""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return param - lr * m_hat / (np.sqrt(np.abs(v_hat)) + eps), m, v


@mistake("check_adam_step", "adam_step",
         "you return the bias-corrected m_hat and v_hat as the new moments",
         "return m and v themselves")
def t15_adam_returns_hats(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """returns the bias-corrected m_hat, v_hat as the new state"""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m_hat, v_hat


@mistake("check_adam_step", "adam_step", "the bias correction uses t - 1 instead of t",
         "t counts from 1 at the first step")
def t15_adam_t_minus_1(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """bias correction with t - 1 (as if t started at 0): 0/0 at the first step"""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    with np.errstate(all="ignore"):
        m_hat, v_hat = m / (1 - b1 ** (t - 1)), v / (1 - b2 ** (t - 1))
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v



# ---- 10_gpu --------------------------------------------------------------------------------------
# Left out here, the same code as an entry of another catalogue for the same check: t15_cost_macs
# (t13_cost_macs_not_flops), t15_cost_no_weights (t13_cost_no_weights_bytes), t15_cost_no_itemsize
# (t13_cost_no_itemsize).

@mistake("check_conv2d_cost", "conv2d_cost", "count each multiply-add once",
         "a multiply-add is 2 floating-point operations")
def t13_cost_macs_not_flops(n, c_in, c_out, h, w, k, itemsize=4):
    """counts multiply-adds, not FLOPs (forgets the 2)"""
    flops = n * c_out * h * w * c_in * k * k
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w
    return flops, itemsize * values


@mistake("check_conv2d_cost", "conv2d_cost", "the bytes leave out the weights",
         "(c_out * c_in * k * k values)")
def t13_cost_no_weights_bytes(n, c_in, c_out, h, w, k, itemsize=4):
    """bytes: forgets to read the weights"""
    flops = 2 * n * c_out * h * w * c_in * k * k
    values = n * c_in * h * w + n * c_out * h * w
    return flops, itemsize * values


@mistake("check_conv2d_cost", "conv2d_cost", "the bytes are a count of values",
         "multiply by itemsize")
def t13_cost_no_itemsize(n, c_in, c_out, h, w, k, itemsize=4):
    """returns the number of values, not bytes (forgets itemsize)"""
    flops = 2 * n * c_out * h * w * c_in * k * k
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w
    return flops, values


@mistake("check_conv2d_cost", "conv2d_cost", "you count a 'valid' output", "the output keeps H x W")
def t13_cost_valid_output(n, c_in, c_out, h, w, k, itemsize=4):
    """output size (h - k + 1)(w - k + 1), as for a valid convolution, though it is 'same'"""
    ho, wo = h - k + 1, w - k + 1
    flops = 2 * n * c_out * ho * wo * c_in * k * k
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * ho * wo
    return flops, itemsize * values


@mistake("check_conv2d_cost", "conv2d_cost", "count each multiply-add once",
         "a multiply-add is 2 floating-point operations")
def t14_cost_macs(n, c_in, c_out, h, w, k, itemsize=4):
    """counts multiply-adds, not FLOPs (no factor 2)"""
    flops = n * c_out * h * w * c_in * k * k
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w
    return flops, itemsize * values


@mistake("check_conv2d_cost", "conv2d_cost", "the bytes are a count of values",
         "multiply by itemsize")
def t14_cost_bytes_as_values(n, c_in, c_out, h, w, k, itemsize=4):
    """returns the number of values, not bytes (forgets itemsize)"""
    flops = 2 * n * c_out * h * w * c_in * k * k
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w
    return flops, values


@mistake("check_conv2d_cost", "conv2d_cost", "the bytes leave out the weights",
         "(c_out * c_in * k * k values)")
def t14_cost_no_weights(n, c_in, c_out, h, w, k, itemsize=4):
    """bytes leave out the weights"""
    flops = 2 * n * c_out * h * w * c_in * k * k
    values = n * c_in * h * w + n * c_out * h * w
    return flops, itemsize * values


@mistake("check_conv2d_cost", "conv2d_cost", "your FLOPs miss the factor k")
def t14_cost_k_not_squared(n, c_in, c_out, h, w, k, itemsize=4):
    """FLOPs with k instead of k*k"""
    flops = 2 * n * c_out * h * w * c_in * k
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w
    return flops, itemsize * values


@mistake("check_conv2d_cost", "conv2d_cost", "your FLOPs miss the factor k", "in every layer tried")
def t15_cost_k_not_squared(n, c_in, c_out, h, w, k, itemsize=4):
    """k instead of k*k (one kernel side) in FLOPs and weights"""
    flops = 2 * n * c_out * h * w * c_in * k
    values = n * c_in * h * w + c_out * c_in * k + n * c_out * h * w
    return flops, itemsize * values



# ---- 11_evaluation -------------------------------------------------------------------------------

@mistake("check_dice_per_slice", "dice_per_slice",
         "a pixel exactly at the threshold (0.5) counted as tumour", "pred > threshold, strictly")
def t13_dps_ge_threshold(pred, target, threshold=0.5):
    """pred >= threshold instead of >"""
    p = (pred >= threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(axis=1), p.sum(axis=1) + t.sum(axis=1)
    return np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))


@mistake("check_dice_per_slice", "dice_per_slice", "have no tumour and no prediction (0/0)",
         "the course scores them 1.0")
def t13_dps_empty_is_0(pred, target, threshold=0.5):
    """empty slices (both masks empty) get 0 instead of 1"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(axis=1), p.sum(axis=1) + t.sum(axis=1)
    return 2 * overlap / np.maximum(total, 1)


@mistake("check_dice_per_slice", "dice_per_slice", "your axis 1 of size 1 is one too many",
         "sum over every axis but the first")
def t13_dps_sum_wrong_axes(pred, target, threshold=0.5):
    """sums over axes (2, 3) of (S,1,H,W) and returns (S, 1)"""
    p, t = pred > threshold, target > 0.5
    overlap, total = (p & t).sum(axis=(2, 3)), p.sum(axis=(2, 3)) + t.sum(axis=(2, 3))
    return np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))


@mistake("check_dice_per_slice", "dice_per_slice", "no threshold",
         "you used the probabilities themselves (a soft Dice)")
def t13_dps_no_threshold(pred, target, threshold=0.5):
    """uses the probabilities directly (soft Dice), no threshold"""
    p = pred.reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p * t).sum(axis=1), p.sum(axis=1) + t.sum(axis=1)
    return np.where(total == 0, 1.0, 2 * overlap / np.where(total == 0, 1, total))


@mistake("check_dice_per_slice", "dice_per_slice", "have no tumour and no prediction (0/0)",
         "the course scores them 1.0")
def t13_dps_nan_empty(pred, target, threshold=0.5):
    """no guard for empty slices: 0/0 gives nan"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(axis=1), p.sum(axis=1) + t.sum(axis=1)
    return 2 * overlap / total


@mistake("check_dice_per_patient", "dice_per_patient", "the mean of each patient's slice Dices",
         "sums tp, fp and fn")
def t13_dpp_mean_of_slices(pred, target, patients, threshold=0.5):
    """mean of the slice Dices instead of one volume ratio"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(axis=1), p.sum(axis=1) + t.sum(axis=1)
    per_slice = np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))
    ids = np.asarray(patients)
    return {q: float(per_slice[ids == q].mean()) for q in dict.fromkeys(patients)}


@mistake("check_dice_per_patient", "dice_per_patient",
         "a patient with no tumour and no prediction gets 0", "the course scores 0/0 as 1.0")
def t13_dpp_empty_is_0(pred, target, patients, threshold=0.5):
    """a patient with no tumour and no prediction gets 0 instead of 1"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids = np.asarray(patients)
    result = {}
    for q in dict.fromkeys(patients):
        rows = ids == q
        total = p[rows].sum() + t[rows].sum()
        result[q] = 0.0 if total == 0 else float(2 * (p[rows] & t[rows]).sum() / total)
    return result


@mistake("check_dice_per_patient", "dice_per_patient",
         "a pixel exactly at the threshold (0.5) counted as tumour", "use pred > threshold")
def t13_dpp_ge_threshold(pred, target, patients, threshold=0.5):
    """uses pred >= threshold (not strictly greater)"""
    p = (pred >= threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids = np.asarray(patients)
    result = {}
    for q in dict.fromkeys(patients):
        rows = ids == q
        total = p[rows].sum() + t[rows].sum()
        result[q] = 1.0 if total == 0 else float(2 * (p[rows] & t[rows]).sum() / total)
    return result


@mistake("check_dice_per_patient", "dice_per_patient", "a Python list compared with an id",
         "compare np.asarray(patients) == patient")
def t13_dpp_list_compare(pred, target, patients, threshold=0.5):
    """selects rows with patients == q on the Python list (a single False), not an array"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    result = {}
    for q in dict.fromkeys(patients):
        rows = patients == q
        total = p[rows].sum() + t[rows].sum()
        result[q] = 1.0 if total == 0 else float(2 * (p[rows] & t[rows]).sum() / total)
    return result


@mistake("check_dice_per_slice", "dice_per_slice",
         "a pixel exactly at the threshold (0.5) counted as tumour", "pred > threshold, strictly")
def t14_slice_ge_threshold(pred, target, threshold=0.5):
    """pred >= threshold instead of >"""
    p = (pred >= threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(axis=1), p.sum(axis=1) + t.sum(axis=1)
    return np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))


@mistake("check_dice_per_slice", "dice_per_slice", "have no tumour and no prediction (0/0)",
         "the course scores them 1.0")
def t14_slice_nan_on_empty(pred, target, threshold=0.5):
    """no empty-slice rule: 0/0 gives nan"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(axis=1), p.sum(axis=1) + t.sum(axis=1)
    with np.errstate(all="ignore"):
        return 2 * overlap / total


@mistake("check_dice_per_slice", "dice_per_slice", "your axis 1 of size 1 is one too many",
         "sum over every axis but the first")
def t14_slice_keeps_channel_axis(pred, target, threshold=0.5):
    """sums over axes (2, 3): returns (S, 1), not (S,)"""
    p, t = pred > threshold, target > 0.5
    overlap, total = (p & t).sum(axis=(2, 3)), p.sum(axis=(2, 3)) + t.sum(axis=(2, 3))
    return np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))


@mistake("check_dice_per_slice", "dice_per_slice", "your values are the ones for 0.5",
         "the threshold argument is ignored")
def t14_slice_fixed_threshold(pred, target, threshold=0.5):
    """ignores the threshold argument (always 0.5)"""
    p = (pred > 0.5).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(axis=1), p.sum(axis=1) + t.sum(axis=1)
    return np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))


@mistake("check_dice_per_slice", "dice_per_slice", "the Dice of all slices pooled",
         "return one Dice per slice")
def t14_slice_global_dice(pred, target, threshold=0.5):
    """one Dice over all slices (a scalar), not one per slice"""
    p, t = pred > threshold, target > 0.5
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else 2 * (p & t).sum() / total


@mistake("check_dice_per_patient", "dice_per_patient", "the mean of each patient's slice Dices",
         "sums tp, fp and fn")
def t14_patient_mean_of_slices(pred, target, patients, threshold=0.5):
    """mean of the slice Dices instead of one volume Dice"""
    ids = np.asarray(patients)
    per_slice = _t14_dice_per_slice(pred, target, threshold)
    return {p: float(per_slice[ids == p].mean()) for p in dict.fromkeys(patients)}


@mistake("check_dice_per_patient", "dice_per_patient",
         "a patient with no tumour and no prediction gets 0", "the course scores 0/0 as 1.0")
def t14_patient_empty_zero(pred, target, patients, threshold=0.5):
    """an empty patient (no tumour, none found) scores 0"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids = np.asarray(patients)
    result = {}
    for patient in dict.fromkeys(patients):
        rows = ids == patient
        total = p[rows].sum() + t[rows].sum()
        result[patient] = 0.0 if total == 0 else float(2 * (p[rows] & t[rows]).sum() / total)
    return result


@mistake("check_dice_per_patient", "dice_per_patient", "your values are the ones for 0.5",
         "the threshold argument is ignored")
def t14_patient_fixed_threshold(pred, target, patients, threshold=0.5):
    """ignores the threshold argument (always 0.5)"""
    p = (pred > 0.5).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids = np.asarray(patients)
    result = {}
    for patient in dict.fromkeys(patients):
        rows = ids == patient
        total = p[rows].sum() + t[rows].sum()
        result[patient] = 1.0 if total == 0 else float(2 * (p[rows] & t[rows]).sum() / total)
    return result


@mistake("check_dice_per_patient", "dice_per_patient", "it has no tumour and no prediction (0/0)",
         "which the course scores 1.0")
def t14_patient_nan_on_empty(pred, target, patients, threshold=0.5):
    """no 0/0 rule for a tumour-free patient: nan"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids = np.asarray(patients)
    result = {}
    with np.errstate(all="ignore"):
        for patient in dict.fromkeys(patients):
            rows = ids == patient
            result[patient] = float(2 * (p[rows] & t[rows]).sum() / (p[rows].sum() + t[rows].sum()))
    return result


@mistake("check_dice_per_slice", "dice_per_slice", "have no tumour and no prediction (0/0)",
         "the course scores them 1.0")
def t15_slice_no_empty_case(pred, target, threshold=0.5):
    """empty slices give 0/0 = nan instead of 1"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    with np.errstate(all="ignore"):
        return 2 * (p & t).sum(axis=1) / (p.sum(axis=1) + t.sum(axis=1))


@mistake("check_dice_per_slice", "dice_per_slice",
         "no threshold: you used the probabilities themselves",
         "a pixel is tumour when pred > threshold")
def t15_slice_no_threshold(pred, target, threshold=0.5):
    """uses the probabilities directly (soft Dice), no threshold"""
    p = pred.reshape(len(pred), -1)
    t = target.reshape(len(target), -1)
    total = p.sum(axis=1) + t.sum(axis=1)
    return np.where(total == 0, 1.0, 2 * (p * t).sum(axis=1) / np.maximum(total, 1e-12))


@mistake("check_dice_per_slice", "dice_per_slice", "one Dice per slice",
         "sum over every axis but the first")
def t15_slice_wrong_axis(pred, target, threshold=0.5):
    """sums over axis 0 (across slices) instead of per slice"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(axis=0), p.sum(axis=0) + t.sum(axis=0)
    return np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))


@mistake("check_dice_per_patient", "dice_per_patient",
         "this is the mean of each patient's slice Dices",
         "a volume Dice sums tp, fp and fn over the patient's slices first")
def t15_patient_mean_of_slices(pred, target, patients, threshold=0.5):
    """mean of per-slice Dice instead of the volume's Dice"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(axis=1), p.sum(axis=1) + t.sum(axis=1)
    per = np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))
    ids = np.asarray(patients)
    return {q: float(per[ids == q].mean()) for q in dict.fromkeys(patients)}


@mistake("check_dice_per_patient", "dice_per_patient", "it has no tumour and no prediction (0/0)",
         "which the course scores 1.0")
def t15_patient_no_empty_case(pred, target, patients, threshold=0.5):
    """a patient with no tumour anywhere gets nan (0/0) instead of 1"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids = np.asarray(patients)
    out = {}
    for q in dict.fromkeys(patients):
        r = ids == q
        with np.errstate(all="ignore"):
            out[q] = float(2 * (p[r] & t[r]).sum() / np.float64(p[r].sum() + t[r].sum()))
    return out


@mistake("check_dice_per_patient", "dice_per_patient", "your values are the ones for 0.5",
         "the threshold argument is ignored")
def t15_patient_threshold_ignored(pred, target, patients, threshold=0.5):
    """hard-codes 0.5 instead of using the threshold argument"""
    p = (pred > 0.5).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids = np.asarray(patients)
    out = {}
    for q in dict.fromkeys(patients):
        r = ids == q
        total = p[r].sum() + t[r].sum()
        out[q] = 1.0 if total == 0 else float(2 * (p[r] & t[r]).sum() / total)
    return out


@mistake("check_dice_per_patient", "dice_per_patient", "the Dice of all slices pooled",
         "select each patient's own slices")
def t15_patient_global(pred, target, patients, threshold=0.5):
    """forgets to select the patient's rows: every patient gets the Dice of all slices"""
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    out = {}
    for q in dict.fromkeys(patients):
        total = p.sum() + t.sum()
        out[q] = 1.0 if total == 0 else float(2 * (p & t).sum() / total)
    return out


assert len({m.name for m in TYPICAL + NOT_NAMED_YET}) == len(TYPICAL + NOT_NAMED_YET), \
    "two entries share a name"
