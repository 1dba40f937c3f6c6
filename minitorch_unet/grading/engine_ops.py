"""Does an answer call the engine's own implementation of what the exercise asks for?

An exercise's ``engine_ops`` name engine functions and classes (dotted names); the ops
*behind* a named function are watched too: the :class:`~minitorch_unet.autograd.Function`
subclasses its code names (``F.conv2d`` -> ``Conv2d``, ``Conv2dShifted``), except those
that Tensor's own methods use (``GetItem`` behind ``x[...]``, ``Reshape``...), which every
answer may use.

Two mechanisms, each sufficient to flag an answer:

* the watched objects are absent from the learner's copy of the engine: their bodies only
  raise (:mod:`.learner_view`), so a call, however the learner reached the object (an
  alias, ``getattr``, a subclass, ``exec`` of its source), fails and is reported;
* static (:func:`static_uses`, in the judge): the learner's function and, transitively, the
  notebook-level helpers, classes and variables it refers to are read as syntax trees;
  a name or attribute chain that resolves (through the notebook's imports) to a watched
  object is reported with its cell and line. Nothing is imported or run for this.
"""
from __future__ import annotations

import ast
import functools
import importlib
import sys
import types
from collections.abc import Iterator
from typing import Any

from ..autograd import Function, Tensor

Watched = tuple[tuple[str, Any], ...]  # (dotted label, function or class)


# ---- what is watched -----------------------------------------------------------------------
def resolve(dotted: str, import_modules: bool = True) -> Any:
    """The object a dotted name denotes; only already-imported modules if not import_modules."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        if name in sys.modules:
            obj = sys.modules[name]
            break
        if import_modules:
            try:
                obj = importlib.import_module(name)
                break
            except ImportError:
                continue
    else:
        raise LookupError(f"no module in {dotted!r}")
    for attr in parts[i:]:
        obj = getattr(obj, attr)
    return obj


def label(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _function_classes(fn: types.FunctionType) -> set[type]:
    """Function subclasses that `fn`'s code names directly (``Cls`` or ``module.Cls``)."""
    found: list[Any] = [cell.cell_contents for cell in fn.__closure__ or () if _filled(cell)]
    for code in _code_objects(fn.__code__):
        for name in code.co_names:
            value = fn.__globals__.get(name)
            found.append(value)
            if isinstance(value, types.ModuleType):
                found.extend(getattr(value, attr, None) for attr in code.co_names)
    return {c for c in found if isinstance(c, type) and issubclass(c, Function) and c is not Function}


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _tensor_building_blocks() -> set[type]:
    """The Function subclasses behind Tensor's operators and methods."""
    blocks: set[type] = set()
    for value in vars(Tensor).values():
        fn = value.fget if isinstance(value, property) else value
        if isinstance(fn, types.FunctionType):
            blocks |= _function_classes(fn)
    return blocks


@functools.lru_cache(maxsize=None)
def watched(engine_ops: tuple[str, ...]) -> Watched:
    """The named objects and the Function classes behind the named functions, labelled."""
    objects = [resolve(name) for name in engine_ops]
    blocks = _tensor_building_blocks()
    behind = [cls for obj in objects if isinstance(obj, types.FunctionType)
              for cls in sorted(_function_classes(obj) - blocks, key=label)]
    result: list[tuple[str, Any]] = []
    for name, obj in [*zip(engine_ops, objects), *((label(c), c) for c in behind)]:
        if all(obj is not seen for _, seen in result):
            result.append((name, obj))
    return tuple(result)


# ---- static detection ------------------------------------------------------------------------
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORTS = (ast.Import, ast.ImportFrom)
Bindings = dict[str, tuple[int, ast.stmt]]


