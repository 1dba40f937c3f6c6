"""Grade a class: every learner's notebooks, in parallel, each in its own confined process.

1. snapshot the course (package and reference data) with SHA-256 hashes; a clean judge
   process lists the exercises from it and draws this run's secret probe inputs
   (:mod:`.snapshot`, :mod:`.judge`, :mod:`.fresh_cases`); each lesson gets a learner's
   copy of the engine without the ops it asks to write (:mod:`.learner_view`);
2. read the whole class into memory, following no link (:mod:`.collect`); notebooks that
   cannot be graded (not JSON, empty, a link, another lesson renamed, missing) get a clear
   line, and no points;
3. run each notebook's code in a learner process and probe its answers, ``jobs`` at a
   time, each under the time and memory limits, as its learner's own account, in a private
   file system (:mod:`.learner_run`, :mod:`.sandbox`); the snapshot is verified after each;
4. one clean judge process turns all probe outputs into verdicts (:mod:`.judge`);
5. the gradebook is staged and moved into GRADES_DIR (:mod:`.report`).

A failure while grading one notebook becomes that notebook's line in the report; only a
changed snapshot or a judge that cannot run stops the whole class.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..progress import progress
from . import judge, learner_view, report, review, sandbox, snapshot
from .collect import MAX_NOTEBOOK_MB, Submission, collect, parse_notebook, read_regular_file
from .learner_code import Cell, claimed_grade_ids, learner_cells
from .learner_run import Run, run_notebook
from .report import ExerciseGrade, NotebookGrade

DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MEMORY_MB = 4096
MAX_CODE_MB = 2  # no answer is anywhere near; more is an attempt to choke the grader


class GradingError(Exception):
    """Grading was refused or is impossible; no grades were written."""


@dataclass(frozen=True)
class ExerciseInfo:
    """What the instructor's side knows of an exercise (from the snapshot's registry)."""

    grade_id: str
    lesson: str
    points: float
    stripped: list[tuple[str, str, str]]  # what its answer must not call (learner_view)


def default_course_root() -> Path:
    """The checkout this package lives in (holding ``minitorch_unet/`` and ``data/``)."""
    return Path(__file__).resolve().parents[2]


def default_jobs() -> int:
    """The cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def grade_class(class_dir: str | Path, out_dir: str | Path, *, jobs: int | None = None,
                timeout_s: float = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB,
                lessons: Sequence[str] | None = None, course_root: str | Path | None = None
                ) -> list[NotebookGrade]:
    """Grade every learner's notebooks of `lessons` (default: those submitted) and write
    ``grades.csv``, ``report.md`` and ``feedback/`` into `out_dir`. Returns the grades.

    lessons: folder names (``03_convolution``) or their numbers (``03``). course_root: the
    checkout whose ``minitorch_unet/`` and ``data/`` grade (default: this one).
    """
    class_dir, out_dir = Path(class_dir).resolve(), Path(out_dir).resolve()
    course_root = Path(course_root) if course_root else default_course_root()
    if not (course_root / "data" / "reference").is_dir():
        raise GradingError(f"no reference data in {course_root / 'data' / 'reference'}: grade from "
                           "a checkout of the course (pip install -e \".[grading]\")")
    jobs = jobs or default_jobs()
    limits = sandbox.Limits(timeout_s, memory_mb)
    workspace = Path(tempfile.mkdtemp(prefix="minitorch-grade-"))
    try:
        workspace.chmod(0o711)
        engine, secret = workspace / "engine", workspace / "secret"
        hashes = snapshot.take(course_root, engine)
        engine.chmod(0o700)  # learner processes import their own copy, never this one
        catalog = {e["grade_id"]: ExerciseInfo(**e) for e in judge.run_clean(
            engine, hashes, {"task": "catalog"}, workspace / "catalog.json", timeout_s=120)}
        by_lesson: dict[str, list[str]] = {}
        for info in catalog.values():
            by_lesson.setdefault(info.lesson, []).append(info.grade_id)
        chosen = _choose_lessons(lessons, sorted(by_lesson)) if lessons else None
        found = collect(class_dir, by_lesson, chosen, exclude=out_dir)
        if not found.learners:
            raise GradingError(f"no learner folders in {class_dir}")
        if not found.lessons:
            raise GradingError(f"no lesson folders of this course in {class_dir}; known: "
                               + ", ".join(sorted(by_lesson)))
        secret.mkdir(mode=0o700)
        fresh, cases = judge.run_clean(engine, hashes, {
            "task": "prepare", "judge_dir": str(secret / "reference"),
            "learner_dir": str(secret / "inputs")}, workspace / "prepare.json", timeout_s=300)
        reference_hashes = snapshot.hash_tree(secret / "reference")
        case_seed = secrets.randbits(64)  # the checks' own cases (checks.core.draw_cases)
        grades: list[NotebookGrade] = []
        planned: list[tuple[Submission, list[Cell]]] = []
        for sub in found.submissions:
            try:
                cells, problem = _plan(sub, catalog, by_lesson)
            except Exception as err:  # one notebook never stops the class
                cells, problem = [], f"the grader could not read this notebook ({type(err).__name__})"
            if problem:
                grades.append(_ungraded(sub, problem, catalog, by_lesson[sub.lesson]))
            else:
                planned.append((sub, cells))
        views, view_hashes = _learner_views(found.lessons, by_lesson, catalog, engine, secret, [
            course_root, class_dir, out_dir, engine, secret])
        keep_read = (any(mounts is None for _, mounts in views.values())
                     and not sandbox.python_readable_by_others())
        with sandbox.reserved_accounts(len(found.learners), keep_read) as accounts:
            account_of = dict(zip(found.learners, accounts or [None] * len(found.learners)))
            runs = _run_all(planned, by_lesson, views, engine, hashes, workspace, limits, jobs,
                            account_of, case_seed)
        for view, view_hash in view_hashes.items():  # shared by the learners of a lesson
            changed = snapshot.verify(view, view_hash)
            if changed:
                raise judge.SnapshotChanged(
                    f"the learners' copy of the course in {view.name} changed while grading "
                    f"({'; '.join(changed[:5])}); no grades written")
        usual = {lesson: _usual_constructs(course_root, lesson) for lesson in found.lessons}
        grades += _judge_all(planned, runs, catalog, by_lesson, engine, hashes, workspace, secret,
                             reference_hashes, usual, case_seed)
        grades.sort(key=lambda g: (g.learner, g.lesson))
        columns = {lesson: by_lesson[lesson] for lesson in found.lessons}
        notes = (found.notes + _sandbox_notes(accounts, views)
                 + [f"probe inputs: {fresh} of the {cases} reference cases, and the cases the "
                    "checks build themselves, were drawn fresh for this run; the other "
                    "reference cases are the shipped ones"] + _timing_notes(planned, runs, limits))
        report.publish(out_dir, grades, columns, notes)
        return grades
    except judge.JudgeError as err:
        raise GradingError(str(err)) from None
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _learner_views(lessons: list[str], by_lesson: dict[str, list[str]],
                   catalog: dict[str, ExerciseInfo], engine: Path, secret: Path,
                   hidden: list[Path]) -> tuple[dict[str, tuple[Path, sandbox.Mounts | None]],
                                                dict[Path, snapshot.Hashes]]:
    """Per lesson, the learners' copy of the course (and its private file system, which
    shows none of `hidden`), and the hashes of each copy, to verify after the runs."""
    views, hashes = {}, {}
    for lesson in lessons:
        view = engine.parent / f"view-{lesson}"
        learner_view.build(engine, view, [s for g in by_lesson[lesson]
                                          for s in catalog[g].stripped], secret / "inputs")
        hashes[view] = snapshot.hash_tree(view)
        views[lesson] = view, sandbox.private_mounts(view, hidden)
    return views, hashes


