"""`python -m minitorch_unet progress`: the checks run on a learner's own notebooks."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from minitorch_unet.cli import main
from minitorch_unet.course.notebooks import grade_id, is_exercise, read_notebook, write_notebook

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ("00_task_and_data", "01_autograd", "03_convolution")


def copy_lessons(source: Path, target: Path) -> Path:
    for lesson in LESSONS:
        shutil.copytree(source / lesson, target / lesson)
    return target


def progress(folder: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["progress", str(folder)]) == 0
    return capsys.readouterr().out.splitlines()


def test_generated_lessons_are_all_not_written_yet(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    lines = progress(copy_lessons(ROOT / "lessons", tmp_path), capsys)
    assert lines[2].startswith("01_autograd: 0 of 5 passed")
    assert "  \u00b7 mul_backward       exercise 1 (`mul_backward`) is not written yet" in lines
    assert "  \u00b7 conv2d          exercise 5 (`conv2d`) is not written yet" in lines
    assert "note:" not in "\n".join(lines)
    assert lines[-1].startswith("12 checks: 0 passed, 0 failed, 12 not written yet (took ")


def test_solutions_all_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = progress(copy_lessons(ROOT / "solutions", tmp_path), capsys)
    assert "  \u2714 conv2d          passed" in lines
    assert lines[-1].startswith("12 checks: 12 passed, 0 failed, 0 not written yet (took ")


def test_a_half_done_lesson(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exercises 1-2 answered (2 wrongly), 3 answered, 4-5 still the lesson's stubs."""
    lesson = "01_autograd"
    solution = read_notebook(ROOT / "solutions" / lesson / f"{lesson}.ipynb")
    stubs = {grade_id(c): c.source for c in read_notebook(ROOT / "lessons" / lesson / f"{lesson}.ipynb").cells
             if is_exercise(c)}
    for cell in solution.cells:
        if grade_id(cell) in ("backward", "unbroadcast"):
            cell.source = stubs[grade_id(cell)]
        elif grade_id(cell) == "tanh_backward":
            cell.source = "def tanh_backward(x, grad):\n    return (1 - x ** 2) * grad\n"
    solution.cells.append(nbformat.v4.new_code_cell("raise ValueError('my own experiment')"))
    write_notebook(solution, tmp_path / lesson / f"{lesson}.ipynb")
    lines = progress(tmp_path, capsys)
    assert lines[0].startswith("01_autograd: 2 of 5 passed")
    assert lines[1] == (f"  note: cell {len(solution.cells) - 1} raised ValueError: "
                        "my own experiment")
    assert lines[2] == "  \u2714 mul_backward       passed"
    assert lines[3].startswith("  \u2718 tanh_backward      failed: tanh_backward: you multiply by "
                               "1 - x**2")
    assert lines[4] == "  \u2714 topological_order  passed"
    assert lines[5] == "  \u00b7 backward           exercise 4 (`backward`) is not written yet"
    assert lines[-1].startswith("5 checks: 2 passed, 1 failed, 2 not written yet (took ")


def test_a_folder_without_lessons_is_one_line_error(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["progress", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: progress: no lesson notebooks") and err.count("\n") == 1
