"""Checks of lesson 04 (max pooling): forward (the window maxima) and backward (the routing).

Expected values are PyTorch's (``data/reference/max_pool2d.npz``: strides 1-3 and the
default, paddings 0/1/pairs, all-negative inputs that catch zero padding). A wrong answer
is compared with classic mistakes recomputed in NumPy: zero padding, an average instead of
a maximum, a gradient spread over the window or overwritten where windows overlap.
"""
from __future__ import annotations

import ast
import itertools
from typing import Any, Callable

import numpy as np

from .. import convolution
from ..reference import Case
from .core import (CheckFailed, Exercise, Outputs, _forwards_of, _own_source, number_exercises,
                   register, traceback_frames)
from .lesson03 import (CONV_SIZE_MISTAKES, Geometry, arg, cases, check_returns_tensor, describe,
                       diagnose_size, diagnose_values, layer_sizes, pair, probe_layer,
                       col2im_call_fit, cols_transposed, reshape_size_slip,
                       returned_gradients_verdict, saved_params_verdict)
from .lesson03 import sized_without_padding

LESSON = "04_max_pooling"
number_exercises(LESSON, ("max_pool2d_forward", "max_pool2d", "max_pool2d_backward"))


def pool_params(case: Case) -> dict[str, Any]:
    """kernel_size, stride (None stays None) and padding as the learner's function gets them."""
    p = case["params"]
    return {"kernel_size": arg(p["kernel_size"]),
            "stride": None if p["stride"] is None else arg(p["stride"]),
            "padding": arg(p["padding"])}


