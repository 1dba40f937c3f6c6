"""Exercise registry, running a check safely, and the comparisons that turn a wrong answer
into a precise message."""
from __future__ import annotations

import ast
import copy
import functools
import importlib
import inspect
import itertools
import linecache
import math
import os
import pkgutil
import re
import sysconfig
import textwrap
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType, TracebackType
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
    explain_error: what an exception of the learner's code shows about the mistake, from the
        exercise's own cases (sizes of a failed reshape that follow a wrong size rule), or "";
        it replaces the general hint when it finds something.
    """

    grade_id: str
    lesson: str
    function: str
    probe: Callable[[Callable[..., Any]], Outputs]
    verdict: Callable[[Outputs], None]
    success: str
    points: int = 1
    engine_ops: tuple[str, ...] = field(default=())
    explain_error: Callable[[BaseException], str] | None = None


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
        with warnings.catch_warnings():
            # A wrong answer's overflow or 0/0 would print NumPy's RuntimeWarning beside the
            # check's message, which already says what went wrong; the message alone speaks.
            warnings.simplefilter("ignore", RuntimeWarning)
            outputs = probe_safely(exercise, fn)
            exercise.verdict(outputs)
    except NotWritten as err:
        return Result(grade_id, NOT_WRITTEN, str(err))
    except CheckFailed as err:
        return Result(grade_id, FAILED, dropped_argument(fn, exercise.function) or str(err))
    except Exception as err:  # outputs of a kind the verdict cannot use: still the answer's fault
        return Result(grade_id, FAILED, f"the check could not use what `{exercise.function}` "
                      f"returned ({type(err).__name__}: {first_line(err)})")
    return Result(grade_id, PASSED, exercise.success)


def dropped_argument(fn: Callable[..., Any], function: str) -> str:
    """'`cat` passes dim=0 to CatFunction.apply, not its own argument `dim` ...' when the
    wrapper `fn` (exercise `function`, making one `.apply(...)` call) never reads one of its
    arguments, so the Function never receives it; "" otherwise (no such argument, or no
    source at hand)."""
    source = _own_source(fn)
    func = ast.parse(source).body[0] if source else None
    if not isinstance(func, ast.FunctionDef):
        return ""
    applies = [n for n in ast.walk(func) if isinstance(n, ast.Call) and
               isinstance(n.func, ast.Attribute) and n.func.attr == "apply"]
    if len(applies) != 1:
        return ""
    call, read = applies[0], {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and
                              isinstance(n.ctx, ast.Load)}
    op = f"{ast.unparse(call.func.value)}.apply"
    for name in (a.arg for a in func.args.args + func.args.kwonlyargs):
        if name in read or name in ("self", "cls") or name.startswith("_"):
            continue
        given = next((k.value for k in call.keywords if k.arg == name), None)
        if given is not None:
            return (f"`{function}` passes {name}={ast.unparse(given)} to {op}, not its own "
                    f"argument `{name}`, so the forward never sees the {name} asked for: pass "
                    f"{name}={name}")
        return (f"`{function}` never uses its argument `{name}`, so {op} never receives it "
                f"and the forward runs without it: pass {name} on to {op}")
    return ""


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
    except RecursionError as err:
        raise CheckFailed(f"{exercise_label(exercise.function, exercise.lesson)} recursed without "
                          f"end{recursion_line(err)} (does it call itself, or an op it "
                          "overrides?)") from None
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


def traceback_frames(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    """(frame, line number) of every level of a traceback, outermost first."""
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def _learner_frames(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    return [(frame, lineno) for frame, lineno in traceback_frames(tb) if _is_learner(frame)]


def _raiser(err: BaseException, default: str) -> str:
    """The name of the innermost learner function on `err`'s traceback (`default` if none)."""
    frames = _learner_frames(err.__traceback__)
    name = frames[-1][0].f_code.co_name if frames else default
    return default if name.startswith("<") else name


def recursion_line(err: BaseException) -> str:
    """' through line 7: `node.backward()`': the learner's line that a runaway recursion
    passes most often ("" if none of the learner's lines is on it)."""
    frames = _learner_frames(err.__traceback__)
    if not frames:
        return ""
    counts = Counter((frame.f_code.co_filename, lineno) for frame, lineno in frames)
    (filename, lineno), _ = counts.most_common(1)[0]
    frame = next(f for f, n in frames if (f.f_code.co_filename, n) == (filename, lineno))
    line = _source_line(frame, lineno)
    return f" through line {lineno}" + (f": `{line}`" if line else "")


def first_line(err: BaseException | str) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else ""


def _shape_of(value: Any) -> tuple[int, ...] | None:
    shape = getattr(value, "shape", None)
    return tuple(int(n) for n in shape) if isinstance(shape, tuple) else None


def _plain(value: Any) -> str:
    """repr with NumPy scalars as plain numbers: (np.int64(0), 1) -> '(0, 1)'."""
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_plain(v) for v in value) + ("," if len(value) == 1 else "")
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return repr(value.item()) if isinstance(value, np.generic) else repr(value)


def _frame_arrays(frame: FrameType, text: str) -> list[str]:
    """Where the line's source is not available: the frame's arrays (locals and attributes of
    a local such as ctx) with a size that the error's text names."""
    sizes = {int(n) for n in re.findall(r"\b(\d+)\b", text)} - {0, 1, 2}
    found = []
    for name, value in frame.f_locals.items():
        values = [(name, value)] + [(f"{name}.{k}", v) for k, v in vars(value).items()] \
            if hasattr(value, "__dict__") and not isinstance(value, type) else [(name, value)]
        found += [key for key, v in values if isinstance(v, np.ndarray) and sizes & set(v.shape)]
    return found


def _parameters(code: CodeType) -> tuple[str, ...]:
    """The names of a function's parameters (positional and keyword-only), in order."""
    return code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]


PER_AXIS_NAMES = r"^(stride|pad|padding|kernel|kernel_size|dilation|output_padding|size)$"


def _odd_values(frame: FrameType, line: str, text: str) -> str:
    """Names on the line whose values explain the error by their kind: None passed on where
    an array belongs, a 0 where a stride belongs, an int where a pair is unpacked."""
    names = dict.fromkeys(re.findall(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", line))
    values = {name: _lookup(frame, name) for name in names}
    if "'NoneType'" in text:
        none = [name for name in names if values[name] is None and name in frame.f_locals]
        if none:
            return (f"`{none[0]}` is None on this line and is used as an array (an optional "
                    f"argument not given?): leave it out when it is None")
    if "division or modulo by zero" in text or "division by zero" in text:
        code = frame.f_code
        zero = [f"{p}={_brief(frame.f_locals[p])}" for p in _parameters(code)
                if p in frame.f_locals and
                "pad" not in p and  # a padding of 0 is common and divides nothing
                (_is_int(frame.f_locals[p]) and frame.f_locals[p] == 0 or
                 isinstance(frame.f_locals[p], tuple) and 0 in frame.f_locals[p])]
        if zero:
            return (f"`{code.co_name}` received {', '.join(zero)} and divides by it: the caller "
                    "passes a 0 where a stride (or a size) belongs")
    unpacked = re.search(r"cannot unpack non-iterable (\w+) object", text)
    if unpacked:
        code = frame.f_code
        odd = [f"{p}={_brief(frame.f_locals[p])}" for p in _parameters(code)
               if p in frame.f_locals and
               type(frame.f_locals[p]).__name__ == unpacked.group(1) and
               (not line or p in names)]
        called_by_check = frame.f_back is not None and \
            Path(frame.f_back.f_code.co_filename).resolve().is_relative_to(_PACKAGE)
        if odd and called_by_check:      # the exercise itself, given an int as documented
            return (f"`{code.co_name}` received {', '.join(odd)} where it unpacks a pair: an "
                    "int stands for the pair (v, v); make it a pair before unpacking")
        if odd:
            return (f"`{code.co_name}` received {', '.join(odd)} where it unpacks a pair: the "
                    "caller passes the argument on unconverted (turn an int v into (v, v), and "
                    "stride=None into the kernel size, before passing them on)")
    return ""


def _brief(value: Any) -> str:
    """A value as a message prints it: an array by its shape, a sequence holding arrays by
    their shapes, anything else by its plain repr cut to 60 characters."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {_plain(value.shape)}"
    if isinstance(value, (tuple, list)) and any(isinstance(v, np.ndarray) for v in value):
        shapes = ", ".join(_plain(_shape_of(v)) if isinstance(v, np.ndarray) else "?"
                           for v in value[:4])
        return f"arrays of shapes {shapes}" + (", ..." if len(value) > 4 else "")
    text = _plain(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _int_pair(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_is_int, value))


Rerun = Callable[[list[ast.AST], Callable[[Any], Any]], bool]


def _calls_learner_code(frame: FrameType, tree: ast.AST) -> bool:
    """Whether an expression calls a function of the learner's (or the engine's apply or
    backward, which run the learner's): evaluating it again would run their code again."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, (ast.Name, ast.Attribute)):
                return True
            callee = _lookup(frame, ast.unparse(node.func))
            code = getattr(callee, "__code__", None)
            if getattr(callee, "__name__", "") in ("apply", "backward") or \
                    code is not None and not str(Path(code.co_filename).resolve()).startswith(
                        _NOT_LEARNER):
                return True
    return False


def _fails_until_replaced(frame: FrameType, line: str) -> Rerun | None:
    """For the expression the line returns, assigns or evaluates, when it fails on the frame's
    values: a test of whether it runs once the given nodes of it are replaced by a value made
    from each one's own; None for any other line, or one that calls the learner's code."""
    try:
        statement = ast.parse(line.strip().rstrip(":")).body[0]
    except (SyntaxError, IndexError):
        return None
    if not isinstance(statement, (ast.Return, ast.Assign, ast.AugAssign, ast.Expr)) or \
            statement.value is None or _calls_learner_code(frame, statement.value):
        return None
    names = {**frame.f_globals, **frame.f_locals}
    if _evaluates(ast.unparse(statement.value), names):
        return None

    def runs(nodes: list[ast.AST], make: Callable[[Any], Any]) -> bool:
        swaps = {ast.unparse(node): f"_swap{k}" for k, node in enumerate(nodes)}
        given = {**names, **{swap: make(_lookup(frame, spelled))
                             for spelled, swap in swaps.items()}}

        class Swap(ast.NodeTransformer):
            def visit_Name(self, node: ast.Name) -> ast.AST:
                return ast.Name(swaps.get(node.id, node.id), ast.Load())

            def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
                swap = swaps.get(ast.unparse(node))
                return ast.Name(swap, ast.Load()) if swap else self.generic_visit(node)
        swapped = Swap().visit(copy.deepcopy(statement.value))
        return _evaluates(ast.unparse(swapped), given)
    return runs


def _misplaced_pair(frame: FrameType, line: str, text: str) -> str:
    """'`ph` is (1, 1), a pair where one number belongs' or '`ph` is 1, one number where a
    pair belongs', for an error about a sequence, only when the line's expression, which
    fails, runs once those values are replaced by one entry of each (by (v, v)); "" otherwise."""
    if not ("sequence" in text or "inhomogeneous" in text or "unsupported operand" in text):
        return ""
    runs = _fails_until_replaced(frame, line)
    if runs is None:
        return ""
    tree = ast.parse(line.strip().rstrip(":"))
    nodes = {ast.unparse(n): n for n in ast.walk(tree) if isinstance(n, (ast.Name, ast.Attribute))
             and isinstance(n.ctx, ast.Load)}
    values = {name: _lookup(frame, name) for name in nodes}
    pairs = [nodes[name] for name, v in values.items() if _int_pair(v)]
    for chosen in [[node] for node in pairs] + ([pairs] if len(pairs) > 1 else []):
        if runs(chosen, lambda v: v[0]):
            name = ast.unparse(chosen[0])
            said = " and ".join(f"`{ast.unparse(n)}` is {_plain(tuple(values[ast.unparse(n)]))}"
                                for n in chosen)
            again = _paired_again(frame, values[name])
            fix = (f"take its entries instead, `{again}[0]` for the height and `{again}[1]` for "
                   "the width" if again else f"take the entry for this axis, `{name}[0]` or "
                   f"`{name}[1]`")
            return (f"{said}, {'each ' if len(chosen) > 1 else ''}a pair where one number "
                    f"belongs" + (f", so it nests a pair inside a pair: `({again}, {again})` "
                                  f"pairs `{again}`, which is already a pair" if again else "")
                    + f": {fix}")
    ints = [nodes[name] for name, v in values.items() if _is_int(v) and name in frame.f_locals]
    for chosen in [[node] for node in ints] + ([ints] if len(ints) > 1 else []):
        if runs(chosen, lambda v: (v, v)):
            said = " and ".join(f"`{ast.unparse(n)}` is {_plain(values[ast.unparse(n)])}"
                                for n in chosen)
            written = ", ".join(f"({ast.unparse(n)}, {ast.unparse(n)})" for n in chosen)
            return (f"{said}, one number where a pair belongs (np.pad takes a (before, after) "
                    f"pair per axis): write {written}" if "np.pad" in line else
                    f"{said}, one number where a pair belongs: write {written}")
    return ""


STACKING = ("np.array", "np.asarray", "np.stack", "numpy.array", "numpy.asarray", "numpy.stack")


def _pieces_of_other_shapes(frame: FrameType, line: str, text: str) -> str:
    """'`grads` holds arrays of shapes (2, 3, 7, 7), (4, 3, 3, 3), (4,), which `np.array`
    cannot put into one array' for an inhomogeneous array built on the line from arrays whose
    shapes the frame's values show to differ (in a backward: return them as a tuple); ""
    otherwise."""
    if "inhomogeneous" not in text:
        return ""
    try:
        tree = ast.parse(line.strip().rstrip(":"))
    except SyntaxError:
        return ""
    names = {"__builtins__": __builtins__, **frame.f_globals, **frame.f_locals}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and ast.unparse(node.func) in STACKING and node.args) \
                or _calls_learner_code(frame, node.args[0]):
            continue
        try:
            pieces = eval(compile(ast.Expression(node.args[0]), "<line>", "eval"), dict(names))
        except Exception:  # noqa: BLE001 - the learner's expression; anything may fail
            continue
        shapes = list(dict.fromkeys(_shape_of(v) for v in pieces)) \
            if isinstance(pieces, (tuple, list)) and \
            all(isinstance(v, np.ndarray) for v in pieces) else []
        if len(shapes) < 2:
            continue
        said = (f"`{ast.unparse(node.args[0])}` holds arrays of shapes "
                f"{', '.join(_plain(shape) for shape in shapes[:4])}"
                + (", ..." if len(shapes) > 4 else "") +
                f", which `{ast.unparse(node.func)}` cannot put into one array")
        return (f"{said}: return the gradients themselves, as a tuple, one per input"
                if "backward" in frame.f_code.co_name else said)
    return ""


def _paired_again(frame: FrameType, pair: Any) -> str:
    """The per-axis parameter (a stride, a padding) that holds this very pair where the
    function's source pairs it with itself, `(padding, padding)`; "" when there is none."""
    try:
        tree = ast.parse(textwrap.dedent("".join(inspect.getsourcelines(frame.f_code)[0])))
    except (OSError, TypeError, SyntaxError):
        return ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple) and len(node.elts) == 2 and \
                all(isinstance(e, ast.Name) for e in node.elts) and \
                node.elts[0].id == node.elts[1].id and \
                node.elts[0].id in _parameters(frame.f_code) and \
                re.search(PER_AXIS_NAMES, node.elts[0].id) and \
                _int_pair(frame.f_locals.get(node.elts[0].id)) and \
                tuple(frame.f_locals[node.elts[0].id]) == tuple(pair):
            return node.elts[0].id
    return ""


def _parsed_line(frame: FrameType, line: str) -> tuple[ast.AST, Callable[[ast.AST], Any]] | None:
    """The learner's line parsed, and a function that evaluates one of its nodes with the
    frame's names; None where the line does not parse."""
    try:
        tree = ast.parse(_expression_of(line) or line.strip().rstrip(":"))
    except SyntaxError:
        return None
    names = {**frame.f_globals, **frame.f_locals}

    def value(node: ast.AST) -> Any:
        return eval(compile(ast.Expression(node), "<line>", "eval"),
                    {"__builtins__": __builtins__}, dict(names))
    return tree, value


def _tuple_operand(frame: FrameType, line: str, text: str) -> str:
    """For arithmetic between a tuple and a number: the variable on the line that holds a pair
    of ints; its height or width is named only for a pair named as one per axis (a stride,
    a padding), "" when none is found."""
    if not re.search(r"unsupported operand type\(s\) for .*'(tuple|list)'|"
                     r"can't multiply sequence by non-int|can only concatenate (tuple|list)", text):
        return ""
    parsed = _parsed_line(frame, line)
    if parsed is None:
        return ""
    tree, value = parsed

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.BinOp):
            continue
        left, right = _safe(value, node.left), _safe(value, node.right)
        for operand, mine, other in ((node.left, left, right), (node.right, right, left)):
            if isinstance(operand, (ast.Name, ast.Attribute)) and \
                    isinstance(mine, tuple) and len(mine) == 2 and all(map(_is_int, mine)) and \
                    isinstance(other, (int, float, np.integer, np.floating)) and \
                    not isinstance(other, bool):
                found.append((node, operand, mine))
    if not found:
        return ""
    node, operand, mine = found[0]
    name = ast.unparse(operand)
    said = (f"`{name}` is {_plain(tuple(mine))}, a tuple, in `{ast.unparse(node)}`, where one "
            "number belongs (Python does no arithmetic on a tuple entry by entry)")
    if re.search(PER_AXIS_NAMES, name.rsplit(".", 1)[-1]):
        return (f"{said}: use the entry for this axis, `{name}[0]` for the height or "
                f"`{name}[1]` for the width")
    if "shape" in name and "ndim" in ast.unparse(node):
        return f"{said}: a shape's number of axes is its length, `len({name})`"
    return f"{said}: use the entry you mean, `{name}[0]` or `{name}[1]`, or unpack it into names"


def _sequence_into_entry(frame: FrameType, line: str, text: str) -> str:
    """An array assigned to a single entry (`out[b, o, i, j] = ...`): the right side's shape,
    and for a sum over some axes only, the axes it leaves; "" for any other error or line."""
    if "setting an array element with a sequence" not in text:
        return ""
    try:
        tree = ast.parse(line.strip())
    except SyntaxError:
        return ""
    if not tree.body or not isinstance(tree.body[0], ast.Assign):
        return ""
    right = tree.body[0].value
    scope = dict(frame.f_locals)
    try:
        got = np.asarray(eval(compile(ast.Expression(right), "<line>", "eval"),
                              frame.f_globals, scope))
    except Exception:  # noqa: BLE001 - the learner's expression; anything may fail
        return ""
    if got.ndim == 0:
        return ""
    said = (f"the right side `{ast.unparse(right)}` is an array of shape {got.shape}, but "
            "one entry takes one number")
    whole = _whole_vector_added(tree.body[0], scope, frame.f_globals, got.shape)
    if whole:
        return whole
    axis = next((k.value for k in getattr(right, "keywords", []) if k.arg == "axis"), None)
    name = right.func.attr if isinstance(right, ast.Call) and \
        isinstance(right.func, ast.Attribute) else ""
    if axis is not None and name == "sum":
        return (f"{said}: `axis={ast.unparse(axis)}` leaves axes of sizes {got.shape} "
                "unsummed; sum over every axis (drop axis=) to get one number")
    return said