def _usual_constructs(course_root: Path, lesson: str) -> set[str]:
    """What the lesson's solution itself uses of what :mod:`.review` lists (none if the
    course has no solution notebook for it)."""
    content, _ = read_regular_file(course_root / "solutions" / lesson / f"{lesson}.ipynb",
                                   MAX_NOTEBOOK_MB * 2**20)
    nb = parse_notebook(content)[0] if content else None
    return review.usual([(c.number, c.source) for c in learner_cells(nb)]) if nb else set()


def _choose_lessons(requested: Sequence[str], known: list[str]) -> list[str]:
    chosen = []
    for name in requested:
        matches = [k for k in known if k == name or k.startswith(f"{name}_")]
        if len(matches) != 1:
            raise ValueError(f"unknown lesson {name!r}; lessons with checks: {', '.join(known)}")
        chosen.append(matches[0])
    return sorted(set(chosen))


def _plan(sub: Submission, catalog: dict[str, ExerciseInfo],
          by_lesson: dict[str, list[str]]) -> tuple[list[Cell], str | None]:
    """The cells to run, or why the notebook cannot be graded."""
    if sub.content is None:
        return [], sub.problem
    nb, problem = parse_notebook(sub.content)
    if nb is None:
        return [], problem
    claimed = claimed_grade_ids(nb)
    others = {catalog[g].lesson for g in claimed if g in catalog} - {sub.lesson}
    if others and not claimed & set(by_lesson[sub.lesson]):
        return [], (f"this is the notebook of {', '.join(sorted(others))}, not of {sub.lesson} "
                    "(renamed, or saved in the wrong folder)")
    cells = learner_cells(nb)
    if sum(len(c.source) for c in cells) > MAX_CODE_MB * 2**20:
        return [], f"the notebook holds more than {MAX_CODE_MB} MB of code; not graded"
    return cells, None


