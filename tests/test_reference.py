"""The engine against the committed PyTorch references (no torch needed to run these).

Every case of every ``data/reference/*.npz`` file runs forward and backward through the
engine in float32 and must match PyTorch's output and gradients within
``TOLERANCES["float32"]``. Further down: float64 gradchecks of every op, dropout's
statistics, and the default initialisation of the layers against PyTorch's bounds.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import minitorch_unet as mt
from minitorch_unet import functional as F
from minitorch_unet import nn
from minitorch_unet.reference import REFERENCE_DIR, list_ops
from reference_cases import (DEVICES, ENGINE_OPS, build_module, cases, compare_fields,
                             run_engine, run_module)

FAMILIES = sorted(ENGINE_OPS)
OP_CASES = [pytest.param(family, name, id=f"{family}/{name}")
            for family in FAMILIES if family in list_ops() for name in cases(family)]
MODULE_CASES = list(cases("modules")) if "modules" in list_ops() else []


def test_every_reference_file_is_present() -> None:
    missing = set(FAMILIES + ["modules"]) - set(list_ops())
    assert not missing, f"reference files missing from {REFERENCE_DIR}: {sorted(missing)}"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("family", "name"), OP_CASES)
def test_op_matches_reference(family: str, name: str, device: str) -> None:
    case = cases(family)[name]
    inputs = set(case["params"]["inputs"])
    expected = {f: v for f, v in case.items() if f not in inputs | {"params", "grad_out"}}
    compare_fields(f"{family}/{name}", run_engine(family, case, device), expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", MODULE_CASES)
def test_module_with_torch_weights_matches_reference(name: str, device: str) -> None:
    case = cases("modules")[name]
    expected = {f: case[f] for f in case
                if f == "out" or (f.startswith("grad_") and f != "grad_out")}
    expected.update({f"state_after/{k}": v for k, v in case.get("state_after", {}).items()})
    compare_fields(f"modules/{name}", run_module(case, device), expected)


@pytest.mark.parametrize("name", MODULE_CASES)
def test_state_dict_keys_are_pytorch_names(name: str) -> None:
    case = cases("modules")[name]
    ours = set(build_module(case["params"]).state_dict())
    theirs = set(case["state_keys"].tolist())
    assert ours == theirs, f"{name}: state_dict keys {sorted(ours)}, PyTorch has {sorted(theirs)}"


# ---- float64 gradchecks: one or more per op ----------------------------------------------
def draw(rng: np.random.Generator, kind: str, shape: tuple[int, ...]) -> np.ndarray:
    """float64 test values: "n" normal, "p" positive in [0.5, 2], "a" normal but |x| > 0.1
    (away from relu's kink), "t" targets in [0, 1]."""
    if kind == "p":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "a":
        x = rng.standard_normal(shape)
        return np.where(np.abs(x) < 0.1, np.sign(x) * 0.1 + x, x)
    if kind == "t":
        return rng.uniform(0.0, 1.0, shape)
    return rng.standard_normal(shape)


def _bn(training: bool) -> Callable[..., mt.Tensor]:
    def fn(x: mt.Tensor, w: mt.Tensor, b: mt.Tensor) -> mt.Tensor:
        c = x.shape[1]
        mean = mt.tensor(np.linspace(-0.5, 0.5, c), device=x.device)
        var = mt.tensor(np.linspace(0.5, 2.0, c), device=x.device)
        return F.batch_norm(x, mean, var, w, b, training=training)
    return fn


# name -> (function of tensors, [(kind, shape) per input]); the last inputs of bce are
# constants (no gradient checked), marked by kind "t".
GRADCHECKS: dict[str, tuple[Callable[..., mt.Tensor], list[tuple[str, tuple[int, ...]]]]] = {
    "add_broadcast": (lambda a, b: a + b, [("n", (3, 1, 4)), ("n", (2, 4))]),
    "sub_broadcast": (lambda a, b: a - b, [("n", (2, 1)), ("n", (1, 3))]),
    "mul_broadcast": (lambda a, b: a * b, [("n", (4,)), ("n", (2, 3, 4))]),
    "div_broadcast": (lambda a, b: a / b, [("n", (2, 3)), ("p", (3,))]),
    "rsub_rdiv_scalar": (lambda a: 2.0 - 3.0 / a, [("p", (2, 3))]),
    "pow": (lambda a: a ** 1.5, [("p", (2, 3))]),
    "pow_method_negative_exponent": (lambda a: a.pow(-2.0), [("p", (3, 2))]),
    "neg": (lambda a: -a, [("n", (2, 3))]),
    "exp": (lambda a: a.exp(), [("n", (2, 3))]),
    "log": (lambda a: a.log(), [("p", (2, 3))]),
    "sum_all": (lambda a: a.sum(), [("n", (2, 3, 4))]),
    "sum_tuple_keepdim": (lambda a: a.sum((0, -1), keepdim=True), [("n", (2, 3, 4))]),
    "mean_dim": (lambda a: a.mean(1), [("n", (2, 3, 4))]),
    "mean_all": (lambda a: a.mean(), [("n", (3, 4))]),
    "max_all": (lambda a: a.max(), [("n", (3, 4))]),
    "max_dim": (lambda a: a.max(-1)[0], [("n", (3, 4, 5))]),
    "max_dim_keepdim": (lambda a: a.max(0, keepdim=True)[0], [("n", (3, 4))]),
    "reshape": (lambda a: a.reshape(4, -1), [("n", (2, 3, 4))]),
    "transpose": (lambda a: a.transpose(0, 2), [("n", (2, 3, 4))]),
    "permute": (lambda a: a.permute(2, 0, 1), [("n", (2, 3, 4))]),
    "getitem": (lambda a: a[1:, None, ::2, -1], [("n", (3, 5, 4))]),
    "getitem_ellipsis": (lambda a: a[..., 1:3], [("n", (2, 3, 4))]),
    "matmul_batched_broadcast": (lambda a, b: a @ b, [("n", (2, 3, 4)), ("n", (4, 2))]),
    "matmul_function": (lambda a, b: mt.matmul(a, b), [("n", (2, 1, 3, 4)), ("n", (3, 4, 2))]),
    "relu": (lambda a: a.relu(), [("a", (3, 4))]),
    "sigmoid": (lambda a: F.sigmoid(a), [("n", (3, 4))]),
    "tanh": (lambda a: a.tanh(), [("n", (3, 4))]),
    "conv2d_s2_p1": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
                     [("n", (2, 2, 5, 6)), ("n", (3, 2, 3, 3)), ("n", (3,))]),
    "conv2d_same_nonsquare": (lambda x, w: F.conv2d(x, w, padding="same"),
                              [("n", (1, 2, 4, 5)), ("n", (2, 2, 2, 3))]),
    "conv_transpose2d_s2_p1_op1": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [("n", (2, 2, 3, 4)), ("n", (2, 3, 3, 3)), ("n", (3,))]),
    "conv_transpose2d_s3": (lambda x, w: F.conv_transpose2d(x, w, stride=3),
                            [("n", (1, 2, 2, 3)), ("n", (2, 1, 2, 2))]),
    "max_pool2d_k3_s2_p1": (lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
                            [("n", (2, 2, 5, 6))]),
    "max_pool2d_k2": (lambda x: F.max_pool2d(x, 2), [("n", (1, 2, 4, 5))]),
    "cat_dim1": (lambda a, b, c: mt.cat([a, b, c], dim=1),
                 [("n", (2, 1, 3)), ("n", (2, 2, 3)), ("n", (2, 3, 3))]),
    "cat_dim_neg1": (lambda a, b: F.cat([a, b], dim=-1), [("n", (2, 3)), ("n", (2, 1))]),
    "center_crop_odd": (lambda x: F.center_crop(x, (3, 2)), [("n", (1, 2, 6, 5))]),
    "batch_norm_train": (_bn(True), [("n", (3, 2, 3, 2)), ("p", (2,)), ("n", (2,))]),
    "batch_norm_eval": (_bn(False), [("n", (3, 2, 3, 2)), ("p", (2,)), ("n", (2,))]),
    "bce_with_logits": (lambda x, t: F.binary_cross_entropy_with_logits(x, t),
                        [("n", (2, 1, 3, 3)), ("t", (2, 1, 3, 3))]),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck_float64(name: str, device: str) -> None:
    fn, specs = GRADCHECKS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    inputs = [mt.tensor(draw(rng, kind, shape), requires_grad=kind != "t", device=device)
              for kind, shape in specs]
    assert mt.gradcheck(fn, *inputs)


