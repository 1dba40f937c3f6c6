"""LGG loader: real data (embedded sample, dev set, archive.zip layout) and crafted bad inputs."""
from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minitorch_unet.data import DataError, load_lgg

SAMPLE_PATIENTS = ["TCGA_CS_6666_20011109", "TCGA_DU_A5TU_19980312",
                   "TCGA_FG_6692_20020606", "TCGA_HT_7690_19960312"]


def tiff_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="TIFF")
    return buffer.getvalue()


def write_patient(root: Path, patient: str, count: int, size: int = 8) -> None:
    """A kaggle_3m patient folder whose slice k has every image pixel = k and a k-pixel mask."""
    folder = root / patient
    folder.mkdir(parents=True)
    for k in range(1, count + 1):
        image = np.full((size, size, 3), k, dtype=np.uint8)
        image[..., 1] += 100  # FLAIR differs from the other two channels
        mask = np.zeros((size, size), dtype=np.uint8)
        mask.flat[:k] = 255
        (folder / f"{patient}_{k}.tif").write_bytes(tiff_bytes(image))
        (folder / f"{patient}_{k}_mask.tif").write_bytes(tiff_bytes(mask))


@pytest.fixture(scope="module")
def sample(embedded_sample: Path):
    return load_lgg(embedded_sample)


def test_embedded_sample_has_4_patients_and_99_slices(sample) -> None:
    assert sample.patient_ids() == SAMPLE_PATIENTS
    assert len(sample) == 99
    assert sample.images.shape == (99, 1, 256, 256) and sample.images.dtype == np.float32
    assert sample.masks.shape == (99, 1, 256, 256) and sample.masks.dtype == np.float32
    assert 0.0 <= sample.images.min() and sample.images.max() <= 1.0
    assert set(np.unique(sample.masks)) == {0.0, 1.0}
    for patient in SAMPLE_PATIENTS:  # every patient has a tumour somewhere
        assert sample.select([patient]).masks.sum() > 0


def test_slices_match_the_tiffs_in_numeric_order(sample, embedded_sample: Path) -> None:
    patient = SAMPLE_PATIENTS[0]
    one = sample.select([patient])
    with zipfile.ZipFile(embedded_sample) as archive:
        names = [n for n in archive.namelist() if n.startswith(f"kaggle_3m/{patient}/")]
        count = len(names) // 2
        assert one.slice_index.tolist() == list(range(1, count + 1))
        for k in [1, 2, 9, 10, 11, count]:
            stem = f"kaggle_3m/{patient}/{patient}_{k}"
            image = np.asarray(Image.open(io.BytesIO(archive.read(stem + ".tif"))))
            mask = np.asarray(Image.open(io.BytesIO(archive.read(stem + "_mask.tif"))))
            np.testing.assert_allclose(one.images[k - 1, 0], image[:, :, 1] / 255.0, atol=1e-6)
            np.testing.assert_array_equal(one.masks[k - 1, 0], mask == 255)


def test_dev_set_has_10_patients_and_335_slices(shared_data_dir: Path) -> None:
    dev = load_lgg(shared_data_dir / "lgg" / "lgg_dev_10patients.zip")
    assert len(dev.patient_ids()) == 10
    assert len(dev) == 335
    assert set(dev.patient_ids()).isdisjoint(SAMPLE_PATIENTS)


def test_archive_zip_holding_the_tree_twice_counts_each_slice_once(
        sample, embedded_sample: Path, tmp_path: Path) -> None:
    archive_path = tmp_path / "archive.zip"
    with zipfile.ZipFile(embedded_sample) as source, \
            zipfile.ZipFile(archive_path, "w", zipfile.ZIP_STORED) as archive:
        for name in source.namelist():
            data = source.read(name)
            archive.writestr(name, data)
            archive.writestr("lgg-mri-segmentation/" + name, data)
        archive.writestr("kaggle_3m/data.csv", "Patient,RNASeqCluster\n")
        archive.writestr("kaggle_3m/README.md", "LGG segmentation dataset\n")
    twice = load_lgg(archive_path)
    assert len(twice) == 99
    assert twice.patients == sample.patients
    np.testing.assert_array_equal(twice.slice_index, sample.slice_index)
    np.testing.assert_array_equal(twice.images, sample.images)
    np.testing.assert_array_equal(twice.masks, sample.masks)