def _whole_vector_added(assign: ast.Assign, scope: dict[str, Any], globals_: dict[str, Any],
                        shape: tuple[int, ...]) -> str:
    """'`bias` is the whole vector of shape (4,) added to one entry: take bias[o]' when a
    1-D array of the right side's shape is used there unindexed, and an index of the entry
    assigned also indexes another array of that length on the line; "" otherwise."""
    if len(shape) != 1 or not isinstance(assign.targets[0], ast.Subscript):
        return ""
    parents = {child: node for node in ast.walk(assign.value) for child in ast.iter_child_nodes(node)}
    vectors = [n.id for n in ast.walk(assign.value) if isinstance(n, ast.Name) and
               isinstance(scope.get(n.id), np.ndarray) and scope[n.id].shape == shape and
               not isinstance(parents.get(n), ast.Subscript)]
    target = assign.targets[0].slice
    indices = [n.id for n in (target.elts if isinstance(target, ast.Tuple) else [target])
               if isinstance(n, ast.Name)]
    indexed = [(ast.unparse(n.value), n.slice.id) for n in ast.walk(assign.value)
               if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Name) and
               n.slice.id in indices]
    for vector in dict.fromkeys(vectors):
        for array, index in indexed:
            try:
                length = len(eval(array, globals_, scope))
            except Exception:  # noqa: BLE001 - the learner's names; anything may fail
                continue
            if length == shape[0]:
                return (f"`{vector}` is the whole array of shape {shape} (one value per "
                        f"{index} of `{array}[{index}]`), added where one number belongs: add "
                        f"its entry for this pass, `{vector}[{index}]`")
    target = assign.targets[0]
    placed = scope.get(target.value.id) if isinstance(target.value, ast.Name) else None
    parts = target.slice.elts if isinstance(target.slice, ast.Tuple) else [target.slice]
    for vector in dict.fromkeys(vectors):   # else the index of the entry's own axis that long
        along = [p.id for axis, p in enumerate(parts) if isinstance(p, ast.Name) and
                 isinstance(placed, np.ndarray) and axis < placed.ndim and
                 placed.shape[axis] == shape[0]]
        if len(along) > 1 and placed.ndim == 4 and len(parts) == 4 and \
                isinstance(parts[1], ast.Name) and parts[1].id in along:
            along = [parts[1].id]   # an (N, C, H, W) result: a vector of C values is per channel
        if len(along) == 1:
            return (f"`{vector}` is the whole array of shape {shape}, added where one number "
                    f"belongs: add its entry for this {along[0]}, `{vector}[{along[0]}]`")
    return ""


def _whole_vector_into_slice(frame: FrameType, line: str, text: str) -> str:
    """'`bias` (4,) is the whole vector, added to `out[b, oc]` ...: add `bias[oc]`' when a
    broadcast fails on an assignment into a subscript whose index variable runs along an
    axis as long as a 1-D array used whole on the right side; "" otherwise."""
    if "broadcast" not in text:
        return ""
    try:
        statement = ast.parse(line.strip()).body[0]
    except (SyntaxError, IndexError):
        return ""
    if not isinstance(statement, (ast.Assign, ast.AugAssign)):
        return ""
    target = statement.target if isinstance(statement, ast.AugAssign) else statement.targets[0]
    if not isinstance(target, ast.Subscript) or not isinstance(target.value, ast.Name):
        return ""
    array = frame.f_locals.get(target.value.id)
    parts = target.slice.elts if isinstance(target.slice, ast.Tuple) else [target.slice]
    if not isinstance(array, np.ndarray) or len(parts) > array.ndim:
        return ""
    parents = {child: node for node in ast.walk(statement.value)
               for child in ast.iter_child_nodes(node)}
    vectors = [n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name) and
               isinstance(frame.f_locals.get(n.id), np.ndarray) and
               frame.f_locals[n.id].ndim == 1 and not isinstance(parents.get(n), ast.Subscript)]
    for vector in dict.fromkeys(vectors):
        length = frame.f_locals[vector].shape[0]
        for axis, part in enumerate(parts):
            if isinstance(part, ast.Name) and _is_int(frame.f_locals.get(part.id)) and \
                    array.shape[axis] == length:
                return (f"`{vector}` ({length},) is the whole vector, added to "
                        f"`{ast.unparse(target)}`, which is one {part.id} of `{target.value.id}`"
                        f": add its entry for this {part.id}, `{vector}[{part.id}]`")
    return ""


def _unpacked_lengths(frame: FrameType, line: str, text: str) -> str:
    """'`ctx.padding` holds 4 entries, ((0, 0), ...), where `(ph, pw)` unpacks 2' for an
    unpacking that fails on the line: the value on the right whose length is not the number
    of names it is unpacked into; "" otherwise."""
    if "values to unpack" not in text and "cannot unpack" not in text:
        return ""
    try:
        statement = ast.parse(line.strip()).body[0]
    except (SyntaxError, IndexError):
        return ""
    if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
        return ""

    def value(node: ast.AST) -> Any:
        return eval(compile(ast.Expression(node), "<line>", "eval"), frame.f_globals,
                    dict(frame.f_locals))

    target, right = statement.targets[0], statement.value
    pairs = list(zip(target.elts, right.elts)) if isinstance(target, ast.Tuple) and \
        isinstance(right, ast.Tuple) and len(target.elts) == len(right.elts) else [(target, right)]
    for names, expression in pairs:
        if not isinstance(names, (ast.Tuple, ast.List)) or \
                isinstance(expression, ast.Attribute) and expression.attr == "shape":
            continue   # a shape's axes: the shape hint says more
        got = _safe(value, expression)
        want = len(names.elts)
        if got is None:
            continue
        if isinstance(got, np.ndarray):
            kind = f"is an array of shape {got.shape}"
        elif isinstance(got, (tuple, list)):
            kind = f"holds {len(got)} entries, {_brief(got)}"
        else:
            kind = f"is one {type(got).__name__}, {_brief(got)}"
        if not isinstance(got, (tuple, list, np.ndarray)) or len(got) != want:
            return (f"`{ast.unparse(expression)}` {kind}, where `{ast.unparse(names)}` unpacks "
                    f"{want}")
    return ""


def _pairwise_reduction(frame: FrameType, line: str) -> str:
    """A reduction called on two arrays, as if it compared them entry by entry: np.max(x, y)
    reads y as the axis, and Python's max(x, y) asks whether an array is true; "" when the
    line has no such call."""
    try:
        tree = ast.parse(line.rstrip(":").split(" = ", 1)[-1])
    except SyntaxError:
        return ""
    pairwise = {"max": "maximum", "amax": "maximum", "min": "minimum", "amin": "minimum"}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or len(node.args) != 2:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else \
            node.func.id if isinstance(node.func, ast.Name) else ""
        if name not in pairwise:
            continue
        try:
            second = eval(compile(ast.Expression(node.args[1]), "<line>", "eval"),
                          frame.f_globals, dict(frame.f_locals))
        except Exception:  # noqa: BLE001 - the call is the learner's; anything may fail
            continue
        if isinstance(second, np.ndarray) and second.size > 1:
            call = ast.unparse(node)
            return (f"`{call}` does not compare two arrays entry by entry ("
                    + ("np." + name + " reads its second argument as the axis" if
                       isinstance(node.func, ast.Attribute) else "Python's " + name +
                       " asks whether a whole array is true")
                    + f"): use np.{pairwise[name]}({ast.unparse(node.args[0])}, "
                    f"{ast.unparse(node.args[1])})")
    return ""


def _loop_bounds(frame: FrameType) -> dict[str, str]:
    """{loop variable: its range's argument} for the `for v in range(...)` loops of the
    frame's function, read from its source; {} when the source is not available."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(frame.f_code)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return {}
    return {node.target.id: ast.unparse(node.iter.args[-1 if len(node.iter.args) == 1 else 1])
            for node in ast.walk(tree) if isinstance(node, ast.For) and
            isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Call) and
            isinstance(node.iter.func, ast.Name) and node.iter.func.id == "range" and
            node.iter.args}


def _range_loops(frame: FrameType) -> list[tuple[str, str]]:
    """(loop variable, its range's stop) for every `for v in range(...)` loop of the frame's
    function, in source order, repeats kept; [] when the source is not available."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(frame.f_code)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return []
    return [(node.target.id, ast.unparse(node.iter.args[-1 if len(node.iter.args) == 1 else 1]))
            for node in ast.walk(tree) if isinstance(node, ast.For) and
            isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Call) and
            isinstance(node.iter.func, ast.Name) and node.iter.func.id == "range" and
            node.iter.args]


def _nested_reuse(frame: FrameType, name: str) -> tuple[str, str] | None:
    """(outer stop, inner stop) of a `for name in range(...)` loop nested inside another loop
    over the same name, read from the frame's function source; None when there is none."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(frame.f_code)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None

    def stop(node: ast.For) -> str | None:
        if isinstance(node.target, ast.Name) and node.target.id == name and \
                isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name) and \
                node.iter.func.id == "range" and node.iter.args:
            return ast.unparse(node.iter.args[-1 if len(node.iter.args) == 1 else 1])
        return None

    for outer in ast.walk(tree):
        if isinstance(outer, ast.For) and stop(outer) is not None:
            for inner in ast.walk(ast.Module(body=outer.body, type_ignores=[])):
                if isinstance(inner, ast.For) and stop(inner) is not None:
                    return stop(outer), stop(inner)
    return None


def _for_targets(frame: FrameType) -> set[str]:
    """The names that change from one pass of the frame's function's `for` loops to the next:
    the loops' variables and the names assigned inside a loop (r = i * stride); empty when the
    source is not available (then no bound is blamed on a loop)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(frame.f_code)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return set()
    loops = [node for node in ast.walk(tree) if isinstance(node, ast.For)]
    assigned = [target for loop in loops for node in ast.walk(loop)
                for target in (node.targets if isinstance(node, ast.Assign) else
                               [node.target] if isinstance(node, (ast.For, ast.AugAssign)) else [])]
    return {n.id for target in assigned for n in ast.walk(target) if isinstance(n, ast.Name)}


def _stepped_loops(frame: FrameType) -> set[str]:
    """The variables of the frame's `for v in range(start, stop, step)` loops."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(frame.f_code)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return set()
    return {node.target.id for node in ast.walk(tree) if isinstance(node, ast.For) and
            isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Call) and
            isinstance(node.iter.func, ast.Name) and node.iter.func.id == "range" and
            len(node.iter.args) == 3}


def _stepped_range(frame: FrameType, var: str, value: Callable[[ast.AST], Any]) -> range | None:
    """The range(start, stop, step) of the frame's loop over `var`, evaluated with the frame's
    values; None when it cannot be."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(frame.f_code)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and \
                node.target.id == var and isinstance(node.iter, ast.Call) and \
                len(node.iter.args) == 3:
            bounds = [_safe(value, arg) for arg in node.iter.args]
            if all(_is_int(b) for b in bounds) and bounds[2] > 0:
                return range(*(int(b) for b in bounds))
    return None


def _loop_past_the_edge(frame: FrameType, line: str) -> str:
    """'the loop `for j in range(ho)` reaches j = 4, where ... starts past the end ...: run it
    over range(wo)' when a slice on the line is empty because a loop variable in its start
    has gone past the last window; "" otherwise."""
    try:
        source = textwrap.dedent(inspect.getsource(frame.f_code))
    except (OSError, TypeError):
        source = ""
    for text in [line] + source.splitlines():   # the line, then the lines that fed it
        try:
            found = _empty_slice_loop(frame, ast.parse(text.strip()))
        except SyntaxError:
            continue
        if found:
            return found
    return ""


def _empty_slice_loop(frame: FrameType, tree: ast.AST) -> str:
    loops = _loop_bounds(frame)
    names = dict(frame.f_locals)

    def value(node: ast.AST, **extra: Any) -> Any:
        return eval(compile(ast.Expression(node), "<line>", "eval"), frame.f_globals,
                    {**names, **extra})

    for node in ast.walk(tree):
        if not isinstance(node, ast.Subscript) or \
                not isinstance(node.value, (ast.Name, ast.Attribute)):
            continue
        try:
            array = value(node.value)
        except Exception:  # noqa: BLE001 - the learner's names; anything may fail
            continue
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if not isinstance(array, np.ndarray) or len(parts) > array.ndim:
            continue
        for axis, part in enumerate(parts):
            if not isinstance(part, ast.Slice) or part.lower is None or part.upper is None:
                continue
            used = [n.id for n in ast.walk(part.lower) if isinstance(n, ast.Name) and
                    n.id in loops and _is_int(names.get(n.id))]
            try:
                start = value(part.lower)
            except Exception:  # noqa: BLE001
                continue
            if len(used) != 1 or not _is_int(start) or start < array.shape[axis]:
                continue
            var = used[0]
            fits = 0
            while fits <= names[var]:
                try:
                    if value(part.upper, **{var: fits}) > array.shape[axis]:
                        break
                except Exception:  # noqa: BLE001
                    break
                fits += 1
            same = [k for k, v in names.items() if k != var and _is_int(v) and v == fits and
                    k != loops[var] and len(k) > 1]
            fix = f"range({same[0]})" if len(same) == 1 else f"range({fits})"
            return (f"the loop `for {var} in range({loops[var]})` reaches {var} = {names[var]}, "
                    f"where `{ast.unparse(part)}` starts past the end of axis {axis} of "
                    f"`{ast.unparse(node.value)}` (size {array.shape[axis]}); only {fits} "
                    f"windows fit along that axis, so run it over {fix}")
    return ""


def _own_source(code: Any) -> str:
    """The dedented source of a function (a code object or a function), "" when it is not at
    hand or what the file holds at its lines is not that function's definition."""
    try:
        source = textwrap.dedent(inspect.getsource(code))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return ""
    name = getattr(code, "co_name", None) or getattr(code, "__name__", "")
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.ClassDef):   # a staticmethod's source may start at its class
        return ""
    return source if isinstance(first, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
        first.name == name else ""


def _window_count_rule(frame: FrameType, line: str) -> str:
    """'`wo` is (w - kw) // sh + 1 ... with `sw` in place of `sh` it is the 3 windows that
    fit' when a window slice on the line (or a line that fed it) runs past the edge at the
    loop's value, and the loop's count, read from its assignment in the source, gives the
    windows that fit once one name in it is replaced by another of the function's (the other
    axis's stride, size or count); "" otherwise."""
    source = _own_source(frame.f_code)
    if not source:
        return ""
    tree = ast.parse(source)
    loops, names = _loop_bounds(frame), dict(frame.f_locals)
    assigned: dict[str, ast.AST] = {}
    groups: list[set[str]] = []   # names unpacked together (n, c, h, w = x.shape): one per axis
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            if isinstance(target, ast.Tuple):
                groups.append({t.id for t in target.elts if isinstance(t, ast.Name)})
            if isinstance(target, ast.Name):
                assigned.setdefault(target.id, value)
            elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and \
                    len(target.elts) == len(value.elts):
                for t, v in zip(target.elts, value.elts):
                    if isinstance(t, ast.Name):
                        assigned.setdefault(t.id, v)

    def value(node: ast.AST, **extra: Any) -> Any:
        return eval(compile(ast.Expression(node), "<line>", "eval"), frame.f_globals,
                    {**names, **extra})

    for text in (line, source):   # the line first, then every line of the function
        try:
            parsed = ast.parse(text.strip() if text is line else text)
        except SyntaxError:
            continue
        parents = {child: node for node in ast.walk(parsed) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(parsed):
            if not isinstance(node, ast.Subscript) or not _on_taken_path(node, parents, value):
                continue
            array = _safe(value, node.value)
            parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if not isinstance(array, np.ndarray) or len(parts) > array.ndim:
                continue
            for axis, part in enumerate(parts):
                if not isinstance(part, ast.Slice) or part.lower is None or part.upper is None:
                    continue
                used = [n.id for n in ast.walk(part.lower) if isinstance(n, ast.Name) and
                        n.id in loops and _is_int(names.get(n.id))]
                if part.step is not None:   # a stepped slice is no plain window
                    step = _step_of(part.lower, used[0]) if len(used) == 1 else ""
                    if step and isinstance(part.step, ast.Name) and part.step.id == step and \
                            _safe(value, part.step) not in (None, 1):
                        return (f"the window `{ast.unparse(part)}` takes every {step}-th pixel "
                                f"(a step of `{step}` inside the window, a dilation): the "
                                f"stride only moves the windows; a window is consecutive "
                                f"pixels, without the `:{step}`")
                    continue
                upper = _safe(value, part.upper)
                if len(used) != 1 or not _is_int(upper) or upper <= array.shape[axis]:
                    continue
                var, size = used[0], array.shape[axis]
                count = assigned.get(loops[var]) if re.fullmatch(r"\w+", loops[var]) else None
                while isinstance(count, ast.IfExp):   # the branch the frame's values take
                    test = _safe(value, count.test)
                    count = None if test is None else count.body if test else count.orelse
                if count is None or [stop for _, stop in _range_loops(frame)].count(loops[var]) > 1:
                    continue  # one count bounding two loops: the loop's bound is the slip
                fits = 0
                while fits <= names[var] and _safe(lambda n: value(n, **{var: fits}),
                                                   part.upper) is not None and \
                        value(part.upper, **{var: fits}) <= size:
                    fits += 1
                others = {n.id for p in parts if p is not part for n in ast.walk(p)
                          if isinstance(n, ast.Name)}
                stops = [stop for v, stop in _range_loops(frame) if v != var]
                crossed = any(_divisor(assigned.get(loops.get(u, ""), ast.Pass())) ==
                              _step_of(part.lower, var) for u in others & set(loops) if u != var)
                said = _count_fix(count, loops[var], fits, groups, part, value, others | set(loops),
                                  stops) or ("" if crossed else
                                             _step_fix(count, loops[var], var, part))
                if said:
                    return (f"the loop `for {var} in range({loops[var]})` runs past the edge of "
                            f"axis {axis} of `{ast.unparse(node.value)}` (size {size}), where "
                            f"{fits} windows fit: {said}")
    return ""


def _divisor(count: ast.AST) -> str:
    """The name a window count `(size - k) // s + 1` divides by ("" for another form)."""
    if isinstance(count, ast.BinOp) and isinstance(count.op, ast.Add):
        count = count.left if isinstance(count.left, ast.BinOp) else count.right
    if isinstance(count, ast.BinOp) and isinstance(count.op, ast.FloorDiv) and \
            isinstance(count.right, ast.Name):
        return count.right.id
    return ""


def _step_of(lower: ast.AST, var: str) -> str:
    """The name a slice start `var * s` (or `s * var`) steps by ("" for another form)."""
    if isinstance(lower, ast.BinOp) and isinstance(lower.op, ast.Mult):
        sides = (lower.left, lower.right)
        names = [n.id for n in sides if isinstance(n, ast.Name)]
        if len(names) == 2 and var in names:
            return names[1 - names.index(var)]
    return ""


def _step_fix(count: ast.AST, name: str, var: str, part: ast.Slice) -> str:
    """'window i starts at `i * kh`, a wrong step: ...' when the slice's start steps by
    another name than the one the loop's count divides by."""
    divisor, step = _divisor(count), _step_of(part.lower, var)
    if not divisor or not step or divisor == step:
        return ""
    return (f"window {var} starts at `{ast.unparse(part.lower)}`, a wrong step: the count `{name}` "
            f"= {ast.unparse(count)} steps by `{divisor}`, so start it at `{var} * {divisor}`")


def _swapped_loop_variables(frame: FrameType) -> str:
    """'axis 2 of `x` is cut with `j` (the loop over range(wo)) and axis 3 with `i` ...' when
    two slices of one subscript step by each other's loop counts' strides, read from the
    function's source (loops and comprehensions alike); "" otherwise."""
    source = _own_source(frame.f_code)
    if not source:
        return ""
    tree = ast.parse(source)
    bounds: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, ast.Name) \
                and isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name) and \
                node.iter.func.id == "range" and len(node.iter.args) == 1 and \
                isinstance(node.iter.args[0], ast.Name):
            bounds[node.target.id] = node.iter.args[0].id
    def value(node: ast.AST) -> Any:
        return eval(compile(ast.Expression(node), "<line>", "eval"), frame.f_globals,
                    dict(frame.f_locals))

    counts: dict[str, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, assigned = node.targets[0], node.value
            pairs = zip(target.elts, assigned.elts) if isinstance(target, ast.Tuple) and \
                isinstance(assigned, ast.Tuple) and len(target.elts) == len(assigned.elts) \
                else [(target, assigned)]
            for t, v in pairs:
                while isinstance(v, ast.IfExp):   # the branch the frame's values take
                    test = _safe(value, v.test)
                    v = None if test is None else v.body if test else v.orelse
                if isinstance(t, ast.Name) and v is not None:
                    counts.setdefault(t.id, v)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Subscript) or not isinstance(node.slice, ast.Tuple) or \
                not _on_taken_path(node, parents, value):
            continue
        cuts = []
        for axis, part in enumerate(node.slice.elts):
            if isinstance(part, ast.Slice) and part.lower is not None:
                for var in bounds:
                    step = _step_of(part.lower, var)
                    if step and bounds[var] in counts:
                        cuts.append((axis, var, step, _divisor(counts[bounds[var]])))
        for (a1, v1, s1, d1), (a2, v2, s2, d2) in itertools.combinations(cuts, 2):
            if v1 != v2 and s1 != s2 and d1 == s2 and d2 == s1:
                return (f"axis {a1} of `{ast.unparse(node.value)}` is cut with `{v1}`, the "
                        f"variable of the loop over range({bounds[v1]}), and axis {a2} with "
                        f"`{v2}`, of range({bounds[v2]}): the two loop variables are swapped "
                        f"(rows and columns mixed up); cut axis {a1} with `{v2}` and axis {a2} "
                        f"with `{v1}`")
    return ""


