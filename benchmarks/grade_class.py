"""Time the grader on a whole class: 30 learners x every lesson, answers filled in.

A few learners are broken on purpose: one submits the lessons untouched, one notebook
loops forever (it costs one --timeout), one is not JSON, and one answer calls the engine's
own op. The class is built in a temporary folder from ``lessons/`` and ``solutions/``
(``fill_solutions``), graded with ``grade_class``, and the wall time printed::

    python benchmarks/grade_class.py                        # 30 learners, jobs = cores
    python benchmarks/grade_class.py --learners 10 --jobs 2 --timeout 60 --keep bench-class

Only the grading is timed (snapshot, catalog, learner processes, judge, gradebook).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from minitorch_unet.checks.core import load_all  # noqa: E402
from minitorch_unet.course import fill_solutions  # noqa: E402
from minitorch_unet.grading import grade_class  # noqa: E402
from minitorch_unet.grading.grade import default_jobs  # noqa: E402

UNTOUCHED, LOOPING, NOT_JSON, CHEATING = 6, 12, 20, 28  # learner indices of the broken ones


def cheat(nb: nbformat.NotebookNode) -> bool:
    """Redefine, right after its exercise, one answer as a call of the engine's own op."""
    exercises = [e for e in load_all().values() if e.engine_ops
                 and e.engine_ops[0].startswith("minitorch_unet.functional.")]
    for index, cell in enumerate(nb.cells):
        for e in exercises:
            if cell.cell_type == "code" and f"def {e.function}(" in cell.source:
                module, name = e.engine_ops[0].rsplit(".", 1)
                nb.cells.insert(index + 1, nbformat.v4.new_code_cell(
                    f"from {module} import {name} as _engine_op\n\n"
                    f"def {e.function}(*args, **kwargs):\n    return _engine_op(*args, **kwargs)"))
                return True
    return False


def build_class(root: Path, learners: int) -> tuple[list[str], dict[str, str]]:
    """Write the class; returns the lessons and what is broken for whom."""
    lessons = sorted(p.parent.name for p in (REPO / "lessons").glob("*/*.ipynb")
                     if (REPO / "solutions" / p.parent.name / p.name).is_file())
    broken: dict[str, str] = {}
    cheated = False
    for i in range(learners):
        learner = f"learner-{i + 1:02d}"
        for n, lesson in enumerate(lessons):
            shipped = nbformat.read(REPO / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
            solved = fill_solutions(shipped, nbformat.read(
                REPO / "solutions" / lesson / f"{lesson}.ipynb", as_version=4))
            content = nbformat.writes(shipped if i == UNTOUCHED else solved).encode()
            if i == UNTOUCHED:
                broken[learner] = "every lesson untouched"
            elif i == LOOPING and n == 0:
                solved.cells.insert(2, nbformat.v4.new_code_cell("while True:\n    pass"))
                content, broken[learner] = nbformat.writes(solved).encode(), f"{lesson} loops forever"
            elif i == NOT_JSON and n == 0:
                content, broken[learner] = b"{not json", f"{lesson} is not JSON"
            elif i == CHEATING and not cheated and cheat(solved):
                cheated = True
                content = nbformat.writes(solved).encode()
                broken[learner] = f"{lesson} calls the engine's op"
            folder = root / "submitted" / learner / lesson
            folder.mkdir(parents=True)
            (folder / f"{lesson}.ipynb").write_bytes(content)
    return lessons, broken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--timeout", type=float, default=60.0, help="per notebook, seconds")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the class and the gradebook here and keep them")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="grade-bench-"))
    try:
        lessons, broken = build_class(root / "class", args.learners)
        start = time.perf_counter()
        grades = grade_class(root / "class", root / "grades", jobs=args.jobs, timeout_s=args.timeout)
        seconds = time.perf_counter() - start
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    full = {g.learner for g in grades} - {g.learner for g in grades if g.points < g.max_points}
    print(f"lessons: {', '.join(lessons)}")
    print(f"graded {len(grades)} notebooks ({args.learners} learners x {len(lessons)} lessons) "
          f"in {seconds:.1f} s with {args.jobs} jobs: {len(grades) / seconds:.2f} notebooks/s")
    print(f"full marks: {len(full)} learners; broken on purpose: "
          + "; ".join(f"{k}: {v}" for k, v in sorted(broken.items())))


if __name__ == "__main__":
    main()
