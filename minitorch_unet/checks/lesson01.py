"""Checks of lesson 01 (autograd): local gradients, topological order, backward, unbroadcast.

Op gradients and unbroadcast are compared with PyTorch's (``data/reference/elementwise.npz``
and ``activations.npz``). The graph exercises run on the check's own nodes, which have the
attributes the lesson's ``Value`` has (``data``, ``grad``, ``_prev``, ``_backward``) and
record the order in which their ``_backward`` is called; the verdict rebuilds the same graphs
and names the node where the order or a gradient goes wrong.
"""
from __future__ import annotations

import inspect
import itertools
import math
import re
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from ..reference import Case, load_cases
from . import core
from .core import (EXERCISES, CheckFailed, Exercise, Outputs, describe_error, expect_close,
                   first_line, number_exercises, own_cases, register)
from .lesson00 import plain_error_hint, returned

LESSON = "01_autograd"
number_exercises(LESSON, ("mul_backward", "tanh_backward", "topological_order",
                          "backward", "unbroadcast"))


@lru_cache(maxsize=None)
def cases(op: str) -> dict[str, Case]:
    return load_cases(op)


def two_numbers(value: Any, what: str) -> np.ndarray:
    """A returned pair (grad_a, grad_b) as a float64 array of shape (2,)."""
    pair = returned(value, what)
    if pair.shape != (2,):
        raise CheckFailed(f"{what} must return two numbers (grad_a, grad_b), got "
                          f"{'one number' if pair.shape == () else f'shape {pair.shape}'}")
    return pair


# ---- mul_backward ----------------------------------------------------------------------------
def _mul_case() -> Case:
    return cases("elementwise")["mul_2x3_2x3"]


def _probe_mul(mul_backward: Callable[..., Any]) -> Outputs:
    case = _mul_case()
    pairs = [two_numbers(mul_backward(float(a), float(b), float(g)), "mul_backward")
             for a, b, g in zip(case["a"].ravel(), case["b"].ravel(), case["grad_out"].ravel())]
    a, b, g = float(case["a"].flat[0]), float(case["b"].flat[0]), float(case["grad_out"].flat[0])
    try:  # judged only once the other calls are right
        zeros, error = [two_numbers(mul_backward(0.0, b, g), "mul_backward"),
                        two_numbers(mul_backward(a, 0.0, g), "mul_backward")], ""
    except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
        zeros, error = [[np.nan, np.nan]] * 2, f"{type(err).__name__}: {first_line(err)}"
    return {"grad_a": np.array([p[0] for p in pairs]), "grad_b": np.array([p[1] for p in pairs]),
            "zeros": np.array(zeros, dtype=np.float64), "zeros_error": np.array(error)}


def _verdict_mul(outputs: Outputs) -> None:
    case = _mul_case()
    a, b, g = (case[k].ravel().astype(np.float64) for k in ("a", "b", "grad_out"))
    got_a, got_b = outputs["grad_a"], outputs["grad_b"]
    if np.allclose(got_a, g * a) and np.allclose(got_b, g * b):
        raise CheckFailed("mul_backward: the two gradients are swapped: d(a*b)/da = b, so "
                          "grad_a = b * grad, and grad_b = a * grad")
    if np.allclose(got_a, b) and np.allclose(got_b, a):
        raise CheckFailed("mul_backward: you return the local derivatives (b, a) but do not "
                          "multiply them by grad, the gradient arriving from above (chain rule)")
    if np.allclose(got_a, g) and np.allclose(got_b, g):
        raise CheckFailed("mul_backward: both gradients are grad, which is the backward of a + b; "
                          "for a * b, grad_a = b * grad and grad_b = a * grad")
    for name, got, want, other in (("grad_a", got_a, b, "b"), ("grad_b", got_b, a, "a")):
        for wrong, what in ((g * a, "a * grad"), (g * b, "b * grad"), (g, "grad alone")):
            if not np.allclose(got, g * want) and np.allclose(got, wrong):
                raise CheckFailed(f"mul_backward: {name} is {what}; d(a*b)/d{name[-1]} = {other}, "
                                  f"so {name} = {other} * grad")
        if np.allclose(got, g * want):
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            wrongs = ((a, "a"), (b, "b"), (np.ones_like(a), "1"), (a * b, "a * b"),
                      (a * b * g, "a * b * grad"), (g / a, "grad / a"), (g / b, "grad / b"),
                      (-g * want, f"-{other} * grad"), (want + g, f"{other} + grad"))
        terms = [(a, "a"), (b, "b"), (g, "grad"), (a * g, "a * grad"), (b * g, "b * grad"),
                 (a * b, "a * b"), (np.ones_like(a), "1")]
        sums = [(x + sign * y, f"{p} {'+' if sign > 0 else '-'} {q}")
                for i, (x, p) in enumerate(terms) for (y, q) in terms[i + 1:] for sign in (1, -1)]
        wrongs = (*wrongs, *monomials(a, b, g), *sums)
        for wrong, what in wrongs:
            if np.allclose(got, wrong):
                chain = ("" if "grad" in what else
                         ": multiply the local derivative by grad, the gradient from above "
                         "(chain rule)")
                if "/" in what or "+" in what or " - " in what:
                    chain = (": you divide where the chain rule multiplies" if "/" in what
                             else ": you add where the chain rule multiplies" if "+" in what
                             else ": you subtract where the chain rule multiplies")
                raise CheckFailed(f"mul_backward: {name} is {what}; d(a*b)/d{name[-1]} = {other}, "
                                  f"so {name} = {other} * grad{chain}")
    for name, got, want in (("grad_a", got_a, g * b), ("grad_b", got_b, g * a)):
        why = rounded(got, want)
        if why:
            raise CheckFailed(f"mul_backward: {name}: {why}")
    expect_close("mul_backward: grad_a (24 calls, elementwise)", got_a, case["grad_a"].ravel())
    expect_close("mul_backward: grad_b", got_b, case["grad_b"].ravel())
    want = np.array([[b[0] * g[0], 0.0], [0.0, a[0] * g[0]]])
    error = str(outputs["zeros_error"])
    if error or not np.allclose(outputs["zeros"], want):
        got = f"raised {error}" if error else f"got {outputs['zeros'].tolist()}"
        raise CheckFailed(
            f"mul_backward with a = 0 or b = 0: expected {want.tolist()}, {got}: right for "
            "non-zero inputs only, as when the product is divided by the other factor "
            "(a * b * grad / a); write grad_a = b * grad and grad_b = a * grad")


