"""Checks of lesson 08 (losses): binary cross-entropy from logits, and the soft Dice loss.

BCE is checked against PyTorch (``data/reference/bce_with_logits.npz``: logits up to
±60, where a naive log(sigmoid) overflows), value and gradient. Soft Dice has no PyTorch
op; its verdict computes the value and the gradient in closed form with NumPy,

    L = 1 - (2 sum(p t) + s) / (sum(p) + sum(t) + s),   p = sigmoid(x)
    dL/dx_j = -(2 t_j (P + s) - (2 I + s)) / (P + s)^2 * p_j (1 - p_j),   P = sum(p) + sum(t),

and the probe adds central finite differences of the learner's own function, so that a
wrong gradient is told apart from a wrong value (a gradient check).
"""
from __future__ import annotations

import itertools
import re
from typing import Any, Callable

import numpy as np

from ..autograd import Tensor
from . import core
from .core import (EXERCISES, CheckFailed, Exercise, Outputs, describe_error, expect_close,
                   expect_shape, number_exercises, own_cases, register, value_pattern)
from .lesson00 import plain_error_hint
from .lesson03 import as_array, cases
from .lesson06 import course_call_hint

LESSON = "08_losses"
number_exercises(LESSON, ("bce_with_logits", "soft_dice_loss"))


def _scalar_result(name: str, call: str, out: Any) -> Tensor:
    """The learner's loss must be a one-element Tensor (so that backward() works)."""
    if not isinstance(out, Tensor):
        raise CheckFailed(f"{call} returned {type(out).__name__}; return a Tensor built from "
                          f"Tensor operations, so that autograd can differentiate {name}")
    if out.numel() != 1:
        raise CheckFailed(f"{call}: expected a single number (the mean over every pixel), got "
                          f"a tensor of shape {out.shape}")
    return out


# ---- binary cross-entropy from logits -----------------------------------------------------------
def _bce_call(case: dict) -> str:
    return f"bce_with_logits(logits {case['input'].shape}, target {case['target'].shape})"


# Logits beyond ±88, where exp overflows in float32: the loss has a closed form there.
EXTREME_LOGITS = np.array([[-100.0, -95.0, -89.5, 0.5], [89.5, 95.0, 100.0, -0.5]],
                          dtype=np.float32)
EXTREME_TARGET = np.array([[0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0]], dtype=np.float32)


def bce_closed_form(x: np.ndarray, t: np.ndarray) -> float:
    """The mean BCE of logits x and targets t, in float64 with the stable form."""
    x, t = x.astype(np.float64), t.astype(np.float64)
    return float((np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))).mean())


def numpy_on_tensor(err: BaseException) -> str:
    """A hint when the learner's failing line hands a Tensor to a NumPy function (np.maximum,
    np.log...), which cannot follow it; or ""."""
    frames = core._learner_frames(err.__traceback__)
    if not frames:
        return ""
    frame, lineno = frames[-1]
    line = core._source_line(frame, lineno)
    tensors = [name for name, value in frame.f_locals.items() if isinstance(value, Tensor)]
    if not re.search(r"\bnp\.\w+\(", line) or not any(re.search(rf"\b{n}\b", line)
                                                       for n in tensors):
        return ""
    return ("a NumPy function met the course's Tensor, which np.* cannot follow: use the "
            "Tensor's own operations (x.relu(), x.exp(), x.log(), x.sigmoid(), x.sum(), "
            "x.mean(), arithmetic); max(x, 0) is x.relu() and |x| is x.relu() + (-x).relu()")


def tensor_hints(grade_id: str, probe: Callable[[Callable[..., Any]], Outputs]
                 ) -> Callable[[Callable[..., Any]], Outputs]:
    """probe, with an error of the learner's that comes from a NumPy function given a Tensor
    named as such (instead of the error NumPy raised deep inside)."""
    def guarded(fn: Callable[..., Any]) -> Outputs:
        try:
            return probe(fn)
        except (CheckFailed, NotImplementedError, RecursionError):
            raise
        except Exception as err:
            hint = numpy_on_tensor(err)
            if not hint:
                raise
            raise CheckFailed(f"{describe_error(EXERCISES[grade_id], err).split('. ')[0]}. "
                              f"{hint}") from None
    return guarded


def tensor_call_hint(err: BaseException) -> str:
    """For an error raised inside a Tensor operation of a loss: that, and what it means."""
    return course_call_hint(err, "the Tensors it combines, or the dim given, do not fit it "
                                 "(compare the shapes on this line)") or plain_error_hint(err)


def _probe_bce(fn: Callable[..., Any]) -> Outputs:
    outputs: Outputs = {}
    out = _scalar_result("the loss", "bce_with_logits(logits (2, 4) up to ±100, target (2, 4))",
                         fn(Tensor(EXTREME_LOGITS.copy()), Tensor(EXTREME_TARGET.copy())))
    outputs["extreme/out"] = as_array(out).astype(np.float64).reshape(())
    for name, case in cases("bce_with_logits").items():
        x = Tensor(case["input"].copy(), requires_grad=True)
        out = _scalar_result("the loss", _bce_call(case), fn(x, Tensor(case["target"].copy())))
        outputs[f"{name}/out"] = as_array(out).reshape(())
        if out.requires_grad:
            out.backward(Tensor(np.asarray(case["grad_out"], dtype=out.dtype).reshape(out.shape)))
        if x.grad is not None:
            outputs[f"{name}/grad_input"] = as_array(x.grad)
    return outputs


