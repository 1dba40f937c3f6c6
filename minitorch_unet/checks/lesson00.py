"""Checks of lesson 00 (the task and the data): Dice of two binary masks.

The expected values come from the engine's metrics (confusion counts, then 2tp / (2tp + fp
+ fn) with 0/0 = 1), a formula independent of the one the learner writes. A wrong answer is
compared with classic mistakes (IoU instead of Dice, no factor 2, no empty-mask rule).
"""
from __future__ import annotations

import itertools

import contextlib
import re
from typing import Any, Callable, Iterator

import numpy as np

from .. import metrics
from .core import (EXERCISES, CheckFailed, Exercise, Outputs, describe_error, number_exercises,
                   own_cases, register)

LESSON = "00_task_and_data"
number_exercises(LESSON, ("dice",))
Masks = tuple[str, np.ndarray, np.ndarray]


def returned(value: Any, what: str) -> np.ndarray:
    """`value` as a float64 array; a CheckFailed naming `what` if it is None."""
    if value is None:
        raise CheckFailed(f"{what} returned None: did you forget `return`?")
    return np.asarray(value, dtype=np.float64)


def _box(shape: tuple[int, int], rows: slice, cols: slice) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[rows, cols] = True
    return mask


@own_cases(stream=0)
def dice_cases(rng: np.random.Generator, fresh: bool) -> tuple[Masks, ...]:
    """(description, pred, target): hand-made masks, then random ones of several dtypes."""
    empty = np.zeros((8, 8), dtype=bool)
    square = _box((8, 8), slice(2, 6), slice(2, 6))
    blobs = rng.random((3, 1, 16, 16))
    return (
        ("both masks empty", empty, empty),
        ("prediction empty, target not", empty, square),
        ("target empty, prediction not", square, empty),
        ("identical masks", square, square.copy()),
        ("disjoint masks", _box((8, 8), slice(0, 2), slice(0, 8)), square),
        ("half-overlapping squares", _box((8, 8), slice(0, 4), slice(0, 4)),
         _box((8, 8), slice(2, 6), slice(0, 4))),
        ("prediction inside the target", _box((8, 8), slice(3, 5), slice(3, 5)), square),
        ("float32 0/1 masks (3, 1, 16, 16)", (blobs > 0.6).astype(np.float32),
         (rng.random((3, 1, 16, 16)) > 0.5).astype(np.float32)),
        ("uint8 0/1 masks (10, 12)", (rng.random((10, 12)) > 0.3).astype(np.uint8),
         (rng.random((10, 12)) > 0.7).astype(np.uint8)),
    )


def _probe_dice(dice: Callable[..., Any]) -> Outputs:
    with mask_hints("check_dice"):
        outputs = {f"case{i}": returned(dice(pred.copy(), target.copy()), "dice")
                   for i, (_, pred, target) in enumerate(dice_cases())}
    return {**outputs, **pixel_probes(dice)}


# The pixel probes: masks (3, 6, 7) that share one pixel of sample 0 at SHARED; the prediction
# also lights one pixel at a place below, so the right Dice is 2 / 3, and 1 where that pixel
# is not counted.
SHARED = (0, 2, 3)
PLACES = (("the first row", (0, 0, 3)), ("the last row", (0, 5, 3)),
          ("the first column", (0, 2, 0)), ("the last column", (0, 2, 6)),
          ("the samples after the first (the leading axis)", (2, 2, 3)))


def pixel_probes(dice: Callable[..., Any]) -> Outputs:
    """'probe/<place>': the learner's Dice with one extra predicted pixel there (if it runs)."""
    outputs = {}
    for name, extra in PLACES:
        pred, target = np.zeros((3, 6, 7), dtype=bool), np.zeros((3, 6, 7), dtype=bool)
        pred[SHARED] = target[SHARED] = pred[extra] = True
        try:
            outputs[f"probe/{name}"] = np.asarray(dice(pred, target), dtype=np.float64)
        except Exception:  # noqa: BLE001 (a probe only adds evidence; it never fails a check)
            continue
    return outputs


def pixel_finding(outputs: Outputs) -> str:
    """Which border rows, columns or samples the learner's Dice leaves out, or ""."""
    missed = [name for name, _ in PLACES
              if outputs.get(f"probe/{name}", np.nan).shape == ()
              and abs(float(outputs[f"probe/{name}"]) - 1.0) <= 1e-9]
    if not missed or len(missed) == len(PLACES):
        return ""
    return ("probing with masks (3, 6, 7) that share one pixel, the prediction lighting one more "
            f"in {' / '.join(missed)}, your Dice is 1 instead of 2/3: pixels there are not "
            "counted (an index like [0], a slice like [:-1] or a loop like range(n - 1) stops "
            "short); sum over every pixel")


