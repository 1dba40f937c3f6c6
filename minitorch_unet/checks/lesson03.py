"""Checks of lesson 03 (convolution): the naive loops, im2col, col2im and the full conv2d.

Expected values are PyTorch's (``data/reference/conv2d.npz``). When an answer is wrong,
the verdict recomputes a few classic mistakes with NumPy (a flipped kernel, a missing bias,
an output-size formula without its ``+ 1``...) and names the one the answer matches.
"""
from __future__ import annotations

import itertools
import re
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from .. import backend, convolution
from ..autograd import Tensor
from ..reference import Case, load_cases
from .core import (CheckFailed, Exercise, Outputs, _is_int, _learner_frames, axis_order_note,
                   expect_close, expect_shape, number_exercises, off_by_note, register,
                   shape_message, traceback_frames, value_pattern)
from .probing import (Run, col2im_finding, col2im_index_probe, col2im_probe, col2im_row_finding,
                      conv_findings, im2col_index_finding, im2col_index_probe, run_probes,
                      with_probes)

LESSON = "03_convolution"
number_exercises(LESSON, ("conv2d_naive", "im2col", "col2im", "conv2d_forward", "conv2d",
                          "conv2d_backward", "winograd_tile"))
Pair = tuple[int, int]
SizeRule = Callable[..., int]  # (H, kernel, stride, padding[, output_padding]) -> size

# Integer or pair paddings: strides 1/2/3, paddings 0/1/2/pairs, odd sizes, batch 1, one
# channel, no bias, a 1x1 input and the U-Net's own layer shapes.
CONV2D_CASES = (
    "k3_s1_p0_n1_c1x1_7x7", "k3_s1_p1_n2_c3x5_9x11", "k3_s2_p1_n2_c2x4_9x10",
    "k3_s3_p2_n1_c2x3_11x8", "k2_s2_p0_n2_c3x2_8x7", "k3_s2_p0_n1_c2x3_10x10",
    "k3x5_s2x1_p1x2_n1_c2x3_8x9", "k2x3_s1x3_p0x1_n2_c3x2_9x7", "k1_s1_p0_n1_c4x3_6x5_nobias",
    "k3_s1_p1_n2_c3x5_9x11_nobias", "k5_s1_p2_n1_c2x2_5x5", "k1_s1_p0_n1_c1x3_1x1",
    "unet_in_k3_s1_p1_n1_c1x32_8x8", "unet_mid_k3_s1_p1_n1_c32x32_6x6",
    "unet_dec_k3_s1_p1_n1_c64x32_4x4", "unet_head_k1_s1_p0_n2_c32x1_6x6",
)
# The loops are slow: small cases with int stride and padding only.
NAIVE_CASES = ("k3_s1_p0_n1_c1x1_7x7", "k3_s2_p1_n2_c2x4_9x10", "k3_s3_p2_n1_c2x3_11x8",
               "k2_s2_p0_n2_c3x2_8x7", "k1_s1_p0_n1_c4x3_6x5_nobias", "k5_s1_p2_n1_c2x2_5x5",
               "k2x4_s2_p1_n1_c2x3_7x8")  # the last: kh != kw, so the two cannot be mixed up
COLUMN_CASES = ("k3_s1_p0_n1_c1x1_7x7", "k3_s1_p1_n2_c3x5_9x11", "k3_s2_p1_n2_c2x4_9x10",
                "k2_s2_p0_n2_c3x2_8x7", "k3x5_s2x1_p1x2_n1_c2x3_8x9",
                "k2x3_s1x3_p0x1_n2_c3x2_9x7", "k3_s3_p2_n1_c2x3_11x8")

CONV2D_ENGINE_OPS = ("minitorch_unet.functional.conv2d", "minitorch_unet.convolution.Conv2d",
                     "minitorch_unet.fast_conv.Conv2dShifted", "minitorch_unet.nn.Conv2d")


@lru_cache(maxsize=None)
def cases(op: str) -> dict[str, Case]:
    """The PyTorch reference cases of `op` (loaded once)."""
    return load_cases(op)


def pair(value: Any) -> Pair:
    """3 -> (3, 3); [2, 1] -> (2, 1)."""
    return (int(value), int(value)) if np.ndim(value) == 0 else (int(value[0]), int(value[1]))


def arg(value: Any) -> int | Pair:
    """A stored stride/padding as the learner's function receives it: an int or a tuple."""
    return int(value) if np.ndim(value) == 0 else pair(value)


def as_array(value: Any) -> np.ndarray:
    """A Tensor's data (or an array) as a NumPy array."""
    return backend.to_numpy(value.data) if isinstance(value, Tensor) else np.asarray(value)


def answer(value: Any, function: str) -> np.ndarray:
    """What the learner's `function` returned, as a NumPy array; CheckFailed if it is None."""
    if value is None:
        raise CheckFailed(f"{function} returned None: did you forget `return`?")
    return as_array(value)


def describe(op: str, case: Case, names: tuple[str, ...], **params: Any) -> str:
    """'conv2d(input (1, 2, 9, 9), weight (3, 2, 3, 3), bias (3,), stride=2, padding=1)'."""
    shapes = [f"{n} {tuple(case[n].shape)}" for n in names if n in case]
    shapes += [f"{k}={v}" for k, v in params.items()]
    return f"{op}({', '.join(shapes)})"


def conv_params(case: Case) -> dict[str, int | Pair]:
    return {"stride": arg(case["params"]["stride"]), "padding": arg(case["params"]["padding"])}


def conv_out_size(h: int, k: int, s: int, p: int) -> int:
    return (h + 2 * p - k) // s + 1


