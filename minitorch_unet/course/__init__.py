"""Course infrastructure: solution notebooks -> lessons, running them, reusing earlier answers.

* :mod:`.notebooks`: the kinds of cells (exercise, check, demo), helpers to build a solution
  notebook, the nbgrader-style conversion to a lesson, and putting solutions back;
* :mod:`.run`: executing notebooks in a kernel and the one-command build;
* :mod:`.reuse`: ``use_own_or_reference`` and ``plug_in`` for lessons that build on earlier ones.
* :mod:`.learner_progress`: every check run on a learner's own notebooks, as one table
  (``python -m minitorch_unet progress [LESSONS_DIR]``).

Commands: ``python -m minitorch_unet.course lessons [--check]`` and ``... build [NN ...]``.
"""
from .cli import main
from .notebooks import (check_up_to_date, code, exercise, fill_solutions, generate_all,
                        generate_lesson, graded, lesson_notebook, markdown, new_notebook)
from .reuse import plug_in, use_own_or_reference
from .run import CellFailed, build, execute

__all__ = ["main", "check_up_to_date", "code", "exercise", "fill_solutions", "generate_all",
           "generate_lesson", "graded", "lesson_notebook", "markdown", "new_notebook", "plug_in",
           "use_own_or_reference", "CellFailed", "build", "execute"]
