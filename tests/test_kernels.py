"""The fast kernels (fast_conv, winograd, MaxPool2x2) against the plain ones they stand beside."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minitorch_unet as mt
from minitorch_unet import fast_conv, functional as F, parallel, winograd, winograd43
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


# ---- Winograd F(2x2, 3x3) and F(4x4, 3x3) ---------------------------------------------------
# (module, its kernel, output block side m): the tiles are (m + 2) x (m + 2).
WINOGRADS = [pytest.param(winograd, winograd.Conv2dWinograd, 2, id="F(2x2,3x3)"),
             pytest.param(winograd43, winograd43.Conv2dWinograd43, 4, id="F(4x4,3x3)")]


def winograd_and_plain(arrays, p, device, kernel=winograd.Conv2dWinograd):
    fast = run(lambda *t: kernel.apply(*t, padding=(p, p)), arrays, device)
    plain = run(lambda *t: Conv2d.apply(*t, stride=(1, 1), padding=(p, p)), arrays, device)
    return fast, plain


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("module", "kernel", "m"), WINOGRADS)
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 10), o=st.integers(1, 6), h=st.integers(1, 13),
       w=st.integers(1, 13), p=st.integers(0, 2), bias=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_winograd_conv_matches_im2col_conv_float64(device, module, kernel, m, n, c, o, h, w, p,
                                                   bias, seed):
    """Odd and even sizes (partial tiles), paddings 0-2: the same numbers up to rounding."""
    if 3 > min(h, w) + 2 * p:
        return
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, 3, 3))]
    arrays += [rng.standard_normal(o)] if bias else []
    fast, plain = winograd_and_plain(arrays, p, device, kernel)
    assert_same(fast, plain, f"{kernel.__name__} n={n} c={c} o={o} {h}x{w} p={p}")


# float32: Winograd transforms before it multiplies, so it rounds differently from a direct
# sum. Measured on these layers, its largest error relative to the largest value: F(2x2, 3x3)
# 2e-7 to 8e-7, about twice the direct kernels'; F(4x4, 3x3), whose transforms multiply by
# up to 8 and divide by 24, 2e-6 to 1e-5. The bounds have room for long channel sums.
WINOGRAD_FLOAT32_RELATIVE_ERROR = {2: 5e-6, 4: 5e-5}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("module", "kernel", "m"), WINOGRADS)
@pytest.mark.parametrize(("n", "c", "o", "size"), [(2, 32, 32, 16), (2, 64, 32, 9), (1, 256, 64, 8)])
def test_winograd_float32_error_is_small(device, module, kernel, m, n, c, o, size):
    """Against the plain kernel in float64: Winograd's float32 error stays within its bound."""
    rng = np.random.default_rng(size)
    x, wgt = rng.standard_normal((n, c, size, size)), rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)
    exact = run(lambda *t: Conv2d.apply(*t, stride=(1, 1), padding=(1, 1)), [x, wgt], device)
    fast = run(lambda *t: kernel.apply(*t, padding=(1, 1)),
               [x.astype(np.float32), wgt.astype(np.float32)], device)
    for name, got, want in zip(("output", "grad of input", "grad of weight"), fast, exact):
        assert got.dtype == np.float32, f"{name}: dtype {got.dtype}"
        error = np.abs(got - want).max() / np.abs(want).max()
        assert error < WINOGRAD_FLOAT32_RELATIVE_ERROR[m], f"{name}: relative error {error:.2e}"


WINOGRAD_REFERENCE_CASES = [name for name, case in load_cases("conv2d").items()
                            if case["weight"].shape[2:] == (3, 3) and case["params"]["stride"] == 1]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("module", "kernel", "m"), WINOGRADS)
@pytest.mark.parametrize("name", WINOGRAD_REFERENCE_CASES)
def test_winograd_matches_pytorch_references_float32(device, module, kernel, m, name):
    """The committed PyTorch cases with a stride-1 3x3 kernel, through each Winograd kernel."""
    case = load_cases("conv2d")[name]
    padding = case["params"]["padding"]
    padding = (0, 0) if padding == "valid" else (padding, padding)
    names = case["params"]["inputs"]
    tensors = [mt.tensor(case[k], requires_grad=True, device=device) for k in names]
    out = kernel.apply(*tensors, padding=padding)
    out.backward(mt.tensor(case["grad_out"], device=device))

    def tolerance(expected):  # F(4x4, 3x3): its bound relative to the largest value, as above
        return {} if m == 2 else {"atol": WINOGRAD_FLOAT32_RELATIVE_ERROR[m] * np.abs(expected).max()}
    assert_close(out.numpy(), case["out"], case=name, field="out", **tolerance(case["out"]))
    for k, t in zip(names, tensors):
        expected = case[f"grad_{k}"]
        assert_close(t.grad.numpy(), expected, case=name, field=f"grad_{k}", **tolerance(expected))


