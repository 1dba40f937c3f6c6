"""Probe inputs drawn fresh for each grading run, and their expected outputs.

The shipped reference cases (``data/reference/*.npz``, see :mod:`minitorch_unet.reference`)
are public: a notebook could look their outputs up instead of computing them. So each
run, in the judge, every case whose op the engine can replay gets new inputs: each float
input (``grad_out`` too) goes through a secret, strictly increasing, odd map
``x -> x (a + b x^2)`` (signs, order and ties are kept, so a max-pool case with ties still
has them), drawn from a per-run secret. The expected outputs of the new inputs are
computed by the engine's own op in float64 (:func:`replay`), which is first required to
reproduce the case's shipped PyTorch outputs from the shipped inputs within the float32
tolerance; a case it cannot replay exactly keeps its shipped values, and the report says
how many did.

Two trees are written: the judge's (inputs and outputs) and the learners' (inputs and
parameters only). Inputs that are all in [0, 1] (masks, probabilities) and integer arrays
are kept as they are.
"""
from __future__ import annotations

import json
import operator
import secrets
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from ..reference import TOLERANCES, Case, load_cases, mismatch

Arrays = dict[str, np.ndarray]
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "matmul_operator": operator.matmul}


def _op(params: dict[str, Any]) -> Callable[..., Tensor] | None:
    name = params.get("op")
    if name in _OPERATORS and "scalar" not in params:
        return _OPERATORS[name]
    if name == "cat":
        return lambda *tensors, dim: F.cat(list(tensors), dim=dim)
    fn = getattr(F, str(name), None)
    return fn if callable(fn) and name not in ("batch_norm", "dropout") else None


def replay(case: Case) -> Arrays | None:
    """The case's outputs (``out`` and ``grad_<input>``) by the engine's op in float64, from
    its inputs and ``grad_out``; None if the engine has no such op."""
    params = case["params"]
    op = _op(params)
    if op is None or "grad_out" not in case:
        return None
    kwargs = {k: v for k, v in params.items() if k not in ("op", "inputs", "form")}
    tensors = {name: Tensor(case[name].astype(np.float64), requires_grad=True)
               for name in params["inputs"] if name in case}
    out = op(*tensors.values(), **kwargs)
    out.backward(Tensor(case["grad_out"].astype(np.float64)))
    result = {"out": np.asarray(out.data)}
    result.update({f"grad_{name}": np.asarray(t.grad.data if isinstance(t.grad, Tensor) else t.grad)
                   for name, t in tensors.items() if t.grad is not None})
    return result


def _outputs(case: Case) -> list[str]:
    """The case's fields that are results, not inputs."""
    inputs = set(case["params"]["inputs"]) | {"grad_out", "params"}
    return [field for field in case if field not in inputs]


def _reproduces(case: Case) -> bool:
    try:
        replayed = replay(case)
    except Exception:  # an op the engine spells differently: keep the shipped case
        return False
    if replayed is None or set(_outputs(case)) - set(replayed):
        return False
    return all(replayed[f].shape == case[f].shape and mismatch(
        replayed[f], case[f].astype(np.float64), **TOLERANCES["float32"]) is None
        for f in _outputs(case))


def _remap(value: np.ndarray, a: float, b: float) -> np.ndarray:
    if value.dtype.kind != "f" or value.size == 0 or ((value >= 0) & (value <= 1)).all():
        return value
    x = value.astype(np.float64)
    return (x * (a + b * x * x)).astype(value.dtype)


def _fresh(case: Case, rng: np.random.Generator) -> Case | None:
    """The case with remapped inputs and replayed outputs, or None to keep it as shipped."""
    if not _reproduces(case):
        return None
    a, b = rng.uniform(0.8, 1.25), rng.uniform(0.02, 0.1)
    fresh = dict(case)
    for name in [*case["params"]["inputs"], "grad_out"]:
        if isinstance(case.get(name), np.ndarray):
            fresh[name] = _remap(case[name], a, b)
    replayed = replay(fresh)
    assert replayed is not None
    for field in _outputs(case):
        fresh[field] = replayed[field].astype(case[field].dtype)
    return fresh


def _arrays(name: str, case: Case, fields: list[str]) -> Arrays:
    stored = {f"{name}/params": np.array(json.dumps(case["params"]))} if "params" in case else {}
    stored.update({f"{name}/{field}": case[field] for field in fields})
    return stored


def write(reference_dir: Path, judge_dir: Path, learner_dir: Path,
          seed: int | None = None) -> tuple[int, int]:
    """Write every family of `reference_dir` with fresh cases: whole into `judge_dir`,
    inputs only into `learner_dir` -> (fresh cases, cases in all)."""
    rng = np.random.default_rng(secrets.randbits(128) if seed is None else seed)
    judge_dir.mkdir(parents=True, exist_ok=True)
    learner_dir.mkdir(parents=True, exist_ok=True)
    fresh_count = total = 0
    for path in sorted(reference_dir.glob("*.npz")):
        whole: Arrays = {}
        inputs: Arrays = {}
        cases = load_cases_from(path)
        for name, case in cases.items():
            total += 1
            fresh = _fresh(case, rng) if _is_flat(case) else None
            fresh_count += fresh is not None
            case = fresh or case
            fields = [f for f in case if f != "params"]
            whole.update(_arrays(name, case, fields))
            shown = [f for f in fields if f not in _outputs(case)] if fresh else fields
            inputs.update(_arrays(name, case, shown))
        np.savez(judge_dir / path.name, **whole)
        np.savez(learner_dir / path.name, **inputs)
    return fresh_count, total


def _is_flat(case: Case) -> bool:
    """Only cases that list their inputs and whose fields are all arrays (no ``state/...``
    groups) are replayed."""
    return "inputs" in case.get("params", {}) and all(
        isinstance(v, np.ndarray) for k, v in case.items() if k != "params")


def load_cases_from(path: Path) -> dict[str, Case]:
    """:func:`minitorch_unet.reference.load_cases` of one file, wherever it is."""
    from .. import reference
    saved = reference.REFERENCE_DIR
    reference.REFERENCE_DIR = path.parent
    try:
        return load_cases(path.stem)
    finally:
        reference.REFERENCE_DIR = saved
