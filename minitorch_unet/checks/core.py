"""Exercise registry, running a check safely, and the comparisons that turn a wrong answer
into a precise message."""
from __future__ import annotations

import copy
import functools
import importlib
import linecache
import pkgutil
import re
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Callable, TypeVar

import numpy as np

from ..reference import mismatch

Outputs = dict[str, np.ndarray]
T = TypeVar("T")
PASSED, FAILED, NOT_WRITTEN = "passed", "failed", "not written yet"


class CheckFailed(AssertionError):
    """A check found a wrong answer; the message says what and where."""


class NotWritten(CheckFailed, NotImplementedError):
    """The learner's function (or one it calls) still raises the lesson's NotImplementedError."""


@dataclass(frozen=True)
class Exercise:
    """One graded exercise of a lesson.

    grade_id: the nbgrader grade id of its check cell (unique across the course).
    lesson: the lesson folder, e.g. "03_convolution".
    function: the name the learner's solution defines, e.g. "conv2d".
    probe: runs the learner's function on chosen inputs -> arrays (learner's process).
    verdict: compares those arrays with the references; raises CheckFailed (clean process).
    success: the one short line printed when the answer is right.
    engine_ops: dotted names of engine functions the answer must not call, e.g.
        ("minitorch_unet.functional.conv2d",); calling them is flagged and earns no points.
    """

    grade_id: str
    lesson: str
    function: str
    probe: Callable[[Callable[..., Any]], Outputs]
    verdict: Callable[[Outputs], None]
    success: str
    points: int = 1
    engine_ops: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Result:
    """What one check said: status is PASSED, FAILED or NOT_WRITTEN; message is one line."""

    grade_id: str
    status: str
    message: str


EXERCISES: dict[str, Exercise] = {}
# lesson -> the functions its exercise cells define, in the notebook's order ("Exercise 1" first).
EXERCISE_CELLS: dict[str, tuple[str, ...]] = {}


def register(exercise: Exercise) -> Exercise:
    if exercise.grade_id in EXERCISES:
        raise ValueError(f"exercise grade id {exercise.grade_id!r} registered twice")
    EXERCISES[exercise.grade_id] = exercise
    return exercise


def number_exercises(lesson: str, functions: tuple[str, ...]) -> None:
    """Record the functions of `lesson`'s exercise cells, in order, for "exercise N" labels."""
    EXERCISE_CELLS[lesson] = tuple(functions)


def load_all() -> dict[str, Exercise]:
    """Import every lesson's check module so that all exercises are registered."""
    from .. import checks
    for info in pkgutil.iter_modules(checks.__path__):
        if info.name.startswith("lesson"):
            importlib.import_module(f"{checks.__name__}.{info.name}")
    return EXERCISES


# ---- cases a check builds itself --------------------------------------------------------------
_BUILDERS: dict[str, tuple[int, Callable[[np.random.Generator, bool], Any]]] = {}
_DRAWN: dict[str, Any] = {}  # while grading: every builder's cases of this run


def own_cases(stream: int) -> Callable[[Callable[[np.random.Generator, bool], T]], Callable[[], T]]:
    """Decorate a check's builder of its own cases, ``build(rng, fresh) -> cases``.

    In a notebook the builder gets ``np.random.default_rng(stream)`` and ``fresh=False``: the
    same cases, and messages, every time. While grading, :func:`draw_cases` has built them
    once from the run's secret seed with ``fresh=True`` (the builder then also varies what it
    otherwise keeps fixed, so that no table of fixed inputs holds their outputs); each call
    returns a copy, so an answer that changes its inputs changes no later probe.
    """
    def decorate(build: Callable[[np.random.Generator, bool], T]) -> Callable[[], T]:
        key = f"{build.__module__}.{build.__qualname__}"
        _BUILDERS[key] = (stream, build)

        @functools.wraps(build)
        def cases() -> T:
            if key in _DRAWN:
                return copy.deepcopy(_DRAWN[key])
            return build(np.random.default_rng(stream), False)
        return cases
    return decorate


def draw_cases(seed: int) -> None:
    """Build every check's own cases from `seed`, a grading run's secret, before any learner
    code runs; the seed itself is not kept (the learner's process holds only the cases)."""
    load_all()
    for key, (stream, build) in _BUILDERS.items():
        _DRAWN[key] = build(np.random.default_rng([seed, stream]), True)


