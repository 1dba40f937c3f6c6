"""Deterministic image transforms: per-slice intensity normalisation and resizing."""
from __future__ import annotations

import numpy as np
from PIL import Image

_RESAMPLING = {"bilinear": Image.BILINEAR, "nearest": Image.NEAREST}


def normalize(images: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Normalise every 2-D plane (one slice, one channel) on its own.

    images: (..., H, W), e.g. (S, C, H, W) -> same shape, float32.
    ``"minmax"`` maps each plane to [0, 1]; ``"zscore"`` to zero mean and unit variance.
    A constant plane becomes all zeros (never NaN).
    """
    planes = np.asarray(images, dtype=np.float32)
    if planes.ndim < 2:
        raise ValueError(f"expected an array of shape (..., H, W), got {planes.shape}")
    if method == "minmax":
        low = planes.min(axis=(-2, -1), keepdims=True)
        span = planes.max(axis=(-2, -1), keepdims=True) - low
        return (planes - low) / np.where(span > 0, span, 1).astype(np.float32)
    if method == "zscore":
        mean = planes.mean(axis=(-2, -1), keepdims=True)
        std = planes.std(axis=(-2, -1), keepdims=True)
        return (planes - mean) / np.where(std > 0, std, 1).astype(np.float32)
    raise ValueError(f"unknown normalisation {method!r}; use 'minmax' or 'zscore'")


def resize(array: np.ndarray, size: int | tuple[int, int], mode: str = "bilinear") -> np.ndarray:
    """Resize every 2-D plane: (..., H, W) -> (..., size, size) (or (..., *size)), float32.

    ``"bilinear"`` for images, ``"nearest"`` for masks (keeps them in {0, 1}).
    """
    if mode not in _RESAMPLING:
        raise ValueError(f"unknown resize mode {mode!r}; use 'bilinear' or 'nearest'")
    height, width = (size, size) if isinstance(size, int) else size
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive, got {size}")
    planes = np.asarray(array, dtype=np.float32)
    if planes.ndim < 2:
        raise ValueError(f"expected an array of shape (..., H, W), got {planes.shape}")
    if planes.shape[-2:] == (height, width):
        return planes
    flat = planes.reshape(-1, *planes.shape[-2:])
    out = np.empty((len(flat), height, width), dtype=np.float32)
    for i, plane in enumerate(flat):
        out[i] = np.asarray(Image.fromarray(plane).resize((width, height), _RESAMPLING[mode]))
    return out.reshape(*planes.shape[:-2], height, width)
