"""The gradebook: ``grades.csv``, ``report.md`` and ``feedback/<learner>/<lesson>.md``.

Everything is written into a staging folder inside GRADES_DIR first and moved into place
at the very end (each file by an atomic rename, ``feedback/`` as a whole), so an
interrupted run leaves the previous gradebook as it was, and nothing written into
GRADES_DIR while grading survives. Text that is not valid Unicode (a lone surrogate in a
learner's error message or folder name) is written with backslash escapes, never fatal.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SYMBOLS = {"pass": "\u2714 pass", "fail": "\u2718 fail", "flagged": "\u2691 flagged"}


@dataclass(frozen=True)
class ExerciseGrade:
    grade_id: str
    outcome: str  # "pass", "fail" or "flagged"
    points: float
    max_points: float
    message: str


@dataclass(frozen=True)
class NotebookGrade:
    """One learner's grade for one lesson; note: what happened to the notebook as a whole."""

    learner: str
    lesson: str
    exercises: list[ExerciseGrade]
    note: str = ""
    cell_errors: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)  # constructs that hide what is called
    killed: int = 0  # processes the notebook left running, killed when it ended

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)


def number(x: float) -> str:
    return f"{x:g}"


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet will not take for a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def grades_csv(grades: list[NotebookGrade], lessons: dict[str, list[str]]) -> str:
    """A row per learner: each exercise's points, each lesson's total, then the total."""
    header = ["learner"]
    for lesson, grade_ids in lessons.items():
        header += grade_ids + [f"{lesson} total"]
    by_learner: dict[str, dict[str, NotebookGrade]] = {}
    for g in grades:
        by_learner.setdefault(g.learner, {})[g.lesson] = g
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header + ["total"])
    for learner in sorted(by_learner):
        row, total = [_cell(learner)], 0.0
        for lesson in lessons:
            g = by_learner[learner][lesson]
            row += [number(e.points) for e in g.exercises] + [number(g.points)]
            total += g.points
        writer.writerow(row + [number(total)])
    return out.getvalue()


def feedback_md(g: NotebookGrade) -> str:
    """What a learner reads: per exercise pass/fail/flagged and the check's message."""
    lines = [f"# {g.lesson}: {number(g.points)} / {number(g.max_points)} points", ""]
    if g.note:
        lines += [f"**{g.note}**", ""]
    for e in g.exercises:
        lines += [f"- **{e.grade_id}** — {SYMBOLS[e.outcome]} "
                  f"({number(e.points)}/{number(e.max_points)}): {e.message}"]
    if g.cell_errors:
        lines += ["", "Cells that raised an error while grading:", ""]
        lines += [f"- {text}" for text in g.cell_errors]
    if g.review:
        lines += ["", "Your instructor will look at these lines, which hide what they call:", ""]
        lines += [f"- {text}" for text in g.review]
    lines += ["", "_Cells are counted from the top of the notebook, text cells included. Demo "
              "cells and check cells are not run when grading; each answer is checked as soon "
              "as your code defines it, and again whenever a later cell redefines it or "
              "something it uses._"]
    return "\n".join(lines) + "\n"


def one_line(text: str) -> str:
    """`text` with line breaks and other control characters escaped (a learner's folder
    name or error message cannot add lines to the report)."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def problems(grades: list[NotebookGrade]) -> list[str]:
    """One line per notebook the instructor should look at."""
    lines = []
    for g in grades:
        flagged = [e.grade_id for e in g.exercises if e.outcome == "flagged"]
        if g.note:
            lines.append(f"{g.learner} / {g.lesson}: {g.note}")
        if flagged:
            lines.append(f"{g.learner} / {g.lesson}: flagged (uses the engine's own op): "
                         + ", ".join(flagged))
        if g.review:
            lines.append(f"{g.learner} / {g.lesson}: to review (hides what it calls): "
                         + "; ".join(g.review))
        if g.killed:
            lines.append(f"{g.learner} / {g.lesson}: {g.killed} process{'es' * (g.killed > 1)} "
                         "left running by the notebook killed")
    return [one_line(line) for line in lines]


def report_md(grades: list[NotebookGrade], lessons: dict[str, list[str]], notes: list[str]) -> str:
    """The instructor's summary: per-lesson results, then every problem, one line each."""
    lines = ["# Grading report", ""]
    for lesson in lessons:
        of_lesson = [g for g in grades if g.lesson == lesson]
        full = sum(g.points == g.max_points for g in of_lesson)
        mean = sum(g.points for g in of_lesson) / max(len(of_lesson), 1)
        top = of_lesson[0].max_points if of_lesson else 0
        lines.append(f"- {lesson}: mean {mean:.2f} / {number(top)} points, "
                     f"{full} of {len(of_lesson)} learners with full marks")
    found = problems(grades)
    lines += ["", f"## Problems ({len(found)})", ""] + [f"- {line}" for line in found or ["none"]]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {one_line(line)}" for line in notes]
    return "\n".join(lines) + "\n"


def publish(out_dir: Path, grades: list[NotebookGrade], lessons: dict[str, list[str]],
            notes: list[str]) -> None:
    """Write the gradebook into `out_dir`: staged first, then moved into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        (staging / "grades.csv").write_text(grades_csv(grades, lessons), encoding="utf-8",
                                              errors="backslashreplace")
        (staging / "report.md").write_text(report_md(grades, lessons, notes), encoding="utf-8",
                                             errors="backslashreplace")
        for g in grades:
            path = staging / "feedback" / g.learner / f"{g.lesson}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(feedback_md(g), encoding="utf-8", errors="backslashreplace")
        (staging / "feedback").mkdir(exist_ok=True)
        old = staging / "previous-feedback"
        if (out_dir / "feedback").exists():
            os.replace(out_dir / "feedback", old)
        os.replace(staging / "feedback", out_dir / "feedback")
        for name in ("grades.csv", "report.md"):
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
