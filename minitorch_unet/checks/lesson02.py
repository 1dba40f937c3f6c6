"""Checks of lesson 02 (gradient checking): central differences and the relative error.

The expected gradients are the exact derivatives of the functions the check chooses (and,
for the cubic, the exact value of the central difference, which tells central from forward
differences and shows whether ``eps`` is used). Inputs are float64 and seeded.
"""
from __future__ import annotations

import ast
import itertools
from typing import Any, Callable

import numpy as np

from .core import (CheckFailed, Exercise, Outputs, _own_source, expect_close, number_exercises,
                   own_cases, register, value_pattern)
from .lesson00 import returned

LESSON = "02_gradient_checking"
number_exercises(LESSON, ("numerical_gradient", "relative_error"))
Function = Callable[[np.ndarray], float]


@own_cases(stream=2)
def gradient_cases(rng: np.random.Generator, fresh: bool
                   ) -> list[tuple[str, np.ndarray, Function, Function, float | None]]:
    """(name, x, f, its exact gradient, eps to pass or None for the default)."""
    w1, w2 = rng.uniform(0.5, 1.5, 4), rng.uniform(-1.0, 1.0, (2, 2, 3))
    return [
        ("sum(x**3) on x of shape (2, 3), eps=1e-3", rng.uniform(-2, 2, (2, 3)),
         lambda x: float(np.sum(x ** 3)), lambda x: 3 * x ** 2 + 1e-3 ** 2, 1e-3),
        ("sum(w * sin(x)) on x of shape (4,)", rng.uniform(-2, 2, 4),
         lambda x: float(np.sum(w1 * np.sin(x))), lambda x: w1 * np.cos(x), None),
        ("sum(w * tanh(x)) on x of shape (2, 2, 3)", rng.uniform(-2, 2, (2, 2, 3)),
         lambda x: float(np.sum(w2 * np.tanh(x))), lambda x: w2 * (1 - np.tanh(x) ** 2), None),
    ]


def _probe_gradient(numerical_gradient: Callable[..., Any]) -> Outputs:
    out = {}
    for i, (_, x, f, _, eps) in enumerate(gradient_cases()):
        given = x.copy()
        grad = numerical_gradient(f, given) if eps is None else numerical_gradient(f, given, eps)
        out[f"grad{i}"] = returned(grad, "numerical_gradient")
        out[f"x{i}"] = given
        out["low"] = np.array(bool(out.get("low", False)) or _low_precision(grad))
    nudges = _trace_nudges(numerical_gradient)
    if nudges is not None:
        out["nudges"] = nudges
    out.update(_trace_values(numerical_gradient))
    out.update(_trace_step(numerical_gradient))
    out["aliases"] = np.array(aliases_nudged(numerical_gradient), dtype=str)
    return out


def aliases_nudged(numerical_gradient: Callable[..., Any]) -> list[str]:
    """The names the learner's source binds to x itself with a plain `name = x` and then
    nudges in place (`name[...] += ...` or `-=`): aliases, not copies, of x."""
    source = _own_source(numerical_gradient)
    if not source:
        return []
    function = ast.parse(source).body[0]
    arguments = [a.arg for a in function.args.args]
    if len(arguments) < 2:
        return []
    x = arguments[1]
    bound = {target.id for node in ast.walk(function) if isinstance(node, ast.Assign) and
             isinstance(node.value, ast.Name) and node.value.id == x
             for target in node.targets if isinstance(target, ast.Name)}
    nudged = [node.target.value.id for node in ast.walk(function)
              if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)) and
              isinstance(node.target, ast.Subscript) and isinstance(node.target.value, ast.Name)
              and node.target.value.id in bound]
    return list(dict.fromkeys(nudged))


def _alias_rule(aliases: np.ndarray) -> str:
    """'= does not copy: x_plus and x_minus are x itself ...' for the names of `aliases`."""
    names = [str(name) for name in aliases]
    said = " and ".join(names) if len(names) > 1 else names[0]
    verb = "are" if len(names) > 1 else "is"
    return (f"= does not copy: {said} {verb} x itself, so both nudges land on x before f is "
            "called and cancel; call f right after each nudge (or nudge a copy, x.copy())")


def _low_precision(value: Any) -> bool:
    """Whether `value` is an array of a dtype with fewer digits than float64 (float32, float16)."""
    dtype = getattr(value, "dtype", None)
    return dtype is not None and np.issubdtype(dtype, np.floating) and dtype.itemsize < 8


def _trace_step(numerical_gradient: Callable[..., Any]) -> Outputs:
    """The size of the nudges f sees with eps = TRACE_EPS and with 10 * TRACE_EPS (one size
    for every entry, or nan) and whether f is given a low-precision array; empty when the
    learner's function fails here."""
    steps, low = [], False
    for eps in (TRACE_EPS, 10 * TRACE_EPS):
        x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
        sizes: list[float] = []
        seen_low = [False]

        def f(moved: np.ndarray) -> float:
            seen_low[0] = seen_low[0] or _low_precision(moved)
            moved = np.asarray(moved, dtype=np.float64)
            if moved.size == x.size:
                delta = np.abs(moved.reshape(-1) - x.reshape(-1)).max()
                if delta > 0:
                    sizes.append(float(delta))
            return float(np.sum(moved))

        try:
            numerical_gradient(f, x.copy(), eps)
        except Exception:  # the cases' runs report it, with the learner's line
            return {}
        found = np.array(sizes)
        one = found.size and np.allclose(found, np.median(found), rtol=1e-2)
        steps.append(float(np.median(found)) if one else np.nan)
        low = low or seen_low[0]
    return {"trace/step": np.array(steps), "trace/low": np.array(low)}


def step_rule(outputs: Outputs) -> str:
    """'f is called with x nudged by 1e-12 whatever eps is given' (or by eps**2, or by 10
    eps) when every nudge f saw in the traced runs has one size other than the eps passed;
    "" otherwise."""
    if "trace/step" not in outputs:
        return ""
    small, large = (float(v) for v in outputs["trace/step"])
    if np.isnan(small) or np.isnan(large) or np.isclose(small, TRACE_EPS, rtol=1e-2):
        return ""
    noise = (": a step that small leaves f(x + eps) - f(x - eps) to rounding noise"
             if small < 1e-7 else "")
    if np.isclose(small, large, rtol=1e-2):
        return (f"your values ignore the eps argument: f is called with x nudged by "
                f"{small:.3g} whatever eps is given{noise}; nudge x by eps itself")
    for said, rule in (("eps**2", lambda e: e * e), ("eps / 2", lambda e: e / 2),
                       ("2 * eps", lambda e: 2 * e), ("sqrt(eps)", np.sqrt)):
        if np.isclose(small, rule(TRACE_EPS), rtol=1e-2) and \
                np.isclose(large, rule(10 * TRACE_EPS), rtol=1e-2):
            return (f"f is called with x nudged by {said} ({small:.3g} for eps={TRACE_EPS:g}), "
                    f"not the eps given{noise}; nudge x by eps itself")
    return (f"f is called with x nudged by {small:.3g} for eps={TRACE_EPS:g} and by {large:.3g} "
            f"for eps={10 * TRACE_EPS:g}, not by the eps given{noise}; nudge x by eps itself")


