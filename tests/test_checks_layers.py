"""The checks of lessons 03-06 (convolution, pooling, transposed convolution, cat and crop).

Each check is fed a deliberately wrong layer and must fail with a CheckFailed whose message
names the mistake; the solution notebooks' answers must pass.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from minitorch_unet import convolution, functional as F
from minitorch_unet.autograd import Function, Tensor
from minitorch_unet.checks import CheckFailed, check
from minitorch_unet.checks.core import load_all
from minitorch_unet.course.notebooks import grade_id, is_check, is_demo, read_notebook

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
LESSONS = ("03_convolution", "04_max_pooling", "05_transposed_convolution",
           "06_concatenation_and_cropping")


def failure(grade: str, fn: Callable[..., Any]) -> str:
    """The message with which `fn` fails check `grade` (the test fails if it passes)."""
    with pytest.raises(CheckFailed) as info:
        check(grade, fn)
    return str(info.value)


def solution_function(grade: str) -> Callable[..., Any]:
    """The function a solution notebook defines for check `grade`, from running its code
    cells before that check (not demo or check cells), as a learner's notebook is read.
    Run it in the notebook's folder, so that it reuses the earlier solutions' answers."""
    exercise = load_all()[grade]
    cells = read_notebook(SOLUTIONS / exercise.lesson / f"{exercise.lesson}.ipynb").cells
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for cell in cells:
        if grade_id(cell) == grade:
            return namespace[exercise.function]
        if cell.cell_type == "code" and not is_check(cell) and not is_demo(cell):
            exec(compile(cell.source, f"<{exercise.lesson}>", "exec"), namespace)
    raise AssertionError(f"{exercise.lesson} has no {grade} cell")


GRADE_IDS = sorted(g for g, e in load_all().items() if e.lesson in LESSONS)


def test_every_lesson_has_checks() -> None:
    assert {load_all()[g].lesson for g in GRADE_IDS} == set(LESSONS)


@pytest.mark.parametrize("grade", GRADE_IDS)
def test_solution_passes(grade: str, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SOLUTIONS / load_all()[grade].lesson)
    fn = solution_function(grade)
    assert "engine's reference" not in capsys.readouterr().out  # the earlier solutions' answers pass
    check(grade, fn)
    assert capsys.readouterr().out.startswith("\u2714 ")


@pytest.mark.parametrize("grade, reference", [
    ("check_conv2d", F.conv2d), ("check_conv2d_forward", F.conv2d),
    ("check_im2col", convolution.im2col), ("check_col2im", convolution.col2im),
    ("check_max_pool2d", F.max_pool2d), ("check_conv_transpose2d", F.conv_transpose2d),
    ("check_cat", F.cat), ("check_center_crop", F.center_crop)])
def test_engine_passes(grade: str, reference: Callable[..., Any]) -> None:
    check(grade, reference)


# ---- conv2d: a learner-style im2col layer with one mistake at a time ---------------------------
class LearnerConv2d(Function):
    """conv2d by im2col, with the mistake named by `bug` (None: correct)."""

    @staticmethod
    def forward(ctx, x: np.ndarray, weight: np.ndarray, *bias: np.ndarray, stride: tuple[int, int],
                padding: tuple[int, int], bug: str | None) -> np.ndarray:
        (sh, sw), (ph, pw) = stride, padding
        o, c, kh, kw = weight.shape
        used = weight[:, :, ::-1, ::-1] if bug == "flipped" else weight
        xpad = convolution.pad2d(x, ph, pw)
        cols = convolution.im2col(xpad, kh, kw, sh, sw)
        ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
        out = (cols @ used.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
        if bias and bug != "no_bias":
            out = out + bias[0][:, None, None]
        if bug == "off_by_one":  # Ho = (H + 2p - k) // s, without the + 1
            out = out[:, :, :ho - 1, :wo - 1]
        ctx.cols, ctx.weight, ctx.xshape, ctx.params = cols, weight, xpad.shape, (stride, padding, bug)
        ctx.has_bias = bool(bias)
        return out

    @staticmethod
    def backward(ctx, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        ((sh, sw), (ph, pw), bug), (o, c, kh, kw) = ctx.params, ctx.weight.shape
        g2 = g.transpose(0, 2, 3, 1).reshape(-1, o)
        gx = convolution.col2im(g2 @ ctx.weight.reshape(o, -1), ctx.xshape, kh, kw, sh, sw)
        gx = gx[:, :, ph:gx.shape[2] - ph, pw:gx.shape[3] - pw]
        gw = (g2.T @ ctx.cols).reshape(ctx.weight.shape)
        if bug == "grad_weight":
            gw = 0.5 * gw
        if not ctx.has_bias:
            return gx, gw
        return gx, gw, (None if bug == "no_grad_bias" else g2.sum(axis=0))


def learner_conv2d(bug: str | None) -> Callable[..., Tensor]:
    def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
               padding: Any = 0) -> Tensor:
        pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        tensors = (input, weight) if bias is None else (input, weight, bias)
        return LearnerConv2d.apply(*tensors, stride=pair(stride), padding=pair(padding), bug=bug)
    return conv2d


def test_learner_style_conv2d_without_mistakes_passes() -> None:
    check("check_conv2d", learner_conv2d(None))


def test_conv2d_flipped_kernel_is_named() -> None:
    message = failure("check_conv2d", learner_conv2d("flipped"))
    assert "the kernel is flipped" in message and "cross-correlation" in message


def test_conv2d_off_by_one_output_size_is_named() -> None:
    message = failure("check_conv2d", learner_conv2d("off_by_one"))
    assert "wrong output shape" in message and "off by one" in message and "+ 1 is missing" in message


def test_conv2d_missing_bias_is_named() -> None:
    message = failure("check_conv2d", learner_conv2d("no_bias"))
    assert "the bias is missing" in message


def test_conv2d_wrong_weight_gradient_names_the_weight() -> None:
    message = failure("check_conv2d", learner_conv2d("grad_weight"))
    assert "gradient with respect to weight" in message and "wrong values" in message
    assert "worst at index" in message


def test_conv2d_missing_bias_gradient_is_named() -> None:
    message = failure("check_conv2d", learner_conv2d("no_grad_bias"))
    assert "gradient with respect to bias" in message and "is None" in message


def test_conv2d_forward_check_sees_the_forward_only() -> None:
    check("check_conv2d_forward", learner_conv2d("grad_weight"))
    assert "the bias is missing" in failure("check_conv2d_forward", learner_conv2d("no_bias"))


def test_conv2d_returning_an_array_is_named() -> None:
    message = failure("check_conv2d", lambda *args: F.conv2d(*args).data)
    assert "must return a Tensor" in message


def test_conv2d_naive_flipped_kernel_is_named() -> None:
    def flipped(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                stride: int = 1, padding: int = 0) -> np.ndarray:
        return learner_conv2d("flipped")(Tensor(x), Tensor(weight),
                                          None if bias is None else Tensor(bias), stride, padding).data
    assert "the kernel is flipped" in failure("check_conv2d_naive", flipped)


def test_im2col_wrong_column_order_is_named() -> None:
    def channels_last(x: np.ndarray, kh: int, kw: int, sh: int, sw: int) -> np.ndarray:
        """Columns over (a, b, c) instead of (c, a, b)."""
        win = convolution.windows(x, kh, kw, sh, sw)
        return win.transpose(0, 2, 3, 4, 5, 1).reshape(-1, x.shape[1] * kh * kw)
    assert "right numbers in the wrong order" in failure("check_im2col", channels_last)


def test_col2im_overwriting_is_named() -> None:
    def overwriting(cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, sh: int,
                    sw: int) -> np.ndarray:
        n, c, h, w = shape
        ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
        cols = cols.reshape(n, ho, wo, c, kh, kw)
        out = np.zeros(shape, cols.dtype)
        for i in range(kh):
            for j in range(kw):
                out[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] = cols[..., i, j].transpose(0, 3, 1, 2)
        return out
    assert "overwrite each other" in failure("check_col2im", overwriting)


# ---- max_pool2d ------------------------------------------------------------------------------
class SpreadPool(Function):
    """Max pooling forward, average pooling's backward (the gradient spread over the window)."""

    @staticmethod
    def forward(ctx, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                padding: tuple[int, int]) -> np.ndarray:
        (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
        xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
        ctx.params, ctx.shape = (kernel, stride, padding), x.shape
        return convolution.windows(xpad, kh, kw, sh, sw).max(axis=(-2, -1))

    @staticmethod
    def backward(ctx, g: np.ndarray) -> np.ndarray:
        (kh, kw), (sh, sw), (ph, pw) = ctx.params
        n, c, h, w = ctx.shape
        cols = np.repeat(g.transpose(0, 2, 3, 1).reshape(-1, c, 1) / (kh * kw), kh * kw, axis=2)
        padded = (n, c, h + 2 * ph, w + 2 * pw)
        gx = convolution.col2im(cols.reshape(len(cols), -1), padded, kh, kw, sh, sw)
        return gx[:, :, ph:ph + h, pw:pw + w]


def pool_args(kernel_size: Any, stride: Any, padding: Any) -> tuple[tuple[int, int], ...]:
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    return pair(kernel_size), pair(kernel_size if stride is None else stride), pair(padding)


def test_max_pool2d_spread_gradient_is_named() -> None:
    def spread(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
        kernel, stride, padding = pool_args(kernel_size, stride, padding)
        return SpreadPool.apply(input, kernel=kernel, stride=stride, padding=padding)
    assert "spread evenly over each window" in failure("check_max_pool2d", spread)


def test_max_pool2d_zero_padding_is_named() -> None:
    def zero_padded(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
        kernel, stride, (ph, pw) = pool_args(kernel_size, stride, padding)
        padded = Tensor(np.pad(input.data, ((0, 0), (0, 0), (ph, ph), (pw, pw))))
        return F.max_pool2d(padded, kernel, stride, 0)
    assert "filled with zeros" in failure("check_max_pool2d", zero_padded)


def test_max_pool2d_default_stride_one_is_named() -> None:
    def stride_one(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
        return F.max_pool2d(input, kernel_size, 1 if stride is None else stride, padding)
    assert "defaults to kernel_size" in failure("check_max_pool2d", stride_one)


# ---- conv_transpose2d ------------------------------------------------------------------------
def test_conv_transpose2d_output_size_without_output_padding_is_named() -> None:
    def no_output_padding(h: int, k: int, s: int, p: int, op: int) -> int:
        return (h - 1) * s - 2 * p + k
    message = failure("check_conv_transpose2d_output_size", no_output_padding)
    assert "output_padding is ignored" in message


def test_conv_transpose2d_wrong_output_size_is_named() -> None:
    def no_output_padding(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                          stride: Any = 1, padding: Any = 0, output_padding: Any = 0) -> Tensor:
        return F.conv_transpose2d(input, weight, bias, stride, padding, 0)
    message = failure("check_conv_transpose2d", no_output_padding)
    assert "wrong output shape" in message and "output_padding is ignored" in message


def test_conv_transpose2d_in_out_swapped_is_named() -> None:
    def swapped(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                padding: Any = 0, output_padding: Any = 0) -> Tensor:
        """Reads weight[c, o] as weight[o, c] (runs only where in and out channels agree)."""
        if weight.shape[0] == weight.shape[1]:
            weight = Tensor(weight.data.transpose(1, 0, 2, 3).copy(), requires_grad=True)
        return F.conv_transpose2d(input, weight, bias, stride, padding, output_padding)
    assert "in/out swapped" in failure("check_conv_transpose2d", swapped)


def test_conv_transpose2d_output_with_in_channels_is_named() -> None:
    def in_channels(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                    padding: Any = 0, output_padding: Any = 0) -> Tensor:
        c, _, kh, kw = weight.shape
        square = Tensor(np.resize(weight.data, (c, c, kh, kw)))
        return F.conv_transpose2d(input, square, None, stride, padding, output_padding)
    assert "in/out swapped" in failure("check_conv_transpose2d", in_channels)


# ---- cat and center_crop ---------------------------------------------------------------------
class FirstGradientCat(Function):
    """cat whose backward returns the first input's gradient only."""

    @staticmethod
    def forward(ctx, *arrays: np.ndarray, dim: int) -> np.ndarray:
        ctx.size, ctx.dim = arrays[0].shape[dim], dim
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g: np.ndarray) -> np.ndarray:
        return np.split(g, [ctx.size], axis=ctx.dim)[0]


def test_cat_missing_gradient_is_named() -> None:
    # The engine refuses a backward that returns fewer gradients than inputs; the check says why.
    message = failure("check_cat", lambda tensors, dim=0: FirstGradientCat.apply(*tensors, dim=dim))
    assert "backward returned 1 gradient for 2 tensor inputs" in message


def test_cat_reversed_order_is_named() -> None:
    message = failure("check_cat", lambda tensors, dim=0: F.cat(tensors[::-1], dim))
    assert "reverse order" in message


def test_center_crop_off_by_one_offset_is_named() -> None:
    def rounded_up(input: Tensor, size: Any) -> Tensor:
        h, w = (size, size) if isinstance(size, int) else size
        top, left = -(-(input.shape[-2] - h) // 2), -(-(input.shape[-1] - w) // 2)
        return input[..., top:top + h, left:left + w]
    message = failure("check_center_crop", rounded_up)
    assert "wrong place" in message and "off by one" in message


def test_a_naive_conv_that_cuts_the_window_width_with_kh_fails() -> None:
    """check_conv2d_naive has a case with kh != kw (a reference case with a 2x4 kernel), so a
    window cut kh wide, with the weight cut to match, fails on it; it passed without it."""
    from test_checks_catalogue import run

    def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
        n, c, h, w = x.shape
        o, _, kh, kw = weight.shape
        xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
        out = np.zeros((n, o, ho, wo))
        for b in range(n):
            for q in range(o):
                for i in range(ho):
                    for j in range(wo):
                        win = xpad[b, :, i * stride:i * stride + kh, j * stride:j * stride + kh]
                        out[b, q, i, j] = np.sum(win * weight[q, :, :, :kh])
                        out[b, q, i, j] += 0 if bias is None else bias[q]
        return out
    result = run("check_conv2d_naive", conv2d_naive=conv2d_naive)
    assert result.status == "failed", result.message
    assert "weight (3, 2, 2, 4)" in result.message, result.message