def _axes_named(expression: str) -> set[str]:
    """The axes ('h', 'w') that the names of an expression speak of by their last letter
    (h, kh, sh, ph, H; w, kw, sw, pw, W); other names (n, stride) speak of none."""
    return {name[-1].lower() for name in re.findall(r"[A-Za-z_]\w*", expression)
            if name[-1] in "hwHW"}


def _one_axis_fix(before: str, after: str) -> bool:
    """Whether a fix turns a count whose names mix the two axes into one whose names speak of
    a single axis (the check that the other axis's name was the slip, not the rule)."""
    return len(_axes_named(before)) > 1 and len(_axes_named(after)) == 1


def _sibling_names(code: Any, groups: list[set[str]]) -> list[set[str]]:
    """Names that stand for the two axes of one thing: unpacked together (n, c, h, w =
    x.shape), or parameters that differ in h / w only (kh and kw, sh and sw)."""
    params = _parameters(code)
    pairs = [{p, q} for p, q in itertools.combinations(params, 2)
             if len(p) == len(q) and sum(a != b for a, b in zip(p, q)) == 1 and
             {a for a, b in zip(p, q) if a != b} | {b for a, b in zip(p, q) if a != b} <= set("hwHW")]
    return groups + pairs


def _first_assignments(source: str) -> tuple[dict[str, ast.AST], list[set[str]]]:
    """Each name's first assigned expression in `source` (`a, b = x, y` gives a: x, b: y), and
    the names unpacked together (`ho, wo = ...`), which are one quantity's two axes."""
    assigned: dict[str, ast.AST] = {}
    groups: list[set[str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            if isinstance(target, ast.Tuple):
                groups.append({t.id for t in target.elts if isinstance(t, ast.Name)})
            pairs = zip(target.elts, value.elts) if isinstance(target, ast.Tuple) and \
                isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts) \
                else [(target, value)]
            for t, v in pairs:
                if isinstance(t, ast.Name):
                    assigned.setdefault(t.id, v)
    return assigned, groups


def _reshape_count_fix(frame: FrameType, line: str, text: str) -> str:
    """'`wo` = (w - kh) // sw + 1 = 11 uses `kh` where `kw` belongs: ...' when a reshape on
    the line fails for its size, and replacing one name of a count it is given by its other
    axis's twin makes the sizes agree; "" otherwise."""
    failed = re.search(r"cannot reshape array of size (\d+) into shape", text)
    source = _own_source(frame.f_code)
    if not failed or not source:
        return ""
    size = int(failed.group(1))
    assigned, groups = _first_assignments(source)
    siblings = _sibling_names(frame.f_code, groups)
    names = {**frame.f_globals, **frame.f_locals}
    try:
        calls = [n for n in ast.walk(ast.parse(_expression_of(line) or line.strip()))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and
                 n.func.attr == "reshape"]
    except SyntaxError:
        return ""

    def fits(args: list[ast.AST], extra: dict[str, Any], shape: tuple[int, ...]) -> bool:
        """The sizes agree; with a -1, the sizes before it merge leading axes of the array
        and those after it trailing ones (divisibility alone fits too easily)."""
        try:
            dims = [eval(compile(ast.Expression(a), "<line>", "eval"), frame.f_globals,
                         {**frame.f_locals, **extra}) for a in args]
        except Exception:  # noqa: BLE001
            return False
        dims = [d for a in dims for d in (a if isinstance(a, tuple) else (a,))]
        if -1 not in dims:
            return math.prod(dims) == size
        k = dims.index(-1)
        head, tail = math.prod(dims[:k]), math.prod(dims[k + 1:])
        prefixes = {math.prod(shape[:i]) for i in range(len(shape) + 1)}
        suffixes = {math.prod(shape[i:]) for i in range(len(shape) + 1)}
        return head in prefixes and tail in suffixes and size % (head * tail) == 0

    for call in calls:
        receiver = _safe(lambda n: eval(compile(ast.Expression(n), "<line>", "eval"),
                                        frame.f_globals, dict(frame.f_locals)), call.func.value)
        shape = tuple(getattr(receiver, "shape", ()))
        if math.prod(shape) != size:
            continue
        used = [n.id for a in call.args for n in ast.walk(a) if isinstance(n, ast.Name)]
        for name in dict.fromkeys(used):
            count = assigned.get(name)
            if count is None or not _is_int(names.get(name)):
                continue
            for old in dict.fromkeys(n.id for n in ast.walk(count) if isinstance(n, ast.Name)):
                for new in sorted({k for g in siblings if old in g for k in g} - {old}):
                    swapped = re.sub(rf"\b{old}\b", new, ast.unparse(count))
                    try:
                        fixed = eval(compile(swapped, "<fix>", "eval"), frame.f_globals,
                                     dict(frame.f_locals))
                    except Exception:  # noqa: BLE001
                        continue
                    if _is_int(fixed) and fixed != names[name] and \
                            _one_axis_fix(ast.unparse(count), swapped) and \
                            fits(call.args, {name: fixed}, shape):
                        return (f"`{name}` = {ast.unparse(count)} = {names[name]} uses `{old}` "
                                f"where `{new}` belongs: with {swapped} = {fixed} the reshape "
                                f"fits the {size} values")
    return ""


def _row_count_fix(frame: FrameType, text: str) -> str:
    """'`ho` = (h - kh) // sw + 1 = 8 uses `sw` where `sh` belongs: ...' when an index runs
    past the rows of a matrix (axis 0) and the loops' counts, one name of one count given
    its other axis's twin, multiply to exactly that many rows; "" otherwise."""
    past = re.search(r"index \d+ is out of bounds for axis 0 with size (\d+)", text)
    source = _own_source(frame.f_code)
    if not past or not source:
        return ""
    size = int(past.group(1))
    assigned, groups = _first_assignments(source)
    stops = [stop for _, stop in _range_loops(frame) if re.fullmatch(r"\w+", stop)]
    values = {stop: frame.f_locals.get(stop) for stop in stops}
    if not stops or not all(_is_int(v) for v in values.values()) or \
            math.prod(values.values()) <= size:
        return ""
    siblings = _sibling_names(frame.f_code, groups)
    for name in stops:
        count = assigned.get(name)
        if count is None:
            continue
        for old in dict.fromkeys(n.id for n in ast.walk(count) if isinstance(n, ast.Name)):
            for new in sorted({k for g in siblings if old in g for k in g} - {old}):
                swapped = re.sub(rf"\b{old}\b", new, ast.unparse(count))
                fixed = _safe(lambda n: eval(compile(ast.Expression(n), "<fix>", "eval"),
                                             frame.f_globals, dict(frame.f_locals)),
                              ast.parse(swapped, mode="eval").body)
                if _is_int(fixed) and _one_axis_fix(ast.unparse(count), swapped) and \
                        math.prod({**values, name: fixed}.values()) == size:
                    return (f"the loops run over {' x '.join(f'{k}={v}' for k, v in values.items())} "
                            f"windows, more than the {size} rows: `{name}` = {ast.unparse(count)} = "
                            f"{values[name]} uses `{old}` where `{new}` belongs ({swapped} = "
                            f"{fixed})")
    return ""


def _rows_reshaped_to_image(frame: FrameType, line: str, text: str) -> str:
    """'the (25, 9) matrix holds one row of C*kh*kw window values per output pixel: scatter it
    back with col2im, do not reshape it' when a reshape to a 4-D image fails on a 2-D matrix
    whose columns are C*kh*kw by the frame's own kh and kw; "" otherwise."""
    if "cannot reshape array" not in text:
        return ""
    try:
        calls = [n for n in ast.walk(ast.parse(_expression_of(line) or line.strip()))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and
                 n.func.attr == "reshape"]
    except SyntaxError:
        return ""
    kh, kw = frame.f_locals.get("kh"), frame.f_locals.get("kw")
    if not (_is_int(kh) and _is_int(kw)):
        return ""
    for call in calls:
        def value(node: ast.AST) -> Any:
            return eval(compile(ast.Expression(node), "<line>", "eval"), frame.f_globals,
                        dict(frame.f_locals))
        matrix = _safe(value, call.func.value)
        dims = [_safe(value, a) for a in call.args]
        dims = list(dims[0]) if len(dims) == 1 and isinstance(dims[0], tuple) else dims
        if isinstance(matrix, np.ndarray) and matrix.ndim == 2 and len(dims) == 4 and \
                all(_is_int(d) for d in dims) and matrix.shape[1] == dims[1] * kh * kw:
            return (f"`{ast.unparse(call.func.value)}` {matrix.shape} holds one row per window "
                    f"with its C*kh*kw = {matrix.shape[1]} values, overlapping windows sharing "
                    f"pixels: it goes back to the image {tuple(dims)} with col2im(..., "
                    f"{tuple(dims)}, kh, kw, sh, sw), which adds the overlaps, not with reshape")
    return ""


def _on_taken_path(node: ast.AST, parents: dict[ast.AST, ast.AST],
                   value: Callable[[ast.AST], Any]) -> bool:
    """False when `node` lies in a branch (of an `if` or of `a if c else b`) that the
    frame's values do not take; True when they do or cannot tell."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, (ast.If, ast.IfExp)) and child is not parent.test:
            test = _safe(value, parent.test)
            in_body = child is parent.body or (isinstance(parent.body, list) and
                                               child in parent.body)
            if test is not None and bool(test) != in_body:
                return False
        child, parent = parent, parents.get(parent)
    return True


def _count_fix(count: ast.AST, name: str, fits: int, groups: list[set[str]], part: ast.Slice,
               value: Callable[..., Any], others: set[str], stops: list[str]) -> str:
    """What in the count's expression makes it other than `fits`: another loop's count copied,
    or one name where another belongs: one the slice uses (never one that the other axes'
    slices use too, where the slice itself may be the slip), or one unpacked with it."""
    got = _safe(value, count)
    if not _is_int(got) or got == fits:
        return ""
    if isinstance(count, ast.Name):
        if count.id not in stops:   # not another loop's count: nothing shows it is wrong
            return ""
        return (f"`{name}` is set to `{count.id}` ({got}), a count of another axis; count "
                "this axis's windows with its own size, kernel and stride, (size - k) // "
                "stride + 1")
    in_slice = [n.id for n in ast.walk(part) if isinstance(n, ast.Name)]
    in_count = {n.id for n in ast.walk(count) if isinstance(n, ast.Name)}
    fixes = []
    for old in sorted(in_count):
        kin = [k for group in groups if old in group for k in sorted(group)]
        for new in dict.fromkeys(in_slice + kin):
            if new in in_count or new == old or new in others:
                continue
            swapped = re.sub(rf"\b{old}\b", new, ast.unparse(count))
            if not _one_axis_fix(ast.unparse(count), swapped):
                continue
            try:
                if value(ast.parse(swapped, mode="eval").body) == fits:
                    fixes.append((new not in in_slice, old, new, swapped))
            except Exception:  # noqa: BLE001 - the learner's names; anything may fail
                continue
    if not fixes:
        return ""
    _, old, new, swapped = min(fixes)
    return (f"`{name}` = {ast.unparse(count)} = {got} uses `{old}` where this axis's `{new}` "
            f"belongs: count {swapped} = {fits}")


REDUCING_METHODS = ("sum", "mean", "max", "min", "argmax", "argmin", "prod")


def _reduced_on_another_axis(frame: FrameType, line: str) -> str:
    """'`m` (1, 4) is `(...).sum(axis=-1)`; with axis=0 it is (4, 4) and the line runs' when
    an array on the failing line was made by a reduction over one axis (read from the
    function's source) and exactly one other axis makes the line run; "" otherwise."""
    expression = _expression_of(line) or line.strip()
    source = _own_source(frame.f_code)
    try:
        tree = ast.parse(source)
        ast.parse(expression, mode="eval")
    except SyntaxError:
        return ""
    names = {**frame.f_globals, **frame.f_locals}
    on_line = set(re.findall(r"[A-Za-z_]\w*", expression))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and
                isinstance(node.targets[0], ast.Name) and node.targets[0].id in on_line and
                isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
                and node.value.func.attr in REDUCING_METHODS):
            continue
        call, name = node.value, node.targets[0].id
        axis = next((k for k in call.keywords if k.arg == "axis"), None)
        if axis is None or not isinstance(names.get(name), np.ndarray):
            continue
        inner = call.func.value
        if isinstance(call.func.value, ast.Name) and call.func.value.id == "np" and call.args:
            inner = call.args[0]
        try:
            before = np.asarray(eval(compile(ast.Expression(inner), "<line>", "eval"),
                                     frame.f_globals, dict(frame.f_locals)))
        except Exception:  # noqa: BLE001 - the learner's expression; anything may fail
            continue
        reduce = getattr(np, call.func.attr)
        fits = [k for k in range(before.ndim) if _evaluates(
            expression, {**names, name: reduce(before, axis=k)})]
        if len(fits) == 1:
            fixed = reduce(before, axis=fits[0])
            return (f"`{name}` {names[name].shape} is `{ast.unparse(node.value)}`, "
                    f"{call.func.attr} over axis {ast.unparse(axis.value)}; over axis "
                    f"{fits[0]} it is {fixed.shape} and this line runs: reduce over the axis "
                    "that must disappear")
    return ""


def _forwards_of(tb: TracebackType | None) -> list[Callable[..., Any]]:
    """The forward of the op whose backward is on the traceback (the engine's `node._op`),
    with the functions taking ctx that it calls, and those they call; [] when no backward
    of the engine is on it."""
    op = None
    while tb is not None:
        node = tb.tb_frame.f_locals.get("node")
        op = getattr(node, "_op", None) or op
        tb = tb.tb_next
    found: list[Callable[..., Any]] = []
    todo = [getattr(op, "forward", None)]
    while todo and len(found) < 8:
        fn = todo.pop(0)
        code = getattr(fn, "__code__", None)
        if code is None or code.co_varnames[:1] != ("ctx",) or any(f is fn for f in found):
            continue
        found.append(fn)
        todo += [getattr(fn, "__globals__", {}).get(name) for name in code.co_names]
    return found


def _padded_name(trees: list[ast.AST], argument: str) -> str:
    """The name the forwards give `argument` padded (`xpad = np.pad(x, ...)`), when exactly
    one such name is assigned; "" otherwise."""
    names = {node.targets[0].id for tree in trees for node in ast.walk(tree)
             if isinstance(node, ast.Assign) and len(node.targets) == 1 and
             isinstance(node.targets[0], ast.Name) and any(
                 isinstance(call, ast.Call) and "pad" in ast.unparse(call.func).lower() and
                 call.args and isinstance(call.args[0], ast.Name) and call.args[0].id == argument
                 for call in ast.walk(node.value))}
    return names.pop() if len(names) == 1 else ""


def _ctx_saved_otherwise(frame: FrameType, forwards: list[Callable[..., Any]]) -> str:
    """'your forward saves `ctx.stride = stride[0]`, one entry of its argument `stride` ...'
    when a backward (a frame with `ctx`) reads a ctx attribute that its op's forward (or a
    helper of it, `forwards`) saved from something other than its argument of that name: one
    entry of it, or a value made from other arguments only; "" otherwise."""
    ctx = frame.f_locals.get("ctx")
    if ctx is None:
        return ""
    source = _own_source(frame.f_code)
    read = {n.attr for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Attribute) and
            isinstance(n.value, ast.Name) and n.value.id == "ctx"} if source else \
        set(getattr(ctx, "__dict__", {}))   # the backward's source is not at hand
    closed = {name: cell.cell_contents for f in forwards
              for name, cell in zip(f.__code__.co_freevars, f.__closure__ or ())
              if name not in ("ctx",)}
    trees = {id(f): ast.parse(_own_source(f)) for f in forwards if _own_source(f)}
    stored = {id(f): {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and
                      isinstance(n.ctx, ast.Store) and isinstance(n.value, ast.Name) and
                      n.value.id == "ctx"} for f, tree in
              ((f, trees[id(f)]) for f in forwards if id(f) in trees)}
    held = set(getattr(ctx, "__dict__", {})) - {"needs_input_grad"}
    if not held <= set().union(*stored.values()):
        return ""   # another Function's forwards: together they did not save what ctx holds
    for forward in forwards:
        code = forward.__code__
        if id(forward) not in trees or not held & stored[id(forward)]:
            continue  # no source at hand, or a helper that saves nothing in this ctx
        tree = trees[id(forward)]
        arguments = set(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
        sources: dict[str, set[str]] = {}   # a local name: the arguments it is made from
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                made = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
                made = set().union(*[sources.get(m, {m} & arguments) for m in made]) if made else set()
                for target in node.targets:
                    for t in ast.walk(target):
                        if isinstance(t, ast.Name):
                            sources[t.id] = sources.get(t.id, set()) | made
        saves = []   # (attribute, the expression saved in it)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, saved_value = node.targets[0], node.value
                if isinstance(target, ast.Tuple) and isinstance(saved_value, ast.Tuple) and \
                        len(target.elts) == len(saved_value.elts):
                    saves += list(zip(target.elts, saved_value.elts))
                else:
                    saves.append((target, saved_value))
        for target, saved in saves:
            if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                    and target.value.id == "ctx"):
                continue
            attr = target.attr
            if attr not in read:
                continue
            value_now = getattr(ctx, attr, None)
            now = _plain(value_now)
            while isinstance(saved, ast.IfExp):  # `a if cond else b`: the branch taken, from
                try:                              # the values the forwards' closures hold
                    taken = bool(eval(compile(ast.Expression(saved.test), "<test>", "eval"),
                                      dict(forward.__globals__), closed))
                except Exception:  # noqa: BLE001 - else the branch whose kind fits the value
                    taken = isinstance(saved.body, ast.Subscript) == _is_int(value_now)
                saved = saved.body if taken else saved.orelse
            said = f"your forward saves `ctx.{attr} = {ast.unparse(saved)}`"
            if "pad" in attr and isinstance(saved, ast.Attribute) and saved.attr == "shape" and \
                    isinstance(saved.value, ast.Name) and saved.value.id in arguments and \
                    "pad" not in saved.value.id:
                padded = _padded_name(list(trees.values()), saved.value.id)
                fix = f"`ctx.{attr} = {padded}.shape`" if padded else "the padded array's shape"
                return (f"your forward saves `ctx.{attr} = {ast.unparse(saved)}`, the shape of its "
                        f"unpadded argument `{saved.value.id}` ({now} here), under a name for the "
                        f"padded one: save {fix}")
            if isinstance(saved, ast.Call):   # the same call made twice, on other inputs
                for other in ast.walk(tree):
                    if other is saved or not isinstance(other, ast.Call) or \
                            ast.unparse(other.func) != ast.unparse(saved.func) or \
                            len(other.args) != len(saved.args):
                        continue
                    differ = [(a, b) for a, b in zip(saved.args, other.args)
                              if ast.unparse(a) != ast.unparse(b)]
                    if len(differ) == 1 and all(isinstance(v, ast.Name) for v in differ[0]) and \
                            differ[0][0].id in arguments and differ[0][1].id not in arguments:
                        raw = "unpadded " if "pad" in differ[0][1].id and \
                            "pad" not in differ[0][0].id else ""
                        return (f"your forward saves `ctx.{attr} = {ast.unparse(saved)}`, made from "
                                f"its {raw}argument `{differ[0][0].id}`, while it also computes "
                                f"`{ast.unparse(other)}` from `{differ[0][1].id}`: save the "
                                "array the output was computed from")
            elements = [e.id for e in saved.elts if isinstance(e, ast.Name)] \
                if isinstance(saved, ast.Tuple) else []
            if len(elements) == len(getattr(saved, "elts", ())) > 1 and \
                    set(elements) <= arguments and len(set(elements)) < len(elements):
                twice = next(e for e in elements if elements.count(e) > 1)
                order = [a for a in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
                         if a in arguments]
                left = [a for a in order[order.index(min(elements, key=order.index)):]
                        if a not in elements]
                if left:
                    return (f"your forward saves `ctx.{attr} = {ast.unparse(saved)}`, with "
                            f"`{twice}` twice and `{left[0]}` not at all: save each argument "
                            "once, in the order the backward unpacks them")
            if attr not in arguments:
                continue
            if isinstance(saved, ast.Subscript) and isinstance(saved.value, ast.Name) and \
                    saved.value.id == attr:
                return (f"{said}, one entry of its argument `{attr}` ({now} here), where the "
                        f"backward reads the whole of it: save `ctx.{attr} = {attr}`")
            names = {n.id for n in ast.walk(saved) if isinstance(n, ast.Name)}
            made = set().union(*[sources.get(m, {m} & arguments) for m in names]) if names else set()
            if made and attr not in made:
                return (f"{said}, a value made from `{', '.join(sorted(made))}`, not from its "
                        f"argument `{attr}`: the backward gets {now} as ctx.{attr}; save "
                        f"`ctx.{attr} = {attr}`")
    return ""