def geometry(case: Case) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(kernel, stride, padding) as pairs; the stride defaults to the kernel."""
    p = pool_params(case)
    kernel = pair(p["kernel_size"])
    return kernel, kernel if p["stride"] is None else pair(p["stride"]), pair(p["padding"])


def pool_windows(x: np.ndarray, case: Case, fill: float) -> np.ndarray:
    """All windows of x padded with `fill`, flattened: (N, C, Ho, Wo, kh*kw)."""
    (kh, kw), (sh, sw), (ph, pw) = geometry(case)
    xpad = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    win = convolution.windows(xpad, kh, kw, sh, sw)
    return win.reshape(win.shape[:4] + (kh * kw,))


def route(case: Case, rule: str = "first", write: str = "add", swap: bool = False,
          stride: bool = True, ones: bool = False, origin: bool = True,
          unravel_by_kh: bool = False, steps: tuple[int, int] | None = None) -> np.ndarray:
    """grad_out sent back into the input window by window, as a learner's loop does it.

    rule: which inputs of a window get its gradient: the 'first' or 'last' maximum, 'all'
    maxima, 'spread' evenly, the whole 'window' or its top-left 'corner'. write: 'add' (+=), 'assign' (= at the
    maximum) or 'assign_window' (= over the whole window, zeros included). swap: the argmax
    unravelled with rows and columns swapped. stride False: window (i, j) starts at (i, j).
    ones: 1 is routed instead of grad_out (the chain rule forgotten). origin False: every
    window is put back at the top-left corner. unravel_by_kh: flat index f lands at
    divmod(f, kh) instead of divmod(f, kw). steps: window (i, j) starts at (steps[0] * i,
    steps[1] * j) instead of (sh * i, sw * j).
    """
    (kh, kw), (sh, sw), (ph, pw) = geometry(case)
    x, g = case["input"], case["grad_out"].astype(np.float64)
    g = np.ones_like(g) if ones else g
    win = pool_windows(x, case, -np.inf)
    k = kh * kw
    picks = {"first": np.eye(k)[win.argmax(-1)], "last": np.eye(k)[k - 1 - win[..., ::-1].argmax(-1)],
             "all": (win == win.max(-1, keepdims=True)).astype(np.float64),
             "spread": np.full(win.shape, 1 / k), "window": np.ones(win.shape),
             "corner": np.broadcast_to(np.eye(k)[0], win.shape)}[rule]
    if swap:  # flat index f lands at (f % kh, f // kh) instead of (f // kw, f % kw)
        moved = np.zeros_like(picks)
        for f in range(k):
            moved[..., (f % kh) * kw + f // kh] = picks[..., f]
        picks = moved
    n, c, h, w = x.shape
    rows, columns = (-(-k // kh), kh) if unravel_by_kh else (kh, kw)
    where = [divmod(f, kh) if unravel_by_kh else divmod(f, kw) for f in range(k)]
    gx = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            th, tw = steps or (sh, sw)
            top, left = ((th * i, tw * j) if stride else (i, j)) if origin else (0, 0)
            share = np.zeros((n, c, rows, columns))
            for f, (a, b) in enumerate(where):
                share[:, :, a, b] += picks[:, :, i, j, f]
            region = gx[:, :, top:top + rows, left:left + columns]
            share = share[:, :, :region.shape[2], :region.shape[3]]
            sent = share * g[:, :, i, j, None, None]
            if write == "add":
                region += sent
            elif write == "assign":
                region[...] = np.where(share > 0, sent, region)
            else:
                region[...] = sent
    return gx[:, :, ph:ph + h, pw:pw + w]


def forward_mistakes(case: Case) -> list[tuple[str, np.ndarray]]:
    return [("the padding is filled with zeros: pad with -inf, so that padding never wins a "
             "maximum (these inputs are all negative)", pool_windows(case["input"], case, 0).max(-1)),
            ("the padding is filled with +inf, which wins every window it touches: pad with "
             "-inf", pool_windows(case["input"], case, np.inf).max(-1)),
            ("this is the window mean (average pooling), not the maximum",
             pool_windows(case["input"], case, 0).mean(-1)),
            ("this is the window minimum, not the maximum",
             pool_windows(case["input"], case, np.inf).min(-1)),
            ("these are the positions of the maxima (argmax), not the maxima themselves: take "
             "the window's values at those positions", pool_windows(case["input"], case, -np.inf)
             .argmax(-1).astype(np.float64)),
            ("your values are the entries of largest |x| (the argmax of np.abs(window)): take "
             "the largest value itself, np.max / argmax of the window, signs included",
             largest_magnitude(case))] + window_picks(case) + window_steps(case) + \
        across_channels(case) + read_orders(case)


def read_orders(case: Case) -> list[tuple[str, np.ndarray]]:
    """The window maxima, one per row (n, c, i, j), read with those axes in another order and
    moved to (N, C, Ho, Wo), each with the order it read."""
    right = case["out"].astype(np.float64)
    sizes, names = right.shape, ("n", "c", "i", "j")
    out = []
    for order in itertools.permutations(range(4)):
        if order == (0, 1, 2, 3) or any(sizes[k] == 1 and order.index(k) != k for k in range(4)):
            continue  # the right reading, or one that moves only an axis of size 1
        read = right.reshape([sizes[k] for k in order]).transpose(np.argsort(order))
        out.append((f"you read the maxima, one per window row (n, c, i, j), as laid out "
                    f"({', '.join(names[k] for k in order)}); reshape them to (N, C, Ho, Wo) "
                    "as they are", read))
    return out


def across_channels(case: Case) -> list[tuple[str, np.ndarray]]:
    """Windows that span every channel (im2col of the whole (N, C, H, W) input)."""
    win = pool_windows(case["input"], case, -np.inf)
    if win.shape[1] < 2:
        return []
    return [("your maximum is taken over all C channels of the window (im2col of the whole "
             "(N, C, H, W) input gives rows of C*kh*kw entries): pool each channel alone, "
             "im2col of x.reshape(N*C, 1, H, W)",
             np.broadcast_to(win.max(axis=(1, -1), keepdims=True)[..., 0], win.shape[:-1]))]


def window_picks(case: Case) -> list[tuple[str, np.ndarray]]:
    """Windows reduced by another rule than the maximum: one fixed entry, the sum, the median."""
    win = pool_windows(case["input"], case, -np.inf)
    real = np.where(np.isinf(win), 0.0, win)
    return [("your values are each window's first entry (its top-left, window[0]): take the "
             "window's maximum, np.max over its kh*kw entries", win[..., 0]),
            ("your values are each window's last entry (its bottom-right, window[-1]): take the "
             "window's maximum, np.max over its kh*kw entries", win[..., -1]),
            ("your values are each window's sum (np.sum): take its maximum (np.max)", real.sum(-1)),
            ("your values are each window's median (np.median): take its maximum (np.max)",
             np.median(win, axis=-1))]


def window_steps(case: Case) -> list[tuple[str, np.ndarray]]:
    """Windows that start at another step than (sh*i, sw*j) (the right number of them, so
    the strides are used for the size but not for the windows): one stride for both
    directions, the two swapped, 1, or the kernel."""
    (kh, kw), (sh, sw), (ph, pw) = geometry(case)
    x = case["input"].astype(np.float64)
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    steps: dict[tuple[int, int], str] = {}
    for step, text in (((sw, sw), "the rows step by sw, the width's stride; window (i, j) "
                                  "starts at row sh*i"),
                       ((sh, sh), "the columns step by sh, the height's stride; window (i, j) "
                                  "starts at column sw*j"),
                       ((sw, sh), "the strides are swapped: window (i, j) starts at (sh*i, sw*j)"),
                       ((1, 1), "the windows step by 1: window (i, j) starts at (sh*i, sw*j), "
                                "not (i, j)"),
                       ((sh, 1), "the stride is not applied to the columns: window (i, j) "
                                 "starts at column sw*j, not j"),
                       ((1, sw), "the stride is not applied to the rows: window (i, j) starts "
                                 "at row sh*i, not i"),
                       ((kh, kw), "the windows step by the kernel size: window (i, j) starts "
                                  "at (sh*i, sw*j)")):
        steps[step] = f"{steps[step]} (or else {text}: both give the same windows here)" \
            if step in steps else text
    out = []
    for (th, tw), text in steps.items():
        if (th, tw) == (sh, sw):
            continue
        maxima = np.empty(x.shape[:2] + (ho, wo))
        for i in range(ho):  # slices past the edge come out short, as NumPy cuts them; a
            for j in range(wo):  # start past it is kept on the last row/column (else empty)
                top, left = min(th * i, xpad.shape[2] - 1), min(tw * j, xpad.shape[3] - 1)
                maxima[:, :, i, j] = xpad[:, :, top:top + kh, left:left + kw].max(axis=(2, 3))
        out.append((text, maxima))
    return out


def largest_magnitude(case: Case) -> np.ndarray:
    """Each window's entry of largest |x| (padding -inf, as the learner's padding is)."""
    win = pool_windows(case["input"], case, -np.inf)
    return np.take_along_axis(win, np.abs(win).argmax(-1)[..., None], -1)[..., 0]


def scattered(case: Case, values: np.ndarray | None = None, unfolded: bool = False) -> np.ndarray:
    """The im2col way back: one row per (n, c, i, j) window holding `values` (grad_out, flattened
    in (n, c, i, j) order, by default) at the window's first maximum, through col2im.
    unfolded: col2im is given (N, C, H, W) instead of the folded (N*C, 1, H, W)."""
    (kh, kw), (sh, sw), (ph, pw) = geometry(case)
    n, c, h, w = case["input"].shape
    win = pool_windows(case["input"], case, -np.inf).reshape(-1, kh * kw)
    rows = np.zeros(win.shape)
    g = case["grad_out"].astype(np.float64).reshape(-1) if values is None else values
    rows[np.arange(len(rows)), win.argmax(-1)] = g
    padded = (n, c, h + 2 * ph, w + 2 * pw)
    folded = padded if unfolded else (n * c, 1) + padded[2:]
    out = convolution.col2im(rows, folded, kh, kw, sh, sw).reshape(padded)
    return out[:, :, ph:ph + h, pw:pw + w]


def flattening_mistakes(case: Case) -> list[tuple[str, np.ndarray]]:
    """grad_out flattened in another order than the windows' rows, or folded wrongly."""
    g = case["grad_out"].astype(np.float64)
    out = [("col2im was given the shape (N, C, H, W); the rows are windows of the folded "
            "(N*C, 1, H, W) image (one channel each), so pass that shape and reshape back",
            scattered(case, unfolded=True))]
    for axes in itertools.permutations(range(4)):
        if axes == (0, 1, 2, 3) or any(g.shape[k] == 1 and axes.index(k) != k for k in range(4)):
            continue  # the right order, or one that moves only an axis of size 1
        out.append((f"grad_out was flattened as grad.transpose{axes}.reshape(-1), in another "
                    "order than the windows' rows (n, c, i, j): use grad.reshape(-1)",
                    scattered(case, g.transpose(axes).reshape(-1))))
    out += window_index_as_position(case)
    out.append(columns_only(case))
    out.append(flat_rows(case))
    out.append(("every maximum gets the sum of the whole output gradient (grad.sum()); each "
                "window's maximum gets its own output pixel's gradient, grad.reshape(-1)",
                scattered(case, np.full(g.size, g.sum()))))
    out.append(("every maximum gets the mean of the output gradient (grad.mean()); each "
                "window's maximum gets its own output pixel's gradient, grad.reshape(-1)",
                scattered(case, np.full(g.size, g.mean()))))
    out.append(("the gradient is multiplied by the maximum's value; the derivative of a maximum "
                "is 1 at the winning input, so pass grad_out on unchanged",
                scattered(case, (g * case["out"].astype(np.float64)).reshape(-1))))
    return out