def _bce_mistakes(case: dict) -> list[tuple[str, np.ndarray]]:
    x, t = case["input"].astype(np.float64), case["target"].astype(np.float64)
    stable = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
    return [("this is the sum over the pixels; the loss is their mean", stable.sum()),
            ("this sums over the pixels and averages over the batch only; the loss is the mean "
             "over every value", stable.sum() / x.shape[0]),
            ("the sign is flipped: BCE = -[t log p + (1 - t) log(1 - p)] is positive",
             -stable.mean()),
            ("the target enters with the wrong sign: the x * t term is subtracted "
             "(max(x, 0) - x t + log(1 + exp(-|x|)))",
             (np.maximum(x, 0) + x * t + np.log1p(np.exp(-np.abs(x)))).mean()),
            ("target and 1 - target are swapped: the x * t term takes the target itself",
             (np.maximum(x, 0) - x * (1 - t) + np.log1p(np.exp(-np.abs(x)))).mean()),
            ("this is the mean squared error of sigmoid(x) and t, not the cross-entropy",
             ((1 / (1 + np.exp(-x)) - t) ** 2).mean()),
            ("the log(1 + exp(-|x|)) term is missing",
             (np.maximum(x, 0) - x * t).mean()),
            ("the max(x, 0) term is missing: the stable form is max(x, 0) - x t + "
             "log(1 + exp(-|x|))", (np.log1p(np.exp(-np.abs(x))) - x * t).mean()),
            ("the last term is log(1 + exp(-x)); the stable form takes log(1 + exp(-|x|)) "
             "(with |x|): for negative x yours counts -x a second time",
             (np.maximum(x, 0) - x * t + np.logaddexp(0, -x)).mean()),
            ("the formula is applied to sigmoid(logits); it takes the logits themselves (its "
             "sigmoid is built in): drop the sigmoid", (lambda q: np.maximum(q, 0) - q * t
                                                        + np.log1p(np.exp(-np.abs(q))))(
                 1 / (1 + np.exp(-x))).mean()),
            ("the target went through a sigmoid; it is already 0/1: only the logits need one "
             "(and the formula has it built in)", (np.maximum(x, 0) - x / (1 + np.exp(-t))
                                                   + np.log1p(np.exp(-np.abs(x)))).mean()),
            ("the arguments are swapped: bce_with_logits(logits, target) takes the logits first "
             "and the 0/1 target second", (np.maximum(t, 0) - t * x
                                           + np.log1p(np.exp(-np.abs(t)))).mean()),
            ("only the tumour term -t log p is there: the background term -(1 - t) log(1 - p) "
             "is missing (BCE = -[t log p + (1 - t) log(1 - p)])",
             (t * np.logaddexp(0, -x)).mean()),
            ("only the background term -(1 - t) log(1 - p) is there: the tumour term -t log p "
             "is missing (BCE = -[t log p + (1 - t) log(1 - p)])",
             ((1 - t) * np.logaddexp(0, x)).mean())]


def class_mean_relation(got: dict[str, float]) -> str:
    """Name a BCE that averages the loss over one class of pixels (tumour t = 1, background
    t = 0), or weighs the two classes' means, in every case that has both; or ""."""
    rows, values = [], []
    for name, case in cases("bce_with_logits").items():
        x, t = case["input"].astype(np.float64), case["target"].astype(np.float64)
        if not 0 < t.sum() < t.size:
            continue
        loss = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
        rows.append(((loss * t).sum() / t.sum(), (loss * (1 - t)).sum() / (1 - t).sum(),
                     float(loss.mean())))
        values.append(got[name])
    if len(rows) < 3:
        return ""
    tumour, background, right = (np.array(c) for c in zip(*rows))
    got_ = np.array(values)
    close = dict(rtol=1e-4, atol=1e-6)
    for text, model in (("the mean over the tumour pixels only, sum(loss t) / sum(t)", tumour),
                        ("the mean over the background pixels only, sum(loss (1 - t)) / "
                         "sum(1 - t)", background),
                        ("the mean of the tumour pixels' mean loss and the background's (a "
                         "class-balanced BCE)", (tumour + background) / 2)):
        if not np.allclose(model, right, **close) and np.allclose(got_, model, **close):
            return f"your loss is {text}; the loss is the mean over every pixel, of both classes"
    (a, b), *_ = np.linalg.lstsq(np.stack([tumour, background], axis=1), got_, rcond=None)
    fitted = a * tumour + b * background
    if np.allclose(got_, fitted, **close) and not np.allclose(fitted, right, **close):
        return (f"your loss is {a:.4g} * (the mean over the tumour pixels) + {b:.4g} * (the mean "
                "over the background pixels), classes weighted apart; the loss is the plain "
                "mean over every pixel")
    return ""


