"""Checks of lesson 09 (training): one step of SGD with momentum, and one step of Adam.

The learner's steps work on NumPy arrays. Each verdict recomputes the update in closed form
(PyTorch's ``torch.optim.SGD`` and ``torch.optim.Adam`` rules, written out), both for single
steps and along a trajectory of ten steps on a quadratic bowl, where the probe feeds the
learner's own outputs back in. Wrong answers are compared with classic mistakes (no bias
correction, epsilon inside the square root, an averaged momentum buffer...).
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np

from .core import (EXERCISES, CheckFailed, Exercise, Outputs, describe_error, expect_close,
                   number_exercises, own_cases, register)
from .lesson00 import plain_error_hint

LESSON = "09_training"
number_exercises(LESSON, ("sgd_momentum_step", "adam_step"))
BOWL = np.array([[1.0, 4.0, 0.25], [2.0, 0.5, 9.0]])  # f(p) = sum(BOWL * p**2) / 2
START = np.array([[1.0, -2.0, 0.5], [-1.5, 3.0, 0.2]])
TRAJECTORY_STEPS = 10


def _arrays(fn_name: str, result: Any, count: int, shape: tuple[int, ...]) -> list[np.ndarray]:
    """The learner's tuple of `count` arrays, each of `shape`, as float64."""
    if result is None:
        raise CheckFailed(f"{fn_name} returned None: did you forget `return`? Even when it "
                          f"updates arrays in place, it returns the {count} new arrays")
    if not isinstance(result, (tuple, list)) or len(result) != count:
        raise CheckFailed(f"{fn_name} must return a tuple of {count} arrays, got "
                          f"{type(result).__name__}" + (f" of length {len(result)}"
                                                         if isinstance(result, (tuple, list)) else ""))
    arrays = [np.asarray(r, dtype=np.float64) for r in result]
    for i, a in enumerate(arrays):
        if a.shape != shape:
            raise CheckFailed(f"{fn_name}: returned array {i} has shape {a.shape}; it must keep "
                              f"the parameter's shape {shape}")
    return arrays


# ---- SGD with momentum -------------------------------------------------------------------------
SGD_CASES = (  # (label, lr, momentum, buffer scale); the first starts from a zero buffer
    # (lr, momentum and 1 - momentum differ within each case, so no two slips coincide)
    ("first step (zero buffer), lr=0.1, momentum=0.8", 0.1, 0.8, 0.0),
    ("lr=0.05, momentum=0.6, with a buffer", 0.05, 0.6, 1.0),
    ("lr=0.2, momentum=0 (plain SGD)", 0.2, 0.0, 1.0),
)


@own_cases(stream=9)
def _sgd_inputs(rng: np.random.Generator, fresh: bool
                ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return [(rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), scale * rng.normal(size=(3, 4)))
            for *_, scale in SGD_CASES]


def sgd_reference(p: np.ndarray, g: np.ndarray, buf: np.ndarray, lr: float,
                  momentum: float) -> tuple[np.ndarray, np.ndarray]:
    """torch.optim.SGD (dampening 0, no Nesterov): buf = momentum buf + g; p -= lr buf."""
    buf = momentum * buf + g
    return p - lr * buf, buf


SGD_MISTAKES: tuple[tuple[str, Callable[..., tuple[np.ndarray, np.ndarray]]], ...] = (
    ("the buffer is an average, buf = momentum buf + (1 - momentum) grad; PyTorch's is a "
     "plain sum, buf = momentum buf + grad",
     lambda p, g, b, lr, m: (p - lr * (m * b + (1 - m) * g), m * b + (1 - m) * g)),
    ("the parameter moves by the gradient, not by the momentum buffer: p -= lr * buf",
     lambda p, g, b, lr, m: (p - lr * g, m * b + g)),
    ("the learning rate went into the buffer (buf = momentum buf + lr grad); keep lr out of "
     "it: buf = momentum buf + grad, then p -= lr buf",
     lambda p, g, b, lr, m: (p - (m * b + lr * g), m * b + lr * g)),
    ("that is Nesterov's update, p -= lr (grad + momentum buf); torch.optim.SGD's default "
     "moves by the buffer itself, p -= lr buf",
     lambda p, g, b, lr, m: (p - lr * (g + m * (m * b + g)), m * b + g)),
    ("the parameter moves by the OLD buffer: update buf = momentum buf + grad first, then "
     "p -= lr * buf", lambda p, g, b, lr, m: (p - lr * b, m * b + g)),
    ("the parameter moves uphill: subtract lr * buf", lambda p, g, b, lr, m: (p + lr * (m * b + g),
                                                                             m * b + g)),
)


def returned_order(got: list[np.ndarray], want: tuple[np.ndarray, ...], names: str) -> str:
    """'' or the message for right arrays returned in another order than (`names`)."""
    for order in itertools.permutations(range(len(want))):
        if list(order) != sorted(order) and all(np.allclose(got[i], want[j])
                                                for i, j in enumerate(order)):
            return f"the right arrays in the wrong order: return ({names}) in that order"
    return ""


def consistent(relation: Callable[[int, str], str], count: int) -> str:
    """A message that relation(case, prefer) gives for every case it explains at all, read
    with that message preferred: one slip for all the cases, not a coincidence of one case
    (a zero buffer, a momentum of 0); "" if there is none."""
    found = [relation(i, "") for i in range(count)]
    for why in dict.fromkeys(w for w in found if w):
        if all(relation(i, why) in (why, "") for i in range(count)):
            return why
    for why in sorted(dict.fromkeys(w for w in found if w), key=lambda w: -w.count("; ")):
        clauses = set(why.split("; "))
        if all(set(relation(i, why).split("; ")) <= clauses | {""} for i in range(count)):
            return why                   # a case where one of the slips makes no difference
    return ""