def monomials(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Every ±a^i b^j grad^k with i, j, k in {-1, 0, 1, 2}, written out ('b / grad',
    'b * b * grad', ...)."""
    out = []
    for i in (1, 0, -1, 2):
        for j in (1, 0, -1, 2):
            for k in (1, 0, -1, 2):
                top = [n for n, e in (("a", i), ("b", j), ("grad", k)) for _ in range(max(e, 0))]
                below = [n for n, e in (("a", i), ("b", j), ("grad", k)) if e == -1]
                text = " * ".join(top) or "1"
                text += "".join(f" / {n}" for n in below)
                with np.errstate(divide="ignore", invalid="ignore"):
                    value = a ** float(i) * b ** float(j) * g ** float(k)
                out += [(value, text), (-value, f"-{text}")]
    return out


def rounded(got: np.ndarray, want: np.ndarray) -> str:
    """'' or the message for values that are the right ones made whole numbers."""
    if np.allclose(got, want) or np.allclose(want, np.round(want)) or not np.any(got):
        return ""                               # all zero: no sign of rounding
    for rule, text in ((np.trunc, "truncated toward 0 (int(...) does that)"),
                       (np.floor, "rounded down (// does that)"), (np.round, "rounded")):
        if np.array_equal(got, rule(want)):
            return (f"your values are the right ones {text} to whole numbers: keep them as "
                    "floats")
    return ""


# ---- tanh_backward ---------------------------------------------------------------------------
TANH_CASES = ("tanh_method_2x3x4", "tanh_method_wide_40")


def _probe_tanh(tanh_backward: Callable[..., Any]) -> Outputs:
    out = {}
    for name in TANH_CASES:
        case = cases("activations")[name]
        values = []
        for x, g in zip(case["x"].ravel(), case["grad_out"].ravel()):
            value = returned(tanh_backward(float(x), float(g)), "tanh_backward")
            if value.shape != ():
                raise CheckFailed(f"tanh_backward({float(x):.4g}, {float(g):.4g}) returned an "
                                  f"array or list of shape {value.shape}; return one number "
                                  "(a float), the gradient of the one input x")
            values.append(float(value))
        out[name] = np.array(values)
    return out


TANH_MISTAKES: tuple[tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]], ...] = (
    ("you multiply by 1 - x**2; the derivative is 1 - tanh(x)**2 (square the output t = "
     "tanh(x), not the input)", lambda x, g: (1 - x ** 2) * g),
    ("you return the local derivative 1 - tanh(x)**2 without multiplying it by grad "
     "(chain rule)", lambda x, g: 1 - np.tanh(x) ** 2),
    ("you multiply by 1 - tanh(x); the derivative is 1 - tanh(x)**2",
     lambda x, g: (1 - np.tanh(x)) * g),
    ("you return grad * tanh(x)**2; the derivative is 1 - tanh(x)**2",
     lambda x, g: np.tanh(x) ** 2 * g),
    ("you multiply by (1 - tanh(x))**2; the derivative is 1 - tanh(x)**2 (square tanh(x) "
     "alone)", lambda x, g: (1 - np.tanh(x)) ** 2 * g),
    ("you multiply by 1 - tanh(x**2); the derivative is 1 - tanh(x)**2 (square the tanh, not x)",
     lambda x, g: (1 - np.tanh(x ** 2)) * g),
    ("that is the sigmoid's derivative s (1 - s); tanh's is 1 - tanh(x)**2",
     lambda x, g: g / (1 + np.exp(-x)) * (1 - 1 / (1 + np.exp(-x)))),
    ("the sign is flipped: you multiply by tanh(x)**2 - 1; the derivative is 1 - tanh(x)**2, "
     "never negative", lambda x, g: (np.tanh(x) ** 2 - 1) * g),
    ("operator precedence: `1 - tanh(x)**2 * grad` multiplies before it subtracts; put the "
     "derivative in parentheses, (1 - tanh(x)**2) * grad", lambda x, g: 1 - np.tanh(x) ** 2 * g),
    ("you multiply by 1 / cosh(x); the derivative is 1 / cosh(x)**2 = 1 - tanh(x)**2 (square "
     "it)", lambda x, g: g / np.cosh(x)),
    ("the arguments are swapped: tanh_backward(x, grad) gets the input x first and the "
     "gradient from above second", lambda x, g: (1 - np.tanh(g) ** 2) * x),
    ("you multiply by 1 - tanh(tanh(x))**2: x is the input of tanh, not its output; square "
     "tanh(x) once", lambda x, g: (1 - np.tanh(np.tanh(x)) ** 2) * g),
    ("you divide the derivative by grad; the chain rule multiplies: (1 - tanh(x)**2) * grad",
     lambda x, g: (1 - np.tanh(x) ** 2) / g),
    ("you multiply by 1 + tanh(x)**2; the derivative is 1 - tanh(x)**2",
     lambda x, g: (1 + np.tanh(x) ** 2) * g),
    ("operator precedence: `grad * 1 - tanh(x)**2` subtracts tanh(x)**2 from grad; put the "
     "derivative in parentheses, grad * (1 - tanh(x)**2)", lambda x, g: g - np.tanh(x) ** 2),
    ("you multiply by tanh(x) (1 - tanh(x)), the sigmoid's rule s (1 - s) applied to tanh; "
     "tanh's derivative is 1 - tanh(x)**2", lambda x, g: np.tanh(x) * (1 - np.tanh(x)) * g),
    ("you multiply by tanh(x) itself; the derivative is 1 - tanh(x)**2",
     lambda x, g: np.tanh(x) * g),
    ("you multiply by 2 tanh(x), the derivative of tanh(x)**2; the derivative of tanh is "
     "1 - tanh(x)**2", lambda x, g: 2 * np.tanh(x) * g),
    ("grad went inside the tanh, 1 - tanh(x * grad)**2; the chain rule multiplies the "
     "derivative by grad: (1 - tanh(x)**2) * grad", lambda x, g: 1 - np.tanh(x * g) ** 2),
    ("grad went inside the tanh, (1 - tanh(x * grad)**2) * grad; evaluate the derivative at "
     "x alone: (1 - tanh(x)**2) * grad", lambda x, g: (1 - np.tanh(x * g) ** 2) * g),
    ("grad was added to x inside the tanh; the chain rule multiplies: (1 - tanh(x)**2) * grad",
     lambda x, g: 1 - np.tanh(x + g) ** 2),
)


def _verdict_tanh(outputs: Outputs) -> None:
    for name in TANH_CASES:
        case = cases("activations")[name]
        x, g = case["x"].ravel().astype(np.float64), case["grad_out"].ravel().astype(np.float64)
        got = outputs[name]
        if np.allclose(got, case["grad_x"].ravel(), rtol=1e-4, atol=1e-5):
            continue
        for text, mistake in TANH_MISTAKES:
            if np.allclose(got, mistake(x, g), rtol=1e-4, atol=1e-5):
                raise CheckFailed(f"tanh_backward: {text}")
        right = (1 - np.tanh(x) ** 2) * g
        if rounded(got, right):
            raise CheckFailed(f"tanh_backward: {rounded(got, right)}")
        for factor, what in ((x, "x"), (g, "grad"), (np.tanh(x), "tanh(x)"), (2.0, "2"),
                             (0.5, "1/2"), (1 - np.tanh(x) ** 2, "1 - tanh(x)**2")):
            if np.allclose(got, right * factor, rtol=1e-4, atol=1e-5):
                raise CheckFailed(f"tanh_backward: your values are the right ones times {what}: "
                                  f"an extra factor {what}; the gradient is "
                                  "(1 - tanh(x)**2) * grad")
        with np.errstate(divide="ignore", invalid="ignore"):
            local = got / g
        for text, derivative in (*LOCAL_DERIVATIVES, *function_swaps()):
            with np.errstate(all="ignore"):
                value = derivative(x)
            if np.allclose(local, value, rtol=1e-4, atol=1e-5):
                raise CheckFailed(f"tanh_backward: you multiply grad by {text}; the derivative "
                                  "of tanh is 1 - tanh(x)**2")
        why = power_relation(local, np.tanh(x), g != 0) or chain_relation(got, x, g)
        if why:
            raise CheckFailed(f"tanh_backward: {why}")
        expect_close(f"tanh_backward on {len(x)} inputs", got, case["grad_x"].ravel())


def chain_relation(got: np.ndarray, x: np.ndarray, g: np.ndarray) -> str:
    """Name the right local derivative combined with grad by another operation than *, or a
    derivative of the catalogue (LOCAL_DERIVATIVES, function swaps) times a constant; ""."""
    local = 1 - np.tanh(x) ** 2
    with np.errstate(all="ignore"):
        for sign, combine in (("+", local + g), ("-", local - g), ("**", local ** g),
                              ("- (from grad)", g - local)):
            if np.allclose(got, combine, rtol=1e-4, atol=1e-5):
                how = "grad - (1 - tanh(x)**2)" if sign.startswith("-") and "grad" in sign \
                    else f"(1 - tanh(x)**2) {sign} grad"
                return (f"you return {how}; the chain rule multiplies the local derivative by "
                        "grad: (1 - tanh(x)**2) * grad")
        with np.errstate(all="ignore"):
            ratio = got / g
        for text, derivative in (*LOCAL_DERIVATIVES, *function_swaps(),
                                 ("1 - tanh(x)**2", lambda v: 1 - np.tanh(v) ** 2)):
            value = derivative(x)
            use = np.isfinite(value) & np.isfinite(ratio) & (np.abs(value) > 1e-6)
            if use.sum() < 3:
                continue
            factor = float(np.median(ratio[use] / value[use]))
            for near in (-4.0, -2.0, -1.0, -0.5, 0.25, 0.5, 2.0, 4.0):
                if abs(factor - near) < 1e-4 and np.allclose(ratio[use], near * value[use],
                                                             rtol=1e-4, atol=1e-5):
                    return (f"you multiply grad by {near:g} times {text}; the derivative of "
                            "tanh is 1 - tanh(x)**2 = 1 / cosh(x)**2")
    return ""


def power_relation(local: np.ndarray, t: np.ndarray, use: np.ndarray) -> str:
    """Name a local derivative a + b * tanh(x)**k (small a, b; k = 1..4), fitted to the
    learner's got / grad, that is not the right 1 - tanh(x)**2; or ""."""
    simple = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0)
    for k in (1, 2, 3, 4):
        basis = np.stack([np.ones(int(use.sum())), t[use] ** k], axis=1)
        (a, b), *_ = np.linalg.lstsq(basis, local[use], rcond=None)
        if not np.allclose(basis @ (a, b), local[use], rtol=1e-4, atol=1e-5):
            continue
        a_near = min(simple, key=lambda c: abs(c - a))
        b_near = min(simple, key=lambda c: abs(c - b))
        if abs(a - a_near) > 1e-4 or abs(b - b_near) > 1e-4 or b_near == 0 or \
                (k, a_near, b_near) == (2, 1, -1):
            continue
        term = f"{abs(b_near):g} * tanh(x)**{k}".replace("1 * ", "").replace("**1", "")
        sign = "-" if b_near < 0 else "+"
        text = f"{a_near:g} {sign} {term}" if a_near else f"{'-' if b_near < 0 else ''}{term}"
        return (f"you multiply grad by {text}; the derivative of tanh is 1 - tanh(x)**2 (tanh "
                "squared: ** 2, subtracted from 1)")
    return ""