def _trace_values(numerical_gradient: Callable[..., Any]) -> Outputs:
    """A run where f returns a random number at each call: the answer's partial derivatives
    are then some combination of those numbers, which `stencil_rule` reads off. Empty when
    the learner's function fails here or moves f's array to another size."""
    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    values = np.random.default_rng(5).normal(size=4096)
    seen: list[np.ndarray] = []

    def f(moved: np.ndarray) -> float:
        seen.append(np.array(moved, dtype=np.float64).reshape(-1))
        return float(values[(len(seen) - 1) % values.size])

    try:
        grad = np.asarray(numerical_gradient(f, x.copy(), TRACE_EPS), dtype=np.float64)
    except Exception:  # the cases' runs report it, with the learner's line
        return {}
    if not seen or any(v.size != x.size for v in seen) or grad.size != x.size:
        return {}
    return {"stencil/nudges": np.round((np.array(seen) - x.reshape(-1)) / TRACE_EPS, 6),
            "stencil/values": values[:len(seen)], "stencil/grad": grad.reshape(-1)}


def _offset(v: float) -> str:
    return "x" if v == 0 else f"x {'+' if v > 0 else '-'} {'' if abs(v) == 1 else f'{abs(v):g}'}eps"


def stencil_rule(outputs: Outputs) -> str:
    """'your estimate is (f(x + 2eps) + 8 f(x + eps) - ...) / (12 eps) ...' when each partial
    derivative is one fixed combination of f at nudges of its own entry (and at x), other
    than the central difference; "" otherwise."""
    if "stencil/grad" not in outputs:
        return ""
    nudges, values, grad = (outputs[f"stencil/{k}"] for k in ("nudges", "values", "grad"))
    moved = nudges != 0
    if moved.sum(axis=1).max(initial=0) > 1:
        return ""
    plain = np.flatnonzero(~moved.any(axis=1))
    touched = [int(np.argmax(moved[:, k])) for k in range(grad.size)]
    if plain.size == 1:        # f(x) once, shared by every entry
        own_plain = {k: plain for k in range(grad.size)}
    elif plain.size == grad.size and all(moved[:, k].any() for k in range(grad.size)):
        order = np.argsort(touched)  # f(x) once per entry, in the order the entries are visited
        own_plain = {int(k): plain[j:j + 1] for j, k in enumerate(order)}
    else:
        own_plain = {}
    offsets = sorted({float(v) for v in nudges[moved]} | ({0.0} if own_plain else set()))
    if not offsets or len(offsets) >= grad.size or min(abs(v) for v in offsets if v) < 0.5:
        return ""
    rows = np.zeros((grad.size, len(offsets)))
    for k in range(grad.size):
        for j, offset in enumerate(offsets):
            calls = own_plain[k] if offset == 0 else np.flatnonzero(nudges[:, k] == offset)
            if calls.size != 1:
                return ""
            rows[k, j] = values[calls[0]]
    weights = np.linalg.lstsq(rows, grad * TRACE_EPS, rcond=None)[0]
    if not np.allclose(rows @ weights, grad * TRACE_EPS, rtol=1e-6, atol=1e-12):
        return ""
    used = [(w, v) for w, v in zip(weights, offsets) if abs(w) > 1e-9]
    if len(used) == 2 and np.isclose(used[0][0], -used[1][0]) and used[0][1] * used[1][1] < 0:
        return ""  # f(x + a) - f(x - b) over some step: the nudges' and divisor's rules say more
    scale = next((d for d in range(1, 49) if np.allclose(weights * d, np.round(weights * d),
                                                         atol=1e-6)), 0)
    if not scale:
        return ""
    terms = [(int(round(w * scale)), v) for w, v in zip(weights, offsets) if round(w * scale)]
    text = " ".join(f"{'-' if w < 0 else '+'} {'' if abs(w) == 1 else abs(w)}{' ' if abs(w) != 1 else ''}"
                    f"f({_offset(v)})" for w, v in sorted(terms, key=lambda t: -t[1]))
    text = text[2:] if text.startswith("+ ") else "-" + text[2:]
    return (f"your estimate is ({text}) / ({'' if scale == 1 else scale}{' ' if scale != 1 else ''}"
            "eps); the central difference is (f(x + eps) - f(x - eps)) / (2 eps)")


TRACE_EPS = 1e-3


def _trace_nudges(numerical_gradient: Callable[..., Any]) -> np.ndarray | None:
    """How far each call to f moved each entry of x, in units of eps: (calls, x.size); None
    when the learner's function fails here or hands f an array of another size (the cases
    report those)."""
    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    seen: list[np.ndarray] = []

    def f(moved: np.ndarray) -> float:
        seen.append(np.array(moved, dtype=np.float64).reshape(-1))
        return float(np.sum(moved))

    try:
        numerical_gradient(f, x.copy(), TRACE_EPS)
    except Exception:  # the cases' runs report it, with the learner's line
        return None
    if not seen or any(v.size != x.size for v in seen):
        return None
    return np.round((np.array(seen) - x.reshape(-1)) / TRACE_EPS, 6)


def nudge_rule(nudges: np.ndarray) -> str:
    """What f was called with, when every call nudges one entry (or none), every entry alike,
    and the nudges are not + eps and - eps; "" otherwise."""
    moved = nudges != 0
    if moved.sum(axis=1).max(initial=0) > 1:
        return ""
    steps = [sorted({float(v) for v in nudges[moved[:, k], k]}, reverse=True)
             for k in range(nudges.shape[1])]
    if any(s != steps[0] for s in steps) or steps[0] in ([], [1.0, -1.0]):
        return ""  # entries left out, or the right nudges: the values tell the rest
    said = ", ".join(f"{v:+g} eps" for v in steps[0])
    return (f"f is called with each entry nudged by {said}; the central difference nudges it "
            "by + eps and by - eps (each from the saved value) and divides f(x + eps) - "
            "f(x - eps) by 2 * eps")


def block_nudge_rule(nudges: np.ndarray) -> str:
    """'each call to f moves a whole row ...' when every call that moves x moves a run of
    more than one entry in memory order, the runs (rows, or all of x) cutting x into equal
    parts; "" otherwise."""
    moved = [np.flatnonzero(row) for row in nudges != 0]
    runs = {(int(k[0]), len(k)) for k in moved if len(k)}
    sizes = {n for _, n in runs}
    if not runs or len(sizes) != 1 or min(sizes) < 2 or \
            any(len(k) and not np.array_equal(k, np.arange(k[0], k[0] + len(k))) for k in moved):
        return ""
    size = sizes.pop()
    if size == nudges.shape[1]:
        return ("each call to f moves every entry of x at once (f(x + eps)), so every partial "
                "derivative gets the change of f from all of them: nudge one entry at a time, "
                "x[i] for i in np.ndindex(x.shape)")
    if nudges.shape[1] % size or {start % size for start, _ in runs} != {0}:
        return ""
    return (f"each call to f moves {size} entries of x at once, a whole row (for a 2-D x, "
            "x[i] is a row, and range(len(x)) runs over the rows): nudge one entry at a time, "
            "x[i] for i in np.ndindex(x.shape)")


