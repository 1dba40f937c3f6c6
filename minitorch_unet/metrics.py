"""Segmentation metrics: how well a predicted mask outlines the tumour.

Everything works on host NumPy arrays. A prediction is a probability map or a binary mask
of shape ``(S, 1, H, W)`` (any ``(S, ...)`` works: one row per slice); a pixel counts as
tumour where ``pred > threshold``. The target is a binary mask of the same shape (bool,
0/1 or 0/255); a pixel is tumour where ``target > 0.5``.

Every metric is a ratio of the four confusion counts (true/false positives/negatives)::

    dice           = 2 tp / (2 tp + fp + fn)
    iou            = tp / (tp + fp + fn)
    precision      = tp / (tp + fp)
    recall         = tp / (tp + fn)
    pixel_accuracy = (tp + tn) / (tp + fp + fn + tn)

and each comes at three levels:

* per slice (``dice_per_slice``): one number per 2D slice, shape ``(S,)``;
* per patient (``dice_per_patient``): the counts of all of a patient's slices are summed
  first, so the number is the 3D volume metric (as in Buda et al., 2019), not the mean
  of the slice values;
* overall (``dice_overall``): the counts of every slice summed.

Empty masks. Many slices show no tumour, so ratios 0/0 are common. This module defines
**every 0/0 ratio as 1.0**. That gives:

* prediction and target both empty: Dice = IoU = precision = recall = 1 (a correct
  "no tumour" answer);
* target empty, prediction not: Dice = IoU = precision = 0, recall = 1 (nothing to find);
* prediction empty, target not: Dice = IoU = recall = 0, precision = 1 (no false claims).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

class Counts(NamedTuple):
    """Confusion counts: Python ints for one mask, or int64 arrays of shape ``(S,)``."""

    tp: int | np.ndarray
    fp: int | np.ndarray
    fn: int | np.ndarray
    tn: int | np.ndarray


def confusion_per_slice(pred: np.ndarray, target: np.ndarray,
                        threshold: float = 0.5) -> Counts:
    """Confusion counts of each slice: pred, target (S, ...) -> Counts of (S,) int64 arrays."""
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape or pred.ndim == 0:
        raise ValueError(f"pred and target must have the same shape (S, ...), "
                         f"got {pred.shape} and {target.shape}")
    pixels = int(np.prod(pred.shape[1:]))
    p = (pred > threshold).reshape(len(pred), pixels)
    t = (target > 0.5).reshape(len(target), pixels)
    tp = np.count_nonzero(p & t, axis=1).astype(np.int64)
    n_pred = np.count_nonzero(p, axis=1).astype(np.int64)
    n_true = np.count_nonzero(t, axis=1).astype(np.int64)
    fp, fn = n_pred - tp, n_true - tp
    return Counts(tp, fp, fn, pixels - tp - fp - fn)


def confusion(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> Counts:
    """Confusion counts over all pixels: pred, target (any equal shape) -> Counts of ints."""
    pred, target = np.asarray(pred), np.asarray(target)
    per_slice = confusion_per_slice(pred.reshape(1, -1), target.reshape(1, -1), threshold)
    return Counts(*(int(c[0]) for c in per_slice))


def _ratio(num: int | np.ndarray, den: int | np.ndarray) -> float | np.ndarray:
    """num / den elementwise, with 0/0 defined as 1.0; a float for scalar inputs."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.where(den == 0, 1.0, num / np.where(den == 0, 1.0, den))
    return float(out) if out.ndim == 0 else out


def dice(c: Counts) -> float | np.ndarray:
    """Dice = 2tp / (2tp + fp + fn); same shape as the counts."""
    return _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn)


def iou(c: Counts) -> float | np.ndarray:
    """Intersection over union (Jaccard) = tp / (tp + fp + fn); same shape as the counts."""
    return _ratio(c.tp, c.tp + c.fp + c.fn)


def precision(c: Counts) -> float | np.ndarray:
    """Precision = tp / (tp + fp); same shape as the counts."""
    return _ratio(c.tp, c.tp + c.fp)