def _varargs_used_as_array(frame: FrameType, line: str, text: str) -> str:
    """'`bias` is the tuple *bias packs ...' when the error comes from the line using the
    function's *args tuple, holding one array, as if it were that array; "" otherwise."""
    code = frame.f_code
    if not code.co_flags & inspect.CO_VARARGS:
        return ""
    packed = code.co_varnames[code.co_argcount + code.co_kwonlyargcount]
    value = frame.f_locals.get(packed)
    if not isinstance(value, tuple) or len(value) != 1 or not isinstance(value[0], np.ndarray):
        return ""
    as_array = "(" + ",".join(str(n) for n in np.shape(value)) + ")"
    if "tuple indices must be" not in text and as_array not in text.replace(" ", ""):
        return ""  # the error is not about the tuple taken for an array
    try:
        tree = ast.parse(_expression_of(line) or line.strip().rstrip(":"))
    except SyntaxError:
        return ""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    # uses as an array: not a test (`if bias`), not len(bias), not bias[0]
    used = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == packed
            and not isinstance(parents.get(node), (ast.IfExp, ast.If, ast.BoolOp, ast.UnaryOp,
                                                   ast.Call))
            and not (isinstance(parents.get(node), ast.Subscript) and
                     ast.unparse(parents[node].slice) == "0")]
    if not used:
        return ""
    return (f"`{packed}` is the tuple that `*{packed}` packs the optional arguments into, () or "
            f"(array,), here ({packed}[0] {value[0].shape},): use the array itself, `{packed}[0]`")