def _bindings(statements: list[ast.stmt], cell: int, into: Bindings) -> None:
    """Notebook-level names -> (cell, the statement that binds them last)."""
    for statement in statements:
        if isinstance(statement, _IMPORTS):
            for name in _imports(statement):
                into[name] = (cell, statement)
        elif isinstance(statement, _DEFINITIONS):
            into[statement.name] = (cell, statement)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for node in (n for target in targets for n in ast.walk(target)):
                if isinstance(node, ast.Name):
                    into[node.id] = (cell, statement)
        else:  # if/for/while/with/try at notebook level: their bodies bind names too
            for field in ("body", "orelse", "finalbody"):
                _bindings(getattr(statement, field, []), cell, into)
            for handler in getattr(statement, "handlers", []):
                _bindings(handler.body, cell, into)


def _imports(node: ast.AST) -> dict[str, str]:
    """Names bound by the import statements within `node` -> the dotted names they denote."""
    aliases = {}
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            for a in n.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
            for a in n.names:
                if a.name != "*":
                    aliases[a.asname or a.name] = f"{n.module}.{a.name}"
    return aliases


def _local_names(statement: ast.stmt) -> set[str]:
    """Names that code inside `statement` binds for itself (arguments, local variables,
    nested definitions), which therefore do not refer to notebook-level names."""
    names = {n.arg for n in ast.walk(statement) if isinstance(n, ast.arg)}
    names |= {n.id for n in ast.walk(statement)
              if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    names |= {n.name for n in ast.walk(statement) if isinstance(n, _DEFINITIONS) and n is not statement}
    names |= {n.name for n in ast.walk(statement) if isinstance(n, ast.ExceptHandler) and n.name}
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        names -= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    declared = {name for n in ast.walk(statement) if isinstance(n, ast.Global) for name in n.names}
    return names - declared


def _chain(node: ast.AST) -> list[str] | None:
    """``a.b.c`` and ``getattr(a.b, "c")`` -> ["a", "b", "c"]; None for anything else."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        head = _chain(node.value)
        return head + [node.attr] if head else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)):
        head = _chain(node.args[0])
        return head + node.args[1].value.split(".") if head else None
    return None


def _watched_label(dotted: str, watched_objects: Watched) -> str | None:
    """The label of the watched object that `dotted` or one of its prefixes denotes."""
    parts = dotted.split(".")
    if parts[0] != "minitorch_unet":
        return None
    for i in range(len(parts), 0, -1):
        try:
            obj = resolve(".".join(parts[:i]), import_modules=False)
        except Exception:  # a name the engine does not have is simply not a watched op
            continue
        for name, target in watched_objects:
            if obj is target:
                return name
    return None


def static_uses(cells: list[tuple[int, str]], function: str, watched_objects: Watched) -> dict[str, str]:
    """Where the code reachable from the notebook-level `function` names a watched object:
    {"minitorch_unet.functional.conv2d": "cell 21, line 7", ...}.

    Reachable: the statement that last binds `function`, then, transitively, those binding
    the notebook-level names it uses (helpers, classes, variables such as ``op = F.conv2d``).
    """
    bindings: Bindings = {}
    for number, source in cells:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):  # never ran either; deeper trouble is the caller's
            continue
        _bindings(tree.body, number, bindings)
    found: dict[str, str] = {}
    todo, seen = [function], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in bindings:
            continue
        seen.add(name)
        cell, statement = bindings[name]
        inner_imports, local = _imports(statement), _local_names(statement)
        for node in ast.walk(statement):
            chain = _chain(node)
            if isinstance(node, _IMPORTS):
                dotted_names = list(_imports(node).values())
            elif not chain:
                continue
            elif chain[0] in inner_imports:
                dotted_names = [".".join([inner_imports[chain[0]], *chain[1:]])]
            elif chain[0] in local or chain[0] not in bindings:
                continue
            elif isinstance(bindings[chain[0]][1], _IMPORTS):
                target = _imports(bindings[chain[0]][1])[chain[0]]
                dotted_names = [".".join([target, *chain[1:]])]
            else:
                todo.append(chain[0])
                continue
            for dotted in dotted_names:
                hit = _watched_label(dotted, watched_objects)
                if hit and hit not in found:
                    found[hit] = f"cell {cell}, line {getattr(node, 'lineno', '?')}"
    return found