@contextlib.contextmanager
def mask_hints(grade_id: str) -> Iterator[None]:
    """Turn the errors that masks of float or int dtype raise in bool-only operations
    (&, |, ~) into a message that says so."""
    try:
        yield
    except ZeroDivisionError as err:
        raise CheckFailed(f"{describe_error(EXERCISES[grade_id], err)}. A division by zero: "
                          "masks with no pixel in either (both empty) give |P| + |T| = 0; "
                          "test for that before dividing and score it 1.0") from None
    except TypeError as err:
        if not re.search(r"ufunc '(bitwise_and|bitwise_or|invert|bitwise_xor)' not supported",
                         str(err)):
            raise
        raise CheckFailed(f"{describe_error(EXERCISES[grade_id], err)}. &, | and ~ are bitwise "
                          "on numbers and refuse floats: the masks may be float or uint8 0/1 "
                          "arrays, so make them bool first (mask > 0.5 or .astype(bool))") from None


def _counts(pred: np.ndarray, target: np.ndarray) -> metrics.Counts:
    return metrics.confusion(pred.astype(np.float64), target.astype(np.float64))


# Wrong formulas an answer may follow: (what it did, the formula on confusion counts).
DICE_MISTAKES: tuple[tuple[str, Callable[[metrics.Counts], float]], ...] = (
    ("your values are the IoU |P∩T| / |P∪T|, not Dice; Dice = 2|P∩T| / (|P| + |T|)",
     lambda c: c.tp / max(c.tp + c.fp + c.fn, 1)),
    ("the factor 2 is missing: Dice = 2|P∩T| / (|P| + |T|)",
     lambda c: c.tp / max(2 * c.tp + c.fp + c.fn, 1)),
    ("your values are the pixel accuracy (the share of pixels that agree), not Dice",
     lambda c: (c.tp + c.tn) / (c.tp + c.fp + c.fn + c.tn)),
    ("you divide by the union |P∪T|; Dice divides 2|P∩T| by |P| + |T| (the union is IoU's "
     "denominator)", lambda c: 2 * c.tp / max(c.tp + c.fp + c.fn, 1)),
    ("you added a smoothing term, (2|P∩T| + 1) / (|P| + |T| + 1); the metric is exact: "
     "2|P∩T| / (|P| + |T|), with 0/0 (both empty) as its only special case",
     lambda c: (2 * c.tp + 1) / (2 * c.tp + c.fp + c.fn + 1)),
    ("your intersection counts every pixel where the masks agree, background included; "
     "|P∩T| counts the pixels that are 1 in both",
     lambda c: 2 * (c.tp + c.tn) / max(2 * c.tp + c.fp + c.fn, 1)),
    ("your values are min(|P|, |T|) / max(|P|, |T|), a ratio of the mask sizes that ignores "
     "where the pixels are; Dice counts the overlap: 2|P∩T| / (|P| + |T|)",
     lambda c: min(c.tp + c.fp, c.tp + c.fn) / max(c.tp + c.fp, c.tp + c.fn, 1)),
    ("you divide |P∩T| by the smaller mask, min(|P|, |T|) (the overlap coefficient); Dice "
     "divides 2|P∩T| by |P| + |T|",
     lambda c: c.tp / max(min(c.tp + c.fp, c.tp + c.fn), 1)),
    ("you divide |P∩T| by the larger mask, max(|P|, |T|); Dice divides 2|P∩T| by |P| + |T|",
     lambda c: c.tp / max(c.tp + c.fp, c.tp + c.fn, 1)),
)


# Ways the background (the pixels 0 in a mask) may be scored along with the tumour: (what the
# learner did, the value from the tumour's Dice and the background's, 2 tn / (2 tn + fp + fn)).
_BACKGROUND_MIXES: tuple[tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]], ...] = (
    ("the mean of the tumour's Dice and the background's (the Dice of the inverted masks, "
     "1 - P and 1 - T): the background class is averaged in; score the tumour alone",
     lambda fg, bg: (fg + bg) / 2),
    ("the sum of the tumour's Dice and the background's (the Dice of the inverted masks): "
     "score the tumour alone", lambda fg, bg: fg + bg),
    ("the Dice of the background (the inverted masks, 1 - P and 1 - T), not of the tumour: "
     "count the pixels that are 1", lambda fg, bg: bg),
    ("the product of the tumour's Dice and the background's (the Dice of the inverted masks): "
     "score the tumour alone", lambda fg, bg: fg * bg),
)


def background_relation(got: np.ndarray, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray,
                        tn: np.ndarray) -> str:
    """Name the background class scored with (or instead of) the tumour, when it gives the
    learner's values wherever both classes have pixels, or "". Arrays of counts, one per case."""
    counts = [np.asarray(c, dtype=np.float64) for c in (tp, fp, fn, tn)]
    tp, fp, fn, tn = counts
    got = np.asarray(got, dtype=np.float64)
    live = (2 * tp + fp + fn > 0) & (2 * tn + fp + fn > 0)
    if got.shape != tp.shape or not live.any():
        return ""
    fg = 2 * tp[live] / (2 * tp[live] + fp[live] + fn[live])
    bg = 2 * tn[live] / (2 * tn[live] + fp[live] + fn[live])
    for text, mix in _BACKGROUND_MIXES:
        values = mix(fg, bg)
        if not np.allclose(values, fg) and np.allclose(got[live], values, rtol=1e-7, atol=1e-9):
            return f"your values are {text}"
    if live.sum() >= 3:                          # any other weights of the two classes
        (a, b), *_ = np.linalg.lstsq(np.stack([fg, bg], axis=1), got[live], rcond=None)
        if abs(b) > 1e-6 and np.allclose(got[live], a * fg + b * bg, rtol=1e-7, atol=1e-9) and \
                not np.allclose(a * fg + b * bg, fg):
            return (f"your values are {a:.4g} * the tumour's Dice + {b:.4g} * the background's "
                    "(the Dice of the inverted masks, 1 - P and 1 - T): the background class "
                    "is mixed in; score the tumour alone")
    return ""