def recall(c: Counts) -> float | np.ndarray:
    """Recall (sensitivity) = tp / (tp + fn); same shape as the counts."""
    return _ratio(c.tp, c.tp + c.fn)


def pixel_accuracy(c: Counts) -> float | np.ndarray:
    """Pixel accuracy = (tp + tn) / all pixels; same shape as the counts."""
    return _ratio(c.tp + c.tn, c.tp + c.fp + c.fn + c.tn)


Metric = Callable[[Counts], "float | np.ndarray"]
METRICS: dict[str, Metric] = {"dice": dice, "iou": iou, "precision": precision,
                              "recall": recall, "pixel_accuracy": pixel_accuracy}
"""The five metrics by name, in the order reports list them."""


def patient_counts(counts: Counts, patients: Sequence[str]) -> dict[str, Counts]:
    """Sum per-slice counts (S,) over each patient's slices -> {patient: Counts of ints}.

    Patients keep the order of their first slice.
    """
    if len(patients) != len(counts.tp):
        raise ValueError(f"got {len(patients)} patient ids for {len(counts.tp)} slices")
    index: dict[str, int] = {}
    rows = np.array([index.setdefault(p, len(index)) for p in patients], dtype=np.int64)
    sums = np.zeros((len(index), 4), dtype=np.int64)
    np.add.at(sums, rows, np.stack(counts, axis=1))
    return {p: Counts(*(int(v) for v in sums[i])) for p, i in index.items()}


def _overall(counts: Counts) -> Counts:
    return Counts(*(int(np.sum(c)) for c in counts))


def metric_per_slice(metric: Metric, pred: np.ndarray, target: np.ndarray,
                     threshold: float = 0.5) -> np.ndarray:
    """A metric of each slice: pred, target (S, 1, H, W) -> (S,) float64."""
    return np.asarray(metric(confusion_per_slice(pred, target, threshold)), dtype=np.float64)


def metric_per_patient(metric: Metric, pred: np.ndarray, target: np.ndarray,
                       patients: Sequence[str], threshold: float = 0.5) -> dict[str, float]:
    """A metric of each patient's volume: pred, target (S, 1, H, W), patients (S,) ids."""
    by_patient = patient_counts(confusion_per_slice(pred, target, threshold), patients)
    return {p: float(metric(c)) for p, c in by_patient.items()}


def metric_overall(metric: Metric, pred: np.ndarray, target: np.ndarray,
                   threshold: float = 0.5) -> float:
    """A metric of all pixels of all slices pooled: pred, target (S, 1, H, W) -> float."""
    return float(metric(_overall(confusion_per_slice(pred, target, threshold))))