def _padded_everywhere(frame: FrameType) -> str:
    """A 4-D array of the learner's frame that is another one padded on the batch or channel
    axis (np.pad(x, p) pads every axis; widths given in the wrong order pad N and C), named
    with the widths its own values show; "" when there is none."""
    arrays = [(name, value) for name, value in frame.f_locals.items()
              if isinstance(value, np.ndarray) and value.ndim == 4]
    for (name, value), (other, base) in itertools.permutations(arrays, 2):
        grown = [a - b for a, b in zip(value.shape, base.shape)]
        if min(grown) < 0 or not (grown[0] or grown[1]) or not base.size or \
                (base == base.flat[0]).all():
            continue  # not grown on N or C, or a constant array (zeros) that fits anywhere
        for starts in itertools.product(*[dict.fromkeys((g // 2, 0, g)) for g in grown]):
            if np.array_equal(value[tuple(slice(a, a + n) for a, n in zip(starts, base.shape))], base):
                break
        else:
            continue
        if len(set(grown)) == 1 and grown[0] % 2 == 0 and starts[0] * 2 == grown[0]:
            p = grown[0] // 2
            return (f"`{name}` {value.shape} is `{other}` {base.shape} padded by {p} on every "
                    "axis, the batch and channel axes too (np.pad(x, p) pads them all): pad "
                    "only H and W, np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))")
        widths = tuple((a, g - a) for a, g in zip(starts, grown))
        return (f"`{name}` {value.shape} is `{other}` {base.shape} padded with widths {widths}: "
                "the batch or channel axis got padding; np.pad takes one (before, after) pair "
                "per axis in the order (N, C, H, W), so pad with ((0, 0), (0, 0), (ph, ph), "
                "(pw, pw))")
    return ""


def _reduced_over_other_axis(frame: FrameType, shapes: dict[str, tuple[int, ...]]) -> str:
    """An index vector on the line with one entry per column of a matrix on the line, and
    another number of rows: an argmax over axis 0 where each row's (axis=1) was meant."""
    for (name, shape), (other, matrix) in itertools.permutations(shapes.items(), 2):
        value = _lookup(frame, name)
        if len(shape) == 1 and len(matrix) == 2 and shape[0] == matrix[1] != matrix[0] and \
                np.issubdtype(getattr(value, "dtype", np.float64), np.integer):
            return (f"`{name}` {shape} has one entry per column of `{other}` {matrix}, not one "
                    "per row: an argmax over axis 0 gives that; take each row's with axis=1")
    return ""


def _matmul_operands(node: ast.AST) -> list[ast.AST]:
    """The operands of the chain of @ that `node` heads (a @ b @ c -> [a, b, c])."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return _matmul_operands(node.left) + _matmul_operands(node.right)
    return [node]


def _toggled(node: ast.AST) -> ast.AST:
    """x.T -> x, x -> x.T."""
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return node.value
    return ast.Attribute(value=node, attr="T", ctx=ast.Load())


def _reversed_operand(frame: FrameType, line: str, text: str) -> str:
    """For a broadcast between two shapes that are each other's reverse, (C, kh, kw) against
    (kw, kh, C): the operand on the line that holds the reversed axes, a .T that reverses
    every axis of an array of three or more; "" when none is found."""
    found = re.search(r"broadcast together with shapes \(([\d,]+)\) \(([\d,]+)\)", text)
    if not found:
        return ""
    a, b = (tuple(int(v) for v in g.split(",") if v) for g in found.groups())
    if len(a) < 2 or a == b or sorted(a) != sorted(b):
        return ""
    if a != b[::-1]:  # the same sizes, two axes swapped: (C, kh, kw) against (C, kw, kh)
        return _swapped_operands(frame, line, a, b)
    parsed = _parsed_line(frame, line)
    if parsed is None:
        return ""
    tree, value = parsed

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "T":
            flipped, base = _safe(value, node), _safe(value, node.value)
            if isinstance(flipped, np.ndarray) and isinstance(base, np.ndarray) and \
                    flipped.ndim >= 3 and flipped.shape in (a, b) and base.shape in (a, b):
                return (f"`{ast.unparse(node)}` reverses every axis of `{ast.unparse(node.value)}`"
                        f" {_plain(base.shape)} into {_plain(flipped.shape)}, while the other "
                        f"operand keeps the order {_plain(base.shape)}: drop the .T (it swaps two "
                        f"axes only for a matrix)")
    if len(a) < 3:
        return ""
    found = _operands_with_shapes(tree, value, {a, b})
    if not found:
        return ""
    node, left, right = found
    return (f"`{ast.unparse(node.left)}` {_plain(left.shape)} and "
            f"`{ast.unparse(node.right)}` {_plain(right.shape)} hold the same axes "
            f"in reverse order (one of them has its axes reversed): give both the "
            f"same axis order")


def _operands_with_shapes(tree: ast.AST, value: Callable[[ast.AST], Any],
                          shapes: set[tuple[int, ...]]) -> tuple[ast.BinOp, Any, Any] | None:
    """The first binary operation on the line whose two operands are arrays of the `shapes`,
    with their values; None where there is none."""
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            left, right = _safe(value, node.left), _safe(value, node.right)
            if isinstance(left, np.ndarray) and isinstance(right, np.ndarray) and \
                    {left.shape, right.shape} == shapes:
                return node, left, right
    return None


def _swapped_operands(frame: FrameType, line: str, a: tuple[int, ...],
                      b: tuple[int, ...]) -> str:
    """For a product of two arrays on the line whose shapes a and b differ by exactly two
    axes swapped: name both operands and the two axes; "" otherwise."""
    axes = [k for k, (m, n) in enumerate(zip(a, b)) if m != n]
    if len(axes) != 2 or (a[axes[0]], a[axes[1]]) != (b[axes[1]], b[axes[0]]):
        return ""
    parsed = _parsed_line(frame, line)
    found = parsed and _operands_with_shapes(*parsed, {a, b})
    if not found:
        return ""
    node, left, right = found
    i, j = axes
    return (f"`{ast.unparse(node.left)}` {_plain(left.shape)} and "
            f"`{ast.unparse(node.right)}` {_plain(right.shape)} hold the same sizes "
            f"with axes {i} and {j} swapped: one of them is transposed; give both "
            f"the same axis order")


def _transpose_fix(frame: FrameType, line: str, text: str) -> str:
    """For a matmul that failed on the learner's line: the one or two operands whose .T added
    or removed makes the chain of products fit, re-evaluated in the learner's frame."""
    if "matmul" not in text or "mismatch in its core dimension" not in text:
        return ""
    try:
        tree = ast.parse(line.strip().rstrip(":"))
    except SyntaxError:
        return ""
    chains = [node for node in ast.walk(tree) if isinstance(node, ast.BinOp) and
              isinstance(node.op, ast.MatMult)]
    names = {**frame.f_globals, **frame.f_locals}
    statement = tree.body[0] if tree.body else None
    whole = ast.unparse(statement.value) if isinstance(
        statement, (ast.Return, ast.Assign, ast.AugAssign, ast.Expr)) and statement.value else ""
    tried = 0
    for chain in chains:  # outermost first: each chain is tried as a whole
        operands = _matmul_operands(chain)
        if len(operands) < 2 or len(operands) > 5:
            continue
        choices = [(k,) for k in range(len(operands))] + \
            list(itertools.combinations(range(len(operands)), 2))
        for flips in choices:
            parts = [_toggled(op) if k in flips else op for k, op in enumerate(operands)]
            expression = parts[0]
            for part in parts[1:]:
                expression = ast.BinOp(left=expression, op=ast.MatMult(), right=part)
            tried += 1
            if tried > 40:
                return ""
            fixed = ast.unparse(expression)
            if not _evaluates(_in_line(whole, ast.unparse(chain), fixed), names):
                continue  # this variant does not fit, or the rest of the line still fails
            places = ("first", "second", "third", "fourth", "fifth")
            changes = " and ".join(f"`{ast.unparse(parts[k])}` for the {places[k]} factor "
                                   f"`{ast.unparse(operands[k])}`" for k in flips)
            return (f"in `{ast.unparse(chain)}` the product fits with {changes}: a .T is "
                    "missing or extra there (a transpose on the wrong side?)")
    return _axis_order_fix(chains, names, whole) or _reduction_axis_fix(chains, names, whole) or \
        _substitution_fix(chains, names, whole)


def _reduction_axis_fix(chains: list[ast.BinOp], names: dict[str, Any], whole: str = "") -> str:
    """For a chain of @ that failed: a reduction in it (.sum, .mean, .max, .min with axis=k)
    that makes the whole line run over exactly one other axis; "" otherwise."""
    for chain in chains:
        text = ast.unparse(chain)
        for node in ast.walk(chain):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and
                    node.func.attr in ("sum", "mean", "max", "min")):
                continue
            axis = next((k for k in node.keywords if k.arg == "axis"), None)
            if axis is None or not isinstance(axis.value, ast.Constant) or \
                    not _is_int(axis.value.value):
                continue
            try:
                reduced = eval(compile(ast.Expression(node.func.value), "<r>", "eval"),
                               {"__builtins__": __builtins__}, dict(names))
            except Exception:  # noqa: BLE001 - the learner's names
                continue
            old, fits = axis.value.value, []
            for other in range(getattr(reduced, "ndim", 0)):
                if other == old % max(reduced.ndim, 1):
                    continue
                axis.value.value = other
                if _evaluates(_in_line(whole, text, ast.unparse(chain)), names):
                    fits.append(other)
            axis.value.value = old
            if len(fits) == 1:
                was = ast.unparse(node)
                return (f"in `{text}` the product fits with `.{node.func.attr}(axis={fits[0]})` "
                        f"in place of `.{node.func.attr}(axis={old})` (in `{was}`): the "
                        f"{node.func.attr} runs over the wrong axis of an array of shape "
                        f"{reduced.shape}")
    return ""


def _size_name(size: int, names: dict[str, Any], loops: Any = ()) -> str:
    """The one short int name of the frame that holds `size` (c for 3), loop variables left
    out, else the number."""
    held = [k for k, v in names.items() if _is_int(v) and v == size and len(k) <= 3
            and not k.startswith("_") and k not in loops]
    return held[0] if len(held) == 1 else str(size)


def _axis_order_fix(chains: list[ast.BinOp], names: dict[str, Any], whole: str = "") -> str:
    """For a chain of @ that failed with a factor made from an array of 3 or more axes (a
    weight): that array reshaped to (size of one of its axes, -1), in its own axis order or
    with that axis moved first, when this makes the whole line run; the array's own order
    is preferred (reshape keeps memory order). "" when no such reading fits."""
    for chain in chains:
        operands = _matmul_operands(chain)
        for k, operand in enumerate(operands):
            bases = []
            for node in ast.walk(operand):
                if isinstance(node, (ast.Name, ast.Attribute)):
                    text = ast.unparse(node)
                    try:
                        value = eval(compile(text, "<base>", "eval"),
                                     {"__builtins__": __builtins__}, dict(names))
                    except Exception:  # noqa: BLE001 (not an array of the frame)
                        continue
                    if isinstance(value, np.ndarray) and value.ndim >= 3 and text not in bases:
                        bases.append((text, value.shape))
            for base, shape in bases:
                fits = []
                for axis in range(len(shape)):
                    order = (axis,) + tuple(a for a in range(len(shape)) if a != axis)
                    moved = "" if axis == 0 else f".transpose{order}"
                    for tail in ("", ".T"):
                        fixed = f"{base}{moved}.reshape({_size_name(shape[axis], names)}, -1){tail}"
                        parts = [ast.unparse(op) for op in operands]
                        parts[k] = fixed
                        expression = " @ ".join(f"({part})" for part in parts)
                        if _evaluates(_in_line(whole, ast.unparse(chain), expression), names):
                            fits.append((axis, fixed))
                own = [fixed for axis, fixed in fits if axis == 0]
                if own or len(fits) == 1:
                    fixed = own[0] if own else fits[0][1]
                    return (f"in `{ast.unparse(chain)}` the product fits with `{fixed}` for "
                            f"`{ast.unparse(operand)}`: {base} {tuple(shape)} is read with its "
                            "axes in another order there; "
                            + ("reshape it as it is, its memory already runs in its own axis "
                               "order" if own else "move that axis first, then reshape"))
    return ""


def _one_sided_product(frame: FrameType, line: str, text: str) -> str:
    """For a broadcast error: a product `M @ y` (or `y @ M`), on the learner's line or on an
    earlier line of the function that assigned one of its names, that makes the line run once
    completed to the two-sided `M @ y @ M.T` (or `M.T @ y @ M`), re-evaluated in the
    learner's frame; "" otherwise."""
    whole = _expression_of(line)
    if "could not be broadcast" not in text or not whole:
        return ""
    names = {**frame.f_globals, **frame.f_locals}
    sources = [("", whole)]
    lines = frame_lines(frame)
    first, last = frame.f_code.co_firstlineno, frame.f_lineno
    for earlier in reversed(lines[first - 1:last - 1]):  # the latest assignment of a name wins
        found = re.match(r"\s*([A-Za-z_]\w*)\s*=\s*(.+)$", earlier.rstrip())
        if found and "@" in found.group(2) and re.search(rf"\b{found.group(1)}\b", whole) and \
                found.group(1) not in (name for name, _ in sources):
            sources.append((found.group(1), found.group(2)))
    for name, source in sources:
        try:
            tree = ast.parse(source.strip())
        except SyntaxError:
            continue
        for chain in (node for node in ast.walk(tree) if isinstance(node, ast.BinOp) and
                      isinstance(node.op, ast.MatMult)):
            operands = _matmul_operands(chain)
            if len(operands) != 2:
                continue
            left, right = operands
            for side, parts in (("right", (left, right, _toggled(left))),
                                ("left", (_toggled(right), left, right))):
                fixed = ast.unparse(ast.BinOp(left=ast.BinOp(left=parts[0], op=ast.MatMult(),
                                                             right=parts[1]),
                                              op=ast.MatMult(), right=parts[2]))
                if _fits(whole, name, _in_line(source.strip(), ast.unparse(chain), fixed), names):
                    return (f"`{ast.unparse(chain)}` transforms one side only: write `{fixed}`, "
                            f"the factor on the {side} is missing")
    return ""


def _feeding_lines(frame: FrameType, line: str) -> list[tuple[int, str, str]]:
    """(line number, expression, name) of the line (name ""), then of the earlier lines of the
    frame's function that assign a name the line uses (latest first); the frame's value of
    that name tells which of them ran."""
    out = [(frame.f_lineno, _expression_of(line) or line.strip().rstrip(":"), "")]
    lines = frame_lines(frame)
    for number in range(frame.f_lineno - 1, frame.f_code.co_firstlineno - 1, -1):
        found = re.match(r"\s*([A-Za-z_]\w*)\s*=\s*(.+)$", lines[number - 1].rstrip())
        if found and re.search(rf"\b{found.group(1)}\b", line):
            out.append((number, found.group(2), found.group(1)))
    return out


def _fits_elsewhere(tree: ast.AST, node: ast.Subscript, name: str, count: Any,
                    value: Callable[[ast.AST], Any]) -> bool:
    """Whether `name` alone indexes, elsewhere in `tree` (the line or its function), an axis of
    `count` entries: then its loop's range is right there, and the index at `node` is wrong."""
    for other in ast.walk(tree):
        if not isinstance(other, ast.Subscript) or ast.unparse(other) == ast.unparse(node):
            continue
        parts = other.slice.elts if isinstance(other.slice, ast.Tuple) else [other.slice]
        array = _safe(value, other.value)
        if isinstance(array, np.ndarray) and any(
                isinstance(p, ast.Name) and p.id == name and a < array.ndim and
                array.shape[a] == count for a, p in enumerate(parts)):
            return True
    return False


def _made_like(frame: FrameType, name: str, array: np.ndarray) -> str:
    """'was made as np.zeros_like(grad), grad's shape (2, 3, 4, 4)' when the frame's function
    creates `name` with the shape of another of its arrays; "" otherwise."""
    lines = frame_lines(frame)
    for number in range(frame.f_lineno - 1, frame.f_code.co_firstlineno - 1, -1):
        found = re.match(rf"\s*{re.escape(name)}\s*=\s*(np\.(?:zeros|empty|ones)_like\((\w+)"
                         rf"[,)]|np\.(?:zeros|empty|ones)\((\w+)\.shape\b)", lines[number - 1])
        if not found:
            continue
        other = found.group(2) or found.group(3)
        value = frame.f_locals.get(other)
        if isinstance(value, np.ndarray) and value.shape == array.shape and other != name:
            return (f"was made with `{other}`'s shape {_plain(value.shape)} (line {number}: "
                    f"`{lines[number - 1].strip()}`)")
        return ""
    return ""


def _index_past_end(frame: FrameType, line: str, text: str) -> str:
    """For 'index K is out of bounds for axis A with size S': the index expression on the line
    that is K, with the values of the loop variables in it; "" when none is found."""
    found = re.search(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", text)
    if not found:
        return ""
    k, axis, size = (int(v) for v in found.groups())
    parsed = _parsed_line(frame, line)
    if parsed is None:
        return ""
    tree, value = parsed
    names = {**frame.f_globals, **frame.f_locals}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Subscript):
            continue
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        try:
            array = value(node.value)
        except Exception:  # noqa: BLE001 - the learner's names; anything may fail
            continue
        if not isinstance(array, np.ndarray) or axis >= len(parts) or \
                array.shape[axis] != size or isinstance(parts[axis], ast.Slice):
            continue
        index = _safe(value, parts[axis])
        if not _is_int(index) or index != k:
            continue
        loops = [n.id for n in ast.walk(parts[axis]) if isinstance(n, ast.Name) and
                 _is_int(frame.f_locals.get(n.id)) and n.id not in _parameters(frame.f_code)]
        ranged = _loop_bounds(frame)
        expr = ast.unparse(parts[axis])
        if expr in ranged:
            said = (f"the loop `for {expr} in range({ranged[expr]})` reaches {expr} = {k}, past "
                    f"the last index {size - 1} of axis {axis} of `{ast.unparse(node.value)}`")
            count = _safe(value, ast.parse(ranged[expr], mode="eval").body)
            # a swap: another loop variable indexes the axis of size `count` and runs over `size`
            others = [a for a, n in enumerate(array.shape) if a != axis and n == count and
                      a < len(parts) and ast.unparse(parts[a]) in ranged and
                      _safe(value, ast.parse(ranged[ast.unparse(parts[a])], mode="eval").body)
                      == size]
            if expr in _stepped_loops(frame):
                steps = _stepped_range(frame, expr, value)
                if steps is not None and len(steps) == size and steps.step > 1:
                    count = f"({expr} - {steps.start})" if steps.start else expr
                    return (f"{said}: it steps through the positions {steps.start}, "
                            f"{steps.start + steps.step}, ... ({len(steps)} of them, one per entry "
                            f"of that axis) but uses the position itself as the index; index by the "
                            f"step count, {count} // {steps.step}, or loop over the "
                            f"index and compute the position from it")
                return said
            if not _is_int(count) or count <= size:
                return said
            if array.ndim > 1 and count == array.size:
                return (f"{said}: it counts all {count} entries, a flat index, but indexes axis "
                        f"{axis} only; index the flat array, `{ast.unparse(node.value)}.flat"
                        f"[{expr}]`, or loop over np.ndindex of the shape")
            if others:
                other = ast.unparse(parts[others[0]])
                return (f"{said}: it runs over {count} values, the size of axis {others[0]}, "
                        f"where {other} (over {size}) stands: the two indices are swapped, "
                        f"{expr} belongs at axis {others[0]} and {other} at axis {axis}")
            loops_all = _range_loops(frame)
            reused = _nested_reuse(frame, expr)
            if reused:
                return (f"`{expr}` is the variable of two nested loops, `for {expr} in "
                        f"range({reused[0]})` and inside it `for {expr} in range({reused[1]})`: "
                        f"the inner one overwrites the outer, so axis {axis} of "
                        f"`{ast.unparse(node.value)}` gets the inner loop's value; give each loop "
                        f"its own name")
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            owner = [(var, bound) for var, bound in loops_all if var != expr and
                     var not in used and _safe(value, ast.parse(bound, mode="eval").body) == size]
            try:
                body = ast.parse(textwrap.dedent(inspect.getsource(frame.f_code)))
            except (OSError, TypeError, SyntaxError, IndentationError):
                body = tree
            if owner and not _fits_elsewhere(body, node, expr, count, value):
                return said
            if owner:
                return (f"`{expr}` (the variable of `for {expr} in range({ranged[expr]})`) "
                        f"indexes axis {axis} of `{ast.unparse(node.value)}`, whose {size} "
                        f"entries the loop `for {owner[0][0]} in range({owner[0][1]})` already "
                        f"runs over: index that axis with {owner[0][0]}, not {expr}")
            return f"{said}: run it over range({_size_name(size, names, ranged)})"
        loops = [v for v in loops if v in ranged] or loops
        at = ", ".join(f"{v} = {frame.f_locals[v]}" for v in dict.fromkeys(loops))
        made = _made_like(frame, ast.unparse(node.value), array)
        if made:
            return (f"`{ast.unparse(parts[axis])}` is {k}{f' at {at}' if at else ''}, past the "
                    f"last index {size - 1} of axis {axis} of `{ast.unparse(node.value)}`, "
                    f"which {made}: the positions written into it belong to a larger array, so "
                    f"make it that array's shape")
        return (f"`{ast.unparse(parts[axis])}` is {k}{f' at {at}' if at else ''}, past the last "
                f"index {size - 1} of axis {axis} of `{ast.unparse(node.value)}`: it overshoots by "
                f"{k - size + 1}, and must stay below {size}")
    return ""


def _safe(value: Callable[[ast.AST], Any], node: ast.AST) -> Any:
    """value(node), or None where it fails (a slice, a name the frame lacks)."""
    try:
        return None if isinstance(node, ast.Slice) else value(node)
    except Exception:  # noqa: BLE001 - the learner's names; anything may fail
        return None


def _padded_twin(frame: FrameType, array: np.ndarray) -> str:
    """The name of an array of the frame that is `array` padded along its last two axes
    (xpad for x), or ""."""
    for name, other in frame.f_locals.items():
        if not isinstance(other, np.ndarray) or other.ndim != array.ndim or other.ndim < 2 or \
                other.shape[:-2] != array.shape[:-2]:
            continue
        grown = [a - b for a, b in zip(other.shape[-2:], array.shape[-2:])]
        if any(g < 0 or g % 2 for g in grown) or not any(grown):
            continue
        p, q = grown[0] // 2, grown[1] // 2
        if np.array_equal(other[..., p:p + array.shape[-2], q:q + array.shape[-1]], array):
            return name
    return ""


def _windows_that_fit(value: Callable[..., Any], part: ast.Slice, var: str, dim: int) -> int | None:
    """How many values 0, 1, 2, ... of `var` keep the slice `part` inside an axis of size `dim`."""
    fits = 0
    while fits < dim + 1:
        try:
            if value(part.upper, **{var: fits}) > dim:
                return fits
        except Exception:  # noqa: BLE001
            return None
        fits += 1
    return None


def _slice_fit(frame: FrameType, line: str, text: str) -> str:
    """For a broadcast error between arrays that differ in size along an axis: a slice, on the
    line or on a line that fed it, whose length is one of the clashing sizes, with how long it
    is, what it cuts and why (past the end of the array, or a stop that is off); "" otherwise."""
    if "could not be broadcast" not in text and "could not broadcast" not in text:
        return ""
    found = [_parse_shape(s) for s in re.findall(_SHAPE, text.split("shapes", 1)[-1])]
    pairs = {(a, b) for f in found for g in found if len(f) == len(g) and f != g
             for a, b in zip(f, g) if a != b and 1 not in (a, b)}
    if not pairs:
        return ""
    names = {**frame.f_globals, **frame.f_locals}

    def value(node: ast.AST, **extra: Any) -> Any:  # (re-read, so a target loads too)
        return eval(compile(ast.unparse(node), "<line>", "eval"),
                    {"__builtins__": __builtins__}, {**names, **extra})

    clashing = {shape for shape in found}
    for number, source, name in _feeding_lines(frame, line):
        try:  # the line itself whole (an assignment's target too), a feeding line's value
            tree = ast.parse(source, mode="eval") if name else ast.parse(line.strip().rstrip(":"))
        except SyntaxError:
            continue
        if name:  # an assignment: only the one that made the name's value, a clashing array
            try:
                made = value(tree.body)
            except Exception:  # noqa: BLE001
                continue
            held = names.get(name)
            if not isinstance(made, np.ndarray) or not isinstance(held, np.ndarray) or \
                    made.shape != held.shape or made.shape not in clashing or \
                    not np.array_equal(made, held):
                continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Subscript):
                continue
            try:
                array, piece = value(node.value), value(node)
            except Exception:  # noqa: BLE001 - the learner's names; anything may fail
                continue
            parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if not isinstance(array, np.ndarray) or len(parts) > array.ndim or \
                    np.shape(piece) not in clashing:
                continue
            kept = [axis for axis, part in enumerate(parts) if not _is_int(_safe(value, part))]
            kept += list(range(len(parts), array.ndim))
            for axis, part in enumerate(parts):
                if not isinstance(part, ast.Slice) or part.step is not None or \
                        part.upper is None and part.lower is None:
                    continue
                try:
                    start = value(part.lower) if part.lower is not None else 0
                    stop = value(part.upper) if part.upper is not None else array.shape[axis]
                except Exception:  # noqa: BLE001
                    continue
                if not (_is_int(start) and _is_int(stop)) or start < 0 or stop < 0:
                    continue
                dim = array.shape[axis]
                count = max(0, min(stop, dim) - start)
                at = kept.index(axis) - len(kept)  # the piece's axis, counted from the right
                needed = {f[at] for f in found if len(f) >= -at and f[at] not in (1, count)}
                if np.shape(piece)[at] != count or len(needed) != 1:
                    continue
                other = needed.pop()
                size = next((n.id for n in ast.walk(part.upper or part) if isinstance(n, ast.Name)
                             and _is_int(names.get(n.id)) and names.get(n.id) == other),
                            _size_name(other, names))
                cut = f"`{ast.unparse(part)}` of `{ast.unparse(node.value)}` (line {number})"
                if stop > dim:
                    said = (f"the slice {cut} stops at {stop}, past the end of its axis {axis} "
                            f"(size {dim}), so it gives {count} entries where {other} are needed")
                    twin = _padded_twin(frame, array)
                    if twin:
                        return (f"{said}: `{ast.unparse(node.value)}` is the unpadded array, "
                                f"`{twin}` {names[twin].shape} is it padded; cut the windows "
                                f"from `{twin}`")
                    loop = [n.id for n in ast.walk(part.lower) if isinstance(n, ast.Name)
                            and _is_int(names.get(n.id)) and n.id in _for_targets(frame)]
                    fits = _windows_that_fit(value, part, loop[0], dim) if len(loop) == 1 else None
                    if fits is None:
                        return said
                    return (f"{said}: at {loop[0]} = {names[loop[0]]} the window is past the "
                            f"edge; it fits only while {loop[0]} stays below {fits}, so the "
                            f"loop must stop there")
                lower = ast.unparse(part.lower) if part.lower is not None else "0"
                if part.upper is None:
                    return (f"the slice {cut} runs to the end of its axis {axis}, so it gives "
                            f"{count} entries where {other} are needed: give it an end, cut "
                            f"`{lower}:{lower} + {size}`")
                return (f"the slice {cut} gives {count} entries where {other} are needed: its "
                        f"stop is {abs(other - count)} {'short' if other > count else 'too far'}"
                        f"; cut `{lower}:{lower} + {size}`")
    return ""


def _expression_of(line: str) -> str:
    """The expression a line returns, assigns or evaluates ("" when it has no `@`)."""
    if "@" not in line:
        return ""
    try:
        tree = ast.parse(line.strip().rstrip(":"))
    except SyntaxError:
        return ""
    statement = tree.body[0] if tree.body else None
    return ast.unparse(statement.value) if isinstance(
        statement, (ast.Return, ast.Assign, ast.AugAssign, ast.Expr)) and statement.value else ""


def _fits(whole: str, name: str, fixed: str, names: dict[str, Any]) -> bool:
    """Whether the line's expression runs once `fixed` is used: as the line itself (no
    `name`), or as the new value of `name`."""
    if not name:
        return _evaluates(fixed, names)
    try:
        with np.errstate(all="ignore"):
            value = eval(compile(fixed, "<fix>", "eval"), {"__builtins__": __builtins__}, dict(names))
    except Exception:  # noqa: BLE001 (it does not fit)
        return False
    return _evaluates(whole, {**names, name: value})


def _in_line(whole: str, part: str, fixed: str) -> str:
    """The line's expression with `part` replaced by `fixed` (just `fixed` when the line's
    expression is unknown or does not spell `part` the same way)."""
    return whole.replace(part, f"({fixed})") if whole and part in whole else fixed


def _evaluates(expression: str, names: dict[str, Any]) -> bool:
    """Whether `expression` runs without error on the frame's names."""
    try:
        with np.errstate(all="ignore"):
            eval(compile(expression, "<fix>", "eval"), {"__builtins__": __builtins__}, dict(names))
    except Exception:  # noqa: BLE001 (it does not fit)
        return False
    return True


def _substitution_fix(chains: list[ast.BinOp], names: dict[str, Any], whole: str = "") -> str:
    """For a chain of @ that failed: another matrix of the frame that fits in place of one
    named in it (every occurrence replaced), or two of the line's matrices that fit exchanged,
    when the whole line then runs and exactly one choice does; "" otherwise."""
    matrices = [k for k, v in names.items() if isinstance(v, np.ndarray) and v.ndim == 2]
    for chain in chains:
        used = sorted({node.id for node in ast.walk(chain) if isinstance(node, ast.Name)
                       and node.id in matrices})
        fits = []
        for old, new in itertools.permutations(matrices, 2):
            if old not in used or new in used or names[old].shape == names[new].shape:
                continue
            swapped = re.sub(rf"\b{old}\b", new, ast.unparse(chain))
            if _evaluates(_in_line(whole, ast.unparse(chain), swapped), names):
                fits.append((old, new))
        if len(fits) == 1:
            old, new = fits[0]
            return (f"in `{ast.unparse(chain)}` the product fits with `{new}` {names[new].shape} "
                    f"in place of `{old}` {names[old].shape}: the two matrices are mixed up")
    in_line = sorted({k for k in matrices if whole and re.search(rf"\b{k}\b", whole)})
    exchanges = [(a, b) for a, b in itertools.combinations(in_line, 2)
                 if names[a].shape != names[b].shape and _evaluates(
                     re.sub(rf"\b({a}|{b})\b", lambda m: b if m.group(1) == a else a, whole),
                     names)]
    if len(exchanges) == 1:
        a, b = exchanges[0]
        return (f"the line runs with `{a}` {names[a].shape} and `{b}` {names[b].shape} "
                "exchanged everywhere in it: the two matrices are applied to each other's "
                "operands")
    return ""


def frame_lines(frame: FrameType) -> list[str]:
    """The lines of the file that holds the frame's code; [] when they cannot be trusted. A
    file on disk and a registered `<cell 3>` are; any other name may have been filled by the
    file cache from another module (code compiled under a plain name in `__main__` gets
    `__main__`'s file), so a function's lines count only where its definition stands at its
    first line, and module-level code's not at all."""
    code = frame.f_code
    lines = linecache.getlines(code.co_filename, frame.f_globals)
    if code.co_filename.startswith("<") or os.path.isfile(code.co_filename):
        return lines
    for text in lines[code.co_firstlineno - 1:code.co_firstlineno + 19]:
        found = re.match(r"\s*(?:async\s+)?def\s+(\w+)", text)  # past any decorators
        if found:
            return lines if found.group(1) == code.co_name else []
    return []


def _source_line(frame: FrameType, lineno: int) -> str:
    lines = frame_lines(frame)
    return lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""


def _first_said(readings: list[Callable[[], str]]) -> str:
    """The first non-empty reading of the learner's source and values; one that trips on
    odd values says nothing."""
    for reading in readings:
        try:
            said = reading()
        except Exception:  # noqa: BLE001 - the learner's values; anything may fail
            continue
        if said:
            return said
    return ""


def describe_error(exercise: Exercise, err: BaseException) -> str:
    """'exercise 4 (`conv2d_forward`) raised ValueError: ... (line 12: `out = out + b`); shapes
    there: out (2, 5, 9, 11), b (5,). <what such an error usually means>'."""
    from .crash_causes import called_as, crash_cause, enclosing_exercise  # (imports this module)
    frames = _learner_frames(err.__traceback__)
    label = exercise_label(called_as(err, EXERCISE_CELLS.get(exercise.lesson, ())) or
                           _raiser(err, exercise.function), exercise.lesson)
    outer = enclosing_exercise(err, EXERCISE_CELLS.get(exercise.lesson, ()))
    if outer and not label.startswith("exercise"):      # a helper defined inside the exercise
        label += f" in {exercise_label(outer, exercise.lesson)}"
    message = f"{label} raised {type(err).__name__}: {first_line(err)}"
    cause = crash_cause(exercise.function, err)
    shapes: dict[str, tuple[int, ...]] = {}
    sided = ""  # a one-sided product explains a broadcast error better than the shapes' hint
    seen = ""  # a reading verified on the line's values, which the text's hint would only guess
    if frames:
        frame, lineno = frames[-1]
        line = _source_line(frame, lineno)
        sided = _one_sided_product(frame, line, str(err)) or _tuple_operand(frame, line, str(err))
        message += f" (line {lineno}" + (f": `{line}`)" if line else ")")
        for name in dict.fromkeys(re.findall(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", line)
                                  if line else _frame_arrays(frame, str(err))):
            shape = _shape_of(_lookup(frame, name))
            if shape is not None and len(shapes) < 6:
                shapes[name] = shape
        if shapes:
            message += "; shapes there: " + ", ".join(f"{k} {v}" for k, v in shapes.items())
        forwards = _forwards_of(err.__traceback__)
        counted = _first_said([lambda: _swapped_loop_variables(frame),
                               lambda: _window_count_rule(frame, line),
                               lambda: _reduced_on_another_axis(frame, line),
                               lambda: _whole_vector_into_slice(frame, line, str(err)),
                               lambda: _reshape_count_fix(frame, line, str(err)),
                               lambda: _rows_reshaped_to_image(frame, line, str(err)),
                               lambda: _row_count_fix(frame, str(err))] +
                              [lambda f=f: _ctx_saved_otherwise(f, forwards)
                               for f, _ in reversed(frames)])
        sided = counted or sided
        odd = sided if counted or sided.startswith("`") and "a tuple" in sided else \
            _pairwise_reduction(frame, line) or _loop_past_the_edge(frame, line) or \
            _sequence_into_entry(frame, line, str(err)) or _odd_values(frame, line, str(err))
        seen = "" if odd else _first_said([lambda: _misplaced_pair(frame, line, str(err)),
                                           lambda: _pieces_of_other_shapes(frame, line, str(err))])
        odd = odd or seen
        unpacked = "" if odd else _first_said([lambda: _unpacked_lengths(frame, line, str(err))])
        if unpacked:   # a value of another length than its names: the shape hints would guess
            odd = sided = unpacked
        if not odd:  # a fitted fix of the product explains it better than the shapes' hint
            try:
                sided = _transpose_fix(frame, line, str(err)) or sided or \
                    _reversed_operand(frame, line, str(err)) or \
                    _slice_fit(frame, line, str(err)) or _index_past_end(frame, line, str(err))
            except Exception:  # noqa: BLE001 - a fit tripped by the learner's values adds nothing
                pass
        if not (odd or sided):  # a packed *args tuple or an array padded on the wrong axes
            sided = _varargs_used_as_array(frame, line, str(err)) or _padded_everywhere(frame)
        odd = odd or sided or _reduced_over_other_axis(frame, shapes)
        if odd and not cause:  # the verified cause explains the error on its own
            message += f"; {odd}"
    try:
        known = cause or (exercise.explain_error(err) if exercise.explain_error else "")
    except Exception:  # noqa: BLE001 - a hint tripped by the learner's odd values adds nothing
        known = cause
    if known:
        return f"{message}. {known}"
    line = _source_line(*frames[-1]) if frames else ""
    hint = "" if sided or seen else \
        _loop_unpack(line, str(err)) or _missing_key(err) or error_hint(str(err), shapes)
    called = _course_function_below(err.__traceback__)
    if called == "apply" and _forward_returned_none(err.__traceback__):
        return (message + ". The Function's forward returned None, so the engine got no array: "
                "does your forward end with `return` of its output?")
    if called:
        hint = (f"the error arose inside the course's `{called}`, called on this line: the "
                f"arguments passed to it do not fit together (compare them with what "
                f"`{called}` expects: shapes, kernel sizes, strides)" + (f"; {hint}" if hint else ""))
    slips = argument_slips(err.__traceback__) or (swapped_arguments(frames[-1][0])
                                                  if frames else "")
    if slips:  # two values handed over swapped explain the error on their own
        hint = slips + (f"; {hint}" if hint and " swapped: " not in slips else "")
    return message + (f". {hint}" if hint else "")


_PACKAGE = Path(__file__).resolve().parents[1]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _as_pair(value: Any) -> tuple[int, int] | None:
    """(v, v) for an int v, a pair of ints as plain ints, None for anything else."""
    if _is_int(value):
        return (int(value), int(value))
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_is_int, value)):
        return (int(value[0]), int(value[1]))
    return None


def argument_slips(tb: TracebackType | None) -> str:
    """A call in the learner's code whose int arguments differ from the caller's own variables
    of the same names (kh and kw swapped, a stride of 1 passed where the caller's sh is 2),
    in one clause; "" when no call on the traceback shows one."""
    frames = traceback_frames(tb)
    for j in reversed(range(1, len(frames))):
        callee, i = frames[j][0], j - 1
        while i > 0 and not _is_learner(frames[i][0]) and _is_learner(frames[i - 1][0]):
            i -= 1  # the engine between two of the learner's functions (Function.apply)
        (caller, lineno) = frames[i]
        if not _is_learner(caller):
            continue
        code = callee.f_code
        names = _parameters(code)
        given = {p: callee.f_locals.get(p) for p in names}
        own = {p: caller.f_locals.get(p) for p in names}
        if i < j - 1:  # reached through the engine: compare pairs, an int standing for (v, v)
            given, own = ({p: _as_pair(v) for p, v in d.items()} for d in (given, own))
            pairs = [p for p in names if given[p] is not None and own[p] is not None
                     and given[p] != own[p]]
            swapped = [(p, q) for k, p in enumerate(pairs) for q in pairs[k + 1:]
                       if given[p] == own[q] and given[q] == own[p]]
            if swapped:
                p, q = swapped[0]
                return (f"the call on line {lineno} hands `{code.co_name}` {p} and {q} swapped: "
                        f"it receives {p}={given[p]}, {q}={given[q]} while yours are "
                        f"{p}={own[p]}, {q}={own[q]}; pass each value under its own name")
            continue
        differ = [p for p in names if _is_int(given[p]) and _is_int(own[p]) and given[p] != own[p]]
        if not differ:
            continue
        swapped = [(p, q) for k, p in enumerate(differ) for q in differ[k + 1:]
                   if given[p] == own[q] and given[q] == own[p]]
        where = f"the call to `{code.co_name}` on line {lineno}"
        if swapped:
            p, q = swapped[0]
            return (f"{where} passes {p} and {q} swapped: it receives {p}={int(given[p])}, "
                    f"{q}={int(given[q])} while yours are {p}={int(own[p])}, {q}={int(own[q])}; "
                    f"pass them in the order `{code.co_name}` takes them ({', '.join(names)})")
        listed = ", ".join(f"{p}={int(given[p])}" for p in differ)
        mine = ", ".join(f"{p}={int(own[p])}" for p in differ)
        return (f"{where} passes {listed} while your own {mine} there: unless they are meant "
                "to differ, an argument is in the wrong place or replaced by another value "
                f"(`{code.co_name}` takes {', '.join(names)})")
    return ""


def swapped_arguments(frame: FrameType) -> str:
    """An earlier call in the learner's function that passes its own variables under each
    other's parameter names (`im2col(g, kw, kh, sh, sw)` to im2col(x, kh, kw, sh, sw)), with
    values that differ, in one clause; "" when the function's source shows none."""
    try:
        lines, first = inspect.getsourcelines(frame.f_code)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return ""
    own = frame.f_locals
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = _lookup(frame, ast.unparse(node.func)) if isinstance(
            node.func, (ast.Name, ast.Attribute)) else None
        try:
            params = list(inspect.signature(callee).parameters) if callable(callee) else []
        except (TypeError, ValueError):
            continue
        given = {params[k]: arg.id for k, arg in enumerate(node.args[:len(params)])
                 if isinstance(arg, ast.Name)}
        given.update({k.arg: k.value.id for k in node.keywords
                      if k.arg and isinstance(k.value, ast.Name)})
        wrong = [(p, q) for p, q in given.items() if q != p and q in params and
                 _is_int(own.get(p)) and _is_int(own.get(q)) and own[p] != own[q]]
        if wrong:
            listed = " and ".join(f"your {q} ({int(own[q])}) as {p}" for p, q in wrong)
            return (f"line {first + node.lineno - 1} calls `{ast.unparse(node)}`, which passes "
                    f"{listed} (`{ast.unparse(node.func)}` takes {', '.join(params)}): pass "
                    "each value under its own name")
        literal = {params[k]: arg.value for k, arg in enumerate(node.args[:len(params)])
                   if isinstance(arg, ast.Constant) and _is_int(arg.value)}
        differ = [p for p, v in literal.items() if _is_int(own.get(p)) and own[p] != v]
        stride = _as_pair(own.get("stride", getattr(own.get("ctx"), "stride", None)))
        strides = [p for p in ("sh", "sw") if p in literal and p not in own]
        if not differ and stride and len(strides) == 2 and \
                (literal["sh"], literal["sw"]) != stride:
            return (f"line {first + node.lineno - 1} calls `{ast.unparse(node)}`, which passes "
                    f"the numbers sh={literal['sh']}, sw={literal['sw']} while the stride here "
                    f"is {stride}: unless they are meant to differ, pass the stride")
        if differ:
            listed = ", ".join(f"{p}={literal[p]}" for p in differ)
            mine = ", ".join(f"{p}={int(own[p])}" for p in differ)
            return (f"line {first + node.lineno - 1} calls `{ast.unparse(node)}`, which passes "
                    f"the number{'s' if len(differ) > 1 else ''} {listed} while your own {mine} "
                    f"there: unless they are meant to differ, pass your {', '.join(differ)}")
    return ""


def _forward_returned_none(tb: TracebackType | None) -> bool:
    """True when the engine's Function.apply failed after the forward it called returned None."""
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "apply" and "out" in frame.f_locals and \
                frame.f_locals["out"] is None and "ctx" in frame.f_locals:
            return True
        tb = tb.tb_next
    return False


def _course_function_below(tb: TracebackType | None) -> str:
    """The course function (of this package, not of its checks) that the learner's innermost
    frame called and that raised, or "" when the error arose elsewhere."""
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    learner = [i for i, frame in enumerate(frames) if _is_learner(frame)]
    for frame in frames[learner[-1] + 1:] if learner else []:
        path = Path(frame.f_code.co_filename).resolve()
        if path.is_relative_to(_PACKAGE) and not path.is_relative_to(_PACKAGE / "checks"):
            return frame.f_code.co_name
    return ""


def _lookup(frame: FrameType, dotted: str) -> Any:
    """The value of a name or attribute chain (`ctx.cols`) in `frame`; None if there is none."""
    head, *attributes = dotted.split(".")
    value = frame.f_locals.get(head, frame.f_globals.get(head))
    for attribute in attributes:
        value = None if callable(value) else getattr(value, attribute, None)
    return value


_SHAPE = r"\(([\d,\s]*)\)"


def _parse_shape(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.replace(" ", "").split(",") if n)


def _loop_unpack(line: str, text: str) -> str:
    """The hint for `for a, b, c in items` whose items hold another number of entries."""
    loop = re.match(r"for\s+\(?([\w\s,]+?)\)?\s+in\s+(.+?):", line)
    count = re.search(r"values to unpack \(expected (\d+)(?:, got (\d+))?\)", text)
    if not (loop and count and "," in loop.group(1)):
        return ""
    held = f"{count.group(2)} entries" if count.group(2) else f"more than {count.group(1)} entries"
    return (f"each item of `{loop.group(2)}` holds {held}, and the loop unpacks "
            f"{count.group(1)} names ({loop.group(1).strip()}): unpack as many names as an "
            "item holds")


def _missing_key(err: BaseException) -> str:
    """The hint for a KeyError: a dict read at a key that was never set."""
    if not isinstance(err, KeyError) or not err.args:
        return ""
    return (f"the dict has no entry {err.args[0]!r} when it is read: set each key before "
            "reading or adding to it (d[key] = 0 first, d.get(key, 0), or "
            "collections.defaultdict)")


def _swapped_bounds(value: tuple[int, ...], place: tuple[int, ...],
                    shapes: dict[str, tuple[int, ...]]) -> str:
    """For `x[...] = y` where y is an array of the line as it is and the slice it fills has
    y's sizes along two axes in the other order: the slice's bounds swap them; "" otherwise."""
    named = [name for name, shape in shapes.items() if shape == value]
    axes = [a for a, (m, n) in enumerate(zip(value, place)) if m != n]
    if not named or len(value) != len(place) or len(axes) != 2 or \
            (value[axes[0]], value[axes[1]]) != (place[axes[1]], place[axes[0]]):
        return ""
    i, j = axes
    return (f"the slice you assign into has the shape {place} and `{named[0]}` {value}: its "
            f"bounds along axis {i} span {place[i]}, the size of `{named[0]}` along axis {j}, and "
            f"back (the height and width swapped in the slice): a slice along axis {i} runs "
            f"start:start + {named[0]}.shape[{i}]")


def error_hint(text: str, shapes: dict[str, tuple[int, ...]]) -> str:
    """What a NumPy or engine error usually means, from its text alone."""
    if "could not be broadcast" in text:
        found = [_parse_shape(s) for s in re.findall(_SHAPE, text.split("shapes", 1)[-1])]
        return _broadcast_hint(found, shapes)
    stored = re.search(r"could not broadcast input array from shape " + _SHAPE + " into shape "
                       + _SHAPE, text)
    if stored:
        value, place = _parse_shape(stored.group(1)), _parse_shape(stored.group(2))
        bounds = _swapped_bounds(value, place, shapes)
        if bounds:
            return bounds
        if _same_count_other_shape(value, place):
            return (f"the value assigned holds the right number of entries ({math.prod(value)}) "
                    f"in the shape {value}, where the place it goes has the shape {place}: "
                    f"reshape it to that shape first (`.reshape{place}`"
                    + (", or .ravel()" if len(place) == 1 else "") + ")")
        return ("an assignment puts an array of one shape into a place of another: "
                + _broadcast_hint([value, place], shapes))
    inplace = re.search(r"non-broadcastable output operand with shape " + _SHAPE +
                        " doesn't match the broadcast shape " + _SHAPE, text)
    if inplace:
        place, value = _parse_shape(inplace.group(1)), _parse_shape(inplace.group(2))
        short = [k for k, (p, v) in enumerate(zip(place, value)) if p < v] \
            if len(place) == len(value) else []
        if short:
            sizes = ", ".join(f"{place[k]} instead of {value[k]} along axis {k}" for k in short)
            return (f"an in-place update (+=) writes into a slice cut short ({sizes}): the slice "
                    "runs past the edge of the array it cuts (its start or its stop lies beyond "
                    "that axis's size)")
        return ("an in-place update (+=, *=) writes into a place of another shape than its "
                "value: " + _broadcast_hint([place, value], shapes))
    saved = re.search(r"'Context' object has no attribute '(\w+)'", text)
    if saved:
        return (f"backward reads ctx.{saved.group(1)}, which forward never saved: set "
                f"ctx.{saved.group(1)} = ... in forward (the names must match)")
    beyond = re.search(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", text)
    if beyond:
        return (f"an index runs past the end of axis {beyond.group(2)} (size {beyond.group(3)}): "
                "check the loop bounds and the index arithmetic (range(n) ends at n - 1; the last "
                "window starts at (H_out - 1) * stride)")
    if "Iterator operand" in text and "not writeable" in text:
        return ("np.nditer hands out read-only entries unless asked: iterate with "
                "np.nditer(x, flags=['multi_index'], op_flags=['readwrite']), or assign to "
                "x[it.multi_index] itself")
    if "zero-size array to reduction operation" in text:
        return ("a slice came out empty before the max/min over it: it starts at or past the "
                "array's edge, or stops where it starts (note that x[p:-p] is empty when p = 0)")
    if "too many indices for array" in text:
        return ("an array has fewer axes than the index gives: check which array is indexed and "
                "its shape (is it the 2-D matrix where you meant the 4-D image?)")
    if "truth value of an array with more than one element is ambiguous" in text:
        return ("Python's max, min, `if` or `and` met a whole array: use np.max / np.min / "
                "np.maximum, or .any() / .all() for a condition")
    if "can't multiply sequence by non-int" in text or re.search(
            r"unsupported operand type\(s\) for [-+*/]+: '(tuple|list)' and '(float|int)'|"
            r"unsupported operand type\(s\) for [-+*/]+: '(float|int)' and '(tuple|list)'", text):
        return ("arithmetic between a tuple (or list) and a number: Python does not apply it to "
                "each element (a tuple times an int repeats it); compute each value on its own, "
                "or make an array first (np.asarray)")
    if re.search(r"'Tensor'|argument 0 of type Tensor", text) and \
            re.search(r"bad operand|ufunc|not supported|object is not callable", text):
        return ("a NumPy function met the course's Tensor, which it cannot follow: use the "
                "Tensor's own operations (x.relu(), x.exp(), x.log(), x.sigmoid(), x.sum(), "
                "x.mean(), arithmetic), so that backward reaches the inputs")
    twice = re.search(r"got multiple values for argument '(\w+)'", text)
    if twice:
        return (f"`{twice.group(1)}` is given twice, by position and by name: a * unpacked a "
                "list into separate arguments, so its second item took the place of "
                f"`{twice.group(1)}`; pass the list itself (np.concatenate(arrays, axis=dim), "
                "not np.concatenate(*arrays, ...))")
    axis = re.search(r"axis (-?\d+) is out of bounds for array of dimension (\d+)", text)
    if axis:
        return (f"axis {axis.group(1)} of an array with {axis.group(2)} axes: an axis is a "
                f"position, 0 to {int(axis.group(2)) - 1}, so a size (an entry of a shape) or "
                "a count of axes was passed where a position belongs")
    if "unexpected keyword argument 'axis'" in text:
        return "the course's Tensor names the axis argument dim= (as PyTorch does), not axis="
    missing = re.search(r"'Tensor' object has no attribute '(\w+)'", text)
    if missing:
        return (f"the course's Tensor has no .{missing.group(1)}: build it from the operations it "
                "has (relu, exp, log, sigmoid, tanh, sum, mean, max, pow, reshape, arithmetic); "
                "|x| is x.relu() + (-x).relu()")
    missing = re.search(r"'Node' object has no attribute '(\w+)'", text)
    if missing:
        return (f"the check's nodes are the lesson's Values, which have no .{missing.group(1)}: "
                "use data, grad, _prev (the inputs) and _backward (send grad to the inputs)")
    unpacked = re.search(r"too many values to unpack \(expected (\d+)\)", text)
    if unpacked:
        n = int(unpacked.group(1))
        return (f"more values than the {n} names on the left: an array's shape may have more "
                f"axes (..., H, W); take the last {n} with shape[-{n}:]")
    if "'NoneType'" in text:
        return ("a value is None: a function without `return`, or the optional bias used when "
                "there is none (check `if bias is not None` / `if bias:`)")
    joined = re.search(r"along dimension (\d+), the array at index \d+ has size \d+ and the "
                       r"array at index \d+ has size \d+", text)
    if joined:
        return (f"np.concatenate keeps every axis but the joining one, and these arrays differ "
                f"along dimension {joined.group(1)}: they are joined along an axis other than "
                "the one asked for (use the `dim` argument)")
    if "all input arrays must have the same shape" in text:
        return ("np.stack puts the arrays side by side along a NEW axis and needs equal shapes; "
                "np.concatenate joins them along an existing one")
    if "Cannot cast ufunc" in text and "to dtype('int" in text:
        return ("an integer array cannot take the float results: create it with a float dtype "
                "(np.zeros(shape), or dtype=x.dtype), not an int one")
    if "inhomogeneous shape" in text:
        return ("the pieces put into one array have different shapes, and every piece must "
                "have the same (a window sliced past the array's edge comes out shorter)")
    if "cannot unpack non-iterable int" in text:
        return ("an int is unpacked as if it were a pair: the value on the right of the line "
                "is one number where a pair (or a longer sequence) belongs")
    unpack = re.search(r"(?:not enough|too many) values to unpack \(expected (\d+)", text)
    if unpack:
        return (f"the value unpacked does not have {unpack.group(1)} entries: a shape with "
                "another number of axes than the code expects (an array saved or reshaped "
                "differently, a matrix where the 4-D array belongs?)")
    if "object cannot be interpreted as an integer" in text:
        return ("a float is used where an int is needed (a size, a range): divide sizes with "
                "// (floor division), not /, which always gives a float")
    if "slice indices must be integers" in text or "only integers, slices" in text:
        return "indices and slice bounds must be ints: divide with // (not /) and use int(...)"
    reshape = re.search(r"cannot reshape array of size (\d+) into shape " + _SHAPE, text)
    if reshape:
        have, want = int(reshape.group(1)), int(np.prod(_parse_shape(reshape.group(2))))
        more = (f"; {have} values for {want} places: is an axis left to sum over?"
                if have > want and have % want == 0 else
                f"; {want // have} times fewer values than the shape needs: an axis was reduced "
                "(a max, sum or argmax over too many axes?) or left out"
                if have < want and have and want % have == 0 else "")
        return ("reshape keeps the number of values: compare the sizes on both sides (count the "
                f"output pixels with the output-size formula){more}"
                f"{_reshape_sizes(have, _parse_shape(reshape.group(2)))}")
    if "matmul" in text and "mismatch in its core dimension" in text:
        saved = [name for name in shapes if name.startswith("ctx.")]
        sizes = re.search(r"size (\d+) is different from (\d+)", text)
        mismatched = {int(n) for n in sizes.groups()} if sizes else set()
        # a saved array in the clash that no transpose could fit: none of its sizes is elsewhere
        unfit = [name for name in saved if mismatched & set(shapes[name]) and not
                 set(shapes[name]) & {n for other, shape in shapes.items() if other != name
                                      for n in shape}]
        if unfit:
            name = unfit[0]
            return (f"`{name}` {shapes[name]}, saved in forward, does not fit the arrays of "
                    f"backward (sizes {sizes.group(1)} and {sizes.group(2)} should be equal): "
                    "forward saved an array built from another input than the one its output "
                    "came from (the unpadded one?) or before a reshape")
        return ("in a @ b the last axis of a must equal the second-to-last of b: reshape or "
                "transpose one side" + _matmul_fix(shapes))
    dot = re.search(r"shapes " + _SHAPE + " and " + _SHAPE + " not aligned", text)
    if dot:
        return _dot_fix(_parse_shape(dot.group(1)), _parse_shape(dot.group(2)), shapes)
    return ""


def _dot_fix(a: tuple[int, ...], b: tuple[int, ...], shapes: dict[str, tuple[int, ...]]) -> str:
    """For np.dot(a, b) of two matrices that do not pair up: the transpose or the swap of the
    operands that makes them fit, named by the learner's arrays of those shapes."""
    def name(shape: tuple[int, ...], fallback: str) -> str:
        found = [k for k, v in shapes.items() if v == shape]
        return f"`{found[0]}`" if len(found) == 1 else fallback

    first, second = name(a, "the first"), name(b, "the second")
    rule = f"np.dot(a, b) pairs a's last axis with b's first: here {a} and {b} do not"
    if len(a) != 2 or len(b) != 2:
        return rule
    fits = [(a[1] == b[1], f"{second} needs its .T ({a} with {b[::-1]})"),
            (a[0] == b[0], f"{first} needs its .T ({a[::-1]} with {b})"),
            (b[1] == a[0], f"the operands go the other way round, np.dot(b, a) ({b} with {a})")]
    found = [text for ok, text in fits if ok]
    return f"{rule}; {found[0]}" if len(found) == 1 else rule


def _matmul_fix(shapes: dict[str, tuple[int, ...]]) -> str:
    """' (`w` (5, 18) fits as w.T)' when the matrices on the line pair up once one is
    transposed; '' when no such pair is found."""
    matrices = [(name, shape) for name, shape in shapes.items() if len(shape) == 2]
    fixes = []
    for (a, sa), (b, sb) in itertools.permutations(matrices, 2):
        if sa[1] != sb[0] and sa[1] == sb[1]:
            fixes.append(f" (`{a}` {sa} @ `{b}`.T {sb[::-1]} fits: is `{b}` missing its .T?)")
        elif sa[1] != sb[0] and sa[0] == sb[0]:
            fixes.append(f" (`{a}`.T {sa[::-1]} @ `{b}` {sb} fits: is `{a}` missing its .T?)")
    return fixes[0] if len(matrices) == 2 and fixes else ""


def _reshape_sizes(have: int, want: tuple[int, ...]) -> str:
    """'; the values fit (2, 9, 11, 5): axes 1 and 2 are 2 and 2 larger in the array' when
    changing two neighbouring axes by the same small amount explains the count; else ''."""
    steps = sorted(itertools.product(range(-6, 7), repeat=2),
                   key=lambda d: (abs(d[0]) + abs(d[1]), d))
    for dy, dx in steps[1:]:
        for axis in range(1, len(want) - 1):
            fit = list(want)
            fit[axis] += dy
            fit[axis + 1] += dx
            if min(fit) > 0 and want[axis] > 1 and want[axis + 1] > 1 and int(np.prod(fit)) == have:
                moved = [a for a in (axis, axis + 1) if fit[a] != want[a]]
                steps = {fit[a] - want[a] for a in moved}
                cause = {-1: "one more: a division rounded up, or a + 1 too many?",
                         1: "one fewer: the + 1 of the size rule missing?"}.get(
                    steps.pop() if len(steps) == 1 else 0, "the padding or the stride left out "
                    "or wrong, or an input size used in its place?")
                held = " x ".join(str(fit[a]) for a in moved)
                yours = " x ".join(str(want[a]) for a in moved)
                axes = " and ".join(map(str, moved))
                return (f"; the values fit {tuple(fit)}: {'axes' if len(moved) > 1 else 'axis'} {axes} "
                        f"hold{'s' * (len(moved) == 1)} {held} in the array but {yours} in your "
                        f"reshape, so {'those sizes come' if len(moved) > 1 else 'that size comes'}"
                        f" from another rule than the array's ({cause})")
    return ""


def _cut_short(found: list[tuple[int, ...]], axes: list[int]) -> str:
    """For two shapes that differ only along the last two axes, one smaller there: a window
    slice that ran past the edge of the array it cuts; "" otherwise."""
    if len(found) != 2 or any(a < len(found[0]) - 2 for a in axes):
        return ""
    small, big = sorted(found, key=lambda shape: [shape[a] for a in axes])
    if not all(small[a] <= big[a] for a in axes):
        return ""
    return ("a slice came out shorter than the other array: a slice with the wrong bounds "
            "(start:start + size, with a step start:start + step * count), or one that runs "
            "past the edge of the array it cuts (windows come from the padded input)")


def _same_count_other_shape(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Two shapes with as many entries, whose sizes other than 1 are not the same ones in
    another order: one array reshaped (not transposed) would fit the other."""
    return math.prod(a) == math.prod(b) and \
        sorted(n for n in a if n != 1) != sorted(n for n in b if n != 1)


def _broadcast_hint(found: list[tuple[int, ...]], shapes: dict[str, tuple[int, ...]]) -> str:
    distinct = list(dict.fromkeys(found))
    if len(distinct) == 2 and _same_count_other_shape(*distinct):
        flat, full = sorted(distinct, key=len)
        names = [k for k, v in shapes.items() if v == flat]
        what = f"`{names[0]}` {flat}" if names else f"the array of shape {flat}"
        return (f"{what} holds the right number of entries ({math.prod(flat)}) in another "
                f"shape than {full}: reshape it first, `.reshape{full}`")
    if len(found) >= 2 and len({len(f) for f in found}) == 1:
        first, *others = found
        axes = sorted({a for f in others for a, (m, n) in enumerate(zip(first, f))
                       if m != n and 1 not in (m, n)})
        if axes and any(0 in f for f in found):
            return ("a slice came out empty (size 0 along an axis): its start lies at or past "
                    "the end of the array it cuts")
        if axes and all(sorted(f) == sorted(first) for f in others):
            listed = " vs ".join(map(str, dict.fromkeys(found)))
            return (f"the arrays have the same sizes in another order ({listed}): "
                    "two axes are swapped, a transpose (or reshape) puts them in the wrong order")
        if axes and all(m == n for f in others for a, (m, n) in enumerate(zip(first, f))
                        if a not in axes):
            sizes = " vs ".join(str(tuple(f[a] for a in axes)) for f in dict.fromkeys(found))
            short = _cut_short(found, axes)
            if short:
                return (f"the arrays have the same axes but different sizes along axis "
                        f"{_axes_text(tuple(axes))} ({sizes}): {short}")
            return (f"the arrays have the same axes but different sizes along axis "
                    f"{_axes_text(tuple(axes))} ({sizes}): one of them is not the piece "
                    "intended, a slice with the wrong bounds (start:start + size, with a step "
                    "start:start + step * count) or an index taken on the wrong axis")
    found = list(dict.fromkeys(found))   # an in-place update names the place twice
    if len(found) != 2:
        return "shapes are matched from the right (the last axes first)"
    small, big = sorted(found, key=lambda shape: (sum(n != 1 for n in shape), len(shape)))
    names = [k for k, v in shapes.items() if v == small]
    what = f"`{names[0]}` {small}" if names else f"an array of shape {small}"
    sizes = [n for n in small if n != 1]
    if len(sizes) == 1 and sizes[0] in big:
        axes = [i for i, n in enumerate(big) if n == sizes[0]]
        shapes = [tuple(sizes[0] if i == axis else 1 for i in range(len(big))) for axis in axes]
        return (f"broadcasting lines shapes up from the right, so {what} meets the last "
                f"axes of {big}; to act along axis {' or '.join(map(str, axes))} (size "
                f"{sizes[0]}) it needs the shape {' or '.join(map(str, shapes))}"
                + (f", e.g. `.reshape{shapes[0]}`" if len(shapes) == 1 else ""))
    return f"broadcasting lines shapes up from the right: {small} and {big} clash there"


# ---- comparisons -------------------------------------------------------------------------
def shape_message(what: str, got_shape: tuple[int, ...], expected: tuple[int, ...],
                  hint: str = "") -> str:
    """'wrong shape: expected ..., got ...' (with an off-by note when dims are off by <= 2)."""
    got_shape, expected = tuple(int(n) for n in got_shape), tuple(int(n) for n in expected)
    message = f"{what}: wrong shape: expected {expected}, got {got_shape}"
    if 0 in got_shape and 0 not in expected:
        return message + (f": axis {got_shape.index(0)} is empty, so a slice came out empty "
                          "(x[p:-p] is empty when p = 0; write x[p:size - p])") + \
            (f". {hint}" if hint else "")
    if sorted(got_shape) == sorted(expected):
        return message + (": the right sizes in another order, so axes are swapped (a "
                          "transpose or reshape puts them in the wrong order"
                          f"{axis_order_note(got_shape, expected)})") + \
            (f". {hint}" if hint else "")
    merged = merged_axes(got_shape, expected)
    if merged:
        return message + f": {merged}" + (f". {hint}" if hint else "")
    message += off_by_note(got_shape, expected)
    if np.prod(got_shape) == np.prod(expected) and len(got_shape) == len(expected):
        message += (": the right number of values in another shape, so a reshape groups them "
                    "differently (count what one row or slice must hold)")
    return message + (f". {hint}" if hint else "")


def merged_axes(got: tuple[int, ...], expected: tuple[int, ...]) -> str:
    """'axes 0 and 1 (2 x 3) are merged into one axis of 6 ...' when `got` is `expected` with
    two neighbouring axes joined (or one axis split in two); "" otherwise."""
    for short, long, merged in ((got, expected, True), (expected, got, False)):
        if len(long) != len(short) + 1:
            continue
        for k in range(len(short)):
            if long[:k] + (long[k] * long[k + 1],) + long[k + 2:] == short and \
                    min(long[k], long[k + 1]) > 1:
                if merged:
                    return (f"axes {k} and {k + 1} of the right shape ({long[k]} x {long[k + 1]}) "
                            f"are merged into one axis of {short[k]}: reshape to {expected} (two "
                            "axes folded together, as N*C or Ho*Wo, and not split again?)")
                return (f"your axes {k} and {k + 1} ({long[k]} x {long[k + 1]}) belong together as "
                        f"one axis of {short[k]}: reshape to {expected}")
    if len(got) == len(expected) + 1 and 1 in got and \
            tuple(n for k, n in enumerate(got) if k != got.index(1)) == expected:
        return (f"your axis {got.index(1)} of size 1 is one too many (one axis per sample kept "
                f"apart, keepdims, or a [None]?): reshape to {expected}")
    return _grouped_axes(got, expected)


def _grouped_axes(got: tuple[int, ...], expected: tuple[int, ...]) -> str:
    """'your axis 0 (198) holds the right axes 0, 2, 3 ...' when each of your axes is a group
    of the right ones taken in another order (a matrix never reshaped back); "" otherwise."""
    if not 1 < len(got) < len(expected) <= 5 or np.prod(got) != np.prod(expected):
        return ""
    for order in itertools.permutations(range(len(expected))):
        if order == tuple(range(len(expected))):
            continue
        for cuts in itertools.combinations(range(1, len(expected)), len(got) - 1):
            bounds = (0,) + cuts + (len(expected),)
            groups = [order[a:b] for a, b in zip(bounds, bounds[1:])]
            if tuple(int(np.prod([expected[k] for k in g])) for g in groups) != got:
                continue
            held = "; ".join(f"your axis {i} ({got[i]}) holds the right "
                             f"{'axes' if len(g) > 1 else 'axis'} {', '.join(map(str, g))}"
                             for i, g in enumerate(groups))
            moved = tuple(expected[k] for k in order)
            back = tuple(order.index(k) for k in range(len(expected)))
            return (f"{held}: your result is still in the layout of a matrix product; reshape "
                    f"it to {moved} and .transpose{back}")
    return ""


def axis_order_note(got: tuple[int, ...], expected: tuple[int, ...]) -> str:
    """'; .transpose(0, 3, 1, 2) of yours has the right shape' when exactly one order of the
    axes turns `got` into `expected`; '' otherwise."""
    orders = [order for order in itertools.permutations(range(len(got)))
              if tuple(got[a] for a in order) == tuple(expected)] if len(got) <= 6 else []
    return f"; .transpose{orders[0]} of yours has the right shape" if len(orders) == 1 else ""


def off_by_note(got_shape: tuple[int, ...], expected: tuple[int, ...]) -> str:
    """' (dims [2] off by [1])' when the shapes differ by at most 2 per axis, else ''."""
    if len(got_shape) != len(expected):
        return ""
    diffs = [int(g) - int(e) for g, e in zip(got_shape, expected)]
    off = [i for i, d in enumerate(diffs) if d]
    if off and all(abs(diffs[i]) <= 2 for i in off):
        return f" (dims {off} off by {[diffs[i] for i in off]})"
    return ""


def expect_shape(what: str, got: Any, expected: tuple[int, ...], hint: str = "") -> None:
    """Fail with 'wrong shape: expected ..., got ...' (and an off-by-one note) if shapes differ."""
    got_shape = tuple(np.shape(got))
    if got_shape != tuple(expected):
        raise CheckFailed(shape_message(what, got_shape, tuple(expected), hint))


def expect_close(what: str, got: Any, expected: np.ndarray, rtol: float = 1e-4, atol: float = 1e-5,
                 hint: str = "") -> None:
    """Fail with where and by how much `got` differs from `expected` (shapes checked first)."""
    expected = np.asarray(expected)
    if tuple(np.shape(got)) != expected.shape:
        reduced = axis_relation(got, expected)
        hint = f"{reduced}. {hint}" if reduced and hint else reduced or hint
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


def axis_relation(got: Any, expected: np.ndarray) -> str:
    """For a result with one axis too many or too few: the sum (or mean) over one axis that
    turns it into the right one, or "" when none does."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return ""
    close = dict(rtol=1e-4, atol=1e-6 * max(float(np.abs(expected).max(initial=0)), 1e-12))
    if got.ndim == expected.ndim + 1:
        for axis in range(got.ndim):
            if got.shape[:axis] + got.shape[axis + 1:] != expected.shape:
                continue
            for how, reduce in (("sum", np.sum), ("mean", np.mean)):
                if np.allclose(reduce(got, axis=axis), expected, **close):
                    return (f"the {how} of your result over axis {axis} (size "
                            f"{got.shape[axis]}) is the right answer: that {how} is missing")
    if got.ndim + 1 == expected.ndim:
        for axis in range(expected.ndim):
            if expected.shape[:axis] + expected.shape[axis + 1:] == got.shape and \
                    np.allclose(got, expected.sum(axis=axis), **close):
                return (f"your result is the right one summed over axis {axis}: keep that axis "
                        "(a sum over one axis too many)")
    return ""


def value_pattern(got: np.ndarray, expected: np.ndarray) -> str:
    """What relates wrong values to the right ones, when one simple rule does; "" otherwise.

    Rules on the values alone hold for any array: all zero, lost signs, negatives cut to 0,
    a constant factor or term, whole numbers, agreement to a few digits only. Rules on the
    places hold for arrays of two or more axes (one-axis arrays may line up unrelated cases):
    the right numbers in the wrong places, a flip, a shift, a total repeated along an axis,
    the right values on some slices only, a factor that changes along an axis.
    """
    if got.size < 2 or got.shape != expected.shape:
        return ""
    scale = max(float(np.abs(expected).max()), 1e-12)
    close = dict(rtol=1e-4, atol=1e-6 * scale)
    return _values_relation(got, expected, close) or \
        (_places_relation(got, expected, close) if got.ndim >= 2 else "") or \
        _precision_relation(got, expected, scale)


def _values_relation(got: np.ndarray, expected: np.ndarray, close: dict[str, float]) -> str:
    if not got.any():
        return "your values are all zero: nothing arrives here (is this result ever filled in?)"
    if (expected < 0).any() and np.allclose(got, np.abs(expected), **close):
        return "your values are the absolute values of the right ones: the signs are lost"
    if (expected < 0).any() and np.allclose(got, np.maximum(expected, 0), **close):
        return ("your values are the right ones with every negative value replaced by 0: a "
                "ReLU or clip too many, or a running maximum that starts at 0 instead of -inf")
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
    fractional = expected != np.round(expected)
    if np.array_equal(got, np.round(got)) and fractional.sum() >= max(1, (expected != 0).sum() // 2) \
            and np.all(np.abs(got - expected)[fractional] < 1):  # each value cut or rounded
        return ("your values are whole numbers where the right ones are not: an integer array "
                "(dtype int, e.g. zeros made with an int dtype) or // cuts off the fractions; "
                "keep a float dtype")
    for decimals in range(1, 7):
        if np.array_equal(got, np.round(expected, decimals)):
            return (f"your values are the right ones rounded to {decimals} decimals: return them "
                    "unrounded (round only when printing)")
    term = float(np.mean(got - expected))
    if abs(term) > close["atol"] and np.allclose(got, expected + term, **close):
        return (f"your values are the right ones plus {term:.4g} everywhere: a constant term is "
                "missing or extra")
    return ""


def _axis_name(axis: int, ndim: int) -> str:
    names = {0: "sample", 1: "channel"} if ndim == 4 else {}
    return {**names, ndim - 2: "row", ndim - 1: "column"}.get(axis, f"entry along axis {axis}")


def _plural(name: str) -> str:
    return name.replace("entry", "entries", 1) if name.startswith("entry") else f"{name}s"


def _places_relation(got: np.ndarray, expected: np.ndarray, close: dict[str, float]) -> str:
    """Relations between where the values sit (arrays of two or more axes)."""
    def same(a: np.ndarray) -> bool:
        return a.shape == got.shape and np.allclose(got, a, **close)

    ndim, shape = got.ndim, got.shape
    leak = _leak_relation(got, expected, close)
    if leak:
        return leak
    if shape[-1] == shape[-2] > 1 and same(np.swapaxes(expected, -1, -2)):
        return ("your values are the right ones with rows and columns swapped (the last two "
                "axes transposed): a transpose is missing or extra, or two indices are swapped")
    flips = [a for a in range(ndim) if shape[a] > 1]
    if len(flips) >= 2 and same(expected[..., ::-1, ::-1]):
        return ("your values are the right ones rotated by 180 degrees (flipped along both "
                "of the last two axes): a [::-1, ::-1] flip is missing or extra")
    for axis in flips:
        if same(np.flip(expected, axis)):
            return (f"your values are the right ones in reverse order along axis {axis}: a "
                    "[::-1] is missing or extra, or an index counts from the wrong end")
    if ndim <= 6:
        for order in itertools.permutations(range(ndim)):
            if order == tuple(range(ndim)):
                continue
            moved = tuple(shape[a] for a in order)
            if moved != shape and same(expected.transpose(order).reshape(shape)):
                return ("the right numbers in the wrong places: they are the right array "
                        f"transposed to axis order {order} and reshaped back; reshape reads "
                        "memory in order, so a transpose is missing (or extra) before a reshape")
            if moved == shape and same(expected.transpose(order)):
                return (f"the right numbers in the wrong places: axes in the order {order} "
                        "(a transpose or an index order is wrong)")
        for order in itertools.permutations(range(ndim)):
            read = [0] * ndim
            for k, a in enumerate(order):
                read[a] = shape[k]
            if tuple(read) != shape and same(expected.reshape(read).transpose(order)):
                return (f"the right numbers in the wrong places: your array is the right one's "
                        f"memory read as shape {tuple(read)} and then transposed to {order}; "
                        f"that memory already holds the values in the order of {shape}, so "
                        "reshape it to that directly, without the transpose")
    if np.allclose(np.sort(got, axis=None), np.sort(expected, axis=None), **close):
        return ("the right numbers in the wrong places (the same values, in another order): a "
                "reshape without the transpose the memory layout needs, axes in the wrong "
                "order, or values written to the wrong index")
    shift = _shift_relation(got, expected, close)
    if shift:
        return shift
    for axes in _axis_subsets(ndim):
        if any(shape[a] > 1 for a in axes) and \
                same(np.broadcast_to(expected.sum(axis=axes, keepdims=True), shape)):
            return (f"each of your values is the total of the right ones over axis "
                    f"{_axes_text(axes)}, repeated along it: every entry there gets what "
                    "belongs to all of them; handle one entry at a time, each by its own index "
                    "there, where a whole slice `:` (or a sum over it) takes them all")
    return _factors_relation(got, expected, close) or _terms_relation(got, expected, close) or \
        _slices_relation(got, expected, close)


def _leak_relation(got: np.ndarray, expected: np.ndarray, close: dict[str, float]) -> str:
    """Non-zero on slices (samples, channels) where the right values are exactly 0."""
    noun = {0: "sample", 1: "channel"} if got.ndim == 4 else {}
    for axis in range(got.ndim - 2):
        others = tuple(a for a in range(got.ndim) if a != axis)
        zero = np.abs(expected).max(axis=others) <= close["atol"]
        leaked = np.flatnonzero(zero & (np.abs(got).max(axis=others) > close["atol"]))
        if zero.all() or not leaked.size:
            continue
        name = noun.get(axis, "slice")
        shown = ", ".join(map(str, leaked[:4])) + (", ..." if leaked.size > 4 else "")
        return (f"your values are non-zero for {name} {shown} (axis {axis}), where the right "
                f"ones are exactly 0: values leak in from another {name} (a sum over axis "
                f"{axis}, or an index that reads another {name} than the loop's own)")
    return ""


def _terms_relation(got: np.ndarray, expected: np.ndarray, close: dict[str, float]) -> str:
    """Off by a term that is constant over the last two axes but changes between slices."""
    diff = got - expected
    terms = diff.mean(axis=(-2, -1), keepdims=True)
    if got.shape[-2] * got.shape[-1] < 2 or terms.size < 2 or np.ptp(terms) <= close["atol"] or \
            not np.allclose(got, expected + terms, **close):
        return ""
    varies = [a for a in range(got.ndim - 2) if np.ptp(terms, axis=a).max() > close["atol"]]
    return ("your values are off by a term that is constant over each (row, column) plane but "
            f"changes along axis {_axes_text(tuple(varies))}: a per-channel term (a bias?) is "
            "added with the wrong index or along the wrong axis")


def _axes_text(axes: tuple[int, ...]) -> str:
    return str(axes[0]) if len(axes) == 1 else str(axes)


def _axis_subsets(ndim: int) -> list[tuple[int, ...]]:
    return [axes for size in range(1, ndim + 1)
            for axes in itertools.combinations(range(ndim), size)]


def _shift_relation(got: np.ndarray, expected: np.ndarray, close: dict[str, float]) -> str:
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


def _unfilled(values: np.ndarray, cut: int | None = None) -> bool:
    """One constant throughout (0, or whatever the array was made with): never written. With
    `cut` (the axis the slices were cut along) on a 4-D array, one constant per channel
    (axis 1) is enough: a bias added afterwards to what was never written."""
    if values.size and bool(np.all(values == values.reshape(-1)[0])):
        return True
    return cut is not None and cut != 1 and values.ndim == 4 and values.size > 0 and \
        bool(np.all(values == values[:1, :, :1, :1]))


def _copied_from(got: np.ndarray, expected: np.ndarray, axis: int, bad: np.ndarray,
                 close: dict[str, float]) -> str:
    """'the values of sample 2 are those of sample 0 ...' when every wrong slice along `axis`
    repeats one right slice; "" otherwise."""
    name = _axis_name(axis, got.ndim)
    for source in range(got.shape[axis]):
        right = np.take(expected, source, axis)
        if all(np.allclose(np.take(got, k, axis), right, **close) for k in np.flatnonzero(bad)):
            shown = ", ".join(map(str, np.flatnonzero(bad)[:4])) + \
                (", ..." if bad.sum() > 4 else "")
            return (f"your {_plural(name) if bad.sum() > 1 else name} {shown} (axis {axis}) "
                    f"{'hold' if bad.sum() > 1 else 'holds'} the right values of {name} "
                    f"{source}: index {source} is used where the loop's own index belongs "
                    f"(x[{source}] instead of x[i], or a result kept from one pass)")
    return ""


def _slices_relation(got: np.ndarray, expected: np.ndarray, close: dict[str, float]) -> str:
    """Right on some slices and wrong on others: loops that stop early (the wrong part never
    written), a slice copied from another one, edges."""
    ndim, shape = got.ndim, got.shape
    wrong = ~np.isclose(got, expected, **close)
    flat = wrong.reshape(-1)
    k = int(flat.sum())
    border = shape[-2] > 2 and shape[-1] > 2 and not wrong[..., 1:-1, 1:-1].any()
    tail_unwritten = 0 < k < flat.size and not flat[:flat.size - k].any() and \
        _unfilled(got.reshape(-1)[flat.size - k:])
    if tail_unwritten and k < shape[-1]:
        return (f"every value is right except the last {k} in memory order, which are never "
                "written: a loop over the entries stops short (range(n - 1) instead of range(n)?)")
    for axis in range(ndim):
        n = shape[axis]
        if n < 2:
            continue
        share = wrong.mean(axis=tuple(a for a in range(ndim) if a != axis))
        bad = share > 0
        name = _axis_name(axis, ndim)
        if not bad.any() or bad.all() or (share[bad] < 0.5).any():
            continue  # a slice claimed wrong must be mostly wrong
        copied = _copied_from(got, expected, axis, bad, close)
        if copied:
            return copied
        edges = np.zeros(n, dtype=bool)
        edges[[0, -1]] = True
        at_border = axis >= ndim - 2 and bad[0] and bad[-1] and not bad[~edges].any()
        # a run of slices at either end may be partly written (windows that overlap it were
        # skipped); a single wrong slice is a loop's missing pass only when left unwritten
        run = np.flatnonzero(bad)
        end_run = run.size > 1 and (run[0] == 0 and run[-1] == run.size - 1 or
                                    run[0] == n - run.size and run[-1] == n - 1)
        step = int(np.flatnonzero(~bad)[1]) if (~bad).sum() > 1 else 0
        if step > 1 and np.array_equal(np.flatnonzero(~bad), np.arange(0, n, step)) and \
                _unfilled(np.compress(bad, got, axis=axis), axis):
            return (f"only one {name} in {step} is computed (indices 0, {step}, {2 * step}, "
                    f"... along axis {axis}) and the others hold nothing: the loop over axis "
                    f"{axis} steps by {step} (range(0, n, {step})); visit every index, range(n)")
        if not at_border and not end_run and not _unfilled(np.compress(bad, got, axis=axis)):
            where = ", ".join(map(str, np.flatnonzero(bad)[:4])) + (", ..." if bad.sum() > 4 else "")
            return (f"your values are right except at {name} index {where} (axis {axis}), whose "
                    "values are written but wrong: the computation for those "
                    f"{_plural(name)} differs from the others' (an index, a bound or a term used "
                    "there only)")
        if list(np.flatnonzero(bad)) == [n - 1] and n == 2:  # a short range or an early return
            return (f"only the first {name} (index 0 along axis {axis}) is written and the last "
                    f"(index 1) never is: the loop over axis {axis} ends after its first pass; "
                    f"it must run over all {n}")
        if list(np.flatnonzero(bad)) == [n - 1]:
            return (f"everything is right except the last {name} (index {n - 1} along axis "
                    f"{axis}), never written: a loop stops one short there (range(n - 1) "
                    "instead of range(n)?)")
        if list(np.flatnonzero(~bad)) == [0] and _unfilled(np.compress(bad, got, axis=axis), axis):
            return (f"only the first {name} (index 0 along axis {axis}) is written, the others "
                    f"hold nothing: the loop over axis {axis} stops after its first pass")
        if list(np.flatnonzero(~bad)) == [0]:
            return (f"only the first {name} (index 0 along axis {axis}) is right and the others "
                    f"are written but wrong: what depends on the index along axis {axis} is "
                    "right at index 0 only (where, for example, j and j * stride agree)")
        if n > 2 and list(np.flatnonzero(~bad)) == [n - 1] and \
                _unfilled(np.compress(bad, got, axis=axis)):
            return (f"only the last {name} (index {n - 1} along axis {axis}) is right and the "
                    f"earlier {_plural(name)} hold nothing: every pass of the loop over axis "
                    f"{axis} loses what the passes before it wrote; create the result once, "
                    "before that loop, and add each pass into it")
        if list(np.flatnonzero(bad)) == [0]:
            return (f"everything is right except the first {name} (index 0 along axis {axis}), "
                    f"which holds nothing: the pass for index 0 never reaches the result; run "
                    f"the loop over axis {axis} from 0, into a result created once before it")
        if run.size > 1 and run[0] == 0 and run[-1] == run.size - 1:
            return (f"everything is right except the first {run.size} {_plural(name)} "
                    f"(indices 0 to {run[-1]} along axis {axis}): a loop starts late or skips "
                    "its first passes (range(1, n)?), or its start offset is wrong")
        if run.size > 1 and run[0] == n - run.size and run[-1] == n - 1:
            return (f"everything is right except the last {run.size} {_plural(name)} (indices "
                    f"{run[0]} to {n - 1} along axis {axis}): a loop stops {run.size} passes "
                    "short, or its end bound is wrong")
        if at_border:
            return (f"everything is right except at the border (the first and last "
                    f"{_plural(name)}): the padding, or the loop bounds at the edges")
    if tail_unwritten:
        return (f"every value is right except the last {k} in memory order, which are never "
                "written: a loop over the entries stops short (range(n - 1) instead of range(n)?)")
    if border:
        return ("everything is right inside, the wrong values all lie on the border (the first "
                "or last rows and columns): the padding (its value or its width), or the loop "
                "bounds at the edges")
    return ""


def _factors_relation(got: np.ndarray, expected: np.ndarray, close: dict[str, float]) -> str:
    """Each slice along one axis is the right one times its own factor."""
    for axis in range(got.ndim):
        if got.shape[axis] < 2:
            continue
        factors = []
        for index in range(got.shape[axis]):
            mine, right = np.take(got, index, axis), np.take(expected, index, axis)
            norm = float(np.sum(right * right))
            if not norm:
                continue
            factor = float(np.sum(mine * right)) / norm
            if not np.allclose(mine, factor * right, **close):
                break
            factors.append(factor)
        else:
            if len(factors) >= 2 and np.abs(factors).min() > 1e-6 and \
                    np.ptp(factors) > 1e-3 * np.abs(factors).max():
                shown = ", ".join(f"{f:.3g}" for f in factors[:4]) + \
                    (", ..." if len(factors) > 4 else "")
                return (f"each slice along axis {axis} is the right one times its own factor "
                        f"({shown}): a sum or mean over the wrong axis, or a scale that "
                        f"depends on the index along axis {axis}")
    return ""


def _precision_relation(got: np.ndarray, expected: np.ndarray, scale: float) -> str:
    """Right to a few digits only: values that are float16 numbers (a low-precision dtype), or
    right to 3 digits or more (a rounded constant); "" for a looser agreement, which a wrong
    formula gives as well."""
    with np.errstate(over="ignore"):
        half = bool(np.array_equal(got, got.astype(np.float16).astype(got.dtype)))
    for digits in (4, 3, 2):
        if np.allclose(got, expected, rtol=10.0 ** -digits, atol=10.0 ** -digits * scale):
            if half:
                return (f"your values agree with the right ones to only about {digits} "
                        "significant digits, and each is a float16 number: compute in the "
                        "inputs' dtype, not in float16")
            return (f"your values agree with the right ones to only about {digits} significant "
                    "digits: a rounded constant (a number written with few digits)"
                    if digits >= 3 else "")
    return ""