def bce_relation(got: dict[str, float]) -> str:
    """What the wrong losses of all cases have in common: right only for moderate logits
    (an unstable form), or the sum divided by something else than the number of values."""
    names = list(cases("bce_with_logits"))
    right = {n: bool(np.isclose(got[n], cases("bce_with_logits")[n]["out"], rtol=1e-4, atol=1e-5))
             for n in names}
    large = {n: float(np.abs(cases("bce_with_logits")[n]["input"]).max()) > 20 for n in names}
    if all(right[n] or large[n] for n in names) and not all(right.values()):
        return ("right for moderate logits, wrong where they reach ±60: a clipped or naive "
                "log(sigmoid(x)) loses precision there. Use the stable form max(x, 0) - x t + "
                "log(1 + exp(-|x|)), which never takes the log of a rounded probability")
    why = class_mean_relation(got)
    if why:
        return why
    rules = (("the number of positive targets, sum(t)", None),
             ("the size of the last axis", lambda shape: shape[-1]),
             ("the size of the first axis (the batch)", lambda shape: shape[0]),
             ("the number of values per sample (every axis but the first)",
              lambda shape: int(np.prod(shape[1:]))))
    rules += tuple((f"the number of values outside the last {k} ax{'i' if k == 1 else 'e'}s "
                    f"(the last {k} summed, the others averaged)",
                    lambda shape, k=k: int(np.prod(shape[:-k]))) for k in (1, 2, 3))
    for text, divisor in rules:
        fits = []
        for n in names:
            x = cases("bce_with_logits")[n]["input"].astype(np.float64)
            t = cases("bce_with_logits")[n]["target"].astype(np.float64)
            total = (np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))).sum()
            count = t.sum() if divisor is None else divisor(x.shape)
            with np.errstate(divide="ignore", invalid="ignore"):
                fits.append(np.isclose(got[n], np.float64(total) / count, rtol=1e-4, atol=1e-5))
        if all(fits) and not all(right.values()):
            return (f"you divide the summed loss by {text}, not by the number of values: take "
                    "the mean over every value")
    return bce_grid(got)


# The three terms of max(x, 0) - x t + log(1 + exp(-|x|)) as a learner may write them; the
# first of each list is the right one.
_BCE_TERMS: tuple[tuple[tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]], ...], ...] = (
    (("max(x, 0)", lambda x, t: np.maximum(x, 0)), ("left out", lambda x, t: 0 * x),
     ("x", lambda x, t: x), ("|x|", lambda x, t: np.abs(x)),
     ("max(-x, 0)", lambda x, t: np.maximum(-x, 0)),
     ("- max(x, 0), subtracted where it is added", lambda x, t: -np.maximum(x, 0))),
    (("- x t", lambda x, t: -x * t), ("+ x t", lambda x, t: x * t),
     ("- 2 x t", lambda x, t: -2 * x * t),
     ("- x (1 - t)", lambda x, t: -x * (1 - t)), ("left out", lambda x, t: 0 * x),
     ("- x mean(t), the mean of the target where each pixel's own t belongs",
      lambda x, t: -x * t.mean()), ("- mean(x) t", lambda x, t: -x.mean() * t)),
    (("log(1 + exp(-|x|))", lambda x, t: np.logaddexp(0, -np.abs(x))),
     ("log(1 + exp(-x))", lambda x, t: np.logaddexp(0, -x)),
     ("log(1 + exp(x))", lambda x, t: np.logaddexp(0, x)),
     ("- log(1 + exp(-|x|)), subtracted where it is added",
      lambda x, t: -np.logaddexp(0, -np.abs(x))),
     ("log(1 + exp(-max(x, 0)))", lambda x, t: np.logaddexp(0, -np.maximum(x, 0))),
     ("log(1 + exp(-|x|)) without the 1, -|x|", lambda x, t: -np.abs(x)),
     ("1 + log(exp(-|x|)) = 1 - |x|: the log is taken before the 1 is added (brackets: "
      "(1 + exp(-|x|)).log())", lambda x, t: 1 - np.abs(x)),
     ("exp(-|x|), without the log", lambda x, t: np.exp(-np.abs(x))),
     ("t log(1 + exp(-|x|)), weighted by the target", lambda x, t: t * np.logaddexp(0, -np.abs(x))),
     ("(1 - t) log(1 + exp(-|x|)), weighted by 1 - target",
      lambda x, t: (1 - t) * np.logaddexp(0, -np.abs(x))),
     ("log(exp(-|x|)) = -|x|, without the 1", lambda x, t: -np.abs(x) + 0),
     ("left out", lambda x, t: 0 * x)),
)