def columns_only(case: Case) -> tuple[str, np.ndarray]:
    """rows[:, argmax] = grad.reshape(-1): one index array on the column axis alone writes every
    window's gradient into every row, at all the maxima's offsets (the last write winning)."""
    (kh, kw), (sh, sw), (ph, pw) = geometry(case)
    n, c, h, w = case["input"].shape
    best = pool_windows(case["input"], case, -np.inf).reshape(-1, kh * kw).argmax(-1)
    row = np.zeros(kh * kw)
    row[best] = case["grad_out"].astype(np.float64).reshape(-1)
    padded = (n, c, h + 2 * ph, w + 2 * pw)
    out = convolution.col2im(np.tile(row, (len(best), 1)), (n * c, 1) + padded[2:],
                             kh, kw, sh, sw).reshape(padded)
    return ("the rows were indexed with the argmax alone (rows[:, argmax] = ...), which writes "
            "into every row at once; pair it with the row numbers: "
            "rows[np.arange(len(argmax)), argmax] = grad.reshape(-1)",
            out[:, :, ph:ph + h, pw:pw + w])


def flat_rows(case: Case) -> tuple[str, np.ndarray]:
    """rows.flat[argmax] = grad.reshape(-1): the window index used as a flat index into the
    whole (windows, kh*kw) matrix lands in its first row (the last write winning)."""
    (kh, kw), (sh, sw), (ph, pw) = geometry(case)
    n, c, h, w = case["input"].shape
    best = pool_windows(case["input"], case, -np.inf).reshape(-1, kh * kw).argmax(-1)
    rows = np.zeros((len(best), kh * kw))
    rows.flat[best] = case["grad_out"].astype(np.float64).reshape(-1)
    padded = (n, c, h + 2 * ph, w + 2 * pw)
    out = convolution.col2im(rows, (n * c, 1) + padded[2:], kh, kw, sh, sw).reshape(padded)
    return ("the argmax was used as a flat index into the whole matrix (rows.flat[argmax] = "
            "...), so every gradient lands in its first row; offset each by its row, "
            "rows.flat[np.arange(len(argmax)) * kh * kw + argmax], or index "
            "rows[np.arange(len(argmax)), argmax]", out[:, :, ph:ph + h, pw:pw + w])


