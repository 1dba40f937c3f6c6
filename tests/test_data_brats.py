"""BraTS loader: synthetic NIfTI cases (always) and the shared real case under each
release's naming (2013/2015 as shipped, 2019, 2021, 2023)."""
from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import nibabel
import numpy as np
import pytest

from minitorch_unet.data import DataError, load_brats, load_dataset
from minitorch_unet.train import TrainConfig, train


def write_volume(path: Path, volume: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nibabel.save(nibabel.Nifti1Image(volume, affine=np.eye(4)), str(path))


def write_case(root: Path, case_id: str, seed: int,
               shape: tuple[int, int, int] = (8, 8, 5)) -> tuple[np.ndarray, np.ndarray]:
    """A BraTS 2019/2020 case folder with flair, t1 and seg; returns (flair, seg), (X, Y, Z)."""
    rng = np.random.default_rng(seed)
    flair = rng.uniform(-2.0, 7.0, shape).astype(np.float32)
    seg = np.zeros(shape, dtype=np.uint8)
    seg[2, 5, 1], seg[3, 1, 3], seg[6, 6, 3] = 1, 2, 4
    write_volume(root / case_id / f"{case_id}_flair.nii.gz", flair)
    write_volume(root / case_id / f"{case_id}_t1.nii.gz", flair[::-1].copy())
    write_volume(root / case_id / f"{case_id}_seg.nii.gz", seg)
    return flair, seg


def zip_tree(folder: Path, archive_path: Path) -> Path:
    with zipfile.ZipFile(archive_path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder.parent).as_posix())
    return archive_path


def test_synthetic_cases_become_axial_slices(tmp_path: Path) -> None:
    cases = tmp_path / "MICCAI_BraTS2020_TrainingData"
    flair_a, seg_a = write_case(cases, "BraTS20_Training_001", seed=1)
    flair_b, seg_b = write_case(cases, "BraTS20_Training_002", seed=2)
    loaded = load_brats(cases, image_size=8)
    assert loaded.images.shape == (10, 1, 8, 8) and loaded.masks.shape == (10, 1, 8, 8)
    assert loaded.patients == ["BraTS20_Training_001"] * 5 + ["BraTS20_Training_002"] * 5
    assert loaded.slice_index.tolist() == [0, 1, 2, 3, 4] * 2
    # Slice z of a case is volume[:, :, z] with rows along the second axis (Y) -> (Z, Y, X).
    assert loaded.masks[1, 0, 5, 2] == 1
    assert loaded.masks[3, 0, 1, 3] == 1 and loaded.masks[3, 0, 6, 6] == 1
    assert loaded.masks[:5].sum() == 3 and set(np.unique(loaded.masks)) == {0.0, 1.0}
    expected = (flair_b - flair_b.min()) / (flair_b.max() - flair_b.min())
    np.testing.assert_allclose(loaded.images[5:, 0], expected.transpose(2, 1, 0), atol=1e-6)
    t1 = load_brats(cases, modality="t1", image_size=8)
    np.testing.assert_allclose(t1.images[:5, 0], loaded.images[:5, 0, :, ::-1], atol=1e-6)


def test_single_case_folder_and_zip_give_the_same_slices(tmp_path: Path) -> None:
    write_case(tmp_path / "cases", "BraTS19_TMC_00001_1", seed=3)
    from_folder = load_brats(tmp_path / "cases", image_size=8)
    for other in (load_brats(tmp_path / "cases" / "BraTS19_TMC_00001_1", image_size=8),
                  load_brats(zip_tree(tmp_path / "cases", tmp_path / "brats.zip"), image_size=8)):
        assert other.patients == from_folder.patients
        np.testing.assert_array_equal(other.images, from_folder.images)
        np.testing.assert_array_equal(other.masks, from_folder.masks)


def test_resize_keeps_masks_binary(tmp_path: Path) -> None:
    write_case(tmp_path, "BraTS19_A", seed=4)
    loaded = load_brats(tmp_path, image_size=16)
    assert loaded.images.shape == (5, 1, 16, 16)
    assert set(np.unique(loaded.masks)) == {0.0, 1.0}
    assert loaded.masks.sum() == 3 * 4  # each tumour voxel becomes a 2x2 block