def test_folder_and_zip_give_the_same_slices_in_numeric_order(tmp_path: Path) -> None:
    root = tmp_path / "kaggle_3m"
    write_patient(root, "TCGA_B", 12)
    write_patient(root, "TCGA_A", 3)
    archive_path = tmp_path / "tree.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        for file in sorted(root.rglob("*.tif")):
            archive.write(file, file.relative_to(tmp_path).as_posix())
    for loaded in (load_lgg(tmp_path, image_size=8), load_lgg(archive_path, image_size=8)):
        assert loaded.patients == ["TCGA_A"] * 3 + ["TCGA_B"] * 12
        assert loaded.slice_index.tolist() == [1, 2, 3] + list(range(1, 13))
        expected_k = np.array([1, 2, 3] + list(range(1, 13)))
        np.testing.assert_allclose(loaded.images[:, 0, 0, 0], (expected_k + 100) / 255, atol=1e-6)
        np.testing.assert_array_equal(loaded.masks.sum(axis=(1, 2, 3)), expected_k)


def test_all_channels_and_resize(tmp_path: Path, sample, embedded_sample: Path) -> None:
    write_patient(tmp_path, "TCGA_A", 2)
    three = load_lgg(tmp_path, channels="all", image_size=8)
    assert three.images.shape == (2, 3, 8, 8)
    np.testing.assert_allclose(three.images[1, :, 0, 0], np.array([2, 102, 2]) / 255, atol=1e-6)
    small = load_lgg(embedded_sample, image_size=64)
    assert small.images.shape == (99, 1, 64, 64) and small.masks.shape == (99, 1, 64, 64)
    assert set(np.unique(small.masks)) == {0.0, 1.0}
    # A nearest-neighbour downsample by 4 keeps about the same tumour fraction.
    np.testing.assert_allclose(small.masks.mean(), sample.masks.mean(), rtol=0.05)


def test_select_and_patient_ids(sample) -> None:
    picked = sample.select(SAMPLE_PATIENTS[1:3])
    assert picked.patient_ids() == SAMPLE_PATIENTS[1:3]
    assert len(picked) == sum(p in SAMPLE_PATIENTS[1:3] for p in sample.patients)
    with pytest.raises(ValueError, match="NOBODY"):
        sample.select(["NOBODY"])


# --- bad inputs: each raises DataError naming the file or folder at fault ---------------------

def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nowhere"):
        load_lgg(tmp_path / "nowhere")


