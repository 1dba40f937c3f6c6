"""The fast kernels (fast_conv, MaxPool2x2) against the plain, teachable ones they stand beside."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minitorch_unet as mt
from minitorch_unet import fast_conv, functional as F
from minitorch_unet.convolution import Conv2d, ConvTranspose2d
from minitorch_unet.pooling import MaxPool2d, MaxPool2x2

from reference_cases import DEVICES


def run(fn, arrays, device, upstream_seed=1):
    """Forward and every input's gradient for a random upstream gradient."""
    tensors = [mt.tensor(a, requires_grad=True, device=device) for a in arrays]
    out = fn(*tensors)
    g = np.random.default_rng(upstream_seed).standard_normal(out.shape)
    out.backward(mt.tensor(g.astype(out.dtype), device=device))
    return [out.numpy()] + [t.grad.numpy() for t in tensors]


def assert_same(fast, plain, what):
    for i, (a, b) in enumerate(zip(fast, plain)):
        assert a.shape == b.shape, f"{what}: result {i}: shape {a.shape} vs {b.shape}"
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=f"{what}: result {i}")


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 12), o=st.integers(1, 6), h=st.integers(3, 11),
       w=st.integers(3, 11), k=st.sampled_from([1, 2, 3, 5]), p=st.integers(0, 2),
       bias=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_shifted_conv_matches_im2col_conv(device, n, c, o, h, w, k, p, bias, seed):
    if k > min(h, w) + 2 * p:
        return
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, k, k))]
    arrays += [rng.standard_normal(o)] if bias else []
    fast = run(lambda *t: fast_conv.Conv2dShifted.apply(*t, padding=(p, p)), arrays, device)
    plain = run(lambda *t: Conv2d.apply(*t, stride=(1, 1), padding=(p, p)), arrays, device)
    assert_same(fast, plain, f"conv2d n={n} c={c} o={o} {h}x{w} k={k} p={p}")


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 6), o=st.integers(1, 6), h=st.integers(1, 7),
       w=st.integers(1, 7), k=st.sampled_from([1, 2, 3]), bias=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_pixel_shuffle_transposed_conv_matches_col2im(device, n, c, o, h, w, k, bias, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n, c, h, w)), rng.standard_normal((c, o, k, k))]
    arrays += [rng.standard_normal(o)] if bias else []
    fast = run(lambda *t: fast_conv.ConvTranspose2dPixelShuffle.apply(*t), arrays, device)
    plain = run(lambda *t: ConvTranspose2d.apply(*t, stride=(k, k), padding=(0, 0),
                                                 output_padding=(0, 0)), arrays, device)
    assert_same(fast, plain, f"conv_transpose2d n={n} c={c} o={o} {h}x{w} k={k}")


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 4), h=st.integers(2, 13), w=st.integers(2, 13),
       ties=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_maxpool_2x2_matches_window_argmax(device, n, c, h, w, ties, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (n, c, h, w)).astype(np.float64) if ties else rng.standard_normal((n, c, h, w))
    fast = run(lambda t: MaxPool2x2.apply(t), [x], device)
    plain = run(lambda t: MaxPool2d.apply(t, kernel=(2, 2), stride=(2, 2), padding=(0, 0)), [x], device)
    assert_same(fast, plain, f"max_pool2d {x.shape} ties={ties}")


def test_functional_uses_the_fast_kernels_only_where_they_apply(monkeypatch):
    calls = []
    monkeypatch.setattr(fast_conv.Conv2dShifted, "apply",
                        classmethod(lambda cls, *a, **k: calls.append("shifted") or Conv2d.apply(
                            *a, stride=(1, 1), padding=k["padding"])))
    x, wgt = mt.randn(1, 2, 6, 6), mt.randn(3, 2, 3, 3)
    F.conv2d(x, wgt, padding=1)
    F.conv2d(x, wgt, stride=2, padding=1)
    assert calls == ["shifted"]
    monkeypatch.setattr(F, "use_fast_kernels", False)
    F.conv2d(x, wgt, padding=1)
    assert calls == ["shifted"]
