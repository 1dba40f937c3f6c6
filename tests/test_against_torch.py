"""The engine against live PyTorch on shapes, strides and paddings that hypothesis draws.

Skipped where torch is not installed. Everything runs in float64, so the comparison uses
``TOLERANCES["float64"]``: a wrong index or a missing term shows up far above it. The wide
3x3 convolutions (the Winograd kernel's) run in float32 too, against ``TOLERANCES["float32"]``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minitorch_unet as mt
from minitorch_unet import functional as F
from minitorch_unet.reference import TOLERANCES, assert_close
from reference_cases import DEVICES

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(0, 2**32 - 1)
Fn = Callable[..., Any]


def check(label: str, seed: int, device: str, ours: Fn, theirs: Fn,
          arrays: list[np.ndarray], grads: list[bool] | None = None,
          atol_per_unit: float | None = None) -> None:
    """Run `ours` on engine tensors and `theirs` on torch tensors made from the same arrays
    (float64 unless stated); compare the outputs and, after backward from one random upstream gradient, the
    gradients of the inputs flagged in `grads` (all by default). `atol_per_unit` scales the
    absolute tolerance by each field's largest magnitude (for float32 sums of many terms,
    whose rounding error grows with the largest value, not with each element)."""
    grads = grads if grads is not None else [True] * len(arrays)
    ts = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    expected = theirs(*ts)
    upstream = np.random.default_rng(seed + 1).standard_normal(tuple(expected.shape)).astype(
        arrays[0].dtype)
    expected.backward(torch.from_numpy(upstream))
    xs = [mt.tensor(a, requires_grad=g, device=device) for a, g in zip(arrays, grads)]
    out = ours(*xs)
    out.backward(mt.tensor(upstream, device=device))
    def atol(reference: np.ndarray) -> float | None:
        return None if atol_per_unit is None else \
            atol_per_unit * max(1.0, float(np.abs(reference).max(initial=0)))

    want = expected.detach().numpy()
    assert_close(out.numpy(), want, case=label, field="out", atol=atol(want))
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.requires_grad:
            assert x.grad is not None, f"{label}: no gradient reached input {i}"
            want = t.grad.numpy()
            assert_close(x.grad.numpy(), want, case=label, field=f"grad of input {i}",
                         atol=atol(want))


def normal(seed: int, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def pair_or_int(low: int, high: int) -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(low, high), st.tuples(st.integers(low, high),
                                                       st.integers(low, high)))


def two(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


# ---- conv2d ------------------------------------------------------------------------------
@st.composite
def conv2d_cases(draw: st.DrawFn) -> dict[str, Any]:
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = draw(st.one_of(pair_or_int(0, 2), st.sampled_from(["same", "valid"])))
    stride = 1 if padding == "same" else draw(pair_or_int(1, 3))
    pad = (0, 0) if isinstance(padding, str) else two(padding)
    # The padded input must hold at least one kernel (no such constraint for "same").
    low = [1 if padding == "same" else max(1, k - 2 * p) for k, p in zip(kernel, pad)]
    size = (draw(st.integers(low[0], low[0] + 6)), draw(st.integers(low[1], low[1] + 6)))
    return dict(n=draw(st.integers(1, 2)), c_in=draw(st.integers(1, 3)),
                c_out=draw(st.integers(1, 3)), kernel=kernel, stride=stride, padding=padding,
                size=size, bias=draw(st.booleans()))


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(case=conv2d_cases(), seed=SEEDS)
def test_conv2d(case: dict[str, Any], seed: int, device: str) -> None:
    shapes = [(case["n"], case["c_in"], *case["size"]),
              (case["c_out"], case["c_in"], *case["kernel"])]
    shapes += [(case["c_out"],)] if case["bias"] else []
    kw = dict(stride=case["stride"], padding=case["padding"])
    check(f"conv2d {case}", seed, device,
          lambda x, w, b=None: F.conv2d(x, w, b, **kw),
          lambda x, w, b=None: TF.conv2d(x, w, b, **kw), normal(seed, *shapes))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(n=st.integers(1, 2), c_in=st.integers(64, 72), c_out=st.integers(64, 66),
       size=st.tuples(st.integers(1, 9), st.integers(1, 9)), padding=st.integers(0, 2),
       bias=st.booleans(), seed=SEEDS)
@example(n=2, c_in=67, c_out=64, size=(8, 8), padding=2, bias=False, seed=1)
def test_conv2d_3x3_wide(n: int, c_in: int, c_out: int, size: tuple[int, int], padding: int,
                         bias: bool, seed: int, device: str, dtype: str) -> None:
    """Stride-1 3x3 layers with 64+ input and output channels take the Winograd kernel;
    float32 is held to ``TOLERANCES["float32"]``, its absolute part scaled by each field's
    largest value: the weight gradient sums N*H*W products and reaches 50, and PyTorch's own
    float32 result is 2e-5 from the exact one there. The weights are scaled as a layer's
    initialisation scales them (outputs of order 1)."""
    if min(size) + 2 * padding < 3:
        return
    shapes = [(n, c_in, *size), (c_out, c_in, 3, 3)] + ([(c_out,)] if bias else [])
    arrays = normal(seed, *shapes)
    arrays[1] /= np.sqrt(9 * c_in)
    arrays = [a.astype(dtype) for a in arrays]
    check(f"conv2d 3x3 {shapes} padding={padding} {dtype}", seed, device,
          lambda x, w, b=None: F.conv2d(x, w, b, padding=padding),
          lambda x, w, b=None: TF.conv2d(x, w, b, padding=padding), arrays,
          atol_per_unit=TOLERANCES["float32"]["atol"] if dtype == "float32" else None)


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 2), c_in=st.sampled_from([1, 3, 32, 64]),
       c_out=st.sampled_from([1, 32, 64]), size=st.tuples(st.integers(30, 36), st.integers(30, 36)), bias=st.booleans(), seed=SEEDS)
def test_conv2d_3x3_column_blocks(n: int, c_in: int, c_out: int, size: tuple[int, int],
                                  bias: bool, seed: int, device: str) -> None:
    """The U-Net's stride-1 3x3 layers that Winograd does not take (fewer than 64 channels, or
    more than 32x32 pixels): the column-block kernel, over several blocks. Its float32 error
    is measured in test_kernels.py."""
    shapes = [(n, c_in, *size), (c_out, c_in, 3, 3)] + ([(c_out,)] if bias else [])
    check(f"conv2d 3x3 {shapes} padding=1", seed, device,
          lambda x, w, b=None: F.conv2d(x, w, b, padding=1),
          lambda x, w, b=None: TF.conv2d(x, w, b, padding=1), normal(seed, *shapes))


# ---- conv_transpose2d ----------------------------------------------------------------------
@st.composite
def conv_transpose2d_cases(draw: st.DrawFn) -> dict[str, Any]:
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k - 1)) for k in kernel)
    output_padding = tuple(draw(st.integers(0, s - 1)) for s in stride)
    # Output size (h - 1) * s - 2p + k + op must be at least 1.
    low = [max(1, 1 + -(-(2 * p - k - op + 1) // s)) for k, s, p, op in
           zip(kernel, stride, padding, output_padding)]
    size = (draw(st.integers(low[0], low[0] + 4)), draw(st.integers(low[1], low[1] + 4)))
    if draw(st.booleans()):  # square: plain ints for every argument
        kernel, stride, padding, output_padding = (kernel[0], stride[0], padding[0],
                                                   output_padding[0])
        size = (size[0], size[0])
    return dict(n=draw(st.integers(1, 2)), c_in=draw(st.integers(1, 3)),
                c_out=draw(st.integers(1, 3)), kernel=kernel, stride=stride, padding=padding,
                output_padding=output_padding, size=size, bias=draw(st.booleans()))


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(case=conv_transpose2d_cases(), seed=SEEDS)
def test_conv_transpose2d(case: dict[str, Any], seed: int, device: str) -> None:
    shapes = [(case["n"], case["c_in"], *case["size"]),
              (case["c_in"], case["c_out"], *two(case["kernel"]))]
    shapes += [(case["c_out"],)] if case["bias"] else []
    kw = dict(stride=case["stride"], padding=case["padding"],
              output_padding=case["output_padding"])
    check(f"conv_transpose2d {case}", seed, device,
          lambda x, w, b=None: F.conv_transpose2d(x, w, b, **kw),
          lambda x, w, b=None: TF.conv_transpose2d(x, w, b, **kw), normal(seed, *shapes))


# ---- max_pool2d ----------------------------------------------------------------------------
@st.composite
def max_pool2d_cases(draw: st.DrawFn) -> dict[str, Any]:
    kernel = draw(pair_or_int(1, 3))
    stride = draw(st.one_of(st.none(), pair_or_int(1, 3)))
    padding = draw(st.integers(0, kernel // 2)) if isinstance(kernel, int) else \
        tuple(draw(st.integers(0, k // 2)) for k in kernel)
    low = [max(1, k - 2 * p) for k, p in zip(two(kernel), two(padding))]
    size = (draw(st.integers(low[0], low[0] + 7)), draw(st.integers(low[1], low[1] + 7)))
    return dict(n=draw(st.integers(1, 2)), c=draw(st.integers(1, 3)), kernel=kernel,
                stride=stride, padding=padding, size=size)


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(case=max_pool2d_cases(), seed=SEEDS)
def test_max_pool2d(case: dict[str, Any], seed: int, device: str) -> None:
    # Continuous random values: no ties, so the gradient's route is unique.
    x = normal(seed, (case["n"], case["c"], *case["size"]))
    kw = dict(stride=case["stride"], padding=case["padding"])
    check(f"max_pool2d {case}", seed, device,
          lambda t: F.max_pool2d(t, case["kernel"], **kw),
          lambda t: TF.max_pool2d(t, case["kernel"], **kw), x)


# ---- cat -------------------------------------------------------------------------------------
@st.composite
def cat_cases(draw: st.DrawFn) -> tuple[list[tuple[int, ...]], int]:
    base = draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    dim = draw(st.integers(-len(base), len(base) - 1))
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=3))
    axis = dim % len(base)
    return [base[:axis] + (s,) + base[axis + 1:] for s in sizes], dim


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(case=cat_cases(), seed=SEEDS)
def test_cat(case: tuple[list[tuple[int, ...]], int], seed: int, device: str) -> None:
    shapes, dim = case
    check(f"cat {shapes} dim={dim}", seed, device,
          lambda *ts: mt.cat(list(ts), dim=dim),
          lambda *ts: torch.cat(list(ts), dim=dim), normal(seed, *shapes))


# ---- broadcasting elementwise ------------------------------------------------------------
BINARY: dict[str, Fn] = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
                         "mul": lambda a, b: a * b, "div": lambda a, b: a / b}


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       op=st.sampled_from(sorted(BINARY)), seed=SEEDS)
def test_broadcasting_elementwise(shapes: Any, op: str, seed: int, device: str) -> None:
    a, b = normal(seed, *shapes.input_shapes)
    if op == "div":  # keep divisors away from zero
        b = np.sign(b) * (np.abs(b) + 0.5) + (b == 0)
    check(f"{op} {shapes.input_shapes}", seed, device, BINARY[op], BINARY[op], [a, b])


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=4),
       exponent=st.sampled_from([2.0, 3.0, 0.5, -1.0, -2.5]), seed=SEEDS)
def test_pow_exp_log_chain(shape: tuple[int, ...], exponent: float, seed: int,
                           device: str) -> None:
    x = np.abs(normal(seed, shape)[0]) + 0.5
    fn = lambda t: (t ** exponent).log() * t.exp() - t  # noqa: E731
    check(f"pow/log/exp {shape} p={exponent}", seed, device, fn, fn, [x])


# ---- matmul ----------------------------------------------------------------------------------
@st.composite
def matmul_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    batch = draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3))
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    return batch.input_shapes[0] + (m, k), batch.input_shapes[1] + (k, n)


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(shapes=matmul_shapes(), seed=SEEDS)
def test_matmul(shapes: tuple[tuple[int, ...], tuple[int, ...]], seed: int, device: str) -> None:
    check(f"matmul {shapes}", seed, device, lambda a, b: a @ b, lambda a, b: a @ b,
          normal(seed, *shapes))


# ---- reductions ------------------------------------------------------------------------------
@st.composite
def reduction_cases(draw: st.DrawFn) -> tuple[tuple[int, ...], str, Any, bool]:
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
    op = draw(st.sampled_from(["sum", "mean", "max"]))
    nd = len(shape)
    one_dim = st.integers(-nd, nd - 1)
    if op == "max":
        dim = draw(st.one_of(st.none(), one_dim))
    else:
        dims = st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(
            lambda ds: tuple(d - nd if i % 2 else d for i, d in enumerate(ds)))
        dim = draw(st.one_of(st.none(), one_dim, dims))
    return shape, op, dim, draw(st.booleans())


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(case=reduction_cases(), seed=SEEDS)
def test_reductions(case: tuple[tuple[int, ...], str, Any, bool], seed: int, device: str) -> None:
    shape, op, dim, keepdim = case

    def fn(t: Any) -> Any:
        if dim is None:
            return getattr(t, op)()
        result = getattr(t, op)(dim, keepdim=keepdim)
        return result[0] if op == "max" else result

    check(f"{op} {shape} dim={dim} keepdim={keepdim}", seed, device, fn, fn,
          normal(seed, shape))