def bce_grid(got: dict[str, float]) -> str:
    """Name the terms of the stable form that differ, if one or two changed terms give the
    learner's loss on every case; "" otherwise."""
    names = list(cases("bce_with_logits"))
    arrays = [(cases("bce_with_logits")[n]["input"].astype(np.float64),
               cases("bce_with_logits")[n]["target"].astype(np.float64)) for n in names]
    right = ("max(x, 0)", "- x t", "log(1 + exp(-|x|))")
    where = ("first", "middle", "last")
    readings = sorted(itertools.product(*_BCE_TERMS, itertools.product((False, True), repeat=3)),
                      key=lambda c: sum(text != good for (text, _), good in zip(c[:3], right))
                      + sum(c[3]))                          # the simplest reading first
    for choice in readings:
        summed = choice[3]
        differs = [text != good for (text, _), good in zip(choice[:3], right)]
        if not 0 < sum(differs) + sum(summed) <= 2 or all(summed):
            continue
        values = [sum(term(x, t).sum() if add else term(x, t).mean()
                      for (_, term), add in zip(choice[:3], summed)) for x, t in arrays]
        if np.allclose([got[n] for n in names], values, rtol=1e-4, atol=1e-5):
            parts = [f"the {where[i]} term is {choice[i][0]}, not {right[i]}"
                     if choice[i][0] != "left out" else
                     f"the {where[i]} term, {right[i]}, is missing"
                     for i in range(3) if differs[i]]
            parts += [f"the {where[i]} term is summed over the pixels while the others are "
                      "averaged: take the mean of every term" for i in range(3) if summed[i]]
            return "; ".join(parts) + \
                " (the stable form is max(x, 0) - x t + log(1 + exp(-|x|)))"
    return ""


def _verdict_bce(outputs: Outputs) -> None:
    for name, case in cases("bce_with_logits").items():
        call = _bce_call(case)
        got = outputs[f"{name}/out"]
        if not np.isfinite(got) and np.abs(case["input"]).max() < 20:
            ones, size = int((np.asarray(case["target"]) > 0.5).sum()), case["target"].size
            why = (f"the target has {ones} ones in {size}, so a division by a count of positives "
                   "or negatives (target.sum(), (1 - target).sum()) meets 0 here: the mean "
                   "divides by the number of entries" if ones in (0, size) else
                   "a log of 0 or a division by a sum that is 0")
            raise CheckFailed(f"{call}: the loss is {got} though the logits, up to "
                              f"{np.abs(case['input']).max():.2g}, cannot overflow: {why}")
        if not np.isfinite(got):
            raise CheckFailed(f"{call}: the loss is {got} for logits up to "
                              f"{np.abs(case['input']).max():.0f}: log(sigmoid(x)) or exp(-x) "
                              "overflows there. Use the stable form max(x, 0) - x t + "
                              "log(1 + exp(-|x|)), whose exp never sees a positive argument")
        if not np.allclose(got, case["out"], rtol=1e-4, atol=1e-5):
            for text, wrong in _bce_mistakes(case):
                if np.allclose(got, wrong, rtol=1e-4, atol=1e-5):
                    raise CheckFailed(f"{call}: wrong value {float(got):.6g} (expected "
                                      f"{float(case['out']):.6g}): {text}")
        if not np.allclose(got, case["out"], rtol=1e-4, atol=1e-5):
            why = bce_relation({n: float(outputs[f"{n}/out"]) for n in cases("bce_with_logits")})
            if why:
                raise CheckFailed(f"{call}: wrong value {float(got):.6g} (expected "
                                  f"{float(case['out']):.6g}): {why}")
        if not np.allclose(got, case["out"], rtol=1e-4, atol=1e-5):
            names = list(cases("bce_with_logits"))
            pattern = value_pattern(np.array([float(outputs[f"{n}/out"]) for n in names]),
                                    np.array([float(cases("bce_with_logits")[n]["out"]) for n in names]))
            if pattern:
                raise CheckFailed(f"{call}: wrong value {float(got):.6g} (expected "
                                  f"{float(case['out']):.6g}); over all {len(names)} cases, {pattern}")
        expect_close(f"{call}: the loss", got, case["out"])
        key = f"{name}/grad_input"
        if key not in outputs:
            raise CheckFailed(f"{call}: logits.grad is None after backward(): the loss is not "
                              "connected to the logits (did you compute with .data or NumPy?)")
        expect_close(f"{call}: gradient with respect to the logits", outputs[key],
                     case["grad_input"], hint="The gradient is (sigmoid(x) - t) / N times the "
                     "upstream gradient")
    got, want = float(outputs["extreme/out"]), bce_closed_form(EXTREME_LOGITS, EXTREME_TARGET)
    if not np.isclose(got, want, rtol=1e-4, atol=1e-5):
        raise CheckFailed(f"bce_with_logits(float32 logits up to ±100): the loss is {got:.6g}, "
                          f"expected {want:.6g}: exp(x) overflows in float32 beyond x = 88, so a "
                          "form that takes exp of a positive number, such as log(1 + exp(x)), "
                          "breaks there. Use the stable form max(x, 0) - x t + "
                          "log(1 + exp(-|x|)), whose exp never sees a positive argument")


