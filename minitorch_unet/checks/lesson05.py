"""Checks of lesson 05 (transposed convolution): the output-size rule and conv_transpose2d.

Expected values are PyTorch's (``data/reference/conv_transpose2d.npz``: strides 1-3, paddings,
output_padding 0-2, pairs, no bias, the U-Net's 2x2 up-convolutions). Wrong sizes are matched
against classic wrong rules; wrong values against a weight read the wrong way round (in/out
swapped), a flipped kernel, a missing bias and output_padding put on the wrong side.
"""
from __future__ import annotations

import itertools
import re

from typing import Any, Callable

import numpy as np

from .. import convolution
from .. import functional as F
from ..autograd import Tensor
from ..reference import Case
from .core import (CheckFailed, Exercise, Outputs, number_exercises, own_cases, register,
                   traceback_frames)
from .lesson03 import (Pair, SizeRule, arg, batch_grad_mistakes, bias_fit, cases, check_returns_tensor,
                       col2im_by_windows, col2im_call_fit, col2im_overwriting, cols_transposed,
                       describe, diagnose_size, diagnose_values, layer_run, layer_sizes, pair,
                       probe_layer, verdict_gradients, weight_variants)
from .probing import conv_findings, run_probes, with_probes

LESSON = "05_transposed_convolution"
number_exercises(LESSON, ("conv_transpose2d_output_size", "conv_transpose2d_forward",
                          "conv_transpose2d", "conv_transpose2d_backward"))
RULE = "H_out = (H - 1) * stride - 2 * padding + kernel + output_padding"

