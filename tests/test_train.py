"""Training: the loss falls, the run folder is complete and atomic, resume is exact, NaN stops."""
from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minitorch_unet import losses
from minitorch_unet.checkpoint import load_checkpoint
from minitorch_unet.train import (TrainConfig, TrainingError, build_model, load_slices,
                                  read_checkpoint, saved_config, split_patients, train)

TUMOUR_SLICES, EMPTY_SLICES = 3, 2  # per patient in the tiny subset


def _mask_has_tumour(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as picture:
        return bool(np.asarray(picture).any())


@pytest.fixture(scope="session")
def tiny_lgg(tmp_path_factory, embedded_sample: Path) -> Path:
    """A kaggle_3m folder with a few real slices of each of the 4 sample patients.

    Per patient: the first TUMOUR_SLICES slices with a tumour and the first EMPTY_SLICES
    without, copied byte for byte from the embedded sample.
    """
    root = tmp_path_factory.mktemp("tiny_lgg") / "kaggle_3m"
    with zipfile.ZipFile(embedded_sample) as archive:
        masks = sorted(n for n in archive.namelist() if n.endswith("_mask.tif"))
        picked: dict[str, dict[bool, list[str]]] = {}
        for name in masks:
            patient = name.split("/")[-2]
            tumour = _mask_has_tumour(archive.read(name))
            chosen = picked.setdefault(patient, {True: [], False: []})[tumour]
            if len(chosen) < (TUMOUR_SLICES if tumour else EMPTY_SLICES):
                chosen.append(name)
        for patient, groups in picked.items():
            (root / patient).mkdir(parents=True)
            for mask in groups[True] + groups[False]:
                image = mask.replace("_mask.tif", ".tif")
                for member in (mask, image):
                    (root / patient / member.split("/")[-1]).write_bytes(archive.read(member))
    return root


def tiny_config(data: Path, **changes) -> TrainConfig:
    """A U-Net small enough to train in a fraction of a second per epoch."""
    settings = dict(data=[str(data)], image_size=32, base_filters=4, depth=2, batch_size=2,
                    epochs=2, save_every=0)
    return TrainConfig(**{**settings, **changes})


def quiet(_: str) -> None:
    """A log function that drops the lines."""


def weights(run_file: Path) -> dict[str, np.ndarray]:
    arrays, _ = load_checkpoint(run_file)
    return arrays


def assert_same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_training_lowers_the_loss_and_writes_a_complete_run(tiny_lgg, tmp_path):
    run = tmp_path / "run"
    config = tiny_config(tiny_lgg, epochs=6, augment=False, lr=3e-3)
    history = train(config, run, log=quiet)

    losses_per_epoch = [row["train_loss"] for row in history["epochs"]]
    assert len(losses_per_epoch) == 6
    assert losses_per_epoch[-1] < losses_per_epoch[0]
    assert sorted(p.name for p in run.iterdir()) == ["best.npz", "curves.png", "history.json",
                                                       "last.npz"]  # no temporary files left
    assert json.loads((run / "history.json").read_text()) == json.loads(json.dumps(history))
    with Image.open(run / "curves.png") as picture:
        assert picture.format == "PNG" and picture.size[0] > 100

    best_epoch = max(history["epochs"], key=lambda row: row["val_dice"])["epoch"]
    assert history["best"]["epoch"] == best_epoch
    best_config, model, _, meta = read_checkpoint(run / "best.npz")
    assert best_config == config and meta["epoch"] == best_epoch
    assert set(history["split"]["val"]) == set(history["epochs"][0]["val_dice_per_patient"])
    assert read_checkpoint(run / "last.npz")[3]["epoch"] == 6
    assert saved_config(run) == config


def test_split_is_by_patient_and_seeded(tiny_lgg):
    config = tiny_config(tiny_lgg)
    slices = load_slices(config)
    split = split_patients(config, slices)
    assert sorted(sum(split.values(), [])) == slices.patient_ids()
    assert [len(split[k]) for k in ("train", "val", "test")] == [2, 1, 1]
    assert split == split_patients(config, slices)
    others = [split_patients(dataclasses.replace(config, seed=s), slices) for s in range(1, 6)]
    assert any(other != split for other in others)
    assert slices.images.min() >= 0 and slices.images.max() <= 1


def test_zscore_normalises_each_patient_volume(tiny_lgg):
    slices = load_slices(tiny_config(tiny_lgg, normalization="zscore"))
    patients = np.asarray(slices.patients)
    for patient in slices.patient_ids():
        volume = slices.images[patients == patient].astype(np.float64)
        assert abs(volume.mean()) < 1e-4 and abs(volume.std() - 1) < 1e-4
    minmax = load_slices(tiny_config(tiny_lgg))
    assert not np.allclose(minmax.images, slices.images)


def test_cross_validation_folds_test_each_patient_once(tiny_lgg, tmp_path):
    config = tiny_config(tiny_lgg, folds=4, epochs=1)
    slices = load_slices(config)
    splits = [split_patients(dataclasses.replace(config, fold=k), slices) for k in range(4)]
    assert sorted(p for split in splits for p in split["test"]) == slices.patient_ids()
    history = train(dataclasses.replace(config, fold=2), tmp_path / "run", log=quiet)
    assert history["split"] == splits[2]
    with pytest.raises(ValueError, match="holds 4 patients, too few for --folds 5: each fold "
                                         "needs one; use --folds 4"):
        train(tiny_config(tiny_lgg, folds=5), tmp_path / "five", log=quiet)
    assert not (tmp_path / "five").exists()


def test_resume_at_an_epoch_boundary_continues_exactly(tiny_lgg, tmp_path):
    config = tiny_config(tiny_lgg, epochs=2, dropout=0.2)
    straight = train(config, tmp_path / "straight", log=quiet)

    def stop_after_first_epoch(line: str) -> None:
        if line.startswith("epoch 1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "resumed", log=stop_after_first_epoch)
    assert read_checkpoint(tmp_path / "resumed" / "last.npz")[3]["epoch"] == 1
    resumed = train(config, tmp_path / "resumed", resume=True, log=quiet)

    assert_same_arrays(weights(tmp_path / "straight" / "last.npz"),
                       weights(tmp_path / "resumed" / "last.npz"))
    assert [r["train_loss"] for r in resumed["epochs"]] == pytest.approx(
        [r["train_loss"] for r in straight["epochs"]], rel=1e-5)


def test_resume_mid_epoch_continues_exactly(tiny_lgg, tmp_path, monkeypatch):
    config = tiny_config(tiny_lgg, epochs=2, save_every=1)
    train(config, tmp_path / "straight", log=quiet)

    real_loss, calls = losses.LOSSES[config.loss], []

    def interrupted_loss(logits, target):
        calls.append(1)
        if len(calls) == 7:  # epoch 2 (5 steps per epoch), step 2: step 1 was saved
            raise KeyboardInterrupt
        return real_loss(logits, target)

    monkeypatch.setitem(losses.LOSSES, config.loss, interrupted_loss)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "resumed", log=quiet)
    monkeypatch.setitem(losses.LOSSES, config.loss, real_loss)
    meta = read_checkpoint(tmp_path / "resumed" / "last.npz")[3]
    assert (meta["epoch"], meta["step"]) == (1, 1)
    lines: list[str] = []
    train(config, tmp_path / "resumed", resume=True, log=lines.append)

    assert lines[0].endswith("at epoch 2, step 2")
    assert_same_arrays(weights(tmp_path / "straight" / "last.npz"),
                       weights(tmp_path / "resumed" / "last.npz"))


def test_a_nan_loss_stops_training_naming_epoch_and_step(tiny_lgg, tmp_path, monkeypatch):
    config = tiny_config(tiny_lgg, epochs=3)
    real_loss, calls = losses.LOSSES[config.loss], []

    def loss_turning_nan(logits, target):
        calls.append(1)
        loss = real_loss(logits, target)
        return loss * float("nan") if len(calls) == 8 else loss  # epoch 2, step 3

    monkeypatch.setitem(losses.LOSSES, config.loss, loss_turning_nan)
    run = tmp_path / "run"
    with pytest.raises(TrainingError, match=r"nan at epoch 2, step 3\b.*last\.npz keeps"):
        train(config, run, log=quiet)

    _, model, _, meta = read_checkpoint(run / "last.npz")
    assert (meta["epoch"], meta["step"]) == (1, 0)
    assert all(np.isfinite(v).all() for v in model.state_dict().values())
    assert not any(p.name.startswith(".") for p in run.iterdir())


def test_valid_padding_trains_on_center_cropped_masks(tiny_lgg, tmp_path):
    config = tiny_config(tiny_lgg, padding="valid", image_size=60, epochs=1)
    assert build_model(config).output_size(60) == 20
    history = train(config, tmp_path / "run", log=quiet)
    assert np.isfinite(history["epochs"][0]["train_loss"])
    assert 0 <= history["epochs"][0]["val_dice"] <= 1


@pytest.mark.parametrize("change, option", [
    ({"optimizer": "rmsprop"}, "--optimizer"), ({"lr": 0.0}, "--lr"),
    ({"epochs": 0}, "--epochs"), ({"val_fraction": 1.0}, "--val-fraction"),
    ({"padding": "full"}, "--padding"), ({"dropout": 1.0}, "--dropout"),
    ({"normalization": "robust"}, "--normalization"), ({"folds": 2}, "--folds"), ({"folds": 5, "fold": 5}, "--fold"), ({"fold": 1}, "--fold"),
])
def test_bad_settings_are_refused_naming_the_option(change, option):
    with pytest.raises(ValueError, match=option):
        TrainConfig(**change)


def test_an_image_size_the_unet_cannot_take_names_the_option():
    with pytest.raises(ValueError, match="--image-size"):
        build_model(TrainConfig(image_size=100, depth=4))


def test_without_validation_patients_every_patient_trains_and_the_last_epoch_is_kept(
        tiny_lgg, tmp_path):  # noqa: F811
    config = tiny_config(tiny_lgg, val_fraction=0.0, test_fraction=0.0, epochs=2)
    history = train(config, tmp_path / "run", log=quiet)
    assert len(history["split"]["train"]) == 4 and not history["split"]["val"]
    assert history["best"] == {"epoch": 2, "val_dice": None}
    assert all(row["val_dice"] is None and row["test_dice"] is None
               for row in history["epochs"])
    assert_same_arrays(weights(tmp_path / "run" / "best.npz"),
                       weights(tmp_path / "run" / "last.npz"))
    assert (tmp_path / "run" / "curves.png").stat().st_size > 0


def test_the_history_records_the_test_patients_dice_each_epoch(tiny_lgg, tmp_path):  # noqa: F811
    history = train(tiny_config(tiny_lgg), tmp_path / "run", log=quiet)
    (test_patient,) = history["split"]["test"]
    for row in history["epochs"]:
        assert list(row["test_dice_per_patient"]) == [test_patient]
        assert row["test_dice"] == row["test_dice_per_patient"][test_patient]
