"""Write the PyTorch reference outputs that the engine is tested against.

    python data/reference/make_reference.py

rewrites every ``data/reference/<family>.npz`` (see README.md beside this file). PyTorch
on the CPU is the oracle. Each case's inputs are float32 arrays drawn from a generator
seeded by the case's name; PyTorch computes the outputs and gradients in float64 from
those exact values, and they are stored rounded to float32. PyTorch's own float32 run of
the same case must land within the float32 tolerance of that reference, or the script
stops: that proves the tolerance is one a correct float32 implementation meets.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import os
import tempfile
import warnings
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent

# The tolerances and index decoding live in the package's reference module; it is loaded
# from its file so that generating references never imports the engine under test.
_spec = importlib.util.spec_from_file_location(
    "_reference", HERE.parents[1] / "minitorch_unet" / "reference.py")
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)

Arrays = dict[str, np.ndarray]
OpFn = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]


def rng_for(family: str, case: str) -> np.random.Generator:
    """A generator seeded by the case's name: adding a case changes no other case."""
    return np.random.default_rng(zlib.crc32(f"{family}/{case}".encode()))


def tag(value: Any) -> str:
    """A case-name fragment: 3 -> "3", (3, 5) -> "3x5", "same" -> "same"."""
    if isinstance(value, (tuple, list)):
        return "x".join(str(v) for v in value)
    return str(value)


def dims(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape) if shape else "0d"


