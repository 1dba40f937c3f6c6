"""Augmentation (shared affine warp, blur, noise) and the deterministic transforms."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from minitorch_unet.data import Augment, normalize, resize

OFF = dict(flip=False, rotate=0.0, shift=0.0, zoom=0.0, shear=0.0, crop_pad=0, noise=0.0, blur=0.0)


def blob_pair(size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """An off-centre rectangle as mask (1, H, W); image (2, H, W) = gradients + the rectangle."""
    mask = np.zeros((1, size, size), dtype=np.float32)
    mask[0, 6:14, 9:25] = 1
    rows, cols = np.mgrid[0:size, 0:size] / size
    image = np.stack([rows + cols, rows * cols]).astype(np.float32) + mask
    return image, mask


def test_identity_when_everything_is_off() -> None:
    image, mask = blob_pair()
    out_image, out_mask = Augment(**OFF)(image, mask, np.random.default_rng(0))
    np.testing.assert_array_equal(out_image, image)
    np.testing.assert_array_equal(out_mask, mask)


def test_flip_mirrors_image_and_mask_together() -> None:
    image, mask = blob_pair()
    augment = Augment(**{**OFF, "flip": True})
    rng = np.random.default_rng(0)
    flipped = 0
    for _ in range(20):
        out_image, out_mask = augment(image, mask, rng)
        if np.array_equal(out_mask, mask):
            np.testing.assert_array_equal(out_image, image)
        else:
            np.testing.assert_array_equal(out_mask, mask[:, :, ::-1])
            np.testing.assert_array_equal(out_image, image[:, :, ::-1])
            flipped += 1
    assert 0 < flipped < 20


def test_geometric_transforms_keep_masks_binary_and_aligned() -> None:
    _, mask = blob_pair()
    image = mask.copy()  # the image *is* the mask, so the two warps can be compared
    augment = Augment(flip=True, rotate=30.0, shift=0.1, zoom=0.2, shear=10.0, crop_pad=3)
    rng = np.random.default_rng(1)
    for _ in range(10):
        out_image, out_mask = augment(image, mask, rng)
        assert out_image.shape == image.shape and out_mask.shape == mask.shape
        assert out_image.dtype == np.float32 and out_mask.dtype == np.float32
        assert set(np.unique(out_mask)) <= {0.0, 1.0}
        assert out_mask.sum() > 0
        # Bilinear image and nearest mask differ only along the blob's edge.
        assert np.mean((out_image > 0.5) != (out_mask > 0.5)) < 0.02


def test_crop_pad_is_a_whole_pixel_shift_with_zero_fill() -> None:
    image, mask = blob_pair()
    out_image, out_mask = Augment(**{**OFF, "crop_pad": 4})(image, mask, np.random.default_rng(3))
    matches = []
    for d_row in range(-4, 5):
        for d_col in range(-4, 5):
            shifted = np.zeros_like(image)
            rows_out = slice(max(d_row, 0), image.shape[1] + min(d_row, 0))
            rows_in = slice(max(-d_row, 0), image.shape[1] + min(-d_row, 0))
            cols_out = slice(max(d_col, 0), image.shape[2] + min(d_col, 0))
            cols_in = slice(max(-d_col, 0), image.shape[2] + min(-d_col, 0))
            shifted[:, rows_out, cols_out] = image[:, rows_in, cols_in]
            if np.allclose(out_image, shifted, atol=1e-6):
                matches.append((d_row, d_col))
                np.testing.assert_array_equal(out_mask[0, rows_out, cols_out],
                                              mask[0, rows_in, cols_in])
    assert len(matches) == 1


def test_same_seed_same_output_and_different_seed_different_output() -> None:
    image, mask = blob_pair()
    settings_ = dict(rotate=20.0, shift=0.1, zoom=0.1, shear=5.0, noise=0.05, blur=1.0)
    first, second = Augment(seed=7, **settings_), Augment(seed=7, **settings_)
    other = Augment(seed=8, **settings_)
    for _ in range(3):
        a_image, a_mask = first(image, mask)
        b_image, b_mask = second(image, mask)
        np.testing.assert_array_equal(a_image, b_image)
        np.testing.assert_array_equal(a_mask, b_mask)
    assert not np.array_equal(first(image, mask)[0], other(image, mask)[0])


def test_noise_and_blur_change_the_image_only() -> None:
    image, mask = blob_pair()
    noisy = Augment(**{**OFF, "noise": 0.5})
    noisy_image, noisy_mask = noisy(image, mask, np.random.default_rng(0))
    np.testing.assert_array_equal(noisy_mask, mask)
    assert 0 < np.std(noisy_image - image) <= 0.5
    constant = np.full((1, 16, 16), 0.3, dtype=np.float32)
    blurred, _ = Augment(**{**OFF, "blur": 2.0})(constant, np.zeros((1, 16, 16), np.float32))
    np.testing.assert_allclose(blurred, constant, atol=1e-6)
    speckle = np.random.default_rng(1).normal(size=(1, 32, 32)).astype(np.float32)
    smooth, _ = Augment(**{**OFF, "blur": 3.0}, seed=2)(speckle, np.zeros((1, 32, 32), np.float32))
    assert smooth.std() < 0.7 * speckle.std()
    np.testing.assert_allclose(smooth.mean(), speckle.mean(), atol=0.05)


def test_bad_shapes_and_settings() -> None:
    image, mask = blob_pair()
    with pytest.raises(ValueError, match="mask"):
        Augment()(image, mask[:, :16])
    with pytest.raises(ValueError, match="rotate"):
        Augment(rotate=-1.0)
    with pytest.raises(ValueError, match="zoom"):
        Augment(zoom=1.0)


# --- normalize and resize --------------------------------------------------------------------

planes = arrays(np.float32, array_shapes(min_dims=4, max_dims=4, max_side=6),
                elements=st.floats(-1e3, 1e3, width=32))


@settings(max_examples=60, deadline=None)
@given(planes)
def test_normalize_per_slice_per_channel(images: np.ndarray) -> None:
    for method in ("minmax", "zscore"):
        out = normalize(images, method)
        assert out.shape == images.shape and out.dtype == np.float32
        assert np.isfinite(out).all()
        for s in range(images.shape[0]):
            for c in range(images.shape[1]):
                plane = images[s, c].astype(np.float64)
                if np.ptp(plane) <= 1e-3 * max(1.0, np.abs(plane).max()):
                    continue  # (nearly) constant: only finiteness is promised
                if method == "minmax":
                    assert out[s, c].min() == pytest.approx(0.0, abs=1e-5)
                    assert out[s, c].max() == pytest.approx(1.0, abs=1e-5)
                else:
                    assert out[s, c].mean() == pytest.approx(0.0, abs=1e-3)
                    assert out[s, c].std() == pytest.approx(1.0, abs=1e-3)


def test_normalize_constant_slice_gives_zeros() -> None:
    images = np.ones((2, 1, 4, 4), dtype=np.float32)
    images[1] = np.arange(16).reshape(4, 4)
    for method in ("minmax", "zscore"):
        out = normalize(images, method)
        np.testing.assert_array_equal(out[0], 0.0)
        assert out[1].max() > 0
    with pytest.raises(ValueError, match="normalisation"):
        normalize(images, "l2")


def test_resize_nearest_upsampling_repeats_pixels_and_bilinear_keeps_constants() -> None:
    mask = (np.random.default_rng(0).random((2, 1, 5, 5)) > 0.5).astype(np.float32)
    up = resize(mask, 10, "nearest")
    np.testing.assert_array_equal(up, mask.repeat(2, axis=2).repeat(2, axis=3))
    constant = np.full((3, 7, 9), 0.25, dtype=np.float32)
    np.testing.assert_allclose(resize(constant, (4, 6)), np.full((3, 4, 6), 0.25), atol=1e-6)
    ramp = np.tile(np.linspace(0, 1, 16, dtype=np.float32), (16, 1))
    assert np.all(np.diff(resize(ramp, 40)[0]) >= -1e-6)  # bilinear keeps a ramp monotonic
    with pytest.raises(ValueError, match="mode"):
        resize(mask, 10, "cubic")
