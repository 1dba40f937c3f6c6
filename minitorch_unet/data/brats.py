"""Load BraTS 2019/2020 cases (one folder per case, NIfTI volumes) as axial 2-D slices.

Layout: ``<ID>/<ID>_flair.nii.gz``, ``_t1``, ``_t1ce``, ``_t2`` and ``_seg.nii.gz`` (labels
0, 1, 2, 4); the target is the whole tumour, ``seg > 0``.
"""
from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import nibabel
import numpy as np
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

from .sliceset import SliceSet
from .source import DataError, FileSource
from .transforms import resize

MODALITIES = ("flair", "t1", "t1ce", "t2")
_CASE_FILE = re.compile(r"(?P<case>.+)_(?P<kind>flair|t1|t1ce|t2|seg)\.nii(\.gz)?")


def load_brats(path: str | Path, modality: str = "flair", image_size: int = 240) -> SliceSet:
    """Every axial slice (last volume axis) of every case, cases sorted by id.

    path: a folder of case folders, a single case folder, or a zip archive of either.
    modality: one of ``"flair"``, ``"t1"``, ``"t1ce"``, ``"t2"`` (C = 1).
    Returns images (S, 1, image_size, image_size) float32, each volume min-max scaled to
    [0, 1] (bilinear resize, not normalised per slice), masks (S, 1, image_size, image_size)
    float32 = seg > 0 (nearest resize), patient = case id, ``slice_index`` = axial index
    (0-based). A slice's rows follow the volume's second axis, its columns the first.
    """
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; use one of {MODALITIES}")
    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    images, masks, patients, slice_index = [], [], [], []
    with FileSource(path) as source:
        cases = _find_cases(source)
        if not cases:
            raise DataError(f"{source.path}: no BraTS cases found "
                            "(expected <ID>/<ID>_flair.nii.gz beside <ID>/<ID>_seg.nii.gz)")
        for case_id in sorted(cases):
            files = cases[case_id]
            for kind in (modality, "seg"):
                if kind not in files:
                    raise DataError(f"{source.path}: case {case_id} has no {case_id}_{kind}.nii.gz")
            volume = _read_nifti(source, files[modality])
            seg = _read_nifti(source, files["seg"])
            if seg.shape != volume.shape:
                raise DataError(f"{source.where(files['seg'])}: segmentation is {seg.shape} "
                                f"but {files[modality]} is {volume.shape}")
            low, span = volume.min(), volume.max() - volume.min()
            scaled = (volume - low) / span if span > 0 else np.zeros_like(volume)
            images.append(resize(scaled.transpose(2, 1, 0)[:, None], image_size, "bilinear"))
            target = (seg > 0).astype(np.float32)
            masks.append(resize(target.transpose(2, 1, 0)[:, None], image_size, "nearest"))
            patients += [case_id] * volume.shape[2]
            slice_index.append(np.arange(volume.shape[2], dtype=np.int64))
    return SliceSet(images=np.concatenate(images), masks=np.concatenate(masks),
                    patients=patients, slice_index=np.concatenate(slice_index))


def _find_cases(source: FileSource) -> dict[str, dict[str, str]]:
    """case id -> {kind: file name}, first copy of each file wins."""
    cases: dict[str, dict[str, str]] = {}
    for name in source.names():
        match = _CASE_FILE.fullmatch(name.rsplit("/", 1)[-1])
        if match is not None and not name.rsplit("/", 1)[-1].startswith("."):
            cases.setdefault(match["case"], {}).setdefault(match["kind"], name)
    return cases


def _read_nifti(source: FileSource, name: str) -> np.ndarray:
    """Decode one NIfTI-1 volume (.nii or .nii.gz) to a (X, Y, Z) float32 array."""
    data = source.read(name)
    try:
        if name.endswith(".gz"):
            data = gzip.decompress(data)
        volume = np.asarray(nibabel.Nifti1Image.from_bytes(data).dataobj, dtype=np.float32)
    except (OSError, EOFError, zlib.error, ValueError, ImageFileError, HeaderDataError) as exc:
        raise DataError(f"{source.where(name)}: not a readable NIfTI volume ({exc})") from exc
    if volume.ndim != 3:
        raise DataError(f"{source.where(name)}: expected a 3-D volume, got shape {volume.shape}")
    return volume
