"""Check analytic gradients against central finite differences, in float64."""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import backend
from .autograd import Tensor
from .reference import mismatch


def numerical_grad(fn: Callable[..., Tensor], inputs: list[Tensor], index: int,
                   eps: float = 1e-6) -> np.ndarray:
    """d sum(fn(*inputs) * w) / d inputs[index] by central differences (w fixed, random)."""
    x = inputs[index]
    grad = np.zeros(x.shape)
    flat = x.data.reshape(-1)  # a view: edits change x in place
    weights = None
    for i in range(flat.size):
        saved = flat[i].item()
        values = []
        for step in (eps, -eps):
            flat[i] = saved + step
            out = fn(*inputs).data
            if weights is None:
                weights = _weights(out)
            values.append(float((out * weights).sum()))
        flat[i] = saved
        grad.reshape(-1)[i] = (values[0] - values[1]) / (2 * eps)
    return grad


def _weights(out) -> object:
    """Fixed random weights, so every output element's gradient counts, not only their sum."""
    xp = backend.xp_of(out)
    return xp.asarray(np.random.default_rng(0).uniform(0.5, 1.5, size=out.shape))


def gradcheck(fn: Callable[..., Tensor], *inputs: Tensor, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """True when fn's analytic gradients match numerical ones for every input that requires grad.

    Inputs must be float64. Otherwise raises AssertionError naming the input, the index where
    the two differ most, both values and the difference.
    """
    inputs = list(inputs)
    for i, t in enumerate(inputs):
        if t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; use float64 (finite differences "
                            "in float32 are too coarse)")
        t.grad = None
    out = fn(*inputs)
    weights = _weights(out.data)
    out.backward(Tensor._wrap(weights.astype(out.dtype)))
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            continue
        analytic = np.zeros(t.shape) if t.grad is None else backend.to_numpy(t.grad.data)
        numeric = numerical_grad(fn, inputs, i, eps)
        off = mismatch(analytic, numeric, rtol, atol)
        if off:
            n_bad, worst = off
            raise AssertionError(
                f"gradcheck: gradient of input {i} (shape {t.shape}) is wrong; worst at index "
                f"{worst}: analytic {analytic[worst]:.6g}, numerical {numeric[worst]:.6g}, "
                f"difference {abs(analytic[worst] - numeric[worst]):.3g} "
                f"({n_bad} of {numeric.size} elements off)")
    return True
