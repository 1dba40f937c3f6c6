"""Grading a class's notebooks with one command (for instructors; needs no nbgrader)::

    python -m minitorch_unet grade CLASS_DIR --out GRADES_DIR [--jobs N] [--timeout S]
                                   [--memory-mb M] [--lessons 03_convolution,...]

Each notebook's code runs in a confined learner process that only produces what the
checks ask for; a separate clean process, importing the checks from a verified private
snapshot, judges it. See :mod:`.grade` for the steps and ``docs/instructors.md`` for use.

The learner process imports this package too, so the instructor-side modules load only
when one of the names below is first used.
"""
from __future__ import annotations

from typing import Any

__all__ = ["GradingError", "add_arguments", "grade_class", "main", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import grade
        return getattr(grade, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