# Wrong output-size rules: (what the answer did, the rule it followed), with op = output_padding.
SIZE_MISTAKES: tuple[tuple[str, SizeRule], ...] = (
    ("output_padding is ignored: it adds rows/columns at the bottom/right",
     lambda h, k, s, p, op: (h - 1) * s - 2 * p + k),
    ("output_padding is added on both sides: it adds output_padding rows/columns once, at "
     "the bottom/right", lambda h, k, s, p, op: (h - 1) * s - 2 * p + k + 2 * op),
    ("the padding is ignored: a transposed convolution's padding REMOVES 2*padding rows",
     lambda h, k, s, p, op: (h - 1) * s + k + op),
    ("the padding is added instead of removed: it is - 2 * padding",
     lambda h, k, s, p, op: (h - 1) * s + 2 * p + k + op),
    ("the padding is removed on one side only: it is - 2 * padding",
     lambda h, k, s, p, op: (h - 1) * s - p + k + op),
    ("off by one stride: H * stride instead of (H - 1) * stride (the last window starts at "
     "(H - 1) * stride)", lambda h, k, s, p, op: h * s - 2 * p + k + op),
    ("that is the convolution's rule (H + 2p - k) // s + 1; the transposed convolution inverts it",
     lambda h, k, s, p, op: (h + 2 * p - k) // s + 1 + op),
    ("no zeros are inserted between the input's pixels (the stride is ignored): as a "
     "convolution, the transposed one runs over the input with stride - 1 zeros between pixels",
     lambda h, k, s, p, op: (h - 1) - 2 * p + k + op),
    ("output_padding is multiplied by the stride: it adds output_padding rows/columns once",
     lambda h, k, s, p, op: (h - 1) * s - 2 * p + k + op * s),
    ("output_padding is subtracted: it ADDS output_padding rows/columns at the bottom/right",
     lambda h, k, s, p, op: (h - 1) * s - 2 * p + k - op),
    ("the zero-stuffed input is padded by `padding`; as a convolution, the transposed one pads "
     "it by kernel - 1 - padding", lambda h, k, s, p, op: (h - 1) * s + 2 * p - k + 2 + op),
    ("the zero-stuffing puts `stride` zeros between the input's pixels (a step of stride + 1); "
     "it takes stride - 1 zeros, a step of stride (up[:, :, ::sh, ::sw] = x)",
     lambda h, k, s, p, op: (h - 1) * (s + 1) - 2 * p + k + op),
)
# Output sizes that only an array built on the way gives (the layer's forward, not the formula).
ARRAY_SIZE_MISTAKES: tuple[tuple[str, SizeRule], ...] = (
    ("the zero-stuffed input is made H * stride long, with stride - 1 zeros after the last "
     "pixel too; it holds (H - 1) * stride + 1 entries, zeros only between the pixels",
     lambda h, k, s, p, op: h * s - 2 * p + k - 1 + op),
)

CONV_TRANSPOSE2D_ENGINE_OPS = ("minitorch_unet.functional.conv_transpose2d",
                               "minitorch_unet.convolution.ConvTranspose2d",
                               "minitorch_unet.fast_conv.ConvTranspose2dPixelShuffle",
                               "minitorch_unet.nn.ConvTranspose2d")


def transpose_params(case: Case) -> dict[str, Any]:
    p = case["params"]
    return {"stride": arg(p["stride"]), "padding": arg(p["padding"]),
            "output_padding": arg(p["output_padding"])}


def size_arguments(case: Case) -> list[tuple[int, int, int, int, int]]:
    """(H, k, s, p, op) for the height and for the width of a case."""
    p = case["params"]
    s, pad, op = pair(p["stride"]), pair(p["padding"]), pair(p["output_padding"])
    k, hw = case["weight"].shape[2:], case["input"].shape[2:]
    return [(hw[d], k[d], s[d], pad[d], op[d]) for d in (0, 1)]


@own_cases(stream=5)
def drawn_sizes(rng: np.random.Generator, fresh: bool) -> list[tuple[int, int, int, int, int]]:
    """When fresh, six (H, k, s, p, op) drawn for the run (p <= (k - 1) // 2, op < s)."""
    drawn = []
    for _ in range(6 if fresh else 0):
        k, s = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        drawn.append((int(rng.integers(1, 17)), k, s, int(rng.integers(0, (k - 1) // 2 + 1)),
                      int(rng.integers(0, s))))
    return drawn


def engine_size(h: int, k: int, s: int, p: int, op: int) -> int:
    """The output height of the engine's conv_transpose2d (checked against PyTorch's)."""
    out = F.conv_transpose2d(Tensor(np.zeros((1, 1, h, 1))), Tensor(np.zeros((1, 1, k, 1))),
                             stride=(s, 1), padding=(p, 0), output_padding=(op, 0))
    return int(out.shape[2])


# ---- the output-size rule ----------------------------------------------------------------------
def _size_arguments() -> list[tuple[int, int, int, int, int]]:
    return [args for case in cases("conv_transpose2d").values()
            for args in size_arguments(case)] + drawn_sizes()


def _probe_size(fn: Callable[..., int]) -> Outputs:
    return {"sizes": np.asarray([fn(*args) for args in _size_arguments()])}


def _verdict_size(outputs: Outputs) -> None:
    arguments = _size_arguments()
    expected = np.array([case["out"].shape[2 + d] for case in cases("conv_transpose2d").values()
                         for d in (0, 1)] + [engine_size(*args) for args in drawn_sizes()])
    got = outputs["sizes"]
    if got.shape != expected.shape or not np.issubdtype(got.dtype, np.integer):
        raise CheckFailed(f"conv_transpose2d_output_size must return one int per call, got {got.dtype} "
                          f"values of shape {got.shape}")
    if (got == expected).all():
        return
    first = int(np.argmax(got != expected))
    h, k, s, p, op = arguments[first]
    head = (f"conv_transpose2d_output_size(size={h}, kernel={k}, stride={s}, padding={p}, "
            f"output_padding={op}): expected {expected[first]}, got {got[first]}")
    for text, rule in SIZE_MISTAKES:
        if all(rule(*a) == g for a, g in zip(arguments, got)):
            raise CheckFailed(f"{head}: {text}. The rule is {RULE}")
    swapped = swapped_size_arguments(arguments, got)
    if swapped:
        raise CheckFailed(f"{head}: {swapped}. The rule is {RULE}")
    offsets = set((got - expected).tolist())
    if len(offsets) == 1:
        off = offsets.pop()
        raise CheckFailed(f"{head}: your sizes are all {abs(off)} {'larger' if off > 0 else 'smaller'} "
                          f"than the right ones: a {'+' if off < 0 else '-'} {abs(off)} is "
                          f"missing from your rule (or its opposite is extra). The rule is {RULE}")
    fitted = fitted_rule(arguments, got)
    if fitted:
        raise CheckFailed(f"{head}: your sizes follow {fitted}. The rule is {RULE}")
    raise CheckFailed(f"{head}. The rule is {RULE}")


def right_size(h: int, k: int, s: int, p: int, op: int) -> int:
    return (h - 1) * s - 2 * p + k + op


def swapped_size_arguments(arguments: list[tuple[int, int, int, int, int]], got: np.ndarray) -> str:
    """'the kernel and the stride are swapped in your rule' when the right rule with its
    arguments in another order gives every size returned; "" otherwise."""
    names = ("H", "kernel", "stride", "padding", "output_padding")
    for order in itertools.permutations(range(5)):
        if order == tuple(range(5)) or not all(
                right_size(*(args[k] for k in order)) == g for args, g in zip(arguments, got)):
            continue
        moved = [(names[slot], names[k]) for slot, k in enumerate(order) if slot != k]
        if len(moved) == 2:
            return (f"{moved[0][0]} and {moved[0][1]} are swapped in your rule: each stands where "
                    "the other belongs")
        return ("your rule takes its arguments in another order: "
                + ", ".join(f"{b} where {a} belongs" for a, b in moved))
    return ""


# Terms a size rule may be built from: (how it reads, its value for (H, k, s, p, op)).
SIZE_TERMS: tuple[tuple[str, Callable[..., int]], ...] = (
    ("H * stride", lambda h, k, s, p, op: h * s), ("H", lambda h, k, s, p, op: h),
    ("stride", lambda h, k, s, p, op: s), ("kernel", lambda h, k, s, p, op: k),
    ("padding", lambda h, k, s, p, op: p), ("output_padding", lambda h, k, s, p, op: op),
    ("output_padding * stride", lambda h, k, s, p, op: op * s),
    ("kernel * stride", lambda h, k, s, p, op: k * s), ("H * kernel", lambda h, k, s, p, op: h * k),
    ("padding * stride", lambda h, k, s, p, op: p * s), ("1", lambda h, k, s, p, op: 1))


def fitted_rule(arguments: list[tuple[int, int, int, int, int]], got: np.ndarray) -> str:
    """'H_out = H * stride + kernel - 1' when whole multiples of SIZE_TERMS give every size the
    answer returned; "" when no such rule fits them all."""
    terms = np.array([[term(*args) for _, term in SIZE_TERMS] for args in arguments], dtype=float)
    coefficients = np.round(np.linalg.lstsq(terms, got.astype(float), rcond=None)[0]).astype(int)
    if not np.array_equal(terms @ coefficients, got) or np.abs(coefficients).max() > 4:
        return ""
    text = ""
    for (name, _), c in zip(SIZE_TERMS, coefficients):
        if c:
            size = f"{abs(c)}" if name == "1" else name if abs(c) == 1 else f"{abs(c)} * {name}"
            text += (" - " if c < 0 else " + " if text else "") + size
    return f"H_out = {text or '0'}"


register(Exercise(
    grade_id="check_conv_transpose2d_output_size", lesson=LESSON,
    function="conv_transpose2d_output_size", probe=_probe_size, verdict=_verdict_size,
    success="conv_transpose2d_output_size gives PyTorch's sizes on every reference case."))


# ---- conv_transpose2d --------------------------------------------------------------------------
def conv_transpose2d_numpy(x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                           stride: tuple[int, int], padding: tuple[int, int],
                           output_padding: tuple[int, int],
                           extra_top_left: bool = False) -> np.ndarray:
    """col2im(x @ W) in float64, for diagnosis only; `extra_top_left` puts the output_padding
    rows/columns on the wrong side. x: (N, C, H, W), w: (C, O, kh, kw) -> (N, O, Ho, Wo)."""
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, wd = x.shape
    o, kh, kw = w.shape[1:]
    core = (n, o, (h - 1) * sh + kh, (wd - 1) * sw + kw)
    x, w = x.astype(np.float64), w.astype(np.float64)
    cols = x.transpose(0, 2, 3, 1).reshape(-1, c) @ w.reshape(c, -1)
    full = np.zeros(core[:2] + (core[2] + oph, core[3] + opw))
    top, left = (oph, opw) if extra_top_left else (0, 0)
    full[:, :, top:top + core[2], left:left + core[3]] = convolution.col2im(cols, core, kh, kw, sh, sw)
    out = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
    return out if b is None else out + b.astype(np.float64)[:, None, None]


def forward_mistakes(case: Case) -> list[tuple[str, np.ndarray]]:
    x, w, b = case["input"], case["weight"], case.get("bias")
    geo = tuple(pair(case["params"][k]) for k in ("stride", "padding", "output_padding"))
    out = []
    if w.shape[0] == w.shape[1]:
        out.append(("the weight is read the wrong way round (in/out swapped): conv_transpose2d's "
                    "weight is (in_channels, out_channels, kh, kw), the opposite of conv2d's; "
                    "multiply x (.., C) by weight.reshape(C, -1)",
                    conv_transpose2d_numpy(x, w.transpose(1, 0, 2, 3), b, *geo)))
    if w.shape[2] * w.shape[3] > 1:
        out.append(("the kernel is flipped the wrong way: scattering x[i, j] * weight[c, o, a, b] "
                    "to output (s*i + a, s*j + b) needs no flip, while a convolution of the "
                    "zero-stuffed input needs the kernel flipped, weight[:, :, ::-1, ::-1], "
                    "with in/out swapped", conv_transpose2d_numpy(x, w[:, :, ::-1, ::-1], b, *geo)))
    n, c, h, wd = x.shape
    out += [(text, conv_transpose2d_numpy(rows.reshape(n, h, wd, c).transpose(0, 3, 1, 2), w, b,
                                          *geo)) for text, rows in x_layouts(x)]
    if b is not None:
        out.append(("the bias is missing: add bias[o] to every pixel of output channel o",
                    conv_transpose2d_numpy(x, w, None, *geo)))
        out.append(("the bias is added twice", conv_transpose2d_numpy(x, w, 2 * b, *geo)))
    if any(geo[2]):
        out.append(("output_padding is on the wrong side: its extra rows/columns go at the "
                    "bottom/right", conv_transpose2d_numpy(x, w, b, *geo, extra_top_left=True)))
        (oph, opw) = geo[2]
        bare = np.pad(conv_transpose2d_numpy(x, w, None, *geo[:2], (0, 0)),
                      ((0, 0), (0, 0), (0, oph), (0, opw)))
        text = ("output_padding is added as rows/columns of zeros after the crop; it enlarges "
                "the full output before the crop, so the scattered values reach those rows too")
        out.append((text, bare if b is None else bare + b.astype(np.float64)[:, None, None]))
    if b is not None and w.shape[2] * w.shape[3] > 1:
        cover = conv_transpose2d_numpy(np.ones((1, 1) + x.shape[2:]), np.ones((1, 1) + w.shape[2:]),
                                       None, *geo)
        out.append(("the bias is added to every column before col2im, so each output pixel gets "
                    "it once per window that covers it; add it once, to the output",
                    conv_transpose2d_numpy(x, w, None, *geo)
                    + b.astype(np.float64)[:, None, None] * cover))
    (ph, pw) = geo[1]
    if ph or pw:
        full = conv_transpose2d_numpy(x, w, b, geo[0], (0, 0), geo[2])
        hf, wf = full.shape[2:]
        for side, kept in (("bottom/right", full[:, :, :hf - 2 * ph, :wf - 2 * pw]),
                           ("top/left", full[:, :, 2 * ph:, 2 * pw:])):
            out.append((f"all 2 * padding rows and columns are cut off the {side}; cut padding "
                        "off EACH side, out[:, :, p:H_full - p, p:W_full - p]", kept))
    out += [(text, conv_transpose2d_numpy(x, wrong, b, *geo)) for text, wrong in weight_variants(w, "C")]
    (sh, sw), (oph, opw) = geo[0], geo[2]
    if w.shape[2] > sh or w.shape[3] > sw:  # neighbouring copies overlap
        o, kh, kw = w.shape[1:]
        core = (n, o, (h - 1) * sh + kh, (wd - 1) * sw + kw)
        cols = x.astype(np.float64).transpose(0, 2, 3, 1).reshape(-1, c) @ \
            w.astype(np.float64).reshape(c, -1)
        for scatter in (col2im_by_windows, col2im_overwriting):
            full = np.zeros(core[:2] + (core[2] + oph, core[3] + opw))
            full[:, :, :core[2], :core[3]] = scatter(cols, core, kh, kw, sh, sw, **(
                {"assign": True} if scatter is col2im_by_windows else {}))
            kept = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
            out.append(("the kernel copies are written with = instead of added with +=: where "
                        "the copies of neighbouring input pixels overlap, the later one "
                        "overwrites the earlier; add every copy into the full output",
                        kept if b is None else kept + b.astype(np.float64)[:, None, None]))
    if geo[0] != (1, 1):
        out.append(("the stride is ignored where the kernel copies land: input pixel (i, j) "
                    "scatters to rows s*i .. s*i + kh - 1 and columns s*j .. s*j + kw - 1 of the "
                    "full output, not from (i, j)", unstrided_scatter(case)))
        for steps, text in (((sh, 1), "the stride is not applied to the columns where the kernel "
                                      "copies land: input pixel (i, j) scatters from column sw*j "
                                      "of the full output, not j"),
                            ((1, sw), "the stride is not applied to the rows where the kernel "
                                      "copies land: input pixel (i, j) scatters from row sh*i of "
                                      "the full output, not i")):
            if steps not in ((sh, sw), (1, 1)):
                out.append((text, unstrided_scatter(case, steps)))
    return out


def x_layouts(x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """x (N, C, H, W) laid out as the (N*H*W, C) rows in a wrong order, each with what it did."""
    n, c, h, wd = x.shape
    out = []
    if c > 1:
        out.append(("x was reshaped straight to (N*H*W, C), which mixes channels and pixels: "
                    "its channels are axis 1, so x.transpose(0, 2, 3, 1).reshape(-1, C) first",
                    x.reshape(n * h * wd, c)))
    for order in itertools.permutations(range(4)):
        if order in ((0, 2, 3, 1), (0, 1, 2, 3)) or x.shape[order[3]] != c:
            continue  # the right layout, the plain reshape (above), or not C columns
        out.append((f"x's rows were laid out with x.transpose{order}.reshape(-1, C), which puts "
                    "the pixels in another order: the rows run over (n, i, j), so "
                    "x.transpose(0, 2, 3, 1).reshape(-1, C)", x.transpose(order).reshape(-1, c)))
    return out


def unstrided_scatter(case: Case, steps: Pair = (1, 1)) -> np.ndarray:
    """The forward with every kernel copy placed at (i, j) instead of (s*i, s*j) on the
    full-size output (or at steps other than the stride), then cropped as usual."""
    x, w, b = (case[k].astype(np.float64) if k in case else None
               for k in ("input", "weight", "bias"))
    (sh, sw), (ph, pw), (oph, opw) = (pair(case["params"][k])
                                      for k in ("stride", "padding", "output_padding"))
    n, c, h, wd = x.shape
    o, kh, kw = w.shape[1:]
    full = np.zeros((n, o, (h - 1) * sh + kh + oph, (wd - 1) * sw + kw + opw))
    core = conv_transpose2d_numpy(x, w, None, steps, (0, 0), (0, 0))
    full[:, :, :core.shape[2], :core.shape[3]] = core
    out = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
    return out if b is None else out + b[:, None, None]


def grad_without_offset(case: Case) -> dict[str, np.ndarray]:
    """grad_input and grad_weight when grad_out is put back at the top-left of the uncropped
    output instead of `padding` rows/columns in."""
    x, w, g = (case[k].astype(np.float64) for k in ("input", "weight", "grad_out"))
    (sh, sw), (oph, opw) = (pair(case["params"][k]) for k in ("stride", "output_padding"))
    n, c, h, wd = x.shape
    kh, kw = w.shape[2:]
    full = np.zeros((n, w.shape[1], (h - 1) * sh + kh + oph, (wd - 1) * sw + kw + opw))
    full[:, :, :g.shape[2], :g.shape[3]] = g
    cols = convolution.im2col(full, kh, kw, sh, sw)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, c)
    return {"grad_input": (cols @ w.reshape(c, -1).T).reshape(n, h, wd, c).transpose(0, 3, 1, 2),
            "grad_weight": (rows.T @ cols).reshape(w.shape)}


def grad_columns(case: Case) -> np.ndarray:
    """im2col of grad_out put back on the full-size output: (N*H*W, O*kh*kw)."""
    g, w = case["grad_out"].astype(np.float64), case["weight"]
    (sh, sw), (ph, pw), (oph, opw) = (pair(case["params"][k]) for k in
                                      ("stride", "padding", "output_padding"))
    n, _, h, wd = case["input"].shape
    kh, kw = w.shape[2:]
    full = np.zeros((n, w.shape[1], (h - 1) * sh + kh + oph, (wd - 1) * sw + kw + opw))
    full[:, :, ph:ph + g.shape[2], pw:pw + g.shape[3]] = g
    return convolution.im2col(full, kh, kw, sh, sw)


def grad_input_with(case: Case, w: np.ndarray) -> np.ndarray:
    """The input's gradient computed with the weight `w` in place of the case's."""
    n, c, h, wd = case["input"].shape
    return (grad_columns(case) @ w.astype(np.float64).reshape(c, -1).T).reshape(n, h, wd, c) \
        .transpose(0, 3, 1, 2)


def grad_input_rows_reshaped_straight(case: Case) -> tuple[str, np.ndarray]:
    """The input's gradient whose (N*H*W, C) rows are reshaped straight to (N, C, H, W)."""
    n, c, h, wd = case["input"].shape
    rows = grad_columns(case) @ case["weight"].astype(np.float64).reshape(c, -1).T
    return (f"grad_x was reshaped straight to (N, C, H, W) from the ({n * h * wd}, {c}) product "
            "grad_cols @ weight.reshape(C, -1).T, whose rows run over (n, h, w): reshape it to "
            "(N, H, W, C), then .transpose(0, 3, 1, 2)", rows.reshape(n, c, h, wd))


def grad_weight_of_first_sample(case: Case) -> np.ndarray:
    """The weight's gradient from the batch's first sample alone."""
    x, w, g = (case[k].astype(np.float64) for k in ("input", "weight", "grad_out"))
    (sh, sw), (ph, pw), (oph, opw) = (pair(case["params"][k]) for k in
                                      ("stride", "padding", "output_padding"))
    _, c, h, wd = x.shape
    kh, kw = w.shape[2:]
    full = np.zeros((1, w.shape[1], (h - 1) * sh + kh + oph, (wd - 1) * sw + kw + opw))
    full[:, :, ph:ph + g.shape[2], pw:pw + g.shape[3]] = g[:1]
    cols = convolution.im2col(full, kh, kw, sh, sw)
    return (x[:1].transpose(0, 2, 3, 1).reshape(-1, c).T @ cols).reshape(w.shape)


def grad_mistakes(case: Case, field: str) -> list[tuple[str, np.ndarray]]:
    expected = case[field].astype(np.float64)
    out = batch_grad_mistakes(case, field) if field != "grad_input" else []
    if field == "grad_input":
        out += [(f"in the input's gradient, {text}", grad_input_with(case, wrong))
                for text, wrong in weight_variants(case["weight"], "C")]
        out.append(grad_input_rows_reshaped_straight(case))
    if field == "grad_weight":
        out.append(("grad_weight is flipped by 180 degrees", expected[:, :, ::-1, ::-1]))
        c = expected.shape[0]
        out.append(("grad_weight was reshaped from the (O*kh*kw, C) product grad_cols.T @ x2; "
                    "the weight's layout needs the (C, O*kh*kw) one, x2.T @ grad_cols",
                    expected.reshape(c, -1).T.reshape(expected.shape)))
        out += [(f"in the weight's gradient, {text}", (rows.T @ grad_columns(case)).reshape(
            expected.shape)) for text, rows in x_layouts(case["input"].astype(np.float64))]
        if case["input"].shape[0] > 1:
            out.append(("grad_weight is summed over the first sample only: the weight serves "
                        "every sample of the batch, so sum over all of them",
                        grad_weight_of_first_sample(case)))
    if field != "grad_bias" and any(pair(case["params"]["padding"])):
        out.append((f"{field} is computed with grad_out put back at the top-left corner: the "
                    "forward cut `padding` rows/columns from each side, so the backward must "
                    "offset grad_out by the padding, [padding:padding + H_out]",
                    grad_without_offset(case)[field]))
    return out


def channels_in_reshape(err: BaseException) -> str:
    """For 'cannot reshape array of size S into shape (...)' where the shape is a case's
    (N, H, W, O, kh, kw) columns with the input channels C in place of O (a full-size output
    built with C channels): that, in one clause; "" otherwise."""
    found = re.search(r"cannot reshape array of size (\d+) into shape \(([\d, ]*)\)", str(err))
    if not found:
        return ""
    size, target = int(found.group(1)), [int(v) for v in found.group(2).split(",") if v.strip()]
    for case in cases("conv_transpose2d").values():
        n, c, h, w = case["input"].shape
        o, kh, kw = case["weight"].shape[1:]
        if c != o and size == n * h * w * o * kh * kw and \
                sorted(target) == sorted((n, h, w, c, kh, kw)):
            return (f"the reshape asks for the input's {c} channels where the columns hold the "
                    f"output's {o}: an output-side shape (the full-size output passed to col2im?) "
                    "is built with C = x.shape[1]; use O = weight.shape[1]")
    return ""


def cropped_gradient(err: BaseException) -> str:
    """For an error in a backward whose frame holds the incoming `grad` (N, O, Ho, Wo) and an
    array that is `grad` cropped by the padding again (Ho - 2 ph, Wo - 2 pw): that array named,
    in one clause; "" otherwise."""
    for frame, _ in traceback_frames(err.__traceback__):
        names = frame.f_locals
        grad, ctx = names.get("grad"), names.get("ctx")
        padding = getattr(ctx, "padding", None)
        if isinstance(grad, np.ndarray) and grad.ndim == 4 and padding is not None:
            (ph, pw) = pair(padding)
            cut = grad.shape[:2] + (grad.shape[2] - 2 * ph, grad.shape[3] - 2 * pw)
            for name, value in names.items():
                if (ph or pw) and name != "grad" and isinstance(value, np.ndarray) and \
                        value.shape == cut and np.array_equal(
                            value, grad[:, :, ph:grad.shape[2] - ph, pw:grad.shape[3] - pw]):
                    return (f"`{name}` {tuple(value.shape)} is `grad` cropped by the padding "
                            f"again; the backward undoes the forward's crop, so put grad into "
                            f"zeros of the full size, at [{ph}:{ph} + Ho, {pw}:{pw} + Wo]")
    return ""


def _probe_conv_transpose2d(fn: Callable[..., Any], backward: bool = True) -> Outputs:
    outputs: Outputs = {}
    for name, case in cases("conv_transpose2d").items():
        p = transpose_params(case)
        outputs.update(probe_layer(fn, "conv_transpose2d", name, ("input", "weight", "bias"),
                                   (p["stride"], p["padding"], p["output_padding"]), backward))
    outputs.update(run_probes(layer_run(fn, (1, 0, 0)), in_axis=0, backward=backward))
    return outputs


def call(case: Case) -> str:
    """'conv_transpose2d(input (..), weight (..), bias (..), stride=2, padding=1, output_padding=1)'."""
    return describe("conv_transpose2d", case, ("input", "weight", "bias"), **transpose_params(case))


def _verdict_forward(outputs: Outputs) -> None:
    """The output's channels (in/out swapped?), its size (which rule?), then its values."""
    names = tuple(cases("conv_transpose2d"))
    check_returns_tensor("conv_transpose2d", names, outputs)
    items = []
    for name in names:
        case = cases("conv_transpose2d")[name]
        what, got = call(case), outputs[f"{name}/out"]
        c, o = case["weight"].shape[:2]
        if got.ndim == 4 and got.shape[1] == c != o:
            raise CheckFailed(f"{what}: the output has {c} channels, expected {o}: the weight is "
                              "read the wrong way round (in/out swapped). conv_transpose2d's weight "
                              "is (in_channels, out_channels, kh, kw), the opposite of conv2d's, "
                              "so out_channels = weight.shape[1]")
        items.append((what, got.shape, case["out"].shape, size_arguments(case)))
    diagnose_size("conv_transpose2d", items, SIZE_MISTAKES + ARRAY_SIZE_MISTAKES,
                  f"out: (N, weight.shape[1], H_out, W_out), {RULE}",
                  size_rule=lambda h, k, s, p, op: (h - 1) * s - 2 * p + k + op)
    for (what, *_), name in zip(items, names):
        case = cases("conv_transpose2d")[name]
        fitted = transpose_bias_fit(np.asarray(outputs[f"{name}/out"], dtype=np.float64), case)
        if fitted:
            raise CheckFailed(f"{what}: right shape but wrong values: {fitted}")
        diagnose_values(what, outputs[f"{name}/out"], case["out"], lambda: forward_mistakes(case),
                        layer_sizes(case))


def transpose_bias_fit(got: np.ndarray, case: Case) -> str:
    """bias_fit on a conv_transpose2d case: the output without bias, and the sizes a factor
    may be."""
    x, w = case["input"], case["weight"]
    geo = tuple(pair(case["params"][k]) for k in ("stride", "padding", "output_padding"))
    (sh, sw), kernel = geo[0], w.shape[2] * w.shape[3]
    sizes = {"sh*sw": sh * sw, "kh*kw": kernel, "C": w.shape[0], "N": x.shape[0]}
    return bias_fit(got, conv_transpose2d_numpy(x, w, None, *geo), case.get("bias"), sizes)


def _verdict_conv_transpose2d(outputs: Outputs) -> None:
    _verdict_forward(outputs)
    for name, case in cases("conv_transpose2d").items():
        verdict_gradients("conv_transpose2d", name, call(case), outputs,
                          ("input", "weight", "bias"), grad_mistakes)


register(Exercise(
    grade_id="check_conv_transpose2d_forward", lesson=LESSON, function="conv_transpose2d",
    probe=lambda fn: _probe_conv_transpose2d(fn, backward=False),
    verdict=with_probes(_verdict_forward, conv_findings(0)),
    success="conv_transpose2d's forward matches PyTorch on every reference case (the backward "
            "comes next).",
    engine_ops=CONV_TRANSPOSE2D_ENGINE_OPS,
    explain_error=lambda err: (channels_in_reshape(err) or cropped_gradient(err)
                               or cols_transposed(err) or col2im_call_fit(err))))

register(Exercise(
    grade_id="check_conv_transpose2d", lesson=LESSON, function="conv_transpose2d",
    probe=_probe_conv_transpose2d, verdict=with_probes(_verdict_conv_transpose2d, conv_findings(0)), points=3,
    success="conv_transpose2d matches PyTorch (output and the gradients of input, weight and "
            "bias) on every reference case.",
    engine_ops=CONV_TRANSPOSE2D_ENGINE_OPS,
    explain_error=lambda err: (channels_in_reshape(err) or cropped_gradient(err)
                               or cols_transposed(err) or col2im_call_fit(err))))