def preferred(candidates: tuple[tuple[str, Any], ...], prefer: str,
              form: str) -> list[tuple[str, Any]]:
    """The candidates, those whose clause `form.format(text)` is in `prefer` first (so that
    a case where two slips coincide reads as the slip found in the other cases)."""
    return sorted(candidates, key=lambda item: form.format(item[0]) not in prefer)


def linear_rule(got: np.ndarray, terms: tuple[tuple[str, np.ndarray], ...],
                symbols: tuple[tuple[str, float], ...], prefer: str = "") -> str:
    """'a * x + b * y' if `got` is a combination of the arrays `terms` whose coefficients are
    each one of `symbols` (names of the hyper-parameters' expressions), or ""; where two
    symbols have the same value, the reading found in `prefer` first."""
    basis = np.stack([a.reshape(-1) for _, a in terms], axis=1)
    if np.linalg.matrix_rank(basis) < len(terms):
        return ""
    coefficients = np.linalg.lstsq(basis, got.reshape(-1), rcond=None)[0]
    if not np.allclose(basis @ coefficients, got.reshape(-1), rtol=1e-7, atol=1e-10):
        return ""
    choices = [[s for s, value in symbols if np.isclose(c, value, rtol=1e-6, atol=1e-12)]
               for c in coefficients]
    if not all(choices):
        return ""
    readings = []
    for chosen in itertools.product(*choices):
        text = [name if symbol == "1" else f"-{name}" if symbol == "-1" else
                f"{symbol} * {name}" for (name, _), symbol in zip(terms, chosen) if symbol != "0"]
        readings.append(" + ".join(text).replace("+ -", "- ") or "0")
    preferred_readings = [r for r in readings if prefer and r in prefer]
    return max(preferred_readings, key=len) if preferred_readings else readings[0]


def sgd_symbols(lr: float, m: float) -> tuple[tuple[str, float], ...]:
    """The expressions in lr and momentum a learner's SGD coefficients may be."""
    return (("0", 0.0), ("1", 1.0), ("-1", -1.0), ("lr", lr), ("-lr", -lr), ("momentum", m),
            ("lr * momentum", lr * m), ("(1 - momentum)", 1 - m), ("(1 + momentum)", 1 + m),
            ("lr * (1 - momentum)", lr * (1 - m)), ("lr * (1 + momentum)", lr * (1 + m)),
            ("lr**2", lr * lr), ("momentum**2", m * m), ("lr * momentum**2", lr * m * m))


def sgd_relation(p: np.ndarray, g: np.ndarray, buf: np.ndarray, lr: float, m: float,
                 got_p: np.ndarray, got_buf: np.ndarray, prefer: str = "") -> str:
    """Name what is wrong in the new buffer, then in the step taken with the learner's own
    buffer; "" if neither follows a known slip."""
    want_p, want_buf = sgd_reference(p, g, buf, lr, m)
    why = returned_order([got_p, got_buf], (want_p, want_buf), "param, buf")
    if why:
        return why
    parts = []
    kept = linear_rule(got_buf, (("grad", g), ("buf", buf)), sgd_symbols(lr, m), prefer) \
        if prefer and np.abs(buf).max() > 0 else ""
    if kept and f"your new buffer is {kept};" in prefer:  # the other cases' reading first
        parts.append(f"your new buffer is {kept}; it is momentum * buf + grad")
    elif not np.allclose(got_buf, want_buf):
        for text, wrong in preferred((
                ("momentum * (buf + grad): the momentum multiplies the gradient too",
                 m * (buf + g)),
                ("buf + grad: the momentum is left out", buf + g),
                ("momentum * buf - lr * grad, the velocity form; torch.optim.SGD keeps "
                 "lr out of the buffer and subtracts lr * buf from the parameter",
                 m * buf - lr * g),
                ("grad alone: the old buffer is forgotten", g),
                ("momentum * grad + buf: momentum multiplies the wrong term", m * g + buf),
                ("the old buffer, unchanged: return the updated one", buf),
                ("momentum 0.9 whatever the `momentum` given: use the argument",
                 0.9 * buf + g)), prefer, "the new buffer is {};"):
            if not np.allclose(wrong, want_buf) and np.allclose(got_buf, wrong):
                parts.append(f"the new buffer is {text}; it is momentum * buf + grad")
                break
        else:
            used = got_buf - m * buf  # the gradient the buffer took in
            decay = float(np.sum((used - g) * p) / np.sum(p * p))
            if abs(decay) > 1e-12 and np.allclose(used, g + decay * p):
                return (f"the gradient your buffer takes in is grad + {decay:.3g} * param "
                        "(weight decay); this step uses the gradient as given")
            rule = linear_rule(got_buf, (("grad", g), ("buf", buf)), sgd_symbols(lr, m), prefer) \
                if np.abs(buf).max() > 0 else ""
            if not rule:
                return ""
            parts.append(f"your new buffer is {rule}; it is momentum * buf + grad")
    step = (p - got_p) / lr
    if not np.allclose(step, got_buf) and not np.allclose(step, want_buf):
        for text, wrong in preferred((
                ("by grad", g), ("by the old buffer", buf), ("by momentum * buf", m * got_buf),
                ("uphill (+ lr * buf)", -got_buf), ("by (1 - momentum) * buf", (1 - m) * got_buf),
                ("by lr * buf times lr again", lr * got_buf)), prefer, "the parameter moves {};"):
            if np.allclose(step, wrong):
                parts.append(f"the parameter moves {text}; it moves by -lr * (the new buffer)")
                break
        else:
            rule = linear_rule(p - got_p, (("grad", g), ("the new buffer", got_buf)),
                               sgd_symbols(lr, m), prefer) \
                if not np.allclose(got_buf, g) else ""
            if rule and "grad" in rule.replace("the new buffer", ""):
                parts.append(f"your parameter moves by -({rule}): the gradient is counted "
                             "twice, as the new buffer already holds it; move by -lr * (the new "
                             "buffer) alone")
                return "; ".join(parts)
            rule = linear_rule(p - got_p, (("grad", g), ("buf", buf)), sgd_symbols(lr, m),
                               prefer) \
                if np.abs(buf).max() > 0 else ""
            if not rule:
                return ""
            parts.append(f"your parameter moves by -({rule}), where the old buf is the one "
                         "passed in; it moves by -lr * (momentum * buf + grad), -lr times the "
                         "new buffer")
    return "; ".join(parts)


