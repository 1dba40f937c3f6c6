"""A class's submissions, read into memory before any learner code runs.

nbgrader's layout: ``CLASS_DIR/submitted/<learner>/<NN_topic>/<NN_topic>.ipynb``;
``CLASS_DIR`` may also be the folder of learners itself. A lesson folder holding one
notebook under another name (``03_convolution (1).ipynb``) is accepted too. Reading
never fails on a submission: what cannot be used becomes a :attr:`Submission.problem`.

Nothing is followed or trusted: learner and lesson folders are opened without following
symbolic links (a link is refused, with one line naming it), a notebook is opened the same
way and read only if it is a regular file no larger than :data:`MAX_NOTEBOOK_MB`, so a link
to another learner's work, a device, a FIFO or a socket is never read.
"""
from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .learner_code import Notebook

MAX_NOTEBOOK_MB = 64
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY


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


def _folders(path: Path) -> tuple[list[str], list[str]]:
    """The visible sub-folders of `path` and the visible symbolic links in it, by name."""
    folders, links = [], []
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                links.append(entry.name)
            elif entry.is_dir(follow_symlinks=False):
                folders.append(entry.name)
    return sorted(folders), sorted(links)


def collect(class_dir: Path, known_lessons: Iterable[str], lessons: list[str] | None = None,
            exclude: Path | None = None) -> Class:
    """Read every learner's notebook of `lessons` (default: the known lessons submitted).

    exclude: a folder never taken for a learner (the grades folder, if placed inside).
    """
    folder = learners_folder(class_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"class folder not found: {class_dir}")
    skip = exclude.resolve() if exclude is not None else None
    learners, links = _folders(folder)
    learners = [name for name in learners if (folder / name).resolve() != skip]
    notes = [f"learner folder '{name}' is a symbolic link; not graded" for name in links]
    known = set(known_lessons)
    found: dict[str, int] = {}
    for learner in learners:
        names, lesson_links = _folders(folder / learner)
        for name in names + lesson_links:
            found[name] = found.get(name, 0) + 1
    notes += [f"folder '{name}' ({count} learner{'s' * (count > 1)}) is not a lesson of this "
              "course; ignored" for name, count in sorted(found.items()) if name not in known]
    chosen = sorted(known & set(found)) if lessons is None else lessons
    submissions = [_read(folder / learner, learner, lesson)
                   for learner in learners for lesson in chosen]
    return Class(learners, chosen, submissions, notes)


def _read(learner_dir: Path, learner: str, lesson: str) -> Submission:
    """The notebook of `lesson` in `learner_dir`, opened without following any link."""
    try:
        folder = os.open(learner_dir, _DIRECTORY)
    except OSError as err:
        return Submission(learner, lesson, None, f"the learner's folder could not be opened "
                                                 f"({err.strerror})")
    try:
        try:
            lesson_fd = os.open(lesson, _DIRECTORY, dir_fd=folder)
        except FileNotFoundError:
            return Submission(learner, lesson, None, "no notebook submitted")
        except OSError as err:
            if os.path.islink(learner_dir / lesson):
                return Submission(learner, lesson, None,
                                  f"{lesson}/ is a symbolic link; not graded")
            return Submission(learner, lesson, None, f"{lesson}/ could not be opened "
                                                     f"({err.strerror})")
        try:
            return _read_notebook(lesson_fd, learner, lesson)
        finally:
            os.close(lesson_fd)
    finally:
        os.close(folder)


def _read_notebook(lesson_fd: int, learner: str, lesson: str) -> Submission:
    expected = f"{lesson}.ipynb"
    candidates = sorted(n for n in os.listdir(lesson_fd) if n.endswith(".ipynb"))
    if expected in candidates:
        name = expected
    elif len(candidates) == 1:
        name = candidates[0]
    elif candidates:
        return Submission(learner, lesson, None,
                          f"{len(candidates)} notebooks in {lesson}/ and none named {expected}")
    else:
        return Submission(learner, lesson, None, "no notebook submitted")
    content, problem = read_regular_file(name, MAX_NOTEBOOK_MB * 2**20, dir_fd=lesson_fd)
    return Submission(learner, lesson, content, problem and f"{lesson}/{name} {problem}")


def read_regular_file(path: str | Path, max_bytes: int,
                      dir_fd: int | None = None) -> tuple[bytes | None, str | None]:
    """The bytes of `path` if it is a regular file of at most `max_bytes`, else None and
    what it is ("is a symbolic link; not graded", ...). Never follows a link, never blocks."""
    try:
        fd = os.open(path, _FILE, dir_fd=dir_fd)
    except OSError as err:
        if err.errno == getattr(os, "ELOOP", 40) or _is_link(path, dir_fd):
            return None, "is a symbolic link; not graded"
        return None, f"could not be read ({err.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "is not a regular file (a device, FIFO, socket or folder); not graded"
        if info.st_size > max_bytes:
            return None, f"is larger than {max_bytes // 2**20} MB; not graded"
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(2**20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:  # it grew while being read
            return None, f"is larger than {max_bytes // 2**20} MB; not graded"
        return b"".join(chunks), None
    except OSError as err:
        return None, f"could not be read ({err.strerror})"
    finally:
        os.close(fd)


def _is_link(path: str | Path, dir_fd: int | None) -> bool:
    try:
        return stat.S_ISLNK(os.stat(path, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def parse_notebook(content: bytes) -> tuple[Notebook | None, str | None]:
    """The notebook, or None and what is wrong with the file."""
    if not content.strip():
        return None, "the notebook file is empty"
    try:
        nb = json.loads(content)  # UTF-8, -16 or -32, as JSON allows
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        return None, f"not a valid notebook: the file is not JSON ({err})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, "not a Jupyter notebook: no list of cells"
    if nb.get("nbformat") != 4:
        return None, (f"notebook format {str(nb.get('nbformat'))[:20]!r} is not supported; open "
                      "the notebook in a current Jupyter and save it again")
    if not all(isinstance(cell, dict) for cell in nb["cells"]):
        return None, "not a valid notebook: a cell is not a JSON object"
    if not any(cell.get("cell_type") == "code" for cell in nb["cells"]):
        return None, "the notebook has no code cells"
    return nb, None