def exercise_label(function: str, lesson: str | None = None) -> str:
    """'exercise 6 (`conv2d_backward`)', or '`helper`' for a function no exercise cell defines."""
    lessons = ([lesson] if lesson in EXERCISE_CELLS else []) + sorted(EXERCISE_CELLS)
    for name in lessons:
        if function in EXERCISE_CELLS[name]:
            return f"exercise {EXERCISE_CELLS[name].index(function) + 1} (`{function}`)"
    return f"`{function}`"


def run_check(grade_id: str, fn: Callable[..., Any] | None) -> Result:
    """Probe the learner's `fn` and judge it; never raises for what the learner wrote."""
    load_all()
    if grade_id not in EXERCISES:
        raise KeyError(f"no exercise with grade id {grade_id!r}")
    exercise = EXERCISES[grade_id]
    if fn is None:
        return Result(grade_id, NOT_WRITTEN,
                      f"{exercise_label(exercise.function, exercise.lesson)} is not defined yet")
    try:
        outputs = probe_safely(exercise, fn)
        exercise.verdict(outputs)
    except NotWritten as err:
        return Result(grade_id, NOT_WRITTEN, str(err))
    except CheckFailed as err:
        return Result(grade_id, FAILED, str(err))
    except Exception as err:  # outputs of a kind the verdict cannot use: still the answer's fault
        return Result(grade_id, FAILED, f"the check could not use what `{exercise.function}` "
                      f"returned ({type(err).__name__}: {first_line(err)})")
    return Result(grade_id, PASSED, exercise.success)


def check(grade_id: str, fn: Callable[..., Any]) -> None:
    """Probe the learner's `fn`, judge it, and print one line; raises CheckFailed if wrong."""
    __tracebackhide__ = True  # noqa: F841 (pytest leaves this frame out of its reports)
    result = run_check(grade_id, fn)
    if result.status == PASSED:
        print(f"\u2714 {result.message}")
        return
    raise (NotWritten if result.status == NOT_WRITTEN else CheckFailed)(result.message)


def probe_safely(exercise: Exercise, fn: Callable[..., Any]) -> Outputs:
    """exercise.probe(fn); an exception from the learner's code becomes a one-line CheckFailed
    naming the exercise, the learner's line and the shapes on it (NotWritten for a stub)."""
    try:
        return exercise.probe(fn)
    except CheckFailed:
        raise
    except NotImplementedError as err:
        raise NotWritten(f"{exercise_label(_raiser(err, exercise.function), exercise.lesson)} "
                         "is not written yet") from None
    except RecursionError:
        raise CheckFailed(f"{exercise_label(exercise.function, exercise.lesson)} recursed without "
                          "end (does it call itself, or an op it overrides?)") from None
    except Exception as err:
        raise CheckFailed(describe_error(exercise, err)) from None


