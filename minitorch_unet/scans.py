"""Scans to segment, kept in their own form so that predicted masks can be written back.

Two forms are read:

* kaggle_3m slices (a folder or zip): ``<PATIENT>/<PATIENT>_<k>.tif`` (H x W x 3 uint8:
  pre-contrast, FLAIR, post-contrast; for a FLAIR model also H x W: the FLAIR alone), each
  with ``<PATIENT>_<k>_mask.tif`` or none at all;
  the predicted masks are written the same way, one ``_mask.tif`` per slice;
* a NIfTI FLAIR volume (``.nii`` / ``.nii.gz``, 3-D): turned by its affine to the layout of
  the training slices (voxel axes towards the patient's left, posterior and superior: LPS,
  as DICOM and BraTS store them), then cut into axial slices, anterior at the top and the
  patient's right on the left; the predicted mask is turned back and written as a NIfTI
  volume with the input's shape, affine and header, whatever the input's orientation.

    scans, skipped = read_scans("new_patients.zip", channels="flair")
"""
from __future__ import annotations

import gzip
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import nibabel
import numpy as np
from PIL import Image

from .checkpoint import atomic_output
from .data import DataError, FileSource
from .data.brats import decode_nifti
from .data.lgg import _SLICE_FILE, CHANNELS, _read_tiff

_NIFTI = re.compile(r".+\.nii(\.gz)?", re.IGNORECASE)


@dataclass
class Scan:
    """One patient's slices, at the input's own resolution.

    images: per slice (C, H, W) float32 in [0, 1] (a list: slices may differ in size);
    masks: per slice (H, W) bool, or None when the input has no masks;
    names: per slice, what to call it in outputs (``<PATIENT>_<k>`` or ``<stem>_z<k>``);
    voxel_ml: the volume of one voxel in millilitres, when the input says (NIfTI).
    """

    patient: str
    kind: str  # "tiff" or "nifti"
    images: list[np.ndarray]
    names: list[str]
    masks: list[np.ndarray] | None = None
    voxel_ml: float | None = None
    nifti: nibabel.Nifti1Image | None = field(default=None, repr=False)


LPS = nibabel.orientations.axcodes2ornt(("L", "P", "S"))


def is_nifti(path: str | Path) -> bool:
    return bool(_NIFTI.fullmatch(Path(path).name))


def read_scans(path: str | Path, channels: str = "flair") -> tuple[list[Scan], list[str]]:
    """The scans at `path` -> (scans, skipped: one line per slice that could not be read).

    Raises DataError, naming the file, for what cannot be segmented at all: no slices, a
    folder mixing slices with and without masks, a mask without its image, a NIfTI volume
    that is not 3-D or a NIfTI input for a model that takes three channels.
    """
    if channels not in CHANNELS:
        raise ValueError(f"unknown channels {channels!r}; use 'flair' or 'all'")
    if is_nifti(path) and Path(path).is_file():
        if channels != "flair":
            raise DataError(f"{path}: a NIfTI input is one FLAIR volume, but the model takes "
                            "three channels (pre-contrast, FLAIR, post-contrast)")
        return [_read_nifti_scan(Path(path))], []
    with FileSource(path) as source:
        return _read_tiff_scans(source, list(CHANNELS[channels]))


def _read_nifti_scan(path: Path) -> Scan:
    image, volume = decode_nifti(path.read_bytes(), path.name, str(path))
    if not np.isfinite(volume).all():
        raise DataError(f"{path}: the volume holds NaN or infinite values")
    low, span = float(volume.min()), float(volume.max() - volume.min())
    scaled = (volume - low) / span if span > 0 else np.zeros_like(volume)
    stem = re.sub(r"\.nii(\.gz)?$", "", path.name, flags=re.IGNORECASE)
    zooms = image.header.get_zooms()[:3]
    voxel_ml = float(np.prod(zooms)) / 1000 if all(z > 0 for z in zooms) else None
    to_lps = nibabel.orientations.ornt_transform(
        nibabel.orientations.io_orientation(image.affine), LPS)
    lps = nibabel.orientations.apply_orientation(scaled, to_lps)
    axial = lps.transpose(2, 1, 0)  # (S, P, L): rows run anterior to posterior
    return Scan(patient=stem, kind="nifti", images=[plane[None] for plane in axial],
                names=[f"{stem}_z{z}" for z in range(len(axial))], voxel_ml=voxel_ml,
                nifti=image)