register(Exercise(
    grade_id="check_bce_with_logits", lesson=LESSON, function="bce_with_logits",
    probe=tensor_hints("check_bce_with_logits", _probe_bce), verdict=_verdict_bce,
    success="bce_with_logits matches PyTorch (value and gradient), even for logits of ±60.",
    engine_ops=("minitorch_unet.functional.binary_cross_entropy_with_logits",
                "minitorch_unet.losses.BCEWithLogits", "minitorch_unet.losses.bce_loss",
                "minitorch_unet.losses.bce_dice_loss"), explain_error=tensor_call_hint))


# ---- soft Dice -------------------------------------------------------------------------------------
@own_cases(stream=8)
def _dice_cases(rng: np.random.Generator, fresh: bool
                ) -> list[tuple[str, np.ndarray, np.ndarray, float | None]]:
    """(description, logits, target, smooth or None for the default 1.0), float64."""
    mixed = rng.normal(0, 2, (2, 1, 4, 4))
    spots = (rng.random((2, 1, 4, 4)) < 0.3).astype(np.float64)
    uneven = np.zeros((3, 1, 3, 3))
    uneven[0, 0, :2, :2] = 1.0                       # one slice with tumour, two empty
    return [
        ("a batch of two 4x4 slices", mixed, spots, None),
        ("the same two slices", mixed, spots, 0.5),
        ("an empty target (no tumour) and mostly negative logits",
         rng.normal(-2, 1, (1, 1, 5, 5)), np.zeros((1, 1, 5, 5)), None),
        ("three slices, only the first with tumour", rng.normal(0, 1.5, (3, 1, 3, 3)), uneven,
         None),
        ("saturated logits of ±30", rng.choice([-30.0, 30.0], (1, 1, 3, 4)) + rng.normal(0, 1, (1, 1, 3, 4)),
         (rng.random((1, 1, 3, 4)) < 0.5).astype(np.float64), 2.0),
    ]


def _call(fn: Callable[..., Any], x: np.ndarray, t: np.ndarray, smooth: float | None,
          requires_grad: bool = False) -> tuple[Tensor, Any]:
    logits = Tensor(x.copy(), requires_grad=requires_grad)
    target = Tensor(t.copy())
    out = fn(logits, target) if smooth is None else fn(logits, target, smooth=smooth)
    return logits, out


def _dice_call(x: np.ndarray, smooth: float | None) -> str:
    return f"soft_dice_loss(logits {x.shape}, target {x.shape}" + \
        ("" if smooth is None else f", smooth={smooth}") + ")"


def _probe_dice(fn: Callable[..., Any]) -> Outputs:
    outputs: Outputs = {}
    eps = 1e-6
    for i, (_, x, t, smooth) in enumerate(_dice_cases()):
        logits, out = _call(fn, x, t, smooth, requires_grad=True)
        out = _scalar_result("the loss", _dice_call(x, smooth), out)
        outputs[f"{i}/out"] = as_array(out).astype(np.float64).reshape(())
        if out.requires_grad:
            out.backward()
        if logits.grad is not None:
            outputs[f"{i}/grad"] = as_array(logits.grad)
        numeric = np.zeros(x.size)
        for j in range(x.size):
            values = []
            for step in (eps, -eps):
                moved = x.copy().reshape(-1)
                moved[j] += step
                values.append(float(as_array(_call(fn, moved.reshape(x.shape), t, smooth)[1])))
            numeric[j] = (values[0] - values[1]) / (2 * eps)
        outputs[f"{i}/numeric_grad"] = numeric.reshape(x.shape)
    return outputs


def dice_value_and_grad(x: np.ndarray, t: np.ndarray, smooth: float) -> tuple[float, np.ndarray]:
    """The closed form: soft Dice loss over the whole batch and its gradient in the logits."""
    p = 1 / (1 + np.exp(-x))
    inter, total = (p * t).sum(), p.sum() + t.sum()
    loss = 1 - (2 * inter + smooth) / (total + smooth)
    d_p = -(2 * t * (total + smooth) - (2 * inter + smooth)) / (total + smooth) ** 2
    return float(loss), d_p * p * (1 - p)