def window_index_as_position(case: Case) -> list[tuple[str, np.ndarray]]:
    """The saved argmax (an offset 0 .. kh*kw - 1 inside a window) used as a flat index into
    the padded input, of the whole batch or of each (n, c) plane, with no window start added."""
    (kh, kw), _, (ph, pw) = geometry(case)
    n, c, h, w = case["input"].shape
    hp, wp = h + 2 * ph, w + 2 * pw
    best = pool_windows(case["input"], case, -np.inf).argmax(-1).reshape(n * c, -1)
    g = case["grad_out"].astype(np.float64).reshape(n * c, -1)
    whole, planes = np.zeros(n * c * hp * wp), np.zeros((n * c, hp * wp))
    np.add.at(whole, best.ravel(), g.ravel())
    np.add.at(planes, (np.arange(n * c)[:, None], best), g)
    fix = ("; that index counts within the window: the input position is the window's start "
           "(sh * i, sw * j) plus (argmax // kw, argmax % kw)")
    return [(f"the window index saved by the forward (0 to {kh * kw - 1}) is used as a flat index "
             f"into the whole padded input{fix}",
             whole.reshape(n, c, hp, wp)[:, :, ph:ph + h, pw:pw + w]),
            (f"the window index saved by the forward (0 to {kh * kw - 1}) is used as a flat index "
             f"into each channel's padded image{fix}",
             planes.reshape(n, c, hp, wp)[:, :, ph:ph + h, pw:pw + w])]


OVERWRITE = ("where windows overlap, a later window's gradient overwrote an earlier one: add "
             "them (+=), an input that is the maximum of two windows gets both")


