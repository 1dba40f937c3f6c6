"""Notebook cells of the course: their kinds, building them, and solution -> lesson conversion.

A solution notebook (``solutions/NN_topic/NN_topic.ipynb``) is nbgrader's source format:

* an **exercise** cell is a code cell whose nbgrader metadata says ``solution: true``; its
  answer sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
* a **check** cell says ``grade: true, locked: true`` and calls
  ``check("check_<name>", <function>)``, optionally followed by a region between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``;
* a **demo** cell (tag ``demo``) only shows things; no later cell may need a name it defines.

:func:`lesson_notebook` turns it into the learner's notebook the way nbgrader's
``generate_assignment`` does (lock cells, clear solutions, clear outputs, drop hidden tests).
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Iterable

import nbformat
from nbformat import NotebookNode

BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
DEMO_TAG = "demo"
SCHEMA_VERSION = 3
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


# ---- kinds of cells ------------------------------------------------------------------------
def nbgrader(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata ({} when it has none)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def is_exercise(cell: NotebookNode) -> bool:
    return bool(nbgrader(cell).get("solution", False))


def is_check(cell: NotebookNode) -> bool:
    return bool(nbgrader(cell).get("grade", False))


def is_locked(cell: NotebookNode) -> bool:
    return bool(nbgrader(cell).get("locked", False))


def is_demo(cell: NotebookNode) -> bool:
    return DEMO_TAG in cell.get("metadata", {}).get("tags", [])


def grade_id(cell: NotebookNode) -> str | None:
    return nbgrader(cell).get("grade_id")


# ---- building a solution notebook ------------------------------------------------------------
def markdown(source: str) -> NotebookNode:
    """A prose cell (leading/trailing blank lines dropped)."""
    return nbformat.v4.new_markdown_cell(source.strip("\n"))


def code(source: str, tags: Iterable[str] = ()) -> NotebookNode:
    """A plain code cell; ``tags=["demo"]`` marks one that only shows things."""
    cell = nbformat.v4.new_code_cell(source.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def exercise(grade_id: str, source: str) -> NotebookNode:
    """An exercise cell: its answer between ``### BEGIN SOLUTION`` and ``### END SOLUTION``."""
    if BEGIN_SOLUTION not in source:
        raise ValueError(f"exercise {grade_id!r}: no '### {BEGIN_SOLUTION}' line in its source")
    cell = code(source)
    cell.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False,
                                 "grade_id": grade_id, "schema_version": SCHEMA_VERSION}
    return cell


def graded(grade_id: str, function: str, points: int = 1, hidden_tests: str = "") -> NotebookNode:
    """A check cell: ``check("<grade_id>", <function>)`` and optional hidden tests."""
    if not grade_id.startswith("check_"):
        raise ValueError(f"a check cell's grade id starts with 'check_', got {grade_id!r}")
    source = f'check("{grade_id}", {function})'
    if hidden_tests:
        source += f"\n### {BEGIN_HIDDEN}\n{hidden_tests.strip(chr(10))}\n### {END_HIDDEN}"
    cell = code(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "grade_id": grade_id, "points": points,
                                 "schema_version": SCHEMA_VERSION}
    return cell


def new_notebook(cells: list[NotebookNode]) -> NotebookNode:
    """A notebook of `cells` with the course's kernel and stable cell ids.

    Ids are the grade id for nbgrader cells, else a hash of the source (so inserting a cell
    leaves the others' ids alone).
    """
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    seen: set[str] = set()
    for cell in cells:
        base = grade_id(cell) or hashlib.sha1(cell.source.encode()).hexdigest()[:10]
        cell_id, n = base, 1
        while cell_id in seen:
            n += 1
            cell_id = f"{base}-{n}"
        seen.add(cell_id)
        cell["id"] = cell_id
    nbformat.validate(nb)
    return nb