def dice_per_slice(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Dice of each slice: (S, 1, H, W) -> (S,)."""
    return metric_per_slice(dice, pred, target, threshold)


def dice_per_patient(pred: np.ndarray, target: np.ndarray, patients: Sequence[str],
                     threshold: float = 0.5) -> dict[str, float]:
    """3D volume Dice of each patient: (S, 1, H, W), S ids -> {patient: dice}."""
    return metric_per_patient(dice, pred, target, patients, threshold)


def dice_overall(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> float:
    """Dice of all slices pooled: (S, 1, H, W) -> float."""
    return metric_overall(dice, pred, target, threshold)


def iou_per_slice(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """IoU of each slice: (S, 1, H, W) -> (S,)."""
    return metric_per_slice(iou, pred, target, threshold)


def iou_per_patient(pred: np.ndarray, target: np.ndarray, patients: Sequence[str],
                    threshold: float = 0.5) -> dict[str, float]:
    """3D volume IoU of each patient: (S, 1, H, W), S ids -> {patient: iou}."""
    return metric_per_patient(iou, pred, target, patients, threshold)


def iou_overall(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> float:
    """IoU of all slices pooled: (S, 1, H, W) -> float."""
    return metric_overall(iou, pred, target, threshold)


def precision_per_slice(pred: np.ndarray, target: np.ndarray,
                        threshold: float = 0.5) -> np.ndarray:
    """Precision of each slice: (S, 1, H, W) -> (S,)."""
    return metric_per_slice(precision, pred, target, threshold)


def precision_per_patient(pred: np.ndarray, target: np.ndarray, patients: Sequence[str],
                          threshold: float = 0.5) -> dict[str, float]:
    """Volume precision of each patient: (S, 1, H, W), S ids -> {patient: precision}."""
    return metric_per_patient(precision, pred, target, patients, threshold)


def precision_overall(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> float:
    """Precision of all slices pooled: (S, 1, H, W) -> float."""
    return metric_overall(precision, pred, target, threshold)


def recall_per_slice(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Recall of each slice: (S, 1, H, W) -> (S,)."""
    return metric_per_slice(recall, pred, target, threshold)


def recall_per_patient(pred: np.ndarray, target: np.ndarray, patients: Sequence[str],
                       threshold: float = 0.5) -> dict[str, float]:
    """Volume recall of each patient: (S, 1, H, W), S ids -> {patient: recall}."""
    return metric_per_patient(recall, pred, target, patients, threshold)


def recall_overall(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> float:
    """Recall of all slices pooled: (S, 1, H, W) -> float."""
    return metric_overall(recall, pred, target, threshold)


def pixel_accuracy_per_slice(pred: np.ndarray, target: np.ndarray,
                             threshold: float = 0.5) -> np.ndarray:
    """Pixel accuracy of each slice: (S, 1, H, W) -> (S,)."""
    return metric_per_slice(pixel_accuracy, pred, target, threshold)


def pixel_accuracy_per_patient(pred: np.ndarray, target: np.ndarray, patients: Sequence[str],
                               threshold: float = 0.5) -> dict[str, float]:
    """Pixel accuracy of each patient's volume: (S, 1, H, W), S ids -> {patient: accuracy}."""
    return metric_per_patient(pixel_accuracy, pred, target, patients, threshold)


def pixel_accuracy_overall(pred: np.ndarray, target: np.ndarray,
                           threshold: float = 0.5) -> float:
    """Pixel accuracy of all slices pooled: (S, 1, H, W) -> float."""
    return metric_overall(pixel_accuracy, pred, target, threshold)


def segmentation_metrics(pred: np.ndarray, target: np.ndarray, patients: Sequence[str],
                         threshold: float = 0.5) -> dict:
    """All five metrics per patient volume and overall, from one pass over the masks.

    pred, target: (S, 1, H, W); patients: S ids, one per slice. Returns (all floats)::

        {"per_patient": {patient: {"dice": .., "iou": .., "precision": ..,
                                   "recall": .., "pixel_accuracy": ..}},
         "overall": {"dice": .., ...},               # all pixels of all slices pooled
         "dice_per_patient_mean": ..}                # mean volume Dice: the headline number
    """
    counts = confusion_per_slice(pred, target, threshold)
    per_patient = {p: {name: float(f(c)) for name, f in METRICS.items()}
                   for p, c in patient_counts(counts, patients).items()}
    pooled = _overall(counts)
    dices = [row["dice"] for row in per_patient.values()]
    return {"per_patient": per_patient,
            "overall": {name: float(f(pooled)) for name, f in METRICS.items()},
            "dice_per_patient_mean": float(np.mean(dices)) if dices else float("nan")}


def bootstrap_interval(values: Sequence[float], statistic: Callable[[np.ndarray], float] = np.mean,
                       seed: int = 0, draws: int = 10000) -> list[float]:
    """95% percentile interval of ``statistic`` of `values`, resampled with replacement.

    With one value per patient this is the interval "patients resampled".
    """
    values = np.asarray(values, dtype=np.float64)
    picks = np.random.default_rng(seed).integers(0, len(values), (draws, len(values)))
    return [float(v) for v in np.percentile(statistic(values[picks], axis=1), [2.5, 97.5])]