def _run_all(planned: list[tuple[Submission, list[Cell]]], by_lesson: dict[str, list[str]],
             views: dict[str, tuple[Path, sandbox.Mounts | None]], engine: Path,
             hashes: snapshot.Hashes, workspace: Path, limits: sandbox.Limits, jobs: int,
             account_of: dict[str, sandbox.Account | None], case_seed: int) -> list[Run]:
    """Run the notebooks, `jobs` at a time, with a progress bar; the snapshot is verified
    after each (a change stops everything). One learner's notebooks run one at a time (they
    share its uid), so that killing what one left behind never touches another."""
    busy: dict[str, threading.Lock] = {learner: threading.Lock() for learner in account_of}

    def task(index: int, sub: Submission, cells: list[Cell]) -> Run:
        view, mounts = views[sub.lesson]
        with busy[sub.learner]:
            try:
                run = run_notebook(sub.content, f"{sub.lesson}.ipynb", cells,
                                   by_lesson[sub.lesson], view, workspace / f"run-{index}",
                                   limits, account_of[sub.learner], mounts, case_seed)
            except Exception as err:  # the grader's trouble with one notebook
                run = Run("crashed", f"the grader failed on this notebook ({type(err).__name__}: "
                          f"{err})", {"exercises": {}, "cell_errors": []}, 0.0)
        changed = snapshot.verify(engine, hashes)
        if changed:
            raise judge.SnapshotChanged(
                f"the grader's private copy of the course changed while {sub.learner}/"
                f"{sub.lesson} was running ({'; '.join(changed[:5])}); no grades written")
        return run

    runs: list[Run | None] = [None] * len(planned)
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        # lesson by lesson, so that the notebooks running at once are of different learners
        order = sorted(range(len(planned)), key=lambda i: (planned[i][0].lesson, i))
        futures: dict[Future[Run], int] = {pool.submit(task, i, *planned[i]): i for i in order}
        for future in progress(as_completed(futures), total=len(futures), desc="grading",
                               unit="notebook"):
            runs[futures[future]] = future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return runs  # type: ignore[return-value]


def _judge_all(planned: list[tuple[Submission, list[Cell]]], runs: list[Run],
               catalog: dict[str, ExerciseInfo], by_lesson: dict[str, list[str]], engine: Path,
               hashes: snapshot.Hashes, workspace: Path, secret: Path,
               reference_hashes: snapshot.Hashes, usual: dict[str, set[str]], case_seed: int
               ) -> list[NotebookGrade]:
    """One clean judge process for every notebook that ran, against this run's cases."""
    items = [{"key": str(i), "exercises": by_lesson[sub.lesson],
              "cells": [[c.number, c.source] for c in cells], "status": run.status,
              "ended": run.ended, "detail": run.detail, "usual": sorted(usual[sub.lesson])}
             for i, ((sub, cells), run) in enumerate(zip(planned, runs))]
    answers = judge.run_clean(engine, hashes, {
        "task": "judge", "items": items, "references": str(secret / "reference"),
        "reference_hashes": reference_hashes, "case_seed": case_seed}, workspace / "verdicts.json",
        timeout_s=120 + 5 * len(items))
    return [_graded(sub, run, answers[str(i)], catalog, by_lesson[sub.lesson])
            for i, ((sub, _), run) in enumerate(zip(planned, runs))]