# ---- dropout: random, so checked by its properties --------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_training_scales_kept_values_and_routes_gradient(p: float, device: str) -> None:
    rng = np.random.default_rng(7)
    x_np = rng.uniform(0.5, 2.0, (64, 100)).astype(np.float32)
    g_np = rng.standard_normal(x_np.shape).astype(np.float32)
    x = mt.tensor(x_np, requires_grad=True, device=device)
    out = F.dropout(x, p=p, training=True)
    out.backward(mt.tensor(g_np, device=device))
    y, grad = out.numpy(), x.grad.numpy()
    kept = y != 0
    n = kept.size
    dropped = 1 - kept.mean()
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / n), f"dropped {dropped:.3f}, p={p}"
    np.testing.assert_allclose(y[kept], x_np[kept] / (1 - p), rtol=1e-6)
    np.testing.assert_allclose(grad[kept], g_np[kept] / (1 - p), rtol=1e-6)
    assert np.all(grad[~kept] == 0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("p", "training"), [(0.5, False), (0.0, True)])
def test_dropout_is_identity_in_eval_or_with_p0(p: float, training: bool, device: str) -> None:
    x_np = np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32)
    out = F.dropout(mt.tensor(x_np, device=device), p=p, training=training)
    np.testing.assert_array_equal(out.numpy(), x_np)


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_p1_zeroes_everything(device: str) -> None:
    x = mt.tensor(np.ones((3, 4), np.float32), requires_grad=True, device=device)
    out = F.dropout(x, p=1.0, training=True)
    out.backward(mt.tensor(np.ones((3, 4), np.float32), device=device))
    assert np.all(out.numpy() == 0) and np.all(x.grad.numpy() == 0)