# Wrong output-size formulas: (what the answer did, the rule it followed).
CONV_SIZE_MISTAKES: tuple[tuple[str, SizeRule], ...] = (
    ("off by one: your sizes follow (H + 2*padding - k) // stride, the + 1 is missing "
     "(the first window counts too)", lambda h, k, s, p: (h + 2 * p - k) // s),
    ("off by one: your sizes follow (H + 2*padding - k) // stride + 2; there is exactly one + 1",
     lambda h, k, s, p: (h + 2 * p - k) // s + 2),
    ("the padding is not applied: your sizes follow (H - k) // stride + 1; pad the input by "
     "`padding` zeros on every side first", lambda h, k, s, p: (h - k) // s + 1),
    ("the padding is added on one side only: your sizes follow (H + padding - k) // stride + 1; "
     "pad both sides (H + 2*padding)", lambda h, k, s, p: (h + p - k) // s + 1),
    ("the stride is ignored: your sizes follow H + 2*padding - k + 1; take every stride-th "
     "window", lambda h, k, s, p: h + 2 * p - k + 1),
    ("the division rounds up: your sizes follow ceil((H + 2*padding - k) / stride) + 1; use "
     "floor division //", lambda h, k, s, p: -(-(h + 2 * p - k) // s) + 1),
    ("the stride is used as the window size: your sizes follow (H + 2*padding - stride) // "
     "stride + 1; windows are kernel_size wide, stride apart",
     lambda h, k, s, p: (h + 2 * p - s) // s + 1),
    ("the stride is applied twice (every stride-th window of windows already taken stride "
     "apart): your sizes follow ((H + 2*padding - k) // stride) // stride + 1; step by the "
     "stride once", lambda h, k, s, p: (h + 2 * p - k) // s // s + 1),
    ("your sizes follow H // k: the input is cut into non-overlapping k x k blocks (a reshape "
     "to (H // kh, kh, W // kw, kw)), which ignores the padding and the stride; take windows "
     "kernel_size wide, stride apart, of the padded input",
     lambda h, k, s, p: h // k),
)


Geometry = tuple[int, int, tuple[int, int, int, int], tuple[int, int, int, int]]


def reshape_size_slip(err: BaseException, geometries: list[Geometry],
                      mistakes: tuple[tuple[str, SizeRule], ...] = CONV_SIZE_MISTAKES) -> str:
    """For 'cannot reshape array of size S into shape (...)' on the cases (N, channels,
    (H, k, s, p), (W, k, s, p)) run in this order: the one slip of the size rule whose first
    case with other sizes than the right ones is a case that fails so (its output holds S
    values, the reshape asks for the slipped sizes); "" when none or several fit."""
    found = re.search(r"cannot reshape array of size (\d+) into shape \(([\d, ]*)\)", str(err))
    if not found:
        return ""
    size, target = int(found.group(1)), [int(v) for v in found.group(2).split(",") if v.strip()]
    fits = []
    for text, rule in mistakes:
        for n, channels, height, width in geometries:
            right, slipped = (conv_out_size(*height), conv_out_size(*width)), \
                (rule(*height), rule(*width))
            if slipped == right:
                continue  # this case runs through with that slip
            rest = list(target)
            for value in slipped:
                if value in rest:
                    rest.remove(value)
            if size == n * channels * right[0] * right[1] and len(target) == 4 and \
                    len(rest) == 2 and sorted(rest) == sorted((n, channels)):
                fits.append((text, slipped, right))
            break
    if len(fits) != 1:
        return ""
    text, slipped, right = fits[0]
    return (f"your reshape asks for {slipped[0]} x {slipped[1]} output pixels where the array "
            f"holds {right[0]} x {right[1]}: the output size is computed with a slip, {text}")


def col2im_count_slip(err: BaseException) -> str:
    """For 'cannot reshape array of size S into shape (...)' in the learner's col2im(cols,
    shape, kh, kw, sh, sw): the one slip of the window-count rule under which the reshape asks
    for the sizes it does while `cols` holds the right count; "" when none or several fit."""
    found = re.search(r"cannot reshape array of size (\d+) into shape \(([\d, ]*)\)", str(err))
    frames = [frame for frame, _ in _learner_frames(err.__traceback__)
              if frame.f_code.co_argcount == 6]
    if not found or not frames:
        return ""
    values = [frames[-1].f_locals.get(name) for name in frames[-1].f_code.co_varnames[:6]]
    shape, sizes = values[1], values[2:]
    if not (isinstance(shape, (tuple, list)) and len(shape) == 4 and all(_is_int(v) for v in shape)
            and all(_is_int(v) and v > 0 for v in sizes)):
        return ""
    (n, c, h, w), (kh, kw, sh, sw) = (int(v) for v in shape), (int(v) for v in sizes)
    size, target = int(found.group(1)), [int(v) for v in found.group(2).split(",") if v.strip()]
    right = ((h - kh) // sh + 1, (w - kw) // sw + 1)
    if size != n * c * kh * kw * right[0] * right[1] or len(target) != 6:
        return ""
    fits = []
    for text, rule in CONV_SIZE_MISTAKES:
        slipped = (rule(h, kh, sh, 0), rule(w, kw, sw, 0))
        rest = list(target)
        for value in slipped:
            if value in rest:
                rest.remove(value)
        if slipped != right and len(rest) == 4 and sorted(rest) == sorted((n, c, kh, kw)):
            fits.append((text, slipped))
    if len(fits) != 1:
        return ""
    text, slipped = fits[0]
    said = text.replace("H + 2*padding", "H")   # `shape` is the padded one already
    return (f"your reshape asks for {slipped[0]} x {slipped[1]} windows where cols holds "
            f"{right[0]} x {right[1]}: {said} (Ho = (H - kh) // sh + 1 with `shape`'s H)")


def col2im_call_fit(err: BaseException) -> str:
    """For an error inside the course's col2im(cols, shape, kh, kw, sh, sw): the one argument
    slip (the shape's height and width swapped, its channel count, kh and kw or sh and sw
    swapped) under which the columns fit the shape, in one clause; "" when none or several do."""
    frames = [f for f, _ in traceback_frames(err.__traceback__)]
    at = next((i for i, f in enumerate(frames) if f.f_code is convolution.col2im.__code__), None)
    if at is None:
        return ""
    frame, caller = frames[at], frames[at - 1] if at else None
    # a caller with its own kh, kw, sh, sw: a swap of those is named by argument_slips
    own = {k: caller.f_locals.get(k) for k in ("kh", "kw", "sh", "sw")} if caller else {}
    cols, shape = frame.f_locals.get("cols"), frame.f_locals.get("shape")
    kh, kw, sh, sw = (frame.f_locals.get(k) for k in ("kh", "kw", "sh", "sw"))
    if getattr(cols, "ndim", 0) != 2 or shape is None or len(shape) != 4:
        return ""
    n, c, h, w = (int(v) for v in shape)

    def fits(n: int, c: int, h: int, w: int, kh: int, kw: int, sh: int, sw: int) -> bool:
        if sh <= 0 or sw <= 0:
            return False
        ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
        return ho > 0 and wo > 0 and cols.shape == (n * ho * wo, c * kh * kw)

    given = {"kh": kh, "kw": kw, "sh": sh, "sw": sw}
    if fits(n, c, h, w, kh, kw, sh, sw) or \
            any(own.get(k) is not None and own[k] != v for k, v in given.items()):
        return ""  # nothing to fit, or the caller's own values differ: argument_slips says so
    channels = cols.shape[1] // (kh * kw) if cols.shape[1] % (kh * kw) == 0 else c
    slips = [(f"the shape passed to col2im, {tuple(shape)}, has its height and width swapped: "
              f"the columns fit {(n, c, w, h)}; the shape is (N, C, H, W)",
              fits(n, c, w, h, kh, kw, sh, sw) and h != w),
             (f"the shape passed to col2im, {tuple(shape)}, has {c} channels where the columns "
              f"hold {channels} per window (their {cols.shape[1]} = channels * kh * kw); pass "
              f"{(n, channels, h, w)}", channels != c and fits(n, channels, h, w, kh, kw, sh, sw)),
             (f"col2im gets kh={kh}, kw={kw} swapped: the columns fit kh={kw}, kw={kh}",
              kh != kw and own.get("kh") is None and
              fits(n, c, h, w, kw, kh, sh, sw)),
             (f"col2im gets sh={sh}, sw={sw} swapped: the columns fit sh={sw}, sw={sh}",
              sh != sw and own.get("sh") is None and
              fits(n, c, h, w, kh, kw, sw, sh))]
    found = [text for text, ok in slips if ok]
    return found[0] if len(found) == 1 else \
        one_size_off(cols, tuple(shape), kh, kw, sh, sw, caller)


def cols_transposed(err: BaseException) -> str:
    """'col2im gets cols of shape (9, 25), the transpose of the (25, 9) it takes ...' when a
    col2im on the traceback (the learner's or the course's) received its matrix transposed."""
    for frame, _ in traceback_frames(err.__traceback__):
        found = frame.f_locals
        cols, shape = found.get("cols"), found.get("shape")
        sizes = [found.get(k) for k in ("kh", "kw", "sh", "sw")]
        if frame.f_code.co_name == "col2im" and isinstance(cols, np.ndarray) and \
                cols.ndim == 2 and shape is not None and len(shape) == 4 and \
                all(isinstance(v, (int, np.integer)) and v > 0 for v in sizes):
            kh, kw, sh, sw = (int(v) for v in sizes)
            n, c, h, w = (int(v) for v in shape)
            rows = n * ((h - kh) // sh + 1) * ((w - kw) // sw + 1)
            if cols.shape == (c * kh * kw, rows) and rows != c * kh * kw:
                return (f"col2im gets cols of shape {cols.shape}, the transpose of the "
                        f"({rows}, {c * kh * kw}) it takes, one row per output pixel "
                        "(N*Ho*Wo, C*kh*kw): build it as grad_rows @ weight.reshape(O, -1), "
                        "or add the .T")
    return ""


def one_size_off(cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, sh: int,
                 sw: int, caller: Any) -> str:
    """'the shape passed to col2im has height 10, which makes 5 windows down, where the columns
    hold 4 (one row per pixel of the 4 x 5 of `x`) ...' when one 4-D array of the caller has
    as many pixels per sample as the columns have rows, and the shape's sizes give another
    count on an axis; "" otherwise."""
    n, c, h, w = (int(v) for v in shape)
    if c * kh * kw != cols.shape[1] or cols.shape[0] % n or sh <= 0 or sw <= 0 or caller is None:
        return ""
    per_sample = cols.shape[0] // n
    grids = {(name, value.shape[2], value.shape[3]) for name, value in caller.f_locals.items()
             if isinstance(value, np.ndarray) and value.ndim == 4 and value.shape[0] == n and
             value.shape[2] * value.shape[3] == per_sample}
    if len({g[1:] for g in grids}) != 1:
        return ""
    name, down, across = sorted(grids)[0]
    said = []
    for axis, size, k, s, need in (("height", h, kh, sh, down), ("width", w, kw, sw, across)):
        mine = (size - k) // s + 1
        if mine != need:
            said.append(f"{axis} {size} makes {mine} windows (({size} - {k}) // {s} + 1), where "
                        f"({need} - 1) * {s} + {k} = {(need - 1) * s + k} makes the {need} it needs")
    return (f"the shape passed to col2im does not fit the columns, one row per pixel of the "
            f"{down} x {across} of `{name}`: " + "; ".join(said)) if said else ""


def conv_geometries(names: tuple[str, ...]) -> list[Geometry]:
    """(N, O, (H, kh, sh, ph), (W, kw, sw, pw)) of each conv2d case."""
    out = []
    for name in names:
        case = cases("conv2d")[name]
        (sh, sw), (ph, pw) = pair(case["params"]["stride"]), pair(case["params"]["padding"])
        n, _, h, w = case["input"].shape
        o, _, kh, kw = case["weight"].shape
        out.append((n, o, (h, kh, sh, ph), (w, kw, sw, pw)))
    return out


def diagnose_size(op: str, items: list[tuple[str, tuple[int, ...], tuple[int, ...], list]],
                  mistakes: tuple[tuple[str, SizeRule], ...], formula: str,
                  size_rule: SizeRule = conv_out_size) -> None:
    """Raise CheckFailed if any output shape is wrong, naming a size rule that explains them all.

    items: (call description, got shape, expected shape, [height args, width args]), the
    args being what the rules of `mistakes` and the right `size_rule` take, e.g. (H, k, s, p).
    """
    bad = [item for item in items if tuple(item[1]) != tuple(item[2])]
    if not bad:
        return
    what, got, expected, _ = bad[0]
    head = (f"{what}: wrong output shape: expected {tuple(expected)}, got {tuple(got)}"
            f"{off_by_note(tuple(got), tuple(expected))}")
    if len(got) == 4 and got[2:] == expected[2:]:
        if got[0] != expected[0]:
            raise CheckFailed(f"{head}: the batch size changed; keep N = input.shape[0]")
        raise CheckFailed(f"{head}: wrong number of channels; {formula}")
    for text, rule in mistakes:
        if all(len(g) == 4 and tuple(g[2:]) == tuple(rule(*d) for d in dims) for _, g, _, dims in items):
            raise CheckFailed(f"{head}: {text}. The rule is {formula}")
    for d, name in ((0, "height"), (1, "width")):  # one dimension right, the other not
        if not all(len(g) == 4 and g[2 + 1 - d] == e[2 + 1 - d] for _, g, e, _ in items):
            continue
        for text, rule in mistakes:
            if all(g[2 + d] == rule(*dims[d]) for _, g, _, dims in items):
                raise CheckFailed(f"{head}: the {name}s are wrong, the other side right: in the "
                                  f"{name}, {text}. The rule is {formula}")
    for axis, other, name in ((2, 3, "height"), (3, 2, "width")):
        def mixed(e: tuple, dims: list) -> tuple:  # the other side's size, or its input size
            return e[axis], e[other], size_rule(dims[other - 2][0], *dims[axis - 2][1:])
        if sorted(got) != sorted(expected) and \
                all(len(g) == 4 and g[axis] in mixed(e, dims) for _, g, e, dims in bad) and \
                any(g[axis] != e[axis] for _, g, e, _ in bad):
            raise CheckFailed(f"{head}: your output {name} is the right "
                              f"{'width' if axis == 2 else 'height'} where they differ: height and "
                              "width are mixed up (H used for W, or a shape unpacked in the "
                              f"wrong order). The rule is {formula}")
    for index, name in ((1, "kernel sizes (kh, kw)"), (2, "strides (sh, sw)"), (3, "paddings")):
        def swapped(dims: list) -> list:  # the height's and the width's argument `index` swapped
            height, width = list(dims[0]), list(dims[1])
            height[index], width[index] = width[index], height[index]
            return [height, width]
        if any(dims[0][index] != dims[1][index] for _, g, e, dims in bad) and \
                all(len(g) == 4 and tuple(g[2:]) == tuple(size_rule(*d) for d in swapped(dims))
                    for _, g, _, dims in items):
            raise CheckFailed(f"{head}: your sizes follow the rule with the {name} of height and "
                              f"width swapped: the pair is (height, width). The rule is {formula}")
    for text, slip in geometry_slips(len(items[0][3][0])):
        if any(slip(dims) != [tuple(d) for d in dims] for _, g, e, dims in bad) and \
                all(len(g) == 4 and tuple(g[2:]) == tuple(size_rule(*d) for d in slip(dims))
                    for _, g, _, dims in items):
            raise CheckFailed(f"{head}: your sizes follow the rule with {text}. "
                              f"The rule is {formula}")
    raise CheckFailed(shape_message(what, got, expected, hint=f"The rule is {formula}"))


def sized_without_padding(items: list[tuple[str, tuple[int, ...], tuple[int, ...], list]],
                          got: list[np.ndarray], expected: list[np.ndarray]) -> str:
    """The message for output sizes that follow (H - k) // stride + 1 while the values are the
    right output's first rows and columns (the input was padded, only the size rule left the
    padding out); "" otherwise. items as diagnose_size's, got and expected their outputs."""
    bad = [i for i, (_, g, e, _) in enumerate(items) if tuple(g) != tuple(e)]
    if not bad or any(len(g) != 4 or tuple(g[2:]) != tuple((h - k) // s + 1 for h, k, s, _ in dims)
                      for _, g, _, dims in items):
        return ""
    for i in bad:
        ho, wo = got[i].shape[2:]
        if got[i].shape[:2] != expected[i].shape[:2] or ho > expected[i].shape[2] or \
                wo > expected[i].shape[3] or not np.allclose(
                    got[i], expected[i][:, :, :ho, :wo], rtol=1e-4, atol=1e-5):
            return ""
    what, g, e, _ = items[bad[0]]
    return (f"{what}: wrong output shape: expected {tuple(e)}, got {tuple(g)}"
            f"{off_by_note(tuple(g), tuple(e))}: your sizes follow (H - k) // stride + 1, the "
            "input's size without its padding, though your values are the right output's first "
            "rows and columns (the windows of the padded input are right): count the windows of "
            "the padded input, H_out = (H + 2*padding - kh) // stride + 1")


SIZE_ARGUMENTS = ("size", "kernel size", "stride", "padding", "output_padding")
Slip = Callable[[list], list]


def geometry_slips(count: int) -> list[tuple[str, Slip]]:
    """Arguments of the size rule mixed up, each with what was done: one side's value used for
    both sides, the kernel size and the stride swapped or the kernel used as the stride.
    A slip maps [height args, width args] (tuples of `count` ints, the size first) to new ones."""
    def both(index: int, side: int) -> Slip:
        return lambda dims: [tuple(dims[side][index] if i == index else v for i, v in enumerate(d))
                             for d in dims]

    def within(change: Callable[[list], None]) -> Slip:
        def slip(dims: list) -> list:
            out = []
            for d in dims:
                d = list(d)
                change(d)
                out.append(tuple(d))
            return out
        return slip

    out = []
    for index in range(1, count):
        name = SIZE_ARGUMENTS[index]
        out.append((f"the height's {name} used for the width too: the {name} pair is "
                    f"(height, width), the width takes its second entry", both(index, 0)))
        out.append((f"the width's {name} used for the height too: the {name} pair is "
                    f"(height, width), the height takes its first entry", both(index, 1)))
    out.append(("the kernel size and the stride swapped: windows are kernel_size wide and "
                "stride apart; pass each where the function expects it",
                within(lambda d: d.__setitem__(slice(1, 3), d[2:0:-1]))))
    out.append(("the kernel size used as the stride (the stride given is ignored): windows "
                "start `stride` apart", within(lambda d: d.__setitem__(2, d[1]))))
    if count == 4:  # (size, k, s, p): the padded size is size + 2p
        out.append(("the padding pair (ph, pw) given to np.pad as each axis's (before, after) "
                    "widths, ((ph, pw), (ph, pw)), so H and W each grow by ph + pw; give each "
                    "axis its own pair, ((ph, ph), (pw, pw))",
                    lambda dims: [(dims[0][0] + dims[1][3] - dims[0][3],) + tuple(dims[0][1:]),
                                  (dims[1][0] + dims[0][3] - dims[1][3],) + tuple(dims[1][1:])]))
    return out


def conv2d_numpy(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Pair,
                 padding: Pair) -> np.ndarray:
    """The engine's plain kernels in float64, for diagnosis only: -> (N, O, Ho, Wo)."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    (sh, sw), (ph, pw) = stride, padding
    o, _, kh, kw = w.shape
    xpad = convolution.pad2d(x, ph, pw)
    ho, wo = conv_out_size(x.shape[2], kh, sh, ph), conv_out_size(x.shape[3], kw, sw, pw)
    out = convolution.im2col(xpad, kh, kw, sh, sw) @ w.reshape(o, -1).T
    out = out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    return out if b is None else out + b.astype(np.float64)[:, None, None]


def window_products(case: Case) -> np.ndarray:
    """Each output's products x * w before the sum: (N, O, Ho, Wo, C*kh*kw)."""
    x, w = case["input"].astype(np.float64), case["weight"].astype(np.float64)
    (sh, sw), (ph, pw) = pair(case["params"]["stride"]), pair(case["params"]["padding"])
    n, o, ho, wo = case["out"].shape
    cols = convolution.im2col(np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))), *w.shape[2:], sh, sw)
    products = cols[:, None, :] * w.reshape(o, -1)[None]
    return products.reshape(n, ho, wo, o, -1).transpose(0, 3, 1, 2, 4)


def conv2d_mistakes(case: Case, matrix: bool = False) -> list[tuple[str, np.ndarray]]:
    """Outputs of classic wrong conv2d forwards on this case, each with what it did wrong;
    matrix: the answer computes a matrix product cols @ W, so its layout slips count too."""
    x, w, b = case["input"], case["weight"], case.get("bias")
    s, p = pair(case["params"]["stride"]), pair(case["params"]["padding"])
    flipped = w[:, :, ::-1, ::-1]
    out = []
    if w.shape[2] * w.shape[3] > 1:
        out.append(("the kernel is flipped: your output is a true convolution (kernel rotated by "
                    "180 degrees). PyTorch's conv2d is a cross-correlation, "
                    "out[n, o, i, j] = bias[o] + sum_{c,a,b} x[n, c, s*i + a, s*j + b] w[o, c, a, b], "
                    "with no flip", conv2d_numpy(x, flipped, b, s, p)))
    if s != (1, 1):
        unstrided = conv2d_numpy(x, w, b, (1, 1), p)[:, :, :case["out"].shape[2], :case["out"].shape[3]]
        out.append(("the windows start at (i, j) instead of (stride * i, stride * j): the output "
                    "size is right but the stride is not applied when slicing the windows",
                    unstrided))
        ho, wo = case["out"].shape[2:]
        if s[1] != 1:
            out.append(("the stride is not applied to the columns: window (i, j) starts at column "
                        "j instead of stride * j (its rows are strided)",
                        conv2d_numpy(x, w, b, (s[0], 1), p)[:, :, :ho, :wo]))
        if s[0] != 1:
            out.append(("the stride is not applied to the rows: window (i, j) starts at row i "
                        "instead of stride * i (its columns are strided)",
                        conv2d_numpy(x, w, b, (1, s[1]), p)[:, :, :ho, :wo]))
    if x.shape[1] < w.shape[0]:
        short = conv2d_numpy(x, w, b, s, p)
        short[:, x.shape[1]:] = 0
        out.append((f"only the first {x.shape[1]} output channels are computed, as many as the "
                    "INPUT channels: the loop over output channels runs over range(C); run it "
                    "over range(O), O = weight.shape[0]", short))
    if w.shape[0] > 1:
        every = conv2d_numpy(x, w.sum(axis=0, keepdims=True), None, s, p)
        out.append(("each output is the window times EVERY output channel's kernel, summed "
                    "(np.sum(window * weight) over the whole weight): output channel o uses "
                    "weight[o] only", every if b is None else every + b[:, None, None]))
    if b is not None:
        out.append(("the bias is missing: your output equals the convolution without it; add "
                    "bias[o] to every pixel of output channel o", conv2d_numpy(x, w, None, s, p)))
        out.append(("the bias is added twice", conv2d_numpy(x, w, 2 * b, s, p)))
        bare = conv2d_numpy(x, w, None, s, p)
        for axis, loop, index in ((0, "sample", "n"), (2, "row", "i"), (3, "column", "j")):
            size = case["out"].shape[axis]
            if 1 < size <= b.shape[0]:   # bias[n], bias[i] or bias[j] in a loop: no IndexError
                along = [1, 1, 1, 1]
                along[axis] = size
                out.append((f"the bias is indexed by the {loop} loop's variable, bias[{index}]; "
                            "bias[o] belongs to output channel o",
                            bare + b.astype(np.float64)[:size].reshape(along)))
        for axis in (0, 2, 3):  # where broadcasting lets a bias of O values land
            if case["out"].shape[axis] == b.shape[0]:
                along = [1, 1, 1, 1]
                along[axis] = b.shape[0]
                out.append((f"the bias is added along axis {axis} instead of axis 1: bias[o] "
                            "belongs to output channel o, i.e. bias[None, :, None, None]",
                            conv2d_numpy(x, w, None, s, p) + b.astype(np.float64).reshape(along)))
        if w.shape[2] * w.shape[3] > 1:
            out.append(("the kernel is flipped (a true convolution instead of PyTorch's "
                        "cross-correlation) and the bias is missing",
                        conv2d_numpy(x, flipped, None, s, p)))
    for how, fix, apply in (("the absolute value of each product (np.abs(window * weight))",
                             "sum the signed products", np.abs),
                            ("the square of each product", "sum the products themselves",
                             np.square)):
        bare = conv2d_numpy(apply(x), apply(w), None, s, p)
        out.append((f"each output sums {how}: {fix}, np.sum(window * weight[o])",
                    bare if b is None else bare + b.astype(np.float64)[:, None, None]))
    taps = w.shape[1] * w.shape[2] * w.shape[3]
    products = window_products(case)
    for order in itertools.permutations(range(3)):
        if order in ((0, 1, 2), (0, 2, 1)):  # (c, b, a) is the kernel transposed, named below
            continue
        read = w.transpose((0,) + tuple(a + 1 for a in order)).reshape(w.shape)
        if not np.array_equal(read, w) and not np.array_equal(read, w.transpose(0, 1, 3, 2)):
            axes = "".join("cab"[a] for a in order)
            out.append((f"the kernel is read in the axis order ({', '.join(axes)}) while the "
                        "window is read in (c, a, b) (c the channel, a the row, b the column): "
                        f"weight[o].transpose{order} flattened against window.ravel() pairs "
                        "entries of different places; flatten both in the same order",
                        conv2d_numpy(x, read, b, s, p)))
    for name, reduce in (("largest", np.max), ("smallest", np.min)):
        reduced = reduce(products, axis=-1)
        out.append((f"each output is the {name} of the window's products (np.{reduce.__name__}); a "
                    "convolution sums them, np.sum(window * weight[o])",
                    reduced if b is None else reduced + b.astype(np.float64)[:, None, None]))
    if b is not None:
        out.append(("the bias multiplies the output (out * bias[o]); it is added, out + bias[o]",
                    conv2d_numpy(x, w, None, s, p) * b.astype(np.float64)[:, None, None]))
    if taps > 1:
        mean = conv2d_numpy(x, w, None, s, p) / taps
        out.append(("each output is the mean of the window's products (np.mean); a convolution "
                    "sums them (np.sum over c, a, b)",
                    mean if b is None else mean + b.astype(np.float64)[:, None, None]))
    if x.shape[1] > 1:
        out.append(("only the first input channel is summed: a window spans all C input "
                    "channels, so sum x[n, c, ...] * weight[o, c, ...] over c too",
                    conv2d_numpy(x[:, :1], w[:, :1], b, s, p)))
        out.append(("only the last input channel counts: a loop over the input channels "
                    "assigns with = where += belongs, so each channel overwrites the one "
                    "before; add each channel's products, or sum over c at once",
                    conv2d_numpy(x[:, -1:], w[:, -1:], b, s, p)))
    if s != (1, 1) and w.shape[2] * w.shape[3] > 1:
        out.append(("the stride is applied inside the window (its taps are `stride` apart, a "
                    "dilation) instead of between windows: the window of output (i, j) is "
                    "x[.., s*i : s*i + kh, s*j : s*j + kw]", dilated_by_stride(case)))
    if p != (0, 0):
        for side, pads in (("bottom/right", ((0, 2 * p[0]), (0, 2 * p[1]))),
                           ("top/left", ((2 * p[0], 0), (2 * p[1], 0)))):
            shifted = np.pad(x, ((0, 0), (0, 0)) + pads)
            start = "+" if side == "bottom/right" else "-"
            out.append((f"every window sits `padding` rows and columns too far to the "
                        f"{side.replace('/', ' and ')} (what all the padding at the {side} "
                        f"gives, or windows starting at i*stride {start} padding in the input "
                        "padded on both sides): pad `padding` "
                        "zeros on EACH side, np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))), "
                        "and start window (i, j) at (i*stride, j*stride) of the padded input",
                        conv2d_numpy(shifted, w, b, s, (0, 0))))
    if p != (0, 0):
        for mode in ("edge", "reflect"):
            repeated = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), mode=mode)
            out.append((f"the padding repeats the input's border (np.pad with mode='{mode}'); "
                        "pad with zeros, np.pad's default mode='constant'",
                        conv2d_numpy(repeated, w, b, s, (0, 0))))
    plain = conv2d_numpy(x, w, b, s, p)
    out.append(("the weight matrix is weight.reshape(-1, O), which does not put (c, a, b) down "
                "its rows; use weight.reshape(O, -1).T",
                conv2d_numpy(x, w.reshape(-1, w.shape[0]).T.reshape(w.shape), b, s, p)))
    reshaped = ("the output (N*Ho*Wo, O) was reshaped straight to (N, O, Ho, Wo); its rows run "
                "over (n, i, j), so reshape to (N, Ho, Wo, O) first, then transpose(0, 3, 1, 2)")
    out.append((reshaped, plain.transpose(0, 2, 3, 1).reshape(plain.shape)))
    if b is not None:
        bare = conv2d_numpy(x, w, None, s, p)
        out.append((reshaped, bare.transpose(0, 2, 3, 1).reshape(bare.shape)
                    + b.astype(np.float64)[:, None, None]))
    if w.shape[0] == w.shape[1]:
        out.append(("the weight's first two axes are swapped: weight is (out_channels, "
                    "in_channels, kh, kw)", conv2d_numpy(x, w.transpose(1, 0, 2, 3), b, s, p)))
    out += [(text, conv2d_numpy(x, wrong, b, s, p)) for text, wrong in weight_variants(w, "O")]
    if w.shape[2] == w.shape[3] > 1:
        out.append(("the kernel is transposed (rows and columns swapped): weight[o, c, a, b] "
                    "multiplies x[.., s*i + a, s*j + b]",
                    conv2d_numpy(x, w.transpose(0, 1, 3, 2), b, s, p)))
    return out + (output_read_orders(conv2d_numpy(x, w, None, s, p), b) if matrix else [])


def output_read_orders(bare: np.ndarray, bias: np.ndarray | None) -> list[tuple[str, np.ndarray]]:
    """The output matrix (N*Ho*Wo, O) of cols @ W read with its axes (n, i, j, o) in every other
    order (then moved to (N, O, Ho, Wo)), the bias added after, each with the order it read."""
    n, o, ho, wo = bare.shape
    matrix = bare.transpose(0, 2, 3, 1)
    sizes, names, right = (n, ho, wo, o), ("n", "i", "j", "o"), (0, 1, 2, 3)
    out = []
    for order in itertools.permutations(range(4)):
        if order == right or any(sizes[k] == 1 and order.index(k) != k for k in range(4)):
            continue  # the right reading, or one that moves only an axis of size 1
        read = matrix.reshape([sizes[k] for k in order]).transpose(np.argsort(order))
        said = ", ".join(names[k] for k in order)
        out.append((f"you read the product's values as laid out ({said}); cols @ W holds them as "
                    "(n, i, j, o), one row per output pixel: reshape to (N, Ho, Wo, O), then "
                    "transpose(0, 3, 1, 2)",
                    read.transpose(0, 3, 1, 2) + (0 if bias is None else
                                                  bias.astype(np.float64)[:, None, None])))
    return out


def weight_variants(w: np.ndarray, first: str) -> list[tuple[str, np.ndarray]]:
    """Ways code may read a (A, B, kh, kw) weight wrongly, each with what it did: flips along
    either kernel axis, a transposed kernel, and matrices reshaped from the wrong layout.
    `first` names the weight's first axis ('O' for conv2d, 'C' for conv_transpose2d)."""
    a, b, kh, kw = w.shape
    out = []
    if kh > 1:
        out.append(("the kernel is flipped upside down (its rows reversed, [:, :, ::-1]): use "
                    "the weight as it is", w[:, :, ::-1]))
    if kw > 1:
        out.append(("the kernel is flipped left-right (its columns reversed, [:, :, :, ::-1]): "
                    "use the weight as it is", w[:, :, :, ::-1]))
    if kh * kw > 1:
        out.append(("the kernel is rotated by 180 degrees (flipped both ways, [:, :, ::-1, ::-1]): "
                    "use the weight as it is", w[:, :, ::-1, ::-1]))
    if kh == kw > 1:
        out.append(("the kernel is transposed (rows and columns swapped): use the weight as it is",
                    w.transpose(0, 1, 3, 2)))
    if a > 1 and b > 1:
        out.append((f"the weight matrix is built with weight.reshape(-1, {first}).T, which does "
                    "not keep each kernel in one row: reshape reads memory in order, use "
                    f"weight.reshape({first}, -1)", w.reshape(-1, a).T.reshape(w.shape)))
        if a != b:
            out.append((f"the weight matrix is built from weight.transpose(1, 0, 2, 3), whose "
                        f"memory order does not match the reshape: use weight.reshape({first}, -1) "
                        "directly", w.transpose(1, 0, 2, 3).reshape(w.shape)))
    return out + axis_orders(w, first)


def axis_orders(w: np.ndarray, first: str) -> list[tuple[str, np.ndarray]]:
    """The weight (A, B, kh, kw) as code reads it when it takes the axes in another order:
    reordered before a reshape (weight.transpose(order).reshape(...)), or its memory read as
    if laid out in that order (a reshape to the reordered shape, or indices in that order).
    Readings that leave the weight unchanged are left out."""
    names = (first, "C" if first == "O" else "O", "kh", "kw")
    out, seen = [], [w]
    for order in itertools.permutations(range(4)):
        if order == (0, 1, 2, 3):
            continue
        laid = ", ".join(names[k] for k in order)
        shape = tuple(w.shape[k] for k in order)
        for text, wrong in (
                (f"the weight's axes are reordered to ({laid}) (weight.transpose{order}) before "
                 "the reshape, so each row of the matrix holds the wrong entries: reshape the "
                 f"weight as it is, weight.reshape({first}, -1)",
                 w.transpose(order).reshape(w.shape)),
                (f"the weight is read as if it were laid out ({laid}), shape {shape}; it is "
                 f"({', '.join(names)}), shape {w.shape}: read it in that order, "
                 f"weight.reshape({first}, -1) or weight[{first.lower()}] for one kernel",
                 w.reshape(shape).transpose(np.argsort(order)))):
            if not any(np.array_equal(wrong, known) for known in seen):
                seen.append(wrong)
                out.append((text, wrong))
    return out


def dilated_by_stride(case: Case) -> np.ndarray:
    """conv2d whose window (i, j) starts at (i, j) with taps `stride` apart (a dilation)."""
    x, w, b = case["input"], case["weight"], case.get("bias")
    (sh, sw), (ph, pw) = pair(case["params"]["stride"]), pair(case["params"]["padding"])
    o, c, kh, kw = w.shape
    spread = np.zeros((o, c, (kh - 1) * sh + 1, (kw - 1) * sw + 1))
    spread[:, :, ::sh, ::sw] = w
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph + spread.shape[2]), (pw, pw + spread.shape[3])))
    ho, wo = case["out"].shape[2:]
    return conv2d_numpy(xpad, spread, b, (1, 1), (0, 0))[:, :, :ho, :wo]


def bias_repeats(got: np.ndarray, expected: np.ndarray, bias: np.ndarray | None) -> str:
    """A message if `got` is `expected` with bias[o] added a whole number of times that
    changes from pixel to pixel (`+= bias` inside the pixel loop); "" otherwise."""
    if bias is None or got.shape != expected.shape or got.ndim != 4:
        return ""
    b = np.broadcast_to(bias.astype(np.float64)[None, :, None, None], got.shape)
    strong = np.abs(b) > 1e-4
    if not strong.any():
        return ""
    times = np.round((got - expected)[strong] / b[strong]) + 1
    if not np.allclose(got[strong], expected[strong] + (times - 1) * b[strong], rtol=1e-4, atol=1e-5):
        return ""
    if np.ptp(times) == 0 and times[0] < 0:
        return (f"the bias is subtracted{'' if times[0] == -1 else f' {-int(times[0])} times'}: "
                "add bias[o] to every pixel of output channel o")
    if np.ptp(times) == 0 and times[0] > 2:
        return f"the bias is added {int(times[0])} times: add it once"
    if np.ptp(times) > 0 and (times >= 0).all():
        return (f"the bias is added a different number of times at different pixels (from "
                f"{int(times.min())} to {int(times.max())} times): "
                "`+= bias` sits inside the pixel loop; add bias[o] once, after the loops")
    return ""


def _factor_name(k: float, sizes: dict[str, int]) -> str:
    """' (1 / C*kh*kw)' when k or 1/k is one of `sizes` (name -> value), else ''."""
    for name, size in sizes.items():
        if size > 1 and np.isclose(k, 1 / size, rtol=1e-4):
            return f" (1 / {name} = 1 / {size})"
        if size > 1 and np.isclose(k, size, rtol=1e-4):
            return f" ({name} = {size})"
    return ""


def bias_fit(got: np.ndarray, bare: np.ndarray, bias: np.ndarray | None,
             sizes: dict[str, int]) -> str:
    """A message if `got` is k * bare + c[o], channel by channel (bare: the layer's output
    without bias, (N, O, H, W)), with one k for all channels and c other than bias[o]
    or k other than 1: what was scaled, or what was added instead of bias[o]; "" otherwise."""
    if got.shape != bare.shape or got.ndim != 4 or not np.isfinite(got).all():
        return ""
    b = np.zeros(bare.shape[1]) if bias is None else bias.astype(np.float64)
    ks, cs = [], []
    for o in range(bare.shape[1]):
        u, v = bare[:, o].ravel(), got[:, o].ravel().astype(np.float64)
        if u.size < 3 or np.ptp(u) < 1e-6:
            return ""
        k, c = np.polyfit(u, v, 1)
        if not np.allclose(k * u + c, v, rtol=1e-4, atol=1e-5):
            return ""
        ks.append(k)
        cs.append(c)
    k, c = float(np.mean(ks)), np.array(cs)
    if not np.allclose(ks, k, rtol=1e-4, atol=1e-6) or abs(k) < 1e-6:
        return ""
    tol = dict(rtol=1e-4, atol=1e-5)
    if np.isclose(k, 1, rtol=1e-4):
        if bias is None or np.allclose(c, b, **tol):
            return ""
        if len(b) > 1 and np.allclose(c, b.sum(), **tol):
            return ("every output channel gets the bias's total (bias.sum()): add bias[o] to "
                    "output channel o only, out + bias[None, :, None, None]")
        if len(b) > 1 and np.allclose(c, b.mean(), **tol):
            return ("every output channel gets the bias's mean: add bias[o] to output channel o "
                    "only, out + bias[None, :, None, None]")
        for i in range(len(b)) if len(b) > 1 else ():
            if np.allclose(c, b[i], **tol):
                return (f"every output channel gets bias[{i}]: add bias[o] to output channel o, "
                        "out + bias[None, :, None, None]")
        if len(b) > 1 and np.allclose(c, b[::-1], **tol):
            return ("the bias is added in reverse order (bias[::-1]): output channel o gets "
                    "bias[o]")
        return ""
    factor = _factor_name(k, sizes)
    if np.isclose(k, 1 / sizes.get("C*kh*kw", 0.5), rtol=1e-4) and np.allclose(c, b, **tol):
        return ""  # the mean of the products, bias unscaled: named among the modelled mistakes
    if np.allclose(c, b, **tol):
        return (f"the sum of products is multiplied by {k:.6g}{factor} before the bias is "
                "added: sum window * weight[o] unscaled, then add bias[o]")
    if np.allclose(c, k * b, **tol):
        return (f"the whole output, bias included, is multiplied by {k:.6g}{factor}: "
                "return the sum of products plus bias[o], unscaled")
    return ""


def conv_bias_fit(got: np.ndarray, case: Case) -> str:
    """bias_fit on a conv2d case: the bare convolution, and the sizes a factor may be."""
    x, w = case["input"], case["weight"]
    s, p = pair(case["params"]["stride"]), pair(case["params"]["padding"])
    sizes = {"C*kh*kw": w.shape[1] * w.shape[2] * w.shape[3], "kh*kw": w.shape[2] * w.shape[3],
             "C": w.shape[1], "N": x.shape[0]}
    return bias_fit(got, conv2d_numpy(x, w, None, s, p), case.get("bias"), sizes)

def pad_value_fit(got: np.ndarray, case: Case) -> str:
    """A message if `got` is conv2d with the padding filled with one value v other than 0
    (found by fitting v: the output is linear in it); "" otherwise."""
    x, w, b = case["input"], case["weight"], case.get("bias")
    s, p = pair(case["params"]["stride"]), pair(case["params"]["padding"])
    if p == (0, 0) or got.shape != case["out"].shape:
        return ""
    border = np.pad(np.zeros(x.shape), ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])),
                    constant_values=1.0)
    response = conv2d_numpy(border, w, None, s, (0, 0))
    zero = conv2d_numpy(x, w, b, s, p)
    if np.abs(response).max() < 1e-6:
        return ""
    v = float(np.sum(response * (got - zero)) / np.sum(response * response))
    if abs(v) < 1e-6 or not np.allclose(got, zero + v * response, rtol=1e-4, atol=1e-5):
        return ""
    return (f"the padding is filled with {v:.6g}, not zeros: pad with 0, "
            "np.pad(x, ..., constant_values=0) (np.pad's default)")

def plane_sources(got: np.ndarray, case: Case) -> str:
    """'output channel o of sample n is computed with kernel weight[n]' (or from sample x[o])
    when every wrong output plane is the convolution of one other sample or with one other
    kernel, picked by the other loop's index; "" otherwise."""
    x, w, b = case["input"], case["weight"], case.get("bias")
    if got.ndim != 4 or got.shape != case["out"].shape:
        return ""
    s, p = pair(case["params"]["stride"]), pair(case["params"]["padding"])
    n, o = got.shape[:2]
    bare = np.stack([conv2d_numpy(x, w[k:k + 1], None, s, p)[:, 0] for k in range(o)], axis=1)
    close = dict(rtol=1e-4, atol=1e-5)
    wrong = []
    for item, channel in np.ndindex(n, o):
        if np.allclose(got[item, channel], case["out"][item, channel], **close):
            continue
        fits = {(src, k) for src, k in np.ndindex(n, o) for j in {k, channel}
                if np.allclose(got[item, channel],
                               bare[src, k] + (0 if b is None else float(b[j])), **close)}
        if len(fits) != 1:
            return ""
        wrong.append(((item, channel), fits.pop()))
    if not wrong:
        return ""
    if all(k == item % o for (item, _), (_, k) in wrong) and \
            all(src == item for (item, _), (src, _) in wrong):
        return ("output channel o of sample n is computed with kernel weight[n] (the sample's "
                "index): pick the kernel by the output channel, weight[o]")
    if all(src == channel % n for (_, channel), (src, _) in wrong) and \
            all(k == channel for (_, channel), (_, k) in wrong):
        return ("output channel o of sample n is computed from sample x[o] (the channel's "
                "index): take the window from the loop's own sample, x[n]")
    return ""


Mistakes = Callable[[], list[tuple[str, np.ndarray]]]


def diagnose_values(what: str, got: np.ndarray, expected: np.ndarray, mistakes: Mistakes,
                    sizes: dict[str, int] | None = None) -> None:
    """expect_close, but first name a known mistake (from `mistakes()`) that `got` matches, or
    a factor that is one of the layer's `sizes` (name -> value) or its inverse."""
    close = dict(rtol=1e-4, atol=1e-5)
    if np.shape(got) == expected.shape and not np.allclose(got, expected, **close):
        for text, wrong in mistakes():
            if wrong.shape == expected.shape and np.allclose(got, wrong, **close):
                raise CheckFailed(f"{what}: right shape but wrong values: {text}")
        scaled = size_factor(np.asarray(got, dtype=np.float64), expected.astype(np.float64),
                             sizes or {})
        if scaled:
            raise CheckFailed(f"{what}: right shape but wrong values: {scaled}")
    expect_close(what, got, expected)


def size_factor(got: np.ndarray, expected: np.ndarray, sizes: dict[str, int]) -> str:
    """'your values are 0.04 times the right ones: divided by the number of output pixels
    Ho*Wo (25)...' when the factor is one of `sizes` or its inverse; "" otherwise."""
    norm = float(np.sum(expected * expected))
    if not norm:
        return ""
    factor = float(np.sum(got * expected)) / norm
    if not np.allclose(got, factor * expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max()):
        return ""
    times = [(name, size) for name, size in sizes.items()
             if size > 1 and np.isclose(factor, size, rtol=1e-4)]
    over = [(name, size) for name, size in sizes.items()
            if size > 1 and np.isclose(factor * size, 1, rtol=1e-4)]
    if bool(times) == bool(over):  # none, or a size and an inverse at once: no claim
        return ""
    named = " or ".join(name for name, _ in times or over) + f" ({(times or over)[0][1]}"
    named += ", alike in this case)" if len(times or over) > 1 else ")"
    if times:
        return (f"your values are {factor:.4g} times the right ones: multiplied by {named}; "
                "that factor does not belong")
    return (f"your values are {factor:.4g} times the right ones: divided by {named}, a mean "
            "where the sum belongs")


def layer_sizes(case: Case) -> dict[str, int]:
    """The sizes a factor of a layer's gradient or output may come from, by name."""
    n, c = case["input"].shape[:2]
    ho, wo = case["grad_out"].shape[2:] if "grad_out" in case else case["out"].shape[2:]
    kernel = case.get("params", {}).get("kernel_size", 1)  # a pooling layer's window
    kh, kw = case["weight"].shape[2:] if "weight" in case else pair(kernel)
    h, w = case["input"].shape[2:]
    o = case["out"].shape[1] if "out" in case else c
    return {"the batch size N": n, "the number of output pixels Ho*Wo": ho * wo,
            "N*Ho*Wo": n * ho * wo, "the kernel's size kh*kw": kh * kw,
            "the input channels C": c, "C*kh*kw": c * kh * kw, "the output channels O": o,
            "the number of input pixels H*W": h * w, "N*H*W": n * h * w}


# ---- conv2d_naive --------------------------------------------------------------------------
def _probe_naive(fn: Callable[..., Any]) -> Outputs:
    outputs = {}
    for name in NAIVE_CASES:
        case = cases("conv2d")[name]
        bias = case["bias"].copy() if "bias" in case else None
        out = fn(case["input"].copy(), case["weight"].copy(), bias, **conv_params(case))
        outputs[f"{name}/out"] = answer(out, "conv2d_naive")
    outputs.update(run_probes(lambda x, weight, _: {"out": fn(x, weight, None, 1, 0)}, in_axis=1))
    return outputs


def _forward_verdict(op: str, names: tuple[str, ...], outputs: Outputs) -> None:
    """Shapes (with size-rule diagnosis), then values (with mistake diagnosis), case by case."""
    items = []
    for name in names:
        case = cases("conv2d")[name]
        (sh, sw), (ph, pw) = pair(case["params"]["stride"]), pair(case["params"]["padding"])
        kh, kw = case["weight"].shape[2:]
        h, w = case["input"].shape[2:]
        items.append((describe(op, case, ("input", "weight", "bias"), **conv_params(case)),
                      outputs[f"{name}/out"].shape, case["out"].shape,
                      [(h, kh, sh, ph), (w, kw, sw, pw)]))
    for (what, got, expected, _), name in zip(items, names):
        given = cases("conv2d")[name]["input"].shape
        if got == given != expected:
            raise CheckFailed(f"{what}: wrong shape: expected {expected}, got {got}, the input's "
                              "own shape: the output array is made like x (np.zeros_like(x) or "
                              "x.shape); make it (N, O, Ho, Wo), O = weight.shape[0], with the "
                              "output-size rule for Ho and Wo")
    unpadded = sized_without_padding(items, [outputs[f"{name}/out"] for name in names],
                                     [cases("conv2d")[name]["out"] for name in names])
    if unpadded:
        raise CheckFailed(unpadded)
    diagnose_size(op, items, CONV_SIZE_MISTAKES,
                  "out: (N, out_channels, H_out, W_out), H_out = (H + 2*padding - kh) // stride + 1")
    for (what, *_), name in zip(items, names):
        case = cases("conv2d")[name]
        repeated = bias_repeats(outputs[f"{name}/out"], case["out"], case.get("bias")) or \
            plane_sources(np.asarray(outputs[f"{name}/out"], dtype=np.float64), case) or \
            conv_bias_fit(np.asarray(outputs[f"{name}/out"], dtype=np.float64), case) or \
            pad_value_fit(np.asarray(outputs[f"{name}/out"], dtype=np.float64), case)
        if repeated:
            raise CheckFailed(f"{what}: right shape but wrong values: {repeated}")
        diagnose_values(what, outputs[f"{name}/out"], case["out"],
                        lambda: conv2d_mistakes(case, matrix=op == "conv2d"), layer_sizes(case))


register(Exercise(
    grade_id="check_conv2d_naive", lesson=LESSON, function="conv2d_naive",
    probe=_probe_naive,
    verdict=with_probes(lambda outputs: _forward_verdict("conv2d_naive", NAIVE_CASES, outputs),
                        conv_findings(1)),
    success="conv2d_naive matches PyTorch's conv2d on 7 cases (strides 1-3, paddings 0-2, "
            "a non-square kernel).",
    engine_ops=CONV2D_ENGINE_OPS))


# ---- im2col ------------------------------------------------------------------------------
def _probe_im2col(fn: Callable[..., Any]) -> Outputs:
    outputs = {}
    for name in COLUMN_CASES:
        case = cases("conv2d")[name]
        (sh, sw), (ph, pw) = pair(case["params"]["stride"]), pair(case["params"]["padding"])
        kh, kw = case["weight"].shape[2:]
        xpad = np.pad(case["input"], ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        outputs[f"{name}/cols"] = answer(fn(xpad, kh, kw, sh, sw), "im2col")
    outputs.update(im2col_index_probe(fn))
    return outputs


# Wrong orders of the windows (N, C, Ho, Wo, kh, kw) before the reshape: (what, axis order).
IM2COL_ORDERS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("the windows (N, C, Ho, Wo, kh, kw) were reshaped without the transpose that puts the "
     "channel axis after (n, i, j): reshape reads memory in order, so transpose(0, 2, 3, 1, 4, 5) "
     "first", (0, 1, 2, 3, 4, 5)),
    ("your columns run over (a, b, c), the channel last; they must run over (c, a, b), the "
     "order of weight.reshape(O, -1): transpose(0, 2, 3, 1, 4, 5)", (0, 2, 3, 4, 5, 1)),
    ("your columns run over (c, b, a), the kernel's rows and columns swapped; they must run "
     "over (c, a, b): transpose(0, 2, 3, 1, 4, 5)", (0, 2, 3, 1, 5, 4)),
    ("your rows run over (n, j, i), the output's rows and columns swapped; they must run over "
     "(n, i, j): transpose(0, 2, 3, 1, 4, 5)", (0, 3, 2, 1, 4, 5)),
    ("your rows run over (i, j, n), the batch last; they must run over (n, i, j): "
     "transpose(0, 2, 3, 1, 4, 5)", (2, 3, 0, 1, 4, 5)),
)


def window_order(cols: np.ndarray, win: np.ndarray) -> str:
    """'your rows run over (...) and your columns over (...)' when im2col's matrix is the
    windows (N, C, Ho, Wo, kh, kw) with their axes in another order, reshaped to its shape;
    "" when no order gives it."""
    names = ("n", "c", "i", "j", "a", "b")
    right = (0, 2, 3, 1, 4, 5)
    for order in itertools.permutations(range(6)):
        if order == right or any(win.shape[k] == 1 and order.index(k) != right.index(k)
                                 for k in range(6)):
            continue  # the right order, or one that differs from it only by an axis of size 1
        sizes = [win.shape[k] for k in order]
        split = next((k for k in range(7) if int(np.prod(sizes[:k])) == cols.shape[0]), None)
        if split is None or not np.allclose(cols, win.transpose(order).reshape(cols.shape)):
            continue
        rows, columns = (", ".join(names[k] for k in part) for part in (order[:split], order[split:]))
        return (f"your rows run over ({rows}) and your columns over ({columns}), the windows "
                f"transposed {order}; they must run over (n, i, j) and (c, a, b): "
                "windows.transpose(0, 2, 3, 1, 4, 5).reshape(N*Ho*Wo, C*kh*kw)")
    return ""


def _verdict_im2col(outputs: Outputs) -> None:
    for name in COLUMN_CASES:
        case = cases("conv2d")[name]
        (sh, sw), (ph, pw) = pair(case["params"]["stride"]), pair(case["params"]["padding"])
        o, c, kh, kw = case["weight"].shape
        n, _, h, w = case["input"].shape
        ho, wo = conv_out_size(h, kh, sh, ph), conv_out_size(w, kw, sw, pw)
        what = f"im2col(x {(n, c, h + 2 * ph, w + 2 * pw)}, kh={kh}, kw={kw}, sh={sh}, sw={sw})"
        cols = outputs[f"{name}/cols"]
        expected_shape = (n * ho * wo, c * kh * kw)
        h1, w1 = conv_out_size(h, kh, 1, ph), conv_out_size(w, kw, 1, pw)
        if cols.shape == (n * h1 * w1, c * kh * kw) != expected_shape:
            raise CheckFailed(f"{what}: {cols.shape[0]} rows, expected {expected_shape[0]}: the "
                              "stride is ignored, your windows start at every pixel; the window "
                              "of output pixel (i, j) starts at (sh * i, sw * j)")
        xpad = np.pad(case["input"], ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        sliced = sliced_axes(cols, xpad, (kh, kw), (sh, sw)) if cols.shape != expected_shape else ""
        if sliced:
            raise CheckFailed(f"{what}: shape {cols.shape}, expected {expected_shape}: {sliced}")
        subsampled = convolution.im2col(xpad[:, :, ::sh, ::sw], kh, kw, 1, 1)
        if (sh, sw) != (1, 1) and cols.shape == subsampled.shape and np.allclose(cols, subsampled):
            raise CheckFailed(f"{what}: the input was subsampled (x[:, :, ::sh, ::sw]) before "
                              "taking windows: the stride spaces the windows' starting points, "
                              "each window still covers kh x kw neighbouring pixels")
        swapped_kernel = (n * conv_out_size(h, kw, sh, ph) * conv_out_size(w, kh, sw, pw), c * kh * kw)
        if kh != kw and cols.shape == swapped_kernel != expected_shape:
            raise CheckFailed(f"{what}: {cols.shape[0]} rows, expected {expected_shape[0]}: kh and kw "
                              "are swapped: windows are kh rows high and kw columns wide")
        for name, where, rows in (("sh", "down the rows", n * h1 * wo),
                                  ("sw", "along the columns", n * ho * w1)):
            if rows != expected_shape[0] and cols.shape == (rows, c * kh * kw) and \
                    cols.shape != (n * h1 * w1, c * kh * kw):
                raise CheckFailed(f"{what}: {cols.shape[0]} rows, expected {expected_shape[0]}: the "
                                  f"stride {name} is not applied ({where}): take every stride-th "
                                  "window in both directions, [:, :, ::sh, ::sw]")
        if n > 1 and cols.shape == (expected_shape[0] // n, expected_shape[1]):
            raise CheckFailed(f"{what}: {cols.shape[0]} rows, expected {expected_shape[0]}: the "
                              "rows of the first sample only; loop over (or reshape) the whole "
                              "batch, rows running over (n, i, j)")
        if c > 1 and cols.shape == (expected_shape[0] * c, kh * kw):
            raise CheckFailed(f"{what}: shape {cols.shape}, expected {expected_shape}: you made one "
                              "row per (pixel, channel); a row holds the whole (C, kh, kw) window "
                              "of one output pixel, all channels together")
        last_missing = convolution.windows(xpad, kh, kw, sh, sw)[:, :, :-1, :-1]
        if cols.shape == (n * (ho - 1) * (wo - 1), c * kh * kw) != expected_shape and np.allclose(
                cols, last_missing.transpose(0, 2, 3, 1, 4, 5).reshape(cols.shape)):
            raise CheckFailed(f"{what}: {cols.shape[0]} rows, expected {expected_shape[0]}: the "
                              "last window of each row and column is missing; there are "
                              f"Ho = (H - kh) // sh + 1 = {ho} window rows (range(Ho), not "
                              "range(Ho - 1))")
        swapped = (n * conv_out_size(h, kh, sw, ph) * conv_out_size(w, kw, sh, pw), c * kh * kw)
        if cols.shape == swapped != expected_shape:
            raise CheckFailed(f"{what}: {cols.shape[0]} rows, expected {expected_shape[0]}: "
                              "sh and sw are swapped: sh is the stride down the rows (height), "
                              "sw the stride along the columns (width)")
        slipped = im2col_shape_slip(cols.shape, (n, c, h + 2 * ph, w + 2 * pw), (kh, kw), (sh, sw))
        if slipped and cols.shape != expected_shape:
            raise CheckFailed(f"{what}: shape {cols.shape}, expected {expected_shape}: {slipped}")
        if cols.shape == expected_shape[::-1] and expected_shape[0] != expected_shape[1]:
            raise CheckFailed(f"{what}: shape {cols.shape} is transposed: one ROW per output pixel "
                              f"(N*Ho*Wo = {expected_shape[0]}), one column per (c, a, b) = "
                              f"{expected_shape[1]}")
        expect_shape(what, cols, expected_shape,
                     hint=f"one row per output pixel: Ho = (H - kh) // sh + 1 = {ho}, "
                          f"Wo = {wo}; one column per (channel, a, b)")
        # Through the reference weights, the columns must give PyTorch's convolution.
        out = cols.astype(np.float64) @ case["weight"].reshape(o, -1).T.astype(np.float64)
        out = out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)
        if "bias" in case:
            out = out + case["bias"][:, None, None]
        if not np.allclose(out, case["out"], rtol=1e-4, atol=1e-5):
            engine = convolution.im2col(np.pad(case["input"], ((0, 0), (0, 0), (ph, ph), (pw, pw))),
                                        kh, kw, sh, sw)
            win = convolution.windows(np.pad(case["input"], ((0, 0), (0, 0), (ph, ph), (pw, pw))),
                                      kh, kw, sh, sw)
            one_row = same_row_for_every_window(cols, engine)
            if one_row:
                raise CheckFailed(f"{what}: {one_row}")
            for text, order in IM2COL_ORDERS:
                if np.allclose(cols, win.transpose(order).reshape(expected_shape)):
                    raise CheckFailed(f"{what}: the right numbers in the wrong order: {text}")
            order = window_order(cols, win)
            if order:
                raise CheckFailed(f"{what}: the right numbers in the wrong order: {order}")
            if (sh, sw) != (sw, sh) and cols.shape == convolution.im2col(
                    xpad, kh, kw, sw, sh).shape and np.allclose(cols, convolution.im2col(
                    np.pad(case["input"], ((0, 0), (0, 0), (ph, ph), (pw, pw))), kh, kw, sw, sh)):
                raise CheckFailed(f"{what}: sh and sw are swapped: sh is the stride down the "
                                  "rows (height), sw the stride along the columns (width)")
            for flip, text in (((slice(None, None, -1), slice(None, None, -1)),
                                "rotated by 180 degrees ([::-1, ::-1])"),
                               ((slice(None, None, -1), slice(None)),
                                "flipped upside down ([::-1, :])"),
                               ((slice(None), slice(None, None, -1)),
                                "flipped left-right ([:, ::-1])")):
                flipped = win[(...,) + flip].transpose(0, 2, 3, 1, 4, 5).reshape(expected_shape)
                if kh * kw > 1 and np.allclose(cols, flipped) and not np.allclose(flipped, engine):
                    raise CheckFailed(f"{what}: each window is {text}: im2col copies the windows "
                                      "as they are (PyTorch's convolution flips nothing)")
            if np.allclose(np.sort(cols, axis=None), np.sort(engine, axis=None)):
                raise CheckFailed(
                    f"{what}: the right numbers in the wrong order: rows must run over (n, i, j) "
                    "and columns over (c, a, b), i.e. windows.transpose(0, 2, 3, 1, 4, 5)"
                    ".reshape(N*Ho*Wo, C*kh*kw)")
            found = im2col_index_finding(outputs, unfilled=not cols.any())
            if found:  # the arithmetic of the copies; unfilled parts only where nothing is filled
                raise CheckFailed(f"{what}: wrong columns: {found}")
            pattern = value_pattern(cols.astype(np.float64), engine.astype(np.float64))
            if pattern:
                raise CheckFailed(f"{what}: compared with the right columns, {pattern}")
            pattern = value_pattern(out, case["out"].astype(np.float64))
            found = im2col_index_finding(outputs)
            if found and not pattern:
                raise CheckFailed(f"{what}: wrong columns: {found}")
            raise CheckFailed(f"{what}: cols @ weight.reshape(O, -1).T does not give PyTorch's "
                              "conv2d: a row must hold the (C, kh, kw) window of one output pixel"
                              + (f"; in that convolution's output, {pattern}" if pattern else ""))


def same_row_for_every_window(cols: np.ndarray, engine: np.ndarray) -> str:
    """'every window is written into row k ...' when cols holds one non-zero row, the last
    window, where the right columns hold more; "" otherwise."""
    filled = np.flatnonzero(np.abs(cols).sum(axis=1))
    if len(filled) != 1 or np.count_nonzero(np.abs(engine).sum(axis=1)) < 2:
        return ""
    k = int(filled[0])
    if not np.allclose(cols[k], engine[-1]) or np.allclose(engine[k], engine[-1]):
        return ""
    return (f"every window is written into the same row {k}, so the last window overwrites the "
            f"others there and every other row stays 0: window (n, i, j) belongs in its own row, "
            f"n*Ho*Wo + i*Wo + j (a row counter stepped once per window)")


WINDOW_AXES = ("samples", "channels", "window rows", "window columns", "rows inside each window",
               "columns inside each window")


def sliced_axes(cols: np.ndarray, xpad: np.ndarray, kernel: Pair, stride: Pair) -> str:
    """'the stride slices went to axes a and b ...' when im2col's columns are, value for value,
    the windows (N, C, Ho, Wo, kh, kw) of xpad with [::sh] and [::sw] on two other axes than
    the window positions; "" otherwise."""
    (kh, kw), (sh, sw) = kernel, stride
    win = np.lib.stride_tricks.sliding_window_view(xpad, (kh, kw), axis=(2, 3))
    for a, b in itertools.permutations(range(6), 2):
        index = [slice(None)] * 6
        index[a], index[b] = slice(None, None, sh), slice(None, None, sw)
        if {a, b} == {2, 3} or min(sh, sw, win.shape[a], win.shape[b]) < 2:
            continue  # the right slices, the strides swapped, or a slice that changes nothing
        part = win[tuple(index)]
        n, c, ho, wo, kh_, kw_ = part.shape
        if part.shape != win[:, :, ::sh, ::sw].shape and \
                cols.shape == (n * ho * wo, c * kh_ * kw_) and \
                np.allclose(cols, part.transpose(0, 2, 3, 1, 4, 5).reshape(cols.shape)):
            return (f"the stride slices went to axes {a} and {b} of the windows (N, C, Ho, Wo, "
                    f"kh, kw), the {WINDOW_AXES[a]} and the {WINDOW_AXES[b]}, instead of the "
                    "window positions (axes 2 and 3): take windows[:, :, ::sh, ::sw], each "
                    "sample, channel and window whole")
    return ""


def im2col_shape_slip(got: tuple[int, ...], padded: tuple[int, int, int, int], kernel: Pair,
                      stride: Pair) -> str:
    """What makes im2col's columns of shape `got`, when one slip does: the input padded again,
    the stride applied to the window axes, a size rule with its arguments mixed up."""
    n, c, h, w = padded
    (kh, kw), (sh, sw) = kernel, stride
    cols = c * kh * kw
    ho, wo = conv_out_size(h, kh, sh, 0), conv_out_size(w, kw, sw, 0)
    if got == (n * conv_out_size(h, kh, 1, 0) * conv_out_size(w, kw, 1, 0),
               c * -(-kh // sh) * -(-kw // sw)) and (sh, sw) != (1, 1):
        return ("the stride slice [::sh, ::sw] went to the window axes (4 and 5) instead of the "
                "window positions (2 and 3): take windows[:, :, ::sh, ::sw], each window whole")
    for q in range(1, max(kh, kw) + 1):
        if got == (n * conv_out_size(h, kh, sh, q) * conv_out_size(w, kw, sw, q), cols):
            return (f"you pad x again (by {q}) inside im2col; it receives x already padded, so "
                    "take the windows of x as it is")
    if n > 1 and got == (ho * wo, n * cols):
        return ("the samples sit side by side in each row (the batch folded into the columns, "
                f"(Ho*Wo, N*C*kh*kw) = {got}): one row per output pixel (n, i, j) of each "
                "sample, so the batch goes with the rows, (N*Ho*Wo, C*kh*kw)")
    for text, rule in CONV_SIZE_MISTAKES:
        if got == (n * rule(h, kh, sh, 0) * rule(w, kw, sw, 0), cols) and \
                (rule(h, kh, sh, 0), rule(w, kw, sw, 0)) != (ho, wo):
            return f"your window counts are wrong: {text}"
    dims = [(h, kh, sh, 0), (w, kw, sw, 0)]
    slips = [(f"your window counts follow the size rule with {text}", slip)
             for text, slip in geometry_slips(4)]
    slips += [("your window rows are counted from the width W (height and width mixed up)",
               lambda d: [(d[1][0],) + d[0][1:], d[1]]),
              ("your window columns are counted from the height H (height and width mixed up)",
               lambda d: [d[0], (d[0][0],) + d[1][1:]])]
    for text, slip in slips:
        moved = slip(dims)
        rows = n * conv_out_size(*moved[0]) * conv_out_size(*moved[1])
        if moved != dims and got in ((rows, cols), (rows, c * moved[0][1] * moved[1][1])):
            return text
    return ""


register(Exercise(
    grade_id="check_im2col", lesson=LESSON, function="im2col",
    probe=_probe_im2col, verdict=_verdict_im2col,
    success="im2col's columns times the weight give PyTorch's conv2d on 7 cases.",
    engine_ops=("minitorch_unet.convolution.im2col", "minitorch_unet.convolution.windows")))


# ---- col2im ------------------------------------------------------------------------------
def _probe_col2im(fn: Callable[..., Any]) -> Outputs:
    outputs = {}
    for name in COLUMN_CASES:
        case = cases("conv2d")[name]
        (sh, sw), (ph, pw) = pair(case["params"]["stride"]), pair(case["params"]["padding"])
        o, c, kh, kw = case["weight"].shape
        n, _, h, w = case["input"].shape
        gcols = case["grad_out"].transpose(0, 2, 3, 1).reshape(-1, o) @ case["weight"].reshape(o, -1)
        outputs[f"{name}/image"] = answer(fn(gcols, (n, c, h + 2 * ph, w + 2 * pw), kh, kw, sh, sw),
                                          "col2im")
    outputs.update(col2im_probe(fn))
    outputs.update(col2im_index_probe(fn))
    return outputs


def col2im_overwriting(cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, sh: int,
                       sw: int) -> np.ndarray:
    """col2im with `=` instead of `+=`: overlapping windows overwrite (a classic mistake)."""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] = cols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return out


def col2im_combined(cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, sh: int,
                    sw: int, combine: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """col2im whose windows are joined by `combine` (np.maximum, ...) with the zeros it starts
    from, instead of added."""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape)
    for i in range(ho):
        for j in range(wo):
            where = (slice(None), slice(None), slice(sh * i, sh * i + kh),
                     slice(sw * j, sw * j + kw))
            out[where] = combine(out[where], cols[:, i, j])
    return out


def col2im_by_windows(cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, sh: int,
                      sw: int, assign: bool = False, stride: bool = True) -> np.ndarray:
    """col2im window by window: `assign` writes each window with = instead of +=; with
    `stride` False window (i, j) lands at (i, j) instead of (sh * i, sw * j)."""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape)
    for i in range(ho):
        for j in range(wo):
            top, left = (sh * i, sw * j) if stride else (i, j)
            if assign:
                out[:, :, top:top + kh, left:left + kw] = cols[:, i, j]
            else:
                out[:, :, top:top + kh, left:left + kw] += cols[:, i, j]
    return out


def col2im_by_offsets(cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, sh: int,
                      sw: int, rows: int, columns: int,
                      steps: tuple[int, int] | None = None) -> np.ndarray:
    """col2im over the kernel offsets a < rows, b < columns only (a loop that stops short);
    `steps` replaces the strides of the slices (not of the window count)."""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    th, tw = steps or (sh, sw)
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape)
    for a in range(rows):
        for b in range(columns):
            out[:, :, a:a + th * ho:th, b:b + tw * wo:tw] += \
                cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return out


def col2im_counted(cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, sh: int,
                   sw: int, ho: int, wo: int) -> np.ndarray:
    """col2im over ho x wo windows per sample, the rows of cols read one after another."""
    n, c = shape[:2]
    out, r = np.zeros(shape), 0
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                out[b, :, sh * i:sh * i + kh, sw * j:sw * j + kw] += cols[r].reshape(c, kh, kw)
                r += 1
    return out


def window_count_slips(cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, sh: int,
                       sw: int) -> list[tuple[str, np.ndarray]]:
    """col2im counting the windows without the + 1 of the output-size rule, on either axis."""
    h, w = shape[2:]
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = []
    for rows, columns in ((ho - 1, wo - 1), (ho - 1, wo), (ho, wo - 1)):
        if rows < 1 or columns < 1:
            continue
        axes = " and ".join(k for k, short in (("(H - kh) // sh", rows < ho),
                                              ("(W - kw) // sw", columns < wo)) if short)
        out.append((f"the windows were counted as {rows} x {columns}, not {ho} x {wo}: {axes} "
                    "without the + 1 (a window fits at offset 0 too), so the last windows are "
                    "never added back and the rows are read out of step; count "
                    "(H - kh) // sh + 1 down and (W - kw) // sw + 1 across",
                    col2im_counted(cols, shape, kh, kw, sh, sw, rows, columns)))
    down = {"(H - kh) // sw + 1, with the width's stride": (h - kh) // sw + 1,
            "(H - kw) // sh + 1, with the width's kernel size": (h - kw) // sh + 1,
            "(W - kh) // sh + 1, from the width": (w - kh) // sh + 1}
    across = {"(W - kw) // sh + 1, with the height's stride": (w - kw) // sh + 1,
              "(W - kh) // sw + 1, with the height's kernel size": (w - kh) // sw + 1,
              "(H - kw) // sw + 1, from the height": (h - kw) // sw + 1}
    for (rule, rows), columns, axis, right in (
            *(((r, v), wo, "down", "(H - kh) // sh + 1") for r, v in down.items()),
            *(((r, v), ho, "across", "(W - kw) // sw + 1") for r, v in across.items())):
        if axis == "across":
            rows, columns = ho, rows
        if 0 < rows <= ho and 0 < columns <= wo and (rows, columns) != (ho, wo):
            out.append((f"the windows {axis} were counted as {rule} = "
                        f"{rows if axis == 'down' else columns}, not {right} = "
                        f"{ho if axis == 'down' else wo}: count each axis with its own size, kernel "
                        "and stride", col2im_counted(cols, shape, kh, kw, sh, sw, rows, columns)))
    return out


def col2im_mistakes(cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, sh: int,
                    sw: int) -> list[tuple[str, np.ndarray]]:
    """Classic wrong col2im results (padded, as col2im returns them)."""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    unordered = cols.reshape(n, c, ho, wo, kh, kw).transpose(0, 2, 3, 1, 4, 5).reshape(cols.shape)
    out = [(OVERWRITE, col2im_overwriting(cols, shape, kh, kw, sh, sw)),
           (OVERWRITE, col2im_by_windows(cols, shape, kh, kw, sh, sw, assign=True)),
           ("the rows were reshaped to (N, C, Ho, Wo, kh, kw) without the transpose: a row is "
            "one output pixel (n, i, j) and its columns run over (c, a, b), so reshape to "
            "(N, Ho, Wo, C, kh, kw) and move C next to N",
            convolution.col2im(unordered, shape, kh, kw, sh, sw))]
    for combine, text in ((np.maximum, "the largest (np.maximum)"),
                          (np.minimum, "the smallest (np.minimum)")):
        out.append((f"where windows overlap you keep {text} of their values; col2im SUMS them "
                    "(+=): a pixel in two windows gets both gradients",
                    col2im_combined(cols, shape, kh, kw, sh, sw, combine)))
    count = convolution.col2im(np.ones_like(cols), shape, kh, kw, sh, sw)
    out.append(("where windows overlap you average their values (divided by the count); col2im "
                "SUMS them: a pixel in two windows gets both gradients",
                convolution.col2im(cols, shape, kh, kw, sh, sw) / np.maximum(count, 1)))
    if c > 1:
        last = cols.reshape(n, ho, wo, kh, kw, c).transpose(0, 1, 2, 5, 3, 4).reshape(cols.shape)
        out.append(("the columns were read as (a, b, c), the channel last; they run over (c, a, b), "
                    "the order of weight.reshape(O, -1): reshape to (N, Ho, Wo, C, kh, kw)",
                    convolution.col2im(last, shape, kh, kw, sh, sw)))
    if kh == kw > 1:
        swapped = cols.reshape(n, ho, wo, c, kh, kw).transpose(0, 1, 2, 3, 5, 4).reshape(cols.shape)
        out.append(("the kernel offsets are swapped: column (c, a, b) of a row goes to offset "
                    "(a, b) of its window, you read it as (c, b, a)",
                    convolution.col2im(swapped, shape, kh, kw, sh, sw)))
    if kh != kw:
        for rows, columns, text in (
                (kh, min(kh, kw), "the loop over the column offsets b runs over range(kh); it "
                 "runs over range(kw), the kernel's width"),
                (min(kh, kw), kw, "the loop over the row offsets a runs over range(kw); it runs "
                 "over range(kh), the kernel's height")):
            if (rows, columns) != (kh, kw):
                out.append((text, col2im_by_offsets(cols, shape, kh, kw, sh, sw, rows, columns)))
    for rows, columns in ((kh - 1, kw), (kh, kw - 1)):
        if rows and columns:
            out.append(("the loop over the kernel offsets stops one short: offset (a, b) runs "
                        "over range(kh) and range(kw), every row and column of the kernel",
                        col2im_by_offsets(cols, shape, kh, kw, sh, sw, rows, columns)))
    for steps, text in (((sh, sh), "the column offsets step by sh, the height's stride; "
                                   "columns step by sw"),
                        ((sw, sw), "the row offsets step by sw, the width's stride; rows step "
                                   "by sh"),
                        ((sw, sh), "the strides are swapped: rows step by sh, columns by sw")):
        if steps != (sh, sw):
            try:
                out.append((text, col2im_by_offsets(cols, shape, kh, kw, sh, sw, kh, kw, steps)))
            except ValueError:  # the slices do not fit: that mistake fails in the answer instead
                pass
    if (sh, sw) != (1, 1):
        out.append(("the stride is ignored: the window of output pixel (i, j) goes back to "
                    "(sh * i, sw * j), not (i, j)",
                    col2im_by_windows(cols, shape, kh, kw, sh, sw, stride=False)))
    for steps, text in (((sh, 1), "the stride is not applied to the columns: the window of "
                                  "output pixel (i, j) goes back to column sw * j, not j"),
                        ((1, sw), "the stride is not applied to the rows: the window of output "
                                  "pixel (i, j) goes back to row sh * i, not i")):
        if steps not in ((sh, sw), (1, 1)):
            out.append((text, col2im_by_offsets(cols, shape, kh, kw, sh, sw, kh, kw, steps)))
    return out + window_count_slips(cols, shape, kh, kw, sh, sw)


OVERWRITE = ("overlapping windows overwrite each other: col2im must ADD every window's values "
             "(+=), where windows overlap the sums pile up")


def col2im_read_order(image: np.ndarray, cols: np.ndarray, shape: tuple[int, ...], kernel: Pair,
                      stride: Pair) -> str:
    """'you read the rows of cols as (...) and each row as (...)' when col2im's result is the
    right one of cols laid out (N, Ho, Wo, C, kh, kw) but read with those axes in another
    order; "" when no order gives it."""
    (kh, kw), (sh, sw) = kernel, stride
    n, c, h, w = shape
    sizes = (n, (h - kh) // sh + 1, (w - kw) // sw + 1, c, kh, kw)
    names = ("n", "i", "j", "c", "a", "b")
    for order in itertools.permutations(range(6)):
        if order == tuple(range(6)) or any(sizes[k] == 1 and order.index(k) != k for k in range(6)):
            continue  # the right reading, or one that moves only an axis of size 1
        read = cols.reshape([sizes[k] for k in order]).transpose(np.argsort(order))
        if np.allclose(image, convolution.col2im(read.reshape(cols.shape), shape, kh, kw, sh, sw)):
            said = ", ".join(names[k] for k in order)
            rows, row = (", ".join(names[k] for k in part) for part in (order[:3], order[3:]))
            how = (" (a reshape to (N, C, Ho, Wo, kh, kw) without the transpose that moves C)"
                   if order == (0, 3, 1, 2, 4, 5) else "")
            return (f"you read cols as laid out ({said}){how}, its rows as ({rows}) and each row "
                    f"as ({row}); its rows run over (n, i, j), the sample first, and each row "
                    "over (c, a, b), the channel first: "
                    "cols.reshape(N, Ho, Wo, C, kh, kw)")
    return ""


def _verdict_col2im(outputs: Outputs) -> None:
    for name in COLUMN_CASES:
        case = cases("conv2d")[name]
        (sh, sw), (ph, pw) = pair(case["params"]["stride"]), pair(case["params"]["padding"])
        o, c, kh, kw = case["weight"].shape
        n, _, h, w = case["input"].shape
        shape = (n, c, h + 2 * ph, w + 2 * pw)
        what = f"col2im(cols, shape={shape}, kh={kh}, kw={kw}, sh={sh}, sw={sw})"
        image = outputs[f"{name}/image"]
        if image.shape == shape[:2] + shape[:1:-1] and h + 2 * ph != w + 2 * pw:
            raise CheckFailed(f"{what}: wrong shape: expected {shape}, got {image.shape}, height "
                              "and width swapped: `shape` is (N, C, H, W), unpack it as "
                              "n, c, h, w = shape and build the result with (n, c, h, w)")
        expect_shape(what, image, shape, hint="col2im returns an array of the given `shape`")
        cut = np.asarray(image[:, :, ph:ph + h, pw:pw + w], dtype=np.float64)
        gcols = case["grad_out"].transpose(0, 2, 3, 1).reshape(-1, o) @ case["weight"].reshape(o, -1)
        modelled = col2im_mistakes(gcols, shape, kh, kw, sh, sw)
        if not np.allclose(cut, case["grad_input"], rtol=1e-4, atol=1e-5) and not any(
                np.allclose(cut, wrong[:, :, ph:ph + h, pw:pw + w], rtol=1e-4, atol=1e-5)
                for _, wrong in modelled):  # a modelled mistake is named below, in its words
            order = col2im_read_order(np.asarray(image, dtype=np.float64), gcols, shape, (kh, kw),
                                      (sh, sw))
            if order:
                raise CheckFailed(f"{what}: wrong windows: {order}")
        rows = "" if np.allclose(cut, case["grad_input"], rtol=1e-4, atol=1e-5) else \
            col2im_row_finding(outputs)
        if rows:  # an exact rule for where the rows go says more than the values' pattern
            raise CheckFailed(f"{what}: wrong windows: {rows}")
        diagnose_values(f"{what}, with the padding cut off", image[:, :, ph:ph + h, pw:pw + w],
                        case["grad_input"], lambda: [
                            (text, wrong[:, :, ph:ph + h, pw:pw + w]) for text, wrong in modelled])


register(Exercise(
    grade_id="check_col2im", lesson=LESSON, function="col2im",
    probe=_probe_col2im, verdict=with_probes(_verdict_col2im, col2im_finding),
    success="col2im turns column gradients into PyTorch's input gradient on 7 cases.",
    explain_error=col2im_count_slip,
    engine_ops=("minitorch_unet.convolution.col2im",)))


# ---- conv2d (forward and backward) ---------------------------------------------------------
def is_connected(out: Any, inputs: list[Tensor]) -> bool:
    """Whether `out` is a Tensor that backward can follow to `inputs`: made by an op (not a
    leaf built from arrays or .data), or one of the inputs itself."""
    return isinstance(out, Tensor) and out.requires_grad and \
        (not out.is_leaf or any(out is t for t in inputs))


def probe_layer(fn: Callable[..., Any], op: str, name: str, inputs: tuple[str, ...],
                args: tuple[Any, ...], backward: bool = True) -> Outputs:
    """Call fn(*tensors, *args) on a reference case and, if `backward`, backward from its
    grad_out; -> arrays.

    Keys: '<case>/out', '<case>/is_tensor', '<case>/grad_<input>' for each gradient present.
    A wrongly shaped output gets no backward (its shape is the verdict's to report).
    """
    case = cases(op)[name]
    tensors = {k: Tensor(case[k].copy(), requires_grad=True) for k in inputs if k in case}
    out = fn(*(tensors.get(k) for k in inputs), *args)
    outputs = {f"{name}/out": answer(out, op), f"{name}/is_tensor": np.array(isinstance(out, Tensor)),
               f"{name}/connected": np.array(is_connected(out, list(tensors.values())))}
    outputs.update(saved_params(getattr(out, "_ctx", None), case, name))
    right_shape = isinstance(out, Tensor) and out.shape == case["grad_out"].shape
    if backward and right_shape and out.requires_grad:
        outputs.update(backward_outputs(out, case["grad_out"], name, tensors))
    for k, tensor in tensors.items():
        if not np.array_equal(as_array(tensor), case[k]):
            outputs[f"{name}/changed_{k}"] = np.array(True)
    return outputs


SIZE_PARAMS = ("kernel_size", "stride", "padding", "output_padding")


def given_params(case: Case) -> dict[str, Pair]:
    """The case's size parameters as pairs (a pooling stride of None is its kernel size)."""
    params = {k: v for k, v in case["params"].items() if k in SIZE_PARAMS}
    if params.get("stride", 0) is None and params.get("kernel_size") is not None:
        params["stride"] = params["kernel_size"]
    if params.get("kernel_size") is not None:
        params["kernel"] = params["kernel_size"]   # the name a pooling forward may give it
    return {k: pair(v) for k, v in params.items() if v is not None}


def saved_params(ctx: Any, case: Case, name: str) -> Outputs:
    """'<case>/ctx/<param>': what the forward saved in ctx under the name of one of the
    case's parameters (stride, padding, ...), as a pair of ints, when it is an int or a pair."""
    found: Outputs = {}
    for attr, value in vars(ctx).items() if ctx is not None else ():
        if attr in given_params(case) and \
                (isinstance(value, (int, np.integer)) or isinstance(value, (tuple, list)) and
                 len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value)):
            found[f"{name}/ctx/{attr}"] = np.array(pair(value))
    return found


def saved_params_verdict(what: str, name: str, outputs: Outputs, case: Case) -> None:
    """'your forward saves ctx.padding = (1, 1), where its padding is (0, 0) ...' when a
    parameter saved under its own name differs from the one the forward was given."""
    params = given_params(case)
    for key, saved in outputs.items():
        if not key.startswith(f"{name}/ctx/"):
            continue
        attr, saved = key.removeprefix(f"{name}/ctx/"), tuple(int(v) for v in saved)
        if saved == params[attr]:
            continue
        alike = [k for k, v in params.items() if k != attr and v == saved]
        source = f" (the {alike[0]}'s value)" if len(alike) == 1 else ""
        raise CheckFailed(f"{what}: after the forward, ctx.{attr} holds {saved}{source}, while "
                          f"the {attr} given is {params[attr]}: the forward must receive the "
                          f"{attr} and save it as it is, ctx.{attr} = {attr}")


def backward_outputs(out: Tensor, grad_out: np.ndarray, name: str,
                     tensors: dict[str, Tensor]) -> Outputs:
    """Backward from `grad_out`: '<case>/grad_<input>' for each gradient that arrives.

    When the engine refuses what the learner's backward returned (too few gradients, a
    wrong shape), the raw return values of that backward are kept instead, as
    '<case>/raw_count' and '<case>/raw_grad_<i>', for the verdict to say what is wrong.
    """
    op = out._op
    sent = np.array(grad_out, copy=True)
    try:
        out.backward(Tensor(sent))
    except RuntimeError as err:
        if op is None or not str(err).startswith(f"{op.__name__}.backward returned"):
            raise
        raw = op.backward(out._ctx, np.array(grad_out, copy=True))
        raw = tuple(raw) if isinstance(raw, (tuple, list)) else (raw,)
        outputs = {f"{name}/raw_count": np.array(len(raw)), f"{name}/raw_grad_out": grad_out}
        outputs.update({f"{name}/raw_grad_{i}": as_array(g) for i, g in enumerate(raw)
                        if g is not None})
        return outputs
    outputs = {f"{name}/grad_{k}": as_array(t.grad) for k, t in tensors.items() if t.grad is not None}
    if not np.array_equal(sent, grad_out):
        outputs[f"{name}/changed_grad_out"] = np.array(True)
    return outputs


def returned_gradients_verdict(what: str, name: str, outputs: Outputs,
                               inputs: list[tuple[str, tuple[int, ...]]],
                               join_dim: int | None = None,
                               expected: list[np.ndarray] | None = None,
                               padding: Pair | None = None,
                               rows: tuple[int, int] | None = None) -> None:
    """Name what is wrong with a backward whose return values the engine refused.

    inputs: (label, shape) of each tensor input of forward, in order; join_dim: the axis
    along which forward joined its inputs (cat), to recognise a split along another one;
    expected: the right gradients, to tell gradients in the wrong order from wrong pieces;
    rows: the shape of the window rows that col2im turns into the first input's gradient.
    """
    if f"{name}/raw_count" not in outputs:
        return
    count, labels = int(outputs[f"{name}/raw_count"]), ", ".join(k for k, _ in inputs)
    if count == 1 and f"{name}/raw_grad_0" not in outputs:
        raise CheckFailed(f"{what}: backward returned None: does it end with `return` of the "
                          f"gradients ({labels})?")
    if count != len(inputs):
        raise CheckFailed(f"{what}: backward returned {count} gradient{'s' * (count != 1)} for "
                          f"{len(inputs)} tensor inputs ({labels}): return one per input, in "
                          "the order forward received them")
    got = [tuple(outputs[f"{name}/raw_grad_{i}"].shape) if f"{name}/raw_grad_{i}" in outputs
           else None for i in range(count)]
    wanted = [shape for _, shape in inputs]
    i = next((i for i, (g, w) in enumerate(zip(got, wanted)) if g != w), 0)
    owner = wanted.index(got[i]) if got[i] in wanted else -1
    if sorted(map(str, got)) == sorted(map(str, wanted)) and (
            expected is None or np.allclose(outputs[f"{name}/raw_grad_{i}"], expected[owner])):
        owner = inputs[owner][0]
        raise CheckFailed(f"{what}: backward returns the gradients in the wrong order: "
                          f"gradient {i} has the shape of {owner} {got[i]}, not of "
                          f"{inputs[i][0]} {wanted[i]}; return them in forward's order ({labels})")
    joined: list[int] = []
    if join_dim is not None:
        axis = join_dim % len(wanted[0])
        joined = list(wanted[0])
        joined[axis] = sum(shape[axis] for shape in wanted)
    if join_dim is not None and all(g is not None and len(g) == len(wanted[0]) for g in got):
        for other in range(len(joined)):
            if all(g[d] == joined[d] for g in got for d in range(len(joined)) if d != other) \
                    and sum(g[other] for g in got) == joined[other]:
                if other != axis:
                    raise CheckFailed(f"{what}: backward cut the gradient along dim {other}; "
                                      f"forward joined the inputs along dim {join_dim}, so cut it "
                                      "there, into pieces of each input's size")
                raise CheckFailed(f"{what}: backward cut the gradient into pieces of sizes "
                                  f"{[g[axis] for g in got]} along dim {join_dim}; they must have "
                                  f"the inputs' sizes there, {[w[axis] for w in wanted]}")
    output = outputs.get(f"{name}/out")
    for (label, shape), g in zip(inputs, got):
        if g is None or g == shape:
            continue
        note = ""
        diffs = [a - b for a, b in zip(g, shape)]
        kept = kept_axes(g, tuple(output.shape)) if label == "bias" and output is not None and \
            len(shape) == 1 and output.ndim == 4 else None
        if kept is None and label == "bias" and len(shape) == 1:
            kept = summed_axes(outputs[f"{name}/raw_grad_{inputs.index((label, shape))}"],
                               outputs.get(f"{name}/raw_grad_out"))
        matrix_sum = bias_matrix_sum(outputs[f"{name}/raw_grad_{inputs.index((label, shape))}"],
                                     outputs.get(f"{name}/raw_grad_out")) \
            if label == "bias" and len(shape) == 1 else ""
        if matrix_sum:
            raise CheckFailed(f"{what}: backward returned a gradient of shape {g} for bias, which "
                              f"has shape {shape}: {matrix_sum}")
        if kept and kept != (1,):
            summed = tuple(a for a in range(4) if a not in kept)
            raise CheckFailed(f"{what}: backward returned a gradient of shape {g} for bias, which "
                              f"has shape {shape}: that is grad summed over axes {summed} only, "
                              f"keeping axes {kept}; bias[o] reaches every pixel of every sample "
                              "of channel o, so sum it over every axis but the channels, "
                              "grad.sum(axis=(0, 2, 3))")
        crops = {} if padding is None or len(g) != 4 or len(shape) != 4 else {
            (shape[2] + 2 * padding[0] - 2 * q, shape[3] + 2 * padding[1] - 2 * r): text
            for (q, r), text in (((padding[1], padding[0]), "the paddings of height and width "
                                  "are swapped when cutting it off"),
                                 ((padding[0], padding[0]), "the width is cut by the height's "
                                  "padding"),
                                 ((padding[1], padding[1]), "the height is cut by the width's "
                                  "padding"))}
        if 0 in g and 0 not in shape:
            note = (f": axis {g.index(0)} is empty, so a slice came out empty (x[p:-p] is empty "
                    "when p = 0; write x[p:size - p])")
        elif rows is not None and label == inputs[0][0] and g in (rows, rows[::-1]):
            note = (f": that is the {'transposed ' * (g != rows)}matrix of window rows "
                    f"{rows}, one row per window; col2im(rows, padded shape, kh, kw, sh, sw) "
                    "adds them back into the image, then cut the padding off")
        elif g[:2] == shape[:2] and tuple(g[2:]) in crops and tuple(g[2:]) != tuple(shape[2:]):
            note = (f": {crops[tuple(g[2:])]}; cut padding[0] rows and padding[1] columns off "
                    "each side")
        elif padding is not None and len(g) == len(shape) == 4 and g[:2] == shape[:2] and \
                any(diffs[2:]) and all(d <= 0 and d % 2 == 0 for d in diffs[2:]):
            q, r = (p - d // 2 for p, d in zip(padding, diffs[2:]))
            note = (f": {q} rows and {r} columns are cut off each side of the padded gradient, "
                    f"where the padding is {tuple(int(p) for p in padding)}: cut padding[0] = "
                    f"{padding[0]} rows and padding[1] = {padding[1]} columns, [p:H + p]")
        elif len(g) == len(shape) == 4 and g[1:] == (1,) + tuple(shape[2:]) and \
                g[0] == shape[0] * shape[1]:
            note = (": that is the folded (N*C, 1, H, W) image; reshape it back to "
                    f"{tuple(shape)}")
        elif len(g) == len(shape) and any(diffs) and all(d >= 0 and d % 2 == 0 for d in diffs):
            note = (f": it is larger by {diffs}, a border of {[d // 2 for d in diffs]} on each "
                    "side: cut the padding off before returning it")
        elif join_dim is None and len(g) == len(shape) == 4 and any(diffs) and \
                not any(diffs[:2]) and all(d >= 0 for d in diffs):
            note = (f": it is larger by {diffs}, so part of the padding is still on (cut off one "
                    "side only?): cut `padding` off EACH side, [p:H + p] of the padded gradient")
        elif join_dim is not None and list(g) == joined:
            note = (": that is the whole output's gradient; each input gets only its own slice "
                    f"of it along dim {join_dim}")
        elif len(g) == 0 and len(shape) >= 1:
            note = (f": one number, a sum over every axis; {label} keeps its own axes, so sum "
                    f"over the others only (down to {shape})")
        elif len(g) == len(shape) == 1:
            note = (f": {label} needs {shape[0]} values, yours has {g[0]}: a sum (or mean) over the "
                    "wrong axis keeps the wrong one")
        elif len(g) > len(shape):
            note = (f": sum it over the axes that {label} does not have, down to its shape "
                    f"{shape}")
        elif sorted(g) == sorted(shape) and axis_order_note(g, shape):
            note = (": the right sizes in another order (a transpose missing or wrong"
                    f"{axis_order_note(g, shape)})")
        elif int(np.prod(g)) == int(np.prod(shape)) and len(g) != len(shape):
            note = (f": the right number of values in {len(g)} axes, where {label} has "
                    f"{len(shape)}: the product is never reshaped back; end with "
                    f".reshape({label}.shape)")
        elif int(np.prod(g)) == int(np.prod(shape)):
            note = ": the right number of values in the wrong shape (a missing reshape or transpose)"
        raise CheckFailed(f"{what}: backward returned a gradient of shape {g} for {label}, "
                          f"which has shape {shape}{note}")


def bias_matrix_sum(got: np.ndarray, grad_out: np.ndarray | None) -> str:
    """'summed over axis 1 of the (N*Ho*Wo, O) matrix ...' when the bias gradient `got` is the
    sum over the channels of grad's matrix of one row per output pixel; "" otherwise."""
    if grad_out is None or grad_out.ndim != 4 or got.ndim != 1:
        return ""
    n, o, ho, wo = grad_out.shape
    matrix = grad_out.transpose(0, 2, 3, 1).reshape(-1, o)
    for axis, total in ((1, matrix.sum(axis=1)), (None, grad_out.reshape(-1, o).sum(axis=1))):
        if total.shape == got.shape and np.allclose(got, total, rtol=1e-4, atol=1e-6):
            rows = "" if axis else " (grad reshaped without its transpose)"
            return (f"that is grad's matrix ({n * ho * wo}, {o}){rows}, one row per output pixel, "
                    f"summed over axis 1, its {o} channels, which keeps one value per pixel; "
                    f"bias[o] gathers column o, so sum that matrix over axis 0, its rows")
    return ""


def window_rows(case: Case) -> tuple[int, int]:
    """(N*Ho*Wo, C*kh*kw): the im2col matrix of a conv2d case's padded input."""
    n, _, ho, wo = case["out"].shape
    return n * ho * wo, int(np.prod(case["weight"].shape[1:]))


def summed_axes(got: np.ndarray, full: np.ndarray | None) -> tuple[int, ...] | None:
    """The axes of `full` left when `got` is its sum over the others (with or without
    keepdims), when exactly one choice of axes gives got's values; None otherwise."""
    if full is None:
        return None
    fits = []
    for r in range(full.ndim):
        for kept in itertools.combinations(range(full.ndim), r):
            total = full.sum(axis=tuple(a for a in range(full.ndim) if a not in kept))
            for shaped in (total, total.reshape([full.shape[a] if a in kept else 1
                                                 for a in range(full.ndim)])):
                if shaped.shape == got.shape and np.allclose(got, shaped, rtol=1e-4, atol=1e-6):
                    fits.append(kept)
    return fits[0] if len(set(fits)) == 1 else None


def kept_axes(got: tuple[int, ...], full: tuple[int, ...]) -> tuple[int, ...] | None:
    """The axes of `full` that a sum over the others (with or without keepdims) leaves with
    the shape `got`, when exactly one choice does; None otherwise."""
    fits = [kept for r in range(len(full) + 1)
            for kept in itertools.combinations(range(len(full)), r)
            if got in (tuple(full[a] for a in kept),
                       tuple(full[a] if a in kept else 1 for a in range(len(full))))]
    return fits[0] if len(fits) == 1 else None


def layer_run(fn: Callable[..., Any], args: tuple[Any, ...]) -> Run:
    """The probes' run for a layer fn(input, weight, None, *args) on Tensors: its output and,
    given a gradient from above, the gradients of input and weight."""
    def run(x: np.ndarray, weight: np.ndarray, grad: Any) -> dict[str, Any]:
        tensors = Tensor(x, requires_grad=True), Tensor(weight, requires_grad=True)
        out = fn(*tensors, None, *args)
        found = {"out": as_array(out)}
        if grad is not None and isinstance(out, Tensor) and out.requires_grad:
            out.backward(Tensor(grad(tuple(out.shape))))
            found.update({k: None if t.grad is None else as_array(t.grad)
                          for k, t in zip(("grad_input", "grad_weight"), tensors)})
        return found
    return run


def _probe_conv2d(fn: Callable[..., Any], backward: bool = True) -> Outputs:
    outputs: Outputs = {}
    for name in CONV2D_CASES:
        p = conv_params(cases("conv2d")[name])
        outputs.update(probe_layer(fn, "conv2d", name, ("input", "weight", "bias"),
                                   (p["stride"], p["padding"]), backward))
    outputs.update(run_probes(layer_run(fn, (1, 0)), in_axis=1, backward=backward))
    return outputs


def check_returns_tensor(op: str, names: tuple[str, ...], outputs: Outputs) -> None:
    """Each output is a Tensor, and no input (nor the gradient from above) was changed."""
    for name in names:
        if not outputs[f"{name}/is_tensor"]:
            raise CheckFailed(f"{op} must return a Tensor made by your Function's .apply(...) "
                              "(so that backward can reach the inputs), not a raw array")
    for name in names:
        for key in outputs:
            if key.startswith(f"{name}/changed_"):
                what = key.removeprefix(f"{name}/changed_")
                where = "backward's grad" if what == "grad_out" else f"its {what}"
                raise CheckFailed(f"{op} ({name}) changed {where} in place: an op must leave the "
                                  "arrays it receives as they are (other ops use them too); work "
                                  "on a copy, or write y = y * m instead of y *= m, y[...] = ...")


def batch_grad_mistakes(case: Case, field: str) -> list[tuple[str, np.ndarray]]:
    """Wrong parameter gradients of any layer: averaged instead of summed over the batch."""
    n = case["grad_out"].shape[0]
    expected = case[field].astype(np.float64)
    name = field.removeprefix("grad_")
    out = []
    if field == "grad_bias":
        ho, wo = case["grad_out"].shape[2:]
        out.append(("grad_bias is the mean of grad_out instead of its sum over batch and pixels",
                    expected / (n * ho * wo)))
        g = case["grad_out"].astype(np.float64)
        for text, reduced in (("the largest entry (max)", g.max(axis=(0, 2, 3))),
                              ("the smallest entry (min)", g.min(axis=(0, 2, 3))),
                              ("the sum of |grad_out|", np.abs(g).sum(axis=(0, 2, 3))),
                              ("the sum of squares", (g * g).sum(axis=(0, 2, 3)))):
            out.append((f"grad_bias[o] is {text} of channel o of grad_out; bias[o] is added to "
                        "every pixel of every sample, so its gradient is their plain sum, "
                        "grad.sum(axis=(0, 2, 3))", reduced))
        if n > 1:
            out.append(("grad_bias is summed over the first sample only: sum grad_out over the "
                        "batch too, axis=(0, 2, 3)",
                        case["grad_out"][0].astype(np.float64).sum(axis=(1, 2))))
        out += bias_reductions(g)
    if n > 1:
        out.append((f"{field} is divided by the batch size (a mean over the batch): the {name} "
                    "serves every sample, so the samples' gradients add up", expected / n))
    return out


def bias_reductions(g: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """grad_bias as grad_out (N, O, Ho, Wo) summed or averaged over other axes than (0, 2, 3),
    wherever that leaves O numbers (the whole total repeated for every channel included)."""
    o, out = g.shape[1], []
    names = ("batch", "channel", "row", "column")
    for size in (4, 3, 2, 1):
        for axes in itertools.combinations(range(4), size):
            if axes == (0, 2, 3):
                continue
            said = ", ".join(names[a] for a in axes)
            for how, reduce in (("summed", np.sum), ("averaged", np.mean)):
                reduced = reduce(g, axis=axes)
                if size == 4:
                    whole = "total" if how == "summed" else "mean"
                    out.append((f"every channel's grad_bias is the {whole} of grad_out over every "
                                "axis, the channels' included; bias[o] gets only channel o's "
                                "gradients: grad.sum(axis=(0, 2, 3))", np.full(o, float(reduced))))
                elif reduced.size == o:
                    out.append((f"grad_bias is grad_out {how} over the {said} axes "
                                f"(axis={axes}); bias[o] is added to every pixel of every sample "
                                "in channel o, so sum over axis=(0, 2, 3)", reduced.reshape(o)))
    return out


def conv2d_grad_mistakes(case: Case, field: str) -> list[tuple[str, np.ndarray]]:
    """Classic wrong gradients of conv2d for `field` ('grad_input', 'grad_weight', 'grad_bias')."""
    expected = case[field].astype(np.float64)
    x, weight, g = (case[k].astype(np.float64) for k in ("input", "weight", "grad_out"))
    (sh, sw), (ph, pw) = pair(case["params"]["stride"]), pair(case["params"]["padding"])
    o, c, kh, kw = weight.shape
    n, _, h, w = x.shape
    laid_out = (f"{field} was computed from grad.reshape(-1, O), which mixes channels and "
                "pixels: grad is (N, O, Ho, Wo), so lay it out as "
                "grad.transpose(0, 2, 3, 1).reshape(-1, O) first")
    if field == "grad_weight":
        out = [("grad_weight is flipped by 180 degrees", expected[:, :, ::-1, ::-1]),
               ("grad_weight was reshaped from a (C*kh*kw, O) matrix (cols.T @ grad_cols); the "
                "weight's layout needs (O, C*kh*kw): grad_cols.T @ cols, then reshape",
                expected.reshape(o, -1).T.reshape(weight.shape))]
        if n > 1:
            cols = convolution.im2col(convolution.pad2d(x[:1], ph, pw), kh, kw, sh, sw)
            first = (g[:1].transpose(0, 2, 3, 1).reshape(-1, o).T @ cols).reshape(weight.shape)
            out.append(("grad_weight is summed over the first sample only: the weight serves "
                        "every sample of the batch, so sum over all of them", first))
            cols = convolution.im2col(convolution.pad2d(x[-1:], ph, pw), kh, kw, sh, sw)
            last = (g[-1:].transpose(0, 2, 3, 1).reshape(-1, o).T @ cols).reshape(weight.shape)
            out.append(("grad_weight is the last sample's only (a loop over the samples that "
                        "assigns with = instead of adding with +=): sum over every sample", last))
        cols = convolution.im2col(convolution.pad2d(x, ph, pw), kh, kw, sh, sw)
        out.append((laid_out, (g.reshape(-1, o).T @ cols).reshape(weight.shape)))
        out += [(text, (rows.T @ cols).reshape(weight.shape)) for text, rows in grad_layouts(g)]
        if n > 1:
            out.append(("grad_weight was computed from grad.reshape(O, -1), which keeps the batch "
                        "axis in front of the channels: grad is (N, O, Ho, Wo), so lay it out as "
                        "grad.transpose(0, 2, 3, 1).reshape(-1, O) (or transpose(1, 0, 2, 3) "
                        "before reshape(O, -1))", (g.reshape(o, -1) @ cols).reshape(weight.shape)))
        return out + batch_grad_mistakes(case, field)
    o_first = ("the rows of grad were read as grad.reshape(O, -1).T, as if O came first; grad is "
               "(N, O, Ho, Wo), so lay it out as grad.transpose(0, 2, 3, 1).reshape(-1, O)")
    if field == "grad_bias":
        out = batch_grad_mistakes(case, field) + [(laid_out, g.reshape(-1, o).sum(axis=0))]
        return out + ([(o_first, g.reshape(o, -1).sum(axis=1))] if n > 1 else [])
    padded = (n, c, h + 2 * ph, w + 2 * pw)
    gcols = g.transpose(0, 2, 3, 1).reshape(-1, o) @ weight.reshape(o, -1)
    flipped = g.transpose(0, 2, 3, 1).reshape(-1, o) @ weight[:, :, ::-1, ::-1].reshape(o, -1)
    full = convolution.col2im(gcols, padded, kh, kw, sh, sw)
    out = [("grad_input was computed with a flipped kernel; col2im(grad_cols) with "
            "grad_cols = grad_out @ weight.reshape(O, -1) needs no flip",
            convolution.col2im(flipped, padded, kh, kw, sh, sw)[:, :, ph:ph + h, pw:pw + w])]
    if o == c:
        swapped = g.transpose(0, 2, 3, 1).reshape(-1, o) @ weight.transpose(1, 0, 2, 3).reshape(o, -1)
        out.append(("grad_input was computed with the weight's first two axes swapped: "
                    "grad_cols = grad_out (N*Ho*Wo, O) @ weight.reshape(O, -1)",
                    convolution.col2im(swapped, padded, kh, kw, sh, sw)[:, :, ph:ph + h, pw:pw + w]))
    if gcols.shape[0] != gcols.shape[1]:
        out.append(("grad_cols is built transposed, as weight.reshape(O, -1).T @ grad_rows.T of "
                    f"shape {gcols.shape[::-1]}: col2im reads it as ({gcols.shape[0]}, "
                    f"{gcols.shape[1]}), one row per output pixel; take grad_rows @ "
                    "weight.reshape(O, -1) (or add the final .T)",
                    convolution.col2im(np.ascontiguousarray(gcols.T).reshape(gcols.shape), padded,
                                       kh, kw, sh, sw)[:, :, ph:ph + h, pw:pw + w]))
    out += [(f"in the input's gradient, {text}", wrong[:, :, ph:ph + h, pw:pw + w])
            for text, wrong in col2im_mistakes(gcols, padded, kh, kw, sh, sw)]
    for text, wrong in weight_variants(weight, "O"):
        rows = g.transpose(0, 2, 3, 1).reshape(-1, o) @ wrong.reshape(o, -1)
        out.append((f"in the input's gradient, {text}",
                    convolution.col2im(rows, padded, kh, kw, sh, sw)[:, :, ph:ph + h, pw:pw + w]))
    out.append((laid_out, convolution.col2im(g.reshape(-1, o) @ weight.reshape(o, -1), padded,
                                             kh, kw, sh, sw)[:, :, ph:ph + h, pw:pw + w]))
    out += [(text, convolution.col2im(rows @ weight.reshape(o, -1), padded, kh, kw, sh, sw)
             [:, :, ph:ph + h, pw:pw + w]) for text, rows in grad_layouts(g)]
    if n > 1:
        out.append((f"in the input's gradient, {o_first}",
                    convolution.col2im(g.reshape(o, -1).T @ weight.reshape(o, -1), padded, kh,
                                       kw, sh, sw)[:, :, ph:ph + h, pw:pw + w]))
    out.append(("grad_input used weight.reshape(-1, O).T, which does not put (c, a, b) along "
                "its columns: grad_cols = grad_out (N*Ho*Wo, O) @ weight.reshape(O, -1)",
                convolution.col2im(g.transpose(0, 2, 3, 1).reshape(-1, o) @ weight.reshape(-1, o).T,
                                   padded, kh, kw, sh, sw)[:, :, ph:ph + h, pw:pw + w]))
    if ph or pw:
        out.append(("the input's gradient is cut from the top-left corner; the padding lies on "
                    "each side, so keep [padding:padding + H] (and the same for W)",
                    full[:, :, :h, :w]))
    return out


def grad_layouts(g: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """grad (N, O, Ho, Wo) laid out as rows in a wrong order of (n, i, j), each with what it did."""
    out = []
    for order in itertools.permutations((0, 2, 3)):
        if order != (0, 2, 3) and g.shape[order[0]] * g.shape[order[1]] * g.shape[order[2]] > 1:
            axes = order + (1,)
            out.append((f"grad was laid out with grad.transpose{axes}, so its rows do not run over "
                        "(n, i, j) like the columns' rows: use grad.transpose(0, 2, 3, 1)"
                        ".reshape(-1, O)", g.transpose(axes).reshape(-1, g.shape[1])))
    return out


def verdict_gradients(op: str, name: str, what: str, outputs: Outputs, inputs: tuple[str, ...],
                      mistakes: Callable[[Case, str], list[tuple[str, np.ndarray]]]) -> None:
    """Each input's gradient against PyTorch's; the message names the input at fault.

    (Autograd has already summed or reshaped each gradient to its input's shape, or raised.)
    """
    case = cases(op)[name]
    if not outputs.get(f"{name}/connected", True):
        raise CheckFailed(f"{what}: the output does not require grad, so backward cannot reach "
                          "the inputs: build it with your Function's .apply(...) on the input "
                          "tensors, not with Tensor(...) from arrays or .data")
    present = [k for k in inputs if k in case]
    if any(f"{name}/grad_{k}" not in outputs or outputs[f"{name}/grad_{k}"].shape !=
           case[f"grad_{k}"].shape or not np.allclose(outputs[f"{name}/grad_{k}"],
                                                       case[f"grad_{k}"], rtol=1e-4, atol=1e-5)
           for k in present):
        saved_params_verdict(what, name, outputs, case)
    returned_gradients_verdict(what, name, outputs, [(k, case[k].shape) for k in present],
                               expected=[case[f"grad_{k}"] for k in present],
                               padding=pair(case["params"]["padding"]) if op == "conv2d" else None,
                               rows=window_rows(case) if op == "conv2d" else None)
    for k in inputs:
        if k not in case:
            continue
        field = f"grad_{k}"
        label = f"{what}: gradient with respect to {k} ({k}.grad)"
        if f"{name}/{field}" not in outputs:
            order = ", ".join(i for i in inputs if i in case)
            raise CheckFailed(f"{label} is None: backward must return one gradient per tensor "
                              f"input of forward, in the same order ({order})")
        got = outputs[f"{name}/{field}"]
        for other in present:
            right = case[f"grad_{other}"]
            if other != k and got.shape == right.shape == case[field].shape and \
                    not np.allclose(got, case[field], rtol=1e-4, atol=1e-5) and \
                    np.allclose(got, right, rtol=1e-4, atol=1e-5):
                raise CheckFailed(f"{label}: right shape but wrong values: they are the gradient "
                                  f"of {other}, not of {k}: return the gradients in forward's "
                                  f"order ({', '.join(present)})")
        diagnose_values(label, got, case[field], lambda: mistakes(case, field), layer_sizes(case))


def _verdict_conv2d_forward(outputs: Outputs) -> None:
    check_returns_tensor("conv2d", CONV2D_CASES, outputs)
    _forward_verdict("conv2d", CONV2D_CASES, outputs)


register(Exercise(
    grade_id="check_conv2d_forward", lesson=LESSON, function="conv2d",
    probe=lambda fn: _probe_conv2d(fn, backward=False), verdict=with_probes(_verdict_conv2d_forward, conv_findings(1)),
    success="conv2d's forward matches PyTorch on 16 cases (the backward comes next).",
    engine_ops=CONV2D_ENGINE_OPS,
    explain_error=lambda err: cols_transposed(err) or
    reshape_size_slip(err, conv_geometries(CONV2D_CASES)) or col2im_call_fit(err)))


def _verdict_conv2d(outputs: Outputs) -> None:
    check_returns_tensor("conv2d", CONV2D_CASES, outputs)
    _forward_verdict("conv2d", CONV2D_CASES, outputs)
    for name in CONV2D_CASES:
        case = cases("conv2d")[name]
        what = describe("conv2d", case, ("input", "weight", "bias"), **conv_params(case))
        verdict_gradients("conv2d", name, what, outputs, ("input", "weight", "bias"),
                          conv2d_grad_mistakes)


register(Exercise(
    grade_id="check_conv2d", lesson=LESSON, function="conv2d",
    probe=_probe_conv2d, verdict=with_probes(_verdict_conv2d, conv_findings(1)), points=3,
    success="conv2d matches PyTorch (output and the gradients of input, weight and bias) on 16 cases.",
    engine_ops=CONV2D_ENGINE_OPS,
    explain_error=lambda err: cols_transposed(err) or
    reshape_size_slip(err, conv_geometries(CONV2D_CASES)) or col2im_call_fit(err)))
