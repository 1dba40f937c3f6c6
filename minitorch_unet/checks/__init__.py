"""The course's exercise checks, shared by the notebooks' check cells and the grader.

Each :class:`Exercise` is split in two so that grading can be isolated:

* ``probe(fn)`` runs the learner's function on inputs the check chooses and returns what it
  produced as arrays (this is the only part that runs learner code);
* ``verdict(outputs)`` compares those arrays with the PyTorch references and raises
  :class:`CheckFailed` with a message that says what is wrong (it never runs learner code).

In a notebook, ``check("check_conv2d", conv2d)`` runs both and prints one short line.
"""
from .core import (EXERCISES, CheckFailed, Exercise, NotWritten, Result, check, expect_close,
                   expect_shape, register, run_check)

__all__ = ["EXERCISES", "CheckFailed", "Exercise", "NotWritten", "Result", "check", "expect_close",
           "expect_shape", "register", "run_check"]
