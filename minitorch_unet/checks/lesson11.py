"""Checks of lesson 11 (evaluation): Dice per slice and Dice per patient volume.

The probe scores hand-made masks chosen to separate right from nearly right: a patient
whose slice Dices average to something else than its volume Dice, a patient with no
tumour and no prediction (Dice 1 by the course's 0/0 = 1 rule), one with only false
alarms, one whose tumour is missed, and probabilities exactly at the threshold. The
verdict recomputes every Dice from the confusion counts with NumPy.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np

from .core import (CheckFailed, Exercise, Outputs, expect_close, expect_shape, number_exercises,
                   own_cases, register)
from .lesson00 import (background_relation, count_ratio, mask_hints, plain_error_hint,
                       rounding_relation, smoothing_relation)

LESSON = "11_evaluation"
number_exercises(LESSON, ("dice_per_slice", "dice_per_patient"))
# The patients in order of first slice (B, A, C, D, E) are not in sorted order, so that an
# answer that pairs sorted ids with values in slice order is caught.
PATIENTS = ["B", "A", "B", "C", "A", "B", "C", "D", "D", "A", "E", "E"]


@own_cases(stream=11)
def _masks(rng: np.random.Generator, fresh: bool) -> tuple[np.ndarray, np.ndarray]:
    """pred (probabilities) and target ({0, 1}), both (12, 1, 6, 6); fresh: with false alarms
    drawn anywhere but in the empty slices, so that the Dice values move too."""
    target = np.zeros((12, 1, 6, 6))
    pred = rng.uniform(0.0, 0.45, (12, 1, 6, 6))           # background: below the threshold
    target[0, 0, 1:5, 1:5] = 1                             # A: a large tumour, well found
    pred[0, 0, 1:5, 2:6] = 0.9
    target[2, 0, 0, 0] = 1                                 # A: a one-pixel tumour, missed,
    pred[2, 0, 5, 5] = 0.8                                 # and one false alarm
    target[1, 0, 2:4, 2:5] = 1                             # B: probabilities around 0.5
    pred[1, 0, 2:4, 2:5] = [[0.7, 0.5, 0.51], [0.99, 0.2, 0.5]]
    target[4, 0, 3:6, 0:2] = 1
    pred[4, 0, 3:6, 0:3] = 0.6
    pred[7, 0, 0:2, 0:2] = 0.95                            # D: no tumour, false alarms
    target[10, 0, 2:4, 2:4] = 1                            # E: a tumour half found,
    pred[10, 0, 2:4, 2] = 0.7
    target[11, 0, 2:5, 2:5] = 1                            # then barely found in the last
    pred[11, 0, 3, 3] = 0.8                                # (so last, best and first differ)
    pred[5, 0, 4, 4] = 0.9                                 # B's last slice counts too: a
                                                           # false alarm
    if fresh:
        alarms = rng.random(pred.shape) < 0.08
        alarms[[3, 6]] = False
        pred[alarms] = rng.uniform(0.55, 1.0, int(alarms.sum()))
    return pred, target                                    # C (slices 3, 6): both empty


def _counts(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5,
            strict: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per slice (tp, fp, fn) as float64 arrays (S,)."""
    p = (pred > threshold) if strict else (pred >= threshold)
    t = target > 0.5
    flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
    tp = (flat(p) & flat(t)).sum(1).astype(np.float64)
    return tp, flat(p).sum(1) - tp, flat(t).sum(1) - tp


def _dice(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, empty: float = 1.0) -> np.ndarray:
    den = 2 * tp + fp + fn
    return np.where(den == 0, empty, 2 * tp / np.where(den == 0, 1, den))


def _ids() -> list[str]:
    return sorted(set(PATIENTS))


def _per_patient(values: Callable[[list[int]], float]) -> np.ndarray:
    return np.array([values([i for i, q in enumerate(PATIENTS) if q == p]) for p in _ids()])


# ---- per slice ---------------------------------------------------------------------------------
def _probe_slice(fn: Callable[..., Any]) -> Outputs:
    pred, target = _masks()
    with mask_hints("check_dice_per_slice"):
        return {"dice": np.asarray(fn(pred.copy(), target.copy()), dtype=np.float64),
                "raised": np.asarray(fn(pred.copy(), target.copy(), RAISED), dtype=np.float64),
                "scaled": np.asarray(fn(SCALE * pred, target.copy()), dtype=np.float64)}


# A factor for pred that moves some probabilities below 0.5: the Dice must change with it.
SCALE = 0.8


def scale_message(what: str, outputs: Outputs) -> str:
    """The message for an answer that does not change when pred is scaled by SCALE though the
    right one does (pred rescaled before the threshold), or ""."""
    pred, target = _masks()
    if "scaled" not in outputs:
        return ""
    want = _dice(*_counts(SCALE * pred, target))
    got, same = outputs["scaled"], outputs["dice"]
    flat = pred.reshape(len(pred), -1)
    low, high = flat.min(1).reshape(-1, 1, 1, 1), flat.max(1).reshape(-1, 1, 1, 1)
    rescaled = (pred / pred.max(), (pred - pred.min()) / np.ptp(pred),
                pred / np.maximum(high, 1e-12), (pred - low) / np.maximum(high - low, 1e-12))
    if got.shape == same.shape and np.allclose(got, same) and not np.allclose(got, want) and \
            not np.allclose(want, _dice(*_counts(pred, target))) and \
            any(np.allclose(same, _dice(*_counts(r, target))) for r in rescaled):
        return (f"{what}: your Dice does not change when pred is multiplied by {SCALE}, so pred "
                "is rescaled before the threshold (divided by its maximum, or min-max "
                "normalised?): compare the probabilities themselves, pred > threshold")
    return ""


# A threshold other than the default: some probabilities in _masks lie between 0.5 and it.
RAISED = 0.65