def read_notebook(path: str | Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


def dumps(nb: NotebookNode) -> str:
    """The notebook as stored: nbformat's JSON (sorted keys, indent 1) with a final newline."""
    return nbformat.writes(nb) + "\n"


def write_notebook(nb: NotebookNode, path: str | Path) -> bool:
    """Write `nb` to `path` unless the file already holds exactly that; True if written."""
    path = Path(path)
    text = dumps(nb)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


# ---- solution -> lesson ----------------------------------------------------------------------
def _replace_regions(source: str, begin: str, end: str, stub: list[str] | None) -> tuple[str, bool]:
    """Drop the lines from a `begin` line to its `end` line, putting the `stub` lines (indented
    like the `begin` line) in their place; returns the new source and whether a region was found.

    Matching is nbgrader's: a line *containing* the delimiter opens or closes a region.
    """
    lines, kept, inside, found = source.split("\n"), [], False, False
    for line in lines:
        if begin in line:
            if inside:
                raise ValueError(f"nested '{begin}' regions")
            inside = found = True
            indent = re.match(r"\s*", line).group(0)
            kept.extend(indent + stub_line for stub_line in stub or [])
        elif end in line:
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise ValueError(f"a '{begin}' region has no '{end}' line")
    return "\n".join(kept), found


def _lesson_cell(cell: NotebookNode, where: str) -> NotebookNode:
    cell = nbformat.from_dict(cell)  # a copy
    # LockCells (nbgrader's defaults)
    if is_exercise(cell):
        cell.metadata["deletable"] = False
    elif is_check(cell) or is_locked(cell):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False
    # ClearSolutions
    stub = (CODE_STUB if cell.cell_type == "code" else TEXT_STUB).split("\n")
    try:
        source, replaced = _replace_regions(cell.source, BEGIN_SOLUTION, END_SOLUTION, stub)
        if replaced and not is_exercise(cell):
            raise ValueError("a solution region in a cell not marked as a solution cell")
        cell.source = source if replaced else ("\n".join(stub) if is_exercise(cell) else source)
        # ClearOutput
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            for field in ("collapsed", "scrolled"):
                cell.metadata.pop(field, None)
        # ClearHiddenTests
        cell.source, removed = _replace_regions(cell.source, BEGIN_HIDDEN, END_HIDDEN, None)
        if removed and not is_check(cell):
            raise ValueError("a hidden-test region in a cell not marked as a grade cell")
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    return cell


def lesson_notebook(solution: NotebookNode, name: str = "notebook") -> NotebookNode:
    """The learner's version of a solution notebook, as nbgrader's generate_assignment makes it.

    Cells are locked as LockCells does; solution regions become ``# YOUR CODE HERE`` +
    ``raise NotImplementedError()`` at the region's indentation (a solution cell without a
    region becomes the stub entirely); outputs and execution counts are cleared; hidden-test
    regions are removed. All metadata is kept. nbgrader's checksums are not added (they only
    matter to nbgrader's own database, which makes its release from the solutions).
    """
    lesson = nbformat.from_dict(solution)
    lesson.metadata.pop("celltoolbar", None)
    lesson.cells = [_lesson_cell(cell, f"{name}, cell {i}") for i, cell in enumerate(solution.cells)]
    return lesson


def generate_lesson(src: str | Path, dst: str | Path) -> bool:
    """Write the lesson made from solution notebook `src` to `dst`; True if the file changed."""
    return write_notebook(lesson_notebook(read_notebook(src), Path(src).name), dst)


def lesson_folders(solutions_dir: str | Path) -> list[Path]:
    """The ``NN_topic`` folders holding a ``NN_topic.ipynb``, in lesson order."""
    return sorted(p.parent for p in Path(solutions_dir).glob("[0-9][0-9]_*/*.ipynb")
                  if p.stem == p.parent.name)


def generate_all(solutions_dir: str | Path, lessons_dir: str | Path) -> list[Path]:
    """Regenerate every lesson from its solution; returns the lessons whose file changed."""
    changed = []
    for folder in lesson_folders(solutions_dir):
        dst = Path(lessons_dir) / folder.name / f"{folder.name}.ipynb"
        if generate_lesson(folder / f"{folder.name}.ipynb", dst):
            changed.append(dst)
    return changed


def check_up_to_date(solutions_dir: str | Path, lessons_dir: str | Path) -> list[str]:
    """Problems between solutions and lessons: stale, missing or orphan lessons ([] if none)."""
    problems = []
    names = {folder.name for folder in lesson_folders(solutions_dir)}
    for name in sorted(names):
        lesson = Path(lessons_dir) / name / f"{name}.ipynb"
        solution = Path(solutions_dir) / name / f"{name}.ipynb"
        expected = dumps(lesson_notebook(read_notebook(solution), solution.name))
        if not lesson.is_file():
            problems.append(f"{name}: lesson missing")
        elif lesson.read_text(encoding="utf-8") != expected:
            problems.append(f"{name}: lesson differs from its solution (hand-edited, or stale)")
    for path in sorted(Path(lessons_dir).glob("*/*.ipynb")):
        if path.parent.name not in names:
            problems.append(f"{path.parent.name}: lesson without a solution notebook")
    return problems


def fill_solutions(lesson: NotebookNode, solution: NotebookNode) -> NotebookNode:
    """A copy of `lesson` whose exercise cells hold the solution's code again (for tests)."""
    answers = {grade_id(c): c.source for c in solution.cells if is_exercise(c)}
    filled = nbformat.from_dict(lesson)
    for cell in filled.cells:
        if is_exercise(cell):
            if grade_id(cell) not in answers:
                raise KeyError(f"exercise {grade_id(cell)!r} has no solution cell")
            cell.source = answers[grade_id(cell)]
    return filled