# Derivatives of other functions that a tanh backward may use by mistake: (what, of x).
LOCAL_DERIVATIVES: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (
    ("1 / (1 + x**2), the derivative of arctan", lambda x: 1 / (1 + x ** 2)),
    ("cosh(x), the derivative of sinh", np.cosh),
    ("sinh(x), the derivative of cosh", np.sinh),
    ("1 / cosh(x)**2 evaluated at tanh(x)", lambda x: 1 / np.cosh(np.tanh(x)) ** 2),
    ("exp(-x**2)", lambda x: np.exp(-x ** 2)),
    ("1 - tanh(x / 2)**2", lambda x: 1 - np.tanh(x / 2) ** 2),
    ("-2 tanh(x) (1 - tanh(x)**2), the second derivative of tanh (you differentiated twice)",
     lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    ("2 tanh(x) (1 - tanh(x)**2), the second derivative of tanh without its minus sign",
     lambda x: 2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    ("-2 (1 - tanh(x)**2)(1 - 3 tanh(x)**2), the third derivative of tanh",
     lambda x: -2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2)),
    ("log(cosh(x)), the integral of tanh, not its derivative", lambda x: np.log(np.cosh(x))),
)


def function_swaps() -> list[tuple[str, Callable[[np.ndarray], np.ndarray]]]:
    """1 - u(x)**2 and its relatives with another function u in place of tanh (a typo or a
    confusion: tan, sinh, cosh, sigmoid, ...), each as (how it reads, its values)."""
    functions = (("tanh(x)", np.tanh), ("tan(x)", np.tan), ("sinh(x)", np.sinh),
                 ("cosh(x)", np.cosh), ("sin(x)", np.sin), ("cos(x)", np.cos),
                 ("exp(x)", np.exp), ("exp(-x)", lambda x: np.exp(-x)),
                 ("sigmoid(x)", lambda x: 1 / (1 + np.exp(-x))))
    forms = (("1 - {}**2", lambda u: 1 - u ** 2), ("{}", lambda u: u), ("1 - {}", lambda u: 1 - u),
             ("{}**2", lambda u: u ** 2), ("1 / {}**2", lambda u: 1 / u ** 2),
             ("1 / {}", lambda u: 1 / u), ("1 + {}**2", lambda u: 1 + u ** 2),
             ("{} * (1 - {})", lambda u: u * (1 - u)))
    return [(form.format(name, name), lambda x, f=f, u=u: f(u(x)))
            for name, u in functions for form, f in forms
            if form.format(name, name) not in ("1 - tanh(x)**2", "1 / cosh(x)**2")]


# ---- graphs of scalar nodes ------------------------------------------------------------------
class WalkTooLong(CheckFailed):
    """A walk of a graph that read the nodes' inputs far more often than once per node."""

    def __init__(self, title: str, limit: int) -> None:
        super().__init__(title, limit)
        self.title, self.limit = title, limit

    def text(self, exercise: str) -> str:
        return (f"{exercise} on the graph '{self.title}': your code read node._prev more than "
                f"{self.limit} times, so it walks a node again each time it reaches it by "
                "another path (this graph has 2^20 paths, a U-Net's graph far more): stopped "
                "there; visit each node once (a visited set, checked and filled before "
                "visiting a node's inputs)")


class Meter:
    """Counts the reads of the nodes' ``_prev`` in one graph; past `limit` (when set) a walk
    is stopped with a message, so that a walk that revisits nodes cannot run for hours."""

    def __init__(self) -> None:
        self.reads, self.limit, self.title = 0, None, ""

    def read(self) -> None:
        self.reads += 1
        if self.limit is not None and self.reads > self.limit:
            raise WalkTooLong(self.title, self.limit)

    def bounded(self, nodes: int) -> "Meter":
        """Start counting, with a limit far above what a walk visiting each node once needs."""
        self.reads, self.limit = 0, 200 * nodes + 1000
        return self


class WholeBackward(CheckFailed):
    """A walk that called a node's ``backward()`` (the whole walk again) where its
    ``_backward()`` (that node's share) belongs."""

    def __init__(self, title: str) -> None:
        self.title = title
        super().__init__(self.text("backward"))

    def text(self, exercise: str) -> str:
        return (f"{exercise} on the graph '{self.title}': your {exercise} calls a node's "
                ".backward(), which is the whole backward again from that node (in the notebook "
                "Value.backward() calls your backward, which calls it again, without end): call "
                "node._backward() of each node of the walk, which sends only that node's grad "
                "to its inputs")


class Node:
    """A scalar made by an op (or a leaf): the attributes of the lesson's Value, plus a name,
    a log of the ``_backward`` calls and whether its grad was ever set to a number other
    than 0."""

    def __init__(self, name: str, data: float, prev: tuple["Node", ...], log: list[str],
                 meter: Meter, title: str = "") -> None:
        self.name, self.data, self._inputs, self._log = name, float(data), prev, log
        self._grad, self.held_grad, self._meter, self._title = 0.0, False, meter, title
        self._backward: Callable[[], None] = lambda: log.append(name)

    @property
    def grad(self) -> float:
        return self._grad

    @grad.setter
    def grad(self, value: float) -> None:
        self._grad = value
        self.held_grad = self.held_grad or not (np.ndim(value) == 0 and value == 0)

    @property
    def _prev(self) -> tuple["Node", ...]:
        self._meter.read()
        return self._inputs

    def backward(self) -> None:
        """The lesson's Value.backward() runs the whole walk; inside a walk it is a mistake."""
        raise WholeBackward(self._title)

    def __repr__(self) -> str:
        return f"Value({self.name}={self.data:g})"


class Graph:
    """A small graph built with add, mul and tanh nodes; nodes are listed in creation order."""

    def __init__(self, title: str) -> None:
        self.title, self.nodes, self.log, self.meter = title, [], [], Meter()
        self.meter.title = title

    def leaf(self, name: str, data: float) -> Node:
        node = Node(name, data, (), self.log, self.meter, self.title)
        self.nodes.append(node)
        return node

    def op(self, name: str, kind: str, *inputs: Node) -> Node:
        data = {"+": lambda: inputs[0].data + inputs[1].data,
                "*": lambda: inputs[0].data * inputs[1].data,
                "tanh": lambda: math.tanh(inputs[0].data)}[kind]()
        out = Node(name, data, inputs, self.log, self.meter, self.title)

        def backward() -> None:
            self.log.append(name)
            if kind == "+":
                inputs[0].grad += out.grad
                inputs[1].grad += out.grad
            elif kind == "*":
                inputs[0].grad += inputs[1].data * out.grad
                inputs[1].grad += inputs[0].data * out.grad
            else:
                inputs[0].grad += (1 - out.data ** 2) * out.grad

        out._backward = backward
        self.nodes.append(out)
        return out

    @property
    def root(self) -> Node:
        return self.nodes[-1]

    def index(self, node: Any) -> int:
        """The node's position in this graph, or -1 for an object that is not one of its nodes."""
        return next((i for i, n in enumerate(self.nodes) if n is node), -1)


def graphs() -> list[Graph]:
    """Fresh graphs: a neuron, shared sub-expressions, an input used twice, a long chain, a leaf."""
    neuron = Graph("neuron tanh(x1*w1 + x2*w2 + b)")
    x1, w1 = neuron.leaf("x1", 2.0), neuron.leaf("w1", -3.0)
    x2, w2 = neuron.leaf("x2", 0.0), neuron.leaf("w2", 1.0)
    b = neuron.leaf("b", 6.8813735870195432)
    m1, m2 = neuron.op("x1*w1", "*", x1, w1), neuron.op("x2*w2", "*", x2, w2)
    neuron.op("o", "tanh", neuron.op("n", "+", neuron.op("s", "+", m1, m2), b))

    shared = Graph("shared: c = a*b; d = c + a; e = c*d; f = e + c")
    a, b = shared.leaf("a", 1.5), shared.leaf("b", -0.5)
    c = shared.op("c", "*", a, b)
    d = shared.op("d", "+", c, a)
    shared.op("f", "+", shared.op("e", "*", c, d), c)

    twice = Graph("twice: y = x*x; z = y + y")
    x = twice.leaf("x", 3.0)
    y = twice.op("y", "*", x, x)
    twice.op("z", "+", y, y)

    chain = Graph("chain of 40 tanh and + nodes")
    node = chain.leaf("x", 0.3)
    for i in range(20):
        node = chain.op(f"h{i}", "+", chain.op(f"t{i}", "tanh", node), node)

    single = Graph("a single leaf")
    single.leaf("x", 1.0)
    drawn = [_build("a graph drawn for this run", steps) for steps in [drawn_graph()] if steps]
    return [neuron, shared, twice, chain, single, *drawn]


Step = tuple[str, str, float, int, int]  # (kind or "leaf", name, leaf value, input, input)


@own_cases(stream=1)
def drawn_graph(rng: np.random.Generator, fresh: bool) -> list[Step]:
    """Fresh only: the steps of a random graph, a chain of +, * and tanh nodes each taking
    the previous node and a new leaf or any earlier node (so the output depends on all)."""
    if not fresh:
        return []
    steps: list[Step] = [("leaf", "x0", float(rng.uniform(-1, 1)), -1, -1)]
    last = 0
    for i in range(1, 8):
        kind = ("+", "*", "tanh")[int(rng.integers(3))]
        other = int(rng.integers(len(steps)))
        if kind != "tanh" and rng.random() < 0.5:
            steps.append(("leaf", f"x{i}", float(rng.uniform(-1, 1)), -1, -1))
            other = len(steps) - 1
        steps.append((kind, f"n{i}", 0.0, last, other))
        last = len(steps) - 1
    return steps


def _build(title: str, steps: list[Step]) -> Graph:
    graph = Graph(title)
    for kind, name, value, a, b in steps:
        if kind == "leaf":
            graph.leaf(name, value)
        else:
            inputs = (graph.nodes[a],) if kind == "tanh" else (graph.nodes[a], graph.nodes[b])
            graph.op(name, kind, *inputs)
    return graph


def reference_backward(graph: Graph) -> list[float]:
    """The graph's gradients by the reverse of its creation order (a valid topological order)."""
    graph.root.grad = 1.0
    for node in reversed(graph.nodes):
        node._backward()
    return [n.grad for n in graph.nodes]


def _bad_order(graph: Graph, order: list[int]) -> str:
    """Why `order` (node indices) is not a topological order of `graph`, or ""."""
    names = [n.name for n in graph.nodes]
    if -1 in order:
        return "it holds an object that is not a node of the graph"
    for i, node in enumerate(graph.nodes):
        count = order.count(i)
        if count == 0 and i == len(names) - 1:
            return (f"the output '{node.name}' itself is missing: after visiting its inputs, "
                    "append the root too, so the list ends with it")
        if count == 0:
            return (partial_traversal(graph, set(order))
                    or f"'{node.name}' is missing (every node the output depends on belongs in it)")
        if count > 1:
            return (f"'{node.name}' appears {count} times: keep a set of visited nodes "
                    "and add each node once")
    position = {i: order.index(i) for i in range(len(names))}
    early = [(node.name, parent.name) for i, node in enumerate(graph.nodes)
             for parent in node._prev if position[graph.index(parent)] > position[i]]
    why = traversal_relation(graph, order) if early else ""
    if why:
        return why.format(node=early[0][0], input=early[0][1])
    if len(names) > 1 and order[0] == len(names) - 1:
        return ("the output comes first: add a node to the list only after all its inputs "
                "(_prev) have been added, so the output ends up last")
    for i, node in enumerate(graph.nodes):
        for parent in node._prev:
            j = graph.index(parent)
            if position[j] > position[i]:
                return (f"'{node.name}' comes before its input '{parent.name}': add a node only "
                        "after all its inputs (_prev) are in the list")
    return ""


def traversal_relation(graph: Graph, order: list[int]) -> str:
    """Name every walk that gives `order` (node indices) when it is not a topological order: a
    depth-first one with repeats kept at their last place, a reversed preorder, or a
    breadth-first one from the output (in one of the orders a learner may list it, leaves apart
    or not); or "". The text leaves {node} and {input} to fill with a pair out of order."""
    walk: list[int] = []
    queue, seen = [graph.root], {graph.index(graph.root)}
    while queue:
        node = queue.pop(0)
        walk.append(graph.index(node))
        for child in node._prev:
            if graph.index(child) not in seen:
                seen.add(graph.index(child))
                queue.append(child)
    leaves = [i for i in walk if not graph.nodes[i]._prev]
    ops = [i for i in walk if graph.nodes[i]._prev]
    orders = (("the breadth-first order from the output, reversed", walk[::-1]),
              ("the leaves first, then the operations breadth-first from the output",
               leaves + ops),
              ("the leaves first, then the operations breadth-first from the output, reversed",
               leaves + ops[::-1]),
              ("the leaves first (reversed), then the operations breadth-first from the output, "
               "reversed", leaves[::-1] + ops[::-1]))
    repeats: list[int] = []                      # a depth-first walk with no visited set

    def visit(node: Any) -> None:
        for child in node._prev:
            if len(repeats) < 10_000:             # repeats grow fast on a deep shared graph
                visit(child)
        repeats.append(graph.index(node))
    visit(graph.root)
    final = {i: k for k, i in enumerate(repeats)}
    readings = [text for text, walked in orders if walked == order]
    kinds = ["a breadth-first walk"] * bool(readings)
    if len(repeats) < 10_000 and sorted(final, key=final.__getitem__) == order:
        readings.insert(0, "a depth-first walk with no visited set, each repeated node kept at "
                        "its last place")
        kinds.insert(0, "a walk that moves a node reached again after later nodes")
    if any(walked == order for walked in preorders(graph)):
        readings.append("a preorder walk with a visited set (each node appended before its "
                        "inputs are visited), reversed")
        kinds.append("a preorder walk")
    if not readings:
        return ""
    also = " (on this graph these give the same list)" if len(readings) > 1 else ""
    return (f"your list is {' or '.join(readings)}{also}: {' and '.join(dict.fromkeys(kinds))} "
            "can put a node before everything it is made from: here '{node}' comes before its "
            "input '{input}'; append each node once, after a depth-first visit of all its inputs "
            "(if node in visited: return; visited.add(node); visit(child) for child in "
            "node._prev; then order.append(node))")


def preorders(graph: Graph) -> list[list[int]]:
    """Reversed preorder walks from the output with a visited set, recursive and with a
    stack (node indices)."""
    recursive: list[int] = []

    def visit(node: Any) -> None:
        if graph.index(node) in recursive:
            return
        recursive.append(graph.index(node))
        for child in node._prev:
            visit(child)
    visit(graph.root)
    stacked: list[int] = []
    stack = [graph.root]
    while stack:
        node = stack.pop()
        if graph.index(node) not in stacked:
            stacked.append(graph.index(node))
            stack.extend(node._prev)
    return [recursive[::-1], stacked[::-1]]


def partial_traversal(graph: Graph, found: set[int]) -> str:
    """Name the rule of a traversal that reached exactly the nodes `found` (indices) but not
    all of them: one input per node followed, or the leaves left out; or ""."""
    def reach(pick: Callable[[list[Any]], list[Any]]) -> set[int]:
        seen: set[int] = set()
        stack = [graph.root]
        while stack:
            node = stack.pop()
            if graph.index(node) not in seen:
                seen.add(graph.index(node))
                stack.extend(pick(list(node._prev)))
        return seen
    for text, pick in (("only the first input of each node", lambda p: p[:1]),
                       ("only the last input of each node", lambda p: p[-1:])):
        if reach(pick) == found:
            return (f"your traversal follows {text}: recurse into every node in _prev "
                    "(for child in node._prev: visit(child))")
    leaves = {i for i, n in enumerate(graph.nodes) if not n._prev}
    if found == leaves and len(leaves) < len(graph.nodes):
        return ("your list holds only the leaves (the nodes with no inputs): append every "
                "visited node, the operations too, each after its inputs")
    if found == set(range(len(graph.nodes))) - leaves:
        return ("the leaves (nodes with no inputs) are missing: append every visited node, "
                "also one whose _prev is empty")
    by_value: list[Any] = []                        # a depth-first walk that marks values
    seen_values: set[float] = set()

    def walk(node: Any) -> None:
        if node.data in seen_values:
            return
        seen_values.add(node.data)
        for child in node._prev:
            walk(child)
        by_value.append(node)
    walk(graph.root)
    if {graph.index(n) for n in by_value} == found:
        lost = [f"'{n.name}'" for k, n in enumerate(graph.nodes) if k not in found]
        return (f"{', '.join(lost)} {'is' if len(lost) == 1 else 'are'} missing: your visited "
                "check compares values (node.data), so a node that holds a value seen before "
                "is skipped; keep a set of the nodes themselves (node in visited)")
    for i in sorted(found, reverse=True):          # from the output down
        node = graph.nodes[i] if 0 <= i < len(graph.nodes) else None
        for child in (node._prev if node is not None else ()):
            if graph.index(child) not in found:
                return (f"'{node.name}' is in your list but its input '{child.name}' is missing: "
                        "the traversal stops before reaching every input; recurse into every "
                        "node in _prev (for child in node._prev: visit(child))")
    return ""


def _order_array(values: Any, graph: Graph, what: str) -> np.ndarray:
    if values is None:
        raise CheckFailed(f"{what} returned None: did you forget `return`?")
    return np.array([graph.index(v) for v in values], dtype=np.int64)


def stopped(outputs: Outputs, i: int, graph: Graph, exercise: str) -> None:
    """Fail with the walk's message if the probe stopped the learner's walk of graph i."""
    if "stopped" in outputs and int(outputs["stopped"]) == i:
        raise CheckFailed(WalkTooLong(graph.title, int(outputs["limit"])).text(exercise))
    if "whole_backward" in outputs and int(outputs["whole_backward"]) == i:
        raise CheckFailed(WholeBackward(graph.title).text(exercise))


def _probe_topo(topological_order: Callable[[Any], Any]) -> Outputs:
    out: Outputs = {}
    for i, graph in enumerate(graphs()):
        graph.meter.bounded(len(graph.nodes))
        try:
            order = topological_order(graph.root)
        except WalkTooLong as err:                 # the graphs before it are still judged
            return {**out, "stopped": np.array(i), "limit": np.array(err.limit)}
        graph.meter.limit = None
        out[f"graph{i}"] = _order_array(order, graph, "topological_order")
        out[f"graph{i}_earlier"] = np.array(sum(isinstance(v, Node) and
                                                all(v is not n for n in graph.nodes) for v in order))
    out["kept_in"] = np.array(state_holder(topological_order))
    return out


def _holds_nodes(value: Any) -> bool:
    return isinstance(value, (list, set, dict)) and any(isinstance(v, Node) for v in value)


def state_holder(fn: Callable[..., Any]) -> str:
    """'the default argument order=[] of `visit`' or 'the module-level list `order`': where
    `fn` (or a function of its module that it calls) keeps nodes between calls; "" if nowhere."""
    names = getattr(getattr(fn, "__code__", None), "co_names", ())
    scope = getattr(fn, "__globals__", {})
    for candidate in [fn] + [scope[n] for n in names if inspect.isfunction(scope.get(n))]:
        code, defaults = candidate.__code__, candidate.__defaults__ or ()
        params = code.co_varnames[code.co_argcount - len(defaults):code.co_argcount]
        for param, value in zip(params, defaults):
            if _holds_nodes(value):
                empty = {list: "[]", set: "set()", dict: "{}"}[type(value)]
                return f"the default argument {param}={empty} of `{candidate.__name__}`"
    for name in names:
        if _holds_nodes(scope.get(name)):
            return f"the module-level {type(scope[name]).__name__} `{name}`"
    return ""


def topological(graph: Graph, order: list[int]) -> bool:
    """Whether `order` (node indices) holds every node of `graph` once, each after its inputs."""
    if sorted(order) != list(range(len(graph.nodes))):
        return False
    position = {k: place for place, k in enumerate(order)}
    return all(position[graph.index(parent)] < position[k]
               for k, node in enumerate(graph.nodes) for parent in node._prev)


def backwards_relation(outputs: Outputs) -> str:
    """Name a list that, read backwards, is a topological order on every graph walked; or ""."""
    walked = [(graph, outputs[f"graph{i}"].tolist()) for i, graph in enumerate(graphs())
              if f"graph{i}" in outputs]
    if walked and all(topological(graph, order[::-1]) for graph, order in walked):
        return ("your list is a topological order read backwards (the output first, each node "
                "before its inputs) on every graph: the order asked for runs the other way, "
                "each node after its inputs and the output last, since backward() reverses it "
                "itself: return the order as built, not reversed (or reverse your list once "
                "more)")
    return ""


def kept_between_calls(outputs: Outputs, i: int) -> str:
    """Name a list for graph i whose foreign entries are all nodes of the check's graphs walked
    in earlier calls (or that a holder found by `state_holder` keeps): state kept between
    calls; "" otherwise."""
    order = outputs[f"graph{i}"].tolist()
    foreign = order.count(-1)
    if not foreign or (int(outputs.get(f"graph{i}_earlier", -1)) != foreign and
                       not str(outputs.get("kept_in", ""))):
        return ""
    held = str(outputs.get("kept_in", "")) or "a mutable default argument (order=[], " \
        "visited=set()) or a list made outside the function"
    return (f"{foreign} of its entries are nodes of the graphs walked in earlier calls, so "
            f"your list (or visited set) survives between calls, kept in {held}: create it "
            "inside topological_order, anew on each call")


def _verdict_topo(outputs: Outputs) -> None:
    for i, graph in enumerate(graphs()):
        stopped(outputs, i, graph, "topological_order")
        why = _bad_order(graph, outputs[f"graph{i}"].tolist())
        why = why and (kept_between_calls(outputs, i) or backwards_relation(outputs) or why)
        if why:
            got = [graph.nodes[k].name if k >= 0 else "?" for k in outputs[f"graph{i}"].tolist()]
            raise CheckFailed(f"topological_order on the graph '{graph.title}': {why}. "
                              f"Got [{', '.join(got)}]")


def _probe_backward(backward: Callable[[Any], None]) -> Outputs:
    out = {}
    for i, graph in enumerate(graphs()):
        graph.meter.bounded(len(graph.nodes))
        try:
            backward(graph.root)
            index = {n.name: k for k, n in enumerate(graph.nodes)}
            out[f"graph{i}_grads"] = np.array([n.grad for n in graph.nodes])
            out[f"graph{i}_calls"] = np.array([index[name] for name in graph.log],
                                              dtype=np.int64)
            out[f"graph{i}_seeded"] = np.array(graph.root.held_grad)
            backward(graph.root)
        except WalkTooLong as err:                 # the graphs before it are still judged
            return {**out, "stopped": np.array(i), "limit": np.array(err.limit)}
        except WholeBackward:
            return {**out, "whole_backward": np.array(i)}
        graph.meter.limit = None
        out[f"graph{i}_again"] = np.array([n.grad for n in graph.nodes])
    return out


def seeding_relation(i: int, got: np.ndarray) -> str:
    """Name a seed of 1 given to every node, not only the output, if it gives the learner's
    grads on graph i; or ""."""
    for text, seed in (
            ("each node's grad is set to 1.0 right before its _backward(), overwriting what its "
             "users sent it", lambda g: 1.0),
            ("every node's grad starts at 1 (the seed 1.0 is given to every node, not only the "
             "output)", lambda g: g + 1.0)):
        graph = graphs()[i]
        for node in reversed(graph.nodes):
            node.grad = seed(node.grad)
            node._backward()
        if np.allclose(got, [n.grad for n in graph.nodes], rtol=1e-9, atol=1e-12):
            return (f"{text}: gradients start at 0 and are only added to; set only "
                    "root.grad = 1.0, once, before the walk")
    return ""


def unseeded_walk(seeded: bool) -> str:
    """Why a walk in which every node sent its gradient back left every grad at 0: the
    output's grad was set and then reset, or never given a value other than 0."""
    if seeded:
        return ("every grad is 0 after backward, the output's too, though every node sent its "
                "gradient back: a reset (node.grad = 0) runs after root.grad = 1.0 was set, "
                "before or during the walk back; zero the grads first, then set root.grad = "
                "1.0, and never zero during the walk")
    return ("every grad is 0 after backward, the output's too: every node sent its gradient "
            "back, but the output's grad was 0 all along (never set to 1.0), so the walk carried "
            "zeros; set root.grad = 1.0 (dL/dL) before walking back")


def reference_twice(graph: Graph) -> np.ndarray:
    """The graph's gradients after two calls of backward (the second adds to the first)."""
    reference_backward(graph)
    return np.array(reference_backward(graph))


def _verdict_backward(outputs: Outputs) -> None:
    for i, graph in enumerate(graphs()):
        stopped(outputs, i, graph, "backward")
        got = outputs[f"graph{i}_grads"]
        calls = outputs[f"graph{i}_calls"].tolist()
        where = f"backward on the graph '{graph.title}'"
        names = [n.name for n in graph.nodes]
        if not got.any() and len(got) > 1 and all(k in calls for k, n in enumerate(graph.nodes)
                                                  if n._prev):
            raise CheckFailed(f"{where}: {unseeded_walk(bool(outputs[f'graph{i}_seeded']))}")
        if got[-1] != 1.0:
            raise CheckFailed(f"{where}: the output's grad is {got[-1]:g}, expected 1.0: set "
                              "root.grad = 1.0 (dL/dL) before walking back")
        made = [k for k, n in enumerate(graph.nodes) if n._prev]
        for k in made:
            if calls.count(k) == 0:
                raise CheckFailed(f"{where}: '{names[k]}' never sent its gradient back: call "
                                  "_backward() of every node of topological_order(root)")
            if calls.count(k) > 1:
                raise CheckFailed(f"{where}: '{names[k]}' sent its gradient back "
                                  f"{calls.count(k)} times: call each node's _backward() once")
        first = {k: calls.index(k) for k in made}
        for k in made:
            for parent in graph.nodes[k]._prev:
                j = graph.index(parent)
                if j in first and first[j] < first[k]:
                    raise CheckFailed(
                        f"{where}: '{names[j]}' sent its gradient back before '{names[k]}', "
                        f"which uses it, had added its share to {names[j]}.grad: walk the "
                        "topological order in reverse (output first)")
        expected = np.array(reference_backward(graph))
        if len(got) > 1 and not got[:-1].any() and expected[:-1].any():
            raise CheckFailed(f"{where}: every node's grad but the output's is 0: the walk "
                              "back ran before the output's grad was 1, so it carried zeros; "
                              "set root.grad = 1.0 before calling any _backward()")
        bad = np.flatnonzero(~np.isclose(got, expected, rtol=1e-9, atol=1e-12))
        why = seeding_relation(i, got) if bad.size else ""
        if why:
            raise CheckFailed(f"{where}: {why}")
        if bad.size:
            k = int(bad[0])
            raise CheckFailed(f"{where}: {names[k]}.grad is {got[k]:.6g}, expected "
                              f"{expected[k]:.6g}; gradients must start at 0 and only be added to")
    for i, graph in enumerate(graphs()):
        first, again = outputs[f"graph{i}_grads"], outputs[f"graph{i}_again"]
        expected = reference_twice(graph)
        if np.allclose(again, expected, rtol=1e-9, atol=1e-12):
            continue
        where = f"backward called a second time on the graph '{graph.title}'"
        if np.allclose(again, first, rtol=1e-9, atol=1e-12):
            raise CheckFailed(f"{where}: the grads are those of one call, so your backward "
                              "resets them (grad = 0) before walking back; a second call must add "
                              "to them, so set only root.grad = 1.0 and zero nothing")
        k = int(np.flatnonzero(~np.isclose(again, expected, rtol=1e-9, atol=1e-12))[0])
        raise CheckFailed(f"{where}: {graph.nodes[k].name}.grad is {again[k]:.6g}, expected "
                          f"{expected[k]:.6g}; set root.grad = 1.0 and add into the other grads, "
                          "never assign or reset them")


# ---- unbroadcast -----------------------------------------------------------------------------
UNBROADCAST_CASES = ("add_3x1x5_4x5", "add_2x3_2x3", "add_4x5_3x1x5", "add_2x1_1x3",
                     "add_5_2x3x5", "add_2x3x4_0d", "add_1_3x2")


def _probe_unbroadcast(unbroadcast: Callable[..., Any]) -> Outputs:
    try:
        return _probe_unbroadcast_cases(unbroadcast)
    except ValueError as err:
        if "requested shape" not in str(err):
            raise
        raise CheckFailed(f"{describe_error(EXERCISES['check_unbroadcast'], err)}. "
                          "np.broadcast_to stretches an array to a larger shape, the forward "
                          "direction; unbroadcast goes back: sum grad over the stretched axes"
                          ) from None


def _probe_unbroadcast_cases(unbroadcast: Callable[..., Any]) -> Outputs:
    out = {}
    for name in UNBROADCAST_CASES:
        case = cases("elementwise")[name]
        for x in ("a", "b"):
            try:
                result = unbroadcast(case["grad_out"].copy(), case[x].shape)
            except ValueError as err:
                hint = unsummed_hint(str(err), case["grad_out"].shape, case[x].shape)
                if not hint:
                    raise
                message = describe_error(EXERCISES["check_unbroadcast"], err)
                message = message.replace(". " + core.error_hint(str(err), {}), "")
                raise CheckFailed(f"{message}. unbroadcast(grad of shape "
                                  f"{case['grad_out'].shape}, shape={case[x].shape}): {hint}"
                                  ) from None
            out[f"{name}_{x}"] = returned(result, "unbroadcast")
    return out


def unsummed_hint(error: str, grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> str:
    """Which broadcast axes were not summed, read from the size of an array that a reshape to
    `shape` refused (its size counts the copies left), or the axes of `shape` left unshifted
    when a sum got one axis twice; or ""."""
    extra = len(grad_shape) - len(shape)
    if "duplicate value in 'axis'" in error:
        unshifted = [i for i, n in enumerate(shape) if n == 1 and grad_shape[i + extra] != 1]
        clash = sorted(set(range(extra)) & set(unshifted))
        if clash:
            return (f"axis {clash[0]} is summed twice: once as a leading axis, once as the "
                    f"size-1 axis {clash[0]} of `shape`, numbered in shape's own frame; in grad "
                    f"that axis is {clash[0] + extra}: shift the positions of shape's axes by "
                    f"grad.ndim - len(shape) = {extra}")
        return ""
    found = re.search(r"cannot reshape array of size (\d+) into shape", error)
    if not found or extra < 0:
        return ""
    size, target = int(found.group(1)), int(np.prod(shape))
    if extra > 0 and size == int(np.prod(grad_shape[:-extra])) and size != target:
        return (f"the array you reshape holds grad's first {len(grad_shape) - extra} axes "
                f"{grad_shape[:-extra]}: you summed its last {extra}; broadcasting lines shapes "
                f"up from the right and adds the new axes in front: sum over grad's first "
                f"{extra}")
    leading = int(np.prod(grad_shape[:extra]))
    ones = int(np.prod([g for n, g in zip(shape, grad_shape[extra:]) if n == 1]))
    if size == target * leading * ones and leading > 1 and ones > 1:
        return ("the array you reshape still holds every copy: nothing was summed; sum over "
                f"the {extra} leading axes of grad, then over the axes where `shape` has 1")
    if size == target * leading and leading > 1:
        return (f"the array you reshape still holds grad's {extra} leading "
                f"ax{'i' if extra == 1 else 'e'}s {grad_shape[:extra]} ({size} = {leading} x "
                f"{target} values): sum over the first grad.ndim - len(shape) = {extra} axes of "
                "grad (is the count of leading axes computed the other way round, or 0?)")
    if size == target * ones and ones > 1:
        return ("the array you reshape still holds the copies along the axes where `shape` "
                "has 1: sum over those axes (keepdims=True) before the reshape")
    return ""


def _verdict_unbroadcast(outputs: Outputs) -> None:
    if all(np.array_equal(outputs[f"{name}_{x}"], cases("elementwise")[name]["grad_out"])
           for name in UNBROADCAST_CASES for x in ("a", "b")):
        raise CheckFailed("unbroadcast returned grad unchanged in every case: sum over the axes "
                          "that broadcasting added in front, and with keepdims=True over those "
                          "where `shape` has 1")
    for name in UNBROADCAST_CASES:
        case = cases("elementwise")[name]
        for x in ("a", "b"):
            got, expected = outputs[f"{name}_{x}"], case[f"grad_{x}"]
            grad_shape, shape = case["grad_out"].shape, expected.shape
            what = f"unbroadcast(grad of shape {grad_shape}, shape={shape})"
            if got.shape != shape:
                hint = _unbroadcast_hint(got.shape, grad_shape, shape) or \
                    summed_axes(got, case["grad_out"], shape)
                raise CheckFailed(f"{what}: wrong shape: expected {shape}, got {got.shape}"
                                  + (f"; {hint}" if hint else ""))
            one_copy = _one_copy(case["grad_out"], shape)
            if any(np.allclose(got, copy) and not np.allclose(copy, expected) for copy in one_copy):
                raise CheckFailed(f"{what}: you kept one copy of the gradient (an index or a "
                                  "slice) along the broadcast axes; every copy of the input got "
                                  "its share: sum over those axes")
            if expected.size and np.allclose(got * grad_shape_size(grad_shape, shape), expected,
                                             rtol=1e-4, atol=1e-5) and not np.allclose(got, expected):
                raise CheckFailed(f"{what}: right shape, but you averaged: sum the gradient "
                                  "over the broadcast axes (each copy got the whole gradient)")
            why = reduction_relation(got, case["grad_out"], shape)
            if why:
                raise CheckFailed(f"{what}: {why}")
            if np.array_equal(got, np.round(got)) and not np.allclose(expected, np.round(expected)):
                raise CheckFailed(f"{what}: your values are whole numbers where the right ones "
                                  "are not: an integer dtype cut them (sum(dtype=int), "
                                  "astype(int), an int buffer); keep grad's float dtype")
            expect_close(what, got, expected)


def summed_axes(got: np.ndarray, grad: np.ndarray, shape: tuple[int, ...]) -> str:
    """'you summed grad over axis 0 ...; sum over axis 1 (keepdims=True)' when `got` is grad
    summed over another set of its axes than the broadcast ones, or ""."""
    extra = grad.ndim - len(shape)
    lead = tuple(range(extra))
    ones = tuple(extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    if extra < 0 or not lead + ones:
        return ""
    for count in range(1, grad.ndim + 1):
        for axes in itertools.combinations(range(grad.ndim), count):
            if axes == lead + ones:
                continue
            for keep in (False, True):
                wrong = grad.sum(axis=axes, keepdims=keep)
                if wrong.shape == got.shape and np.allclose(got, wrong, rtol=1e-4, atol=1e-5):
                    said = ", ".join(map(str, axes))
                    parts = ([f"the {extra} leading ax{'i' if extra == 1 else 'e'}s"] * bool(lead)
                             + [f"axis {', '.join(map(str, ones))} with keepdims=True "
                                "(where `shape` has 1)"] * bool(ones))
                    return (f"you summed grad {tuple(grad.shape)} over axis {said}"
                            f"{' with keepdims=True' * keep}; the axes to sum are "
                            f"{' and '.join(parts)}")
    return ""


def reduction_relation(got: np.ndarray, grad: np.ndarray, shape: tuple[int, ...]) -> str:
    """Name a reduction other than the sum (max, min, product, the first axis's sum only...)
    over the broadcast axes that gives `got`, or ""."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape)
                                       if n == 1 and grad.shape[extra + i] != 1)
    if not axes:
        return ""
    right = grad.sum(axis=axes).reshape(shape)
    for name, reduce in (("np.max", np.max), ("np.min", np.min), ("np.prod", np.prod),
                         ("np.median", np.median)):
        wrong = reduce(grad, axis=axes).reshape(shape)
        if not np.allclose(wrong, right) and np.allclose(got, wrong):
            return (f"your values are {name} over the broadcast axes; each copy of the input "
                    "passed its gradient on, so add them up: sum over those axes")
    size = int(np.prod(shape))
    for text, regroup in (("grad.reshape(-1, *shape).sum(axis=0)",
                           lambda: grad.reshape(-1, *shape).sum(axis=0)),
                          ("grad.reshape(*shape, -1).sum(axis=-1)",
                           lambda: grad.reshape(*shape, -1).sum(axis=-1))):
        wrong = regroup() if size and grad.size % size == 0 else None
        if wrong is not None and not np.allclose(wrong, right) and np.allclose(got, wrong):
            return (f"your values are {text}: a reshape regroups the values in memory order, "
                    "which mixes entries of different positions; sum over the broadcast axes "
                    "themselves (the leading ones, and keepdims=True where `shape` has 1)")
    return ""


def _unbroadcast_hint(got: tuple[int, ...], grad_shape: tuple[int, ...],
                      shape: tuple[int, ...]) -> str:
    """What a wrongly shaped unbroadcast result says about the axes that were summed."""
    extra = len(grad_shape) - len(shape)
    if got == () and shape != ():
        return "you summed everything to one number; sum only over the axes broadcasting made"
    if got == grad_shape:
        if extra > 0:
            return ("you returned grad unchanged: sum over the axes that broadcasting added in "
                    "front, and over those where `shape` has 1")
        return "the axes where `shape` has a 1 are not summed: sum them with keepdims=True"
    if int(np.prod(got)) == int(np.prod(shape)):
        return "the values may be right: reshape the result to `shape`"
    ones = tuple(i for i, n in enumerate(shape) if n == 1)
    if extra > 0 and ones and got == grad_shape[extra:]:
        shifted = (f"; an index i used without the shift by {extra} lands on a leading axis, "
                   f"since `shape` lines up with the LAST {len(shape)} axes of grad"
                   if max(ones) < extra else "")
        return (f"you summed the {extra} leading ax{'i' if extra == 1 else 'e'}s but not the "
                f"axes where `shape` has 1: sum over both, grad's axis {extra} + i for every "
                f"shape[i] == 1 after the leading ones (an if/elif runs only one of the two"
                f"{shifted})")
    if extra > 0 and ones and max(ones) < len(grad_shape):
        misaligned = list(grad_shape)
        for i in ones:
            misaligned[i] = 1
        if got == tuple(misaligned[extra:]):
            return (f"the axes of `shape` line up with the LAST {len(shape)} axes of grad: sum "
                    f"away the {extra} leading axes first (or add {extra} to the indices of the "
                    "axes where `shape` has 1)")
    if extra > 1 and any(got == grad_shape[k:] for k in range(1, extra)):
        summed = len(grad_shape) - len(got)
        return (f"you summed {summed} of the {extra} axes that broadcasting added in front; sum "
                f"over all of them, the first {extra} axes of grad")
    trailing = tuple(1 if n == 1 else g for n, g in zip(shape, grad_shape))
    if extra > 0 and got == trailing:
        return ("you summed the trailing axes away; broadcasting lines shapes up from the right "
                "and adds the new axes in front, so sum over the first "
                f"{extra} ax{'i' if extra == 1 else 'e'}s of grad")
    if len(got) == len(shape) and 1 in shape:
        return "sum with keepdims=True over the axes where `shape` has a 1"
    left = tuple(n if n == g else 1 for n, g in zip(shape, grad_shape))
    if extra > 0 and got == left and left != shape:
        return ("you compared `shape` with grad's shape from the left; broadcasting lines them "
                "up from the right (the new axes are in front): sum away grad's first "
                f"{extra} ax{'i' if extra == 1 else 'e'}s, then the axes where `shape` has 1")
    return ""


def _one_copy(grad: np.ndarray, shape: tuple[int, ...]) -> list[np.ndarray]:
    """`grad` cut down to `shape` by keeping its first (or its last) copy along every
    broadcast axis instead of summing them."""
    copies = []
    for keep in (0, -1):
        cut = grad
        while cut.ndim > len(shape):
            cut = cut[keep]
        index = tuple(slice(keep, keep + 1 or None) if n == 1 else slice(None) for n in shape)
        copies.append(np.asarray(cut[index]).reshape(shape))
    return copies


def grad_shape_size(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> int:
    """How many elements of a gradient of `grad_shape` fold onto one element of `shape`."""
    return int(np.prod(grad_shape)) // max(int(np.prod(shape)), 1)


register(Exercise(
    grade_id="check_mul_backward", lesson=LESSON, function="mul_backward",
    probe=_probe_mul, verdict=_verdict_mul,
    success="mul_backward sends b*grad to a and a*grad to b",
    explain_error=plain_error_hint))
register(Exercise(
    grade_id="check_tanh_backward", lesson=LESSON, function="tanh_backward",
    probe=_probe_tanh, verdict=_verdict_tanh,
    success="tanh_backward matches PyTorch",
    engine_ops=("minitorch_unet.basic_ops.Tanh",),
    explain_error=plain_error_hint))
register(Exercise(
    grade_id="check_topological_order", lesson=LESSON, function="topological_order",
    probe=_probe_topo, verdict=_verdict_topo,
    success="topological_order lists every node once, after its inputs", points=2,
    engine_ops=("minitorch_unet.autograd._topological_order",),
    explain_error=plain_error_hint))
register(Exercise(
    grade_id="check_backward", lesson=LESSON, function="backward",
    probe=_probe_backward, verdict=_verdict_backward,
    success="backward gets every gradient of every graph right", points=2,
    engine_ops=("minitorch_unet.autograd._topological_order",),
    explain_error=plain_error_hint))
register(Exercise(
    grade_id="check_unbroadcast", lesson=LESSON, function="unbroadcast",
    probe=_probe_unbroadcast, verdict=_verdict_unbroadcast,
    success="unbroadcast matches PyTorch's gradients for broadcast additions", points=2,
    engine_ops=("minitorch_unet.autograd._unbroadcast", "minitorch_unet.basic_ops._sum_to"),
    explain_error=plain_error_hint))
