"""A learner's progress: every check of every lesson notebook, run on the learner's own code.

    python -m minitorch_unet progress [LESSONS_DIR]

Each notebook ``NN_topic/NN_topic.ipynb`` of LESSONS_DIR (default: ``lessons``) runs in a
child Python process started in its folder: its code cells run in order (demo cells are
skipped, as when grading), and at each check cell the course's check of that exercise runs
on the function the cells defined (hidden tests and the instructor's set-up play no part).
A cell that raises is noted and the next one runs. The table says, check by check, whether
the answer passed, failed (with the check's message) or is not written yet. Nothing needs
root, a GPU or a network; nothing is written outside a temporary folder.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import linecache
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..checks.core import FAILED, NOT_WRITTEN, PASSED, Result, first_line, load_all, run_check
from .notebooks import grade_id, is_check, is_demo, lesson_folders, read_notebook
from .reuse import cell_python

PACKAGE_PARENT = Path(__file__).resolve().parents[2]
MARKS = {PASSED: "\u2714", FAILED: "\u2718", NOT_WRITTEN: "\u00b7"}


@dataclass
class LessonProgress:
    """One notebook's checks, in the notebook's order; `problem` when it could not be run."""

    lesson: str
    results: list[Result]
    problem: str = ""
    seconds: float = 0.0


# ---- in the child process: one notebook -------------------------------------------------------
def check_notebook(path: Path) -> tuple[list[Result], list[str]]:
    """Run `path`'s code cells (not demo cells) in a fresh namespace and, at each check cell,
    the check on the learner's function. -> (results, notes on cells that raised)."""
    exercises = load_all()
    namespace: dict[str, Any] = {"__name__": "__main__"}
    results, notes = [], []
    for index, cell in enumerate(read_notebook(path).cells):
        if cell.cell_type != "code" or is_demo(cell):
            continue
        shown = io.StringIO()
        with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(shown):
            if is_check(cell) and grade_id(cell) in exercises:
                function = namespace.get(exercises[grade_id(cell)].function)
                results.append(run_check(grade_id(cell), function if callable(function) else None))
                continue
            filename = f"<{path.name} cell {index}>"
            source = cell_python(cell.source)
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            try:
                exec(compile(source, filename, "exec"), namespace)
            except NotImplementedError:  # a cell using an exercise not written yet: its check says so
                pass
            except Exception as err:  # the learner's cell: note it and go on, as grading does
                notes.append(f"cell {index} raised {type(err).__name__}: {first_line(err)}")
    return results, notes


def _child(notebook: str, report: str) -> None:
    """Entry point of the child process: check `notebook`, write the results to `report`."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    results, notes = check_notebook(Path(notebook))
    Path(report).write_text(json.dumps({"results": [asdict(r) for r in results], "notes": notes}))


# ---- in the learner's shell: every notebook, then the table ------------------------------------
def lesson_progress(folder: Path, timeout_s: float) -> LessonProgress:
    """Check the notebook of lesson `folder` in a child process started in that folder."""
    start = time.perf_counter()
    notebook = folder / f"{folder.name}.ipynb"
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
        [str(PACKAGE_PARENT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        code = (f"from {__name__} import _child; "
                f"_child({str(notebook.resolve())!r}, {str(report)!r})")
        try:
            done = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env,
                                  capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return LessonProgress(folder.name, [], f"stopped after {timeout_s:.0f} s (a cell or "
                                  "a check runs too long: an endless loop?)",
                                  time.perf_counter() - start)
        if not report.is_file():
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return LessonProgress(folder.name, [], f"the notebook could not be run: {last}",
                                  time.perf_counter() - start)
        data = json.loads(report.read_text())
    results = [Result(**r) for r in data["results"]]
    problem = "; ".join(data["notes"])
    return LessonProgress(folder.name, results, problem, time.perf_counter() - start)


def format_lesson(progress: LessonProgress) -> str:
    """The lesson's header line and one line per check: mark, exercise, status (and message)."""
    passed = sum(r.status == PASSED for r in progress.results)
    lines = [f"{progress.lesson}: {passed} of {len(progress.results)} passed "
             f"({progress.seconds:.1f} s)"]
    if progress.problem:
        lines.append(f"  note: {progress.problem}")
    width = max((len(r.grade_id) - len("check_") for r in progress.results), default=0)
    for r in progress.results:
        name = r.grade_id.removeprefix("check_")
        detail = {PASSED: PASSED, NOT_WRITTEN: r.message}.get(r.status, f"{FAILED}: {r.message}")
        lines.append(f"  {MARKS[r.status]} {name:<{width}}  {detail}")
    return "\n".join(lines)


def find_lessons(lessons_dir: Path) -> list[Path]:
    """The lesson folders of `lessons_dir` that have checks, in order; ValueError if none."""
    if not lessons_dir.is_dir():
        raise ValueError(f"progress: {lessons_dir} is not a folder (give the folder that holds "
                         "your 00_task_and_data/, 01_autograd/, ...)")
    with_checks = {e.lesson for e in load_all().values()}
    folders = [f for f in lesson_folders(lessons_dir) if f.name in with_checks]
    if not folders:
        raise ValueError(f"progress: no lesson notebooks (NN_topic/NN_topic.ipynb) in {lessons_dir}")
    return folders


def run(args: argparse.Namespace) -> int:
    """Print each lesson's table as it is checked, then the totals and the time taken."""
    start = time.perf_counter()
    counts = {PASSED: 0, FAILED: 0, NOT_WRITTEN: 0}
    for folder in find_lessons(Path(args.lessons_dir)):
        progress = lesson_progress(folder, args.timeout)
        for r in progress.results:
            counts[r.status] += 1
        print(format_lesson(progress), flush=True)
    print(f"{sum(counts.values())} checks: {counts[PASSED]} passed, {counts[FAILED]} failed, "
          f"{counts[NOT_WRITTEN]} not written yet (took {time.perf_counter() - start:.1f} s)")
    return 0