def _exercise_grades(grade_ids: list[str], catalog: dict[str, ExerciseInfo],
                     verdicts: dict[str, dict[str, str]]) -> list[ExerciseGrade]:
    grades = []
    for grade_id in grade_ids:
        verdict, top = verdicts[grade_id], catalog[grade_id].points
        grades.append(ExerciseGrade(grade_id, verdict["outcome"],
                                    top if verdict["outcome"] == "pass" else 0, top,
                                    verdict["message"]))
    return grades


def _ungraded(sub: Submission, problem: str, catalog: dict[str, ExerciseInfo],
              grade_ids: list[str]) -> NotebookGrade:
    verdicts = {g: {"outcome": "fail", "message": f"not graded: {problem}"} for g in grade_ids}
    return NotebookGrade(sub.learner, sub.lesson, _exercise_grades(grade_ids, catalog, verdicts),
                         note=problem)


def _graded(sub: Submission, run: Run, answer: dict[str, Any],
            catalog: dict[str, ExerciseInfo], grade_ids: list[str]) -> NotebookGrade:
    note = "" if run.ended == "finished" else run.detail
    return NotebookGrade(sub.learner, sub.lesson,
                         _exercise_grades(grade_ids, catalog, answer["verdicts"]), note=note,
                         cell_errors=run.status.get("cell_errors", []), review=answer["review"],
                         killed=run.killed)


def _sandbox_notes(accounts: list[sandbox.Account] | None,
                   views: dict[str, tuple[Path, sandbox.Mounts | None]]) -> list[str]:
    if accounts is None:
        return ["learner code ran as your own user (the grader was not run as root), under "
                "time and memory limits only: it could read what you can read"]
    notes = [f"learner code ran as unprivileged uids {accounts[0].uid}-{accounts[-1].uid}, one "
             "per learner, able to write nothing outside its own folder"]
    if accounts[0].keep_read:
        notes.append("no private file system, and this Python installation is not readable by "
                     "other users: learner code could read any file (grade in a container or "
                     "VM where root has CAP_SYS_ADMIN)")
    elif any(mounts is None for _, mounts in views.values()):
        notes.append("no private file system (this kernel gives no mount namespace to root): "
                     "learner code could read any file readable by all users (grade in a "
                     "container or VM where root has CAP_SYS_ADMIN to hide them)")
    return notes


def _timing_notes(planned: list[tuple[Submission, list[Cell]]], runs: list[Run],
                  limits: sandbox.Limits) -> list[str]:
    """The longest notebook run, to set ``--timeout`` by."""
    if not runs:
        return []
    (sub, _), run = max(zip(planned, runs), key=lambda pair: pair[1].seconds)
    return [f"longest notebook: {run.seconds:.1f} s ({sub.learner} / {sub.lesson}); the limit "
            f"was {limits.timeout_s:g} s per notebook"]


# ---- command line ----------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``grade`` command's arguments."""
    parser.add_argument("class_dir", metavar="CLASS_DIR",
                        help="the class folder (holding submitted/<learner>/<lesson>/) or the "
                             "folder of learners itself")
    parser.add_argument("--out", required=True, metavar="GRADES_DIR",
                        help="where grades.csv, report.md and feedback/ are written")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help=f"notebooks graded at once (default: the cores, {default_jobs()})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                        help=f"time limit per notebook in seconds (default: {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB, metavar="M",
                        help=f"memory limit per notebook (default: {DEFAULT_MEMORY_MB})")
    parser.add_argument("--lessons", default=None, metavar="NN_topic,...",
                        help="comma-separated lessons to grade (default: every lesson submitted)")


def run(args: argparse.Namespace) -> int:
    """Grade as `args` say; print where the gradebook is and every problem -> exit status."""
    lessons = [n.strip() for n in args.lessons.split(",") if n.strip()] if args.lessons else None
    try:
        grades = grade_class(args.class_dir, args.out, jobs=args.jobs, timeout_s=args.timeout,
                             memory_mb=args.memory_mb, lessons=lessons)
    except GradingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    out = Path(args.out)
    learners = len({g.learner for g in grades})
    print(f"graded {len(grades)} notebooks of {learners} learners: {out / 'grades.csv'}, "
          f"feedback in {out / 'feedback'}, summary in {out / 'report.md'}")
    for line in report.problems(grades):
        print(f"  {line}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m minitorch_unet grade ...`` on its own: parse `argv` and grade."""
    parser = argparse.ArgumentParser(prog="python -m minitorch_unet grade",
                                     description="Grade a class's notebooks.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
