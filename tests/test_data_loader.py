"""Patient split, DataLoader batching and reproducibility, and the embedded default dataset."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch_unet.data as data
from minitorch_unet.data import (Augment, DataError, DataLoader, SliceSet, load_dataset,
                                  patient_folds, patient_split)


def numbered_slices(count: int, size: int = 8) -> SliceSet:
    """Slice i has every image pixel = i, so batches reveal which slices they hold."""
    images = np.broadcast_to(np.arange(count, dtype=np.float32)[:, None, None, None],
                             (count, 1, size, size)).copy()
    masks = np.zeros((count, 1, size, size), dtype=np.float32)
    masks[:, :, 2:5, 3:6] = 1
    return SliceSet(images=images, masks=masks, patients=[f"P{i // 4}" for i in range(count)],
                    slice_index=np.arange(count) % 4)


def slice_ids(loader: DataLoader) -> list[list[int]]:
    return [images[:, 0, 0, 0].astype(int).tolist() for images, _ in loader]


@pytest.fixture(scope="module")
def sample(embedded_sample: Path) -> SliceSet:
    return load_dataset(embedded_sample)


# --- patient_split ----------------------------------------------------------------------------

def test_four_patients_split_2_1_1_without_slice_leakage(sample: SliceSet) -> None:
    parts = patient_split(sample.patient_ids(), seed=0)
    assert [len(parts[k]) for k in ("train", "val", "test")] == [2, 1, 1]
    subsets = {name: sample.select(ids) for name, ids in parts.items()}
    assert sum(len(s) for s in subsets.values()) == len(sample)
    for a in subsets:
        for b in subsets:
            if a != b:
                assert set(subsets[a].patients).isdisjoint(subsets[b].patients)


def test_split_is_deterministic_and_depends_on_the_seed() -> None:
    ids = [f"TCGA_{i:03d}" for i in range(30)]
    assert patient_split(ids, seed=3) == patient_split(list(reversed(ids)), seed=3)
    assert patient_split(ids, seed=3) != patient_split(ids, seed=4)
    parts = patient_split(ids, val=0.2, test=0.1, seed=0)
    assert (len(parts["train"]), len(parts["val"]), len(parts["test"])) == (21, 6, 3)


@settings(max_examples=50, deadline=None)
@given(st.sets(st.text(min_size=1, max_size=6), min_size=3, max_size=40), st.integers(0, 2**32 - 1))
def test_split_is_a_partition(ids: set[str], seed: int) -> None:
    parts = patient_split(ids, seed=seed)
    together = parts["train"] + parts["val"] + parts["test"]
    assert sorted(together) == sorted(ids)  # covers everything, each patient once
    assert parts["train"] and parts["val"] and parts["test"]


def test_split_rejects_impossible_requests() -> None:
    with pytest.raises(ValueError, match="at least one"):
        patient_split([])
    with pytest.raises(ValueError, match="fractions"):
        patient_split(["a", "b", "c"], val=0.6, test=0.5)
    with pytest.raises(ValueError, match="too few"):
        patient_split(["a", "b"], val=0.5, test=0.4)


# --- patient_folds ----------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.sets(st.text(min_size=1, max_size=6), min_size=3, max_size=30), st.integers(3, 10),
       st.integers(0, 2**32 - 1))
def test_folds_test_every_patient_exactly_once(ids: set[str], folds: int, seed: int) -> None:
    folds = min(folds, len(ids))
    parts = [patient_folds(ids, folds, k, seed=seed) for k in range(folds)]
    tested = [p for part in parts for p in part["test"]]
    assert sorted(tested) == sorted(ids)  # each patient is a test patient exactly once
    for k, part in enumerate(parts):
        assert sorted(part["train"] + part["val"] + part["test"]) == sorted(ids)
        assert part["train"] and part["val"] and part["test"]
        assert part["val"] == parts[(k + 1) % folds]["test"]  # validates on the next group
    sizes = [len(part["test"]) for part in parts]
    assert max(sizes) - min(sizes) <= 1


def test_folds_are_deterministic_and_depend_on_the_seed() -> None:
    ids = [f"TCGA_{i:03d}" for i in range(14)]
    assert patient_folds(ids, 7, 2, seed=5) == patient_folds(list(reversed(ids)), 7, 2, seed=5)
    groupings = {tuple(tuple(patient_folds(ids, 7, k, seed=s)["test"]) for k in range(7))
                 for s in range(3)}
    assert len(groupings) == 3


def test_folds_reject_impossible_requests() -> None:
    ids = ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="at least 3 folds"):
        patient_folds(ids, 2, 0)
    with pytest.raises(ValueError, match=r"fold must be in 0 \.\. 3"):
        patient_folds(ids, 4, 4)
    with pytest.raises(ValueError, match="4 patients are too few for 5 folds"):
        patient_folds(ids, 5, 0)


# --- DataLoader -------------------------------------------------------------------------------

def test_batches_cover_every_slice_once_with_the_right_shapes() -> None:
    slices = numbered_slices(19)
    loader = DataLoader(slices, batch_size=4, seed=1)
    assert len(loader) == 5
    batches = list(loader)
    assert [len(images) for images, _ in batches] == [4, 4, 4, 4, 3]
    for images, masks in batches:
        assert images.dtype == np.float32 and masks.dtype == np.float32
        assert images.shape[1:] == (1, 8, 8) and masks.shape[1:] == (1, 8, 8)
    seen = [i for batch in slice_ids(DataLoader(slices, batch_size=4, seed=1)) for i in batch]
    assert sorted(seen) == list(range(19)) and seen != list(range(19))


def test_drop_last_and_no_shuffle() -> None:
    slices = numbered_slices(19)
    loader = DataLoader(slices, batch_size=4, shuffle=False, drop_last=True)
    assert len(loader) == 4
    assert slice_ids(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]


def test_each_epoch_reshuffles_and_set_epoch_reproduces_it() -> None:
    slices = numbered_slices(24)
    loader = DataLoader(slices, batch_size=5, seed=7)
    epochs = [slice_ids(loader) for _ in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    resumed = DataLoader(slices, batch_size=5, seed=7)
    resumed.set_epoch(2)
    assert slice_ids(resumed) == epochs[2]
    assert slice_ids(DataLoader(slices, batch_size=5, seed=8)) != epochs[0]


def test_augmented_batches_are_reproducible_and_leave_the_set_untouched() -> None:
    slices = numbered_slices(10)
    before = slices.masks.copy()
    settings_ = dict(rotate=30.0, shift=0.2, zoom=0.1)
    # The loader's (seed, epoch) drives the augmentation, whatever the Augment's own seed.
    first = list(DataLoader(slices, batch_size=3, seed=2, augment=Augment(seed=0, **settings_)))
    again = list(DataLoader(slices, batch_size=3, seed=2, augment=Augment(seed=99, **settings_)))
    for (a_images, a_masks), (b_images, b_masks) in zip(first, again):
        np.testing.assert_array_equal(a_images, b_images)
        np.testing.assert_array_equal(a_masks, b_masks)
        assert set(np.unique(a_masks)) <= {0.0, 1.0}
    assert any(not np.array_equal(masks, before[: len(masks)]) for _, masks in first)
    np.testing.assert_array_equal(slices.masks, before)


def test_loader_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(numbered_slices(4), batch_size=0)


# --- load_dataset and the embedded sample -----------------------------------------------------

def test_default_dataset_is_the_embedded_sample(sample: SliceSet, embedded_sample: Path) -> None:
    assert data.EMBEDDED_SAMPLE == embedded_sample.resolve()
    default = load_dataset()
    assert len(default) == 99 and len(default.patient_ids()) == 4
    np.testing.assert_array_equal(default.images, sample.images)


def test_missing_embedded_sample_asks_for_a_data_path(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.setattr(data, "EMBEDDED_SAMPLE", tmp_path / "lgg_sample_4patients.zip")
    with pytest.raises(DataError, match="--data"):
        load_dataset()


def test_load_dataset_rejects_a_folder_with_neither_layout(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match="neither LGG slices"):
        load_dataset(tmp_path)