def _dice_mistakes(x: np.ndarray, t: np.ndarray, smooth: float) -> list[tuple[str, float]]:
    p = 1 / (1 + np.exp(-x))
    axes = tuple(range(1, x.ndim))
    per_slice = 1 - (2 * (p * t).sum(axes) + smooth) / (p.sum(axes) + t.sum(axes) + smooth)
    value = dice_value_and_grad(x, t, smooth)[0]
    mistakes = [
        ("this is the Dice coefficient; the loss is 1 minus it", 1 - value),
        ("this is minus the Dice coefficient; the loss is 1 minus it", value - 1),
        ("this is 1 plus the Dice coefficient; the loss is 1 minus it", 2 - value),
        ("the probabilities are thresholded (p > 0.5); the soft loss uses p itself, which "
         "gives it a gradient", 1 - (2 * ((p > 0.5) * t).sum() + smooth)
         / ((p > 0.5).sum() + t.sum() + smooth)),
        ("the target went through a sigmoid too; it is already 0/1: only the logits need one",
         1 - (2 * (p / (1 + np.exp(-t))).sum() + smooth)
         / (p.sum() + (1 / (1 + np.exp(-t))).sum() + smooth)),
        ("the sigmoid is missing: the formula needs probabilities p = sigmoid(logits)",
         1 - (2 * (x * t).sum() + smooth) / (x.sum() + t.sum() + smooth)),
        ("smooth is ignored (or fixed at 1.0): add the function's `smooth` argument to the "
         "numerator and the denominator", dice_value_and_grad(x, t, 1.0)[0]),
        ("smooth is only added to the denominator; add it to the numerator too",
         1 - 2 * (p * t).sum() / (p.sum() + t.sum() + smooth)),
        ("smooth is only added to the numerator; add it to the denominator too",
         1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum())),
        ("the intersection is not doubled: Dice = (2 sum(p t) + s) / (sum(p) + sum(t) + s)",
         1 - ((p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)),
        ("this is the loss without smoothing: add the function's `smooth` argument to the "
         "numerator and the denominator", 1 - 2 * (p * t).sum() / (p.sum() + t.sum())),
        ("the denominator sums squares, sum(p**2) + sum(t**2) (V-Net's variant); the course's "
         "soft Dice sums p and t themselves",
         1 - (2 * (p * t).sum() + smooth) / ((p * p).sum() + (t * t).sum() + smooth)),
        ("this is the mean of the Dice losses of the tumour and of the background (a "
         "two-class Dice); the loss is the tumour's alone, with p = sigmoid(logits) and the "
         "target t", float(1 - ((2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)
                              + (2 * ((1 - p) * (1 - t)).sum() + smooth)
                              / ((1 - p).sum() + (1 - t).sum() + smooth)) / 2)),
        ("this is BCE plus the Dice loss (the combined segmentation loss); soft_dice_loss is "
         "the Dice loss alone", value + float((np.maximum(x, 0) - x * t
                                               + np.log1p(np.exp(-np.abs(x)))).mean())),
        ("this is the mean over the pixels of a Dice per pixel, (2 p t + s) / (p + t + s); sum "
         "the intersection and the sizes over every pixel first, then take one ratio",
         float(1 - ((2 * p * t + smooth) / (p + t + smooth)).mean())),
    ]
    if x.shape[0] > 1:
        mistakes.append(("this is the mean of one Dice loss per slice; the course's loss pools "
                         "every pixel of the batch into one ratio (sums over the whole tensor)",
                         float(per_slice.mean())))
        mistakes.append(("this is the sum of one Dice loss per slice; the course's loss pools "
                         "every pixel of the batch into one ratio (sums over the whole tensor)",
                         float(per_slice.sum())))
    for kept in itertools.chain.from_iterable(itertools.combinations(range(x.ndim), n)
                                              for n in range(1, x.ndim)):
        summed = tuple(a for a in range(x.ndim) if a not in kept)
        wide = tuple(a for a in summed if x.shape[a] > 1)
        if wide in (tuple(a for a in axes if x.shape[a] > 1), tuple(a for a in range(x.ndim)
                                                                    if x.shape[a] > 1)) or \
                all(x.shape[a] == 1 for a in kept):
            continue
        groups = 1 - (2 * (p * t).sum(summed) + smooth) / (p.sum(summed) + t.sum(summed) + smooth)
        mistakes.append((f"the sums run over axes {summed} only, one ratio per position of axes "
                         f"{kept}, then the mean; the course's loss sums over every axis into one "
                         "ratio", float(groups.mean())))
    return [(text, v) for text, v in mistakes if np.isfinite(v) and not np.isclose(v, value)]


# The parts of 1 - (2 I + s) / (P + T + s) as a learner may write them: (text, value) from
# (probabilities q, target t, smooth s); the first of each list is the right one.
_Part = tuple[str, Callable[[np.ndarray, np.ndarray], float]]
_PROBABILITIES = (("sigmoid(logits)", lambda x: 1 / (1 + np.exp(-x))),
                  ("1 - sigmoid(logits), the background's probability",
                   lambda x: 1 - 1 / (1 + np.exp(-x))),
                  ("the logits themselves (no sigmoid)", lambda x: x),
                  ("tanh(logits)", np.tanh), ("relu(logits)", lambda x: np.maximum(x, 0)),
                  ("sigmoid(sigmoid(logits)), the sigmoid applied twice",
                   lambda x: 1 / (1 + np.exp(-1 / (1 + np.exp(-x))))))
_INTERSECTIONS: tuple[_Part, ...] = (("sum(p t)", lambda q, t: (q * t).sum()),
                                     ("mean(p t)", lambda q, t: (q * t).mean()),
                                     ("sum(p p), p times itself where p times the target "
                                      "belongs", lambda q, t: (q * q).sum()),
                                     ("sum(t), the target alone", lambda q, t: t.sum()),
                                     ("sum(p), the prediction alone", lambda q, t: q.sum()),
                                     ("sum(min(p, t))", lambda q, t: np.minimum(q, t).sum()),
                                     ("sum(p) * sum(t), a product of sums where the sum of "
                                      "products belongs", lambda q, t: q.sum() * t.sum()),
                                     ("sum(logits t), the logits where p = sigmoid(logits) "
                                      "belongs", lambda q, t: np.nan),
                                     ("sum(p + t), a sum where the product p t belongs",
                                      lambda q, t: (q + t).sum()))
