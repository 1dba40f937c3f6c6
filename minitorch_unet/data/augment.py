"""Random data augmentation: one affine warp shared by image and mask, plus blur and noise."""
from __future__ import annotations

import numpy as np


class Augment:
    """Random flip, rotation, shift, zoom, shear and crop-pad, then blur and noise.

    Every magnitude is a maximum, drawn uniformly per call:
    flip: mirror left-right with probability 1/2; rotate, shear: degrees;
    shift: fraction of the image size; zoom: scale in [1 - zoom, 1 + zoom];
    crop_pad: whole-pixel shift in [-crop_pad, crop_pad] (pad then crop back);
    blur: Gaussian sigma in pixels; noise: standard deviation of additive Gaussian noise.
    The geometric part is a single affine map applied by inverse mapping (bilinear for the
    image, nearest for the mask, zeros outside), so the mask stays in {0, 1}; blur and noise
    touch the image only. ``seed`` seeds the generator used when a call passes no ``rng``.
    """

    def __init__(self, flip: bool = True, rotate: float = 15.0, shift: float = 0.1,
                 zoom: float = 0.1, shear: float = 0.0, crop_pad: int = 0, noise: float = 0.0,
                 blur: float = 0.0, seed: int = 0) -> None:
        for name, value in (("rotate", rotate), ("shift", shift), ("zoom", zoom), ("shear", shear),
                            ("crop_pad", crop_pad), ("noise", noise), ("blur", blur)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if zoom >= 1:
            raise ValueError(f"zoom must be < 1, got {zoom}")
        self.flip, self.rotate, self.shift, self.zoom, self.shear = flip, rotate, shift, zoom, shear
        self.crop_pad, self.noise, self.blur = crop_pad, noise, blur
        self._rng = np.random.default_rng(seed)

    def __call__(self, image: np.ndarray, mask: np.ndarray,
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """image: (C, H, W), mask: (1, H, W) -> the augmented pair, same shapes, float32."""
        if image.ndim != 3 or mask.ndim != 3 or mask.shape != (1, *image.shape[1:]):
            raise ValueError(f"expected image (C, H, W) and mask (1, H, W), "
                             f"got {image.shape} and {mask.shape}")
        rng = self._rng if rng is None else rng
        image = np.asarray(image, dtype=np.float32)
        mask = np.asarray(mask, dtype=np.float32)
        height, width = image.shape[1:]
        matrix, offset = self._sample_affine(rng, height, width)
        if not (np.array_equal(matrix, np.eye(2)) and not offset.any()):
            rows, cols = _source_coordinates(matrix, offset, height, width)
            image = _sample_bilinear(image, rows, cols)
            mask = _sample_nearest(mask, rows, cols)
        if self.blur > 0:
            image = _gaussian_blur(image, rng.uniform(0, self.blur))
        if self.noise > 0:
            sigma = rng.uniform(0, self.noise)
            image = image + rng.normal(0, sigma, image.shape).astype(np.float32)
        return image, mask

    def _sample_affine(self, rng: np.random.Generator, height: int,
                       width: int) -> tuple[np.ndarray, np.ndarray]:
        """Forward map in (row, col) about the image centre: out = A @ (in - c) + c + offset."""
        matrix = np.eye(2)
        if self.flip and rng.random() < 0.5:
            matrix = np.diag([1.0, -1.0]) @ matrix
        if self.rotate > 0:
            angle = np.deg2rad(rng.uniform(-self.rotate, self.rotate))
            matrix = np.array([[np.cos(angle), -np.sin(angle)],
                               [np.sin(angle), np.cos(angle)]]) @ matrix
        if self.shear > 0:
            slope = np.tan(np.deg2rad(rng.uniform(-self.shear, self.shear)))
            matrix = np.array([[1.0, 0.0], [slope, 1.0]]) @ matrix
        if self.zoom > 0:
            matrix = rng.uniform(1 - self.zoom, 1 + self.zoom) * matrix
        offset = np.zeros(2)
        if self.shift > 0:
            offset += rng.uniform(-self.shift, self.shift, 2) * (height, width)
        if self.crop_pad > 0:
            offset += rng.integers(-self.crop_pad, self.crop_pad + 1, 2)
        return matrix, offset


def _source_coordinates(matrix: np.ndarray, offset: np.ndarray, height: int,
                        width: int) -> tuple[np.ndarray, np.ndarray]:
    """For each output pixel, where it comes from in the input: two (H, W) float arrays."""
    centre = np.array([(height - 1) / 2, (width - 1) / 2])
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    out = np.stack([rows.ravel(), cols.ravel()]) - (centre + offset)[:, None]
    source = np.linalg.inv(matrix) @ out + centre[:, None]
    return source[0].reshape(height, width), source[1].reshape(height, width)


def _sample_bilinear(array: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """array: (C, H, W) sampled at fractional (rows, cols), zero outside -> (C, H, W)."""
    height, width = array.shape[1:]
    top, left = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
    down, right = (rows - top).astype(np.float32), (cols - left).astype(np.float32)
    out = np.zeros_like(array)
    for d_row, d_col, weight in ((0, 0, (1 - down) * (1 - right)), (0, 1, (1 - down) * right),
                                 (1, 0, down * (1 - right)), (1, 1, down * right)):
        r, c = top + d_row, left + d_col
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        out += array[:, np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)] * (weight * inside)
    return out


def _sample_nearest(array: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """array: (C, H, W) sampled at the nearest pixel of (rows, cols), zero outside."""
    height, width = array.shape[1:]
    r, c = np.floor(rows + 0.5).astype(np.int64), np.floor(cols + 0.5).astype(np.int64)
    inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
    return array[:, np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)] * inside


def _gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of each (H, W) plane of image (C, H, W), mirrored edges."""
    if sigma <= 0:
        return image
    radius = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    for axis in (1, 2):
        size = image.shape[axis]
        padding = [(0, 0)] * 3
        padding[axis] = (radius, radius)
        padded = np.pad(image, padding, mode="symmetric")
        image = sum(weight * np.take(padded, np.arange(i, i + size), axis=axis)
                    for i, weight in enumerate(taps))
    return image.astype(np.float32)
