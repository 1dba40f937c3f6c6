"""Segmenting scans: kaggle_3m slices with and without masks, NIfTI volumes, the exported
model and its post-processing, and the bad inputs refused before any inference runs."""
from __future__ import annotations

import gzip
import io
import shutil
import zipfile
from pathlib import Path

import nibabel
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

from minitorch_unet import pretrained
from minitorch_unet.checkpoint import CheckpointError, load_checkpoint
from minitorch_unet.cli import main
from minitorch_unet.data import DataError
from minitorch_unet.evaluate import evaluate, predict
from minitorch_unet.postprocess import connected_components, drop_small_components
from minitorch_unet.train import load_slices, predict_probabilities, read_checkpoint, train
from test_train import quiet, tiny_config, tiny_lgg  # noqa: F401  (fixture)


def read_tiff(path: Path) -> np.ndarray:
    with Image.open(path) as picture:
        return np.asarray(picture)


@pytest.fixture(scope="module")
def model_file(tiny_lgg, tmp_path_factory) -> Path:  # noqa: F811
    """A tiny U-Net trained for one epoch, exported with a threshold at which it predicts
    tumour in about a tenth of the pixels (so the masks compared below are not empty)."""
    folder = tmp_path_factory.mktemp("model")
    config = tiny_config(tiny_lgg, epochs=1)
    train(config, folder / "run", log=quiet)
    _, model, _, _ = read_checkpoint(folder / "run" / "last.npz")
    probabilities = predict_probabilities(model, load_slices(config).images, 4)
    threshold = float(np.quantile(probabilities, 0.9))
    assert 0 < threshold < 1
    return pretrained.export_model(folder / "run" / "last.npz", folder / "model.npz",
                                   threshold=threshold, min_voxels=3)


@pytest.fixture()
def unlabelled(tiny_lgg, tmp_path) -> Path:  # noqa: F811
    """The tiny kaggle_3m folder without its masks."""
    root = tmp_path / "unlabelled"
    shutil.copytree(tiny_lgg, root)
    for mask in root.rglob("*_mask.tif"):
        mask.unlink()
    return root


LPS_AFFINE = np.diag([-0.5, -0.5, 2.0, 1.0])


def mask_name(volume: Path) -> str:
    return f"{volume.name.removesuffix('.nii.gz')}_mask.nii.gz"


def nifti_of(tiny_lgg: Path, folder: Path, patient_index: int = 0) -> tuple[Path, list[Path]]:  # noqa: F811
    """One patient's FLAIR slices as a NIfTI volume (X, Y, Z) with 0.5 x 0.5 x 2 mm voxels, laid
    out as DICOM slices are: x towards the patient's left, y posterior, z superior (LPS)."""
    patient = sorted(p for p in tiny_lgg.iterdir())[patient_index]
    images = sorted((p for p in patient.glob("*.tif") if not p.name.endswith("_mask.tif")),
                    key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    flair = np.stack([read_tiff(p)[:, :, 1] for p in images]).astype(np.float32)  # (Z, H, W)
    path = folder / f"{patient.name}_flair.nii.gz"
    image = nibabel.Nifti1Image(flair.transpose(2, 1, 0), LPS_AFFINE)
    path.write_bytes(gzip.compress(image.to_bytes()))
    return path, images


def test_unlabelled_slices_get_a_mask_each_at_their_own_size(model_file, unlabelled, tiny_lgg,  # noqa: F811
                                                             tmp_path):
    out = tmp_path / "out"
    result = predict(model_file, unlabelled, out)
    images = sorted(p for p in unlabelled.rglob("*.tif"))
    masks = sorted(out.rglob("*_mask.tif"))
    assert len(masks) == len(images) == sum(row["slices"] for row in result["patients"])
    assert not result["skipped"]
    for image in images:
        mask = read_tiff(out / image.parent.name / f"{image.stem}_mask.tif")
        assert mask.shape == read_tiff(image).shape[:2] and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 255}
    table = (out / "patients.csv").read_text().splitlines()
    assert table[0] == "patient,slices,tumour_voxels,tumour_ml,dice"
    assert len(table) == 1 + 4 and all(line.endswith(",,") for line in table[1:])
    total = sum(int((read_tiff(m) > 0).sum()) for m in masks)
    assert total == sum(row["tumour_voxels"] for row in result["patients"]) > 0
    # The masks depend on the images alone: the labelled copy gives the same ones.
    labelled = predict(model_file, tiny_lgg, tmp_path / "labelled")
    for mask in masks:
        again = tmp_path / "labelled" / mask.relative_to(out)
        np.testing.assert_array_equal(read_tiff(mask), read_tiff(again))
    assert all(row["dice"] is not None for row in labelled["patients"])