def test_empty_folder_and_folder_without_slices(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no LGG slices"):
        load_lgg(tmp_path)
    (tmp_path / "data.csv").write_text("Patient\n")
    with pytest.raises(DataError, match=str(tmp_path)):
        load_lgg(tmp_path)


def test_slice_without_mask(tmp_path: Path) -> None:
    write_patient(tmp_path, "TCGA_A", 3)
    (tmp_path / "TCGA_A" / "TCGA_A_2_mask.tif").unlink()
    with pytest.raises(DataError, match=r"TCGA_A_2\.tif: slice has no mask"):
        load_lgg(tmp_path)


def test_mask_without_image(tmp_path: Path) -> None:
    write_patient(tmp_path, "TCGA_A", 3)
    (tmp_path / "TCGA_A" / "TCGA_A_3.tif").unlink()
    with pytest.raises(DataError, match=r"TCGA_A_3_mask\.tif: mask has no image"):
        load_lgg(tmp_path)


def test_corrupt_tiff(tmp_path: Path) -> None:
    write_patient(tmp_path, "TCGA_A", 2)
    (tmp_path / "TCGA_A" / "TCGA_A_1.tif").write_bytes(b"this is not a TIFF at all" * 4)
    with pytest.raises(DataError, match=r"TCGA_A_1\.tif: not a readable TIFF") as error:
        load_lgg(tmp_path)
    assert str(error.value).endswith("(cannot identify image file)")  # no <_io.BytesIO ...>


def test_truncated_tiff(tmp_path: Path) -> None:
    write_patient(tmp_path, "TCGA_A", 2)
    mask = tmp_path / "TCGA_A" / "TCGA_A_2_mask.tif"
    mask.write_bytes(mask.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"TCGA_A_2_mask\.tif: not a readable TIFF"):
        load_lgg(tmp_path)


def test_image_and_mask_size_mismatch(tmp_path: Path) -> None:
    write_patient(tmp_path, "TCGA_A", 2)
    (tmp_path / "TCGA_A" / "TCGA_A_2_mask.tif").write_bytes(tiff_bytes(np.zeros((6, 8), np.uint8)))
    with pytest.raises(DataError, match=r"TCGA_A_2_mask\.tif: mask is 8x6 but its image"):
        load_lgg(tmp_path)


def test_image_that_is_not_three_channel(tmp_path: Path) -> None:
    write_patient(tmp_path, "TCGA_A", 2)
    (tmp_path / "TCGA_A" / "TCGA_A_1.tif").write_bytes(tiff_bytes(np.zeros((8, 8), np.uint8)))
    with pytest.raises(DataError, match=r"TCGA_A_1\.tif: expected a 3-channel uint8 image"):
        load_lgg(tmp_path)


def test_unexpected_tiff_name(tmp_path: Path) -> None:
    write_patient(tmp_path, "TCGA_A", 2)
    (tmp_path / "TCGA_A" / "overview.tif").write_bytes(tiff_bytes(np.zeros((8, 8), np.uint8)))
    with pytest.raises(DataError, match=r"overview\.tif: unexpected file name"):
        load_lgg(tmp_path)


def test_unreadable_zip(tmp_path: Path) -> None:
    fake = tmp_path / "archive.zip"
    fake.write_bytes(b"PK\x03\x04 but then nothing a zip reader understands")
    with pytest.raises(DataError, match=r"archive\.zip: neither a folder nor a readable zip"):
        load_lgg(fake)


def test_truncated_zip(tmp_path: Path, embedded_sample: Path) -> None:
    cut = tmp_path / "cut.zip"
    cut.write_bytes(embedded_sample.read_bytes()[:100_000])
    with pytest.raises(DataError, match=r"cut\.zip"):
        load_lgg(cut)


def test_zip_with_a_damaged_member(tmp_path: Path) -> None:
    write_patient(tmp_path / "tree", "TCGA_A", 2)
    archive_path = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_STORED) as archive:
        for file in sorted((tmp_path / "tree").rglob("*.tif")):
            archive.write(file, file.relative_to(tmp_path / "tree").as_posix())
    raw = bytearray(archive_path.read_bytes())
    with zipfile.ZipFile(archive_path) as archive:
        info = archive.getinfo("TCGA_A/TCGA_A_1.tif")
    name_length, extra_length = struct.unpack_from("<HH", raw, info.header_offset + 26)
    data_start = info.header_offset + 30 + name_length + extra_length
    raw[data_start + info.file_size - 5] ^= 0xFF  # flip bits in the stored data: CRC fails
    archive_path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"damaged\.zip:TCGA_A/TCGA_A_1\.tif: cannot be read"):
        load_lgg(archive_path)


def test_bad_arguments(tmp_path: Path) -> None:
    write_patient(tmp_path, "TCGA_A", 1)
    with pytest.raises(ValueError, match="channels"):
        load_lgg(tmp_path, channels="t2")
    with pytest.raises(ValueError, match="image_size"):
        load_lgg(tmp_path, image_size=0)
