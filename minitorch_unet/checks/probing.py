"""Diagnosis by probing: a convolution-like answer run again on inputs built to show what it
computes, whatever the mistake, and one sentence on what those runs reveal.

For conv2d and conv_transpose2d, three probes, each tiny and each with a right output known
without any reference engine:
- batch: only sample 0 of the input is non-zero (no bias), so sample 1 of the output is 0;
- channel: only input channel 0 is non-zero and every weight from it is 0, so the output is 0;
- pixel: one input pixel and one kernel tap are 1, so exactly one output pixel is 1, at a place
  the geometry fixes (a flip or an offset moves it).
For col2im, one row of the columns lit, column k holding 2**k: it must land on one window of one
sample, each entry at its offset; and columns holding 1, 2, 3, ... on windows that do not
overlap, so that each output value is one entry and where it lands can be fitted.
For im2col, an input whose entries are 1, 2, 3, ...: every column entry tells which pixel it
copied, and the index arithmetic behind those pixels is fitted.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from .core import CheckFailed, Outputs

# The pixel probe: input (1, 1, 7, 8) lit at PIXEL, kernel (1, 1, 3, 3) lit at TAP, stride 1,
# padding 0.
SIZE, PIXEL, TAP, K = (7, 8), (3, 5), (0, 2), 3


def probe_inputs(in_axis: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (x (N, C, H, W), weight); in_axis: the weight's input-channel axis (conv2d's
    weight is (O, C, kh, kw): 1; conv_transpose2d's is (C, O, kh, kw): 0)."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 2, *SIZE))
    weight = rng.standard_normal((3, 2, K, K) if in_axis == 1 else (2, 3, K, K))
    batch = x.copy()
    batch[1:] = 0
    channel, cut = x.copy(), weight.copy()
    channel[:, 1:] = 0
    np.moveaxis(cut, in_axis, 0)[0] = 0
    pixel, tap = np.zeros((1, 1, *SIZE)), np.zeros((1, 1, K, K))
    pixel[(0, 0, *PIXEL)], tap[(0, 0, *TAP)] = 1.0, 1.0
    return {"batch": (batch, weight), "channel": (channel, cut), "pixel": (pixel, tap)}


Run = Callable[[np.ndarray, np.ndarray, Callable[[tuple[int, ...]], np.ndarray] | None],
              dict[str, Any]]


def upstream(name: str, in_axis: int) -> Callable[[tuple[int, ...]], np.ndarray]:
    """The gradient from above for probe `name`, given the output's shape: random with sample
    1 at 0 (batch), random (channel), or 1 at the one pixel the forward lights (pixel)."""
    def build(shape: tuple[int, ...]) -> np.ndarray:
        grad = np.random.default_rng(13).standard_normal(shape)
        if name == "batch":
            grad[1:] = 0
        if name == "pixel":
            grad = np.zeros(shape)
            grad[(0, 0, *_lit_at(in_axis))] = 1.0
        return grad
    return build


def run_probes(run: Run, in_axis: int, backward: bool = False) -> Outputs:
    """'probe/<name>/<field>' for each probe: run(x, weight, grad) -> {'out': ..., and with a
    grad (when `backward`) 'grad_input', 'grad_weight'}, at stride 1, padding 0, no bias. A
    probe that raises is left out: the reference cases report errors, probes only explain."""
    outputs = {}
    for name, (x, weight) in probe_inputs(in_axis).items():
        try:
            found = run(x.copy(), weight.copy(), upstream(name, in_axis) if backward else None)
            outputs.update({f"probe/{name}/{field}": np.asarray(value, dtype=np.float64)
                            for field, value in found.items() if value is not None})
        except Exception:  # noqa: BLE001 (a probe only adds evidence; it never fails a check)
            continue
    return outputs


def _lit_at(in_axis: int, flipped: bool = False) -> tuple[int, int]:
    """Where the pixel probe's one output pixel lies (a correlation for conv2d, a scatter for
    conv_transpose2d), or would lie with the kernel flipped."""
    a, b = (K - 1 - TAP[0], K - 1 - TAP[1]) if flipped else TAP
    if in_axis == 1:
        return PIXEL[0] - a, PIXEL[1] - b
    return PIXEL[0] + a, PIXEL[1] + b


WHAT = {"out": "output", "grad_input": "input's gradient", "grad_weight": "weight's gradient"}


def _nonzero(value: np.ndarray | None) -> bool:
    return value is not None and value.size > 0 and float(np.abs(value).max()) > 1e-9


def finding(outputs: Outputs, in_axis: int, field: str = "out") -> str:
    """What the probes reveal about `field` ('out', 'grad_input' or 'grad_weight'), in one
    sentence; "" when they show nothing wrong."""
    what = WHAT[field]
    grads = "" if field == "out" else " and the gradient from above"
    batch = outputs.get(f"probe/batch/{field}")
    if field != "grad_weight" and batch is not None and batch.ndim == 4 and batch.shape[0] == 2 \
            and _nonzero(batch[1]):
        return (f"probing with only sample 0 of the input{grads} non-zero (no bias), your "
                f"{what} for sample 1 is not 0: the batch leaks, sample 1's result depends on "
                "sample 0's values; each sample's result must come from that sample alone")
    channel = outputs.get(f"probe/channel/{field}")
    if channel is not None and channel.ndim == 4:
        must_be_zero = {"out": channel, "grad_input": channel[:, :1],
                        "grad_weight": np.moveaxis(channel, in_axis, 0)[1:]}[field]
        if _nonzero(must_be_zero):
            pair = "weight[o, c]" if in_axis == 1 else "weight[c, o]"
            return ("probing with only input channel 0 non-zero and every weight from it set to "
                    f"0 (no bias), your {what} is not 0 where it must be: input channels meet "
                    f"the wrong weights (input channel c meets {pair} only)")
    pixel = outputs.get(f"probe/pixel/{field}")
    grow = -1 if in_axis == 1 else 1  # a correlation shrinks the image, a scatter grows it
    shape = {"out": (1, 1, *(n + grow * (K - 1) for n in SIZE)), "grad_input": (1, 1, *SIZE),
             "grad_weight": (1, 1, K, K)}[field]
    if pixel is None or pixel.shape != shape:
        return ""
    lit = [tuple(int(i) for i in p[2:]) for p in np.argwhere(np.abs(pixel) > 1e-9)]
    right = {"out": _lit_at(in_axis), "grad_input": PIXEL, "grad_weight": TAP}[field]
    # a flipped kernel moves the lit pixel by `turn` in the forward, and back in the backward
    turn = tuple(f - r for f, r in zip(_lit_at(in_axis, flipped=True), _lit_at(in_axis)))
    flipped = {"out": _lit_at(in_axis, flipped=True), "grad_weight": (K - 1 - TAP[0], K - 1 - TAP[1]),
               "grad_input": tuple(p - t for p, t in zip(PIXEL, turn))}[field]
    if lit == [right]:
        return ""
    listed = ", ".join(map(str, lit[:3])) + (", ..." if len(lit) > 3 else "")
    seen = "nothing" if not lit else listed if len(lit) == 1 else f"{len(lit)} pixels, {listed}"
    said = (f"probing with one input pixel lit at {PIXEL}, one kernel tap lit at {TAP}"
            + ("" if field == "out" else f" and the gradient from above lit at {_lit_at(in_axis)}")
            + f" (stride 1, padding 0), the {what} should light {right} alone; yours lights {seen}")
    if lit == [flipped]:
        return said + ": the kernel is flipped (or read from the wrong end)"
    if len(lit) == 1:
        dy, dx = lit[0][0] - right[0], lit[0][1] - right[1]
        return said + f": moved by {dy} rows and {dx} columns (an offset or a window origin is off)"
    return said


def unexplained(message: str) -> bool:
    """True for expect_close's bare 'wrong values' message, which names no mistake."""
    return bool(re.search(r"\(off by [^)]*\)$", message))


