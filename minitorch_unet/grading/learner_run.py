"""The learner process: run one notebook's code and probe its answers, confined.

Parent side, :func:`run_notebook`: a private folder per notebook (``work/`` holding only
a copy of the notebook, the process's cwd and home; ``out-<random>/`` for the results),
a fresh ``python -I -B`` that imports the engine and the checks from the snapshot, limits
and privilege drop (:mod:`.sandbox`), a wall-clock limit on the whole notebook, and every
process the notebook left behind killed afterwards.

Child side, :func:`main`: runs the cells (see :mod:`.learner_code`) in one namespace, in
order, and after each cell probes every exercise whose function was just defined, was
redefined, or depends on a notebook-level name the cell (re)bound (e.g. ``conv2d`` calls a
``Conv2dFunction`` whose ``backward`` calls ``conv2d_backward``, defined two cells later).
Each probe is written to ``<grade_id>.npz`` at once, and ``status.json`` says where the run
is (``"cell"``) and how each exercise stands: ``probing`` (written before the probe, so a
probe that hangs or kills the process is known), ``probed`` or ``error``, with the engine
ops the probe saw called. A cell's exception is noted and the next cell runs, as in
Jupyter; running out of memory ends the process, as a dead kernel would. If the process
dies, what was written stands and nothing else counts. The judge (:mod:`.judge`) reads these
files; it trusts none of them blindly.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..checks.core import Exercise, load_all
from .engine_ops import Recorder, watched
from .learner_code import Cell
from .sandbox import Account, Limits, apply_limits, child_env, drop_privileges, reap

STATES = ("probing", "probed", "error")
EXIT_MEMORY = 86  # the learner process ran out of memory: it stops there, like a dead kernel
MAX_TEXT = 300
MAX_STATUS_BYTES = 2**20
_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
         "from minitorch_unet.grading.learner_run import main; main()")


# ---- parent side -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """How a learner process ended and what it reported.

    ended: "finished", "timeout", "exited" or "crashed"; detail: one line for people.
    """

    ended: str
    detail: str
    status: dict[str, Any]
    results: Path
    seconds: float


def run_notebook(notebook: bytes, name: str, cells: list[Cell], exercises: list[str],
                 engine: Path, run_dir: Path, limits: Limits, account: Account | None) -> Run:
    """Run one notebook in a confined learner process; returns when it ended or was killed."""
    work, results = run_dir / "work", run_dir / f"out-{secrets.token_hex(8)}"
    for folder in (run_dir, work, results):
        folder.mkdir(mode=0o700)
    run_dir.chmod(0o711)  # the learner may enter but not list it: the results folder stays unnamed
    (work / name).write_bytes(notebook)
    if account is not None:
        for path in (work, work / name, results):
            os.chown(path, account.uid, account.gid)
    job = {"cells": [[c.number, c.source] for c in cells], "exercises": exercises,
           "results": str(results), "limits": vars(limits),
           "account": vars(account) if account else None}
    start = time.monotonic()
    with open(run_dir / "log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-I", "-B", "-c", _BOOT, str(engine)],
                                   stdin=subprocess.PIPE, stdout=log, stderr=log, cwd=work,
                                   env=child_env(work), start_new_session=True)
        try:
            process.stdin.write(json.dumps(job).encode())
            process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            process.wait(timeout=limits.timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill_group(process.pid)  # also whatever it started and left running
        code = process.wait()
    if account is not None:
        reap(account.uid)
    seconds = time.monotonic() - start
    status = read_status(results / "status.json")
    ended, detail = _ending(code, timed_out, status, limits, run_dir / "log")
    return Run(ended, detail, status, results, seconds)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _ending(code: int, timed_out: bool, status: dict[str, Any], limits: Limits,
            log: Path) -> tuple[str, str]:
    where = f" in cell {status['cell']}" if status.get("cell") else ""
    if timed_out:
        return "timeout", f"the notebook ran out of time ({limits.timeout_s:g} s){where}"
    if code == 0 and status.get("finished"):
        return "finished", "the notebook ran to the end"
    if code == EXIT_MEMORY:
        return "crashed", f"the notebook ran out of memory (limit {limits.memory_mb} MB){where}"
    if code < 0:
        reason = {signal.SIGXCPU: "used up its CPU time", signal.SIGXFSZ: "wrote too large a file",
                  signal.SIGSEGV: "crashed (segmentation fault)", signal.SIGABRT: "aborted",
                  signal.SIGKILL: "was killed (out of memory or time)"}.get(
            -code, f"was killed by signal {-code}")
        return "crashed", f"the notebook's process {reason}{where}"
    if "cell" not in status:
        tail = log.read_bytes()[-600:].decode("utf-8", "replace").strip().splitlines()
        return "crashed", ("the grader could not start the notebook: "
                           + (tail[-1] if tail else f"exit code {code}"))
    return "exited", f"the notebook's process exited (code {code}){where}"


def read_status(path: Path) -> dict[str, Any]:
    """status.json as written by the learner process, keeping only well-formed entries."""
    try:
        if path.stat().st_size > MAX_STATUS_BYTES:
            return {}
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    status: dict[str, Any] = {"exercises": {}, "cell_errors": []}
    if isinstance(raw.get("cell"), int):
        status["cell"] = raw["cell"]
    status["finished"] = raw.get("finished") is True
    for grade_id, entry in (raw.get("exercises") or {}).items():
        if isinstance(entry, dict) and entry.get("state") in STATES:
            calls, cell = entry.get("engine_calls"), entry.get("cell")
            status["exercises"][str(grade_id)] = {
                "state": entry["state"], "cell": cell if isinstance(cell, int) else None,
                "error": str(entry.get("error", ""))[:MAX_TEXT],
                "engine_calls": ([str(c)[:MAX_TEXT] for c in calls[:20]]
                                 if isinstance(calls, list) else [])}
    errors = raw.get("cell_errors")
    if isinstance(errors, list):
        status["cell_errors"] = [str(e)[:MAX_TEXT] for e in errors][:10]
    return status


# ---- child side ------------------------------------------------------------------------------
class _Status:
    """status.json, rewritten atomically after every change."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data: dict[str, Any] = {"cell": None, "finished": False, "exercises": {},
                                     "cell_errors": []}

    def save(self) -> None:
        temporary = self.folder / "status.json.tmp"
        temporary.write_text(json.dumps(self.data))
        os.replace(temporary, self.folder / "status.json")