def leftover_rule(nudges: np.ndarray) -> str:
    """'the entries nudged before stay nudged' when, in the calls to f, every entry moved
    before the one being nudged is still moved (never put back, or copies made once); ""
    otherwise."""
    moved = nudges != 0
    if moved.sum(axis=1).max(initial=0) <= 1:
        return ""
    first = [int(np.argmax(moved[:, k])) if moved[:, k].any() else -1
             for k in range(nudges.shape[1])]
    turns = sorted((t, k) for k, t in enumerate(first) if t >= 0)
    if len(turns) < 3 or len({t for t, _ in turns}) < len(turns) or \
            [k for _, k in turns] != sorted(k for _, k in turns):
        return ""
    for row in range(turns[1][0], len(nudges)):  # from the second entry's turn on
        current = max(k for t, k in turns if t <= row)
        if not all(moved[row, k] for t, k in turns if k < current) or \
                any(moved[row, k] for t, k in turns if k > current):
            return ""
    return ("the entries nudged before stay nudged: when f is called for entry i, the "
            "entries before it are still moved by eps (the nudged copies are made once, before "
            "the loop, or x[i] is never put back); each call must move entry i alone, so put "
            "it back to its saved value (or copy x afresh) for every entry")


def _whole_answer_relation(outputs: Outputs) -> str:
    """A relation that holds in every case at once: a constant term or a constant factor
    (a grad that starts from ones, a wrong denominator); "" when none does."""
    pairs = [(outputs[f"grad{i}"], exact(x))
             for i, (_, x, _, exact, _) in enumerate(gradient_cases())]
    if any(got.shape != right.shape for got, right in pairs):
        return ""
    divisor = _divisor_rule(pairs, [1e-6 if eps is None else eps
                                    for *_, eps in gradient_cases()])
    if divisor:
        return divisor
    changed = _changed_operation(pairs)
    if changed:
        return changed
    got, right = (np.concatenate([np.ravel(p[k]) for p in pairs]) for k in (0, 1))
    term = float(np.mean(got - right))
    if abs(term) > 1e-3 and np.allclose(got, right + term, rtol=1e-5, atol=1e-5):
        return (f"every partial derivative is the right one plus {term:.4g}: grad starts from a "
                "non-zero value (np.ones_like, np.empty?) or a term is added to it; start from "
                "np.zeros(x.shape) and store each central difference")
    factor = float(np.sum(got * right) / np.sum(right * right))
    if abs(factor + 1) < 1e-3 and np.allclose(got, -right, rtol=1e-5, atol=1e-7):
        return ("your values are the right ones with the sign flipped: the central difference "
                "is f(x + eps) - f(x - eps), in that order")
    if abs(factor - 1) > 1e-3 and abs(factor - 2) > 1e-3 and abs(factor) > 1e-3 and \
            np.allclose(got, factor * right, rtol=1e-5, atol=1e-7):
        return (f"your values are {factor:.4g} times the right ones in every case: the central "
                f"difference is divided by {2 / factor:.4g} * eps; divide "
                "f(x + eps) - f(x - eps) by 2 * eps")
    return ""


