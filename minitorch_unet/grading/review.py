"""Lines of a notebook that hide what they call, listed for the instructor to look at.

The engine's ops an exercise forbids are absent from the learner's copy of the engine
(:mod:`.learner_view`), and a name that leads to them is flagged (:mod:`.engine_ops`); what
no reading of the code can settle is listed here, whatever the grade: running code built
at run time (``exec``, ``eval``, ``compile``, ``__import__``, ``importlib``), names
computed at run time (``getattr(obj, name)`` with a name that is not a literal),
``sys.modules``, ``sys.path`` and other interpreter internals (code objects, frames,
globals), reading source files (``inspect``, ``__file__``), and pickles that run code
(``__reduce__``). Such lines are rare in an answer, common in an attempt to hide one, and
harmless in themselves: they cost no points. Constructs that the lesson's own solution
uses (``getattr(self, name)`` in a module, ``inspect`` in a demo) are not listed.
"""
from __future__ import annotations

import ast

MAX_LINES = 10
CALLS = {"exec", "eval", "compile", "__import__", "globals", "locals", "breakpoint"}
NAMED_ACCESS = {"getattr", "setattr", "delattr", "hasattr"}
MODULES = {"importlib", "inspect", "ctypes", "gc", "marshal", "builtins", "runpy", "pickle",
           "imp", "zipimport", "code", "codeop", "dis", "types"}
ATTRIBUTES = {"__code__", "__globals__", "__builtins__", "__file__", "__loader__", "__spec__",
              "__subclasses__", "f_globals", "f_locals", "f_back", "co_code", "getsource"}
SYS_ATTRIBUTES = {"modules", "meta_path", "path_hooks", "path", "_getframe"}


def _construct(node: ast.AST) -> str | None:
    """What `node` does that hides a call, or None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in CALLS:
            return f"{node.func.id}(...)"
        if node.func.id in NAMED_ACCESS and (len(node.args) < 2 or not (
                isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str))):
            return f"{node.func.id}() with a computed name"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        hit = [n for n in names if n.split(".")[0] in MODULES]
        if hit:
            return f"import {hit[0]}"
    if isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES:
        return f".{node.attr}"
    if (isinstance(node, ast.Attribute) and node.attr in SYS_ATTRIBUTES
            and isinstance(node.value, ast.Name) and node.value.id == "sys"):
        return f"sys.{node.attr}"
    if isinstance(node, ast.Name) and node.id in ("__builtins__", "__file__", "__loader__"):
        return node.id
    if isinstance(node, ast.FunctionDef) and node.name in ("__reduce__", "__reduce_ex__"):
        return f"def {node.name} (code run when unpickled)"
    return None


def _found(cells: list[tuple[int, str]]) -> dict[str, str]:
    """What each construct is -> 'cell 5, line 2: what' of its first use."""
    found: dict[str, str] = {}
    for number, source in cells:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            what = _construct(node)
            if what and what not in found:
                found[what] = f"cell {number}, line {getattr(node, 'lineno', '?')}: {what}"
    return found


def usual(cells: list[tuple[int, str]]) -> set[str]:
    """The constructs of the lesson's own code (its solution): not worth a review."""
    return set(_found(cells))


def hidden_calls(cells: list[tuple[int, str]], expected: set[str] = frozenset()) -> list[str]:
    """'cell 5, line 2: exec(...)' for each construct that is not `expected` (first of each
    kind, at most :data:`MAX_LINES`), in notebook order."""
    found = _found(cells)
    return [line for what, line in found.items() if what not in expected][:MAX_LINES]
