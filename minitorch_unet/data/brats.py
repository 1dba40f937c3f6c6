"""Load BraTS cases (one folder per case, NIfTI volumes) as axial 2-D slices, every release.

Files are recognised by pattern, not by one spelling. A file's name (without ``.nii`` or
``.nii.gz``) is cut at ``_``, ``-`` and ``.``; the last piece that names a modality says what
it holds, and what comes before that piece is the case id (the folder's name when nothing
does). Names as the releases spell them (``.nii`` or ``.nii.gz``):

* 2013/2015, as NIfTI: ``<ID>/Flair_....nii.gz``, ``T1c_...``, ``T1_...``, ``T2_...``, and
  ``OTMultiClass`` (or ``OT``) for the labels;
* 2017 to 2021: ``<ID>/<ID>_flair.nii.gz``, ``_t1``, ``_t1ce``, ``_t2``, ``_seg``;
* 2023 and later: ``<ID>/<ID>-t2f.nii.gz`` (FLAIR), ``-t1n``, ``-t1c``, ``-t2w``, ``-seg``.

The target is the whole tumour, ``label > 0``. Other files (``brainmask``, licences) are
left alone.
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
# A piece of a file name (lower case) -> what the file holds.
_PIECES = {"flair": "flair", "t2f": "flair",
           "t1": "t1", "t1n": "t1",
           "t1ce": "t1ce", "t1c": "t1ce", "t1gd": "t1ce",
           "t2": "t2", "t2w": "t2",
           "seg": "seg", "ot": "seg", "otmulticlass": "seg"}
_NIFTI = re.compile(r"(?P<stem>.+)\.nii(\.gz)?", re.IGNORECASE)
_SEPARATOR = re.compile(r"[_\-.]")


def brats_file(name: str) -> tuple[str, str] | None:
    """(case id or "", kind) of a BraTS file name (kind: a modality or "seg"), or None.

    ``BraTS2021_00000_flair.nii.gz`` -> ("BraTS2021_00000", "flair");
    ``BraTS-GLI-00000-000-t2f.nii.gz`` -> ("BraTS-GLI-00000-000", "flair");
    ``Flair_subtrMeanDivStd.nii.gz`` -> ("", "flair").
    """
    base = name.rsplit("/", 1)[-1]
    match = _NIFTI.fullmatch(base)
    if match is None or base.startswith("."):
        return None
    stem = match["stem"]
    cuts = [m.start() for m in _SEPARATOR.finditer(stem)]
    starts, ends = [0] + [c + 1 for c in cuts], cuts + [len(stem)]
    for start, end in reversed(list(zip(starts, ends))):
        kind = _PIECES.get(stem[start:end].lower())
        if kind is not None:
            return stem[:max(start - 1, 0)], kind
    return None


def load_brats(path: str | Path, modality: str = "flair", image_size: int = 240) -> SliceSet:
    """Every axial slice (last volume axis) of every case, cases sorted by id.

    path: a folder of case folders, a single case folder, or a zip archive of either.
    modality: one of ``"flair"``, ``"t1"``, ``"t1ce"``, ``"t2"`` (C = 1), or ``"all"``
    (C = 4, in that order).
    Returns images (S, C, image_size, image_size) float32, each volume min-max scaled to
    [0, 1] (bilinear resize, not normalised per slice), masks (S, 1, image_size, image_size)
    float32 = label > 0 (nearest resize), patient = case id, ``slice_index`` = axial index
    (0-based). A slice's rows follow the volume's second axis, its columns the first.
    """
    if modality not in MODALITIES + ("all",):
        raise ValueError(f"unknown modality {modality!r}; use one of {MODALITIES} or 'all'")
    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    wanted = list(MODALITIES) if modality == "all" else [modality]
    images, masks, patients, slice_index = [], [], [], []
    with FileSource(path) as source:
        cases = _find_cases(source)
        if not cases:
            raise DataError(f"{source.path}: no BraTS cases found (expected NIfTI volumes named "
                            "as a BraTS release names them: <ID>_flair.nii.gz and "
                            "<ID>_seg.nii.gz, <ID>-t2f.nii.gz and <ID>-seg.nii.gz, ...)")
        for case_id in sorted(cases):
            files = cases[case_id]
            missing = [kind for kind in wanted + ["seg"] if kind not in files]
            if missing:
                found = ", ".join(f"{kind} ({files[kind].rsplit('/', 1)[-1]})"
                                  for kind in MODALITIES + ("seg",) if kind in files)
                raise DataError(f"{source.path}: case {case_id} has no {' or '.join(missing)} "
                                f"volume; found {found or 'nothing'}"
                                + ("; --channels flair uses FLAIR alone" if modality == "all"
                                   else ""))
            seg = _read_nifti(source, files["seg"])
            planes = []
            for kind in wanted:
                volume = _read_nifti(source, files[kind])
                if seg.shape != volume.shape:
                    raise DataError(f"{source.where(files['seg'])}: segmentation is {seg.shape} "
                                    f"but {files[kind]} is {volume.shape}")
                low, span = volume.min(), volume.max() - volume.min()
                scaled = (volume - low) / span if span > 0 else np.zeros_like(volume)
                planes.append(resize(scaled.transpose(2, 1, 0)[:, None], image_size, "bilinear"))
            images.append(np.concatenate(planes, axis=1))
            target = (seg > 0).astype(np.float32)
            masks.append(resize(target.transpose(2, 1, 0)[:, None], image_size, "nearest"))
            patients += [case_id] * seg.shape[2]
            slice_index.append(np.arange(seg.shape[2], dtype=np.int64))
    return SliceSet(images=np.concatenate(images), masks=np.concatenate(masks),
                    patients=patients, slice_index=np.concatenate(slice_index))


def _find_cases(source: FileSource) -> dict[str, dict[str, str]]:
    """case id -> {kind: file name}; the first copy of each file wins.

    A case's id is the part of its file names before the modality, or, when that is empty,
    the name of the folder holding the files (the source's own name for files at its top).
    """
    cases: dict[str, dict[str, str]] = {}
    for name in source.names():
        recognised = brats_file(name)
        if recognised is None:
            continue
        case_id, kind = recognised
        if not case_id:
            folder = name.rsplit("/", 2)[-2] if "/" in name else ""
            case_id = folder or source.path.name.removesuffix(".zip")
        cases.setdefault(case_id, {}).setdefault(kind, name)
    return cases


def _read_nifti(source: FileSource, name: str) -> np.ndarray:
    """Decode one NIfTI-1 volume (.nii or .nii.gz) to a (X, Y, Z) float32 array."""
    return decode_nifti(source.read(name), name, source.where(name))[1]


def decode_nifti(data: bytes, name: str, where: str) -> tuple[nibabel.Nifti1Image, np.ndarray]:
    """The bytes of a 3-D NIfTI-1 file `name` (.nii, or .nii.gz: gunzipped first) -> (the
    image, for its affine and header; its (X, Y, Z) float32 volume, trailing axes of length 1
    dropped). Errors name `where`."""
    try:
        if name.lower().endswith(".gz"):
            data = gzip.decompress(data)
        image = nibabel.Nifti1Image.from_bytes(data)
        volume = np.asarray(image.dataobj, dtype=np.float32)
    except (OSError, EOFError, zlib.error, ValueError, ImageFileError, HeaderDataError) as exc:
        raise DataError(f"{where}: not a readable NIfTI volume ({exc})") from exc
    while volume.ndim > 3 and volume.shape[-1] == 1:  # (X, Y, Z, 1): one volume of a series
        volume = volume[..., 0]
    if volume.ndim != 3:
        raise DataError(f"{where}: expected a 3-D volume, got shape {volume.shape}")
    return image, volume