# ---- default initialisation: PyTorch's kaiming_uniform(a=sqrt(5)) bounds --------------------
# Every case has at least 256 weights, so the statistics below hold by many standard errors.
INIT_CASES: list[tuple[str, tuple[Any, ...]]] = [
    ("Conv2d", (1, 32, 3)), ("Conv2d", (32, 32, 3)), ("Conv2d", (64, 128, 3)),
    ("Conv2d", (256, 1, 1)), ("Conv2d", (3, 64, (3, 5))),
    ("ConvTranspose2d", (64, 32, 2)), ("ConvTranspose2d", (128, 8, 2)),
    ("ConvTranspose2d", (16, 48, 3)),
]


@pytest.mark.parametrize(("kind", "args"), INIT_CASES, ids=[f"{k}{a}" for k, a in INIT_CASES])
def test_default_init_within_pytorch_bounds(kind: str, args: tuple[Any, ...]) -> None:
    c_in, c_out, k = args
    kh, kw = (k, k) if isinstance(k, int) else k
    module = getattr(nn, kind)(*args)
    w, b = module.weight.numpy(), module.bias.numpy()
    expected_shape = (c_out, c_in, kh, kw) if kind == "Conv2d" else (c_in, c_out, kh, kw)
    assert w.shape == expected_shape and b.shape == (c_out,)
    assert w.dtype == np.float32 and b.dtype == np.float32
    # PyTorch's fan_in is weight.shape[1] * kh * kw for both layers: in_channels for
    # Conv2d, out_channels for ConvTranspose2d (its weight is (in, out, kh, kw)).
    bound = 1 / np.sqrt(w.shape[1] * kh * kw)
    label = f"{kind}{args}: bound 1/sqrt({w.shape[1] * kh * kw}) = {bound:.4f}"
    assert np.abs(w).max() <= bound, f"{label}: weight up to {np.abs(w).max():.4f}"
    assert np.abs(w).max() > 0.9 * bound, f"{label}: weight only up to {np.abs(w).max():.4f}"
    std = w.std()
    assert abs(std / (bound / np.sqrt(3)) - 1) < 0.15, f"{label}: weight std {std:.4f}"
    assert abs(w.mean()) < 5 * std / np.sqrt(w.size), f"{label}: weight mean {w.mean():.4f}"
    assert np.abs(b).max() <= bound, f"{label}: bias up to {np.abs(b).max():.4f}"
    assert len(np.unique(b)) == b.size, f"{label}: repeated bias values"
    if b.size >= 32:
        assert np.abs(b).max() > 0.5 * bound, f"{label}: bias only up to {np.abs(b).max():.4f}"


def test_batchnorm_defaults_are_pytorchs() -> None:
    state = nn.BatchNorm2d(6).state_dict()
    for key, value in {"weight": 1.0, "bias": 0.0, "running_mean": 0.0, "running_var": 1.0,
                       "num_batches_tracked": 0}.items():
        assert np.all(np.asarray(state[key]) == value), f"BatchNorm2d {key}: {state[key]}"