def threshold_message(what: str, got: np.ndarray, at_default: np.ndarray,
                      expected: np.ndarray) -> str:
    """The verdict on the answer at threshold=RAISED (right at the default threshold)."""
    if np.allclose(got, expected):
        return ""
    if got.shape == at_default.shape and np.allclose(got, at_default):
        return (f"{what} with threshold={RAISED}: your values are the ones for 0.5: the "
                "threshold argument is ignored (a fixed 0.5, or applied to the target instead "
                "of pred); a pixel is tumour where pred > threshold")
    return (f"{what} with threshold={RAISED}: right at the default 0.5 but not here: apply "
            "`threshold` to pred (pred > threshold), and keep the target's own 0.5")


def _verdict_slice(outputs: Outputs) -> None:
    pred, target = _masks()
    counts = _counts(pred, target)
    expected = _dice(*counts)
    got = outputs["dice"]
    what = "dice_per_slice(pred (12, 1, 6, 6), target (12, 1, 6, 6))"
    if np.ndim(got) == 0:
        for value, text in ((expected.mean(), "the mean of the slices' Dice"),
                            (_dice(*(c.sum(keepdims=True) for c in counts))[0],
                             "the Dice of all slices pooled")):
            if np.isclose(got, value):
                raise CheckFailed(f"{what}: you returned one number, {text}: return one Dice per "
                                  f"slice, an array of {len(expected)} (no mean, no sum over "
                                  "the first axis)")
    why = dropped_relation(got, expected, counts)
    if why:
        raise CheckFailed(f"{what}: {why}")
    expect_shape(what, got, expected.shape, hint="one Dice per slice: sum over every axis but "
                 "the first")
    if np.allclose(got, expected):
        return
    if np.allclose(np.sort(got), np.sort(expected)):
        order = ("sorted" if np.all(np.diff(got) >= 0) else "sorted from high to low"
                 if np.all(np.diff(got) <= 0) else "in another order")
        raise CheckFailed(f"{what}: the right values, {order}: entry i must be the Dice of "
                          "slice i, in the slices' own order (no sort, no set, no grouping)")
    pooled = _dice(*(c.sum(keepdims=True) for c in counts))[0]
    if got.size > 1 and np.allclose(got, got.flat[0]) and not np.allclose(expected, got.flat[0]):
        for value, text in ((pooled, "the Dice of all slices pooled"),
                            (expected.mean(), "the mean of the slices' Dice"),
                            (expected[-1], "the last slice's Dice (a value overwritten in "
                                           "the loop, or out[:] = ...?)"),
                            (expected[0], "the first slice's Dice")):
            if np.isclose(got.flat[0], value):
                raise CheckFailed(f"{what}: every entry is {float(value):.4f}, {text}, repeated "
                                  "for each slice: count the overlap and sizes of slice i alone "
                                  "(sum over every axis but the first, e.g. axis=(1, 2, 3))")
    empty = np.flatnonzero((2 * counts[0] + counts[1] + counts[2]) == 0)
    if not np.isfinite(got).all() or np.allclose(got, _dice(*counts, empty=0.0)):
        raise CheckFailed(f"{what}: slices {empty.tolist()} have no tumour and no prediction "
                          f"(0/0), you gave {got[empty].tolist()}: the course scores them 1.0 "
                          "(a correct 'no tumour')")
    if not np.allclose(expected, np.round(expected)):
        for rule, text in ((np.trunc, "cut to whole numbers (truncated)"),
                           (np.round, "rounded to whole numbers")):
            if np.allclose(got, rule(expected)):
                raise CheckFailed(f"{what}: your values are the right ones {text}, so they are "
                                  "stored in an integer array (a buffer made like the int "
                                  "counts, np.zeros_like(overlap), or an int dtype): make it "
                                  "float, np.zeros(len(pred)) or np.zeros(..., dtype=float)")
    why = scale_message(what, outputs)
    if why:
        raise CheckFailed(why)
    if np.allclose(got, _dice(*_counts(pred, target, strict=False))) and (
            "scaled" not in outputs or np.allclose(outputs["scaled"], _dice(*_counts(
                SCALE * pred, target, strict=False)))):
        raise CheckFailed(f"{what}: a pixel exactly at the threshold (0.5) counted as tumour; "
                          "tumour is pred > threshold, strictly")
    for rule, text in ((lambda a: a == 1, "pred == 1"), (lambda a: a > 0, "pred > 0"),
                       (lambda a: a >= 1, "pred >= 1")):
        p = rule(pred).reshape(len(pred), -1)
        t = (target > 0.5).reshape(len(target), -1)
        tp = (p & t).sum(1).astype(np.float64)
        if np.allclose(got, _dice(tp, p.sum(1) - tp, t.sum(1) - tp)):
            raise CheckFailed(f"{what}: a pixel counts as tumour where {text} in your answer; "
                              "it is tumour where pred > threshold")
    soft = lambda a: a.reshape(len(a), -1)  # noqa: E731
    overlap, total = (soft(pred) * soft(target)).sum(1), soft(pred).sum(1) + soft(target).sum(1)
    if np.allclose(got, np.where(total == 0, 1.0, 2 * overlap / np.where(total == 0, 1, total))):
        raise CheckFailed(f"{what}: no threshold: you used the probabilities themselves (a soft "
                          "Dice); a pixel is tumour when pred > threshold")
    tp, fp, fn = counts
    why = background_relation(got, tp, fp, fn, pred[0].size - tp - fp - fn)
    if why:
        raise CheckFailed(f"{what}: {why}, slice by slice")
    if np.allclose(got, _dice(*(np.cumsum(c) for c in counts))):
        raise CheckFailed(f"{what}: entry i is the Dice of slices 0 to i pooled: the counts "
                          "run on from slice to slice (totals not reset); start each slice's "
                          "overlap and sizes at 0")
    iou = np.where(tp + fp + fn == 0, 1.0, tp / np.maximum(tp + fp + fn, 1))
    if np.allclose(got, iou):
        raise CheckFailed(f"{what}: this is the IoU, tp / (tp + fp + fn); Dice is "
                          "2 tp / (2 tp + fp + fn)")
    why = (smoothing_relation(list(got), list(zip(*counts)))
           or scale_relation(got, expected) or slice_kind_relation(got, expected, counts)
           or unfilled_relation(got, expected)
           or layout_relation(got, pred, target)
           or slice_parts_relation(got, expected, pred, target)
           or rounding_relation(list(got), list(expected))
           or count_ratio([*got, *outputs["raised"]], [
               (*c, pred[0].size) for c in (*zip(*counts), *zip(*_counts(pred, target, RAISED)))],
               "Dice per slice"))
    if why:
        raise CheckFailed(f"{what}: {why}")
    expect_close(what, got, expected, 1e-9, 1e-12)


