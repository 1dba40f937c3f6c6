"""The fast kernels (fast_conv, winograd, MaxPool2x2) against the plain ones they stand beside."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minitorch_unet as mt
from minitorch_unet import fast_conv, functional as F, parallel, winograd
from minitorch_unet.convolution import Conv2d, ConvTranspose2d
from minitorch_unet.pooling import MaxPool2d, MaxPool2x2
from minitorch_unet.reference import assert_close, load_cases

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
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 12), o=st.integers(1, 6), h=st.integers(3, 11),
       w=st.integers(3, 11), kh=st.sampled_from([1, 2, 3, 5]), kw=st.sampled_from([1, 3]),
       p=st.integers(0, 2), bias=st.booleans(), block_bytes=st.sampled_from([1, 200, 1 << 20]),
       seed=st.integers(0, 2 ** 16))
def test_column_blocks_conv_matches_im2col_conv(device, n, c, o, h, w, kh, kw, p, bias,
                                                block_bytes, seed):
    """Blocks of one position, of a few, and one block for everything: the same numbers."""
    if kh > h + 2 * p or kw > w + 2 * p:
        return
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, kh, kw))]
    arrays += [rng.standard_normal(o)] if bias else []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast_conv, "COLUMN_BLOCK_BYTES", block_bytes)
        fast = run(lambda *t: fast_conv.Conv2dColumnBlocks.apply(*t, padding=(p, p)), arrays,
                   device)
    plain = run(lambda *t: Conv2d.apply(*t, stride=(1, 1), padding=(p, p)), arrays, device)
    assert_same(fast, plain, f"conv2d n={n} c={c} o={o} {h}x{w} k={kh}x{kw} p={p}")


STRIDE_1_REFERENCE_CASES = [
    name for name, case in load_cases("conv2d").items()
    if case["params"]["stride"] == 1 and case["params"]["padding"] != "same"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", STRIDE_1_REFERENCE_CASES)
def test_column_blocks_conv_matches_pytorch_references(monkeypatch, device, name):
    """The committed PyTorch cases with stride 1 (float32, the references' tolerances), in
    blocks of 16 positions so that every case spans several blocks."""
    case = load_cases("conv2d")[name]
    monkeypatch.setattr(fast_conv, "COLUMN_BLOCK_BYTES", 16 * case["weight"][0].size *
                        case["weight"].itemsize)
    padding = case["params"]["padding"]
    padding = (0, 0) if padding == "valid" else (padding, padding)
    names = case["params"]["inputs"]
    tensors = [mt.tensor(case[k], requires_grad=True, device=device) for k in names]
    out = fast_conv.Conv2dColumnBlocks.apply(*tensors, padding=padding)
    out.backward(mt.tensor(case["grad_out"], device=device))
    assert_close(out.numpy(), case["out"], case=name, field="out")
    for k, t in zip(names, tensors):
        assert_close(t.grad.numpy(), case[f"grad_{k}"], case=name, field=f"grad_{k}")


# float32: the column blocks sum the same products as the plain kernel, in another order.
# Measured on U-Net layers (1 to 64 input channels, 40x40), the largest error relative to the
# largest value is below 1e-6 (the plain kernel's is of the same order).
COLUMN_BLOCKS_FLOAT32_RELATIVE_ERROR = 2e-6


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("n", "c", "o"), [(2, 1, 32), (2, 32, 32), (1, 64, 32), (1, 32, 64)])
def test_column_blocks_float32_error_is_small(device, n, c, o):
    """Against the plain kernel in float64, over many blocks of columns."""
    rng = np.random.default_rng(c)
    x, wgt = rng.standard_normal((n, c, 40, 40)), rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)
    exact = run(lambda *t: Conv2d.apply(*t, stride=(1, 1), padding=(1, 1)), [x, wgt], device)
    fast = run(lambda *t: fast_conv.Conv2dColumnBlocks.apply(*t, padding=(1, 1)),
               [x.astype(np.float32), wgt.astype(np.float32)], device)
    for name, got, want in zip(("output", "grad of input", "grad of weight"), fast, exact):
        assert got.dtype == np.float32, f"{name}: dtype {got.dtype}"
        error = np.abs(got - want).max() / np.abs(want).max()
        assert error < COLUMN_BLOCKS_FLOAT32_RELATIVE_ERROR, f"{name}: relative error {error:.2e}"


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
    monkeypatch.setattr(fast_conv.Conv2dColumnBlocks, "apply",
                        classmethod(lambda cls, *a, **k: calls.append("columns") or Conv2d.apply(
                            *a, stride=(1, 1), padding=k["padding"])))
    x, wgt = mt.randn(1, 2, 6, 6), mt.randn(3, 2, 3, 3)
    F.conv2d(x, wgt, padding=1)
    F.conv2d(x, wgt, stride=2, padding=1)
    assert calls == ["columns"]
    monkeypatch.setattr(F, "use_fast_kernels", False)
    F.conv2d(x, wgt, padding=1)
    assert calls == ["columns"]


# ---- Winograd F(2x2, 3x3) -------------------------------------------------------------------
def winograd_and_plain(arrays, p, device):
    fast = run(lambda *t: winograd.Conv2dWinograd.apply(*t, padding=(p, p)), arrays, device)
    plain = run(lambda *t: Conv2d.apply(*t, stride=(1, 1), padding=(p, p)), arrays, device)
    return fast, plain


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 10), o=st.integers(1, 6), h=st.integers(1, 11),
       w=st.integers(1, 11), p=st.integers(0, 2), bias=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_winograd_conv_matches_im2col_conv_float64(device, n, c, o, h, w, p, bias, seed):
    """Odd and even sizes (partial tiles), paddings 0-2: the same numbers up to rounding."""
    if 3 > min(h, w) + 2 * p:
        return
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, 3, 3))]
    arrays += [rng.standard_normal(o)] if bias else []
    fast, plain = winograd_and_plain(arrays, p, device)
    assert_same(fast, plain, f"winograd conv2d n={n} c={c} o={o} {h}x{w} p={p}")


# float32: Winograd adds and subtracts before it multiplies, so it rounds differently from a
# direct sum. Measured on U-Net layers (32 to 1024 input channels), its largest error relative
# to the largest value is 2e-7 to 8e-7, about twice the direct kernels'; this bound has room
# for the sums of long channel counts.
WINOGRAD_FLOAT32_RELATIVE_ERROR = 5e-6


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("n", "c", "o", "size"), [(2, 32, 32, 16), (2, 64, 32, 9), (1, 256, 64, 8)])
def test_winograd_float32_error_is_small(device, n, c, o, size):
    """Against the plain kernel in float64: Winograd's float32 error stays near the direct one's."""
    rng = np.random.default_rng(size)
    x, wgt = rng.standard_normal((n, c, size, size)), rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)
    exact = run(lambda *t: Conv2d.apply(*t, stride=(1, 1), padding=(1, 1)), [x, wgt], device)
    fast = run(lambda *t: winograd.Conv2dWinograd.apply(*t, padding=(1, 1)),
               [x.astype(np.float32), wgt.astype(np.float32)], device)
    for name, got, want in zip(("output", "grad of input", "grad of weight"), fast, exact):
        assert got.dtype == np.float32, f"{name}: dtype {got.dtype}"
        error = np.abs(got - want).max() / np.abs(want).max()
        assert error < WINOGRAD_FLOAT32_RELATIVE_ERROR, f"{name}: relative error {error:.2e}"


WINOGRAD_REFERENCE_CASES = [name for name, case in load_cases("conv2d").items()
                            if case["weight"].shape[2:] == (3, 3) and case["params"]["stride"] == 1]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", WINOGRAD_REFERENCE_CASES)
def test_winograd_matches_pytorch_references_float32(device, name):
    """The committed PyTorch cases with a stride-1 3x3 kernel, through the Winograd kernel."""
    case = load_cases("conv2d")[name]
    padding = case["params"]["padding"]
    padding = (0, 0) if padding == "valid" else (padding, padding)
    names = case["params"]["inputs"]
    tensors = [mt.tensor(case[k], requires_grad=True, device=device) for k in names]
    out = winograd.Conv2dWinograd.apply(*tensors, padding=padding)
    out.backward(mt.tensor(case["grad_out"], device=device))
    assert_close(out.numpy(), case["out"], case=name, field="out")
    for k, t in zip(names, tensors):
        assert_close(t.grad.numpy(), case[f"grad_{k}"], case=name, field=f"grad_{k}")


def test_winograd_transforms_are_the_matrices_of_f23():
    """The additions apply B^T, G and A^T, and each adjoint applies the transposed matrix."""
    rng = np.random.default_rng(0)
    b_t, g, a_t = (np.array(m, dtype=np.float64) for m in (winograd.B_T, winograd.G, winograd.A_T))
    # One 4x4 tile: the image is 1x1x4x4, so there is exactly one tile.
    d = rng.standard_normal((1, 1, 4, 4))
    np.testing.assert_allclose(winograd.transform_input(d, (0, 0)).reshape(4, 4), b_t @ d[0, 0] @ b_t.T)
    kernel = rng.standard_normal((1, 1, 3, 3))
    np.testing.assert_allclose(winograd.transform_weight(kernel).reshape(4, 4), g @ kernel[0, 0] @ g.T)
    m = rng.standard_normal((16, 1, 1))
    np.testing.assert_allclose(winograd.transform_output(m, 1, 1, 1, 2, 2).reshape(2, 2),
                               a_t @ m.reshape(4, 4) @ a_t.T)
    # Adjoints: <T a, b> == <a, T* b> for random a, b (inputs spanning several tiles).
    x, gv = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((16, 3, 2 * 4 * 3))
    lhs = np.sum(winograd.transform_input(x, (1, 1)) * gv)
    assert np.isclose(lhs, np.sum(x * winograd.transform_input_adjoint(gv, x.shape, (1, 1))))
    wk, gu = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal((16, 4, 3))
    assert np.isclose(np.sum(winograd.transform_weight(wk) * gu),
                      np.sum(wk * winograd.transform_weight_adjoint(gu)))
    mm, gy = rng.standard_normal((16, 4, 2 * 4 * 3)), rng.standard_normal((2, 4, 7, 5))
    assert np.isclose(np.sum(winograd.transform_output(mm, 2, 4, 3, 7, 5) * gy.transpose(1, 0, 2, 3)),
                      np.sum(mm * winograd.transform_output_adjoint(gy, 4, 3)))


@pytest.mark.parametrize("threads", [1, 2])
def test_winograd_in_blocks_of_channels_on_threads(monkeypatch, threads):
    """One channel per block, on one or two threads: the same numbers as the plain kernel."""
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 1)
    monkeypatch.setattr(parallel, "THREADS", threads)
    rng = np.random.default_rng(threads)
    arrays = [rng.standard_normal((2, 5, 7, 6)), rng.standard_normal((4, 5, 3, 3)), rng.standard_normal(4)]
    fast, plain = winograd_and_plain(arrays, 1, "cpu")
    assert_same(fast, plain, f"winograd conv2d in blocks of one channel on {threads} threads")


def test_functional_takes_winograd_for_wide_small_3x3_stride_1_only(monkeypatch):
    calls = []
    for name, cls in (("winograd", winograd.Conv2dWinograd), ("columns", fast_conv.Conv2dColumnBlocks)):
        monkeypatch.setattr(cls, "apply", classmethod(
            lambda cls, *a, name=name, **k: calls.append(name) or Conv2d.apply(
                *a, stride=(1, 1), padding=k["padding"])))
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 3)
    monkeypatch.setattr(winograd, "MAX_PIXELS", 36)
    wide, thin = mt.randn(1, 3, 6, 6), mt.randn(1, 2, 6, 6)
    F.conv2d(wide, mt.randn(3, 3, 3, 3), padding=1)
    F.conv2d(thin, mt.randn(3, 2, 3, 3), padding=1)       # too few input channels
    F.conv2d(wide, mt.randn(2, 3, 3, 3), padding=1)       # too few output channels
    F.conv2d(wide, mt.randn(3, 3, 5, 5), padding=2)       # not 3x3
    F.conv2d(wide, mt.randn(3, 3, 3, 3), stride=2, padding=1)  # not stride 1
    F.conv2d(mt.randn(1, 3, 6, 7), mt.randn(3, 3, 3, 3), padding=1)  # too many pixels
    assert calls == ["winograd", "columns", "columns", "columns", "columns"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_winograd_threads_work_in_a_forked_child(monkeypatch):
    """A child forked after the parent used its thread pool gets a pool of its own."""
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 1)
    monkeypatch.setattr(parallel, "THREADS", 2)
    x = np.random.default_rng(0).standard_normal((2, 4, 6, 6))
    expected = winograd.transform_input(x, (1, 1))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether its transform matches, then leave at once
        signal.alarm(20)  # a child waiting on threads it does not have is killed, not left hanging
        same = np.array_equal(winograd.transform_input(x, (1, 1)), expected)
        os.write(write, b"1" if same else b"0")
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1" and status == 0
