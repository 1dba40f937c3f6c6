"""A class's submissions, read into memory before any learner code runs.

nbgrader's layout: ``CLASS_DIR/submitted/<learner>/<NN_topic>/<NN_topic>.ipynb``;
``CLASS_DIR`` may also be the folder of learners itself. A lesson folder holding one
notebook under another name (``03_convolution (1).ipynb``) is accepted too. Reading
never fails on a submission: what cannot be used becomes a :attr:`Submission.problem`.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .learner_code import Notebook

MAX_NOTEBOOK_MB = 64


@dataclass(frozen=True)
class Submission:
    """One learner's notebook for one lesson; content None when nothing was submitted."""

    learner: str
    lesson: str
    content: bytes | None
    problem: str | None = None


@dataclass(frozen=True)
class Class:
    """Who and what is graded, and remarks for the report (e.g. unknown folders)."""

    learners: list[str]
    lessons: list[str]
    submissions: list[Submission]
    notes: list[str]


def learners_folder(class_dir: Path) -> Path:
    """``CLASS_DIR/submitted`` if it exists, else ``CLASS_DIR``."""
    submitted = class_dir / "submitted"
    return submitted if submitted.is_dir() else class_dir


def collect(class_dir: Path, known_lessons: Iterable[str], lessons: list[str] | None = None,
            exclude: Path | None = None) -> Class:
    """Read every learner's notebook of `lessons` (default: the known lessons submitted).

    exclude: a folder never taken for a learner (the grades folder, if placed inside).
    """
    folder = learners_folder(class_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"class folder not found: {class_dir}")
    skip = exclude.resolve() if exclude is not None else None
    learners = sorted(d.name for d in folder.iterdir()
                      if d.is_dir() and not d.name.startswith(".") and d.resolve() != skip)
    known = set(known_lessons)
    found: dict[str, int] = {}
    for learner in learners:
        for d in (folder / learner).iterdir():
            if d.is_dir() and not d.name.startswith("."):
                found[d.name] = found.get(d.name, 0) + 1
    notes = [f"folder '{name}' ({count} learner{'s' * (count > 1)}) is not a lesson of this "
             "course; ignored" for name, count in sorted(found.items()) if name not in known]
    chosen = sorted(known & set(found)) if lessons is None else lessons
    submissions = [_read(folder / learner / lesson, learner, lesson)
                   for learner in learners for lesson in chosen]
    return Class(learners, chosen, submissions, notes)


def _read(lesson_dir: Path, learner: str, lesson: str) -> Submission:
    expected = lesson_dir / f"{lesson}.ipynb"
    candidates = sorted(lesson_dir.glob("*.ipynb")) if lesson_dir.is_dir() else []
    if expected.is_file():
        path = expected
    elif len(candidates) == 1:
        path = candidates[0]
    elif candidates:
        return Submission(learner, lesson, None,
                          f"{len(candidates)} notebooks in {lesson}/ and none named {lesson}.ipynb")
    else:
        return Submission(learner, lesson, None, "no notebook submitted")
    try:
        if path.stat().st_size > MAX_NOTEBOOK_MB * 2**20:
            return Submission(learner, lesson, None,
                              f"{path.name} is larger than {MAX_NOTEBOOK_MB} MB; not graded")
        return Submission(learner, lesson, path.read_bytes())
    except OSError as err:
        return Submission(learner, lesson, None, f"{path.name} could not be read ({err.strerror})")


def parse_notebook(content: bytes) -> tuple[Notebook | None, str | None]:
    """The notebook, or None and what is wrong with the file."""
    if not content.strip():
        return None, "the notebook file is empty"
    try:
        nb = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        return None, f"not a valid notebook: the file is not JSON ({err})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, "not a Jupyter notebook: no list of cells"
    if nb.get("nbformat") != 4:
        return None, (f"notebook format {nb.get('nbformat')!r} is not supported; open the "
                      "notebook in a current Jupyter and save it again")
    if not all(isinstance(cell, dict) for cell in nb["cells"]):
        return None, "not a valid notebook: a cell is not a JSON object"
    if not any(cell.get("cell_type") == "code" for cell in nb["cells"]):
        return None, "the notebook has no code cells"
    return nb, None