Explain = Callable[[Outputs, str], str]  # (outputs, the verdict's message) -> a finding or ""


def with_probes(verdict: Callable[[Outputs], None], explain: Explain) -> Callable[[Outputs], None]:
    """`verdict`, with what the probes reveal added to a message that names no mistake."""
    def probed(outputs: Outputs) -> None:
        try:
            verdict(outputs)
        except CheckFailed as err:
            found = explain(outputs, str(err)) if unexplained(str(err)) else ""
            if found:
                raise CheckFailed(f"{err}: {found}") from None
            raise
    return probed


def conv_findings(in_axis: int) -> Explain:
    """The conv probes' finding on the field the message is about (output or a gradient)."""
    def explain(outputs: Outputs, message: str) -> str:
        field = next((f for f in ("grad_input", "grad_weight")
                      if f"with respect to {f[5:]}" in message), "out")
        return finding(outputs, in_axis, field)
    return explain


# col2im's probe: columns of an image COLUMN_SHAPE, 3x3 windows at stride 1 (3 x 4 windows per
# sample), with only the row of sample 1's window (1, 2) lit.
COLUMN_SHAPE, LIT_WINDOW = (2, 2, 5, 6), (1, 1, 2)


def col2im_probe(fn: Callable[..., Any]) -> Outputs:
    """'probe/col2im': fn(cols, COLUMN_SHAPE, 3, 3, 1, 1) with one row of cols lit (if it runs):
    column k of that row holds 2**k, so every output value tells which columns landed there."""
    n, c, h, w = COLUMN_SHAPE
    ho, wo = h - K + 1, w - K + 1
    cols = np.zeros((n * ho * wo, c * K * K))
    b, i, j = LIT_WINDOW
    cols[(b * ho + i) * wo + j] = 2.0 ** np.arange(c * K * K)
    try:
        return {"probe/col2im": np.asarray(fn(cols, COLUMN_SHAPE, K, K, 1, 1), dtype=np.float64)}
    except Exception:  # noqa: BLE001 (a probe only adds evidence; it never fails a check)
        return {}