def test_labelled_slices_report_the_dice_of_the_written_masks(model_file, tiny_lgg, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    result = predict(model_file, tiny_lgg, out)
    for row in result["patients"]:
        predicted = [read_tiff(m) > 0 for m in sorted((out / row["patient"]).glob("*_mask.tif"))]
        truth = [read_tiff(tiny_lgg / row["patient"] / m.name) > 0
                 for m in sorted((out / row["patient"]).glob("*_mask.tif"))]
        both = sum(int((p & t).sum()) for p, t in zip(predicted, truth))
        sizes = sum(int(p.sum() + t.sum()) for p, t in zip(predicted, truth))
        assert row["dice"] == pytest.approx(2 * both / sizes if sizes else 1.0, abs=1e-4)
    overlays = list((out / "overlays").rglob("*.png"))
    assert overlays and all(p.stat().st_size > 0 for p in overlays)


def test_a_nifti_volume_gets_a_nifti_mask_with_its_affine(model_file, tiny_lgg, tmp_path):  # noqa: F811
    volume, images = nifti_of(tiny_lgg, tmp_path)
    out = tmp_path / "out"
    (row,) = predict(model_file, volume, out)["patients"]
    mask_image = nibabel.load(out / f"{volume.name.removesuffix('.nii.gz')}_mask.nii.gz")
    mask = np.asarray(mask_image.dataobj)
    assert mask.shape == nibabel.load(volume).shape and mask.dtype == np.uint8
    np.testing.assert_array_equal(mask_image.affine, LPS_AFFINE)
    assert row["tumour_voxels"] == int(mask.sum())
    assert row["tumour_ml"] == pytest.approx(mask.sum() * 0.5 * 0.5 * 2.0 / 1000, abs=1e-3)
    # The same slices as TIFFs give the same masks (same normalisation, same orientation).
    tiffs = tmp_path / "tiffs" / images[0].parent.name
    tiffs.mkdir(parents=True)
    for image in images:
        shutil.copy(image, tiffs)
    predict(model_file, tmp_path / "tiffs", tmp_path / "tiff_out")
    for z, image in enumerate(images):
        as_tiff = read_tiff(tmp_path / "tiff_out" / tiffs.name / f"{image.stem}_mask.tif") > 0
        assert np.mean(as_tiff == (mask[:, :, z].T > 0)) > 0.999


@pytest.mark.parametrize("axes", [("R", "A", "S"), ("P", "S", "L"), ("S", "R", "P")])
def test_a_nifti_in_any_orientation_gets_the_same_mask_in_its_own_orientation(
        axes, model_file, tiny_lgg, tmp_path):  # noqa: F811
    lps_path, _ = nifti_of(tiny_lgg, tmp_path)
    lps_image = nibabel.load(lps_path)
    predict(model_file, lps_path, tmp_path / "lps")
    lps_mask = np.asarray(nibabel.load(tmp_path / "lps" / mask_name(lps_path)).dataobj)
    assert lps_mask.any()
    to_axes = ornt_transform(io_orientation(lps_image.affine), axcodes2ornt(axes))
    turned = lps_image.as_reoriented(to_axes)
    assert nibabel.aff2axcodes(turned.affine) == axes
    path = tmp_path / "turned" / lps_path.name
    path.parent.mkdir()
    path.write_bytes(gzip.compress(turned.to_bytes()))
    predict(model_file, path, tmp_path / "out")
    mask_image = nibabel.load(tmp_path / "out" / mask_name(path))
    assert mask_image.shape == turned.shape
    np.testing.assert_array_equal(mask_image.affine, turned.affine)
    # Turned back to LPS, the mask is the one predicted for the LPS volume, voxel for voxel.
    back = mask_image.as_reoriented(ornt_transform(io_orientation(mask_image.affine),
                                                   axcodes2ornt(("L", "P", "S"))))
    np.testing.assert_array_equal(np.asarray(back.dataobj), lps_mask)


def test_a_nifti_with_a_trailing_axis_of_one_is_read_as_3d(model_file, tiny_lgg, tmp_path):  # noqa: F811
    path, _ = nifti_of(tiny_lgg, tmp_path)
    predict(model_file, path, tmp_path / "3d")
    volume = np.asarray(nibabel.load(path).dataobj)[..., None]
    four = tmp_path / "four" / path.name
    four.parent.mkdir()
    four.write_bytes(gzip.compress(nibabel.Nifti1Image(volume, LPS_AFFINE).to_bytes()))
    predict(model_file, four, tmp_path / "4d")
    mask = np.asarray(nibabel.load(tmp_path / "4d" / mask_name(four)).dataobj)
    assert mask.shape == volume.shape
    np.testing.assert_array_equal(
        mask[..., 0], np.asarray(nibabel.load(tmp_path / "3d" / mask_name(path)).dataobj))


def test_evaluate_and_predict_read_the_word_pretrained(model_file, tiny_lgg, tmp_path,  # noqa: F811
                                                       monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "WEIGHTS", model_file)
    assert main(["evaluate", "pretrained", "--data", str(tiny_lgg), "--split", "all",
                 "--json"]) == 0
    assert '"dice_per_patient_mean"' in capsys.readouterr().out
    assert main(["predict", "pretrained", "--data", str(tiny_lgg), "--out",
                 str(tmp_path / "p")]) == 0
    assert len(list((tmp_path / "p").rglob("*_mask.tif"))) == 20
    from minitorch_unet.unet import UNet
    model = UNet.pretrained()
    assert not model.training and model.num_parameters() > 0


def test_evaluate_scores_the_post_processed_masks(model_file, tiny_lgg):  # noqa: F811
    _, meta = load_checkpoint(model_file)
    assert meta["postprocess"]["min_voxels"] == 3
    result = evaluate(model_file, tiny_lgg, "all")
    assert 0 <= result["dice_per_patient_mean"] <= 1 and len(result["per_patient"]) == 4


def test_flip_averaging_is_mirror_symmetric(model_file, tiny_lgg):  # noqa: F811
    config, model, _, _ = read_checkpoint(model_file)
    images = load_slices(config).images[:6]
    mirrored = np.ascontiguousarray(images[..., ::-1])
    plain = predict_probabilities(model, images, 4)
    averaged = predict_probabilities(model, images, 4, flip=True)
    assert not np.allclose(plain, averaged)  # the model itself is not mirror-symmetric
    np.testing.assert_allclose(predict_probabilities(model, mirrored, 4, flip=True)[..., ::-1],
                               averaged, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(averaged, (plain + predict_probabilities(model, mirrored, 4)
                                          [..., ::-1]) / 2, rtol=1e-5, atol=1e-6)


def test_export_flip_reaches_evaluate_and_predict(model_file, tiny_lgg, tmp_path,  # noqa: F811
                                                  monkeypatch):
    flipped = tmp_path / "flipped.npz"
    assert main(["export", str(model_file), "--out", str(flipped), "--threshold", "0.4",
                 "--flip"]) == 0
    assert load_checkpoint(flipped)[1]["postprocess"] == {"threshold": 0.4, "min_voxels": 0,
                                                          "flip": True}
    asked = []

    def spy(model, images, batch_size, flip=False):
        asked.append(flip)
        return predict_probabilities(model, images, batch_size, flip)

    monkeypatch.setattr("minitorch_unet.evaluate.predict_probabilities", spy)
    evaluate(flipped, tiny_lgg, "all")
    predict(flipped, tiny_lgg, tmp_path / "masks")
    evaluate(model_file, tiny_lgg, "all")
    assert asked == [True, True, True, True, True, False]


def test_the_shipped_model_is_at_most_10_mb_and_scores_the_sample(capsys):
    if not pretrained.WEIGHTS.is_file():
        pytest.skip("no shipped model in this checkout")
    assert pretrained.WEIGHTS.stat().st_size <= pretrained.MAX_BYTES
    assert main(["evaluate", "pretrained", "--data", str(pretrained.WEIGHTS.parents[2] / "data"
                                                         / "lgg_sample_4patients.zip"),
                 "--split", "all", "--json"]) == 0
    assert '"dice_per_patient_mean"' in capsys.readouterr().out


# ---- bad input: one clear line, nothing written ----------------------------------------------
def one_line_error(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_a_folder_mixing_slices_with_and_without_masks_is_refused(model_file, tiny_lgg,  # noqa: F811
                                                                  tmp_path, capsys):
    mixed = tmp_path / "mixed"
    shutil.copytree(tiny_lgg, mixed)
    next(mixed.rglob("*_mask.tif")).unlink()
    line = one_line_error(capsys, "predict", str(model_file), "--data", str(mixed), "--out",
                          str(tmp_path / "out"))
    assert "do not" in line and str(mixed) in line
    assert not (tmp_path / "out").exists()


def test_a_nifti_that_is_not_3d_is_refused(model_file, tmp_path, capsys):
    path = tmp_path / "flair4d.nii.gz"
    path.write_bytes(gzip.compress(nibabel.Nifti1Image(np.zeros((8, 8, 4, 2), np.float32),
                                                       np.eye(4)).to_bytes()))
    line = one_line_error(capsys, "predict", str(model_file), "--data", str(path), "--out",
                          str(tmp_path / "out"))
    assert "3-D" in line and str(path) in line
    assert not (tmp_path / "out").exists()


def test_an_output_path_that_is_a_file_is_refused_first(model_file, tiny_lgg, tmp_path,  # noqa: F811
                                                        capsys, monkeypatch):
    target = tmp_path / "taken.txt"
    target.write_text("keep me")
    monkeypatch.setattr("minitorch_unet.evaluate.predict_probabilities",
                        lambda *a, **k: pytest.fail("inference ran"))
    line = one_line_error(capsys, "predict", str(model_file), "--data", str(tiny_lgg), "--out",
                          str(target))
    assert str(target) in line and "not a folder" in line
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("damage", ["missing", "truncated", "other model"])
def test_a_bad_checkpoint_or_pretrained_file_is_one_line(damage, model_file, tiny_lgg, tmp_path,  # noqa: F811
                                                         capsys, monkeypatch):
    bad = tmp_path / "model.npz"
    if damage == "truncated":
        bad.write_bytes(model_file.read_bytes()[: model_file.stat().st_size // 2])
    elif damage == "other model":
        data = io.BytesIO()
        np.savez(data, weights=np.zeros(3))
        bad.write_bytes(data.getvalue())
    for checkpoint in (str(bad), "pretrained"):
        monkeypatch.setattr(pretrained, "WEIGHTS", bad)
        line = one_line_error(capsys, "predict", checkpoint, "--data", str(tiny_lgg), "--out",
                              str(tmp_path / "out"))
        assert str(bad) in line
        line = one_line_error(capsys, "evaluate", checkpoint, "--data", str(tiny_lgg),
                              "--split", "all")
        assert str(bad) in line
    assert not (tmp_path / "out").exists()


def test_unreadable_slices_are_skipped_and_counted(model_file, unlabelled, tmp_path, capsys):
    victim = next(p for p in sorted(unlabelled.rglob("*.tif")))
    victim.write_bytes(b"not a tiff")
    assert main(["predict", str(model_file), "--data", str(unlabelled), "--out",
                 str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 slices" in out and victim.name in out
    assert len(list((tmp_path / "out").rglob("*_mask.tif"))) == 19


def test_a_zip_of_unlabelled_slices_is_read_like_a_folder(model_file, unlabelled, tmp_path):
    archive = tmp_path / "scans.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in unlabelled.rglob("*.tif"):
            zf.write(path, f"kaggle_3m/{path.relative_to(unlabelled)}")
    result = predict(model_file, archive, tmp_path / "out")
    assert sum(row["slices"] for row in result["patients"]) == 20


# ---- post-processing -------------------------------------------------------------------------
def flood_fill_sizes(mask: np.ndarray) -> list[int]:
    """Component sizes by breadth-first search (6-connectivity): the plain reference."""
    seen = np.zeros_like(mask, dtype=bool)
    sizes = []
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        seen[start], queue, size = True, [start], 0
        while queue:
            voxel = queue.pop()
            size += 1
            for axis in range(3):
                for step in (-1, 1):
                    near = list(voxel)
                    near[axis] += step
                    near = tuple(near)
                    if all(0 <= near[i] < mask.shape[i] for i in range(3)) and mask[near] \
                            and not seen[near]:
                        seen[near] = True
                        queue.append(near)
        sizes.append(size)
    return sorted(sizes)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 9), st.integers(1, 9), st.floats(0.1, 0.7),
       st.integers(0, 2**31 - 1))
def test_connected_components_match_a_flood_fill(slices, height, width, density, seed):
    mask = np.random.default_rng(seed).random((slices, height, width)) < density
    labels = connected_components(mask)
    ids, sizes = np.unique(labels[labels > 0], return_counts=True)
    assert sorted(sizes.tolist()) == flood_fill_sizes(mask)
    assert ((labels > 0) == mask).all()
    for min_voxels in (2, 4):
        kept = drop_small_components(mask, min_voxels)
        assert flood_fill_sizes(kept) == [s for s in flood_fill_sizes(mask) if s >= min_voxels]


def test_connected_components_follow_a_winding_path_and_keep_neighbours_apart():
    mask = np.zeros((3, 21, 21), dtype=bool)
    mask[0, ::2, :] = True  # a snake: rows joined at alternate ends, one path of 241 voxels
    mask[0, 1::4, -1] = mask[0, 3::4, 0] = True
    mask[2, 5:9, 5:9] = True  # a block one empty slice away: a component of its own
    mask[2, 0, 0] = True
    labels = connected_components(mask)
    assert sorted(np.unique(labels[labels > 0], return_counts=True)[1].tolist()) == \
        flood_fill_sizes(mask) == [1, 16, 241]
    assert ((labels > 0) == mask).all()


def test_export_refuses_bad_settings_and_writes_nothing(model_file, tmp_path):
    with pytest.raises(ValueError, match="threshold"):
        pretrained.export_model(model_file, tmp_path / "x.npz", threshold=1.5)
    with pytest.raises(CheckpointError):
        pretrained.export_model(tmp_path / "missing.npz", tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def test_data_error_names_an_empty_folder(model_file, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no slices to segment"):
        predict(model_file, tmp_path / "empty", tmp_path / "out")


def test_the_shipped_model_reads_the_128px_pool_as_stored(shared_data_dir, tmp_path, capsys):
    """`evaluate pretrained` and `predict pretrained` on three patients of the 84-patient
    archive, as stored (128 px; the sample above is 256 px)."""
    if not pretrained.WEIGHTS.is_file():
        pytest.skip("no shipped model in this checkout")
    pool = shared_data_dir / "lgg" / "lgg_pool_84patients_128px.zip"
    if not pool.is_file():
        pytest.skip(f"the 84-patient archive is not at {pool}")
    subset = tmp_path / "three.zip"
    with zipfile.ZipFile(pool) as source, zipfile.ZipFile(subset, "w") as target:
        patients = sorted({n.split("/")[-2] for n in source.namelist() if n.endswith(".tif")})[:3]
        for name in source.namelist():
            if name.endswith(".tif") and name.split("/")[-2] in patients:
                target.writestr(name, source.read(name))
    assert main(["evaluate", "pretrained", "--data", str(subset), "--split", "all",
                 "--json"]) == 0
    assert '"dice_per_patient_mean"' in capsys.readouterr().out
    result = predict("pretrained", subset, tmp_path / "out")
    for row in result["patients"]:
        masks = list((tmp_path / "out" / row["patient"]).glob("*_mask.tif"))
        assert len(masks) == row["slices"] and read_tiff(masks[0]).shape == (128, 128)


def test_training_prints_the_shipped_models_dice_beside_its_own(model_file, tiny_lgg, tmp_path,  # noqa: F811
                                                                 monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "WEIGHTS", model_file)
    assert main(["train", "--data", str(tiny_lgg), "--out", str(tmp_path / "run"), "--epochs",
                 "1", "--image-size", "32", "--base-filters", "4", "--depth", "2",
                 "--batch-size", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    own = next(line for line in lines if line.startswith("test Dice (mean per patient)"))
    shipped = next(line for line in lines if line.startswith("the shipped model"))
    assert lines.index(shipped) == lines.index(own) + 1
    # it names how many patients the shipped model trained on, and which of the run's test
    # patients were among them (here none: both runs hold out the same patient)
    _, meta = load_checkpoint(model_file)
    seen = set(meta["split"]["train"]) | set(meta["split"]["val"])
    assert f"trained on {len(seen)} patients)" in shipped
    assert 0 <= float(shipped.rsplit(" ", 1)[1]) <= 1


def test_grey_flair_slices_are_read_as_the_flair_channel(model_file, unlabelled, tmp_path):
    predict(model_file, unlabelled, tmp_path / "rgb")
    grey = tmp_path / "grey"
    for path in unlabelled.rglob("*.tif"):
        target = grey / path.relative_to(unlabelled)
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(read_tiff(path)[:, :, 1]).save(target, format="TIFF")
    result = predict(model_file, grey, tmp_path / "out")
    assert not result["skipped"]
    masks = sorted((tmp_path / "out").rglob("*_mask.tif"))
    assert len(masks) == 20
    for mask in masks:
        np.testing.assert_array_equal(read_tiff(mask),
                                      read_tiff(tmp_path / "rgb" / mask.relative_to(tmp_path / "out")))
