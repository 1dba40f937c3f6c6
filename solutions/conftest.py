"""Run the solution notebooks under nbval: ``pytest solutions`` (or plain ``pytest``).

Only cells whose first line is ``# NBVAL_CHECK_OUTPUT`` have their outputs compared (lax
mode); every cell must run without error. The kernel is this Python, with this checkout's
package first on its path, and outputs are sanitised with ``tests/nbval_sanitize.cfg``.
"""
from __future__ import annotations

import os

import pytest

from minitorch_unet.course.run import ROOT, kernel_env


def pytest_configure(config: pytest.Config) -> None:
    option = config.option
    if not option.nbval:
        option.nbval_lax = True
    if not option.nbval_kernel_name:
        option.nbval_current_env = True
    option.nbval_sanitize_with = option.nbval_sanitize_with or str(ROOT / "tests" / "nbval_sanitize.cfg")
    os.environ["PYTHONPATH"] = kernel_env()["PYTHONPATH"]
