"""The learner's copy of the course: the engine without the ops its lesson asks to write.

A learner process imports the package from this copy, never from the grader's snapshot.
For each lesson, the functions and classes its exercises must not call (their
``engine_ops``, and the ``Function`` classes behind them, see :mod:`.engine_ops`) are
rewritten so that every body only raises ``NotImplementedError`` with
:data:`UNAVAILABLE` in its message: their code is not in the copy, so no alias,
``getattr``, ``exec`` of the source or patched detector can bring it back. PyTorch and
SciPy are shadowed by packages whose import fails (:data:`SHADOWED`). The copy's
``data/reference`` holds the probe inputs of this run only, never an expected output (see
:mod:`.fresh_cases`). Everything is readable by all; as root, writable by the grader only
(the grader also verifies each copy's hashes after the runs).
"""
from __future__ import annotations

import ast
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

UNAVAILABLE = "is not available while grading"
# Packages that compute the lessons' ops: the copy shadows them (first on sys.path) with
# packages whose import fails; the private file system hides the real ones too.
SHADOWED = ("torch", "functorch", "torchgen", "scipy")
Stripped = list[tuple[str, str, str]]  # (module, qualified name, label)


def _unavailable(label: str) -> list[ast.stmt]:
    message = f"the engine's {label} {UNAVAILABLE}: write it yourself"
    return ast.parse(f"raise NotImplementedError({message!r})").body


def unavailable_op(error: str) -> str | None:
    """The engine op named by an error that a stripped body raised, or None."""
    found = re.search(rf"the engine's (\S+) {UNAVAILABLE}", error)
    return found.group(1) if found else None


def _strip(tree: ast.Module, qualname: str, label: str) -> bool:
    """Replace the body of `qualname` (a function, a method, or every method of a class)."""
    scope: list[ast.stmt] = tree.body
    node: ast.stmt | None = None
    for part in qualname.split("."):
        node = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                        ast.ClassDef)) and n.name == part), None)
        if node is None:
            return False
        scope = node.body
    functions = [node] if not isinstance(node, ast.ClassDef) else [
        n for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for fn in functions:
        fn.body = _unavailable(label)
    if isinstance(node, ast.ClassDef):  # class-level code (e.g. a table of kernels) goes too
        node.body = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                     or isinstance(n, ast.Expr) and n is node.body[0]] or [ast.Pass()]
    return True


def build(engine: Path, dest: Path, stripped: Stripped, references: Path) -> None:
    """Write the learner's copy into `dest`: the package of `engine` with `stripped` rewritten,
    and `references` (probe inputs only) as its ``data/reference``."""
    shutil.copytree(engine / "minitorch_unet", dest / "minitorch_unet")
    by_module: dict[str, list[tuple[str, str]]] = {}
    for module, qualname, label in stripped:
        by_module.setdefault(module, []).append((qualname, label))
    for module, names in by_module.items():
        path = dest / Path(*module.split(".")).with_suffix(".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for qualname, label in names:
            if not _strip(tree, qualname, label):
                raise LookupError(f"{module}.{qualname} not found in {path}")
        path.write_text(ast.unparse(ast.fix_missing_locations(tree)) + "\n", encoding="utf-8")
    shutil.copytree(references, dest / "data" / "reference")
    for name in SHADOWED:
        (dest / name).mkdir()
        (dest / name / "__init__.py").write_text(
            f"raise ImportError({name + ' cannot be imported while grading'!r})\n",
            encoding="utf-8")
    _readable(dest)


def _readable(root: Path) -> None:
    for folder, _, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


def strip_list(watched: Iterable[tuple[str, object]]) -> Stripped:
    """(module, qualname, label) of each watched function or class."""
    return [(obj.__module__, obj.__qualname__, label) for label, obj in watched
            if hasattr(obj, "__qualname__")]