def _changed_operation(pairs: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """A message when every case's values are the right ones with one operation changed
    (times x, times 2 f(x), over x.size, or every entry the last one's); "" otherwise."""
    xs = [(x, f) for _, x, f, _, _ in gradient_cases()]
    variants = [
        (lambda right, x, f: right * x,
         "your values are the right ones times x: each central difference is multiplied by "
         "its entry x[i]; store the difference itself, grad[i] = (f(x + eps) - f(x - eps)) / "
         "(2 * eps)"),
        (lambda right, x, f: 2 * f(x.copy()) * right,
         "your values are 2 f(x) times the right ones, the difference of f's values squared: "
         "take f(x + eps) - f(x - eps) of f's values as they are, not of their squares"),
        (lambda right, x, f: right / x.size,
         "your values are the right ones divided by the number of entries x.size: store each "
         "central difference as it is, without averaging"),
        (lambda right, x, f: np.full(right.shape, right.ravel()[-1]),
         "every entry holds the last entry's slope: the loop writes the whole array (grad[...] "
         "= or grad[:] =) instead of the entry it nudged; write grad[i] for index i"),
    ]
    for model, text in variants:
        if all(np.allclose(got, model(right, x, f), rtol=1e-4, atol=1e-6)
               and not np.allclose(got, right, rtol=1e-4, atol=1e-6)
               for (got, right), (x, f) in zip(pairs, xs)):
            return text
    return ""


def _divisor_rule(pairs: list[tuple[np.ndarray, np.ndarray]], steps: list[float]) -> str:
    """'the difference is divided by eps**2 ...' when every case's values are the right ones
    times 2 eps / D, with one divisor D = c * eps**k for all the cases' eps; "" otherwise."""
    divisors = []
    for (got, right), eps in zip(pairs, steps):
        factor = float(np.sum(got * right) / np.sum(right * right))
        if not factor or not np.allclose(got, factor * right, rtol=1e-5,
                                         atol=1e-12 + 1e-7 * abs(factor)):
            return ""
        divisors.append(2 * eps / factor)
    if len(set(steps)) < 2:
        return ""
    for power in (0, 1, 2, -1):
        constants = [d / eps ** power for d, eps in zip(divisors, steps)]
        c = constants[0]
        if (power, round(c, 6)) != (1, 2) and np.allclose(constants, c, rtol=1e-4) and \
                any(np.isclose(c, v, rtol=1e-4) for v in (0.25, 0.5, 1, 2, 4, 8)):
            number = f"{c:g}"
            times = "" if np.isclose(c, 1) else f"{number} * "
            said = {0: number, 1: f"{times}eps", 2: f"{times}eps**2", -1: f"{number} / eps"}[power]
            if power == 0 and np.isclose(c, 1):
                return ("your values are f(x + eps) - f(x - eps) itself, never divided: divide "
                        "that difference by 2 * eps")
            factor = 2 * steps[0] / divisors[0]
            size = {2.0: "twice the gradient", 0.5: "half the gradient"}.get(
                round(factor, 6), f"{factor:.4g} times the gradient with eps={steps[0]:g}")
            return (f"your values are the difference f(x + eps) - f(x - eps) divided by "
                    f"{said} ({size}): divide it by 2 * eps"
                    + (" (write / (2 * eps): `/ 2 * eps` multiplies by eps)"
                       if power == -1 else ""))
    return ""


def _verdict_gradient(outputs: Outputs) -> None:
    for i, (what, x, f, exact, eps) in enumerate(gradient_cases()):
        got, after = outputs[f"grad{i}"], outputs[f"x{i}"]
        call = f"numerical_gradient({what})"
        if not np.array_equal(after, x):
            k = np.unravel_index(np.argmax(np.abs(after - x)), x.shape)
            raise CheckFailed(f"{call} changed x: x{[int(i) for i in k]} was {x[k]:.6g}, is {after[k]:.6g} "
                              "afterwards; put each entry back after nudging it")
        if got.shape != x.shape:
            swapped = (": the right sizes in another order, a transpose too many?"
                       if sorted(got.shape) == sorted(x.shape) else "")
            right = exact(x)
            if got.size == x.size and got.ndim == x.ndim and \
                    np.allclose(got, right.reshape(got.shape), rtol=1e-4, atol=1e-4):
                swapped = (": the right values in memory order, reshaped to the wrong shape: "
                           "reshape to x.shape (or fill grad = np.zeros(x.shape) entry by entry)")
            elif got.size == x.size and np.allclose(np.ravel(got), right.ravel(), rtol=1e-4,
                                                    atol=1e-4):
                swapped = (": the right values in x's memory order, with another number of axes: "
                           "return them in x's shape, np.reshape(grad, x.shape) (or fill "
                           "grad = np.zeros(x.shape) entry by entry)")
            elif got.ndim == x.ndim and np.allclose(got, right.transpose(), rtol=1e-4, atol=1e-4):
                swapped = ": the right values transposed: return them as x's shape, without .T"
            raise CheckFailed(f"{call}: wrong shape: expected {x.shape} (one partial derivative "
                              f"per entry of x), got {got.shape}{swapped}")
        expected = exact(x)
        whole = _whole_answer_relation(outputs) if i == 0 else ""
        if whole:
            raise CheckFailed(f"{call}: {whole}")
        left = (leftover_rule(outputs["nudges"]) or block_nudge_rule(outputs["nudges"])) \
            if "nudges" in outputs and \
            outputs["nudges"] is not None and not np.allclose(got, expected, rtol=1e-4, atol=1e-4) \
            else ""
        if left:
            raise CheckFailed(f"{call}: {left}")
        if eps is not None:
            forward = 3 * x ** 2 + 3 * x * eps + eps ** 2
            if np.allclose(got, forward, rtol=0, atol=1e-8):
                raise CheckFailed(f"{call}: your values are forward differences "
                                  "(f(x + eps) - f(x)) / eps, whose error shrinks like eps; use "
                                  "central ones, (f(x + eps) - f(x - eps)) / (2 eps)")
            if np.allclose(got, 3 * x ** 2 - 3 * x * eps + eps ** 2, rtol=0, atol=1e-8):
                raise CheckFailed(f"{call}: your values are backward differences "
                                  "(f(x) - f(x - eps)) / eps, whose error shrinks like eps; use "
                                  "central ones, (f(x + eps) - f(x - eps)) / (2 eps)")
            extra = got - 3 * x ** 2   # the central difference of x**3 with step h: 3x**2 + h**2
            if np.all(extra > 0) and np.allclose(extra, extra.mean(), rtol=1e-3) and \
                    not np.isclose(np.sqrt(extra.mean()), eps, rtol=1e-2):
                raise CheckFailed(f"{call}: your values are central differences with a step of "
                                  f"{np.sqrt(extra.mean()):.3g}, not the eps given ({eps:g}): "
                                  "nudge x by the eps argument")
            steps = np.sqrt(np.maximum(extra, 0))
            if np.all(extra > 0) and np.ptp(steps) > 1e-2 * steps.max() and \
                    eps * 0.999 <= steps.min() and steps.max() <= 100 * eps and \
                    np.allclose(got, 3 * x ** 2 + steps ** 2, rtol=0, atol=1e-12):
                raise CheckFailed(f"{call}: your values are central differences whose step changes "
                                  f"from entry to entry ({steps.min():.3g} to {steps.max():.3g}), "
                                  f"not the eps given ({eps:g}): nudge every entry by eps itself")
            if np.allclose(got, 3 * x ** 2, rtol=0, atol=1e-9):
                step = step_rule(outputs)
                if step:
                    raise CheckFailed(f"{call}: {step}")
                stencil = stencil_rule(outputs)
                if stencil:
                    raise CheckFailed(f"{call}: {stencil}")
                raise CheckFailed(f"{call}: your values ignore the eps argument (the central "
                                  "difference of x**3 with eps=1e-3 is 3x**2 + 1e-6 exactly); "
                                  "nudge x by the eps given")
        if not got.any() and "nudges" in outputs and np.any(outputs["nudges"]):
            nudged = nudge_rule(outputs["nudges"])
            raise CheckFailed(f"{call}: your values are all zero, though f did see x nudged: " + (
                nudged if nudged else "the difference of the two f values is never stored "
                "in grad (or is stored in a copy of grad); set grad[i] = (f(x + eps) - "
                "f(x - eps)) / (2 * eps)"))
        if not got.any() and len(outputs.get("aliases", ())):
            raise CheckFailed(f"{call}: your values are all zero: "
                              f"{_alias_rule(outputs['aliases'])}")
        if not got.any():
            raise CheckFailed(f"{call}: your values are all zero, so f never saw the nudges: "
                              "change x itself, not a copy of it (x.flatten(), x.astype(...) "
                              "and np.array(x) copy; x.reshape(-1) is a view), or fill in grad")
        step = 1e-6 if eps is None else eps
        added = np.zeros(x.shape)
        for i in np.ndindex(x.shape):
            up, down = x.copy(), x.copy()
            up[i] += step
            down[i] -= step
            added[i] = (f(up) + f(down)) / (2 * step)
        for text, sign in (("f(x - eps) is taken at x itself (the - eps nudge is lost, e.g. "
                            "x[i] -= eps right after x[i] += eps), so you get half a forward "
                            "difference", 1), ("f(x + eps) is taken at x itself (the + eps nudge "
                            "is lost), so you get half a backward difference", -1)):
            half = np.zeros(x.shape)
            for i in np.ndindex(x.shape):
                moved = x.copy()
                moved[i] += sign * step
                half[i] = sign * (f(moved) - f(x)) / (2 * step)
            if np.allclose(got, half, rtol=1e-6, atol=1e-6):
                raise CheckFailed(f"{call}: {text}: set x[i] = saved + eps, then x[i] = saved - "
                                  "eps, each from the saved value")
        if np.allclose(got, added, rtol=1e-6, atol=1e-6):
            raise CheckFailed(f"{call}: your values are (f(x + eps) + f(x - eps)) / (2 eps): the "
                              "two values must be subtracted, f(x + eps) - f(x - eps)")
        if np.allclose(got, expected * step * step, rtol=1e-3, atol=0):
            raise CheckFailed(f"{call}: your values are the gradient times eps**2: `/ 2 * eps` "
                              "divides by 2 and then MULTIPLIES by eps; write / (2 * eps)")
        if np.allclose(got, 2 * expected, rtol=1e-5, atol=1e-7):
            raise CheckFailed(f"{call}: your values are twice the gradient: divide the central "
                              "difference by 2 * eps")
        tolerance = 1e-8 if eps is not None else 1e-6
        kept = np.isclose(got, expected, rtol=1e-4, atol=1e-6)
        missed = [tuple(int(k) for k in i) for i in np.argwhere(~kept & (got == 0))]
        if kept.any() and missed and np.all(kept | (got == 0)) and \
                not value_pattern(np.asarray(got, dtype=np.float64), expected):
            shown = ", ".join(map(str, missed[:3])) + (" ..." if len(missed) > 3 else "")
            raise CheckFailed(f"{call}: {len(missed)} of {got.size} entries are 0 and the "
                              f"others right, so the loop never reaches entries {shown}: "
                              "nudge every entry, for i in np.ndindex(x.shape)")
        stencil = stencil_rule(outputs) if not np.allclose(got, expected, rtol=tolerance,
                                                           atol=tolerance) else ""
        if stencil:
            raise CheckFailed(f"{call}: {stencil}")
        nudged = nudge_rule(outputs["nudges"]) if "nudges" in outputs and \
            not np.allclose(got, expected, rtol=tolerance, atol=tolerance) else ""
        if nudged:
            raise CheckFailed(f"{call}: {nudged}")
        off = not np.allclose(got, expected, rtol=tolerance, atol=tolerance)
        step = step_rule(outputs) if off else ""
        if step:
            raise CheckFailed(f"{call}: {step}")
        low = bool(outputs.get("low", False)) or bool(outputs.get("trace/low", False))
        if off and low and np.allclose(got, expected, rtol=1e-3, atol=1e-3):
            raise CheckFailed(f"{call}: close, but only to about float32 precision (off by up "
                              f"to {np.abs(got - expected).max():.2g}), and your arrays are "
                              "float32: finite differences subtract nearly equal numbers, so "
                              "keep x and the arithmetic in float64")
        expect_close(call, got, expected, rtol=tolerance, atol=tolerance)


# ---- relative error --------------------------------------------------------------------------
@own_cases(stream=3)
def error_cases(rng: np.random.Generator, fresh: bool) -> list[tuple[str, Any, Any]]:
    a = rng.normal(size=(3, 4))
    return [
        ("equal arrays", a, a.copy()),
        ("[1.0, 2.0] and [1.0, 2.002]", np.array([1.0, 2.0]), np.array([1.0, 2.002])),
        ("all zeros", np.zeros(3), np.zeros(3)),
        ("[0.0, 1.0] and [1e-3, 1.0] (one side zero)", np.array([0.0, 1.0]), np.array([1e-3, 1.0])),
        ("the numbers 3.0 and 3.3", 3.0, 3.3),
        ("[-1.0, 2.0] and [-3.0, 2.0] (negative numbers)", np.array([-1.0, 2.0]),
         np.array([-3.0, 2.0])),
        ("random (3, 4) arrays", a, a + rng.normal(scale=1e-4, size=(3, 4))),
        ("[1e-6, 3.0] and [3e-6, 3.0] (tiny numbers)", np.array([1e-6, 3.0]),
         np.array([3e-6, 3.0])),
        ("[-3.0, 2.0] and [-1.0, 2.0] (the larger one negative)", np.array([-3.0, 2.0]),
         np.array([-1.0, 2.0])),
        ("[1.0, 2.0] and [-1.0, 2.0] (opposite signs)", np.array([1.0, 2.0]),
         np.array([-1.0, 2.0])),
    ]


def relative_error_formula(a: Any, b: Any) -> float:
    """max over entries of |a - b| / max(|a|, |b|), with 0/0 counted as 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))


def _copy(value: Any) -> Any:
    """A copy of an array (numbers pass as they are), so the answer cannot change the cases."""
    return value.copy() if isinstance(value, np.ndarray) else value


def _probe_error(relative_error: Callable[..., Any]) -> Outputs:
    return {f"case{i}": returned(relative_error(_copy(a), _copy(b)), "relative_error")
            for i, (_, a, b) in enumerate(error_cases())}


def _ratio(diff: np.ndarray, scale: Any) -> np.ndarray:
    """diff / scale with 0/0 = 0 (and x/0 = inf)."""
    scale = np.asarray(scale, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(diff == 0, 0.0, diff / np.where(scale == 0, 0.0, scale))


def _norm(v: np.ndarray) -> float:
    return float(np.sqrt(np.sum(v * v)))


# Other relative errors an answer may compute: (what it did, its value for arrays a, b when
# it divides with `ratio(diff, scale)`).
ERROR_MISTAKES: tuple[tuple[str, Callable[..., float]], ...] = (
    ("that is the mean over the entries; take the largest",
     lambda a, b, ratio: float(np.mean(ratio(np.abs(a - b), np.maximum(np.abs(a), np.abs(b)))))),
    ("you take the smallest entry's error (np.min); take the largest (np.max)",
     lambda a, b, ratio: float(np.min(ratio(np.abs(a - b), np.maximum(np.abs(a), np.abs(b)))))),
    ("you sum the entries' errors; take the largest one",
     lambda a, b, ratio: float(np.sum(ratio(np.abs(a - b), np.maximum(np.abs(a), np.abs(b)))))),
    ("you divide by min(|a|, |b|); divide by max(|a|, |b|)",
     lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), np.minimum(np.abs(a), np.abs(b)))))),
    ("you divide by max(a, b) without absolute values; divide by max(|a|, |b|)",
     lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), np.maximum(a, b))))),
    ("you divide by the mean (|a| + |b|) / 2; divide by max(|a|, |b|)",
     lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), (np.abs(a) + np.abs(b)) / 2)))),
    ("you divide by |a| + |b|; divide by max(|a|, |b|)",
     lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), np.abs(a) + np.abs(b))))),
    ("you divide by |a| alone, so the error changes when a and b swap (and is infinite where "
     "a is 0); divide by max(|a|, |b|)", lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), np.abs(a))))),
    ("you divide by |b| alone, so the error changes when a and b swap (and is infinite where "
     "b is 0); divide by max(|a|, |b|)", lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), np.abs(b))))),
    ("you compare norms of whole arrays, ||a - b|| / max(||a||, ||b||); the error here is "
     "per entry: the largest |a_i - b_i| / max(|a_i|, |b_i|)",
     lambda a, b, ratio: float(ratio(np.array(_norm(a - b)), max(_norm(a), _norm(b))))),
    ("you compare norms of whole arrays, ||a - b|| / (||a|| + ||b||); the error here is "
     "per entry: the largest |a_i - b_i| / max(|a_i|, |b_i|)",
     lambda a, b, ratio: float(ratio(np.array(_norm(a - b)), _norm(a) + _norm(b)))),
    ("you divide the mean difference by the mean size, mean |a - b| / mean max(|a|, |b|); "
     "take the largest of the per-entry ratios |a_i - b_i| / max(|a_i|, |b_i|)",
     lambda a, b, ratio: float(ratio(np.array(np.mean(np.abs(a - b))),
                               np.mean(np.maximum(np.abs(a), np.abs(b)))))),
    ("you divide the largest difference by the largest value of the arrays; take the "
     "largest of the per-entry ratios |a_i - b_i| / max(|a_i|, |b_i|)",
     lambda a, b, ratio: float(ratio(np.abs(a - b).max(), max(np.abs(a).max(), np.abs(b).max())))),
    ("you square the ratio, (a - b)**2 / max(a**2, b**2); take |a - b| / max(|a|, |b|), unsquared",
     lambda a, b, ratio: float(np.max(ratio((a - b) ** 2, np.maximum(a * a, b * b))))),
    ("the absolute value is missing on b in the denominator, max(|a|, b); divide by "
     "max(|a|, |b|)",
     lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), np.maximum(np.abs(a), b))))),
    ("the absolute value is missing on a in the denominator, max(a, |b|); divide by "
     "max(|a|, |b|)",
     lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), np.maximum(a, np.abs(b)))))),
    ("you add 1 to the denominator, max(|a|, |b|) + 1 (a mix of absolute and relative "
     "error); divide by max(|a|, |b|) alone",
     lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), np.maximum(np.abs(a), np.abs(b)) + 1)))),
    ("you divide by the Euclidean size sqrt(a**2 + b**2); divide by max(|a|, |b|)",
     lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), np.sqrt(a * a + b * b))))),
    ("you divide the total difference by the total size, sum |a - b| / (sum |a| + sum |b|); "
     "take the largest of the per-entry ratios |a_i - b_i| / max(|a_i|, |b_i|)",
     lambda a, b, ratio: float(ratio(np.array(np.sum(np.abs(a - b))),
                               np.sum(np.abs(a)) + np.sum(np.abs(b))))),
    ("the division binds before the addition: |a - b| / |a| + |b| divides by |a| alone and "
     "then adds |b|; write |a - b| / max(|a|, |b|), with the denominator in parentheses",
     lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), np.abs(a)) + np.abs(b)))),
    ("the division binds before the addition: |a - b| / |b| + |a| divides by |b| alone and "
     "then adds |a|; write |a - b| / max(|a|, |b|), with the denominator in parentheses",
     lambda a, b, ratio: float(np.max(ratio(np.abs(a - b), np.abs(b)) + np.abs(a)))),
    ("you return the largest absolute difference |a - b|, not divided by anything; divide "
     "each entry's difference by max(|a|, |b|)", lambda a, b, ratio: float(np.max(np.abs(a - b)))),
    ("you take the absolute values before the difference, ||a| - |b||, so a and -a count as "
     "equal; take |a - b|",
     lambda a, b, ratio: float(np.max(ratio(np.abs(np.abs(a) - np.abs(b)),
                                            np.maximum(np.abs(a), np.abs(b)))))),
    ("the absolute value is missing: use |a - b|, or differences of one sign vanish in the max",
     lambda a, b, ratio: float(np.max(np.where(a == b, 0.0, (a - b) / np.maximum(np.abs(a), np.abs(b)))))),
)


def _floored(eps: float) -> Callable[[np.ndarray, Any], np.ndarray]:
    """diff / max(scale, eps): a denominator kept off 0 with a floor."""
    return lambda diff, scale: np.asarray(diff, dtype=np.float64) / np.maximum(scale, eps)


def _shifted(eps: float) -> Callable[[np.ndarray, Any], np.ndarray]:
    """diff / (scale + eps): a denominator kept off 0 with a small term."""
    return lambda diff, scale: np.asarray(diff, dtype=np.float64) / (np.asarray(scale) + eps)


def _unit_where_zero(diff: np.ndarray, scale: Any) -> np.ndarray:
    """diff / np.where(scale == 0, 1, scale): the lesson's own guard, which a formula with
    another denominator may keep."""
    scale = np.asarray(scale, dtype=np.float64)
    return np.asarray(diff, dtype=np.float64) / np.where(scale == 0, 1.0, scale)


# The ratio as written (0/0 = 0), and as learners guard it against 0/0, with the tolerance a
# match needs: a formula of ERROR_MISTAKES is named whichever guard the answer used.
GUARDED_RATIOS = ((_ratio, 1e-9), (_unit_where_zero, 1e-9)) + tuple(
    (guard(eps), 1e-6) for eps in (1e-12, 1e-10, 1e-8) for guard in (_floored, _shifted))


# The formula in parts: a learner's variant changes one or two of them. (name, what to write
# instead or "" for the right part, how it computes.)
NUMERATORS: tuple[tuple[str, str, Callable[[np.ndarray, np.ndarray], np.ndarray]], ...] = (
    ("|a - b|", "", lambda a, b: np.abs(a - b)),
    ("(a - b)**2", "the squared difference (a - b)**2 in the numerator; take |a - b|",
     lambda a, b: (a - b) ** 2),
    ("||a| - |b||", "||a| - |b|| in the numerator, which makes a and -a equal; take |a - b|",
     lambda a, b: np.abs(np.abs(a) - np.abs(b))),
)
DENOMINATORS: tuple[tuple[str, str, Callable[[np.ndarray, np.ndarray], np.ndarray]], ...] = (
    ("max(|a|, |b|)", "", lambda a, b: np.maximum(np.abs(a), np.abs(b))),
    ("max(|a|, |b|)**2", "the denominator squared, max(|a|, |b|)**2; divide by max(|a|, |b|)",
     lambda a, b: np.maximum(np.abs(a), np.abs(b)) ** 2),
    ("min(|a|, |b|)", "min(|a|, |b|) as the denominator; divide by max(|a|, |b|)",
     lambda a, b: np.minimum(np.abs(a), np.abs(b))),
    ("|a| + |b|", "|a| + |b| as the denominator; divide by max(|a|, |b|)",
     lambda a, b: np.abs(a) + np.abs(b)),
    ("1", "no denominator (an absolute error); divide by max(|a|, |b|)",
     lambda a, b: np.ones_like(a)),
    ("|max(a, b)|", "the absolute value taken after the maximum, |max(a, b)|, which picks the "
     "larger signed value; take the absolute values first, max(|a|, |b|)",
     lambda a, b: np.abs(np.maximum(a, b))),
    ("|min(a, b)|", "the absolute value of the smaller signed value, |min(a, b)|; divide by "
     "max(|a|, |b|)", lambda a, b: np.abs(np.minimum(a, b))),
)
REDUCTIONS: tuple[tuple[str, str, Callable[[np.ndarray], float]], ...] = (
    ("max", "", lambda r: float(np.max(r))),
    ("mean", "the mean of the entries' errors (np.mean); take the largest (np.max)",
     lambda r: float(np.mean(r))),
    ("median", "the median of the entries' errors (np.median); take the largest (np.max)",
     lambda r: float(np.median(r))),
    ("sum", "the sum of the entries' errors; take the largest (np.max)", lambda r: float(np.sum(r))),
    ("min", "the smallest entry's error (np.min); take the largest (np.max)",
     lambda r: float(np.min(r))),
    ("norm", "the Euclidean norm of the entries' errors (np.linalg.norm), which grows with their "
     "number; take the largest (np.max)", lambda r: float(np.sqrt(np.sum(np.square(r))))),
    ("rms", "the root mean square of the entries' errors; take the largest (np.max)",
     lambda r: float(np.sqrt(np.mean(np.square(r))))),
    ("first", "the first entry's error only (r.flat[0] or r[0]); take the largest over every "
     "entry (np.max)", lambda r: float(np.ravel(r)[0])),
    ("last", "the last entry's error only (r.flat[-1] or r[-1]); take the largest over every "
     "entry (np.max)", lambda r: float(np.ravel(r)[-1])),
)
OUTER: tuple[tuple[str, str, Callable[[float], float]], ...] = (
    ("", "", lambda v: v),
    ("sqrt", "a square root of the result; return the ratio itself, no np.sqrt",
     lambda v: float(np.sqrt(v))),
    ("square", "the result squared; return the ratio itself", lambda v: v * v),
)


def _formula_fit(got: np.ndarray, arrays: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """Which parts of the formula (numerator, denominator, reduction over the entries, a
    final square or root) the answer changed, when one combination of them fits every
    case; "" when none does."""
    known = ~np.isnan(got)
    for (_, top_fix, top), (_, bottom_fix, bottom), (_, reduce_fix, reduce), (_, outer_fix, outer) \
            in itertools.product(NUMERATORS, DENOMINATORS, REDUCTIONS, OUTER):
        fixes = [fix for fix in (top_fix, bottom_fix, reduce_fix, outer_fix) if fix]
        if not fixes or len(fixes) > 2:
            continue
        for ratio, rtol in GUARDED_RATIOS:
            with np.errstate(divide="ignore", invalid="ignore"):
                wrong = np.array([outer(reduce(ratio(top(a, b), bottom(a, b)))) for a, b in arrays])
            if np.allclose(got[known], wrong[known], rtol=rtol, atol=1e-12, equal_nan=True):
                return "you compute " + ", and ".join(fixes)
    return ""


# A number of the whole arrays in place of the per-entry parts: (how it reads, its value).
WHOLE_TOPS: tuple[tuple[str, Callable[[np.ndarray, np.ndarray], float]], ...] = (
    ("max |a - b|", lambda a, b: float(np.max(np.abs(a - b)))),
    ("sum |a - b|", lambda a, b: float(np.sum(np.abs(a - b)))),
    ("mean |a - b|", lambda a, b: float(np.mean(np.abs(a - b)))),
    ("||a - b||", lambda a, b: _norm(a - b)),
)
WHOLE_BOTTOMS: tuple[tuple[str, Callable[[np.ndarray, np.ndarray], float]], ...] = (
    ("max(|a| + |b|)", lambda a, b: float(np.max(np.abs(a) + np.abs(b)))),
    ("max(max |a|, max |b|)", lambda a, b: float(max(np.max(np.abs(a)), np.max(np.abs(b))))),
    ("sum |a| + sum |b|", lambda a, b: float(np.sum(np.abs(a)) + np.sum(np.abs(b)))),
    ("max(sum |a|, sum |b|)", lambda a, b: float(max(np.sum(np.abs(a)), np.sum(np.abs(b))))),
    ("mean(|a| + |b|)", lambda a, b: float(np.mean(np.abs(a) + np.abs(b)))),
    ("mean max(|a|, |b|)", lambda a, b: float(np.mean(np.maximum(np.abs(a), np.abs(b))))),
    ("||a|| + ||b||", lambda a, b: _norm(a) + _norm(b)),
    ("max(||a||, ||b||)", lambda a, b: max(_norm(a), _norm(b))),
    ("max |b|", lambda a, b: float(np.max(np.abs(b)))),
    ("max |a|", lambda a, b: float(np.max(np.abs(a)))),
)


def _whole_array_fit(got: np.ndarray, arrays: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """'you divide max |a - b| by max(|a| + |b|), numbers of the whole arrays ...' when one
    such ratio of whole-array numbers (0/0 counted as 0) fits every case; "" otherwise."""
    known = ~np.isnan(got)
    for (top_name, top), (bottom_name, bottom) in itertools.product(WHOLE_TOPS, WHOLE_BOTTOMS):
        with np.errstate(divide="ignore", invalid="ignore"):
            wrong = np.array([float(_ratio(np.array(top(a, b)), bottom(a, b))) for a, b in arrays])
        if np.allclose(got[known], wrong[known], rtol=1e-6, atol=1e-12, equal_nan=True):
            return (f"you divide {top_name} by {bottom_name}, numbers of the whole arrays; the "
                    "error is per entry: the largest |a_i - b_i| / max(|a_i|, |b_i|)")
    return ""


def _verdict_error(outputs: Outputs) -> None:
    cases = error_cases()
    for i, (what, a, b) in enumerate(cases):
        got = outputs[f"case{i}"]
        if got.shape != ():
            errors = _ratio(np.abs(np.asarray(a, dtype=np.float64) - b),
                            np.maximum(np.abs(a), np.abs(b)))
            axes = [k for k in range(errors.ndim) if errors.max(axis=k).shape == got.shape and
                    np.allclose(errors.max(axis=k), got)]
            how = (f": that is np.max over axis {axes[0]} only, one maximum per "
                   f"{'column' if axes[0] == 0 else 'row'}; take the max over every entry "
                   "(np.max without axis)" if axes else
                   ": the errors of every entry; return the largest" if got.shape == errors.shape
                   else "")
            raise CheckFailed(f"relative_error({what}): expected one number (the largest "
                              f"entry's error), got an array of shape {got.shape}{how}")
    got = np.array([float(outputs[f"case{i}"]) for i in range(len(cases))])
    expected = np.array([relative_error_formula(a, b) for _, a, b in cases])
    bad = np.flatnonzero(~(np.abs(got - expected) <= 1e-9 * np.maximum(1.0, expected)))
    if not bad.size:
        return
    i = int(bad[0])
    message = f"relative_error({cases[i][0]}): expected {expected[i]:.6g}, got {got[i]:.6g}"
    if np.isnan(got[i]) and np.array_equal(np.asarray(cases[i][1]), np.asarray(cases[i][2])):
        raise CheckFailed(f"{message}: where both entries are 0 the error is 0 (0/0 counts "
                          "as no error)")
    arrays = [tuple(np.asarray(v, dtype=np.float64) for v in (a, b)) for _, a, b in cases]
    known = ~np.isnan(got)  # 0/0 where both are zero is a matter of its own (above)
    for ratio, rtol in GUARDED_RATIOS:
        for text, formula in ERROR_MISTAKES:
            with np.errstate(divide="ignore", invalid="ignore"):
                wrong = np.array([formula(a, b, ratio) for a, b in arrays])
            if np.allclose(got[known], wrong[known], rtol=rtol, atol=1e-12, equal_nan=True):
                raise CheckFailed(f"{message}: {text}")
    parts = _formula_fit(got, arrays) or _whole_array_fit(got, arrays)
    if parts:
        raise CheckFailed(f"{message}: {parts}")
    whole = _error_transform(got, expected, arrays)
    if whole:
        raise CheckFailed(f"{message}: {whole}")
    if np.array_equal(got, np.trunc(expected)) or np.array_equal(got, np.round(expected)):
        raise CheckFailed(f"{message}: your result is cut to a whole number (int(...) or "
                          "round(...)), which makes every small error 0; return the float itself")
    for decimals in range(1, 9):
        if np.array_equal(got, np.round(expected, decimals)):
            raise CheckFailed(f"{message}: your result is rounded to {decimals} decimals; return "
                              "it unrounded (errors of 1e-7 and 1e-5 must stay apart)")
    if np.allclose(got, expected, rtol=1e-4, atol=0):
        raise CheckFailed(f"{message}: nearly right everywhere, so a small constant is probably "
                          "added to the denominator (an epsilon); use max(|a|, |b|) exactly and "
                          "treat 0/0 as 0 instead")
    raise CheckFailed(f"{message}. The error is max over entries of |a - b| / max(|a|, |b|), "
                      "where 0/0 counts as 0")


def _error_transform(got: np.ndarray, expected: np.ndarray,
                     arrays: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """The right errors transformed in every case alike (scaled, in log10, in float32) or the
    index of the worst entry returned in their place; "" when none fits."""
    zero = expected == 0
    if (got[zero] == 0).all() and (~zero).sum() >= 2:
        factors = got[~zero] / expected[~zero]
        if np.allclose(factors, factors[0], rtol=1e-6) and abs(factors[0] - 1) > 1e-6:
            if np.isclose(factors[0], 100):
                return ("your result is in percent (100 times the error); return the plain "
                        "ratio, the 1e-7 that the lesson compares with is not a percentage")
            return (f"your results are {factors[0]:.4g} times the right ones in every case: a "
                    "factor is missing or extra in the formula")
    with np.errstate(divide="ignore"):
        logs = np.log10(expected)
    if (~zero).sum() >= 2 and np.allclose(got[~zero], logs[~zero], rtol=1e-6, atol=1e-9):
        return ("you return log10 of the error (its order of magnitude); return the error "
                "itself, max |a - b| / max(|a|, |b|)")
    worst = []
    for a, b in arrays:
        scale = np.maximum(np.abs(a), np.abs(b))
        worst.append(float(np.argmax(np.ravel(_ratio(np.abs(a - b), scale)))))
    if np.array_equal(got, worst) and np.any(got != expected):
        return ("you return the index of the worst entry (np.argmax); return the largest error "
                "itself (np.max)")
    floor = _floor_fit(got, arrays) or _threshold_fit(got, arrays)
    if floor:
        return floor
    low = np.array([_float32_error(a, b) for a, b in arrays])
    if np.allclose(got, low, rtol=1e-6, atol=1e-12) and not np.allclose(low, expected, rtol=1e-9):
        return ("the arithmetic is done in float32, which keeps only about 7 digits: keep a and "
                "b in float64 (np.asarray(a, dtype=np.float64))")
    return ""


FLOORED_DENOMINATORS: tuple[tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]], ...] = (
    ("max(|a|, |b|)", lambda a, b: np.maximum(np.abs(a), np.abs(b))),
    ("|a| + |b|", lambda a, b: np.abs(a) + np.abs(b)),
    ("(|a| + |b|) / 2", lambda a, b: (np.abs(a) + np.abs(b)) / 2),
    ("|b| alone", lambda a, b: np.abs(b)),
    ("|a| alone", lambda a, b: np.abs(a)),
)


def _floor_fit(got: np.ndarray, arrays: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """'your denominator max(|a|, |b|) is floored at 1 ...' when a floor (max(scale, F),
    clip) or a term (scale + F), fitted on one entry, explains every case, for the right
    denominator or a usual other one; "" otherwise."""
    for name, bottom in FLOORED_DENOMINATORS:
        for guard in (_floored, _shifted):
            for floor in _floor_candidates(got, arrays, bottom, shifted=guard is _shifted):
                with np.errstate(divide="ignore", invalid="ignore"):
                    fitted = np.array([float(np.max(guard(floor)(np.abs(x - y), bottom(x, y))))
                                       for x, y in arrays])
                    plain = np.array([float(np.max(_ratio(np.abs(x - y), bottom(x, y))))
                                      for x, y in arrays])
                if np.allclose(fitted, got, rtol=1e-6, atol=1e-15) and \
                        not np.allclose(plain, got, rtol=1e-6, atol=1e-15):
                    tiny = ", an epsilon" if floor < 1e-3 else ""
                    said = (f"{name} floored at {floor:.3g} (max(..., {floor:.3g}){tiny})"
                            if guard is _floored else f"{name} + {floor:.3g}{tiny and ' (an epsilon)'}")
                    return (f"your denominator is {said}, so entries below {floor:.3g} get an "
                            "absolute error, not a relative one; divide by max(|a|, |b|) itself "
                            "and count 0/0 as 0")
    return ""


def _threshold_fit(got: np.ndarray, arrays: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """'entries whose max(|a|, |b|) is at most 0.001 count as no error ...' when zeroing the
    ratio of every entry whose denominator is at most one of the cases' denominators explains
    every case; "" otherwise."""
    scales = sorted({float(v) for a, b in arrays for v in np.ravel(np.maximum(np.abs(a),
                                                                             np.abs(b))) if v > 0})
    for limit in scales:
        fitted = []
        for a, b in arrays:
            scale = np.maximum(np.abs(a), np.abs(b))
            ratio = _ratio(np.abs(a - b), scale)
            fitted.append(float(np.max(np.where(scale <= limit, 0.0, ratio))))
        if np.allclose(fitted, got, rtol=1e-6, atol=1e-15):
            return (f"entries whose max(|a|, |b|) is at most {limit:.3g} count as no error (a "
                    "threshold on the denominator), so small numbers go unchecked; only 0/0 "
                    "counts as 0")
    return ""


def _floor_candidates(got: np.ndarray, arrays: list[tuple[np.ndarray, np.ndarray]],
                      bottom: Callable[[np.ndarray, np.ndarray], np.ndarray],
                      shifted: bool) -> list[float]:
    """The floors (or added terms) that make one entry's ratio the answer's value for its
    case, each entry of each case tried once, rounded to 3 digits when that fits as well."""
    found: list[float] = []
    for (a, b), value in zip(arrays, got):
        diff, scale = np.ravel(np.abs(a - b)), np.ravel(bottom(a, b))
        if not value > 0:
            continue
        for d, sc in zip(diff, scale):
            floor = float(d / value) - (float(sc) if shifted else 0.0)
            if d > 0 and 1e-14 < floor < 1e3 and (shifted or floor > sc):
                found.append(float(f"{floor:.3g}"))
                found.append(floor)
    return list(dict.fromkeys(found))


def _float32_error(a: np.ndarray, b: np.ndarray) -> float:
    """relative_error computed with float32 arrays throughout."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.abs(a - b) / np.where(scale == 0, np.float32(1), scale)))


register(Exercise(
    grade_id="check_numerical_gradient", lesson=LESSON, function="numerical_gradient",
    probe=_probe_gradient, verdict=_verdict_gradient,
    success="numerical_gradient gives central differences for inputs of any shape", points=2,
    engine_ops=("minitorch_unet.gradcheck.numerical_grad", "minitorch_unet.gradcheck.gradcheck")))
register(Exercise(
    grade_id="check_relative_error", lesson=LESSON, function="relative_error",
    probe=_probe_error, verdict=_verdict_error,
    success="relative_error is right, zeros included"))