def array_hints(grade_id: str, probe: Callable[[Callable[..., Any]], Outputs]
                ) -> Callable[[Callable[..., Any]], Outputs]:
    """probe, with a `math` function given an array (math.sqrt(v)) named as such."""
    def guarded(fn: Callable[..., Any]) -> Outputs:
        try:
            return probe(fn)
        except TypeError as err:
            if "only 0-dimensional arrays can be converted" not in str(err) and \
                    "only length-1 arrays can be converted" not in str(err):
                raise
            raise CheckFailed(f"{describe_error(EXERCISES[grade_id], err)}. A function of the "
                              "`math` module (math.sqrt, math.exp...) takes one number and "
                              "met an array: use NumPy's, np.sqrt or np.exp, which work on "
                              "every entry") from None
    return guarded


def _probe_sgd(fn: Callable[..., Any]) -> Outputs:
    outputs: Outputs = {}
    for i, ((_, lr, momentum, _), (p, g, buf)) in enumerate(zip(SGD_CASES, _sgd_inputs())):
        outputs[f"step{i}/param"], outputs[f"step{i}/buf"] = _arrays(
            "sgd_momentum_step", fn(p.copy(), g.copy(), buf.copy(), lr, momentum), 2, p.shape)
    p, buf = START.copy(), np.zeros_like(START)
    for _ in range(TRAJECTORY_STEPS):
        p, buf = _arrays("sgd_momentum_step", fn(p.copy(), BOWL * p, buf.copy(), 0.05, 0.9),
                         2, START.shape)
    outputs["trajectory/param"] = p
    return outputs


def step_relation(p: np.ndarray, got: np.ndarray, want: np.ndarray, lr: float = 0.0) -> str:
    """How the learner's step (new parameter - old) relates to the right one: none taken, the
    opposite direction, or a constant factor; "" when none of these."""
    step, right = got - p, want - p
    if not np.abs(right).max() > 0:
        return ""
    if np.allclose(got, p, rtol=0, atol=1e-12 + 1e-6 * np.abs(right).max()):
        return ("the parameter is returned unchanged: subtract the step (param - lr * ...) and "
                "return the result")
    for sign, text in ((-1, "the step itself"), (1, "minus the step")):
        if np.allclose(got, sign * right, rtol=1e-6, atol=1e-12) and not np.allclose(p, 0):
            return (f"you return {text} (lr * ...), not the new parameter: return "
                    "param - lr * ...")
    if np.allclose(step, -right, rtol=1e-6, atol=1e-12):
        return ("your step has the right size but the wrong sign, so it climbs the loss: "
                "subtract it from the parameter (param - lr * ...), do not add it")
    factor = float(np.sum(step * right) / np.sum(right * right))
    if lr and lr != 1 and np.allclose(step, factor * right, rtol=1e-6, atol=1e-12):
        for times, text in ((lr, "lr is applied twice"), (1 / lr, "lr is missing from it")):
            if np.isclose(factor, times, rtol=1e-6):
                return (f"your step is {factor:.4g} times the right one in every entry: {text}; "
                        "the step is lr times the rest, once")
    if abs(factor - 1) > 1e-6 and np.allclose(step, factor * right, rtol=1e-6, atol=1e-12):
        return (f"your step is {factor:.4g} times the right one in every entry: a factor in "
                "front of it (lr, a mean, a constant) is wrong")
    return ""


def unchanged_relation(fn_name: str, names: tuple[str, ...],
                       steps: list[tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]]
                       ) -> str:
    """Name the returned states (param, buffer, moments) that are the inputs given, unchanged,
    in every step tried where the right one changes; `steps` holds (given, got, wanted) lists
    in the order of `names`. "" when none is."""
    kept = []
    for k, name in enumerate(names):
        moved = [not np.allclose(want[k], given[k]) for given, _, want in steps]
        if any(moved) and all(np.allclose(got[k], given[k], rtol=1e-12, atol=1e-15)
                              for given, got, _ in steps):
            kept.append(name)
    if not kept:
        return ""
    return (f"{fn_name} returns the old {' and '.join(kept)}, the "
            f"{'ones' if len(kept) > 1 else 'one'} it was given, unchanged: return the updated "
            f"{'ones' if len(kept) > 1 else 'one'}")