_PREDICTED: tuple[_Part, ...] = (("sum(p)", lambda q, t: q.sum()),
                                 ("mean(p)", lambda q, t: q.mean()),
                                 ("sum(p**2)", lambda q, t: (q * q).sum()), ("", lambda q, t: 0.0),
                                 ("sum(t)", lambda q, t: t.sum()),
                                 ("sum(p t)", lambda q, t: (q * t).sum()),
                                 ("sum(p) - sum(p t), the soft Jaccard (IoU) denominator "
                                  "P + T - I", lambda q, t: q.sum() - (q * t).sum()),
                                 ("sum(logits) (the raw logits, before the sigmoid)",
                                  lambda q, t: np.nan))
_TRUE: tuple[_Part, ...] = (("sum(t)", lambda q, t: t.sum()), ("mean(t)", lambda q, t: t.mean()),
                            ("", lambda q, t: 0.0))
# What a learner may return of the Dice ratio D: (text, loss); the first is the course's.
_OUTER: tuple[tuple[str, Callable[[float], float]], ...] = (
    ("1 - D", lambda d: 1 - d),
    ("-log(D), the log-Dice loss", lambda d: -np.log(d) if d > 0 else np.nan),
    ("1 - D**2", lambda d: 1 - d * d), ("(1 - D)**2", lambda d: (1 - d) ** 2),
    ("1 - sqrt(D)", lambda d: 1 - np.sqrt(d) if d >= 0 else np.nan),
    ("log(1 - D)", lambda d: np.log(1 - d) if d < 1 else np.nan),
    ("1 / D - 1", lambda d: 1 / d - 1 if d else np.nan))


def dice_grid(got: list[float]) -> str:
    """Name the parts of the soft Dice formula that differ, if a variant of at most three of them
    (probabilities, intersection, the two sums of the denominator, the 2, the smoothing above,
    below and outside the fraction) gives the learner's value on every case; "" otherwise."""
    cases_ = _dice_cases()
    for most in (1, 2, 3):
        why = _dice_grid_search(got, cases_, most)
        if why:
            return why
    return ""


def _dice_grid_search(got: list[float], cases_: list, most: int) -> str:
    """dice_grid for the variants with exactly `most` parts changed."""
    for choice in itertools.product(_PROBABILITIES, _INTERSECTIONS, _PREDICTED, _TRUE, (2, 1),
                                    (1, 0, 2), (1, 0, 2), (False, True), (False, True),
                                    _OUTER):
        (pname, prob), (iname, inter), (qname, pred), (tname, true), two, s_up, s_down, \
            outside, unbracketed, (oname, outer) = choice
        differs = [pname != _PROBABILITIES[0][0], iname != "sum(p t)", qname != "sum(p)",
                   tname != "sum(t)", two != 2, s_up != 1, s_down != 1, outside, unbracketed,
                   oname != _OUTER[0][0]]
        if sum(differs) != most or (unbracketed and differs[9]):
            continue
        values = []
        for _, x, t, smooth in cases_:
            s = 1.0 if smooth is None else smooth
            q = prob(x)
            i = (x * t).sum() if iname.startswith("sum(logits") else inter(q, t)
            with np.errstate(divide="ignore", invalid="ignore"):
                den = (x.sum() if qname.startswith("sum(logits") else pred(q, t)) + \
                    true(q, t) + s * s_down
                values.append((1 - two * i + s * s_up / den if unbracketed else
                               outer((two * i + s * s_up) / den)) + s * outside)
        if np.allclose(got, values, rtol=1e-6, atol=1e-9):
            return _dice_parts_text(choice, differs)
    return ""


def _dice_parts_text(choice: tuple, differs: list[bool]) -> str:
    """'the denominator lacks sum(t); ...': one clause per part of `choice` that differs."""
    (pname, _), (iname, _), (qname, _), (tname, _), _, s_up, s_down, _, _, (oname, _) = choice
    parts = [f"the probabilities are {pname}: use p = sigmoid(logits)"] * differs[0]
    parts += [f"the intersection is {iname}, not sum(p t)"] * differs[1]
    for name, right, differ in ((qname, "sum(p)", differs[2]), (tname, "sum(t)", differs[3])):
        if differ:
            parts.append(f"the denominator lacks {right}" if not name else
                         f"the denominator has {name} where {right} belongs")
    parts += ["the intersection is not doubled (2 sum(p t))"] * differs[4]
    parts += [{0: "smooth is missing from the numerator",
               2: "smooth enters the numerator twice, 2 (sum(p t) + s); the numerator is "
                  "2 sum(p t) + s"}.get(s_up, "")] * differs[5]
    parts += [{0: "smooth is missing from the denominator",
               2: "smooth enters the denominator twice (+ 2 s); the denominator is "
                  "sum(p) + sum(t) + s"}.get(s_down, "")] * differs[6]
    parts += ["smooth is added to the loss itself, outside the fraction (check the "
              "parentheses)"] * differs[7]
    parts += ["the numerator lacks its parentheses: 1 - 2 I + s / (...) divides only s; write "
              "1 - (2 I + s) / (P + T + s)"] * differs[8]
    parts += [f"the loss is {oname} of the Dice ratio D; it is 1 - D"] * differs[9]
    return "; ".join(parts)


