"""Bad input gets a clear error naming the op and the shapes, never a bare NumPy traceback."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch_unet as mt
from minitorch_unet import backend, functional as F
from minitorch_unet.unet import UNet


def x(*shape, dtype=np.float32):
    return mt.tensor(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("call, pattern", [
    (lambda: F.conv2d(x(3, 8, 8), x(4, 3, 3, 3)), r"conv2d: input must be 4-D \(N, C, H, W\), got shape \(3, 8, 8\)"),
    (lambda: F.conv2d(x(1, 2, 8, 8), x(4, 3, 3, 3)), r"conv2d: input has 2 channels .* weight expects 3"),
    (lambda: F.conv2d(x(1, 3, 2, 2), x(4, 3, 5, 5)), r"conv2d: kernel 5x5 is larger than the padded input 2x2"),
    (lambda: F.conv2d(x(1, 3, 8, 8), x(4, 3, 3, 3), x(3)), r"conv2d: bias must have shape \(4,\)"),
    (lambda: F.conv2d(x(1, 3, 8, 8, dtype=np.int64), x(4, 3, 3, 3)), r"conv2d: input has dtype int64"),
    (lambda: F.conv2d(x(1, 3, 8, 8, dtype=np.float64), x(4, 3, 3, 3)), r"conv2d: mixed dtypes"),
    (lambda: F.conv2d(x(1, 3, 8, 8), x(4, 3, 3, 3), stride=2, padding="same"), r"'same' needs stride 1"),
    (lambda: F.conv2d(x(1, 3, 8, 8), x(4, 3, 3, 3), padding="full"), r"padding must be an int, a pair, 'same' or 'valid'"),
    (lambda: F.conv_transpose2d(x(1, 4, 8, 8), x(3, 2, 2, 2)), r"conv_transpose2d: input has 4 channels .* \(in, out, kh, kw\)"),
    (lambda: F.conv_transpose2d(x(1, 3, 8, 8), x(3, 2, 2, 2), stride=2, output_padding=2), r"output_padding \(2, 2\) must be smaller than stride"),
    (lambda: F.max_pool2d(x(1, 1, 1, 1), 2), r"max_pool2d: kernel \(2, 2\) is larger than the padded input"),
    (lambda: F.max_pool2d(x(1, 1, 8, 8), 2, padding=2), r"padding \(2, 2\) must be at most half the kernel"),
    (lambda: F.cat([x(1, 2, 8, 8), x(1, 2, 6, 6)], 1), r"cat along dim 1: .*differ by 2x2: center_crop the larger one to 6x6"),
    (lambda: F.cat([x(1, 2, 8, 8), x(1, 2, 8)], 1), r"different number of dimensions"),
    (lambda: F.cat([], 0), r"non-empty list"),
    (lambda: F.center_crop(x(1, 1, 4, 4), 6), r"center_crop: cannot crop 4x4 .* to 6x6"),
    (lambda: F.batch_norm(x(2, 3, 4, 4), x(2), x(3)), r"batch_norm: running_mean must have shape \(3,\)"),
    (lambda: F.binary_cross_entropy_with_logits(x(2, 1), x(2, 2)), r"same shape"),
    (lambda: x(2, 3).reshape(4, 2), r"reshape: cannot view shape \(2, 3\) \(6 elements\) as \(4, 2\)"),
    (lambda: UNet()(x(1, 1, 100, 100)), r"UNet: input size 100 .* multiple of 16"),
    (lambda: UNet()(x(1, 3, 64, 64)), r"UNet: input must be \(N, 1, H, W\), got shape \(1, 3, 64, 64\)"),
])
def test_bad_input_names_the_op_and_shapes(call, pattern):
    with pytest.raises((ValueError, TypeError, IndexError)) as info:
        call()
    assert info.match(pattern), str(info.value)


def test_mixed_devices_in_one_op_is_a_clear_error(monkeypatch):
    a, b = x(2), x(2)
    monkeypatch.setattr(backend, "device_of", lambda arr: "cuda" if arr is b.data else "cpu")
    with pytest.raises(backend.DeviceError, match=r"add: tensors on different devices \(cpu, cuda\)"):
        a + b


def test_cuda_without_cupy_says_so_and_never_falls_back(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_cupy(name, *args, **kwargs):
        if name == "cupy":
            raise ImportError("No module named 'cupy'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(backend, "_cupy_checked", None)
    monkeypatch.setattr(builtins, "__import__", no_cupy)
    with pytest.raises(backend.DeviceError, match="CuPy is not installed.*device='cpu'"):
        mt.tensor([1.0], device="cuda")
    assert not backend.cuda_available()


def test_cuda_with_cupy_but_no_gpu_says_so(monkeypatch):
    import sys
    import types

    class NoDevice(Exception):
        pass
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(
        getDeviceCount=lambda: (_ for _ in ()).throw(NoDevice("no CUDA-capable device is detected"))))
    monkeypatch.setattr(backend, "_cupy_checked", None)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(backend.DeviceError, match="CuPy is installed but sees no GPU"):
        backend.xp_for("cuda")


def test_unknown_device_is_rejected():
    with pytest.raises(backend.DeviceError, match="unknown device 'gpu'"):
        mt.tensor([1.0], device="gpu")