def backward_mistakes(case: Case) -> list[tuple[str, np.ndarray]]:
    return [("the gradient is spread evenly over each window (that is average pooling's "
             "backward); max pooling sends all of it to the window's maximum", route(case, "spread")),
            ("the gradient went to the whole window, every input of it; max pooling sends it to "
             "the window's maximum only", route(case, "window")),
            ("the gradient went to the first entry of each window, not to its maximum: send "
             "it to the argmax saved in the forward", route(case, "corner")),
            ("the gradient went to the LAST maximum of a window; on ties PyTorch routes it to the "
             "first one (row-major order), as argmax does", route(case, "last")),
            ("the gradient went to every maximum of a window; on ties PyTorch routes it to the "
             "first one only (row-major order), as argmax does", route(case, "all")),
            (OVERWRITE, route(case, write="assign")),
            (OVERWRITE + " (you wrote each whole window, zeros included, with =)",
             route(case, write="assign_window")),
            ("the argmax was unravelled with rows and columns swapped: flat index f of a (kh, kw) "
             "window is row f // kw, column f % kw (np.unravel_index(f, (kh, kw)))",
             route(case, swap=True)),
            ("the stride is ignored: the window of output pixel (i, j) starts at (sh * i, sw * j) "
             "of the padded input, not at (i, j)", route(case, stride=False)),
            ("every window's gradient is put back at the top-left corner: the window of output "
             "(i, j) starts at (sh * i, sw * j) of the padded input, add that offset",
             route(case, origin=False)),
            *window_starts(case),
            ("the argmax was unravelled with divmod(f, kh); a (kh, kw) window has rows of kw "
             "entries, so flat index f is row f // kw, column f % kw", route(case, unravel_by_kh=True)),
            ("the maximum gets 1 instead of grad_out's value: multiply by the gradient arriving "
             "from above (chain rule)", route(case, ones=True))] + flattening_mistakes(case)


