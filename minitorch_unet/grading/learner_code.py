"""The code of a learner's notebook that the grader runs, and the lesson a notebook claims.

The grader runs the code cells in order, except

* cells tagged ``demo`` (they only show things);
* check cells: cells whose nbgrader metadata says ``grade: true``, and in any other cell,
  each top-level statement that calls ``check(...)`` (a learner may have moved a check or
  merged it into a cell of their own); checks are the grader's job, never the notebook's;
* IPython-only lines (``%magic``, ``!shell``, ``x = !cmd``, ``name?``), which become
  ``pass``, in a cell that is not valid Python as it stands; a cell magic other than
  ``%%time``/``%%timeit``/``%%capture`` skips the cell.

Nothing else of the notebook matters: markdown, outputs, cell order of the original lesson.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

Notebook = dict[str, Any]

_TRANSPARENT_CELL_MAGICS = ("%%time", "%%timeit", "%%capture")
_IPYTHON_LINE = re.compile(r"^\s*([%!]|[\w.]+\?{1,2}\s*$|[\w.,\s]+=\s*[%!])")
_CHECK_ID = re.compile(r"""\bcheck\(\s*["']([\w.-]+)["']""")
# What parsing hostile code may raise (deep nesting: MemoryError/RecursionError; NUL: ValueError).
UNPARSABLE = (SyntaxError, ValueError, MemoryError, RecursionError)


@dataclass(frozen=True)
class Cell:
    """A code cell to run: its 1-based position in the notebook and its (cleaned) source."""

    number: int
    source: str


def source_of(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _nbgrader(cell: dict[str, Any]) -> dict[str, Any]:
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def _is_demo(cell: dict[str, Any]) -> bool:
    metadata = cell.get("metadata")
    tags = metadata.get("tags", []) if isinstance(metadata, dict) else []
    return isinstance(tags, list) and "demo" in tags


def learner_cells(nb: Notebook) -> list[Cell]:
    """The code the grader runs, cell by cell, in notebook order."""
    cells = []
    for number, cell in enumerate(nb["cells"], 1):
        if cell.get("cell_type") != "code" or _is_demo(cell) or _nbgrader(cell).get("grade") is True:
            continue
        source = _plain_python(source_of(cell))
        if source is not None:
            source = _without_check_calls(source)
        if source and source.strip():
            cells.append(Cell(number, source))
    return cells


def _plain_python(source: str) -> str | None:
    """`source` with IPython-only lines replaced by ``pass``; None if it is a shell/other cell."""
    try:
        ast.parse(source)
        return source
    except UNPARSABLE:
        pass
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        if lines[0].split()[0] not in _TRANSPARENT_CELL_MAGICS:
            return None
        lines = [""] + lines[1:]
    return "\n".join(_indent(line) + "pass" if _IPYTHON_LINE.match(line) else line
                     for line in lines)


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _calls_check(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and (
        (isinstance(n.func, ast.Name) and n.func.id == "check")
        or (isinstance(n.func, ast.Attribute) and n.func.attr == "check")) for n in ast.walk(node))


def _without_check_calls(source: str) -> str:
    """Blank out the top-level statements (other than definitions) that call ``check``."""
    try:
        tree = ast.parse(source)
    except UNPARSABLE:
        return source  # runs, fails, and is reported like any broken cell
    lines = source.split("\n")
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if _calls_check(statement):
            for i in range(statement.lineno - 1, statement.end_lineno):
                lines[i] = ""
    return "\n".join(lines)


def claimed_grade_ids(nb: Notebook) -> set[str]:
    """The grade ids a notebook carries: in nbgrader metadata and in ``check("...")`` calls."""
    ids = set()
    for cell in nb["cells"]:
        grade_id = _nbgrader(cell).get("grade_id")
        if isinstance(grade_id, str):
            ids.add(grade_id)
        if cell.get("cell_type") == "code":
            ids.update(_CHECK_ID.findall(source_of(cell)))
    return ids