def unfilled_relation(got: np.ndarray, expected: np.ndarray) -> str:
    """Name the last (or first) entries left at a buffer's starting value (0 or 1) while all
    others are right: a loop that stops short or starts late; or ""."""
    if got.shape != expected.shape or got.ndim != 1:
        return ""
    wrong = np.flatnonzero(~np.isclose(got, expected))
    if not 0 < len(wrong) < len(got) or not any(np.allclose(got[wrong], c) for c in (0.0, 1.0)):
        return ""
    n, start = len(got), float(got[wrong[0]])
    if wrong.tolist() == list(range(n - len(wrong), n)):
        where = (f"the last {len(wrong)} (slices {wrong.tolist()}) keep" if len(wrong) > 1
                 else f"the last slice ({n - 1}) keeps")
        how = f"the loop stops short (range(len(pred) - {len(wrong)})?)"
    elif wrong.tolist() == list(range(len(wrong))):
        where = (f"the first {len(wrong)} (slices {wrong.tolist()}) keep" if len(wrong) > 1
                 else "the first slice (0) keeps")
        how = f"the loop starts late (range({len(wrong)}, len(pred))?)"
    else:
        return ""
    return (f"every entry is right but {where} the buffer's starting value {start:g}: {how}; "
            "compute the Dice of every slice, i in range(len(pred))")


# The parts of 2 |P ∧ T| / (|P| + |T|) per slice as a learner may write them, from the
# thresholded masks P, T and the probabilities q, each (S, pixels): (text, per-slice values);
# the first of each is the right one.
_Rows = tuple[np.ndarray, np.ndarray, np.ndarray]
_OVERLAPS: tuple[tuple[str, Callable[[_Rows], np.ndarray]], ...] = (
    ("|P ∧ T|", lambda r: (r[0] & r[1]).sum(1)),
    ("sum(pred * T), the probabilities where the thresholded mask belongs",
     lambda r: (r[2] * r[1]).sum(1)),
    ("mean(P ∧ T), a mean where the count belongs", lambda r: (r[0] & r[1]).mean(1)),
    ("|P ∨ T|, the union", lambda r: (r[0] | r[1]).sum(1)),
    ("|P|", lambda r: r[0].sum(1)), ("|T|", lambda r: r[1].sum(1)))
_PREDICTED_SIZES: tuple[tuple[str, Callable[[_Rows], np.ndarray]], ...] = (
    ("|P|", lambda r: r[0].sum(1)),
    ("sum(pred), the probabilities where the thresholded mask belongs", lambda r: r[2].sum(1)),
    ("mean(P), a mean where the count belongs", lambda r: r[0].mean(1)),
    ("nothing (|P| left out)", lambda r: 0 * r[0].sum(1)),
    ("|T| (the target counted twice)", lambda r: r[1].sum(1)))
_TRUE_SIZES: tuple[tuple[str, Callable[[_Rows], np.ndarray]], ...] = (
    ("|T|", lambda r: r[1].sum(1)), ("mean(T), a mean where the count belongs",
                                     lambda r: r[1].mean(1)),
    ("nothing (|T| left out)", lambda r: 0 * r[1].sum(1)),
    ("|P| (the prediction counted twice)", lambda r: r[0].sum(1)))


def _matched(got: np.ndarray, expected: np.ndarray, backwards: bool) -> list[int] | None:
    """The positions in `expected` whose values `got` holds in order, matched greedily from the
    first value (or from the last, backwards), or None when `got` is no such subsequence."""
    order = range(len(expected) - 1, -1, -1) if backwards else range(len(expected))
    values = got[::-1] if backwards else got
    matched, k = [], 0
    for i in order:
        if k < len(values) and np.isclose(values[k], expected[i], rtol=1e-9, atol=1e-12):
            matched.append(i)
            k += 1
    return sorted(matched) if k == len(values) else None


