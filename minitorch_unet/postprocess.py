"""From tumour probabilities to a mask: a threshold, then small 3-D components dropped.

    mask = postprocess(probabilities, threshold=0.5, min_voxels=30)  # (S, H, W) -> bool

A patient's slices form a volume (S, H, W); a predicted component is a set of tumour
voxels connected through faces (6-connectivity), across slices too. Specks far smaller
than any tumour are usually false alarms; ``min_voxels`` counts voxels at the resolution
the probabilities have.
"""
from __future__ import annotations

import numpy as np


def connected_components(mask: np.ndarray) -> np.ndarray:
    """mask (S, H, W) bool -> labels (S, H, W) int64: 0 outside, one positive id per component.

    Each voxel starts with its own id (its flat index + 1). Each round, every voxel takes the
    largest id among itself and its face neighbours inside the mask, then jumps: a voxel
    labelled k takes the label voxel k now holds, which lies in the same component and is at
    least k. Labels only grow, so the rounds end; they end when no neighbour holds a larger
    one, so each component holds one id. Jumping makes far fewer rounds than the longest
    path through a component, which a plain spread would take.
    """
    mask = np.asarray(mask, dtype=bool)
    labels = np.where(mask, np.arange(1, mask.size + 1).reshape(mask.shape), 0)
    while True:
        grown = labels.copy()
        for axis in range(mask.ndim):
            for shift in (1, -1):
                np.maximum(grown, _shifted(labels, shift, axis), out=grown)
        grown *= mask
        flat = grown.ravel()
        grown = np.where(mask, flat[np.maximum(grown, 1) - 1].reshape(mask.shape), 0)
        if np.array_equal(grown, labels):
            return labels
        labels = grown


def _shifted(array: np.ndarray, shift: int, axis: int) -> np.ndarray:
    """`array` moved by `shift` along `axis`, zeros coming in (no wrap-around)."""
    out = np.zeros_like(array)
    source = [slice(None)] * array.ndim
    target = [slice(None)] * array.ndim
    if shift > 0:
        source[axis], target[axis] = slice(None, -shift), slice(shift, None)
    else:
        source[axis], target[axis] = slice(-shift, None), slice(None, shift)
    out[tuple(target)] = array[tuple(source)]
    return out


def component_sizes(mask: np.ndarray) -> np.ndarray:
    """mask (S, H, W) bool -> (S, H, W) int64: the size of each voxel's component, 0 outside."""
    labels = connected_components(mask)
    _, where, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return np.where(labels > 0, counts[where.reshape(labels.shape)], 0)


def drop_small_components(mask: np.ndarray, min_voxels: int) -> np.ndarray:
    """mask (S, H, W) bool without its components of fewer than `min_voxels` voxels."""
    if min_voxels <= 1 or not mask.any():
        return np.asarray(mask, dtype=bool)
    return component_sizes(mask) >= min_voxels


def postprocess(probabilities: np.ndarray, threshold: float = 0.5,
                min_voxels: int = 0) -> np.ndarray:
    """probabilities (S, H, W) of one patient -> tumour mask (S, H, W) bool."""
    if not 0 < threshold < 1:
        raise ValueError(f"postprocess: threshold must be in (0, 1), got {threshold}")
    if min_voxels < 0:
        raise ValueError(f"postprocess: min_voxels must be >= 0, got {min_voxels}")
    return drop_small_components(np.asarray(probabilities) > threshold, int(min_voxels))
