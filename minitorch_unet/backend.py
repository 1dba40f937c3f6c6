"""Where arrays live: NumPy on the CPU, CuPy on an NVIDIA GPU.

This is the only module that imports numpy or cupy for array math. Everything above it
asks for the array module of a device (the "xp" pattern) and writes its math once::

    xp = backend.xp_for("cuda")     # cupy
    xp = backend.xp_of(array)       # numpy or cupy, whichever holds `array`

Asking for ``"cuda"`` never falls back to the CPU: if CuPy is missing, or sees no GPU,
:class:`DeviceError` says which of the two it is and how to fix it.
"""
from __future__ import annotations

from typing import Any

import numpy

DEVICES = ("cpu", "cuda")
Array = Any  # numpy.ndarray or cupy.ndarray


class DeviceError(RuntimeError):
    """A device that cannot be used, or two devices mixed in one op."""


def _import_cupy():
    try:
        import cupy
    except ImportError as err:
        raise DeviceError(
            "device 'cuda' asked for, but CuPy is not installed. Install the GPU extra "
            "(pip install 'minitorch-unet[gpu]', or the cupy-cudaXXx wheel matching your "
            "CUDA version), or use device='cpu'.") from err
    return cupy


_cupy_checked = None


def _cupy():
    """CuPy, once it is known to see a GPU; raises DeviceError otherwise."""
    global _cupy_checked
    if _cupy_checked is None:
        cupy = _import_cupy()
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as err:  # the CUDA driver raises its own error types
            raise DeviceError(
                "device 'cuda' asked for: CuPy is installed but sees no GPU "
                f"({err}). Check the NVIDIA driver (nvidia-smi), or use device='cpu'.") from err
        if count == 0:
            raise DeviceError("device 'cuda' asked for: CuPy is installed but sees no GPU. "
                              "Check the NVIDIA driver (nvidia-smi), or use device='cpu'.")
        _cupy_checked = cupy
    return _cupy_checked


def cuda_available() -> bool:
    """True where CuPy is installed and sees at least one GPU."""
    try:
        _cupy()
    except DeviceError:
        return False
    return True


def parse_device(device: str) -> str:
    """'cpu' or 'cuda' for a device name ('cpu', 'cuda', 'cuda:0'), without looking for a GPU.

    The engine runs on CuPy's current GPU, so 'cuda:0' is the only numbered device; select
    another GPU with CUDA_VISIBLE_DEVICES.
    """
    if not isinstance(device, str):
        raise DeviceError(f"device must be 'cpu', 'cuda' or 'cuda:0', got {device!r}")
    name, _, index = device.partition(":")
    if name not in DEVICES or (index and name == "cpu"):
        raise DeviceError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:0'")
    if index and index != "0":
        raise DeviceError(f"device {device!r}: only 'cuda:0', the current GPU, is supported; "
                          f"choose another GPU with CUDA_VISIBLE_DEVICES={index} and 'cuda:0'")
    return name


def check_device(device: str) -> str:
    """Validate a device name and its availability -> 'cpu' or 'cuda' (see parse_device)."""
    name = parse_device(device)
    if name == "cuda":
        _cupy()
    return name


def xp_for(device: str):
    """The array module (numpy or cupy) for a device name."""
    return _cupy() if check_device(device) == "cuda" else numpy


def device_of(array: Array) -> str:
    """'cpu' for a NumPy array, 'cuda' for a CuPy array."""
    return "cpu" if isinstance(array, (numpy.ndarray, numpy.generic)) else "cuda"


def xp_of(array: Array):
    """The array module that holds `array`."""
    return numpy if device_of(array) == "cpu" else _cupy()


def to_device(array: Array, device: str) -> Array:
    """Copy `array` to `device` (no copy when it is already there)."""
    target = check_device(device)
    if device_of(array) == target:
        return array
    if target == "cpu":
        return array.get()
    return _cupy().asarray(array)


def to_numpy(array: Array) -> numpy.ndarray:
    """A NumPy array on the host, whatever device `array` is on."""
    return numpy.asarray(array) if device_of(array) == "cpu" else array.get()


def asarray(data: Any, device: str = "cpu", dtype: Any = None) -> Array:
    """`data` (list, scalar, NumPy or CuPy array) as an array on `device`."""
    xp = xp_for(device)
    if device_of_any(data) not in (None, check_device(device)):
        data = to_device(data, device)
    return xp.asarray(data, dtype=dtype)


def log_of_zero_allowed():
    """A block in which NumPy's log(0) gives -inf without a warning (CuPy never warns)."""
    return numpy.errstate(divide="ignore")


def device_of_any(data: Any) -> str | None:
    """The device of an array, None for plain Python data."""
    if isinstance(data, (numpy.ndarray, numpy.generic)):
        return "cpu"
    if type(data).__module__.startswith("cupy"):
        return "cuda"
    return None


# ---- random numbers: one seeded generator per device ---------------------------------
_generators: dict[str, Any] = {}


def manual_seed(seed: int) -> None:
    """Seed the generators used for initialisation and dropout on every device."""
    _generators.clear()
    _generators["cpu"] = numpy.random.default_rng(seed)
    if _cupy_checked is not None:
        _generators["cuda"] = _cupy_checked.random.default_rng(seed)
    _generators["seed"] = seed


def generator(device: str = "cpu"):
    """The seeded random generator of `device` (numpy or cupy Generator)."""
    name = check_device(device)
    if name not in _generators:
        seed = _generators.get("seed")
        xp = xp_for(name)
        _generators[name] = xp.random.default_rng(seed)
    return _generators[name]
