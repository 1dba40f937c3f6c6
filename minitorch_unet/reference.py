"""PyTorch reference cases: load them and compare an engine's arrays against them.

``data/reference/<op>.npz`` holds cases written by ``data/reference/make_reference.py``
(PyTorch is the oracle; this module never imports it). A case's arrays are stored under
``"<case>/<field>"``; :func:`load_cases` groups them back::

    cases = load_cases("conv2d")
    case = cases["k3_s1_p1_n2_c3x5_9x11"]
    case["params"]           # dict: the op, its arguments, the names of its inputs
    case["input"], case["out"], case["grad_out"], case["grad_weight"]   # np.ndarray
    assert_close(my_out, case["out"], case="k3_s1_p1_n2_c3x5_9x11", field="out")

Fields named ``"<group>/<key>"`` (a module's ``state/weight``) come back as
``case["state"]["weight"]``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"

# A correct float32 implementation lands within these of the float64 reference (the
# generator checks that PyTorch's own float32 run does). atol is relative to values of
# order one: the cases keep inputs, weights and outputs of that size.
TOLERANCES: dict[str, dict[str, float]] = {
    "float32": dict(rtol=1e-4, atol=1e-5),
    "float64": dict(rtol=1e-7, atol=1e-9),
}

Case = dict[str, Any]


def list_ops() -> list[str]:
    """The op families with a reference file, e.g. ``["activations", "batch_norm", ...]``."""
    return sorted(p.stem for p in REFERENCE_DIR.glob("*.npz"))


def load_cases(op: str) -> dict[str, Case]:
    """All cases of ``data/reference/<op>.npz``: ``{case: {field: array, "params": dict}}``."""
    path = REFERENCE_DIR / f"{op}.npz"
    if not path.is_file():
        raise FileNotFoundError(
            f"reference file {path} not found; known ops: {', '.join(list_ops()) or 'none'}. "
            "Regenerate with: python data/reference/make_reference.py (needs PyTorch)")
    cases: dict[str, Case] = {}
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            case, field = key.split("/", 1)
            value = npz[key]
            entry = cases.setdefault(case, {})
            if field == "params":
                entry["params"] = json.loads(str(value))
            elif "/" in field:
                group, name = field.split("/", 1)
                entry.setdefault(group, {})[name] = value
            else:
                entry[field] = value
    return cases


def decode_index(spec: list[Any]) -> tuple[Any, ...]:
    """A stored ``x[idx]`` index: ints stay, ``None`` is None, ``"..."`` is Ellipsis and a
    list ``[start, stop, step]`` is a slice."""
    items: list[Any] = []
    for item in spec:
        if item == "...":
            items.append(Ellipsis)
        elif isinstance(item, list):
            items.append(slice(*item))
        else:
            items.append(item)
    return tuple(items)


def assert_close(actual: Any, expected: np.ndarray, *, case: str, field: str,
                 rtol: float | None = None, atol: float | None = None) -> None:
    """Raise AssertionError naming the case, the field, the largest error and where it is.

    Tolerances default to ``TOLERANCES`` for the dtype of `expected`.
    """
    tol = TOLERANCES.get(str(expected.dtype), TOLERANCES["float32"])
    rtol = tol["rtol"] if rtol is None else rtol
    atol = tol["atol"] if atol is None else atol
    actual = np.asarray(actual)
    where = f"{case}: {field}"
    if actual.shape != expected.shape:
        raise AssertionError(f"{where}: shape {actual.shape}, expected {expected.shape}")
    if not np.all(np.isfinite(actual) == np.isfinite(expected)):
        bad = np.argwhere(np.isfinite(actual) != np.isfinite(expected))[0]
        raise AssertionError(f"{where}: value {actual[tuple(bad)]} at index {tuple(bad)}, "
                             f"expected {expected[tuple(bad)]}")
    a64, e64 = actual.astype(np.float64), expected.astype(np.float64)
    off = mismatch(a64, e64, rtol, atol)
    if off:
        n_bad, worst = off
        raise AssertionError(
            f"{where}: {n_bad} of {a64.size} values off; max abs error "
            f"{np.abs(a64 - e64).max():.3g} (rtol={rtol:g}, atol={atol:g}); worst at index "
            f"{worst}: got {a64[worst]:.8g}, expected {e64[worst]:.8g}")


def mismatch(actual: np.ndarray, expected: np.ndarray, rtol: float,
             atol: float) -> tuple[int, tuple[int, ...]] | None:
    """None when |actual - expected| <= atol + rtol |expected| everywhere; otherwise how many
    values are off and the index of the one furthest beyond its tolerance."""
    error = np.abs(actual - expected)
    allowed = atol + rtol * np.abs(expected)
    beyond = error > allowed
    if not beyond.any():
        return None
    worst = np.unravel_index(np.argmax(error - allowed), error.shape) if error.ndim else ()
    return int(beyond.sum()), tuple(int(i) for i in worst)