def _verdict_dice(outputs: Outputs) -> None:
    cases = dice_cases()
    for i, (what, pred, target) in enumerate(cases):
        got = outputs[f"case{i}"]
        if got.shape != ():
            raise CheckFailed(f"dice({what}): expected one number, got an array of shape "
                              f"{got.shape}; sum over all pixels of both masks")
    bad = []
    for i, (what, pred, target) in enumerate(cases):
        expected = metrics.dice(_counts(pred, target))
        got = float(outputs[f"case{i}"])
        if not abs(got - expected) <= 1e-9:
            bad.append((i, what, expected, got))
    if not bad:
        return
    i, what, expected, got = bad[0]
    message = f"dice({what}): expected {expected:.6g}, got {got:.6g}"
    values = [float(outputs[f"case{j}"]) for j in range(len(cases))]
    why = (whole_relation(values, cases) or substitute_relation(values, cases)
           or rounding_relation(values, [metrics.dice(_counts(p, t)) for _, p, t in cases]))
    if why:
        raise CheckFailed(f"{message}: {why}")
    why = background_relation(values, *np.array([tuple(_counts(p, t)) for _, p, t in cases]).T)
    if why:
        raise CheckFailed(f"{message}: {why}")
    both_empty = not cases[i][1].any() and not cases[i][2].any()
    if both_empty:
        raise CheckFailed(message + ". Both masks are empty: 0/0, which counts as a perfect "
                          "match (1.0): the model rightly found no tumour")
    if np.isnan(got):
        raise CheckFailed(message + ". A NaN comes from 0/0: only both-empty masks give "
                          "|P| + |T| = 0")
    nonempty = [(j, pred, target) for j, (_, pred, target) in enumerate(cases)
                if pred.any() or target.any()]
    for text, formula in DICE_MISTAKES:
        if all(abs(float(outputs[f"case{j}"]) - formula(_counts(p, t))) <= 1e-9
               for j, p, t in nonempty):
            raise CheckFailed(f"{message}: {text}")
    why = dice_relation([float(outputs[f"case{j}"]) for j in range(len(cases))], cases)
    if why:
        raise CheckFailed(f"{message}: {why}")
    why = pixel_finding(outputs) or weighted_relation(
        values, [tuple(float(k) for k in _counts(p, t)[:3]) for _, p, t in cases])
    if why:
        raise CheckFailed(f"{message}: {why}")
    raise CheckFailed(f"{message} ({len(bad)} of {len(cases)} cases wrong). "
                      "Dice = 2|P∩T| / (|P| + |T|) over all pixels, 1.0 when both are empty")


# Names of the sums of confusion counts (tp, fp, fn) a learner's numerator or denominator may be.
_COUNT_NAMES = {(1, 0, 0): "|P∩T|", (1, 1, 0): "|P|", (1, 0, 1): "|T|", (1, 1, 1): "|P∪T|",
                (2, 1, 1): "|P| + |T|", (0, 1, 1): "the pixels where the masks disagree",
                (0, 1, 0): "the false positives |P \\ T|",
                (0, 0, 1): "the false negatives |T \\ P|"}