def _verdict_sgd(outputs: Outputs) -> None:
    for i, ((label, lr, momentum, _), (p, g, buf)) in enumerate(zip(SGD_CASES, _sgd_inputs())):
        got_p, got_buf = outputs[f"step{i}/param"], outputs[f"step{i}/buf"]
        want_p, want_buf = sgd_reference(p, g, buf, lr, momentum)
        if not (np.allclose(got_p, want_p) and np.allclose(got_buf, want_buf)):
            for text, rule in SGD_MISTAKES:          # the rule holds in every case tried
                if all(np.allclose(outputs[f"step{j}/param"], wrong[0]) and
                       np.allclose(outputs[f"step{j}/buf"], wrong[1])
                       for j, c in enumerate(_sgd_inputs())
                       for wrong in [rule(*c, SGD_CASES[j][1], SGD_CASES[j][2])]):
                    raise CheckFailed(f"sgd_momentum_step, {label}: {text}")
            why = unchanged_relation("sgd_momentum_step", ("parameter", "buffer"), [
                ([c[0], c[2]], [outputs[f"step{j}/param"], outputs[f"step{j}/buf"]],
                 list(sgd_reference(*c, SGD_CASES[j][1], SGD_CASES[j][2])))
                for j, c in enumerate(_sgd_inputs())])
            if why:
                raise CheckFailed(f"sgd_momentum_step, {label}: {why}")
            why = consistent(lambda j, prefer: sgd_relation(
                *_sgd_inputs()[j], SGD_CASES[j][1], SGD_CASES[j][2], outputs[f"step{j}/param"],
                outputs[f"step{j}/buf"], prefer=prefer), len(SGD_CASES))
            if why:
                raise CheckFailed(f"sgd_momentum_step, {label}: {why}")
            if np.allclose(got_buf, want_buf) and not np.allclose(got_p, want_p):
                why = step_relation(p, got_p, want_p, lr)
                if why:
                    raise CheckFailed(f"sgd_momentum_step, {label}: the buffer is right; {why}")
                raise CheckFailed(step_message(f"sgd_momentum_step, {label}", p, got_p, want_p,
                                               "-lr * (the new buffer)"))
        expect_close(f"sgd_momentum_step, {label}: new buffer", got_buf, want_buf, 1e-7, 1e-10)
        expect_close(f"sgd_momentum_step, {label}: new parameter", got_p, want_p, 1e-7, 1e-10)
    p, buf = START.copy(), np.zeros_like(START)
    for _ in range(TRAJECTORY_STEPS):
        p, buf = sgd_reference(p, BOWL * p, buf, 0.05, 0.9)
    expect_close(f"sgd_momentum_step: the parameter after {TRAJECTORY_STEPS} steps on a "
                 "quadratic bowl (lr=0.05, momentum=0.9)", outputs["trajectory/param"], p,
                 1e-7, 1e-10, hint="single steps were right: does your function change its "
                 "inputs in a way that breaks the next step?")


register(Exercise(
    grade_id="check_sgd_momentum_step", lesson=LESSON, function="sgd_momentum_step",
    probe=array_hints("check_sgd_momentum_step", _probe_sgd), verdict=_verdict_sgd,
    success="sgd_momentum_step follows torch.optim.SGD's rule, step after step.",
    engine_ops=("minitorch_unet.optim.SGD",),
    explain_error=plain_error_hint))


# ---- Adam ------------------------------------------------------------------------------------------
ADAM_CASES = (  # (label, t, lr, betas, eps, moments already built up?)
    ("first step (t=1, zero moments), default hyper-parameters", 1, 1e-3, (0.9, 0.999), 1e-8, False),
    ("t=5 with moments, lr=0.01", 5, 1e-2, (0.9, 0.999), 1e-8, True),
    ("t=3, betas=(0.5, 0.7), eps=0.1", 3, 0.1, (0.5, 0.7), 0.1, True),
)


@own_cases(stream=10)
def _adam_inputs(rng: np.random.Generator, fresh: bool) -> list[tuple[np.ndarray, ...]]:
    out = []
    for *_, built in ADAM_CASES:
        p, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
        m = 0.3 * rng.normal(size=(4, 3)) if built else np.zeros((4, 3))
        v = rng.uniform(0.01, 1.0, size=(4, 3)) if built else np.zeros((4, 3))
        out.append((p, g, m, v))
    return out


def adam_reference(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, lr: float,
                   betas: tuple[float, float], eps: float, *, correct: bool | str = True,
                   eps_inside: bool = False, shift: int = 0, root: bool = True
                   ) -> tuple[np.ndarray, ...]:
    """Kingma and Ba's Adam as torch.optim.Adam computes it; the keywords make mistakes."""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = m / (1 - b1 ** (t + shift)) if correct in (True, "m") else m
    v_hat = v / (1 - b2 ** (t + shift)) if correct in (True, "v") else v
    scale = np.sqrt if root else (lambda value: value)
    step = m_hat / (scale(v_hat + eps) if eps_inside else scale(v_hat) + eps)
    return p - lr * step, m, v


def adam_update(p: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, lr: float,
                betas: tuple[float, float], eps: float, *, power: bool = True,
                eps_inside: bool = False, correct: bool = True, lr_corrected: bool = False,
                swapped: bool = False, outside_root: bool = False,
                power_of_difference: bool = False, lr_decay: bool | str = False) -> np.ndarray:
    """The parameter update from already updated moments m, v; the keywords make slips
    (lr_corrected: Kingma and Ba's "efficient" form, lr scaled and eps left unscaled)."""
    b1, b2 = betas
    c1, c2 = (1 - b1 ** t, 1 - b2 ** t) if power else (1 - b1 * t, 1 - b2 * t)
    if lr_decay:
        lr = lr / (t if lr_decay == "t" else np.sqrt(t))
    if power_of_difference:
        c1, c2 = (1 - b1) ** t, (1 - b2) ** t
    if not correct:
        c1 = c2 = 1.0
    if swapped:
        c1, c2 = c2, c1
    with np.errstate(divide="ignore", invalid="ignore"):
        if lr_corrected:
            return p - lr * np.sqrt(c2) / c1 * m / (np.sqrt(v) + eps)
        if outside_root:
            return p - lr * (m / c1) / (np.sqrt(v) / c2 + eps)
        root = np.sqrt(v / c2 + eps) if eps_inside else np.sqrt(v / c2) + eps
        return p - lr * (m / c1) / root


