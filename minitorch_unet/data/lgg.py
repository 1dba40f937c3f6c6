"""Load the Kaggle LGG FLAIR segmentation set (``kaggle_3m`` layout) from a folder or a zip.

Layout: ``<PATIENT>/<PATIENT>_<k>.tif`` (256x256x3 uint8: pre-contrast, FLAIR, post-contrast)
beside ``<PATIENT>/<PATIENT>_<k>_mask.tif`` (256x256 uint8, values {0, 255}). The public
``archive.zip`` holds the tree twice (``kaggle_3m/`` and ``lgg-mri-segmentation/kaggle_3m/``);
each slice is counted once.
"""
from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from .sliceset import SliceSet
from .source import DataError, FileSource
from .transforms import resize

CHANNELS = {"flair": (1,), "all": (0, 1, 2)}
_SLICE_FILE = re.compile(r"(?P<patient>.+)_(?P<index>\d+)(?P<mask>_mask)?\.tiff?", re.IGNORECASE)


def load_lgg(path: str | Path, channels: str = "flair", image_size: int = 256) -> SliceSet:
    """Every slice of every patient, patients sorted by id, slices in numeric order of ``k``.

    path: a ``kaggle_3m``-style folder or a zip archive holding one (or two copies of one).
    channels: ``"flair"`` (C = 1) or ``"all"`` (C = 3: pre-contrast, FLAIR, post-contrast).
    Returns images (S, C, image_size, image_size) float32 = uint8 / 255 in [0, 1] (bilinear
    resize, not normalised), masks (S, 1, image_size, image_size) float32 in {0, 1} (nearest
    resize), and ``slice_index`` = ``k`` from the file name (1-based).
    """
    if channels not in CHANNELS:
        raise ValueError(f"unknown channels {channels!r}; use 'flair' or 'all'")
    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    picked = list(CHANNELS[channels])
    with FileSource(path) as source:
        slices = _find_slices(source)
        if not slices:
            raise DataError(f"{source.path}: no LGG slices found "
                            "(expected <PATIENT>/<PATIENT>_<k>.tif beside <PATIENT>_<k>_mask.tif)")
        images = np.empty((len(slices), len(picked), image_size, image_size), dtype=np.float32)
        masks = np.empty((len(slices), 1, image_size, image_size), dtype=np.float32)
        for i, (_, _, image_name, mask_name) in enumerate(slices):
            image = _read_tiff(source, image_name)
            mask = _read_tiff(source, mask_name)
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise DataError(f"{source.where(image_name)}: expected a 3-channel uint8 image "
                                f"(pre-contrast, FLAIR, post-contrast), got shape {image.shape} "
                                f"{image.dtype}")
            if mask.ndim != 2:
                raise DataError(f"{source.where(mask_name)}: expected a single-channel mask, "
                                f"got shape {mask.shape}")
            if mask.shape != image.shape[:2]:
                raise DataError(f"{source.where(mask_name)}: mask is "
                                f"{mask.shape[1]}x{mask.shape[0]} but its image {image_name} "
                                f"is {image.shape[1]}x{image.shape[0]}")
            planes = image[:, :, picked].transpose(2, 0, 1).astype(np.float32) / 255.0
            images[i] = resize(planes, image_size, "bilinear")
            masks[i, 0] = resize((mask > 0).astype(np.float32), image_size, "nearest")
    return SliceSet(images=images, masks=masks,
                    patients=[patient for patient, _, _, _ in slices],
                    slice_index=np.array([index for _, index, _, _ in slices], dtype=np.int64))


def _find_slices(source: FileSource) -> list[tuple[str, int, str, str]]:
    """(patient, k, image name, mask name) per slice, each slice once, sorted by (patient, k)."""
    images: dict[tuple[str, int], str] = {}
    masks: dict[tuple[str, int], str] = {}
    for name in source.names():
        base = name.rsplit("/", 1)[-1]
        if base.startswith(".") or not base.lower().endswith((".tif", ".tiff")):
            continue  # hidden files (e.g. archive metadata), data.csv, README
        match = _SLICE_FILE.fullmatch(base)
        if match is None:
            raise DataError(f"{source.where(name)}: unexpected file name; expected "
                            "<PATIENT>_<k>.tif or <PATIENT>_<k>_mask.tif")
        key = (match["patient"], int(match["index"]))
        (masks if match["mask"] else images).setdefault(key, name)
    for key, name in images.items():
        if key not in masks:
            raise DataError(f"{source.where(name)}: slice has no mask "
                            f"(expected {key[0]}_{key[1]}_mask.tif beside it)")
    for key, name in masks.items():
        if key not in images:
            raise DataError(f"{source.where(name)}: mask has no image "
                            f"(expected {key[0]}_{key[1]}.tif beside it)")
    return [(patient, index, images[(patient, index)], masks[(patient, index)])
            for patient, index in sorted(images)]


def _read_tiff(source: FileSource, name: str) -> np.ndarray:
    """Decode one TIFF to an array, (H, W) or (H, W, 3)."""
    buffer = io.BytesIO(source.read(name))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns, then raises, on damaged files
            with Image.open(buffer) as picture:
                picture.load()
                return np.asarray(picture)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        reason = str(exc).replace(f" {buffer!r}", "")  # Pillow names the in-memory buffer
        raise DataError(f"{source.where(name)}: not a readable TIFF image ({reason})") from exc
