"""Run notebooks in a Jupyter kernel, and build the course: solutions executed, lessons made."""
from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode

from .notebooks import generate_lesson, lesson_folders, new_notebook, read_notebook, write_notebook

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS_DIR = ROOT / "solutions"
LESSONS_DIR = ROOT / "lessons"


@dataclass
class CellFailed(Exception):
    """A cell raised: its index in the notebook, the exception's name and message."""

    index: int
    ename: str
    evalue: str

    def __str__(self) -> str:
        return f"cell {self.index} raised {self.ename}: {self.evalue}"


def kernel_env() -> dict[str, str]:
    """The environment for a notebook's kernel: this checkout's package first on the path."""
    path = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path))


def execute(nb: NotebookNode, cwd: str | Path, skip: Iterable[int] = (),
            timeout: int = 600) -> None:
    """Run `nb`'s code cells in order in a fresh kernel started in `cwd`, storing outputs.

    Cells whose index is in `skip` are left as they are. Raises CellFailed at the first
    cell that raises (its outputs stored so far stay in `nb`).
    """
    skip = set(skip)
    client = NotebookClient(nb, timeout=timeout, kernel_name=nb.metadata["kernelspec"]["name"],
                            record_timing=False, resources={"metadata": {"path": str(cwd)}})
    with client.setup_kernel(env=kernel_env()):
        info = client.wait_for_reply(client.kc.kernel_info())
        nb.metadata["language_info"] = info["content"]["language_info"]
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or index in skip:
                continue
            count += 1
            try:
                client.execute_cell(cell, index, execution_count=count)
            except CellExecutionError as err:
                raise CellFailed(index, err.ename, err.evalue) from None


def load_builder(script: Path) -> NotebookNode:
    """The notebook that a lesson's ``build.py`` describes (its ``cells()`` function)."""
    spec = importlib.util.spec_from_file_location(f"build_{script.parent.name}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return new_notebook(module.cells())


def build(names: Iterable[str] = (), solutions_dir: Path = SOLUTIONS_DIR,
          lessons_dir: Path = LESSONS_DIR) -> None:
    """For each lesson (all, or those whose folder starts with one of `names`): rebuild the
    solution notebook from its ``build.py`` if it has one, execute it in place, and regenerate
    the lesson. Prints the time each took."""
    names = tuple(names)
    scripts = {script.parent for script in Path(solutions_dir).glob("[0-9][0-9]_*/build.py")}
    for folder in sorted(set(lesson_folders(solutions_dir)) | scripts):
        if names and not folder.name.startswith(names):
            continue
        path = folder / f"{folder.name}.ipynb"
        script = folder / "build.py"
        nb = load_builder(script) if script.is_file() else read_notebook(path)
        print(f"{folder.name}: executing ...", flush=True)
        start = time.perf_counter()
        execute(nb, folder)
        write_notebook(nb, path)
        generate_lesson(path, lessons_dir / folder.name / path.name)
        print(f"{folder.name}: executed in {time.perf_counter() - start:.1f} s; lesson regenerated")