def adam_relation(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
                  lr: float, betas: tuple[float, float], eps: float,
                  got: list[np.ndarray], prefer: str = "") -> str:
    """Name the slips in each returned array: the moments against their variants, then the
    parameter against the update of the learner's own moments."""
    b1, b2 = betas
    want = adam_reference(p, g, m, v, t, lr, betas, eps)
    why = returned_order(got, want, "param, m, v")
    if why:
        return why
    parts = []
    for name, got_moment, right, variants in (
            ("m", got[1], want[1], (
                ("beta1 * m + grad: the (1 - beta1) factor is missing", b1 * m + g),
                ("beta1 * m + (1 - beta2) * grad: beta2 belongs to v, beta1 to m",
                 b1 * m + (1 - b2) * g),
                ("(1 - beta1) * m + beta1 * grad: beta1 and 1 - beta1 are swapped",
                 (1 - b1) * m + b1 * g),
                ("m_hat, the bias-corrected m: return m itself (the correction is recomputed "
                 "from t at every step)", want[1] / (1 - b1 ** t)))),
            ("v", got[2], want[2], (
                ("beta2 * v + grad**2: the (1 - beta2) factor is missing", b2 * v + g * g),
                ("beta2 * v + (1 - beta1) * grad**2: beta1 belongs to m, beta2 to v",
                 b2 * v + (1 - b1) * g * g),
                ("(1 - beta2) * v + beta2 * grad**2: beta2 and 1 - beta2 are swapped",
                 (1 - b2) * v + b2 * g * g),
                ("beta2 * v + (1 - beta2) * |grad|: square the gradient",
                 b2 * v + (1 - b2) * np.abs(g)),
                ("the maximum of the old v and the average (AMSGrad): Adam keeps the average "
                 "itself", np.maximum(v, want[2])),
                ("v_hat, the bias-corrected v: return v itself (the correction is recomputed "
                 "from t at every step)", want[2] / (1 - b2 ** t))))):
        if np.allclose(got_moment, right):
            continue
        text = next((text for text, wrong in preferred(variants, prefer, f"the new {name} is {{}}")
                     if np.allclose(got_moment, wrong)), "")
        used = (got[1] - b1 * m) / (1 - b1)  # the gradient m was averaged with
        decay = float(np.sum((used - g) * p) / np.sum(p * p))
        if not text and abs(decay) > 1e-12 and np.allclose(used, g + decay * p):
            return (f"the gradient your moments average is grad + {decay:.3g} * param (weight "
                    "decay); Adam averages the gradient as given")
        old_moment, grad_term = (m, g) if name == "m" else (v, g * g)
        if text and prefer and f"the new {name} is {text}" not in prefer and \
                not np.abs(old_moment).max() > 0:
            return ""                    # a zero moment cannot tell this slip from another one
        rule = linear_rule(got_moment, (("grad" if name == "m" else "grad**2", grad_term),
                                        (name, old_moment)), adam_symbols(betas), prefer) \
            if np.abs(old_moment).max() > 0 else ""
        right_rule = "beta1 * m + (1 - beta1) * grad" if name == "m" else \
            "beta2 * v + (1 - beta2) * grad**2"
        if rule and (not text or f"the new {name} is {rule}; it is" in prefer):
            text = f"{rule}; it is {right_rule}"
        if not text:
            text = averaged_term(name, got_moment, old_moment, betas, g, m, want[1])
        if not text:
            return ""
        parts.append(f"the new {name} is {text}")
    if not same_step(p, got[0], adam_update(p, got[1], got[2], t, lr, betas, eps)) and \
            not same_step(p, got[0], want[0]):
        for text, variant in preferred((
                ("the bias correction divides by 1 - beta * t; it is 1 - beta1 ** t for m and "
                 "1 - beta2 ** t for v (a power)", {"power": False}),
                ("no bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t)",
                 {"correct": False}),
                ("eps is inside the square root: the update is lr * m_hat / (sqrt(v_hat) + eps)",
                 {"eps_inside": True}),
                ("the bias correction is folded into the learning rate, which leaves eps "
                 "uncorrected; divide m and v themselves: lr * m_hat / (sqrt(v_hat) + eps)",
                 {"lr_corrected": True}),
                ("the corrections are swapped: m is divided by 1 - beta1**t, v by "
                 "1 - beta2**t", {"swapped": True}),
                ("v's correction is outside the square root: divide v by 1 - beta2**t, then "
                 "take the square root, sqrt(v_hat)", {"outside_root": True}),
                ("the correction takes (1 - beta) ** t, the power of the difference; it is "
                 "1 - beta ** t (** binds tighter than -: write 1 - beta1 ** t)",
                 {"power_of_difference": True}),
                ("lr is divided by sqrt(t); Adam's step size is lr itself (the bias "
                 "corrections already depend on t)", {"lr_decay": True}),
                ("lr is divided by t; Adam's step size is lr itself (the bias corrections "
                 "already depend on t)", {"lr_decay": "t"}),
                ("lr is ignored: the step uses lr=1e-3 whatever the `lr` given",
                 {"lr": 1e-3}),
                ("eps is ignored: the step uses eps=1e-8 whatever the `eps` given",
                 {"eps": 1e-8}),
                ("betas are ignored: the corrections use (0.9, 0.999) whatever `betas` given",
                 {"betas": (0.9, 0.999)})), prefer, "the parameter: {}"):
            variant = {"lr": lr, "betas": betas, "eps": eps, **variant}
            if same_step(p, got[0], adam_update(p, got[1], got[2], t, **variant)):
                parts.append(f"the parameter: {text}")
                break
        else:
            pair = correction_pair(p, got, t, lr, betas, eps)
            if pair:
                parts.append(f"the parameter: {pair}")
            elif not same_step(p, got[0], adam_update(p, m, v, t, lr, betas, eps)):
                return ""
            else:
                parts.append("the parameter is updated with the old moments (the ones passed "
                             "in): update m and v first, then step with the new ones")
    return "; ".join(parts)