def _count_text(coefficients: np.ndarray) -> str:
    """'2|P∩T|', '|P| + |T|', '3tp + fp' or 'tp + n' for integer coefficients of (tp, fp, fn)
    and, when there is a fourth, of n, the number of pixels."""
    c = [int(v) for v in coefficients]
    if len(c) == 4 and c[3] == 0 or len(c) == 3:
        c = c[:3]
        for basis, name in _COUNT_NAMES.items():
            k = next((ci // bi for ci, bi in zip(c, basis) if bi), 0)
            if k > 0 and all(ci == k * bi for ci, bi in zip(c, basis)):
                return name if k == 1 else f"{k}({name})" if " " in name else f"{k}{name}"
        if c[0] == c[1] + c[2] and min(c[1:]) >= 0:                  # β|P| + γ|T|
            return " + ".join(f"{'' if v == 1 else v}{n}"
                              for v, n in zip(c[1:], ("|P|", "|T|")) if v)
    if c == [0, 0, 0, 1]:
        return "n, the number of pixels"
    terms = [f"{'' if v == 1 else v}{n}" for v, n in zip(c, ("tp", "fp", "fn", "n")) if v]
    return " + ".join(terms).replace("+ -", "- ") or "0"


def count_ratio(got: list[float], counts: list[tuple[float, ...]], what: str = "Dice") -> str:
    """Name the ratio (a tp + b fp + c fn [+ d n]) / (e tp + f fp + g fn [+ h n]), small integer
    coefficients, that the values `got` follow on every row of confusion counts (tp, fp, fn)
    or (tp, fp, fn, n pixels), if it is not the right 2tp / (2tp + fp + fn); "" when no such
    ratio fits (or more than one does)."""
    rows = [(g, np.array(c, dtype=np.float64)) for g, c in zip(got, counts) if np.isfinite(g)]
    width = len(counts[0]) if counts else 3
    if len(rows) < 2 * width + 2:
        return ""
    m = np.array([[*c, *(-g * c)] for g, c in rows])
    _, sv, vt = np.linalg.svd(m)
    if sv[-1] > 1e-9 * sv[0] or sv[-2] < 1e-6 * sv[0]:
        return ""
    v = vt[-1]
    for k in np.flatnonzero(np.abs(v) > 1e-9 * np.abs(v).max()):
        for mult in (1, 2, 3, 4):
            w = v / v[k] * mult
            if np.allclose(w, np.round(w), atol=1e-6) and np.abs(np.round(w)).max() <= 8:
                break
        else:
            continue
        break
    else:
        return ""
    w = np.round(w).astype(int)
    w = -w if w[width:].sum() < 0 else w
    if w[0] == 1:                                  # read it with the 2 of 2|P∩T| when it can
        w = 2 * w
    num, den = w[:width], w[width:]
    for g, c in rows:
        d = den @ c
        if d != 0 and not abs(g - (num @ c) / d) <= 1e-9 * max(1.0, abs(g)):
            return ""
    right = np.zeros(2 * width)
    right[[0, width, width + 1, width + 2]] = (2, 2, 1, 1)
    if np.linalg.matrix_rank(np.array([w, right])) == 1:
        return ""
    names = ("tp", "fp", "fn", "n")
    times = {0: "not at all", 1: "once"}
    parts = [f"the numerator is {_count_text(num)}, not 2|P∩T|"] * \
        (tuple(num) != tuple(right[:width]))
    counted = ", ".join(f"{name} {times.get(x, f'{x} times')} (Dice: "
                        f"{times.get(int(r), f'{int(r)} times')})"
                        for name, x, r in zip(names, den, right[width:]) if x != r)
    counted = f": it counts {counted}" if width == 3 or not den[3] else ""
    parts += [f"the denominator is {_count_text(den)}, not |P| + |T| = 2tp + fp + fn"
              f"{counted}"] * (tuple(den) != tuple(right[width:]))
    legend = ", n: pixels in all" if width == 4 else ""
    return (f"your {what} is {_count_text(num)} / ({_count_text(den)}) on every case (tp: "
            f"pixels 1 in both masks, fp: in pred only, fn: in target only{legend}): "
            + "; ".join(parts))


# Masks a formula may use in place of the ones passed: (what it did, the pair it scores).
SUBSTITUTES: tuple[tuple[str, Callable[[np.ndarray, np.ndarray], tuple]], ...] = (
    ("an empty target: the target mask your formula uses is all 0 (is it thresholded above "
     "its values, or overwritten?)", lambda p, t: (p, np.zeros_like(t))),
    ("an empty prediction: the prediction your formula uses is all 0 (is it thresholded above "
     "its values, or overwritten?)", lambda p, t: (np.zeros_like(p), t)),
    ("the prediction compared with itself (pred where target belongs)", lambda p, t: (p, p)),
    ("the target compared with itself (target where pred belongs)", lambda p, t: (t, t)),
    ("a target of all 1s", lambda p, t: (p, np.ones_like(t))),
    ("a prediction of all 1s", lambda p, t: (np.ones_like(p), t)),
)


def substitute_relation(got: list[float], cases: tuple[Masks, ...]) -> str:
    """Name a mask replaced by another (empty, full, or the other one) that gives the learner's
    values on every case, or ""."""
    want = [metrics.dice(_counts(p, t)) for _, p, t in cases]
    for text, swap in SUBSTITUTES:
        values = [metrics.dice(_counts(*swap(p > 0, t > 0))) for _, p, t in cases]
        if not np.allclose(values, want) and np.allclose(got, values, rtol=0, atol=1e-9):
            return f"your values are the Dice of {text}; compare pred with target"
    return ""


def rounding_relation(got: list[float], want: list[float]) -> str:
    """'rounded to k decimals' if the learner's values are the right ones rounded, or ""."""
    for k in range(1, 7):
        rounded = np.round(want, k)
        if not np.allclose(rounded, want, rtol=0, atol=1e-12) and \
                np.allclose(got, rounded, rtol=0, atol=1e-12):
            return (f"your values are the right ones rounded to {k} decimal place"
                    f"{'s' * (k > 1)}: return the exact ratio (round only when printing)")
    values, right = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    off = ~np.isclose(values, right, rtol=0, atol=1e-12)
    if off.any() and values.shape == right.shape and np.array_equal(
            values[off], values[off].astype(np.float32).astype(np.float64)) and \
            np.allclose(values[off], right[off], rtol=1e-6, atol=0):
        return ("your values differ from the right ones in the 8th digit, and those are float32 "
                "numbers: the sums and the ratio ran in float32 (the masks' own dtype); cast "
                "the masks to bool (or float64) before summing")
    if np.array_equal(values, values.astype(np.float16).astype(np.float64)) and \
            not np.allclose(values, right, rtol=0, atol=1e-9) and \
            np.allclose(values, right, rtol=2e-3, atol=1e-4):
        return ("your values are float16 numbers, right to about 3 digits: float16 holds too "
                "few digits for the counts and the ratio; compute in float64 (or int counts)")
    return ""


# Parts a Dice-like ratio may be built from: (how a learner's formula reads, its value).
_NUMERATORS: tuple[tuple[str, Callable[[metrics.Counts, int, int], float]], ...] = (
    ("2|P∩T|", lambda c, n, m: 2 * c.tp), ("|P∩T|", lambda c, n, m: c.tp),
    ("2 (|P∩T| + the background both leave empty)", lambda c, n, m: 2 * (c.tp + c.tn)))
_DENOMINATORS: tuple[tuple[str, Callable[[metrics.Counts, int, int], float]], ...] = (
    ("|P| + |T|", lambda c, n, m: 2 * c.tp + c.fp + c.fn),
    ("|P∪T|", lambda c, n, m: c.tp + c.fp + c.fn),
    ("the number of pixels", lambda c, n, m: n), ("twice the number of pixels", lambda c, n, m: 2 * n),
    ("|P|", lambda c, n, m: c.tp + c.fp), ("|T|", lambda c, n, m: c.tp + c.fn),
    ("max(|P|, |T|)", lambda c, n, m: max(c.tp + c.fp, c.tp + c.fn)),
    ("min(|P|, |T|)", lambda c, n, m: min(c.tp + c.fp, c.tp + c.fn)),
    ("2 min(|P|, |T|)", lambda c, n, m: 2 * min(c.tp + c.fp, c.tp + c.fn)),
    ("|P| × |T|, a product where the sum belongs", lambda c, n, m: (c.tp + c.fp) * (c.tp + c.fn)),
    ("len(pred) + len(target), the lengths of the arrays' first axis (len counts rows, not "
     "pixels that are 1; the mask sizes are pred.sum() + target.sum())", lambda c, n, m: 2 * m),
    ("len(pred), the length of the array's first axis (len counts rows, not pixels that "
     "are 1)", lambda c, n, m: m))


def _formula(got: list[float], cases: tuple[Masks, ...]) -> str:
    """Name the ratio num / den (+ smoothing) that `got` follows on every case with tumour."""
    rows = [(g, _counts(p, t), p.size, len(p)) for g, (_, p, t) in zip(got, cases)
            if p.any() or t.any()]
    for smooth in (0.0, 1.0):
        for num_text, num in _NUMERATORS:
            for den_text, den in _DENOMINATORS:
                if (num_text, den_text, smooth) == ("2|P∩T|", "|P| + |T|", 0.0):
                    continue
                if all(abs(g - (num(c, n, m) + smooth) / (den(c, n, m) + smooth)) <= 1e-9
                       if den(c, n, m) + smooth > 0 else num(c, n, m) + smooth == 0 and g == 0
                       for g, c, n, m in rows):  # 0/0 guarded to 0 (e.g. max(den, 1)) fits too
                    parts = [f"the numerator is {num_text}, not 2|P∩T|"] * \
                        (num_text != "2|P∩T|")
                    parts += [f"you divide by {den_text}, not by |P| + |T|"] * \
                        (den_text != "|P| + |T|")
                    parts += ["a smoothing 1 is added above and below; the metric has none"] * \
                        bool(smooth)
                    return "; ".join(parts)
    return ""


def whole_relation(got: list[float], cases: tuple[Masks, ...]) -> str:
    """A rule that turns the right Dice into the learner's on every case, empty masks
    included (a complement, or counts that wrapped around in a small integer type)."""
    want = np.array([metrics.dice(_counts(p, t)) for _, p, t in cases])
    values = np.array(got)
    if (want > 0).any():
        factor = float(values[want > 0][0] / want[want > 0][0])
        if abs(factor - 1) > 1e-9 and np.allclose(values, factor * want, rtol=1e-9, atol=0):
            return (f"your values are {factor:g} times the right ones in every case (a "
                    f"percentage?): Dice is a fraction between 0 and 1")
    why = averaged_relation(values, want, cases)
    if why:
        return why
    background = np.array([metrics.dice(_counts(~(p > 0), ~(t > 0))) for _, p, t in cases])
    if not np.allclose(background, want) and np.allclose(values, background, atol=1e-9):
        return ("this is the Dice of the background (of the masks' complements): Dice counts "
                "the pixels that are 1 in the masks")
    if np.allclose(values, 1 - want, rtol=0, atol=1e-9):
        return ("your values are 1 - Dice (a dissimilarity, like a loss); the metric is "
                "Dice itself, 2|P∩T| / (|P| + |T|)")
    for bits in (8, 16):
        wrapped = []
        for _, p, t in cases:
            c = _counts(p, t)
            sizes = [n % 2 ** bits for n in (c.tp, c.tp + c.fp, c.tp + c.fn)]
            wrapped.append(1.0 if sizes[1] + sizes[2] == 0 else
                           2 * sizes[0] / (sizes[1] + sizes[2]))
        if not np.allclose(wrapped, want) and np.allclose(values, wrapped, rtol=0, atol=1e-9):
            return (f"your counts wrap around at {2 ** bits} (a sum kept in uint{bits}, as "
                    "NumPy does for .sum(dtype=...) or a uint8 mask): count in int64 or float64")
    return ""


# Axes a mean may run over where Dice sums: (the number it divides by, from the mask's shape).
_MEAN_AXES: tuple[tuple[str, Callable[[tuple[int, ...]], int]], ...] = (
    ("the number of pixels (a mean over the whole mask)", lambda s: int(np.prod(s))),
    ("the length of the last axis (a mean along it)", lambda s: s[-1]),
    ("the length of the first axis (a mean along it)", lambda s: s[0]),
    ("the pixels of one sample (a mean over every axis but the first)",
     lambda s: int(np.prod(s[1:]))),
)


def averaged_relation(values: np.ndarray, want: np.ndarray, cases: tuple[Masks, ...]) -> str:
    """Name a mean where Dice's sums belong (the sizes |P| + |T|, or the overlap, averaged over
    some axes), when the learner's values are the right ones times (or over) the length of
    those axes on every case with pixels in either mask; or ""."""
    some = [i for i, (_, p, t) in enumerate(cases) if p.any() or t.any()]
    if not some or not (want[some] > 0).any():
        return ""
    for where, length in _MEAN_AXES:
        factors = np.array([length(cases[i][1].shape) for i in some], dtype=np.float64)
        if (factors == 1).all():
            continue
        if np.allclose(values[some], want[some] * factors, rtol=1e-9, atol=1e-12):
            return (f"your values are the right ones times {where}: the sizes in the denominator are averaged (mean) where Dice sums them; "
                    "divide by |P| + |T| = p.sum() + t.sum()")
        if np.allclose(values[some], want[some] / factors, rtol=1e-9, atol=1e-12):
            return (f"your values are the right ones divided by {where}: the overlap in the numerator is averaged (mean) where Dice sums "
                    "it; use 2|P∩T| = 2 (p & t).sum()")
    return ""


def dice_relation(got: list[float], cases: tuple[Masks, ...]) -> str:
    """What relates the learner's Dice values to the right ones over all cases, or ""."""
    want = np.array([metrics.dice(_counts(p, t)) for _, p, t in cases])
    values = np.array(got)
    right = np.isclose(values, want, rtol=0, atol=1e-9)
    if not (want == np.round(want)).all():
        for rule, text in ((np.floor, "rounded down"), (np.round, "rounded")):
            if np.array_equal(values, rule(want)):
                return (f"your values are the right ones {text} to whole numbers: integer "
                        "division (//) or an int dtype; divide with / and return a float")
    one_empty = np.array([p.any() != t.any() for _, p, t in cases])
    if one_empty.any() and right[~one_empty].all():
        return ("wrong only where one of the masks is empty and the other is not: they have no "
                "overlap, so Dice is 0 there; only both masks empty count as 1.0")
    images = [(p.reshape(-1, *p.shape[-2:]), t.reshape(-1, *t.shape[-2:])) for _, p, t in cases]
    per_image = np.array([np.mean([metrics.dice(_counts(pi, ti)) for pi, ti in zip(p, t)])
                          for p, t in images])
    if not np.allclose(per_image, want) and np.allclose(values, per_image, rtol=0, atol=1e-9):
        return ("this is the mean of one Dice per image (per 2D slice); the exercise's Dice "
                "pools every pixel of both masks into one ratio: sum over all axes")
    why = part_relation(values, want, cases)
    if why:
        return why
    rows = [(g * (np.count_nonzero(p) + np.count_nonzero(t)) / 2, p.ndim)
            for g, (_, p, t) in zip(got, cases) if p.any() or t.any()]
    if len({round(i, 6) for i, _ in rows}) == 1 or all(abs(i - n) < 1e-6 for i, n in rows):
        return ("the intersection your formula uses does not depend on the masks (it is "
                f"{', '.join(sorted({f'{i:g}' for i, _ in rows}))}): count the pixels that are 1 "
                "in both, np.count_nonzero(p & t); len(np.nonzero(...)) counts the axes")
    counts = [tuple(float(k) for k in _counts(p, t)[:3]) for _, p, t in cases]
    return (combination_relation(got, counts) or smoothing_relation(got, counts)
            or _formula(got, cases) or count_ratio(got, counts)
            or layout_relation(got, cases))


# Ways of cutting a mask into parts, each with its own Dice: (what the parts are, how many
# leading axes index a part given the mask's ndim); the other axes are pooled within a part.
PARTS: tuple[tuple[str, Callable[[int], int]], ...] = (
    ("one Dice per row (each line along the last axis scored alone)", lambda n: n - 1),
    ("one Dice per sample (each index of the first axis scored alone)", lambda n: 1),
    ("one Dice per column (each index of the last axis scored alone, over all the others)",
     lambda n: -1),
)


def _part_dice(p: np.ndarray, t: np.ndarray, kept: int, empty: float) -> float:
    """The mean Dice of the parts of masks p, t indexed by their first `kept` axes (the last
    axis alone when kept is -1); parts with both masks empty score `empty` (NaN: skipped)."""
    if kept < 0:
        p, t, kept = np.moveaxis(p, -1, 0), np.moveaxis(t, -1, 0), 1
    p2 = (p > 0).reshape(int(np.prod(p.shape[:kept])), -1)
    t2 = (t > 0).reshape(p2.shape[0], -1)
    total = p2.sum(1) + t2.sum(1)
    scores = np.where(total == 0, empty, 2 * (p2 & t2).sum(1) / np.maximum(total, 1))
    return float(np.nanmean(scores)) if not np.isnan(scores).all() else np.nan


def part_relation(values: np.ndarray, want: np.ndarray, cases: tuple[Masks, ...]) -> str:
    """Name a mean of Dice over parts of the masks (rows, samples, columns) that gives
    the learner's values on every case with pixels in either mask, or ""."""
    some = [i for i, (_, p, t) in enumerate(cases) if p.any() or t.any()]
    for text, kept in PARTS:
        for empty in (1.0, 0.0, np.nan):
            parts = np.array([_part_dice(cases[i][1], cases[i][2], kept(cases[i][1].ndim), empty)
                              for i in some])
            if not np.allclose(parts, want[some]) and \
                    np.allclose(values[some], parts, rtol=0, atol=1e-9):
                return (f"this is the mean of {text}, not one Dice of the whole masks: sum the "
                        "overlap and the sizes over every pixel of both arrays, then divide once")
    return ""


# Ways of combining precision tp / |P| and recall tp / |T| (Dice is their harmonic mean), and
# other functions of the counts, a learner's values may follow: (what it is, rule on tp, fp, fn).
_Rule = Callable[[float, float, float], float]
_HARMONIC = "; Dice is their harmonic mean, 2 / (1/precision + 1/recall) = 2|P∩T| / (|P| + |T|)"
_COMBINATIONS: tuple[tuple[str, _Rule], ...] = (
    ("the arithmetic mean of precision |P∩T| / |P| and recall |P∩T| / |T|" + _HARMONIC,
     lambda tp, fp, fn: (tp / (tp + fp) + tp / (tp + fn)) / 2),
    ("the geometric mean sqrt(precision * recall)" + _HARMONIC,
     lambda tp, fp, fn: np.sqrt(tp / (tp + fp) * tp / (tp + fn))),
    ("precision times recall" + _HARMONIC, lambda tp, fp, fn: tp / (tp + fp) * tp / (tp + fn)),
    ("the larger of precision and recall, |P∩T| / min(|P|, |T|)" + _HARMONIC,
     lambda tp, fp, fn: max(tp / (tp + fp), tp / (tp + fn))),
    ("the smaller of precision and recall, |P∩T| / max(|P|, |T|)" + _HARMONIC,
     lambda tp, fp, fn: min(tp / (tp + fp), tp / (tp + fn))),
    ("Dice squared: return 2|P∩T| / (|P| + |T|) itself",
     lambda tp, fp, fn: (2 * tp / (2 * tp + fp + fn)) ** 2),
    ("the square root of Dice: return 2|P∩T| / (|P| + |T|) itself",
     lambda tp, fp, fn: np.sqrt(2 * tp / (2 * tp + fp + fn))),
    ("2|P∩T| / |P| + |T|: the denominator's parentheses are missing, so only |P| divides; "
     "write 2|P∩T| / (|P| + |T|)", lambda tp, fp, fn: 2 * tp / (tp + fp) + tp + fn),
    ("2|P∩T| / |T| + |P|: the denominator's parentheses are missing, so only |T| divides; "
     "write 2|P∩T| / (|P| + |T|)", lambda tp, fp, fn: 2 * tp / (tp + fn) + tp + fp),
)


def smoothing_relation(got: list[float], counts: list[tuple[float, ...]]) -> str:
    """Name constants added to Dice's numerator or denominator, (2|P∩T| + a) / (|P| + |T| + b),
    that give the learner's values on every case with pixels in either mask; or ""."""
    rows = [(g, c[:3]) for g, c in zip(got, counts) if sum(c[:3]) > 0]
    if not rows:
        return ""
    for a, b in itertools.product((0.0, 1.0, 1e-5, 1e-6), (0.0, 1.0, 2.0, 1e-5, 1e-6, 1e-7)):
        wanted = [(2 * tp + a) / (2 * tp + fp + fn + b) for _, (tp, fp, fn) in rows]
        if (a, b) != (0.0, 0.0) and np.allclose([g for g, _ in rows], wanted, rtol=1e-12,
                                                atol=1e-12):
            added = [f"{a:g} to the numerator"] * (a > 0) + [f"{b:g} to the denominator"] * (b > 0)
            return (f"you add {' and '.join(added)} (a smoothing term); the metric is exact, "
                    "2|P∩T| / (|P| + |T|), with 0/0 (both masks empty) as its only special case")
    return ""


def weighted_relation(got: list[float], counts: list[tuple[float, ...]]) -> str:
    """Name a ratio tp / (a tp + b fp + c fn) with other weights than Dice's (1, 1/2, 1/2),
    fitted to every case with an overlap (a Tversky index, fp and fn weighed apart); or ""."""
    rows = [(g, c[:3]) for g, c in zip(got, counts) if c[0] > 0 and g > 0]
    if len(rows) < 4:
        return ""
    basis = np.array([[g * tp, g * fp, g * fn] for g, (tp, fp, fn) in rows])
    target = np.array([tp for _, (tp, _, _) in rows])
    (a, b, c), *_ = np.linalg.lstsq(basis, target, rcond=None)
    if not np.allclose(basis @ (a, b, c), target, rtol=1e-9, atol=1e-9) or \
            np.allclose((a, b, c), (1, 0.5, 0.5), atol=1e-6) or abs(a) < 1e-9:
        return ""
    fp_w, fn_w = 2 * b / a, 2 * c / a
    return (f"your values are 2 tp / (2 tp + {fp_w:.3g} fp + {fn_w:.3g} fn) (tp: pixels 1 in "
            "both masks, fp: in pred only, fn: in target only): false positives and false "
            "negatives are weighted apart (a Tversky index); Dice weighs both by 1, "
            "2 tp / (2 tp + fp + fn)")


def combination_relation(got: list[float], counts: list[tuple[float, ...]]) -> str:
    """Name a combination of precision and recall, or another function of the counts, that
    gives the learner's values on every case where both masks hold pixels (not the right ones)."""
    rows = [(g, c[:3]) for g, c in zip(got, counts) if c[0] + c[1] > 0 and c[0] + c[2] > 0]
    if not rows:
        return ""
    mine = [g for g, _ in rows]
    right = [2 * tp / (2 * tp + fp + fn) for _, (tp, fp, fn) in rows]
    for text, rule in _COMBINATIONS:
        wanted = [rule(*c) for _, c in rows]
        if np.allclose(mine, wanted, rtol=1e-9, atol=1e-12) and \
                not np.allclose(wanted, right, rtol=1e-9, atol=1e-12):
            return f"your values are {text}"
    return ""


# Ways one mask can be laid out differently from the other: (what it did, the rearrangement).
LAYOUTS: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (
    ("rows and columns swapped (a transpose of one mask)", lambda m: np.swapaxes(m, -1, -2)),
    ("one mask flipped left to right", lambda m: m[..., ::-1]),
    ("one mask flipped upside down", lambda m: m[..., ::-1, :]),
)


def layout_relation(got: list[float], cases: tuple[Masks, ...]) -> str:
    """Name a rearrangement of one mask that gives the learner's values on every case where it
    changes the Dice (and the right values elsewhere), or ""."""
    for text, move in LAYOUTS:
        changed = False
        for g, (_, p, t) in zip(got, cases):
            moved = move(t)
            other = metrics.dice(_counts(p, moved)) if moved.shape == p.shape else np.nan
            right = metrics.dice(_counts(p, t))
            if abs(g - right) <= 1e-9:
                continue
            if not abs(g - other) <= 1e-9:
                break
            changed = True
        else:
            if changed:
                return (f"your values are the Dice of the masks with {text}: compare pred and "
                        "target pixel for pixel, in the same layout")
    return ""


# Errors whose general hint speaks of convolutions (windows, strides, a bias, an image's axes):
# the same hint without them, for the exercises that have none.
PLAIN_HINTS: tuple[tuple[str, str], ...] = (
    ("'NoneType'", "a value is None: a function that ends without `return` (or returns only in "
                   "some branches), or a variable never given a value"),
    ("zero-size array to reduction operation", "a selection came out empty before the max/min "
                                               "over it: its mask or slice selects nothing"),
    ("too many indices for array", "an array has fewer axes than the index gives: check which "
                                   "array is indexed and its shape"),
    ("inhomogeneous shape", "the pieces put into one array have different shapes: make every "
                            "piece the same shape before np.array / np.stack"),
    ("cannot unpack non-iterable int", "an int is unpacked as if it held several values"),
)


def plain_error_hint(err: BaseException) -> str:
    """The hint for an error whose general hint speaks of convolutions, in words that fit an
    exercise with none; "" for any other error (the general hint then stands)."""
    text = str(err)
    beyond = re.search(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", text)
    if beyond:
        return (f"an index runs past the end of axis {beyond.group(2)} (size {beyond.group(3)}): "
                "check the loop bounds and the index arithmetic (range(n) ends at n - 1)")
    return next((hint for part, hint in PLAIN_HINTS if part in text), "")


register(Exercise(
    grade_id="check_dice", lesson=LESSON, function="dice",
    probe=_probe_dice, verdict=_verdict_dice,
    success="dice is right, empty masks included",
    points=2,
    engine_ops=("minitorch_unet.metrics.dice", "minitorch_unet.metrics.confusion",
                "minitorch_unet.metrics.confusion_per_slice", "minitorch_unet.metrics.dice_overall",
                "minitorch_unet.metrics.dice_per_slice", "minitorch_unet.metrics.metric_overall"),
    explain_error=plain_error_hint,
))