def test_load_dataset_recognises_brats(tmp_path: Path) -> None:
    write_case(tmp_path, "BraTS19_A", seed=5)
    loaded = load_dataset(tmp_path, image_size=8)
    assert loaded.patients == ["BraTS19_A"] * 5 and loaded.images.shape == (5, 1, 8, 8)


def test_missing_modality_or_segmentation(tmp_path: Path) -> None:
    write_case(tmp_path, "BraTS19_A", seed=6)
    with pytest.raises(DataError, match=r"case BraTS19_A has no t2 volume; found flair "
                                        r"\(BraTS19_A_flair.nii.gz\), t1 \(BraTS19_A_t1.nii.gz\), seg "):
        load_brats(tmp_path, modality="t2")
    (tmp_path / "BraTS19_A" / "BraTS19_A_seg.nii.gz").unlink()
    with pytest.raises(DataError, match="case BraTS19_A has no seg volume"):
        load_brats(tmp_path)


def test_corrupt_volume(tmp_path: Path) -> None:
    write_case(tmp_path, "BraTS19_A", seed=7)
    broken = tmp_path / "BraTS19_A" / "BraTS19_A_flair.nii.gz"
    broken.write_bytes(broken.read_bytes()[:40])
    with pytest.raises(DataError, match=r"BraTS19_A_flair\.nii\.gz: not a readable NIfTI"):
        load_brats(tmp_path)


