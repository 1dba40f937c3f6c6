"""Datasets as users have them: too few patients, symlinked folders, link cycles."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from minitorch_unet.cli import main
from minitorch_unet.data import DataError, load_dataset, patient_split
from minitorch_unet.train import TrainConfig, train
from test_train import tiny_lgg  # noqa: F401  (fixture)

TINY = dict(image_size=32, base_filters=4, depth=2, batch_size=2, epochs=1)


def some_patients(tiny_lgg: Path, tmp_path: Path, count: int) -> Path:  # noqa: F811
    """A kaggle_3m copy with the first `count` patients of the tiny subset."""
    root = tmp_path / f"{count}_patients" / "kaggle_3m"
    for patient in sorted(p for p in tiny_lgg.iterdir() if p.is_dir())[:count]:
        shutil.copytree(patient, root / patient.name)
    return root


@pytest.mark.parametrize("count, message", [
    (1, r"--data: 1 patient is too few for val=0.1, test=0.1: 1 to validate and 1 to test leave "
        r"none to train on; at least 3 are needed; add patients: one trains and one validates"),
    (2, r"--data: 2 patients are too few .* at least 3 are needed; train without a test patient "
        r"with --test-fraction 0"),
])
def test_too_few_patients_stop_before_anything_is_written(tiny_lgg, tmp_path, capsys,  # noqa: F811
                                                           count, message):
    data = some_patients(tiny_lgg, tmp_path, count)
    with pytest.raises(DataError, match=message):
        train(TrainConfig(data=[str(data)], **TINY), tmp_path / "run", log=lambda _: None)
    assert not (tmp_path / "run").exists()
    code = main(["train", "--data", str(data), "--out", str(tmp_path / "cli"), "--epochs", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "too few" in err[0]
    assert not (tmp_path / "cli").exists()


def test_two_patients_train_without_a_test_patient(tiny_lgg, tmp_path):  # noqa: F811
    data = some_patients(tiny_lgg, tmp_path, 2)
    history = train(TrainConfig(data=[str(data)], test_fraction=0, **TINY), tmp_path / "run",
                    log=lambda _: None)
    assert [len(history["split"][k]) for k in ("train", "val", "test")] == [1, 1, 0]
    assert (tmp_path / "run" / "best.npz").is_file()


def test_split_gives_a_nonzero_fraction_one_patient_or_refuses():
    parts = patient_split(["a", "b"], test=0)
    assert [len(parts[k]) for k in ("train", "val", "test")] == [1, 1, 0]
    with pytest.raises(ValueError, match="1 patient is too few"):
        patient_split(["a"], test=0)


def test_patient_folders_that_are_symlinks_are_followed(tiny_lgg, tmp_path):  # noqa: F811
    linked = tmp_path / "linked" / "kaggle_3m"
    linked.mkdir(parents=True)
    for patient in sorted(p for p in tiny_lgg.iterdir() if p.is_dir()):
        os.symlink(patient, linked / patient.name, target_is_directory=True)
    original, through_links = load_dataset(tiny_lgg, 32), load_dataset(linked, 32)
    assert through_links.patients == original.patients and len(original.patients) > 0
    np.testing.assert_array_equal(through_links.images, original.images)


def test_a_link_cycle_ends_and_lists_each_file_once(tiny_lgg, tmp_path):  # noqa: F811
    data = tmp_path / "cycle"
    shutil.copytree(tiny_lgg, data)
    patient = sorted(p for p in data.iterdir() if p.is_dir())[0]
    os.symlink(data, patient / "back_to_the_top", target_is_directory=True)
    assert load_dataset(data, 32).patients == load_dataset(tiny_lgg, 32).patients