def averaged_term(name: str, got_moment: np.ndarray, old_moment: np.ndarray,
                  betas: tuple[float, float], g: np.ndarray, old_m: np.ndarray,
                  new_m: np.ndarray) -> str:
    """Name what the learner's moment `name` averaged in place of grad (m) or grad**2 (v),
    solved from beta * old + (1 - beta) * term; "" if it is none of the usual slips."""
    beta = betas[0] if name == "m" else betas[1]
    term = (got_moment - beta * old_moment) / (1 - beta)
    right = "grad" if name == "m" else "grad**2"
    for text, wrong in (("grad, not squared", g), ("grad * m, the new m", g * new_m),
                        ("grad * m, the old m", g * old_m), ("m**2, the new m squared",
                                                              new_m * new_m),
                        ("grad**2", g * g), ("-grad", -g), ("2 * grad", 2 * g),
                        ("sqrt(|grad|)", np.sqrt(np.abs(g)))):
        if text != right and not np.allclose(wrong, g if name == "m" else g * g) and \
                np.allclose(term, wrong, rtol=1e-6, atol=1e-12):
            return (f"beta{1 if name == 'm' else 2} * {name} + (1 - beta{1 if name == 'm' else 2})"
                    f" * {text.split(',')[0]}: it averages {text} where it must average {right}")
    return ""