def test_segmentation_shape_mismatch(tmp_path: Path) -> None:
    write_case(tmp_path, "BraTS19_A", seed=8)
    write_volume(tmp_path / "BraTS19_A" / "BraTS19_A_seg.nii.gz", np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(DataError, match=r"BraTS19_A_seg\.nii\.gz: segmentation is \(8, 8, 4\)"):
        load_brats(tmp_path)


def test_no_cases(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no BraTS cases"):
        load_brats(tmp_path)
    with pytest.raises(DataError, match="missing"):
        load_brats(tmp_path / "missing")
    with pytest.raises(ValueError, match="modality"):
        load_brats(tmp_path, modality="dwi")


# --- every release's naming, made from the shared real case ------------------------------------
SHARED_CASE = "brats_2013_pat0001_1"
SHARED_FILES = {"flair": "Flair_subtrMeanDivStd.nii.gz", "t1ce": "T1c_subtrMeanDivStd.nii.gz",
                "seg": "OTMultiClass.nii.gz"}
# Each release's file name for (case id, kind); the case folder is named by the id.
RELEASES = {
    "2019": ("BraTS19_2013_1_1", lambda case, kind: f"{case}_{kind}.nii.gz"),
    "2021": ("BraTS2021_00000", lambda case, kind: f"{case}_{kind}.nii.gz"),
    "2023": ("BraTS-GLI-00000-000", lambda case, kind: f"{case}-"
             + {"flair": "t2f", "t1ce": "t1c", "seg": "seg"}[kind] + ".nii.gz"),
}


def shared_case_zip(shared_data_dir: Path) -> Path:
    return shared_data_dir / "brats" / "brats2015_deepmedic_1case.zip"


def renamed_copy(shared_data_dir: Path, root: Path, release: str) -> Path:
    """The shared case's volumes, byte for byte, under `release`'s names in root/<ID>/."""
    case_id, name = RELEASES[release]
    with zipfile.ZipFile(shared_case_zip(shared_data_dir)) as archive:
        for kind, original in SHARED_FILES.items():
            target = root / case_id / name(case_id, kind)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(f"{SHARED_CASE}/{original}"))
    return root


def test_the_shared_case_as_shipped_is_recognised(shared_data_dir: Path) -> None:
    with zipfile.ZipFile(shared_case_zip(shared_data_dir)) as archive:
        labels = np.asanyarray(nibabel.Nifti1Image.from_bytes(
            gzip.decompress(archive.read(f"{SHARED_CASE}/OTMultiClass.nii.gz"))).dataobj)
    loaded = load_dataset(shared_case_zip(shared_data_dir), image_size=240)
    assert loaded.patient_ids() == [SHARED_CASE]
    assert loaded.images.shape == (labels.shape[2], 1, 240, 240)
    assert 0.0 <= loaded.images.min() and loaded.images.max() <= 1.0
    np.testing.assert_array_equal(loaded.masks.sum(axis=(1, 2, 3)), (labels > 0).sum(axis=(0, 1)))
    assert loaded.masks.sum() > 0


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_each_releases_naming_gives_the_same_slices(shared_data_dir: Path, tmp_path: Path,
                                                   release: str) -> None:
    shipped = load_dataset(shared_case_zip(shared_data_dir), image_size=64)
    renamed = load_dataset(renamed_copy(shared_data_dir, tmp_path, release), image_size=64)
    assert renamed.patient_ids() == [RELEASES[release][0]]
    np.testing.assert_array_equal(renamed.images, shipped.images)
    np.testing.assert_array_equal(renamed.masks, shipped.masks)
    t1ce = load_brats(tmp_path, modality="t1ce", image_size=64)
    assert not np.array_equal(t1ce.images, renamed.images)  # another modality, found by name


def test_all_channels_of_the_shared_case_name_what_is_missing(shared_data_dir: Path) -> None:
    with pytest.raises(DataError, match=r"case brats_2013_pat0001_1 has no t1 or t2 volume; "
                                        r"found flair \(Flair_subtrMeanDivStd.nii.gz\), t1ce "
                                        r"\(T1c_subtrMeanDivStd.nii.gz\), seg \(OTMultiClass"):
        load_dataset(shared_case_zip(shared_data_dir), image_size=32, channels="all")


def test_all_channels_of_a_2023_case_are_flair_t1_t1ce_t2(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    case = "BraTS-GLI-00001-000"
    volumes = {piece: rng.uniform(0, 5, (8, 8, 3)).astype(np.float32)
               for piece in ("t2f", "t1n", "t1c", "t2w")}
    for piece, volume in volumes.items():
        write_volume(tmp_path / case / f"{case}-{piece}.nii.gz", volume)
    write_volume(tmp_path / case / f"{case}-seg.nii.gz", np.ones((8, 8, 3), np.uint8))
    loaded = load_dataset(tmp_path, image_size=8, channels="all")
    assert loaded.images.shape == (3, 4, 8, 8)
    for channel, piece in enumerate(("t2f", "t1n", "t1c", "t2w")):
        v = volumes[piece]
        np.testing.assert_allclose(loaded.images[:, channel],
                                   ((v - v.min()) / (v.max() - v.min())).transpose(2, 1, 0),
                                   atol=1e-6)


def test_train_on_the_shared_case_and_its_renamed_copies(shared_data_dir: Path,
                                                         tmp_path: Path) -> None:
    """The case as shipped plus its 2019, 2021 and 2023 copies: four 'patients' (one scan,
    so the scores mean nothing; the point is that every naming trains)."""
    data = [str(shared_case_zip(shared_data_dir))]
    data += [str(renamed_copy(shared_data_dir, tmp_path / release, release))
             for release in sorted(RELEASES)]
    history = train(TrainConfig(data=data, image_size=32, base_filters=4, depth=2,
                                batch_size=16, epochs=1), tmp_path / "run", log=lambda _: None)
    patients = sorted(p for part in history["split"].values() for p in part)
    assert patients == sorted([SHARED_CASE] + [case for case, _ in RELEASES.values()])
    assert np.isfinite(history["epochs"][0]["train_loss"])
    assert (tmp_path / "run" / "best.npz").is_file()


def test_all_four_brats_channels_train_and_their_checkpoint_evaluates(tmp_path: Path) -> None:
    from minitorch_unet.evaluate import evaluate
    from minitorch_unet.train import read_checkpoint
    rng = np.random.default_rng(10)
    for k in range(3):
        case = f"BraTS-GLI-0000{k}-000"
        for piece in ("t2f", "t1n", "t1c", "t2w"):
            write_volume(tmp_path / "data" / case / f"{case}-{piece}.nii.gz",
                         rng.uniform(0, 5, (16, 16, 4)).astype(np.float32))
        seg = np.zeros((16, 16, 4), np.uint8)
        seg[4:9, 5:11, 1:3] = 2
        write_volume(tmp_path / "data" / case / f"{case}-seg.nii.gz", seg)
    config = TrainConfig(data=[str(tmp_path / "data")], channels="all", image_size=16,
                         base_filters=4, depth=2, batch_size=4, epochs=1)
    train(config, tmp_path / "run", log=lambda _: None)
    _, model, _, _ = read_checkpoint(tmp_path / "run" / "best.npz")
    assert model.config["in_channels"] == 4
    result = evaluate(tmp_path / "run" / "best.npz", None, "test")
    assert len(result["per_patient"]) == 1
