"""Later lessons reuse a learner's earlier answers, or the engine's version where those fail.

    conv2d = use_own_or_reference("check_conv2d", F.conv2d)
    with plug_in(conv2d=conv2d):
        out = unet(x)            # the whole U-Net runs on the learner's conv2d

``use_own_or_reference`` finds the exercise's lesson (``EXERCISES[grade_id].lesson``), reads
the learner's notebook of that lesson (``../<lesson>/<lesson>.ipynb`` from the running
notebook's folder), runs its code cells before that check (not demo or check cells) in a
fresh namespace with their output hidden, takes the function, and keeps it if it passes
its check. It prints which one it uses, and why.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any, Callable, ContextManager

from .. import functional as F
from ..checks.core import CheckFailed, Exercise, load_all
from .notebooks import grade_id, is_check, is_demo, read_notebook

Loaded = tuple[Callable[..., Any] | None, str]
_loaded: dict[tuple[str, int, str], Loaded] = {}
# While an earlier lesson's cells run, its own use_own_or_reference calls look in the same folder.
_loading_from: list[Path] = []


def use_own_or_reference(grade_id: str, reference: Callable[..., Any],
                         own: Callable[..., Any] | None = None,
                         lessons_dir: str | Path | None = None) -> Callable[..., Any]:
    """The learner's function for exercise `grade_id` if it passes its check, else `reference`.

    own: the learner's function; None to load it from their notebook of that lesson in
    `lessons_dir` (default: the parent of the current folder, i.e. beside this lesson; inside
    an earlier lesson being loaded, the folder holding that lesson).
    Prints one line saying which it uses. The earlier lesson's code may draw random numbers:
    seed (``manual_seed``) after calling this.
    """
    exercise = load_all()[grade_id]
    reason = ""
    if own is None:
        default = _loading_from[-1] if _loading_from else Path.cwd().parent
        own, reason = _load_own(exercise, default if lessons_dir is None else Path(lessons_dir))
    if own is not None:
        reason = _failure(exercise, own)
        if not reason:
            print(f"{exercise.function}: using yours (it passes {grade_id})")
            return own
    print(f"{exercise.function}: using the engine's reference ({reason})")
    return reference


def plug_in(**layers: Callable[..., Any]) -> ContextManager[None]:
    """``functional.override`` with the given layers, skipping any that is the engine's own
    function (overriding an op with itself would recurse forever)."""
    return F.override(**{name: fn for name, fn in layers.items()
                         if fn is not getattr(F, name, None)})


def _short(text: str, limit: int = 150) -> str:
    line = str(text).strip().split("\n")[0]
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _failure(exercise: Exercise, fn: Callable[..., Any]) -> str:
    """Why `fn` fails its check, or "" when it passes."""
    hidden = io.StringIO()
    try:
        with contextlib.redirect_stdout(hidden), contextlib.redirect_stderr(hidden):
            exercise.verdict(exercise.probe(fn))
    except CheckFailed as err:
        return f"yours fails {exercise.grade_id}: {_short(err)}"
    except NotImplementedError:
        return "yours is not finished yet"
    except Exception as err:  # any error of the learner's code means: use the reference
        return f"yours raises {type(err).__name__}: {_short(err)}"
    return ""


def _load_own(exercise: Exercise, lessons_dir: Path) -> Loaded:
    """The learner's function from their notebook of the exercise's lesson, or (None, why)."""
    path = lessons_dir / exercise.lesson / f"{exercise.lesson}.ipynb"
    if not path.is_file():
        return None, f"no notebook {exercise.lesson}/{path.name} beside this one"
    key = (str(path.resolve()), path.stat().st_mtime_ns, exercise.grade_id)
    if key not in _loaded:
        _loaded[key] = _run_until_check(path, exercise)
    return _loaded[key]


def _run_until_check(path: Path, exercise: Exercise) -> Loaded:
    cells = read_notebook(path).cells
    stop = next((i for i, c in enumerate(cells) if grade_id(c) == exercise.grade_id), None)
    if stop is None:
        return None, f"your {path.name} has no {exercise.grade_id} cell"
    namespace: dict[str, Any] = {"__name__": "__main__"}
    hidden = io.StringIO()
    _loading_from.append(path.parent.parent)
    try:
        for index, cell in enumerate(cells[:stop]):
            if cell.cell_type != "code" or is_check(cell) or is_demo(cell):
                continue
            try:
                with contextlib.redirect_stdout(hidden), contextlib.redirect_stderr(hidden):
                    exec(compile(cell_python(cell.source), f"<{path.name} cell {index}>", "exec"),
                         namespace)
            except NotImplementedError:
                return None, f"your {exercise.lesson} is unfinished before it (cell {index})"
            except Exception as err:  # the learner's earlier code: any error means "not usable"
                return None, (f"your {exercise.lesson} fails at cell {index}: "
                              f"{type(err).__name__}: {_short(err)}")
    finally:
        _loading_from.pop()
    if not callable(namespace.get(exercise.function)):
        return None, f"your {exercise.lesson} defines no {exercise.function}"
    return namespace[exercise.function], ""


def cell_python(source: str) -> str:
    """Cell source as plain Python (IPython magics turned into calls, as Jupyter does)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    return TransformerManager().transform_cell(source)
