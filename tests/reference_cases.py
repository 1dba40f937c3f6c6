"""Test glue for the PyTorch reference cases: the device list and the engine side of each op.

The files and their loader are in :mod:`minitorch_unet.reference`; this module runs a stored
case through the engine (forward, then backward from the stored upstream gradient) and
returns the same fields the reference holds. It never imports torch.
"""
from __future__ import annotations

import functools
import operator
from typing import Any, Callable

import numpy as np
import pytest

import minitorch_unet as mt
from minitorch_unet import backend, nn
from minitorch_unet import functional as F
from minitorch_unet.reference import Case, assert_close, decode_index, load_cases

DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("cuda", id="cuda", marks=pytest.mark.skipif(
        not backend.cuda_available(), reason="no GPU here: CuPy is missing or sees no device")),
]

Tensors = dict[str, mt.Tensor]
EngineOp = Callable[[dict[str, Any], Tensors], dict[str, Any]]

cases = functools.lru_cache(maxsize=None)(load_cases)


def pair(value: Any) -> Any:
    """JSON stores tuples as lists; the engine takes ints, tuples or strings."""
    return tuple(value) if isinstance(value, list) else value


_BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
           "div": operator.truediv}


def _elementwise(p: dict[str, Any], t: Tensors) -> dict[str, Any]:
    op, a = p["op"], t["a"]
    if "scalar" in p:
        s = p["scalar"]
        fn = _BINARY[op.removeprefix("r")]
        return {"out": fn(s, a) if op.startswith("r") else fn(a, s)}
    if op in _BINARY:
        return {"out": _BINARY[op](a, t["b"])}
    if op == "pow_operator":
        return {"out": a ** p["exponent"]}
    if op == "pow_method":
        return {"out": a.pow(p["exponent"])}
    return {"out": {"neg": lambda: -a, "exp": a.exp, "log": a.log}[op]()}


def _reduction(p: dict[str, Any], t: Tensors) -> dict[str, Any]:
    x = t["x"]
    if "dim" not in p:
        return {"out": getattr(x, p["op"])()}
    dim = pair(p["dim"])
    if p["op"] == "max":
        values, indices = x.max(dim, p["keepdim"])
        return {"out": values, "indices": indices}
    return {"out": getattr(x, p["op"])(dim, p["keepdim"])}


def _shape(p: dict[str, Any], t: Tensors) -> dict[str, Any]:
    x, op = t["x"], p["op"]
    if op == "reshape":
        return {"out": x.reshape(*p["shape"])}
    if op == "transpose":
        return {"out": x.transpose(p["dim0"], p["dim1"])}
    if op == "permute":
        return {"out": x.permute(*p["dims"])}
    return {"out": x[decode_index(p["index"])]}


def _batch_norm(p: dict[str, Any], t: Tensors) -> dict[str, Any]:
    out = F.batch_norm(t["input"], t["running_mean"], t["running_var"], t.get("weight"),
                       t.get("bias"), training=p["training"], momentum=p["momentum"], eps=p["eps"])
    return {"out": out, "running_mean_out": t["running_mean"], "running_var_out": t["running_var"]}


ENGINE_OPS: dict[str, EngineOp] = {
    "elementwise": _elementwise,
    "reductions": _reduction,
    "shape": _shape,
    "matmul": lambda p, t: {"out": t["a"] @ t["b"] if p["op"] == "matmul_operator"
                            else mt.matmul(t["a"], t["b"])},
    "activations": lambda p, t: {"out": getattr(t["x"], p["op"])() if p["form"] == "method"
                                 else getattr(F, p["op"])(t["x"])},
    "conv2d": lambda p, t: {"out": F.conv2d(t["input"], t["weight"], t.get("bias"),
                                            stride=pair(p["stride"]), padding=pair(p["padding"]))},
    "conv_transpose2d": lambda p, t: {"out": F.conv_transpose2d(
        t["input"], t["weight"], t.get("bias"), stride=pair(p["stride"]),
        padding=pair(p["padding"]), output_padding=pair(p["output_padding"]))},
    "max_pool2d": lambda p, t: {"out": F.max_pool2d(
        t["input"], pair(p["kernel_size"]), stride=pair(p["stride"]), padding=pair(p["padding"]))},
    "cat": lambda p, t: {"out": (mt.cat if p["op"] == "cat" else F.cat)(
        [t[name] for name in p["inputs"]], dim=p["dim"])},
    "center_crop": lambda p, t: {"out": F.center_crop(t["input"], pair(p["size"]))},
    "batch_norm": _batch_norm,
    "bce_with_logits": lambda p, t: {"out": F.binary_cross_entropy_with_logits(
        t["input"], t["target"])},
}


def as_numpy(value: Any) -> np.ndarray:
    """A host NumPy array from a Tensor or a NumPy/CuPy array."""
    return value.numpy() if isinstance(value, mt.Tensor) else backend.to_numpy(value)


def grad_of(tensor: mt.Tensor, label: str) -> np.ndarray:
    if tensor.grad is None:
        raise AssertionError(f"{label}: no gradient reached this input (grad is None)")
    return tensor.grad.numpy()


def run_engine(family: str, case: Case, device: str) -> dict[str, np.ndarray]:
    """Forward `case` through the engine, backward from its grad_out; the resulting fields."""
    params = case["params"]
    needs_grad = [n for n in params["inputs"] if f"grad_{n}" in case]
    tensors = {n: mt.tensor(case[n], requires_grad=n in needs_grad, device=device)
               for n in params["inputs"]}
    outputs = ENGINE_OPS[family](params, tensors)
    outputs["out"].backward(mt.tensor(case["grad_out"], device=device))
    result = {field: as_numpy(value) for field, value in outputs.items()}
    result.update({f"grad_{n}": grad_of(tensors[n], f"grad_{n}") for n in needs_grad})
    return result


def build_module(params: dict[str, Any]) -> Any:
    """The engine module a modules.npz case describes, e.g. ``nn.Conv2d(1, 32, 3, padding=1)``."""
    kwargs = {k: pair(v) for k, v in params["kwargs"].items()}
    return getattr(nn, params["module"])(*params["args"], **kwargs)


def run_module(case: Case, device: str) -> dict[str, np.ndarray]:
    """Load the case's torch state into our module, forward, backward; the resulting fields."""
    params = case["params"]
    module = build_module(params)
    module.load_state_dict(case.get("state", {}))
    module.train(params["training"])
    if device != "cpu":
        module.to(device)
    x = mt.tensor(case["input"], requires_grad=True, device=device)
    out = module(x)
    out.backward(mt.tensor(case["grad_out"], device=device))
    result = {"out": out.numpy(), "grad_input": grad_of(x, "grad_input")}
    for name in params["parameters"]:
        result[f"grad_{name}"] = grad_of(getattr(module, name), f"grad_{name}")
    if "state_after" in case:
        result.update({f"state_after/{k}": as_numpy(v) for k, v in module.state_dict().items()})
    return result


def compare_fields(label: str, result: dict[str, np.ndarray], expected: dict[str, Any]) -> None:
    """Compare every expected field; one AssertionError listing all the fields that differ."""
    errors = []
    for field, want in expected.items():
        if field not in result:
            errors.append(f"{label}: {field}: missing from the engine's results")
            continue
        got = result[field]
        if want.dtype.kind == "f" and got.dtype != want.dtype:
            errors.append(f"{label}: {field}: dtype {got.dtype}, expected {want.dtype}")
        try:
            assert_close(got, want, case=label, field=field)
        except AssertionError as err:
            errors.append(str(err))
    if errors:
        raise AssertionError("\n".join(errors))
