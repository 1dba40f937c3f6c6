"""nbgrader on the course as shipped: ``nbgrader_config.py`` makes ``solutions/`` the source
and ``lessons/`` the release, and ``generate_assignment``, ``autograde`` and ``export``
grade a small class of one short lesson (about 40 s). Skipped where nbgrader, the
instructors' optional extra, is not installed.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader", reason="nbgrader is the instructors' extra: pip install '.[grading]'")

REPO = Path(__file__).resolve().parents[1]


def nbgrader(*args: str) -> None:
    """Run nbgrader from the repository root, as an instructor would (it reads the config there)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def first_lesson() -> str:
    for folder in sorted((REPO / "solutions").glob("[0-9][0-9]_*")):
        if (REPO / "lessons" / folder.name / f"{folder.name}.ipynb").is_file():
            return folder.name
    pytest.skip("no lesson in this checkout")


def test_nbgrader_grades_a_class_with_the_shipped_config(tmp_path: Path) -> None:
    from minitorch_unet.course import fill_solutions
    lesson = first_lesson()
    shipped = nbformat.read(REPO / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
    solution = nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    tampered = nbformat.from_dict(shipped)  # every check cell replaced by a fake pass line
    for cell in tampered.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            cell.source = 'print("\u2714 all good")'
    class_dir = tmp_path / "class"
    for learner, nb in (("solved", fill_solutions(shipped, solution)), ("untouched", shipped),
                        ("tampered", tampered)):
        folder = class_dir / "submitted" / learner / lesson
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{lesson}.ipynb")
    release = tmp_path / "release"  # the shipped lessons/ stay as they are
    nbgrader("generate_assignment", lesson, f"--CourseDirectory.root={class_dir}",
             f"--CourseDirectory.release_directory={release}")
    assert sorted(p.name for p in (release / lesson).iterdir()) == [f"{lesson}.ipynb"]  # no build.py
    nbgrader("autograde", lesson, f"--CourseDirectory.root={class_dir}")
    nbgrader("export", f"--CourseDirectory.root={class_dir}", f"--to={class_dir / 'grades.csv'}")
    with open(class_dir / "grades.csv", newline="", encoding="utf-8") as f:
        scores = {row["student_id"]: (float(row["score"]), float(row["max_score"]))
                  for row in csv.DictReader(f) if row["assignment"] == lesson}
    top = scores["solved"][1]
    assert top > 0
    assert scores == {"solved": (top, top), "untouched": (0.0, top), "tampered": (0.0, top)}