def window_map(case: Case, got: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The gradient sent to another offset of each window than its maximum's, by one rule
    f -> m(f) on the flat window index, fitted from `got` (every f seen at a maximum, each
    sent whole to one offset): the rule, named, and the gradient it gives; [] when no such
    rule is pinned down by this case or it is the right one."""
    (kh, kw), (sh, sw), (ph, pw) = geometry(case)
    n, c, h, w = case["input"].shape
    if got.shape != (n, c, h, w) or not np.isfinite(got).all():
        return []
    k = kh * kw
    win = pool_windows(case["input"], case, -np.inf)
    best = win.argmax(-1)
    g = case["grad_out"].astype(np.float64)
    seen = sorted(set(best.ravel().tolist()))
    columns = np.zeros((n, c, h + 2 * ph, w + 2 * pw, len(seen), k))
    for i, j in np.ndindex(*best.shape[2:]):
        for f_index, f in enumerate(seen):
            chosen = (best[:, :, i, j] == f) * g[:, :, i, j]
            for m in range(k):
                columns[:, :, sh * i + m // kw, sw * j + m % kw, f_index, m] += chosen
    a = columns[:, :, ph:ph + h, pw:pw + w].reshape(got.size, -1)
    if np.linalg.matrix_rank(a) < a.shape[1]:
        return []
    fit = np.linalg.lstsq(a, got.ravel().astype(np.float64), rcond=None)[0].reshape(len(seen), k)
    rule = np.rint(fit)
    if not np.allclose(fit, rule, atol=1e-6) or not ((rule == 0) | (rule == 1)).all() or \
            not (rule.sum(axis=1) == 1).all():
        return []
    to = {f: int(rule[f_index].argmax()) for f_index, f in enumerate(seen)}
    if all(m == f for f, m in to.items()):
        return []
    moves = {f: (divmod(f, kw), divmod(m, kw)) for f, m in to.items()}
    rules = (("the window index is counted from the other end (kh*kw - 1 - argmax, the window "
              "turned by 180 degrees)", lambda a_, b_: (kh - 1 - a_, kw - 1 - b_)),
             ("the window's rows are counted from the bottom (row kh - 1 - a for row a)",
              lambda a_, b_: (kh - 1 - a_, b_)),
             ("the window's columns are counted from the right (column kw - 1 - b for column b)",
              lambda a_, b_: (a_, kw - 1 - b_)),
             ("the window's rows and columns are swapped (offset (b, a) for (a, b))",
              lambda a_, b_: (b_, a_)))
    said = next((text for text, move in rules
                 if all(move(*frm) == dst for frm, dst in moves.values())), "")
    if not said:
        shown = [f"{frm} to {dst}" for frm, dst in moves.values() if frm != dst][:3]
        said = ("a window whose maximum sits at offset (a, b) sends its gradient to another "
                f"offset of the window ({', '.join(shown)})")
    text = (f"{said}: send each window's gradient to its maximum itself, row argmax // kw, "
            "column argmax % kw of the window")
    return [(text, (a @ rule.ravel()).reshape(got.shape))]


def window_starts(case: Case) -> list[tuple[str, np.ndarray]]:
    """The gradient routed to windows that start at another step than (sh*i, sw*j): one
    stride for both directions, the two swapped, or the kernel."""
    (kh, kw), (sh, sw), _ = geometry(case)
    out, seen = [], {(sh, sw), (1, 1)}
    for step, text in (((sw, sw), "the rows step by sw, the width's stride"),
                       ((sh, sh), "the columns step by sh, the height's stride"),
                       ((sw, sh), "the strides are swapped"),
                       ((kh, kw), "the windows step by the kernel size"),
                       ((sh, 1), "the stride is not applied to the columns (they step by 1)"),
                       ((1, sw), "the stride is not applied to the rows (they step by 1)")):
        if step not in seen:
            seen.add(step)
            out.append((f"the gradient goes back to windows placed with another step: {text}; "
                        "window (i, j) starts at (sh * i, sw * j) of the padded input",
                        route(case, steps=step)))
    return out


def backwards_of(fn: Callable[..., Any]) -> list[Callable[..., Any]]:
    """The backward of each Function class `fn` names, with the functions taking ctx that it
    calls, and those they call (a few at most)."""
    scope = getattr(fn, "__globals__", {})
    todo = [getattr(scope.get(name), "backward", None)
            for name in getattr(getattr(fn, "__code__", None), "co_names", ())
            if isinstance(scope.get(name), type)]
    found: list[Callable[..., Any]] = []
    while todo and len(found) < 8:
        f = todo.pop(0)
        code = getattr(f, "__code__", None)
        if code is None or code.co_varnames[:1] != ("ctx",) or any(f is g for g in found):
            continue
        found.append(f)
        todo += [getattr(f, "__globals__", {}).get(name) for name in code.co_names]
    return found


def rows_paired_with_every_index(backwards: list[Callable[..., Any]]) -> str:
    """'`grad_cols[:, ctx.argmax] = ...` pairs every row with every saved index ...' when a
    backward writes into `a[:, idx]` with an index array after the `:` (not a number, nor a
    loop's variable, one column at a time); "" otherwise."""
    for f in backwards:
        source = _own_source(f)
        tree = ast.parse(source) if source else ast.Module(body=[], type_ignores=[])
        looped = {n.target.id for n in ast.walk(tree)
                  if isinstance(n, ast.For) and isinstance(n.target, ast.Name)}
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AugAssign) else []
            for t in targets:
                if not isinstance(t, ast.Subscript) or not isinstance(t.slice, ast.Tuple) or \
                        len(t.slice.elts) != 2:
                    continue
                rows, index = t.slice.elts
                bare = isinstance(rows, ast.Slice) and \
                    rows.lower is None and rows.upper is None and rows.step is None
                if bare and not isinstance(index, (ast.Slice, ast.Constant)) and \
                        not (isinstance(index, ast.Name) and index.id in looped):
                    name, idx = ast.unparse(t.value), ast.unparse(index)
                    sign = "+=" if isinstance(node, ast.AugAssign) else "="
                    return (f"`{ast.unparse(t)} {sign} ...` pairs every row with every saved index "
                            f"(the `:` takes all rows for each entry of {idx}), so each row gets "
                            "its gradient at every offset that is some window's maximum: pair row "
                            f"m with its own index, {name}[np.arange(len({idx})), {idx}]")
    return ""


def argmax_axis_slip(err: BaseException) -> str:
    """'your forward saves `ctx.argmax = cols.argmax(axis=0)`: 4 values, ...' when a backward
    (a frame with ctx and grad) fails while the argmax its forward saved holds another number
    of values than there are windows (grad's size), and the forward's source takes it over
    axis 0; "" otherwise."""
    ctx, grad = None, None
    for frame, _ in traceback_frames(err.__traceback__):
        local = frame.f_locals
        if hasattr(local.get("ctx"), "argmax") and hasattr(local.get("grad"), "size"):
            ctx, grad = local["ctx"], local["grad"]
    saved = np.asarray(getattr(ctx, "argmax", None))
    if ctx is None or saved.dtype.kind not in "iu" or saved.size == grad.size:
        return ""
    for forward in _forwards_of(err.__traceback__):
        source = _own_source(forward)
        for node in ast.walk(ast.parse(source)) if source else ():
            if not (isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Attribute) and t.attr == "argmax" for t in node.targets)):
                continue
            for call in ast.walk(node.value):
                axis = [k.value for k in getattr(call, "keywords", []) if k.arg == "axis"]
                if isinstance(call, ast.Call) and ast.unparse(call.func).endswith("argmax") and \
                        len(axis) == 1 and isinstance(axis[0], ast.Constant) and axis[0].value == 0:
                    return (f"your forward saves `ctx.argmax = {ast.unparse(node.value)}`, "
                            f"{saved.size} values, one per window position, where the backward "
                            f"needs one per window ({grad.size}, a row of cols each): axis=0 "
                            "runs across the windows; take the argmax within each row, axis=1")
    return ""


