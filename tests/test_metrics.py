"""Segmentation metrics: hand-counted masks, the empty-mask convention, volume aggregation."""
from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from minitorch_unet import metrics as M

# One 2x3 slice, counted by hand:
#   pred    1 1 0      target  1 0 0      -> tp = 1 (top-left), fp = 2 (top-middle,
#           0 1 0              1 0 0         bottom-middle), fn = 1 (bottom-left), tn = 2
PRED = np.array([[[[1, 1, 0], [0, 1, 0]]]], dtype=np.float32)
TARGET = np.array([[[[1, 0, 0], [1, 0, 0]]]], dtype=np.float32)


def test_confusion_counts_by_hand():
    assert M.confusion(PRED, TARGET) == M.Counts(tp=1, fp=2, fn=1, tn=2)


def test_metrics_by_hand():
    c = M.confusion(PRED, TARGET)
    assert M.dice(c) == pytest.approx(2 / 5)       # 2*1 / (2*1 + 2 + 1)
    assert M.iou(c) == pytest.approx(1 / 4)        # 1 / (1 + 2 + 1)
    assert M.precision(c) == pytest.approx(1 / 3)  # 1 / (1 + 2)
    assert M.recall(c) == pytest.approx(1 / 2)     # 1 / (1 + 1)
    assert M.pixel_accuracy(c) == pytest.approx(3 / 6)


@pytest.mark.parametrize("pred, target, expected", [
    # both empty: a correct "no tumour" answer
    ([0, 0, 0, 0], [0, 0, 0, 0], dict(dice=1, iou=1, precision=1, recall=1, pixel_accuracy=1)),
    # target empty, prediction not: false alarm; nothing to find, so recall 1
    ([1, 0, 0, 0], [0, 0, 0, 0], dict(dice=0, iou=0, precision=0, recall=1, pixel_accuracy=.75)),
    # prediction empty, target not: missed tumour; no false claims, so precision 1
    ([0, 0, 0, 0], [0, 1, 1, 0], dict(dice=0, iou=0, precision=1, recall=0, pixel_accuracy=.5)),
])
def test_empty_mask_convention(pred, target, expected):
    pred = np.array(pred, dtype=np.float32).reshape(1, 1, 2, 2)
    target = np.array(target, dtype=np.float32).reshape(1, 1, 2, 2)
    c = M.confusion(pred, target)
    got = {name: f(c) for name, f in M.METRICS.items()}
    assert got == pytest.approx(expected)
    rows = M.segmentation_metrics(pred, target, ["a"])
    assert rows["per_patient"]["a"] == pytest.approx(expected)
    assert rows["overall"] == pytest.approx(expected)


def test_threshold_is_strict_and_adjustable():
    pred = np.array([0.2, 0.5, 0.7, 0.9], dtype=np.float32).reshape(1, 1, 2, 2)
    target = np.array([0, 1, 1, 0], dtype=np.uint8).reshape(1, 1, 2, 2)
    # 0.5: positives {0.7, 0.9}; 0.5 itself is not above the threshold
    assert M.confusion(pred, target) == M.Counts(tp=1, fp=1, fn=1, tn=1)
    # 0.1: all four positive
    assert M.confusion(pred, target, threshold=0.1) == M.Counts(tp=2, fp=2, fn=0, tn=0)
    # 0.8: only 0.9
    assert M.confusion(pred, target, threshold=0.8) == M.Counts(tp=0, fp=1, fn=2, tn=1)
    assert M.dice_overall(pred, target, threshold=0.1) == pytest.approx(4 / 6)


def test_target_may_be_bool_or_0_255():
    as_255 = (TARGET * 255).astype(np.uint8)
    as_bool = TARGET.astype(bool)
    expected = M.Counts(tp=1, fp=2, fn=1, tn=2)
    assert M.confusion(PRED, as_255) == expected
    assert M.confusion(PRED.astype(bool), as_bool) == expected


def test_per_slice_values_and_shape():
    pred = np.zeros((3, 1, 2, 2), dtype=np.float32)
    target = np.zeros((3, 1, 2, 2), dtype=np.float32)
    pred[0, 0, 0, 0] = target[0, 0, 0, 0] = 1          # slice 0: perfect hit
    pred[1, 0, 0, 0] = 1                                # slice 1: false alarm
    target[1, 0, 1, 1] = 1
    # slice 2: both empty
    d = M.dice_per_slice(pred, target)
    assert d.shape == (3,)
    np.testing.assert_allclose(d, [1.0, 0.0, 1.0])
    np.testing.assert_allclose(M.recall_per_slice(pred, target), [1.0, 0.0, 1.0])
    np.testing.assert_allclose(M.pixel_accuracy_per_slice(pred, target), [1.0, 0.5, 1.0])


def _volume_vs_mean_case():
    """Patient "a": slice 0 a 1-pixel perfect hit (Dice 1), slice 1 misses 3 pixels (Dice 0).

    Mean of slice Dice = 0.5, but the volume has tp = 1, fn = 3: Dice = 2/(2+3) = 0.4.
    Patient "b": one slice, predicted 2 pixels of which 1 is tumour: Dice = 2/(2+1) = 2/3.
    """
    pred = np.zeros((3, 1, 2, 2), dtype=np.float32)
    target = np.zeros((3, 1, 2, 2), dtype=np.float32)
    pred[0, 0, 0, 0] = target[0, 0, 0, 0] = 1
    target[1, 0, 0, 1] = target[1, 0, 1, 0] = target[1, 0, 1, 1] = 1
    pred[2, 0, 0, :] = 1
    target[2, 0, 0, 0] = 1
    return pred, target, ["a", "a", "b"]