def background_weight_relation(got: list[float]) -> str:
    """Name a loss of 1 - (a D + b D'), the tumour's soft Dice D mixed with the background's D'
    (of 1 - p and 1 - t) with any weights, that gives every case; or ""."""
    rows = []
    for _, x, t, smooth in _dice_cases():
        s = 1.0 if smooth is None else smooth
        p = 1 / (1 + np.exp(-x))
        rows.append(((2 * (p * t).sum() + s) / (p.sum() + t.sum() + s),
                     (2 * ((1 - p) * (1 - t)).sum() + s) / ((1 - p).sum() + (1 - t).sum() + s)))
    tumour, background = (np.array(c) for c in zip(*rows))
    dice = 1 - np.array(got)
    (a, b), *_ = np.linalg.lstsq(np.stack([tumour, background], axis=1), dice, rcond=None)
    if abs(b) > 1e-6 and np.allclose(dice, a * tumour + b * background, rtol=1e-6, atol=1e-9):
        return (f"your loss is 1 - ({a:.4g} * the tumour's soft Dice + {b:.4g} * the "
                "background's, the Dice of 1 - p and 1 - t): the background class is mixed in; "
                "the loss is the tumour's alone, 1 - D")
    return ""


def _verdict_dice(outputs: Outputs) -> None:
    for i, (what, x, t, smooth) in enumerate(_dice_cases()):
        call = f"{_dice_call(x, smooth)} on {what}"
        value, grad = dice_value_and_grad(x, t, 1.0 if smooth is None else smooth)
        got = outputs[f"{i}/out"]
        if not np.isclose(got, value, rtol=1e-6, atol=1e-9):
            for text, wrong in _dice_mistakes(x, t, 1.0 if smooth is None else smooth):
                if np.isclose(got, wrong, rtol=1e-6, atol=1e-9):
                    raise CheckFailed(f"{call}: wrong value {float(got):.6g} (expected "
                                      f"{value:.6g}): {text}")
            all_cases = _dice_cases()
            why = background_weight_relation([float(outputs[f"{j}/out"])
                                              for j in range(len(all_cases))])
            if why:
                raise CheckFailed(f"{call}: wrong value {float(got):.6g} (expected "
                                  f"{value:.6g}): {why}")
            why = dice_grid([float(outputs[f"{j}/out"]) for j in range(len(all_cases))])
            if why:
                raise CheckFailed(f"{call}: wrong value {float(got):.6g} (expected "
                                  f"{value:.6g}): {why}")
            pattern = value_pattern(
                np.array([float(outputs[f"{j}/out"]) for j in range(len(all_cases))]),
                np.array([dice_value_and_grad(xj, tj, 1.0 if sj is None else sj)[0]
                          for _, xj, tj, sj in all_cases]))
            raise CheckFailed(f"{call}: wrong value {float(got):.6g}, expected {value:.6g}"
                              + (f"; over all {len(all_cases)} cases, {pattern}" if pattern else ""))
        if f"{i}/grad" not in outputs:
            raise CheckFailed(f"{call}: logits.grad is None after backward(): the loss is not "
                              "connected to the logits (did you compute with .data or NumPy?)")
        analytic, numeric = outputs[f"{i}/grad"], outputs[f"{i}/numeric_grad"]
        expect_shape(f"{call}: gradient with respect to the logits", analytic, x.shape)
        if not np.allclose(analytic, grad, rtol=1e-5, atol=1e-8):
            if np.allclose(numeric, grad, rtol=1e-4, atol=1e-7):
                worst = np.unravel_index(np.argmax(np.abs(analytic - grad)), x.shape)
                raise CheckFailed(
                    f"{call}: the value is right but the gradient backward() produced is not "
                    f"(gradient check: it differs from finite differences of your own function); "
                    f"worst at index {tuple(int(k) for k in worst)}: backward gave "
                    f"{analytic[worst]:.6g}, expected {grad[worst]:.6g}. A hand-written "
                    "backward or an operation that autograd cannot follow is at fault")
        expect_close(f"{call}: gradient with respect to the logits", analytic, grad,
                     rtol=1e-5, atol=1e-8)


register(Exercise(
    grade_id="check_soft_dice_loss", lesson=LESSON, function="soft_dice_loss",
    probe=tensor_hints("check_soft_dice_loss", _probe_dice), verdict=_verdict_dice, points=2,
    success="soft_dice_loss is right: its value matches the closed form and its gradient "
            "passes the gradient check.",
    engine_ops=("minitorch_unet.losses.soft_dice_loss", "minitorch_unet.losses.bce_dice_loss"),
    explain_error=tensor_call_hint))