class Family:
    """The cases of one npz file."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.arrays: Arrays = {}

    def rng(self, case: str) -> np.random.Generator:
        return rng_for(self.name, case)

    def add(self, case: str, params: dict[str, Any], inputs: Arrays, fn: OpFn,
            grads: list[str]) -> None:
        """Run `fn` on `inputs` in float64 and float32, backward from a random upstream
        gradient, and store inputs, params, outputs and the gradients of `grads`.

        `fn` returns a dict of tensors; ``"out"`` is the one backward starts from, the
        others (max indices, updated running statistics) are stored as they are.
        """
        assert "/" not in case and f"{case}/params" not in self.arrays, case
        params = {**params, "inputs": list(inputs)}
        rng = self.rng(case + "/grad_out")
        ref = run(fn, inputs, grads, torch.float64, None, rng)
        check = run(fn, inputs, grads, torch.float32, ref["grad_out"], rng)
        for field, value in ref.items():
            if field != "grad_out" and value.dtype.kind == "f":
                reference.assert_close(check[field], value.astype(np.float32),
                                       case=f"{self.name}/{case} (torch float32)", field=field)
            elif field != "grad_out":
                np.testing.assert_array_equal(check[field], value, err_msg=f"{case}/{field}")
        self.store(case, params, inputs, ref)

    def store(self, case: str, params: dict[str, Any], inputs: Arrays, outputs: Arrays) -> None:
        self.arrays[f"{case}/params"] = np.array(json.dumps(params))
        for field, value in {**inputs, **outputs}.items():
            if value.dtype == np.float64:
                value = value.astype(np.float32)
            self.arrays[f"{case}/{field}"] = value

    def write(self) -> Path:
        """Write ``<name>.npz`` atomically: a temporary file, then a rename over the old."""
        path = HERE / f"{self.name}.npz"
        fd, tmp = tempfile.mkstemp(dir=HERE, prefix=f".{self.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, **self.arrays)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        return path


def run(fn: OpFn, inputs: Arrays, grads: list[str], dtype: torch.dtype,
        grad_out: np.ndarray | None, rng: np.random.Generator) -> Arrays:
    """One forward and backward pass of `fn` in `dtype`; a fresh random grad_out if None."""
    tensors = {}
    for name, value in inputs.items():
        t = torch.from_numpy(value.copy())
        if t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t.requires_grad_(name in grads)
    outputs = fn(tensors)
    out = outputs["out"]
    if grad_out is None:
        grad_out = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(torch.from_numpy(grad_out.copy()).to(dtype))
    result = {field: t.detach().numpy().copy() for field, t in outputs.items()}
    result["grad_out"] = grad_out
    for name in grads:
        result[f"grad_{name}"] = tensors[name].grad.numpy().copy()
    return result


def normal(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0,
           shift: float = 0.0) -> np.ndarray:
    return np.asarray(rng.standard_normal(shape) * scale + shift, dtype=np.float32)


def uniform(rng: np.random.Generator, shape: tuple[int, ...], low: float,
            high: float) -> np.ndarray:
    return np.asarray(rng.uniform(low, high, shape), dtype=np.float32)


# ---- elementwise ----------------------------------------------------------------------
BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}


def elementwise() -> Family:
    fam = Family("elementwise")
    pairs = [((3, 1, 5), (4, 5)), ((2, 3), (2, 3)), ((4, 5), (3, 1, 5)), ((2, 1), (1, 3)),
             ((5,), (2, 3, 5)), ((2, 3, 4), ()), ((1,), (3, 2))]
    for op, fn in BINARY.items():
        for sa, sb in pairs:
            case = f"{op}_{dims(sa)}_{dims(sb)}"
            rng = fam.rng(case)
            a = normal(rng, sa)
            # Divisors are kept away from zero so the quotient and its gradient stay O(1).
            b = np.asarray(uniform(rng, sb, 0.5, 2.0) * rng.choice([-1, 1], sb), np.float32) \
                if op == "div" else normal(rng, sb)
            fam.add(case, {"op": op}, {"a": a, "b": b},
                    lambda t, fn=fn: {"out": fn(t["a"], t["b"])}, ["a", "b"])
    # A Python number on either side: ``a + 2.5`` and ``2.5 + a`` (radd, rsub, rmul, rdiv).
    scalar_ops = {
        "add": lambda a, s: a + s, "sub": lambda a, s: a - s,
        "mul": lambda a, s: a * s, "div": lambda a, s: a / s,
        "radd": lambda a, s: s + a, "rsub": lambda a, s: s - a,
        "rmul": lambda a, s: s * a, "rdiv": lambda a, s: s / a,
    }
    for op, fn in scalar_ops.items():
        case = f"{op}_scalar_3x4"
        rng = fam.rng(case)
        a = uniform(rng, (3, 4), 0.5, 2.0) if op == "rdiv" else normal(rng, (3, 4))
        s = -1.75 if op in ("sub", "rmul") else 2.5
        fam.add(case, {"op": op, "scalar": s}, {"a": a},
                lambda t, fn=fn, s=s: {"out": fn(t["a"], s)}, ["a"])
    for form in ("operator", "method"):
        for p in (2.0, 3.0, 0.5, -1.5):
            case = f"pow_{form}_{tag(p).replace('.', 'p').replace('-', 'm')}_2x3x4"
            rng = fam.rng(case)
            a = uniform(rng, (2, 3, 4), 0.5, 2.0) if p != int(p) else normal(rng, (2, 3, 4))
            fn = (lambda t, p=p: {"out": t["a"] ** p}) if form == "operator" else \
                (lambda t, p=p: {"out": t["a"].pow(p)})
            fam.add(case, {"op": f"pow_{form}", "exponent": p}, {"a": a}, fn, ["a"])
    unary = {"neg": lambda a: -a, "exp": torch.exp, "log": torch.log}
    for op, fn in unary.items():
        for shape in ((3, 4), (2, 1, 5)):
            case = f"{op}_{dims(shape)}"
            rng = fam.rng(case)
            a = uniform(rng, shape, 0.2, 3.0) if op == "log" else normal(rng, shape)
            fam.add(case, {"op": op}, {"a": a}, lambda t, fn=fn: {"out": fn(t["a"])}, ["a"])
    return fam


# ---- reductions -----------------------------------------------------------------------
def reductions() -> Family:
    fam = Family("reductions")
    specs: list[tuple[str, tuple[int, ...], Any, bool]] = [
        ("sum", (3, 4, 5), None, False), ("sum", (3, 4, 5), 0, False),
        ("sum", (3, 4, 5), -1, True), ("sum", (3, 4, 5), [0, 2], False),
        ("sum", (2, 3, 4, 5), [-1, -3], True), ("sum", (7,), 0, False),
        ("sum", (1, 6), 0, True),
        ("mean", (3, 4, 5), None, False), ("mean", (3, 4, 5), 1, False),
        ("mean", (3, 4, 5), [1, 2], True), ("mean", (2, 3, 4, 5), -2, False),
        ("mean", (2, 3, 4, 5), [0, 2, 3], False),
        ("max", (4, 7), None, False), ("max", (3, 6, 5), 1, False),
        ("max", (3, 6, 5), -1, True), ("max", (1, 5), 0, False), ("max", (2, 3, 4, 5), 0, True),
    ]
    for op, shape, dim, keepdim in specs:
        dim_tag = "all" if dim is None else "d" + "_".join(tag(d).replace("-", "m")
                                                          for d in np.atleast_1d(dim))
        case = f"{op}_{dim_tag}{'_keepdim' if keepdim else ''}_{dims(shape)}"
        x = normal(fam.rng(case), shape)
        torch_dim = tuple(dim) if isinstance(dim, list) else dim
        if dim is None:
            params = {"op": op}
            fn = lambda t, op=op: {"out": getattr(t["x"], op)()}
        elif op == "max":
            params = {"op": op, "dim": dim, "keepdim": keepdim}

            def fn(t: dict[str, torch.Tensor], dim: Any = torch_dim,
                   keepdim: bool = keepdim) -> dict[str, torch.Tensor]:
                values, indices = t["x"].max(dim, keepdim)
                return {"out": values, "indices": indices}
        else:
            params = {"op": op, "dim": dim, "keepdim": keepdim}
            fn = lambda t, op=op, d=torch_dim, k=keepdim: {"out": getattr(t["x"], op)(d, k)}
        fam.add(case, params, {"x": x}, fn, ["x"])
    return fam


# ---- shape ops -------------------------------------------------------------------------
def describe(op: str, params: dict[str, Any]) -> str:
    """A case-name fragment for a shape op: ``to_5xm1``, ``0_2``, ``all_1to3_by2``."""
    def num(v: int | None) -> str:
        return "" if v is None else tag(v).replace("-", "m")

    if op == "reshape":
        return "to_" + "x".join(num(s) for s in params["shape"])
    if op == "transpose":
        return f"{num(params['dim0'])}_{num(params['dim1'])}"
    if op == "permute":
        return "_".join(num(d) for d in params["dims"])
    parts = []
    for item in params["index"]:
        if item is None:
            parts.append("new")
        elif item == "...":
            parts.append("ell")
        elif isinstance(item, list):
            start, stop, step = item
            text = "all" if start is None and stop is None else f"{num(start)}to{num(stop)}"
            parts.append(text + (f"by{step}" if step else ""))
        else:
            parts.append(num(item))
    return "_".join(parts)


def shape_ops() -> Family:
    fam = Family("shape")
    specs: list[tuple[str, tuple[int, ...], dict[str, Any]]] = [
        ("reshape", (3, 4, 5), {"shape": [12, 5]}),
        ("reshape", (3, 4, 5), {"shape": [5, -1]}),
        ("reshape", (2, 3), {"shape": [6]}),
        ("reshape", (6,), {"shape": [1, 2, 1, 3]}),
        ("transpose", (3, 4, 5), {"dim0": 0, "dim1": 2}),
        ("transpose", (2, 3, 4, 5), {"dim0": -1, "dim1": -2}),
        ("transpose", (4, 6), {"dim0": 1, "dim1": 0}),
        ("permute", (3, 4, 5), {"dims": [2, 0, 1]}),
        ("permute", (2, 3, 4, 5), {"dims": [0, 2, 3, 1]}),
        ("permute", (2, 3, 4, 5), {"dims": [3, 1, 0, 2]}),
        ("getitem", (4, 5, 6), {"index": [1]}),
        ("getitem", (4, 5, 6), {"index": [-1]}),
        ("getitem", (4, 5, 6), {"index": [[None, None, None], [1, 3, None]]}),
        ("getitem", (4, 5, 6), {"index": ["...", [None, None, 2]]}),
        ("getitem", (4, 5, 6), {"index": [None, 0]}),
        ("getitem", (4, 5, 6), {"index": [[1, None, None], None, -1]}),
        ("getitem", (4, 5, 6), {"index": [[None, None, None], [None, None, 3], 1]}),
        ("getitem", (4, 5, 6), {"index": [[1, 4, 2], "...", [-3, None, None]]}),
        ("getitem", (2, 3, 8, 8), {"index": ["...", [1, 7, None], [2, 6, None]]}),
    ]
    for op, shape, params in specs:
        case = f"{op}_{describe(op, params)}_{dims(shape)}"
        x = normal(fam.rng(case), shape)
        if op == "reshape":
            fn = lambda t, s=params["shape"]: {"out": t["x"].reshape(*s)}
        elif op == "transpose":
            fn = lambda t, p=params: {"out": t["x"].transpose(p["dim0"], p["dim1"])}
        elif op == "permute":
            fn = lambda t, d=params["dims"]: {"out": t["x"].permute(*d)}
        else:
            fn = lambda t, i=reference.decode_index(params["index"]): {"out": t["x"][i]}
        fam.add(case, {"op": op, **params}, {"x": x}, fn, ["x"])
    return fam


# ---- matmul ----------------------------------------------------------------------------
def matmul() -> Family:
    fam = Family("matmul")
    pairs = [((3, 4), (4, 5)), ((1, 6), (6, 1)), ((5, 1), (1, 3)), ((2, 3, 4), (2, 4, 5)),
             ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2))]
    for form in ("operator", "function"):
        for sa, sb in pairs:
            case = f"matmul_{form}_{dims(sa)}_{dims(sb)}"
            rng = fam.rng(case)
            a, b = normal(rng, sa), normal(rng, sb, 1 / np.sqrt(sa[-1]))
            fam.add(case, {"op": f"matmul_{form}"}, {"a": a, "b": b},
                    lambda t: {"out": t["a"] @ t["b"]}, ["a", "b"])
    return fam


# ---- activations ------------------------------------------------------------------------
def activations() -> Family:
    fam = Family("activations")
    for op in ("relu", "sigmoid", "tanh"):
        for form in ("method", "functional"):
            for shape, scale in (((2, 3, 4), 2.0), ((1, 1, 5, 7), 2.0), ((40,), 20.0)):
                wide = "_wide" if scale > 2 else ""
                case = f"{op}_{form}{wide}_{dims(shape)}"
                x = normal(fam.rng(case), shape, scale)
                fam.add(case, {"op": op, "form": form}, {"x": x},
                        lambda t, op=op: {"out": getattr(torch, op)(t["x"])}, ["x"])
    return fam


# ---- conv2d ------------------------------------------------------------------------------
def conv2d() -> Family:
    fam = Family("conv2d")
    # (n, c_in, c_out, h, w, kernel, stride, padding, bias, name prefix)
    specs: list[tuple[int, int, int, int, int, Any, Any, Any, bool, str]] = [
        (2, 3, 5, 9, 11, 3, 1, 1, True, ""),
        (1, 1, 1, 7, 7, 3, 1, 0, True, ""),
        (2, 2, 4, 9, 10, 3, 2, 1, True, ""),
        (1, 2, 3, 11, 8, 3, 3, 2, True, ""),
        (2, 3, 2, 8, 7, 2, 2, 0, True, ""),
        (1, 2, 3, 10, 10, 3, 2, 0, True, ""),
        (2, 2, 3, 8, 9, 5, 1, "same", True, ""),
        (1, 3, 2, 7, 6, 2, 1, "same", True, ""),
        (1, 2, 2, 6, 9, 4, 1, "same", False, ""),
        (2, 3, 4, 7, 8, 3, 1, "valid", True, ""),
        (1, 2, 3, 8, 9, (3, 5), (2, 1), (1, 2), True, ""),
        (2, 3, 2, 9, 7, (2, 3), (1, 3), (0, 1), True, ""),
        (1, 2, 3, 7, 8, (2, 4), 2, 1, True, ""),  # non-square with int stride and padding
        (1, 4, 3, 6, 5, 1, 1, 0, False, ""),
        (2, 3, 5, 9, 11, 3, 1, 1, False, ""),
        (1, 2, 2, 5, 5, 5, 1, 2, True, ""),
        (1, 1, 3, 1, 1, 1, 1, 0, True, ""),
        (1, 1, 32, 8, 8, 3, 1, 1, True, "unet_in_"),
        (1, 32, 32, 6, 6, 3, 1, 1, True, "unet_mid_"),
        (1, 64, 32, 4, 4, 3, 1, 1, True, "unet_dec_"),
        (2, 32, 1, 6, 6, 1, 1, 0, True, "unet_head_"),
    ]
    for n, cin, cout, h, w, k, s, p, bias, prefix in specs:
        case = (f"{prefix}k{tag(k)}_s{tag(s)}_p{tag(p)}_n{n}_c{cin}x{cout}_{h}x{w}"
                f"{'' if bias else '_nobias'}")
        kh, kw = (k, k) if isinstance(k, int) else k
        bound = 1 / np.sqrt(cin * kh * kw)
        rng = fam.rng(case)
        inputs = {"input": normal(rng, (n, cin, h, w)),
                  "weight": uniform(rng, (cout, cin, kh, kw), -bound, bound)}
        if bias:
            inputs["bias"] = uniform(rng, (cout,), -bound, bound)
        params = {"op": "conv2d", "stride": s, "padding": p}
        fam.add(case, params, inputs,
                lambda t, s=s, p=p: {"out": F.conv2d(t["input"], t["weight"], t.get("bias"),
                                                     stride=s, padding=p)}, list(inputs))
    return fam


def conv_transpose2d() -> Family:
    fam = Family("conv_transpose2d")
    # (n, c_in, c_out, h, w, kernel, stride, padding, output_padding, bias, name prefix)
    specs: list[tuple[int, int, int, int, int, Any, Any, Any, Any, bool, str]] = [
        (2, 3, 2, 4, 5, 2, 2, 0, 0, True, ""),
        (1, 1, 1, 5, 5, 3, 1, 1, 0, True, ""),
        (2, 2, 3, 4, 3, 3, 1, 0, 0, True, ""),
        (1, 2, 3, 4, 5, 3, 2, 1, 0, True, ""),
        (2, 2, 3, 4, 5, 3, 2, 1, 1, True, ""),
        (1, 3, 2, 3, 4, 3, 3, 0, 0, True, ""),
        (1, 3, 2, 3, 4, 3, 3, 1, 1, True, ""),
        (1, 2, 2, 3, 3, 3, 3, 1, 2, True, ""),
        (1, 2, 3, 4, 4, 4, 2, 1, 0, False, ""),
        (2, 2, 3, 3, 5, (2, 3), (2, 3), (0, 1), (1, 0), True, ""),
        (1, 3, 2, 5, 4, (3, 2), (1, 2), (1, 0), 0, True, ""),
        (1, 4, 2, 3, 3, 1, 2, 0, 1, True, ""),
        (1, 2, 3, 5, 4, 5, 1, 2, 0, False, ""),
        (1, 64, 32, 3, 3, 2, 2, 0, 0, True, "unet_up_"),
        (2, 32, 16, 4, 4, 2, 2, 0, 0, True, "unet_up_"),
    ]
    for n, cin, cout, h, w, k, s, p, op, bias, prefix in specs:
        case = (f"{prefix}k{tag(k)}_s{tag(s)}_p{tag(p)}_op{tag(op)}_n{n}_c{cin}x{cout}_{h}x{w}"
                f"{'' if bias else '_nobias'}")
        kh, kw = (k, k) if isinstance(k, int) else k
        bound = 1 / np.sqrt(cout * kh * kw)
        rng = fam.rng(case)
        inputs = {"input": normal(rng, (n, cin, h, w)),
                  "weight": uniform(rng, (cin, cout, kh, kw), -bound, bound)}
        if bias:
            inputs["bias"] = uniform(rng, (cout,), -bound, bound)
        params = {"op": "conv_transpose2d", "stride": s, "padding": p, "output_padding": op}
        fam.add(case, params, inputs,
                lambda t, s=s, p=p, op=op: {"out": F.conv_transpose2d(
                    t["input"], t["weight"], t.get("bias"), stride=s, padding=p,
                    output_padding=op)}, list(inputs))
    return fam


def max_pool2d() -> Family:
    fam = Family("max_pool2d")
    # (n, c, h, w, kernel, stride, padding, input kind)
    specs: list[tuple[int, int, int, int, Any, Any, Any, str]] = [
        (2, 3, 8, 8, 2, None, 0, "normal"),
        (1, 1, 7, 9, 2, None, 0, "normal"),
        (2, 2, 9, 7, 3, 2, 1, "normal"),
        (1, 2, 6, 7, 3, 2, 1, "negative"),
        (1, 3, 7, 7, 3, 1, 1, "negative"),
        (2, 2, 9, 10, 3, None, 0, "normal"),
        (1, 2, 6, 8, 2, 1, 0, "normal"),
        (1, 2, 8, 9, (2, 3), (2, 1), (1, 1), "negative"),
        (2, 1, 10, 7, 3, 3, 1, "normal"),
        (1, 32, 6, 6, 2, None, 0, "normal"),
        (1, 2, 6, 6, 2, None, 0, "ties"),
        (1, 2, 6, 6, 3, 1, 0, "ties"),
        (2, 2, 7, 8, (2, 3), (2, 2), (0, 1), "negative"),
        (1, 3, 8, 7, (3, 2), (1, 2), (1, 0), "normal"),
    ]
    for n, c, h, w, k, s, p, kind in specs:
        case = f"k{tag(k)}_s{tag(s if s is not None else 'none')}_p{tag(p)}_n{n}_c{c}_{h}x{w}" \
               f"{'' if kind == 'normal' else '_' + kind}"
        rng = fam.rng(case)
        # Random floats have no ties inside a window, so the gradient's route is unique;
        # all-negative inputs catch padding with zeros instead of -inf; small integers make
        # ties, where PyTorch routes the gradient to the first maximum of each window.
        if kind == "ties":
            x = rng.integers(0, 3, (n, c, h, w)).astype(np.float64)
        elif kind == "negative":
            x = -np.abs(normal(rng, (n, c, h, w))) - 0.5
        else:
            x = normal(rng, (n, c, h, w))
        params = {"op": "max_pool2d", "kernel_size": k, "stride": s, "padding": p}
        fam.add(case, params, {"input": x.astype(np.float32)},
                lambda t, k=k, s=s, p=p: {"out": F.max_pool2d(t["input"], k, s, p)}, ["input"])
    return fam


def cat() -> Family:
    fam = Family("cat")
    specs: list[tuple[str, list[tuple[int, ...]], int]] = [
        ("cat", [(2, 3, 4), (1, 3, 4)], 0),
        ("cat", [(2, 1, 4), (2, 3, 4), (2, 2, 4)], 1),
        ("cat", [(2, 3, 1), (2, 3, 4), (2, 3, 2)], -1),
        ("cat", [(3,), (5,)], 0),
        ("cat", [(1, 4, 6, 6), (1, 3, 6, 6)], 1),
        ("cat", [(2, 2, 3, 5), (2, 2, 3, 5)], -3),
        ("functional_cat", [(2, 3), (2, 2), (2, 1)], 1),
        ("functional_cat", [(1, 2, 4, 4), (1, 5, 4, 4)], 1),
    ]
    for op, shapes, dim in specs:
        case = f"{op}_d{tag(dim).replace('-', 'm')}_" + "_".join(dims(s) for s in shapes)
        rng = fam.rng(case)
        inputs = {f"x{i}": normal(rng, s) for i, s in enumerate(shapes)}
        fam.add(case, {"op": op, "dim": dim}, inputs,
                lambda t, dim=dim: {"out": torch.cat(list(t.values()), dim=dim)}, list(inputs))
    return fam


def center_crop() -> Family:
    fam = Family("center_crop")
    specs: list[tuple[tuple[int, ...], Any]] = [
        ((1, 2, 8, 8), 4), ((2, 3, 9, 9), 6), ((1, 2, 7, 10), [4, 5]), ((2, 1, 6, 6), 6),
        ((1, 2, 11, 8), [8, 8]), ((3, 9, 7), [4, 6]), ((1, 4, 10, 10), [7, 3]),
        ((2, 2, 5, 6), 1),
    ]
    for shape, size in specs:
        case = f"{dims(shape)}_to_{tag(size)}"
        x = normal(fam.rng(case), shape)
        h, w = (size, size) if isinstance(size, int) else size
        top, left = (shape[-2] - h) // 2, (shape[-1] - w) // 2
        # The oracle is plain slicing with top=(H-h)//2, left=(W-w)//2.
        fam.add(case, {"op": "center_crop", "size": size}, {"input": x},
                lambda t, top=top, left=left, h=h, w=w: {
                    "out": t["input"][..., top:top + h, left:left + w]}, ["input"])
    return fam


def batch_norm() -> Family:
    fam = Family("batch_norm")
    # (n, c, h, w, training, affine, momentum, eps, input mean, input std)
    specs: list[tuple[int, int, int, int, bool, bool, float, float, float, float]] = [
        (4, 3, 5, 6, True, True, 0.1, 1e-5, 0.0, 1.0),
        (1, 2, 3, 3, True, True, 0.1, 1e-5, 0.0, 1.0),
        (2, 3, 4, 4, True, False, 0.1, 1e-5, 0.0, 1.0),
        (3, 2, 4, 5, True, True, 0.3, 1e-3, 0.0, 1.0),
        (2, 4, 3, 5, True, True, 0.1, 1e-5, 5.0, 3.0),
        (2, 3, 4, 5, False, True, 0.1, 1e-5, 0.0, 1.0),
        (1, 2, 3, 4, False, False, 0.1, 1e-5, 0.0, 1.0),
        (2, 3, 3, 3, False, True, 0.1, 1e-3, 2.0, 2.0),
        (2, 32, 4, 4, True, True, 0.1, 1e-5, 0.0, 1.0),
    ]
    for n, c, h, w, training, affine, momentum, eps, mean, std in specs:
        case = (f"{'train' if training else 'eval'}_n{n}_c{c}_{h}x{w}"
                f"{'' if affine else '_noaffine'}_m{tag(momentum).replace('.', 'p')}"
                f"_eps{eps:.0e}{'_shifted' if mean else ''}")
        rng = fam.rng(case)
        inputs = {"input": normal(rng, (n, c, h, w), std, mean),
                  "running_mean": normal(rng, (c,), 0.5),
                  "running_var": uniform(rng, (c,), 0.5, 2.0)}
        if affine:
            inputs["weight"] = uniform(rng, (c,), 0.5, 1.5)
            inputs["bias"] = normal(rng, (c,), 0.5)
        params = {"op": "batch_norm", "training": training, "momentum": momentum, "eps": eps}

        def fn(t: dict[str, torch.Tensor], training: bool = training, momentum: float = momentum,
               eps: float = eps) -> dict[str, torch.Tensor]:
            out = F.batch_norm(t["input"], t["running_mean"], t["running_var"], t.get("weight"),
                               t.get("bias"), training=training, momentum=momentum, eps=eps)
            # The running statistics are updated in place in training; stored after the call.
            return {"out": out, "running_mean_out": t["running_mean"].clone(),
                    "running_var_out": t["running_var"].clone()}
        grads = ["input"] + (["weight", "bias"] if affine else [])
        fam.add(case, params, inputs, fn, grads)
    return fam


def bce_with_logits() -> Family:
    fam = Family("bce_with_logits")
    # (shape, logit scale, soft targets)
    specs: list[tuple[tuple[int, ...], float, bool]] = [
        ((4, 1, 5, 5), 3.0, False), ((3,), 1.0, False), ((2, 3, 4), 2.0, True),
        ((1, 1, 8, 8), 3.0, False), ((2, 10), 60.0, False), ((2, 10), 60.0, True),
    ]
    for shape, scale, soft in specs:
        case = f"{dims(shape)}_scale{tag(scale).replace('.', 'p')}_{'soft' if soft else 'binary'}"
        rng = fam.rng(case)
        logits = uniform(rng, shape, -scale, scale)
        target = uniform(rng, shape, 0, 1) if soft else rng.integers(0, 2, shape).astype(
            np.float32)
        fam.add(case, {"op": "binary_cross_entropy_with_logits"},
                {"input": logits, "target": target},
                lambda t: {"out": F.binary_cross_entropy_with_logits(t["input"], t["target"])},
                ["input"])
    return fam


# ---- modules ---------------------------------------------------------------------------
def modules() -> Family:
    fam = Family("modules")
    specs: list[tuple[str, str, list[Any], dict[str, Any], tuple[int, ...], bool]] = [
        ("conv_1x32_k3_p1", "Conv2d", [1, 32, 3], {"padding": 1}, (1, 1, 8, 8), True),
        ("conv_32x32_k3_p1", "Conv2d", [32, 32, 3], {"padding": 1}, (1, 32, 6, 6), True),
        ("conv_32x1_k1", "Conv2d", [32, 1, 1], {}, (2, 32, 4, 4), True),
        ("conv_3x5_k3_s2_nobias", "Conv2d", [3, 5, 3], {"stride": 2, "bias": False},
         (2, 3, 7, 8), True),
        ("convT_64x32_k2_s2", "ConvTranspose2d", [64, 32, 2], {"stride": 2}, (1, 64, 3, 3), True),
        ("convT_4x3_k3_s2_p1_op1", "ConvTranspose2d", [4, 3, 3],
         {"stride": 2, "padding": 1, "output_padding": 1}, (2, 4, 4, 5), True),
        ("convT_3x2_k2_s2_nobias", "ConvTranspose2d", [3, 2, 2], {"stride": 2, "bias": False},
         (1, 3, 3, 4), True),
        ("bn_32_train", "BatchNorm2d", [32], {}, (2, 32, 4, 4), True),
        ("bn_3_train", "BatchNorm2d", [3], {}, (4, 3, 5, 5), True),
        ("bn_8_eval", "BatchNorm2d", [8], {}, (2, 8, 3, 3), False),
        ("maxpool_k2", "MaxPool2d", [2], {}, (2, 3, 8, 8), True),
        ("maxpool_k3_s2_p1", "MaxPool2d", [3], {"stride": 2, "padding": 1}, (1, 2, 7, 7), True),
    ]
    for case, kind, args, kwargs, shape, training in specs:
        rng = fam.rng(case)
        torch.manual_seed(zlib.crc32(case.encode()))
        module = getattr(nn, kind)(*args, **kwargs).train(training)
        if kind == "BatchNorm2d":
            # The defaults (ones, zeros) would hide mistakes: use random affine parameters
            # and running statistics.
            c = args[0]
            with torch.no_grad():
                module.weight.copy_(torch.from_numpy(uniform(rng, (c,), 0.5, 1.5)))
                module.bias.copy_(torch.from_numpy(normal(rng, (c,), 0.5)))
                module.running_mean.copy_(torch.from_numpy(normal(rng, (c,), 0.5)))
                module.running_var.copy_(torch.from_numpy(uniform(rng, (c,), 0.5, 2.0)))
                module.num_batches_tracked.fill_(3)
        state = {k: v.numpy().copy() for k, v in module.state_dict().items()}
        x = normal(rng, shape)
        names = [name for name, _ in module.named_parameters()]
        runs = {}
        for dtype in (torch.float64, torch.float32):
            m = copy.deepcopy(module).to(dtype)
            inp = torch.from_numpy(x).to(dtype).requires_grad_()
            out = m(inp)
            if dtype == torch.float64:
                grad_out = rng.standard_normal(out.shape).astype(np.float32)
            out.backward(torch.from_numpy(grad_out).to(dtype))
            result = {"out": out.detach().numpy(), "grad_input": inp.grad.numpy()}
            result.update({f"grad_{n}": p.grad.numpy() for n, p in m.named_parameters()})
            result.update({f"state_after/{k}": v.numpy().copy()
                           for k, v in m.state_dict().items()})
            runs[dtype] = result
        for field, value in runs[torch.float64].items():
            reference.assert_close(runs[torch.float32][field], value,
                                   case=f"modules/{case} (torch float32)", field=field,
                                   **reference.TOLERANCES["float32"])
        params = {"module": kind, "args": args, "kwargs": kwargs, "training": training,
                  "parameters": names}
        outputs = {**runs[torch.float64], "grad_out": grad_out,
                   "state_keys": np.array(list(state), dtype=np.str_)}
        outputs.update({f"state/{k}": v for k, v in state.items()})
        if kind != "BatchNorm2d" or not training:
            outputs = {k: v for k, v in outputs.items() if not k.startswith("state_after/")}
        fam.store(case, params, {"input": x}, outputs)
    return fam


FAMILIES = [elementwise, reductions, shape_ops, matmul, activations, conv2d, conv_transpose2d,
            max_pool2d, cat, center_crop, batch_norm, bce_with_logits, modules]


def main() -> None:
    torch.use_deterministic_algorithms(True)
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
    total = 0
    for make in FAMILIES:
        fam = make()
        path = fam.write()
        n_cases = sum(k.endswith("/params") for k in fam.arrays)
        total += path.stat().st_size
        print(f"{path.name:24s} {n_cases:3d} cases {path.stat().st_size / 1024:8.1f} KiB")
    print(f"{'total':24s} {total / 1024:16.1f} KiB")


if __name__ == "__main__":
    main()