def _probe_max_pool2d(fn: Callable[..., Any], backward: bool = True) -> Outputs:
    outputs: Outputs = {}
    if backward:
        fancy = rows_paired_with_every_index(backwards_of(fn))
        if fancy:
            outputs["max_pool2d/rows_paired_with_every_index"] = np.array(fancy)
    for name, case in cases("max_pool2d").items():
        p = pool_params(case)
        outputs.update(probe_layer(fn, "max_pool2d", name, ("input",),
                                   (p["kernel_size"], p["stride"], p["padding"]), backward))
    return outputs


def pool_geometries() -> list[Geometry]:
    """(N, C, (H, kh, sh, ph), (W, kw, sw, pw)) of each case, in the order they are run."""
    out = []
    for case in cases("max_pool2d").values():
        (kh, kw), (sh, sw), (ph, pw) = geometry(case)
        n, c, h, w = case["input"].shape
        out.append((n, c, (h, kh, sh, ph), (w, kw, sw, pw)))
    return out


def call(case: Case) -> str:
    """'max_pool2d(input (1, 2, 6, 7), kernel_size=3, stride=2, padding=1)'."""
    return describe("max_pool2d", case, ("input",), **pool_params(case))


def one_axis_max(case: Case, got: Any) -> None:
    """Raise when `got` (N, C, Ho, Wo, k) holds the maxima over one window axis only, the
    other window axis left over (a max over axis -1 or -2 of the (kh, kw) windows)."""
    got = np.asarray(got)
    expected = case["out"].shape
    if got.ndim != 5 or got.shape[:4] != tuple(expected):
        return
    (kh, kw), _, _ = geometry(case)
    win = pool_windows(case["input"], case, -np.inf).reshape(*expected, kh, kw)
    for axis, over, left in ((-1, "columns", "rows"), (-2, "rows", "columns")):
        model = win.max(axis=axis)
        if model.shape == got.shape and np.allclose(got, model, rtol=1e-4, atol=1e-5):
            raise CheckFailed(
                f"{call(case)}: wrong shape {tuple(got.shape)}, expected {tuple(expected)}: the "
                f"max is taken over each window's {over} only (axis={axis}), so its {left} are "
                f"left as an extra last axis; take it over both window axes, "
                f".max(axis=(-2, -1))")


def channels_maxed_together(case: Case, got: Any) -> None:
    """Raise when `got` is (N, Ho, Wo), the maxima over all channels' windows at once: im2col
    run on (N, C, H, W) with the channels not folded into the batch."""
    got, expected = np.asarray(got), case["out"]
    n, c, ho, wo = expected.shape
    if c < 2 or got.shape != (n, ho, wo) or \
            not np.allclose(got, expected.max(axis=1), rtol=1e-4, atol=1e-5):
        return
    h, w = case["input"].shape[2:]
    raise CheckFailed(
        f"{call(case)}: wrong shape {tuple(got.shape)}, expected {tuple(expected.shape)}: the "
        f"channel axis is gone and each value is the max over all {c} channels' windows, so "
        f"im2col ran on the (N, C, H, W) input with the channels in each row: fold the "
        f"channels into the batch first, x.reshape({n * c}, 1, {h}, {w}) (padded likewise), "
        f"and reshape the maxima to (N, C, H_out, W_out)")