def _landings(got: np.ndarray) -> dict[tuple[int, int, int], list[tuple[int, ...]]] | None:
    """Column (c, a, b) of the lit row -> the places (sample, channel, row, column) its 2**k
    reached; None when the values are not sums of those powers (the answer scaled them)."""
    count = COLUMN_SHAPE[1] * K * K
    whole = np.rint(got)
    if not np.allclose(got, whole, atol=1e-6) or whole.min() < 0 or whole.max() >= 2 ** count:
        return None
    places: dict[tuple[int, int, int], list[tuple[int, ...]]] = {
        (k // (K * K), k // K % K, k % K): [] for k in range(count)}
    for place in np.argwhere(whole > 0):
        bits = int(whole[tuple(place)])
        for k in range(count):
            if bits >> k & 1:
                places[(k // (K * K), k // K % K, k % K)].append(tuple(int(v) for v in place))
    return places


def _landing_rule(places: dict[tuple[int, int, int], list[tuple[int, ...]]]) -> str:
    """One clause on where the lit row's columns went, when it is not their window."""
    b, i, j = LIT_WINDOW
    lost = [key for key, where in places.items() if not where]
    if len(lost) == len(places):
        return ""
    if any(len(where) > 1 for where in places.values()):
        key = next(key for key, where in places.items() if len(where) > 1)
        return (f"column (c, a, b) = {key} lands {len(places[key])} times; each column of a row "
                "belongs at one place")
    if lost:
        shown = ", ".join(map(str, lost[:3])) + (" ..." if len(lost) > 3 else "")
        return (f"the columns (c, a, b) = {shown} land nowhere: each column of a row belongs "
                "at one place of its window")
    moved = {key: where[0] for key, where in places.items()}
    offsets = {key: (r - i, q - j) for key, (_, _, r, q) in moved.items()}
    if all(s == b for s, *_ in moved.values()) and all(ch == key[0] for key, (_, ch, _, _) in
                                                       moved.items()):
        rules = (("the column offset of entry (c, a, b) is its row offset a: the column index "
                  "must use b (j*sw + b)", lambda a, bb: (a, a)),
                 ("the row offset of entry (c, a, b) is its column offset b: the row index "
                  "must use a (i*sh + a)", lambda a, bb: (bb, bb)),
                 ("the kernel offsets are swapped: entry (c, a, b) goes to row offset b and "
                  "column offset a; it belongs at (a, b)", lambda a, bb: (bb, a)))
        for text, rule in rules:
            if all(offsets[key] == rule(key[1], key[2]) for key in moved):
                return text
    key = next(key for key in moved if moved[key] != (b, key[0], i + key[1], j + key[2]))
    s_, ch, r, q = moved[key]
    return (f"column (c, a, b) = {key} lands on sample {s_}, channel {ch}, row {r}, column {q}; "
            f"it belongs on sample {b}, channel {key[0]}, row {i + key[1]}, column {j + key[2]} "
            "(row i*sh + a, column j*sw + b of its window)")


def col2im_finding(outputs: Outputs, message: str = "") -> str:
    """Where col2im put every entry of cols (when the index probe can tell) or the one lit row
    of columns, when it is not its window."""
    found = col2im_index_finding(outputs)
    if found:
        return found
    got = outputs.get("probe/col2im")
    if got is None or got.shape != COLUMN_SHAPE:
        return ""
    b, i, j = LIT_WINDOW
    right = np.zeros(COLUMN_SHAPE)
    right[b, :, i:i + K, j:j + K] = (2.0 ** np.arange(COLUMN_SHAPE[1] * K * K)).reshape(-1, K, K)
    if np.allclose(got, right):
        return ""
    lit = np.argwhere(np.abs(got) > 1e-9)
    said = (f"probing with only the row of cols for sample {b}'s window ({i}, {j}) lit, the "
            f"output should be non-zero on sample {b}, rows {i}-{i + K - 1}, columns "
            f"{j}-{j + K - 1} only; yours lights ")
    if not lit.size:
        return said + "nothing"
    samples = sorted({int(s) for s in lit[:, 0]})
    rows, columns = (f"{lit[:, a].min()}-{lit[:, a].max()}" for a in (2, 3))
    said += f"sample {', '.join(map(str, samples))}, rows {rows}, columns {columns}"
    if np.allclose(np.sort(got, axis=None), np.sort(right, axis=None)) and \
            not np.allclose(got != 0, right != 0):
        return said + (": the rows of cols are read in another order; they run over (n, i, j): "
                       "the sample first, then the window's row, then its column")
    places = _landings(got)
    rule = _landing_rule(places) if places else ""
    return said + (f": {rule}" if rule else "")


# The im2col probe: x (2, 2, 22, 33) holding 1, 2, 3, ... in memory order, kernel (2, 3),
# stride (4, 5): Ho = 6, Wo = 7, and no two of kh, kw, sh, sw alike.
INDEX_SHAPE, INDEX_KERNEL, INDEX_STRIDE = (2, 2, 22, 33), (2, 3), (4, 5)
_TERMS = ("n", "c", "i", "j", "a", "b")


def im2col_index_probe(fn: Callable[..., Any]) -> Outputs:
    """'probe/im2col': fn(x, 2, 3, 4, 5) on x = 1, 2, 3, ... (if it runs)."""
    x = np.arange(1.0, np.prod(INDEX_SHAPE) + 1).reshape(INDEX_SHAPE)
    try:
        return {"probe/im2col": np.asarray(fn(x, *INDEX_KERNEL, *INDEX_STRIDE), dtype=np.float64)}
    except Exception:  # noqa: BLE001 (a probe only adds evidence; it never fails a check)
        return {}


def _formula(coefficients: np.ndarray) -> str:
    """[0, 0, 4, 0, 1, 0, 0] -> '4*i (sh*i) + a': a factor equal to one of the probe's sizes
    is named too."""
    sizes = dict(zip((*INDEX_KERNEL, *INDEX_STRIDE, 6, 7), ("kh", "kw", "sh", "sw", "Ho", "Wo")))
    parts = [(("" if k == 1 else f"{k}*") + name if k != -1 else f"-{name}")
             + (f" ({sizes[k]}*{name})" if k in sizes else "")
             for k, name in zip(coefficients[:-1].astype(int), _TERMS) if k]
    if coefficients[-1]:
        parts.append(str(int(coefficients[-1])))
    return " + ".join(parts).replace("+ -", "- ") or "0"


def _unfilled(zero: np.ndarray, rows: tuple[int, int, int], columns: tuple[int, int, int]) -> str:
    """Which whole columns (c, a, b) or rows (n, i, j) of the probe's columns stay 0, when the
    zeros are exactly such a set; "" otherwise."""
    for mask, axis, shape, names in ((zero.all(axis=0), 0, columns, ("channel c", "kernel row a",
                                                                     "kernel column b")),
                                     (zero.all(axis=1), 1, rows, ("sample n", "window row i",
                                                                  "window column j"))):
        if not mask.any() or not np.array_equal(zero, np.broadcast_to(
                mask[None, :] if axis == 0 else mask[:, None], zero.shape)):
            continue
        grid = mask.reshape(shape)
        for k, name in enumerate(names):
            empty = [v for v in range(shape[k]) if np.take(grid, v, axis=k).all()]
            if empty and np.array_equal(grid, np.isin(np.indices(shape)[k], empty)):
                last = empty == list(range(shape[k] - len(empty), shape[k]))
                where = "rows" if axis else "columns"
                which = f"the last {len(empty)} of {shape[k]}" if last else f"of {shape[k]}"
                return (f"the {where} of {name} = {', '.join(map(str, empty))} ({which}) stay 0, "
                        "never filled" + (": a loop that stops short (range(n - 1) for "
                                          "range(n)?)" if last else ""))
    return ""


def _row_rule(windows: np.ndarray, rows: np.ndarray) -> str:
    """The row of cols that holds window (n, i, j), as a rule in n, i, j, when one whole-number
    linear rule fits every pair and differs from n*Ho*Wo + i*Wo + j; "" otherwise."""
    n, _, h, w = INDEX_SHAPE
    (kh, kw), (sh, sw) = INDEX_KERNEL, INDEX_STRIDE
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    if len(rows) < 4:
        return ""
    terms = np.column_stack([windows, np.ones(len(rows))])
    fit = np.rint(np.linalg.lstsq(terms, rows, rcond=None)[0])
    if not np.array_equal(terms @ fit, rows) or np.array_equal(fit, [ho * wo, wo, 1, 0]):
        return ""
    return _formula(np.array([fit[0], 0, fit[1], fit[2], 0, 0, fit[3]])) + \
        f" (it must be n*Ho*Wo + i*Wo + j = {ho * wo}*n + {wo}*i + j)"


def _im2col_rows(got: np.ndarray) -> str:
    """Where each window was written, when every non-zero row of the probe's cols is some
    window copied whole; "" otherwise."""
    n, _, h, w = INDEX_SHAPE
    (kh, kw), (sh, sw) = INDEX_KERNEL, INDEX_STRIDE
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    x = np.arange(1.0, np.prod(INDEX_SHAPE) + 1).reshape(INDEX_SHAPE)
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    right = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, -1)
    which = {tuple(row): k for k, row in enumerate(right)}
    pairs = [(r, which.get(tuple(row))) for r, row in enumerate(got) if row.any()]
    if not pairs or any(k is None for _, k in pairs):
        return ""
    rows = np.array([r for r, _ in pairs], dtype=np.float64)
    places = np.array([np.unravel_index(k, (n, ho, wo)) for _, k in pairs], dtype=np.float64)
    own = np.array([np.unravel_index(r, (n, ho, wo)) for r, _ in pairs if r < n * ho * wo])
    shift = places[:len(own)] - own
    empty = np.array([np.unravel_index(r, (n, ho, wo)) for r in range(len(got))
                      if r < n * ho * wo and not got[r].any()]).reshape(-1, 3)
    outside = ((empty + shift[0] < 0) | (empty + shift[0] >= (n, ho, wo))).any(axis=1) \
        if len(own) else np.zeros(0, dtype=bool)
    if len(own) == len(pairs) and len(got) == n * ho * wo and (shift == shift[0]).all() and \
            shift[0, 0] == 0 and shift[0].any() and outside.all():
        dn, di, dj = (int(v) for v in shift[0])
        moved = ", ".join(f"{name} {'+' if d > 0 else '-'} {abs(d)}" if d else name
                          for name, d in (("n", dn), ("i", di), ("j", dj)))
        return (f"the row of output pixel (n, i, j) holds the window of pixel ({moved}): "
                "each window starts that many strides off; window (n, i, j) starts at row "
                "sh*i, column sw*j of sample n")
    rule = _row_rule(places, rows)
    return f"the window of output pixel (n, i, j) is written to row {rule}" if rule else ""


def im2col_index_finding(outputs: Outputs, unfilled: bool = True) -> str:
    """The pixel each column entry copies, as a rule in (n, c, i, j, a, b), where it differs
    from the right one (row sh*i + a, column sw*j + b of sample n, channel c), or (`unfilled`)
    the whole rows or columns left 0; "" when the probe did not run, the values are not
    copies, or no one rule fits."""
    got = outputs.get("probe/im2col")
    n, c, h, w = INDEX_SHAPE
    (kh, kw), (sh, sw) = INDEX_KERNEL, INDEX_STRIDE
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    if got is None or got.shape != (n * ho * wo, c * kh * kw):
        return ""
    values = np.rint(got)
    if not np.allclose(got, values) or values.min() < 0 or values.max() > n * c * h * w:
        return ""
    said = (f"probing with x = 1, 2, 3, ... of shape {INDEX_SHAPE}, kh={kh}, kw={kw}, sh={sh}, "
            f"sw={sw}, ")
    if not values.all():
        empty = _im2col_rows(values) or \
            (_unfilled(values == 0, (n, ho, wo), (c, kh, kw)) if unfilled else "")
        return said + empty if empty else ""
    pixels = np.array(np.unravel_index(values.astype(int).ravel() - 1, INDEX_SHAPE)).T
    wrong = _index_rules(pixels, np.indices(got.shape).reshape(2, -1))
    return said + "the entry (c, a, b) of output pixel (n, i, j) copies the pixel at " + \
        wrong if wrong else ""


def _index_rules(pixels: np.ndarray, entries: np.ndarray) -> str:
    """Pixel (n, c, row, column) of each column entry (its row, its column in cols) as rules in
    (n, c, i, j, a, b), listed where they differ from the right ones; "" when they all agree
    or no whole-number linear rule fits."""
    n, c, h, w = INDEX_SHAPE
    (kh, kw), (sh, sw) = INDEX_KERNEL, INDEX_STRIDE
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    where = np.column_stack(np.unravel_index(entries[0], (n, ho, wo)) + np.unravel_index(
        entries[1], (c, kh, kw)))[:, [0, 3, 1, 2, 4, 5]]
    terms = np.column_stack([where, np.ones(len(where))])
    rules = []
    for axis in range(4):
        fit = np.rint(np.linalg.lstsq(terms, pixels[:, axis], rcond=None)[0])
        if not np.array_equal(terms @ fit, pixels[:, axis]):
            return ""
        rules.append(fit)
    right = [np.eye(7)[0], np.eye(7)[1], sh * np.eye(7)[2] + np.eye(7)[4],
             sw * np.eye(7)[3] + np.eye(7)[5]]
    names = ("sample", "channel", "row", "column")
    meant = ("n", "c", f"sh*i + a = {sh}*i + a", f"sw*j + b = {sw}*j + b")
    return ", ".join(f"the {names[k]} {_formula(rules[k])} (it must be {meant[k]})"
                     for k in range(4) if not np.array_equal(rules[k], right[k]))


def col2im_index_probe(fn: Callable[..., Any]) -> Outputs:
    """'probe/col2im_index': fn(cols, INDEX_SHAPE, 2, 3, 4, 5) with cols = 1, 2, 3, ...: the
    windows do not overlap (stride > kernel), so each output value is one entry of cols."""
    n, c, h, w = INDEX_SHAPE
    (kh, kw), (sh, sw) = INDEX_KERNEL, INDEX_STRIDE
    rows = n * ((h - kh) // sh + 1) * ((w - kw) // sw + 1)
    cols = np.arange(1.0, rows * c * kh * kw + 1).reshape(rows, c * kh * kw)
    try:
        return {"probe/col2im_index": np.asarray(fn(cols, INDEX_SHAPE, kh, kw, sh, sw),
                                                 dtype=np.float64)}
    except Exception:  # noqa: BLE001 (a probe only adds evidence; it never fails a check)
        return {}


def _col2im_rows(values: np.ndarray) -> str:
    """Which row of the probe's cols each window of the output holds, when every non-zero
    window holds one whole row in order and some row is read twice or never; "" otherwise."""
    n, c, h, w = INDEX_SHAPE
    (kh, kw), (sh, sw) = INDEX_KERNEL, INDEX_STRIDE
    ho, wo, width = (h - kh) // sh + 1, (w - kw) // sw + 1, c * kh * kw
    if values[:, :, sh * (ho - 1) + kh:].any() or values[:, :, :, sw * (wo - 1) + kw:].any():
        return ""
    places, rows = [], []
    for b, i, j in np.ndindex(n, ho, wo):
        block = values[b, :, sh * i:sh * i + kh, sw * j:sw * j + kw].ravel()
        if not block.any():
            continue
        row = (block[0] - 1) // width
        if not np.array_equal(block, np.arange(row * width + 1, (row + 1) * width + 1)):
            return ""
        places.append((b, i, j))
        rows.append(row)
    if len(set(rows)) == n * ho * wo or len(places) < n * ho * wo:
        return ""  # every row read once (the landing rules tell where), or windows left empty
    return _row_rule(np.array(places, dtype=np.float64), np.array(rows, dtype=np.float64))


def col2im_row_finding(outputs: Outputs) -> str:
    """Which row of cols each window gets, as a rule in (n, i, j), when the index probe shows
    whole rows in the windows by a rule other than the right one; "" otherwise."""
    got = outputs.get("probe/col2im_index")
    if got is None or got.shape != INDEX_SHAPE or not np.allclose(got, np.rint(got)):
        return ""
    (kh, kw), (sh, sw) = INDEX_KERNEL, INDEX_STRIDE
    rule = _col2im_rows(np.rint(got))
    return (f"probing with cols = 1, 2, 3, ..., shape={INDEX_SHAPE}, kh={kh}, kw={kw}, sh={sh}, "
            f"sw={sw} (windows apart), window (n, i, j) gets row {rule} of cols") if rule else ""


def col2im_index_finding(outputs: Outputs) -> str:
    """Where each entry of cols lands, as rules in (n, c, i, j, a, b) that differ from the
    right ones, when every entry lands once and alone; "" otherwise."""
    got = outputs.get("probe/col2im_index")
    n, c, h, w = INDEX_SHAPE
    (kh, kw), (sh, sw) = INDEX_KERNEL, INDEX_STRIDE
    count = n * ((h - kh) // sh + 1) * ((w - kw) // sw + 1) * c * kh * kw
    if got is None or got.shape != INDEX_SHAPE:
        return ""
    values = np.rint(got)
    landed = values[values != 0].astype(int)
    if not np.allclose(got, values) or landed.min(initial=1) < 1 or landed.max(initial=1) > count:
        return ""
    if len(landed) != count or len(np.unique(landed)) != count:
        return col2im_row_finding(outputs)
    order = np.argsort(landed)
    pixels = np.argwhere(values != 0)[order]
    entries = np.array(np.unravel_index(landed[order] - 1, (count // (c * kh * kw), c * kh * kw)))
    wrong = _index_rules(pixels, entries)
    return (f"probing with cols = 1, 2, 3, ..., shape={INDEX_SHAPE}, kh={kh}, kw={kw}, sh={sh}, "
            f"sw={sw} (windows apart), the entry (c, a, b) of output pixel (n, i, j) lands at "
            + wrong) if wrong else ""