@pytest.mark.parametrize(("module", "kernel", "m"), WINOGRADS)
def test_winograd_transforms_are_their_matrices(module, kernel, m):
    """Each transform applies B^T, G or A^T on both sides of a tile, and each adjoint applies
    the transposed matrices."""
    rng = np.random.default_rng(0)
    a = m + 2  # tile side
    b_t, g, a_t = (np.array(t, dtype=np.float64) for t in (module.B_T, module.G, module.A_T))
    assert (b_t.shape, g.shape, a_t.shape) == ((a, a), (a, 3), (m, a))
    # One tile: the image is 1x1xa x a, so there is exactly one.
    d = rng.standard_normal((1, 1, a, a))
    np.testing.assert_allclose(module.transform_input(d, (0, 0)).reshape(a, a), b_t @ d[0, 0] @ b_t.T)
    k = rng.standard_normal((1, 1, 3, 3))
    np.testing.assert_allclose(module.transform_weight(k).reshape(a, a), g @ k[0, 0] @ g.T)
    mm = rng.standard_normal((a * a, 1, 1))
    np.testing.assert_allclose(module.transform_output(mm, 1, 1, 1, m, m).reshape(m, m),
                               a_t @ mm.reshape(a, a) @ a_t.T)
    # And the three together convolve: A^T [(G k G^T) * (B^T d B)] A is the valid correlation.
    direct = np.array([[np.sum(d[0, 0, i:i + 3, j:j + 3] * k[0, 0]) for j in range(m)]
                       for i in range(m)])
    np.testing.assert_allclose(a_t @ ((g @ k[0, 0] @ g.T) * (b_t @ d[0, 0] @ b_t.T)) @ a_t.T, direct)
    # Adjoints: <T x, y> == <x, T* y> for random x, y (inputs spanning several tiles).
    x = rng.standard_normal((2, 3, 2 * m + 3, 2 * m + 2))
    th, tw = module.tile_counts(*x.shape[2:], (1, 1))
    gv = rng.standard_normal((a * a, 3, 2 * th * tw))
    assert np.isclose(np.sum(module.transform_input(x, (1, 1)) * gv),
                      np.sum(x * module.transform_input_adjoint(gv, x.shape, (1, 1))))
    wk, gu = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal((a * a, 4, 3))
    assert np.isclose(np.sum(module.transform_weight(wk) * gu),
                      np.sum(wk * module.transform_weight_adjoint(gu)))
    ho, wo = m * th - 1, m * tw  # an odd height: the last tiles reach past the output
    mm, gy = rng.standard_normal((a * a, 4, 2 * th * tw)), rng.standard_normal((2, 4, ho, wo))
    assert np.isclose(np.sum(module.transform_output(mm, 2, th, tw, ho, wo) * gy.transpose(1, 0, 2, 3)),
                      np.sum(mm * module.transform_output_adjoint(gy, th, tw)))


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
    for name, cls in (("winograd", winograd.Conv2dWinograd), ("columns", fast_conv.Conv2dColumnBlocks),
                      ("winograd 4x4", winograd43.Conv2dWinograd43)):
        monkeypatch.setattr(cls, "apply", classmethod(
            lambda cls, *a, name=name, **k: calls.append(name) or Conv2d.apply(
                *a, stride=(1, 1), padding=k["padding"])))
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 3)
    monkeypatch.setattr(winograd, "MAX_PIXELS", 36)
    monkeypatch.setattr(winograd43, "MIN_SIDE", 6)
    wide, thin = mt.randn(1, 3, 6, 6), mt.randn(1, 2, 6, 6)
    F.conv2d(wide, mt.randn(3, 3, 3, 3), padding=1)
    F.conv2d(mt.randn(1, 3, 5, 7), mt.randn(3, 3, 3, 3), padding=1)  # under MIN_SIDE high
    F.conv2d(thin, mt.randn(3, 2, 3, 3), padding=1)       # too few input channels
    F.conv2d(wide, mt.randn(2, 3, 3, 3), padding=1)       # too few output channels
    F.conv2d(wide, mt.randn(3, 3, 5, 5), padding=2)       # not 3x3
    F.conv2d(wide, mt.randn(3, 3, 3, 3), stride=2, padding=1)  # not stride 1
    F.conv2d(mt.randn(1, 3, 6, 7), mt.randn(3, 3, 3, 3), padding=1)  # too many pixels
    assert calls == ["winograd 4x4", "winograd", "columns", "columns", "columns", "columns"]


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