def _read_tiff_scans(source: FileSource, picked: list[int]) -> tuple[list[Scan], list[str]]:
    images: dict[tuple[str, int], str] = {}
    masks: dict[tuple[str, int], str] = {}
    for name in source.names():
        base = name.rsplit("/", 1)[-1]
        match = _SLICE_FILE.fullmatch(base)
        if base.startswith(".") or match is None:
            continue  # archive metadata, data.csv, READMEs
        key = (match["patient"], int(match["index"]))
        (masks if match["mask"] else images).setdefault(key, name)
    if not images:
        raise DataError(f"{source.path}: no slices to segment (expected "
                        "<PATIENT>/<PATIENT>_<k>.tif, or a .nii/.nii.gz FLAIR volume)")
    orphans = sorted(set(masks) - set(images))
    if orphans:
        raise DataError(f"{source.where(masks[orphans[0]])}: mask has no image "
                        f"(expected {orphans[0][0]}_{orphans[0][1]}.tif beside it)")
    unmasked = sorted(set(images) - set(masks))
    if masks and unmasked:
        raise DataError(f"{source.path}: {len(masks)} slices have a mask but {len(unmasked)} "
                        f"do not (first: {source.where(images[unmasked[0]])}); give all "
                        "slices their masks, or none")
    scans: dict[str, Scan] = {}
    skipped: list[str] = []
    flair_only = picked == list(CHANNELS["flair"])
    for patient, index in sorted(images):
        try:
            image = _read_tiff(source, images[(patient, index)])
            if image.ndim == 2 and flair_only:
                image = np.stack([image] * 3, axis=-1)  # one grey channel: the FLAIR itself
            if image.ndim != 3 or image.shape[2] != 3:
                raise DataError(f"{source.where(images[(patient, index)])}: expected a "
                                f"3-channel image{' (or one grey channel)' * flair_only}, "
                                f"got shape {image.shape}")
            mask = None
            if masks:
                mask = _read_tiff(source, masks[(patient, index)])
                if mask.shape[:2] != image.shape[:2]:
                    raise DataError(f"{source.where(masks[(patient, index)])}: mask is "
                                    f"{mask.shape[1]}x{mask.shape[0]}, its image "
                                    f"{image.shape[1]}x{image.shape[0]}")
        except DataError as err:
            skipped.append(str(err))
            continue
        scan = scans.setdefault(patient, Scan(patient=patient, kind="tiff", images=[], names=[],
                                              masks=[] if masks else None))
        planes = image[:, :, picked].transpose(2, 0, 1)
        scan.images.append(planes.astype(np.float32) / np.float32(np.iinfo(image.dtype).max
                                                                  if image.dtype.kind == "u"
                                                                  else 1.0))
        scan.names.append(f"{patient}_{index}")
        if mask is not None:
            scan.masks.append((mask if mask.ndim == 2 else mask[..., 0]) > 0)
    return list(scans.values()), skipped


def write_mask(scan: Scan, masks: list[np.ndarray], out_dir: Path) -> list[Path]:
    """Write one scan's predicted masks (per slice (H, W) bool) in the input's form, atomically.

    tiff: ``out_dir/<PATIENT>/<PATIENT>_<k>_mask.tif`` (uint8 {0, 255}) per slice;
    nifti: ``out_dir/<stem>_mask.nii.gz`` (uint8 {0, 1}) with the input's affine and header.
    """
    if scan.kind == "nifti":
        lps = np.stack(masks).transpose(2, 1, 0).astype(np.uint8)  # back to (L, P, S)
        back = nibabel.orientations.ornt_transform(LPS, nibabel.orientations.io_orientation(
            scan.nifti.affine))
        volume = nibabel.orientations.apply_orientation(lps, back)  # the input's voxel axes
        volume = volume.reshape(scan.nifti.shape)  # with its trailing axes of length 1
        header = scan.nifti.header.copy()
        header.set_data_dtype(np.uint8)
        header.set_slope_inter(1, 0)
        image = nibabel.Nifti1Image(volume, scan.nifti.affine, header)
        path = out_dir / f"{scan.patient}_mask.nii.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            tmp.write_bytes(gzip.compress(image.to_bytes()))
        return [path]
    written = []
    for name, mask in zip(scan.names, masks):
        path = out_dir / scan.patient / f"{name}_mask.tif"
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        Image.fromarray(mask.astype(np.uint8) * 255).save(buffer, format="TIFF")
        with atomic_output(path) as tmp:
            tmp.write_bytes(buffer.getvalue())
        written.append(path)
    return written