def same_step(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the parameters a and b took the same step from p (compared as steps, which are
    small next to the parameter)."""
    return bool(np.allclose(a - p, b - p, rtol=1e-6, atol=1e-12, equal_nan=True))


def adam_symbols(betas: tuple[float, float]) -> tuple[tuple[str, float], ...]:
    """The expressions in beta1, beta2 a learner's moment coefficients may be."""
    b1, b2 = betas
    return (("0", 0.0), ("1", 1.0), ("beta1", b1), ("(1 - beta1)", 1 - b1), ("beta2", b2),
            ("(1 - beta2)", 1 - b2), ("beta1**2", b1 * b1), ("beta2**2", b2 * b2),
            ("(1 - beta1)**2", (1 - b1) ** 2), ("(1 - beta2)**2", (1 - b2) ** 2))


def correction_pair(p: np.ndarray, got: list[np.ndarray], t: int, lr: float,
                    betas: tuple[float, float], eps: float) -> str:
    """Name the bias corrections (c1, c2) in lr * (m / c1) / (sqrt(v / c2) + eps) that give the
    learner's parameter from their own moments, when they are not 1 - beta ** t; or ""."""
    b1, b2 = betas

    def options(b: float, n: str, other: float, o: str) -> list[tuple[str, float]]:
        return [(f"1 - {n} ** t", 1 - b ** t), (f"{n} ** t", b ** t), ("1", 1.0),
                (f"1 - {n} ** (t - 1)", 1 - b ** (t - 1)),
                (f"1 - {n} ** (t + 1)", 1 - b ** (t + 1)),
                (f"1 - {n}", 1 - b), ("t", float(t)), (f"(1 - {n}) ** t", (1 - b) ** t),
                (f"1 - {n} * t", 1 - b * t), (f"sqrt(1 - {n} ** t)", np.sqrt(1 - b ** t)),
                (f"1 / (1 - {n} ** t) (it is multiplied by 1 - {n} ** t)", 1 / (1 - b ** t)),
                (f"1 - {o} ** t", 1 - other ** t), (f"{n}", b), (f"1 + {n} ** t", 1 + b ** t)]
    right = ("1 - beta1 ** t", "1 - beta2 ** t")
    for (n1, c1), (n2, c2) in itertools.product(options(b1, "beta1", b2, "beta2"),
                                                options(b2, "beta2", b1, "beta1")):
        if (n1, n2) == right or c1 == 0 or c2 == 0:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            wrong = p - lr * (got[1] / c1) / (np.sqrt(got[2] / c2) + eps)
            right_p = p - lr * (got[1] / (1 - b1 ** t)) / (np.sqrt(got[2] / (1 - b2 ** t)) + eps)
        if np.isfinite(wrong).all() and not same_step(p, wrong, right_p) and \
                same_step(p, got[0], wrong):
            clauses = [f"m is divided by {n1} where its bias correction is 1 - beta1 ** t"] * \
                (n1 != right[0])
            clauses += [f"v by {n2} where its bias correction is 1 - beta2 ** t"] * \
                (n2 != right[1])
            return "; ".join(clauses).replace("; v by", "; v is divided by") \
                if n1 == right[0] else "; ".join(clauses)
    return ""


def adam_parts_relation(p: np.ndarray, g: np.ndarray, got: list[np.ndarray], t: int, lr: float,
                        betas: tuple[float, float], eps: float) -> str:
    """With the learner's own moments right or not: name the numerator or the denominator of
    the step lr * numerator / denominator when the other one is right, or ""."""
    b1, b2 = betas
    m, v = got[1], got[2]
    m_hat, root = m / (1 - b1 ** t), np.sqrt(v / (1 - b2 ** t)) + eps
    step = (p - got[0]) / lr
    if np.allclose(step * root, m_hat):
        return ""
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, value in (
                ("eps is added to the step itself, lr * m_hat / sqrt(v_hat) + eps (check the "
                 "parentheses): eps belongs in the denominator, sqrt(v_hat) + eps",
                 lr * m_hat / np.sqrt(v / (1 - b2 ** t)) + eps),
                ("eps is missing: the step is lr * m_hat / (sqrt(v_hat) + eps)",
                 lr * m_hat / np.sqrt(v / (1 - b2 ** t))),
                ("m_hat is multiplied by sqrt(v_hat) + eps; it is divided by it: "
                 "lr * m_hat / (sqrt(v_hat) + eps)", lr * m_hat * root),
                ("lr is divided by the step, not multiplied: lr * m_hat / (sqrt(v_hat) + eps)",
                 m_hat / (lr * root)),
                ("eps is multiplied by lr and added to the step, lr * (m_hat / sqrt(v_hat) + "
                 "eps): eps belongs in the denominator, sqrt(v_hat) + eps",
                 lr * (m_hat / np.sqrt(v / (1 - b2 ** t)) + eps))):
            if np.allclose(p - got[0], value, rtol=1e-10, atol=0) and \
                    not np.allclose(p - got[0], lr * m_hat / root, rtol=1e-10, atol=0):
                return f"your step: {name}"
    for name, value in (("grad, the raw gradient", g), ("m, without its bias correction", m),
                        ("m - beta1 ** t: m / 1 - beta1 ** t lacks the parentheses of "
                         "m / (1 - beta1 ** t)", m - b1 ** t)):
        if not np.allclose(value, m_hat) and np.allclose(step * root, value):
            return (f"the step's numerator is {name}; it is m_hat = m / (1 - beta1 ** t), the "
                    "bias-corrected first moment")
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = m_hat / step
    for name, value in (("|grad| + eps", np.abs(g) + eps), ("sqrt(v) + eps, without v's bias "
                        "correction", np.sqrt(v) + eps), ("v_hat + eps (no square root)",
                        v / (1 - b2 ** t) + eps), ("sqrt(v_hat + eps ** 2), eps squared "
                        "inside the root", np.sqrt(v / (1 - b2 ** t) + eps ** 2)),
                        ("sqrt((v + eps) / (1 - beta2 ** t)): eps "
                        "is added to v before the correction, inside the root",
                        np.sqrt((v + eps) / (1 - b2 ** t))),
                        ("sqrt(v - beta2 ** t) + eps: v / 1 - beta2 ** t lacks the parentheses "
                         "of v / (1 - beta2 ** t)", np.sqrt(np.maximum(v - b2 ** t, 0)) + eps)):
        if not np.allclose(value, root) and np.allclose(denominator, value, rtol=1e-9, atol=0):
            return (f"the step's denominator is {name}; it is sqrt(v_hat) + eps with v_hat = "
                    "v / (1 - beta2 ** t)")
    corrections = {"1 - beta1 ** t": 1 - b1 ** t, "1 - beta2 ** t": 1 - b2 ** t, "1": 1.0}
    for moment, value, right, solve in (
            ("m", m, "1 - beta1 ** t", lambda: m / (step * root)),
            ("v", v, "1 - beta2 ** t", lambda: v / (m_hat / step - eps) ** 2)):
        with np.errstate(divide="ignore", invalid="ignore"):
            found = solve()[np.abs(value) > 1e-12]
        if not found.size or not np.allclose(found, found[0], rtol=1e-10, atol=0):
            continue
        name = next((n for n, c in corrections.items() if np.isclose(found[0], c, rtol=1e-8)),
                    f"{found[0]:.6g}")
        if name != right:
            return (f"your step divides {moment} by {name} where its bias correction is {right} "
                    f"(= {corrections[right]:.6g} at t={t})")
    return ""


def step_message(label: str, p: np.ndarray, got: np.ndarray, want: np.ndarray, rule: str) -> str:
    """The worst entry of a wrong step (new parameter - old), the state being right: a
    message on the step itself, where a comparison of parameters would mostly see the
    parameter."""
    step, right = got - p, want - p
    worst = np.unravel_index(int(np.argmax(np.abs(step - right))), step.shape)
    index = tuple(int(i) for i in worst)
    return (f"{label}: the step (new parameter - parameter) is wrong: at index {index} it is "
            f"{float(step[worst]):.6g}, expected {float(right[worst]):.6g}; the step is {rule}")


ADAM_MISTAKES = (
    ("no bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t) before the update "
     "(the moments start at zero, so early on they are too small)", {"correct": False}),
    ("the square root is missing: the update divides by sqrt(v_hat) + eps", {"root": False}),
    ("only v is bias-corrected: divide m by (1 - beta1**t) too", {"correct": "v"}),
    ("only m is bias-corrected: divide v by (1 - beta2**t) too", {"correct": "m"}),
    ("eps is inside the square root: the update is lr * m_hat / (sqrt(v_hat) + eps)",
     {"eps_inside": True}),
    ("the bias correction uses t - 1 instead of t (t counts from 1 at the first step)",
     {"shift": -1}),
    ("the bias correction uses t + 1 instead of t (t is already the number of this step)",
     {"shift": 1}),
)


def _probe_adam(fn: Callable[..., Any]) -> Outputs:
    outputs: Outputs = {}
    for i, ((_, t, lr, betas, eps, _), (p, g, m, v)) in enumerate(zip(ADAM_CASES, _adam_inputs())):
        result = fn(p.copy(), g.copy(), m.copy(), v.copy(), t, lr=lr, betas=betas, eps=eps)
        (outputs[f"step{i}/param"], outputs[f"step{i}/m"],
         outputs[f"step{i}/v"]) = _arrays("adam_step", result, 3, p.shape)
    p, m, v = START.copy(), np.zeros_like(START), np.zeros_like(START)
    for t in range(1, TRAJECTORY_STEPS + 1):
        p, m, v = _arrays("adam_step", fn(p.copy(), BOWL * p, m.copy(), v.copy(), t, lr=0.1,
                                          betas=(0.9, 0.999), eps=1e-8), 3, START.shape)
    outputs["trajectory/param"] = p
    return outputs


def stale_moment_relation(outputs: Outputs) -> str:
    """Name a step taken with the moments passed in (m, v or both) instead of the updated
    ones, when it gives the parameter of every case; or ""."""
    for old_m, old_v in ((False, True), (True, False), (True, True)):
        fits, differs = [], []
        for j, (p, g, m, v) in enumerate(_adam_inputs()):
            t, lr, (b1, b2), eps = ADAM_CASES[j][1:5]
            _, new_m, new_v = adam_reference(p, g, m, v, t, lr, (b1, b2), eps)
            step_m, step_v = (m if old_m else new_m), (v if old_v else new_v)
            with np.errstate(divide="ignore", invalid="ignore"):
                param = p - lr * (step_m / (1 - b1 ** t)) / (np.sqrt(step_v / (1 - b2 ** t)) + eps)
            fits.append(np.allclose(outputs[f"step{j}/param"], param, rtol=1e-7, atol=1e-12))
            differs.append(not np.allclose(param, adam_reference(p, g, m, v, t, lr, (b1, b2),
                                                                 eps)[0]))
        if all(fits) and any(differs):
            which = " and ".join(n for n, old in (("m", old_m), ("v", old_v)) if old)
            return (f"the step uses the old {which}, the one{'s' if old_m and old_v else ''} "
                    f"passed in: update {which} first, then step with the new value"
                    f"{'s' if old_m and old_v else ''}")
    return ""


def _verdict_adam(outputs: Outputs) -> None:
    for i, ((label, t, lr, betas, eps, _), (p, g, m, v)) in enumerate(zip(ADAM_CASES,
                                                                           _adam_inputs())):
        want = adam_reference(p, g, m, v, t, lr, betas, eps)
        got = [outputs[f"step{i}/{k}"] for k in ("param", "m", "v")]
        if not all(np.allclose(a, b) for a, b in zip(got, want)):
            if np.allclose(got[1], want[1]) and np.allclose(got[2], want[2]):
                for text, variant in ADAM_MISTAKES:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        wrong = adam_reference(p, g, m, v, t, lr, betas, eps, **variant)
                    if np.allclose(got[0], wrong[0], equal_nan=True):
                        raise CheckFailed(f"adam_step, {label}: the moments are right but the "
                                          f"parameter is not: {text}")
            b1, b2 = betas
            if np.allclose(got[1], want[1] / (1 - b1 ** t)) and \
                    np.allclose(got[2], want[2] / (1 - b2 ** t)) and t > 0 and b1 > 0:
                raise CheckFailed(f"adam_step, {label}: you return the bias-corrected m_hat and "
                                  "v_hat as the new moments; return m and v themselves (the "
                                  "correction is recomputed from t at every step)")
            if np.allclose(got[1], betas[0] * m + (1 - betas[0]) * g * g):
                raise CheckFailed(f"adam_step, {label}: the first moment m averages grad**2; "
                                  "m averages the gradient, v its square")
            if np.allclose(got[2], betas[1] * v + (1 - betas[1]) * g):
                raise CheckFailed(f"adam_step, {label}: the second moment v averages the "
                                  "gradient; it averages grad**2")
            why = unchanged_relation("adam_step", ("parameter", "m", "v"), [
                ([c[0], c[2], c[3]], [outputs[f"step{j}/{k}"] for k in ("param", "m", "v")],
                 list(adam_reference(*c, *ADAM_CASES[j][1:5])))
                for j, c in enumerate(_adam_inputs())])
            if why:
                raise CheckFailed(f"adam_step, {label}: {why}")
            why = stale_moment_relation(outputs) if all(
                np.allclose(a, b) for a, b in zip(got[1:], want[1:])) else ""
            if why:
                raise CheckFailed(f"adam_step, {label}: the moments are right; {why}")
            why = consistent(lambda j, prefer: adam_relation(
                *_adam_inputs()[j], *ADAM_CASES[j][1:5],
                [outputs[f"step{j}/{k}"] for k in ("param", "m", "v")], prefer=prefer),
                len(ADAM_CASES))
            if why:
                raise CheckFailed(f"adam_step, {label}: {why}")
        if all(np.allclose(a, b, rtol=1e-7, atol=1e-12) for a, b in zip(got[1:], want[1:])) \
                and not np.allclose(got[0], want[0], rtol=1e-7, atol=1e-12):
            why = correction_pair(p, got, t, lr, betas, eps) or step_relation(
                p, got[0], want[0], lr) or adam_parts_relation(p, g, got, t, lr, betas, eps)
            raise CheckFailed(f"adam_step, {label}: the moments are right; {why}" if why else
                              step_message(f"adam_step, {label}: the moments are right but", p,
                                           got[0], want[0], "-lr * m_hat / (sqrt(v_hat) + eps), "
                                           "m_hat = m / (1 - beta1 ** t), v_hat = v / "
                                           "(1 - beta2 ** t)"))
        for name, a, b in zip(("new parameter", "new m", "new v"), got, want):
            expect_close(f"adam_step, {label}: {name}", a, b, 1e-7, 1e-12)
    p, m, v = START.copy(), np.zeros_like(START), np.zeros_like(START)
    for t in range(1, TRAJECTORY_STEPS + 1):
        p, m, v = adam_reference(p, BOWL * p, m, v, t, 0.1, (0.9, 0.999), 1e-8)
    expect_close(f"adam_step: the parameter after {TRAJECTORY_STEPS} steps on a quadratic bowl "
                 "(lr=0.1)", outputs["trajectory/param"], p, 1e-7, 1e-12,
                 hint="single steps were right: does your function change its inputs in a way "
                 "that breaks the next step?")


register(Exercise(
    grade_id="check_adam_step", lesson=LESSON, function="adam_step",
    probe=array_hints("check_adam_step", _probe_adam), verdict=_verdict_adam, points=2,
    success="adam_step follows torch.optim.Adam's rule (bias correction included), "
            "step after step.",
    engine_ops=("minitorch_unet.optim.Adam", "minitorch_unet.optim.AdamW"),
    explain_error=plain_error_hint))
