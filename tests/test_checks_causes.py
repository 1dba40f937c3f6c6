"""A message names a cause only when the learner's values or source show it: the causes that
a symptom once suggested, wrongly, must stay out of these messages (tests/catalogue_layers_causes.py
holds the mistakes, with the words their messages must hold)."""
from __future__ import annotations

import numpy as np
import pytest

import catalogue_layers_causes as causes
from minitorch_unet.checks.core import FAILED
from minitorch_unet.convolution import col2im as c2i
from test_checks_catalogue import run


def message_of(name: str) -> str:
    entry = next(m for m in causes.CAUSES if m.name == f"causes_{name}")
    result = run(entry.grade, **entry.answers)
    assert result.status == FAILED, result
    return result.message


@pytest.mark.parametrize("name, wrong", [
    ("ng_step_fixed_at_1e_12", "float32"),               # the learner is in float64
    ("naive_columns_unstrided", "loop stops"),           # column 0 is right because j*s = j at 0
    ("col2im_width_count_is_the_heights", "wrong step"),  # the count is wrong, not the step
    ("conv2d_forward_saves_one_stride", "turn an int argument"),  # the forward saved one int
    ("conv2d_backward_grad_cols_without_the_final_T", "batch leaks"),
])
def test_a_cause_the_symptom_suggests_is_not_claimed(name: str, wrong: str) -> None:
    assert wrong not in message_of(name)


def test_a_float32_result_is_still_named_float32() -> None:
    def float32_result(f, x, eps=1e-6):
        grad = np.zeros(x.shape, dtype=np.float32)
        for i in np.ndindex(x.shape):
            s = x[i]
            x[i] = s + eps
            up = f(x)
            x[i] = s - eps
            down = f(x)
            x[i] = s
            grad[i] = (up - down) / (2 * eps)
        return grad
    result = run("check_numerical_gradient", numerical_gradient=float32_result)
    assert result.status == FAILED and "your arrays are float32" in result.message, result.message


def test_a_window_count_right_for_its_axis_is_not_blamed() -> None:
    """A window rounded up (ceil) is counted with this axis's own names: no name is called the
    other axis's, though swapping one would make the sizes agree by chance."""
    def col2im(cols, shape, kh, kw, sh, sw):
        n, c, h, w = shape
        ho, wo = -(-(h - kh) // sh) + 1, -(-(w - kw) // sw) + 1
        cols = cols.reshape(n, ho, wo, c, kh, kw)
        out = np.zeros(shape)
        for i in range(ho):
            for j in range(wo):
                out[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += cols[:, i, j]
        return out
    result = run("check_col2im", col2im=col2im)
    assert result.status == FAILED and "where `h` belongs" not in result.message and \
        "where `w` belongs" not in result.message, result.message


def test_a_dilated_window_is_not_taken_for_a_count_of_another_axis() -> None:
    def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
        o, _, kh, kw = weight.shape
        xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        ho, wo = (xpad.shape[2] - kh) // stride + 1, (xpad.shape[3] - kw) // stride + 1
        out = np.zeros((x.shape[0], o, ho, wo))
        for b in range(x.shape[0]):
            for ch in range(o):
                for i in range(ho):
                    for j in range(wo):
                        win = xpad[b, :, i * stride:i * stride + (kh - 1) * stride + 1:stride,
                                   j * stride:j * stride + (kw - 1) * stride + 1:stride]
                        out[b, ch, i, j] = np.sum(win * weight[ch])
        return out if bias is None else out + bias[:, None, None]
    result = run("check_conv2d_naive", conv2d_naive=conv2d_naive)
    assert result.status == FAILED and "a dilation" in result.message and \
        "count of another axis" not in result.message, result.message


def other_forward(ctx, x, weight, stride, padding):
    """A forward of another op in the same module that saves what conv2d's saves, one value
    wrong."""
    ctx.cols, ctx.weight, ctx.padded_shape = x, weight, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = padding, padding, False
    return x


def broadcasting_backward(ctx, grad):
    """conv2d's backward that adds the gradient rows to the image and raises (the module's
    `other_forward` saves `ctx.stride = padding`, but not for this op)."""
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    n, _, hp, wp = ctx.padded_shape
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grad_x = c2i(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:hp - ph, pw:wp - pw] + g
    return grad_x, (g.T @ ctx.cols).reshape(ctx.weight.shape), g.sum(axis=0)


def test_the_ctx_reading_follows_the_op_whose_backward_failed() -> None:
    """Only the forward of the op whose backward raised (and the helpers it calls) is read,
    not another forward of the same namespace."""
    result = run("check_conv2d", conv2d_backward=broadcasting_backward)
    assert result.status == FAILED and "raised" in result.message and \
        "ctx.stride = padding" not in result.message, result.message