def _describe(err: BaseException) -> str:
    """'ValueError: message (cell 5, line 3)', located in the learner's code."""
    text = f"{type(err).__name__}: {err}".strip().rstrip(":")
    text = text.splitlines()[0] if text else type(err).__name__
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename.startswith("<cell ")]
    if frames:
        text += f" ({frames[-1].filename.strip('<>')}, line {frames[-1].lineno})"
    return text[:MAX_TEXT]


def _dependencies(obj: Any, namespace: dict[str, Any]) -> set[str]:
    """Notebook-level names that `obj` uses, directly or through the notebook's own
    functions and classes (read from their code objects)."""
    names: set[str] = set()
    todo, seen = [obj], set()
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        members = vars(item).values() if isinstance(item, type) else [item]
        for member in members:
            fn = getattr(member, "__func__", member)
            if not (isinstance(fn, types.FunctionType)
                    and fn.__code__.co_filename.startswith("<cell ")):
                continue
            stack = [fn.__code__]
            while stack:
                code = stack.pop()
                stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
                for name in code.co_names:
                    names.add(name)
                    if name in namespace:
                        todo.append(namespace[name])
    return names


def _save_outputs(outputs: Any, path: Path) -> None:
    if not isinstance(outputs, dict):
        raise TypeError(f"the probe returned {type(outputs).__name__}, not a dict of arrays")
    arrays = {str(k): np.asarray(v) for k, v in outputs.items()}
    bad = [k for k, v in arrays.items() if v.dtype == object]
    if bad:
        raise TypeError(f"not an array of numbers: {bad[0]}")
    temporary = path.with_suffix(".tmp.npz")
    np.savez(temporary, **arrays)
    os.replace(temporary, path)


def main() -> None:
    """Entry point of the learner process (the job arrives as JSON on stdin)."""
    job = json.loads(sys.stdin.read())
    account = Account(**job["account"]) if job["account"] else None
    apply_limits(Limits(**job["limits"]), account)
    registry = load_all()
    exercises = [registry[grade_id] for grade_id in job["exercises"]]
    recorders = {ex.grade_id: Recorder(watched(ex.engine_ops)) for ex in exercises}
    if account is not None:
        drop_privileges(account)
    results = Path(job["results"])
    status = _Status(results)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # the learner's prints go nowhere
    namespace: dict[str, Any] = {"__name__": "__main__", "display": lambda *a, **k: None}
    probed: dict[str, tuple[Any, set[str]]] = {}  # grade id -> (function, its dependencies)
    for number, source in job["cells"]:
        status.data["cell"] = number
        status.save()
        before = dict(namespace)  # references: a replaced object cannot pass for its successor
        try:
            exec(compile(source, f"<cell {number}>", "exec"), namespace)
        except MemoryError:  # (also code nested too deeply for the parser)
            os._exit(EXIT_MEMORY)
        except BaseException as err:  # the learner's code may raise anything, SystemExit too
            status.data["cell_errors"] = (status.data["cell_errors"]
                                          + [f"cell {number}: {_describe(err)}"])[:10]
        changed = {name for name, value in namespace.items()
                   if name not in before or before[name] is not value}
        for ex in exercises:
            fn = namespace.get(ex.function)
            last = probed.get(ex.grade_id)
            if callable(fn) and (last is None or last[0] is not fn or changed & last[1]):
                probed[ex.grade_id] = (fn, _dependencies(fn, namespace))
                _probe(ex, fn, recorders[ex.grade_id], number, status)
    status.data["finished"] = True
    status.save()
    os._exit(0)  # threads the learner left running, or atexit handlers, must not hold it up


def _probe(ex: Exercise, fn: Any, recorder: Recorder, cell: int, status: _Status) -> None:
    """Probe `fn` for `ex`; its outputs go to <grade_id>.npz, its state to status.json."""
    entry: dict[str, Any] = {"state": "probing", "cell": cell}
    status.data["exercises"][ex.grade_id] = entry
    (status.folder / f"{ex.grade_id}.npz").unlink(missing_ok=True)
    status.save()
    with recorder as calls:
        try:
            _save_outputs(ex.probe(fn), status.folder / f"{ex.grade_id}.npz")
            entry["state"] = "probed"
        except MemoryError:
            os._exit(EXIT_MEMORY)  # status.json still says "probing"
        except BaseException as err:  # the learner's function may raise anything, too
            entry.update(state="error", error=_describe(err))
    entry["engine_calls"] = sorted(calls)
    status.save()