def test_per_patient_is_volume_dice_not_mean_of_slices():
    pred, target, patients = _volume_vs_mean_case()
    per_patient = M.dice_per_patient(pred, target, patients)
    assert list(per_patient) == ["a", "b"]
    assert per_patient["a"] == pytest.approx(0.4)
    assert per_patient["b"] == pytest.approx(2 / 3)
    assert M.dice_per_slice(pred, target)[:2].mean() == pytest.approx(0.5)  # differs
    # pooled over all slices: tp = 2, fp = 1, fn = 3
    assert M.dice_overall(pred, target) == pytest.approx(4 / 8)
    assert M.iou_per_patient(pred, target, patients) == pytest.approx({"a": 1 / 4, "b": 1 / 2})
    assert M.precision_per_patient(pred, target, patients) == pytest.approx({"a": 1, "b": 1 / 2})
    assert M.recall_per_patient(pred, target, patients) == pytest.approx({"a": 1 / 4, "b": 1})


def test_segmentation_metrics_report():
    pred, target, patients = _volume_vs_mean_case()
    report = M.segmentation_metrics(pred, target, patients)
    assert set(report["per_patient"]["a"]) == set(M.METRICS)
    assert report["per_patient"]["a"]["dice"] == pytest.approx(0.4)
    assert report["per_patient"]["a"]["pixel_accuracy"] == pytest.approx(5 / 8)
    assert report["per_patient"]["b"]["iou"] == pytest.approx(1 / 2)
    assert report["dice_per_patient_mean"] == pytest.approx((0.4 + 2 / 3) / 2)
    assert report["overall"]["dice"] == pytest.approx(0.5)
    assert report["overall"]["recall"] == pytest.approx(2 / 5)
    assert report["overall"]["pixel_accuracy"] == pytest.approx(8 / 12)


def test_patient_slices_need_not_be_contiguous():
    pred, target, _ = _volume_vs_mean_case()
    order = [0, 2, 1]
    got = M.dice_per_patient(pred[order], target[order], ["a", "b", "a"])
    assert got == pytest.approx({"a": 0.4, "b": 2 / 3})


def test_shape_and_patient_count_mismatch_raise():
    with pytest.raises(ValueError, match="same shape"):
        M.dice_per_slice(np.zeros((2, 1, 4, 4)), np.zeros((2, 1, 4, 3)))
    with pytest.raises(ValueError, match="3 patient ids for 2 slices"):
        M.dice_per_patient(np.zeros((2, 1, 4, 4)), np.zeros((2, 1, 4, 4)), ["a", "b", "c"])


def _set_dice(p: np.ndarray, t: np.ndarray) -> float:
    """Dice from sets of foreground coordinates, 1.0 when both are empty."""
    a = {tuple(i) for i in np.argwhere(p)}
    b = {tuple(i) for i in np.argwhere(t)}
    return 1.0 if not a and not b else 2 * len(a & b) / (len(a) + len(b))


masks = arrays(np.bool_, st.tuples(st.integers(1, 4), st.just(1), st.integers(1, 5),
                                   st.integers(1, 5)))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_masks_against_set_formulae(data):
    pred = data.draw(masks)
    target = data.draw(arrays(np.bool_, pred.shape))
    patients = data.draw(st.lists(st.sampled_from("xyz"), min_size=len(pred),
                                  max_size=len(pred)))
    # Dice == 2 IoU / (1 + IoU) at every level, empty masks included
    d, j = M.dice_per_slice(pred, target), M.iou_per_slice(pred, target)
    np.testing.assert_allclose(d, 2 * j / (1 + j))
    assert M.dice_overall(pred, target) == pytest.approx(
        2 * M.iou_overall(pred, target) / (1 + M.iou_overall(pred, target)))
    # against sets of coordinates, slice by slice, per patient volume and pooled
    np.testing.assert_allclose(d, [_set_dice(p, t) for p, t in zip(pred, target)])
    for name, value in M.dice_per_patient(pred, target, patients).items():
        rows = [i for i, p in enumerate(patients) if p == name]
        assert value == pytest.approx(_set_dice(pred[rows], target[rows]))
    assert M.dice_overall(pred, target) == pytest.approx(_set_dice(pred, target))
    # pixel accuracy == fraction of equal pixels
    assert M.pixel_accuracy_overall(pred, target) == pytest.approx(np.mean(pred == target))


def test_full_validation_set_is_fast():
    rng = np.random.default_rng(0)
    pred = rng.random((434, 1, 256, 256), dtype=np.float32)
    target = rng.random((434, 1, 256, 256)) > 0.95
    patients = [f"p{i // 22}" for i in range(434)]
    start = time.perf_counter()
    report = M.segmentation_metrics(pred, target, patients)
    elapsed = time.perf_counter() - start
    assert len(report["per_patient"]) == 20
    assert elapsed < 1.0, f"segmentation_metrics took {elapsed:.2f} s for 434 slices"