# ---- exceptions of the learner's code, in one line ------------------------------------------
_NOT_LEARNER = tuple(str(Path(p).resolve()) for p in
                     {str(Path(__file__).resolve().parents[1]), sysconfig.get_paths()["stdlib"],
                      sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


def _is_learner(frame: FrameType) -> bool:
    """A frame of code the learner wrote (a notebook cell, their own file), not the course's,
    NumPy's or Python's."""
    filename = frame.f_code.co_filename
    if filename.startswith("<") and not filename.startswith("<frozen"):
        return True
    return not str(Path(filename).resolve()).startswith(_NOT_LEARNER)


def _learner_frames(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    frames = []
    while tb is not None:
        if _is_learner(tb.tb_frame):
            frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def _raiser(err: BaseException, default: str) -> str:
    """The name of the innermost learner function on `err`'s traceback (`default` if none)."""
    frames = _learner_frames(err.__traceback__)
    name = frames[-1][0].f_code.co_name if frames else default
    return default if name.startswith("<") else name


def first_line(err: BaseException | str) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else ""


def _shape_of(value: Any) -> tuple[int, ...] | None:
    shape = getattr(value, "shape", None)
    return tuple(int(n) for n in shape) if isinstance(shape, tuple) else None


def _source_line(frame: FrameType, lineno: int) -> str:
    return linecache.getline(frame.f_code.co_filename, lineno, frame.f_globals).strip()


def describe_error(exercise: Exercise, err: BaseException) -> str:
    """'exercise 4 (`conv2d_forward`) raised ValueError: ... (line 12: `out = out + b`); shapes
    there: out (2, 5, 9, 11), b (5,). <what such an error usually means>'."""
    frames = _learner_frames(err.__traceback__)
    label = exercise_label(_raiser(err, exercise.function), exercise.lesson)
    message = f"{label} raised {type(err).__name__}: {first_line(err)}"
    shapes: dict[str, tuple[int, ...]] = {}
    if frames:
        frame, lineno = frames[-1]
        line = _source_line(frame, lineno)
        message += f" (line {lineno}" + (f": `{line}`)" if line else ")")
        for name in dict.fromkeys(re.findall(r"[A-Za-z_]\w*", line)):
            shape = _shape_of(frame.f_locals.get(name))
            if shape is not None and len(shapes) < 6:
                shapes[name] = shape
        if shapes:
            message += "; shapes there: " + ", ".join(f"{k} {v}" for k, v in shapes.items())
    hint = error_hint(str(err), shapes)
    return message + (f". {hint}" if hint else "")


_SHAPE = r"\(([\d,\s]*)\)"


def _parse_shape(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.replace(" ", "").split(",") if n)


def error_hint(text: str, shapes: dict[str, tuple[int, ...]]) -> str:
    """What a NumPy or engine error usually means, from its text alone."""
    if "could not be broadcast" in text:
        found = [_parse_shape(s) for s in re.findall(_SHAPE, text.split("shapes", 1)[-1])]
        return _broadcast_hint(found, shapes)
    joined = re.search(r"along dimension (\d+), the array at index \d+ has size \d+ and the "
                       r"array at index \d+ has size \d+", text)
    if joined:
        return (f"np.concatenate keeps every axis but the joining one, and these arrays differ "
                f"along dimension {joined.group(1)}: they are joined along an axis other than "
                "the one asked for (use the `dim` argument)")
    if "all input arrays must have the same shape" in text:
        return ("np.stack puts the arrays side by side along a NEW axis and needs equal shapes; "
                "np.concatenate joins them along an existing one")
    if "slice indices must be integers" in text or "only integers, slices" in text:
        return "indices and slice bounds must be ints: divide with // (not /) and use int(...)"
    reshape = re.search(r"cannot reshape array of size (\d+) into shape " + _SHAPE, text)
    if reshape:
        have, want = int(reshape.group(1)), int(np.prod(_parse_shape(reshape.group(2))))
        more = (f"; {have} values for {want} places: is an axis left to sum over?"
                if have > want and have % want == 0 else "")
        return ("reshape keeps the number of values: compare the sizes on both sides (count the "
                f"output pixels with the output-size formula){more}")
    if "matmul" in text and "mismatch in its core dimension" in text:
        return ("in a @ b the last axis of a must equal the second-to-last of b: reshape or "
                "transpose one side")
    return ""


def _broadcast_hint(found: list[tuple[int, ...]], shapes: dict[str, tuple[int, ...]]) -> str:
    if len(found) != 2:
        return "shapes are matched from the right (the last axes first)"
    small, big = sorted(found, key=lambda shape: (sum(n != 1 for n in shape), len(shape)))
    names = [k for k, v in shapes.items() if v == small]
    what = f"`{names[0]}` {small}" if names else f"an array of shape {small}"
    sizes = [n for n in small if n != 1]
    if len(sizes) == 1 and sizes[0] in big:
        axis = big.index(sizes[0])
        wanted = tuple(sizes[0] if i == axis else 1 for i in range(len(big)))
        return (f"broadcasting lines shapes up from the right, so {what} meets the last "
                f"axes of {big}; to act along axis {axis} (size {sizes[0]}) it needs the shape "
                f"{wanted}, e.g. `.reshape{wanted}`")
    return f"broadcasting lines shapes up from the right: {small} and {big} clash there"


# ---- comparisons -------------------------------------------------------------------------
def shape_message(what: str, got_shape: tuple[int, ...], expected: tuple[int, ...],
                  hint: str = "") -> str:
    """'wrong shape: expected ..., got ...' (with an off-by note when dims are off by <= 2)."""
    got_shape, expected = tuple(int(n) for n in got_shape), tuple(int(n) for n in expected)
    message = f"{what}: wrong shape: expected {expected}, got {got_shape}"
    if len(got_shape) == len(expected):
        diffs = [g - e for g, e in zip(got_shape, expected)]
        off = [i for i, d in enumerate(diffs) if d]
        if off and all(abs(diffs[i]) <= 2 for i in off):
            message += (f" (dims {off} off by {[diffs[i] for i in off]}: check the output-size "
                        "formula, the padding and the stride)")
    return message + (f". {hint}" if hint else "")


def expect_shape(what: str, got: Any, expected: tuple[int, ...], hint: str = "") -> None:
    """Fail with 'wrong shape: expected ..., got ...' (and an off-by-one note) if shapes differ."""
    got_shape = tuple(np.shape(got))
    if got_shape != tuple(expected):
        raise CheckFailed(shape_message(what, got_shape, tuple(expected), hint))


def expect_close(what: str, got: Any, expected: np.ndarray, rtol: float = 1e-4, atol: float = 1e-5,
                 hint: str = "") -> None:
    """Fail with where and by how much `got` differs from `expected` (shapes checked first)."""
    expected = np.asarray(expected)
    expect_shape(what, got, expected.shape, hint)
    got = np.asarray(got, dtype=np.float64)
    tail = f". {hint}" if hint else ""
    if not np.isfinite(got).all():
        where = "" if got.ndim == 0 else \
            f" (first at index {tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])})"
        raise CheckFailed(f"{what}: contains NaN or inf{where}{tail}")
    off = mismatch(got, expected, rtol, atol)
    if off is None:
        return
    n_bad, worst = off
    pattern = value_pattern(got, np.asarray(expected, dtype=np.float64))
    tail = f": {pattern}{tail}" if pattern else tail
    if got.ndim == 0:
        raise CheckFailed(f"{what}: expected {float(expected):.6g}, got {float(got):.6g} (off by "
                          f"{abs(float(got) - float(expected)):.3g}){tail}")
    raise CheckFailed(
        f"{what}: right shape but wrong values: {n_bad} of {got.size} off; "
        f"worst at index {worst}: expected {expected[worst]:.6g}, got "
        f"{got[worst]:.6g} (off by {abs(got[worst] - expected[worst]):.3g}){tail}")


def value_pattern(got: np.ndarray, expected: np.ndarray) -> str:
    """What relates wrong values to the right ones, when one simple rule does: a constant
    factor, a constant term, or a shift along the last two axes; "" otherwise."""
    if got.size < 2 or got.shape != expected.shape:
        return ""
    scale = max(float(np.abs(expected).max()), 1e-12)
    close = dict(rtol=1e-4, atol=1e-6 * scale)
    if not got.any():
        return "your values are all zero: nothing arrives here (is this result ever filled in?)"
    if (expected < 0).any() and np.allclose(got, np.abs(expected), **close):
        return "your values are the absolute values of the right ones: the signs are lost"
    norm = float(np.sum(expected * expected))
    factor = float(np.sum(got * expected)) / norm if norm else 0.0
    if norm and abs(factor - 1) > 1e-3 and np.allclose(got, factor * expected, **close):
        if abs(factor + 1) < 1e-3:
            return "your values are the right ones with the sign flipped"
        return (f"your values are {factor:.4g} times the right ones everywhere: a factor is "
                "missing or extra (a mean where a sum belongs or the reverse, a 1/2, the batch "
                "size...)")
    marks = np.isin(got, (0.0, 1.0)).all() and np.array_equal(got != 0, expected != 0)
    if marks and not np.allclose(expected[expected != 0], 1):
        return ("your values are 1 wherever a gradient arrives: multiply by the gradient coming "
                "from above (chain rule), not by 1")
    term = float(np.mean(got - expected))
    if abs(term) > close["atol"] and np.allclose(got, expected + term, **close):
        return (f"your values are the right ones plus {term:.4g} everywhere: a constant term is "
                "missing or extra")
    if got.ndim >= 2:
        h, w = got.shape[-2:]
        for dy in range(-3, 4):
            for dx in range(-3, 4):
                if (dy, dx) == (0, 0) or abs(dy) * 2 >= h or abs(dx) * 2 >= w:
                    continue
                mine = got[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
                right = expected[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
                if np.abs(right).max() > 0 and np.allclose(mine, right, **close):
                    return (f"your values are the right ones moved by {dy} rows and {dx} columns: "
                            "an offset is missing or extra (the padding?)")
    return ""