def _verdict_forward(outputs: Outputs) -> None:
    """Output shapes (the size rule, the default stride), then values."""
    names = tuple(cases("max_pool2d"))
    check_returns_tensor("max_pool2d", names, outputs)
    items = []
    for name in names:
        case = cases("max_pool2d")[name]
        (kh, kw), (sh, sw), (ph, pw) = geometry(case)
        h, w = case["input"].shape[2:]
        items.append((call(case), outputs[f"{name}/out"].shape, case["out"].shape,
                      [(h, kh, sh, ph), (w, kw, sw, pw)]))
    defaults = [cases("max_pool2d")[name]["params"]["stride"] is None for name in names]
    got_stride_one = [tuple(got[2:]) == tuple((h + 2 * p - k) // (1 if default else s) + 1
                                              for h, k, s, p in dims)
                      for (_, got, _, dims), default in zip(items, defaults)]
    if any(defaults) and all(got_stride_one) and any(g != e for _, g, e, _ in items):
        raise CheckFailed("max_pool2d: wrong output shape where stride=None: the stride "
                          "defaults to kernel_size (non-overlapping windows), not 1")
    for name in names:
        one_axis_max(cases("max_pool2d")[name], outputs[f"{name}/out"])
        channels_maxed_together(cases("max_pool2d")[name], outputs[f"{name}/out"])
    unpadded = sized_without_padding(items, [outputs[f"{name}/out"] for name in names],
                                     [cases("max_pool2d")[name]["out"] for name in names])
    if unpadded:
        raise CheckFailed(unpadded)
    diagnose_size("max_pool2d", items, CONV_SIZE_MISTAKES,
                  "out: (N, C, H_out, W_out), H_out = (H + 2*padding - kernel) // stride + 1, "
                  "stride = kernel_size when None")
    for (what, *_), name in zip(items, names):
        case = cases("max_pool2d")[name]
        diagnose_values(what, outputs[f"{name}/out"], case["out"], lambda: forward_mistakes(case),
                        layer_sizes(case))


def _verdict_max_pool2d(outputs: Outputs) -> None:
    _verdict_forward(outputs)
    for name, case in cases("max_pool2d").items():
        label = f"{call(case)}: gradient with respect to input (input.grad)"
        if not outputs.get(f"{name}/connected", True):
            raise CheckFailed(f"{call(case)}: the output does not require grad, so backward "
                              "cannot reach the input: build it with your Function's .apply(...)")
        got = outputs.get(f"{name}/grad_input")
        if got is None or got.shape != case["grad_input"].shape or \
                not np.allclose(got, case["grad_input"], rtol=1e-4, atol=1e-5):
            saved_params_verdict(call(case), name, outputs, case)
        returned_gradients_verdict(call(case), name, outputs, [("input", case["input"].shape)],
                                   padding=geometry(case)[2],
                                   rows=(case["out"].size, int(np.prod(geometry(case)[0]))))
        if f"{name}/grad_input" not in outputs:
            raise CheckFailed(f"{label} is None: backward must return the input's gradient")
        got = outputs[f"{name}/grad_input"]
        fancy = outputs.get("max_pool2d/rows_paired_with_every_index")
        if fancy is not None and not (got.shape == case["grad_input"].shape and np.allclose(
                got, case["grad_input"], rtol=1e-4, atol=1e-5)):
            raise CheckFailed(f"{label}: wrong values: {fancy}")
        diagnose_values(label, got, case["grad_input"],
                        lambda: backward_mistakes(case) + window_map(case, np.asarray(got)),
                        layer_sizes(case))


ENGINE_OPS = ("minitorch_unet.functional.max_pool2d", "minitorch_unet.pooling.MaxPool2d",
              "minitorch_unet.pooling.MaxPool2x2", "minitorch_unet.nn.MaxPool2d")

register(Exercise(
    grade_id="check_max_pool2d_forward", lesson=LESSON, function="max_pool2d",
    probe=lambda fn: _probe_max_pool2d(fn, backward=False), verdict=_verdict_forward,
    success="max_pool2d's forward matches PyTorch on every reference case (the backward comes next).",
    engine_ops=ENGINE_OPS,
    explain_error=lambda err: cols_transposed(err) or reshape_size_slip(err, pool_geometries())
    or col2im_call_fit(err)))

register(Exercise(
    grade_id="check_max_pool2d", lesson=LESSON, function="max_pool2d",
    probe=_probe_max_pool2d, verdict=_verdict_max_pool2d, points=2,
    success="max_pool2d matches PyTorch (output and gradient routing) on every reference case.",
    engine_ops=ENGINE_OPS,
    explain_error=lambda err: argmax_axis_slip(err) or cols_transposed(err) or
    reshape_size_slip(err, pool_geometries()) or col2im_call_fit(err)))