def dropped_relation(got: np.ndarray, expected: np.ndarray,
                     counts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> str:
    """Name the slices left out of a result with fewer values than slices (or the values
    added to one with more), when the values it has are the right ones of the slices in order;
    "" otherwise."""
    if np.ndim(got) == 1 and len(got) > len(expected):
        kept = _matched(expected, got, False)
        if kept is None or kept != _matched(expected, got, True):
            return ""
        extra = sorted(set(range(len(got))) - set(kept))
        mean = " (the mean of the slices' Dice)" if np.allclose(got[extra], expected.mean()) \
            else ""
        return (f"{len(got)} values came back for {len(expected)} slices: the right Dice of "
                f"every slice, plus extra values at positions {extra}{mean}; return one Dice "
                "per slice and nothing else")
    if np.ndim(got) != 1 or not 0 < len(got) < len(expected):
        return ""
    first, last = _matched(got, expected, False), _matched(got, expected, True)
    if first is None or last is None:
        return ""
    head = f"{len(got)} values came back for {len(expected)} slices"
    if first != last:
        return (f"{head}, each the Dice of one slice, in order: {len(expected) - len(got)} "
                "slices are left out; return one Dice for every slice")
    missing = sorted(set(range(len(expected))) - set(first))
    tp, fp, fn = counts
    has_pred, has_target = tp + fp > 0, tp + fn > 0
    kinds = (("the ones with no tumour and no prediction (0/0, which the course scores 1.0)",
              ~has_pred & ~has_target), ("the ones with no tumour", ~has_target),
             ("the ones with no prediction", ~has_pred), ("the ones with a tumour", has_target),
             ("the ones with a prediction", has_pred),
             ("the false alarms (a prediction, no tumour)", has_pred & ~has_target),
             ("the missed tumours (a tumour, no prediction)", has_target & ~has_pred))
    kind = next((text for text, where in kinds if np.flatnonzero(where).tolist() == missing),
                "")
    if not kind and missing == list(range(len(missing))):
        kind = "the first ones (does a loop start late?)"
    if not kind and missing == list(range(len(got), len(expected))):
        kind = "the last ones (does a loop stop early?)"
    return (f"{head}: slices {missing} are missing{', ' + kind if kind else ''}; return one "
            "Dice for every slice, in the slices' order")


def slice_parts_relation(got: np.ndarray, expected: np.ndarray, pred: np.ndarray,
                         target: np.ndarray) -> str:
    """Name one or two parts of 2 |P ∧ T| / (|P| + |T|) (the overlap, each size, the 2, an
    overlap subtracted below) that differ and give the learner's values on every slice with
    tumour or a prediction; "" otherwise."""
    rows = ((pred > 0.5).reshape(len(pred), -1), (target > 0.5).reshape(len(target), -1),
            pred.reshape(len(pred), -1).astype(np.float64))
    live = (rows[0] | rows[1]).any(1)
    if not live.any() or np.allclose(got[live], expected[live]):
        return ""
    for (oname, overlap), (pname, psize), (tname, tsize), two, minus in itertools.product(
            _OVERLAPS, _PREDICTED_SIZES, _TRUE_SIZES, (2, 1), (False, True)):
        differs = [oname != _OVERLAPS[0][0], pname != _PREDICTED_SIZES[0][0],
                   tname != _TRUE_SIZES[0][0], two != 2, minus]
        if not 0 < sum(differs) <= 2:
            continue
        o = overlap(rows).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = two * o / (psize(rows) + tsize(rows) - (o if minus else 0))
        if np.allclose(got[live], values[live], rtol=1e-6, atol=1e-9, equal_nan=False):
            parts = [f"the overlap is {oname}, not |P ∧ T|"] * differs[0]
            parts += [f"the denominator's first size is {pname}, not |P|"] * differs[1]
            parts += [f"the denominator's second size is {tname}, not |T|"] * differs[2]
            parts += ["the overlap is not doubled (2 |P ∧ T|)"] * differs[3]
            parts += ["the overlap is subtracted from the denominator (an IoU-like form)"] * \
                differs[4]
            return ("your Dice per slice: " + "; ".join(parts) + " (Dice = 2 |P ∧ T| / "
                    "(|P| + |T|), with P = pred > threshold and T = target > 0.5, counted per "
                    "slice)")
    return ""


def scale_relation(got: np.ndarray, expected: np.ndarray) -> str:
    """Name one factor that turns every right value into the learner's (100: a percentage)."""
    nonzero = np.abs(expected) > 0
    if not nonzero.any() or got.shape != expected.shape:
        return ""
    factor = float(got[nonzero][0] / expected[nonzero][0])
    if abs(factor - 1) > 1e-9 and np.isfinite(factor) and \
            np.allclose(got, factor * expected, rtol=1e-9, atol=1e-12):
        return (f"your values are {factor:g} times the right ones everywhere"
                + (" (a percentage)" if abs(factor - 100) < 1e-9 else "")
                + ": Dice is a fraction between 0 and 1")
    return ""


def layout_relation(got: np.ndarray, pred: np.ndarray, target: np.ndarray) -> str:
    """Name a reshape whose rows are not the slices (reshape(-1, S) instead of (S, -1)), or ""."""
    p = (pred > 0.5).reshape(-1, len(pred))
    t = (target > 0.5).reshape(-1, len(target))
    tp = (p & t).sum(0).astype(np.float64)
    if np.allclose(got, _dice(tp, p.sum(0) - tp, t.sum(0) - tp)):
        return ("your values are the Dice of the columns of reshape(-1, S), which mix pixels of "
                "several slices: reshape(len(pred), -1) puts one slice per row; then sum over "
                "axis 1")
    return ""



def _verdict_slice_threshold(outputs: Outputs) -> None:
    """The default-threshold verdict, then the same masks at threshold=RAISED."""
    _verdict_slice(outputs)
    why = scale_message("dice_per_slice(pred, target)", outputs)
    if why:
        raise CheckFailed(why)
    pred, target = _masks()
    expected = _dice(*_counts(pred, target, RAISED))
    why = threshold_message("dice_per_slice(pred, target)", outputs["raised"], outputs["dice"],
                            expected)
    if why:
        raise CheckFailed(why)


SLICE_KINDS = (  # (kind of slice, what the right Dice is there and why)
    ("no tumour but a prediction (false alarms only)", "0: every predicted pixel is a false "
     "alarm; only a slice with no tumour AND no prediction scores 1.0"),
    ("a tumour but no prediction (all missed)", "0: nothing of the tumour is found"),
    ("no tumour and no prediction", "1.0 by the course's 0/0 rule"),
    ("a tumour and a prediction", "2 tp / (2 tp + fp + fn)"),
)


def slice_kind_relation(got: np.ndarray, expected: np.ndarray,
                        counts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> str:
    """Name the kind of slice the wrong values are confined to, or a loop that stops early."""
    tp, fp, fn = counts
    has_pred, has_target = tp + fp > 0, tp + fn > 0
    kinds = (has_pred & ~has_target, has_target & ~has_pred, ~has_pred & ~has_target,
             has_pred & has_target)
    wrong = ~np.isclose(got, expected, rtol=1e-9, atol=1e-12)
    first_wrong = int(np.argmax(wrong))
    if wrong.any() and wrong[first_wrong:].all() and first_wrong > 0 and \
            not got[first_wrong:].any():
        return (f"right for slices 0 to {first_wrong - 1}, 0 from slice {first_wrong} on: "
                "does a loop stop early or skip slices?")
    for (kind, rule), where in zip(SLICE_KINDS, kinds):
        if wrong.any() and np.array_equal(wrong, where):
            slices = np.flatnonzero(wrong).tolist()
            return (f"wrong only on slices with {kind} (slices {slices}, you gave "
                    f"{[round(float(v), 4) for v in got[wrong]]}): the Dice there is {rule}")
    return ""


register(Exercise(
    grade_id="check_dice_per_slice", lesson=LESSON, function="dice_per_slice",
    probe=_probe_slice, verdict=_verdict_slice_threshold,
    success="dice_per_slice is right, empty slices and the threshold included.",
    engine_ops=("minitorch_unet.metrics.dice_per_slice", "minitorch_unet.metrics.metric_per_slice",
                "minitorch_unet.metrics.confusion_per_slice"),
    explain_error=plain_error_hint))


# ---- per patient ----------------------------------------------------------------------------------
def _probe_patient(fn: Callable[..., Any]) -> Outputs:
    pred, target = _masks()
    with mask_hints("check_dice_per_patient"):
        result = fn(pred.copy(), target.copy(), list(PATIENTS))
        raised = fn(pred.copy(), target.copy(), list(PATIENTS), RAISED)
    if not isinstance(result, dict):
        raise CheckFailed(f"dice_per_patient returned {type(result).__name__}; return a dict "
                          "{patient id: Dice}")
    unknown = sorted(str(k) for k in result if k not in set(PATIENTS))
    if unknown:
        raise CheckFailed(f"dice_per_patient: keys {unknown} are not patient ids; the keys are "
                          f"the ids given, here {_ids()}")
    raised = raised if isinstance(raised, dict) else {}
    return {"dice": np.array([float(result.get(p, np.nan)) for p in _ids()]),
            "raised": np.array([float(raised.get(p, np.nan)) for p in _ids()]),
            "present": np.array([p in result for p in _ids()])}


def _verdict_patient(outputs: Outputs) -> None:
    pred, target = _masks()
    what = "dice_per_patient(pred (12, 1, 6, 6), target (12, 1, 6, 6), patients)"
    missing = [p for p, here in zip(_ids(), outputs["present"]) if not here]
    if missing:
        raise CheckFailed(f"{what}: no entry for patients {missing}; every patient gets a Dice")
    tp, fp, fn = _counts(pred, target)
    expected = _per_patient(lambda rows: float(_dice(tp[rows].sum(keepdims=True),
                                                     fp[rows].sum(keepdims=True),
                                                     fn[rows].sum(keepdims=True))[0]))
    got = outputs["dice"]
    if np.allclose(got, expected):
        return
    slice_dice = _dice(tp, fp, fn)
    if np.allclose(got, _per_patient(lambda rows: float(slice_dice[rows].mean()))):
        raise CheckFailed(f"{what}: this is the mean of each patient's slice Dices; a volume "
                          "Dice sums tp, fp and fn over the patient's slices first, then takes "
                          f"one ratio (patient A: expected {expected[0]:.4f}, got {got[0]:.4f})")
    if np.allclose(got, 1.0) and not np.allclose(expected, 1.0):
        raise CheckFailed(f"{what}: every patient gets 1.0, the score of 0/0, as if no "
                          "slice were selected for any patient (a Python list compared with "
                          "an id, patients == patient, is one False, not a mask: compare "
                          "np.asarray(patients) == patient)")
    if len(got) > 1 and np.allclose(got, got[0]) and not np.allclose(expected, got[0]):
        pooled = float(_dice(*(c.sum(keepdims=True) for c in (tp, fp, fn)))[0])
        for value, text in ((pooled, "the Dice of all slices pooled, every patient's together"),
                            (float(_dice(tp, fp, fn).mean()), "the mean Dice of all slices")):
            if np.isclose(got[0], value):
                raise CheckFailed(f"{what}: every patient gets {value:.4f}, {text}: select each "
                                  "patient's own slices (rows = np.asarray(patients) == patient) "
                                  "and pool their tp, fp and fn alone")
    why = mask_rule_relation(got, expected, pred, target)
    if why:
        raise CheckFailed(f"{what}: {why}")
    why = background_relation(got, *[np.array(_per_patient(lambda rows, c=c: float(c[rows].sum())))
                                     for c in (tp, fp, fn, pred[0].size - tp - fp - fn)])
    if why:
        raise CheckFailed(f"{what}: {why}, patient by patient")
    why = (scale_relation(got, expected) or patient_relation(got, expected, pred, target)
           or runs_relation(got, tp, fp, fn) or subset_relation(got, expected, tp, fp, fn)
           or pooling_relation(got, expected, tp, fp, fn) or soft_size_relation(got, pred, target)
           or rounding_relation(list(got), list(expected))
           or patient_ratio(outputs, pred, target))
    if why:
        raise CheckFailed(f"{what}: {why}")
    loose = _counts(pred, target, strict=False)
    for i, patient in enumerate(_ids()):
        if np.isclose(got[i], expected[i]):
            continue
        rows = [k for k, q in enumerate(PATIENTS) if q == patient]
        sums = [float(c[rows].sum()) for c in (tp, fp, fn)]
        if sum(sums) == 0:
            note = "it has no tumour and no prediction (0/0), which the course scores 1.0"
        elif np.isclose(got[i], 2 * loose[0][rows].sum() / (2 * loose[0][rows].sum()
                                                             + loose[1][rows].sum()
                                                             + loose[2][rows].sum())):
            note = "a pixel exactly at the threshold (0.5) counted as tumour; use pred > threshold"
        else:
            note = f"its slices {rows} hold tp={sums[0]:.0f}, fp={sums[1]:.0f}, fn={sums[2]:.0f}"
        raise CheckFailed(f"{what}: patient {patient!r}: expected {expected[i]:.4f}, got "
                          f"{got[i]:.4f}: {note}")


# Other rules a learner may use to turn pred into a mask: (the rule as written, the mask).
_MASK_RULES: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (
    ("pred > 0 (pred.astype(bool), or pred used as a mask as it is: every nonzero probability "
     "counts)", lambda a: a > 0),
    ("pred == 1", lambda a: a == 1), ("pred >= 1", lambda a: a >= 1))


def mask_rule_relation(got: np.ndarray, expected: np.ndarray, pred: np.ndarray,
                       target: np.ndarray) -> str:
    """Name the rule other than pred > threshold whose masks give the learner's volume Dice
    for every patient, or ""."""
    for text, rule in _MASK_RULES:
        tp, fp, fn = _counts(rule(pred).astype(np.float64), target)
        values = _per_patient(lambda rows: float(_dice(tp[rows].sum(keepdims=True),
                                                       fp[rows].sum(keepdims=True),
                                                       fn[rows].sum(keepdims=True))[0]))
        if not np.allclose(values, expected) and np.allclose(got, values):
            return (f"your prediction masks are {text}: threshold the probabilities, "
                    "pred > threshold")
    return ""


# How a patient's numerator and denominator may be pooled from per-slice overlaps o and
# totals n (|P| + |T|) of its slices: (text, value); the first of each is the right one.
_NUMERATORS: tuple[tuple[str, Callable[[np.ndarray, np.ndarray], float]], ...] = (
    ("2 sum(overlap)", lambda o, n: 2 * o.sum()),
    ("sum(overlap), not doubled", lambda o, n: o.sum()),
    ("2 sum(overlap) + 1 (a smoothing 1)", lambda o, n: 2 * o.sum() + 1))
_DENOMINATORS: tuple[tuple[str, Callable[[np.ndarray, np.ndarray], float]], ...] = (
    ("sum(|P| + |T|)", lambda o, n: n.sum()),
    ("the sum of each slice's max(|P| + |T|, 1), so that every empty slice adds 1; guard the "
     "patient's total once, after summing", lambda o, n: np.maximum(n, 1).sum()),
    ("sum(|P| + |T|) + 1 (a smoothing 1)", lambda o, n: n.sum() + 1),
    ("sum(|P| + |T|) - sum(overlap), the union (an IoU)", lambda o, n: n.sum() - o.sum()),
    ("the number of the patient's slices times their largest total",
     lambda o, n: len(n) * n.max()))


def pooling_relation(got: np.ndarray, expected: np.ndarray, tp: np.ndarray, fp: np.ndarray,
                     fn: np.ndarray) -> str:
    """Name a patient's pooled numerator or denominator (or both) that differs and gives the
    learner's values on every patient with tumour or a prediction; "" otherwise."""
    overlap, total = tp, 2 * tp + fp + fn
    rows = [[i for i, q in enumerate(PATIENTS) if q == p] for p in _ids()]
    live = np.array([total[r].sum() > 0 for r in rows])
    for (nname, num), (dname, den) in itertools.product(_NUMERATORS, _DENOMINATORS):
        if (nname, dname) == (_NUMERATORS[0][0], _DENOMINATORS[0][0]):
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.array([num(overlap[r], total[r]) / den(overlap[r], total[r]) for r in rows])
        if not np.allclose(values[live], expected[live]) and \
                np.allclose(got[live], values[live]):
            parts = [f"the numerator is {nname}"] * (nname != _NUMERATORS[0][0])
            parts += [f"the denominator is {dname}"] * (dname != _DENOMINATORS[0][0])
            return ("your Dice per patient: " + "; ".join(parts) + " (a volume Dice is "
                    "2 sum(overlap) / sum(|P| + |T|) over the patient's slices)")
    return ""


def soft_size_relation(got: np.ndarray, pred: np.ndarray, target: np.ndarray) -> str:
    """Name a patient Dice whose overlap or |P| comes from the probabilities while the rest is
    thresholded (at 0.5), or ""."""
    flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
    hard, truth, soft = flat(pred) > 0.5, flat(target) > 0.5, flat(pred).astype(np.float64)
    rows = [[i for i, q in enumerate(PATIENTS) if q == p] for p in _ids()]
    parts = {"|P ∧ T|": ((hard & truth).sum(1), (soft * truth).sum(1)),
             "|P|": (hard.sum(1), soft.sum(1))}
    for name in parts:
        overlap = parts["|P ∧ T|"][name == "|P ∧ T|"]
        size = parts["|P|"][name == "|P|"]
        values = np.array([2 * overlap[r].sum() / (size[r].sum() + truth[r].sum())
                           if size[r].sum() + truth[r].sum() else 1.0 for r in rows])
        live = np.array([(hard[r] | truth[r]).any() for r in rows])
        if np.allclose(got[live], values[live]):
            return (f"your Dice per patient takes {name} from the probabilities pred while the "
                    "rest is thresholded; count every part on the thresholded masks, "
                    "P = pred > threshold")
    return ""


def runs_relation(got: np.ndarray, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> str:
    """Name a Dice taken over runs of consecutive slices of one patient (the last or the first
    run kept), as if each patient's slices came in one block; "" otherwise."""
    runs: list[tuple[str, list[int]]] = []
    for i, patient in enumerate(PATIENTS):
        if runs and runs[-1][0] == patient:
            runs[-1][1].append(i)
        else:
            runs.append((patient, [i]))
    for keep in (lambda old, new: new, lambda old, new: old):
        chosen: dict[str, list[int]] = {}
        for patient, rows in runs:
            chosen[patient] = keep(chosen[patient], rows) if patient in chosen else rows
        dice = np.array([float(_dice(*(c[chosen[p]].sum(keepdims=True) for c in (tp, fp, fn)))[0])
                         for p in _ids()])
        if np.allclose(got, dice):
            return ("your Dice per patient covers only one run of consecutive slices; a patient's "
                    "slices need not be next to each other: select them all, e.g. with "
                    "np.asarray(patients) == patient")
    starts = sorted(PATIENTS.index(p) for p in _ids()) + [len(PATIENTS)]
    blocks = {PATIENTS[a]: list(range(a, b)) for a, b in zip(starts, starts[1:])}
    dice = np.array([float(_dice(*(c[blocks[p]].sum(keepdims=True) for c in (tp, fp, fn)))[0])
                     for p in _ids()])
    if np.allclose(got, dice):
        return ("your Dice per patient pools the block of slices from the patient's first slice "
                "to the next patient's first slice, as if each patient's slices were contiguous; "
                "they need not be: select them all, e.g. with np.asarray(patients) == patient")
    return ""


def subset_relation(got: np.ndarray, expected: np.ndarray, tp: np.ndarray, fp: np.ndarray,
                    fn: np.ndarray) -> str:
    """Name the slices a patient's Dice leaves out, when each wrong patient's value is the
    volume Dice of some of its slices (a rule for all, or the subset of the first one); ""."""
    rows = [[i for i, q in enumerate(PATIENTS) if q == p] for p in _ids()]
    dice = lambda kept: float(_dice(*(c[kept].sum(keepdims=True)  # noqa: E731
                                      for c in (tp, fp, fn)))[0]) if kept else np.nan
    wrong = ~np.isclose(got, expected)
    for text, rule in (("all but their last slice", lambda r: r[:-1]),
                       ("all but their first slice", lambda r: r[1:]),
                       ("their first two slices only", lambda r: r[:2]),
                       ("their last two slices only", lambda r: r[-2:])):
        values = np.array([dice(rule(r)) for r in rows])
        if np.allclose(got, values, equal_nan=False) and wrong.any():
            return (f"each patient's Dice pools {text}; pool every slice whose id is the "
                    "patient's")
    count = len(PATIENTS)
    for text, left in ((f"slice {i}", {i}) for i in range(count)):
        values = np.array([dice([k for k in r if k not in left]) for r in rows])
        if wrong.any() and np.allclose(got, values):
            hint = (" (does a loop start at 1?)" if left == {0} else
                    " (does a loop stop one short?)" if left == {count - 1} else "")
            return (f"{text}, of patient {PATIENTS[min(left)]!r}, is left out of its patient's "
                    f"sums{hint}: pool every slice whose id is the patient's")
    first = int(np.argmax(wrong))
    fits = [list(kept) for n in range(1, len(rows[first]))
            for kept in itertools.combinations(rows[first], n)
            if np.isclose(got[first], dice(list(kept)))]
    if wrong.any() and len(fits) == 1:
        left = sorted(set(rows[first]) - set(fits[0]))
        return (f"patient {_ids()[first]!r} gets the Dice of slices {fits[0]} only, of its "
                f"slices {rows[first]}: slices {left} are left out; pool every slice whose id "
                "is the patient's")
    return ""


def patient_ratio(outputs: Outputs, pred: np.ndarray, target: np.ndarray) -> str:
    """Name a wrong ratio of each patient's pooled counts, at both thresholds, or ""."""
    got, rows = [], []
    for key, threshold in (("dice", 0.5), ("raised", RAISED)):
        tp, fp, fn = _counts(pred, target, threshold)
        got += [float(v) for v in outputs[key]]
        rows += [tuple(float(c[[i for i, q in enumerate(PATIENTS) if q == p]].sum())
                       for c in (tp, fp, fn)) for p in _ids()]
    return count_ratio(got, rows, "Dice per patient")


def _verdict_patient_threshold(outputs: Outputs) -> None:
    """The default-threshold verdict, then the same masks at threshold=RAISED."""
    _verdict_patient(outputs)
    pred, target = _masks()
    tp, fp, fn = _counts(pred, target, RAISED)
    raised = _per_patient(lambda rows: float(_dice(tp[rows].sum(keepdims=True),
                                                   fp[rows].sum(keepdims=True),
                                                   fn[rows].sum(keepdims=True))[0]))
    why = threshold_message("dice_per_patient(pred, target, patients)", outputs["raised"],
                            outputs["dice"], raised)
    if why:
        raise CheckFailed(why)


def patient_relation(got: np.ndarray, expected: np.ndarray, pred: np.ndarray,
                     target: np.ndarray) -> str:
    """Name the wrong way of pooling a patient's slices that `got` follows, or ""."""
    tp, fp, fn = _counts(pred, target)
    slice_dice = _dice(tp, fp, fn)
    everyone = float(_dice(tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True))[0])
    volume = lambda empty: _per_patient(lambda rows: float(_dice(  # noqa: E731
        tp[rows].sum(keepdims=True), fp[rows].sum(keepdims=True), fn[rows].sum(keepdims=True),
        empty)[0]))
    if np.allclose(np.sort(got), np.sort(expected)) and not np.allclose(got, expected):
        return ("the right values, each under another patient's id: key each Dice by the patient "
                "it was computed for (are the ids and the values zipped in different orders?)")
    def running(order: list[str], carried: tuple[bool, bool] = (True, True)) -> np.ndarray:
        """Each patient's Dice from the counts of every patient up to it in `order`, for the
        overlap and the total (|P| + |T|) as `carried` says, else from its own slices."""
        kept: list[int] = []
        values = {}
        for patient in order:
            own = [k for k, q in enumerate(PATIENTS) if q == patient]
            kept += own
            overlap = tp[kept if carried[0] else own].sum()
            rows = kept if carried[1] else own
            total = 2 * tp[rows].sum() + fp[rows].sum() + fn[rows].sum()
            values[patient] = 1.0 if total == 0 else float(2 * overlap / total)
        return np.array([values[p] for p in _ids()])

    found = [v for v in [
        *[(f"each patient's Dice pools the counts of every patient before it too ({order}): "
           "the running totals are not reset between patients; set overlap and total to 0 at "
           "the start of each patient's loop", running(ids))
          for order, ids in (("in the order the ids first appear", list(dict.fromkeys(PATIENTS))),
                             ("in sorted order", _ids()))],
        *[(f"each patient's {name} runs on from the patients before it ({order}) while the "
           f"{other} is the patient's own: {name} is not reset between patients; set it to 0 at "
           "the start of each patient's loop", running(ids, carried))
          for order, ids in (("in the order the ids first appear", list(dict.fromkeys(PATIENTS))),
                             ("in sorted order", _ids()))
          for name, other, carried in (("total |P| + |T|", "overlap", (False, True)),
                                       ("overlap", "total", (True, False)))],
        ("every patient gets the Dice of all slices pooled together; pool only the slices of "
         "that patient (the slices whose id is that patient's)", np.full(len(_ids()), everyone)),
        ("each patient gets the Dice of the other patients' slices: the selection is "
         "inverted (!= where == belongs, or ~ applied to the mask); pool the slices whose id is "
         "the patient's", _per_patient(lambda rows: float(_dice(*(
             np.delete(c, rows).sum(keepdims=True) for c in (tp, fp, fn)))[0]))),
        ("each patient gets the Dice of their first slice only; sum tp, fp and fn over all of "
         "the patient's slices", _per_patient(lambda rows: float(slice_dice[rows[0]]))),
        ("each patient gets the Dice of their last slice only (a value overwritten in the "
         "loop?); sum tp, fp and fn over all of the patient's slices",
         _per_patient(lambda rows: float(slice_dice[rows[-1]]))),
        ("this is the mean of the Dice of the patient's slices that show tumour (empty slices "
         "left out); a volume Dice sums tp, fp and fn over all the patient's slices first",
         _per_patient(lambda rows: float(np.mean([slice_dice[r] for r in rows
                                                  if tp[r] + fn[r] > 0] or [1.0])))),
        ("a patient with no tumour and no prediction gets 0; the course scores 0/0 as 1.0",
         volume(0.0)),
        ("no threshold: the probabilities themselves are pooled (a soft Dice); a pixel is "
         "tumour where pred > threshold", _per_patient(lambda rows: float(
             2 * (pred[rows] * target[rows]).sum() / (pred[rows].sum() + target[rows].sum())
             if pred[rows].sum() + target[rows].sum() else 1.0))),
        ("only the patient's slices that show tumour are pooled; the false alarms on their "
         "other slices count too: pool all the patient's slices",
         _per_patient(lambda rows: float(_dice(*(c[[r for r in rows if tp[r] + fn[r] > 0]]
                                                 .sum(keepdims=True) for c in (tp, fp, fn)))[0]))),
        ("only the patient's slices with a prediction are pooled; a missed tumour on their "
         "other slices counts too: pool all the patient's slices",
         _per_patient(lambda rows: float(_dice(*(c[[r for r in rows if tp[r] + fp[r] > 0]]
                                                 .sum(keepdims=True) for c in (tp, fp, fn)))[0]))),
        *[(f"each patient gets the {name} of their slice Dices; a volume Dice sums tp, fp and "
           "fn over the patient's slices first, then takes one ratio",
           _per_patient(lambda rows, rule=rule: float(rule(slice_dice[rows]))))
          for name, rule in (("median", np.median), ("maximum", np.max), ("minimum", np.min),
                             ("sum", np.sum))],
        *[(f"each patient gets the mean of their slice Dices weighted by {name}; a volume "
           "Dice sums tp, fp and fn over the patient's slices first, then takes one ratio",
           _per_patient(lambda rows, weight=weight: float(
               (slice_dice[rows] * weight[rows]).sum() / weight[rows].sum()
               if weight[rows].sum() else 1.0)))
          for name, weight in (("the tumour's size |T|", tp + fn),
                               ("the predicted size |P|", tp + fp),
                               ("|P| + |T|", 2 * tp + fp + fn))],
    ] if not np.allclose(v[1], expected)]
    for text, values in found:
        if np.allclose(got, values):
            return text
    return ""


register(Exercise(
    grade_id="check_dice_per_patient", lesson=LESSON, function="dice_per_patient",
    probe=_probe_patient, verdict=_verdict_patient_threshold, points=2,
    success="dice_per_patient gives every patient's volume Dice.",
    engine_ops=("minitorch_unet.metrics.dice_per_patient", "minitorch_unet.metrics.metric_per_patient",
                "minitorch_unet.metrics.patient_counts", "minitorch_unet.metrics.segmentation_metrics",
                "minitorch_unet.metrics.confusion_per_slice"),
    explain_error=plain_error_hint))
