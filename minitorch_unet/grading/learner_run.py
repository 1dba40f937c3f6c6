"""The learner process: run one notebook's code and probe its answers, confined.

Parent side, :func:`run_notebook`: a private folder per notebook (``work/`` holding only
a copy of the notebook, the process's cwd and home, owned by the learner's account;
``results/`` for the probes' outputs, which only the grader can read), a fresh
``python -I -B`` that imports the learner's copy of the course (:mod:`.learner_view`),
confinement (:mod:`.sandbox`), a wall-clock limit on the whole notebook, and every process
the notebook left behind killed afterwards (and counted).

Child side, :func:`main`: runs the cells (see :mod:`.learner_code`) in one namespace, in
order, and after each cell probes every exercise whose function was just defined, was
redefined, or depends on a notebook-level name the cell (re)bound (e.g. ``conv2d`` calls a
``Conv2dFunction`` whose ``backward`` calls ``conv2d_backward``, defined two cells later).
Everything goes to the grader over a pipe (:mod:`.channel`): the cell being run, each
exercise's state (``probing`` before the probe, so a probe that hangs or kills the process
is known; then ``probed`` with its outputs, or ``error``) and the cells that raised. A
cell's exception is noted and the next cell runs, as in Jupyter; running out of memory
ends the process, as a dead kernel would. The judge (:mod:`.judge`) trusts none of it: the
learner's code shares this process and may send anything, so the probe's inputs are drawn
fresh for the run and the expected outputs exist only on the judge's side.
"""
from __future__ import annotations

import io
import json
import os
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

from ..checks.core import Exercise, draw_cases, load_all
from .channel import Receiver, Sender
from .learner_code import Cell
from .sandbox import (Account, Limits, Mounts, apply_limits, child_env, drop_privileges,
                      enter_private_root, reap)

EXIT_MEMORY = 86  # the learner process ran out of memory: it stops there, like a dead kernel
MAX_TEXT = 300
_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
         "from minitorch_unet.grading.learner_run import main; main()")


# ---- parent side -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """How a learner process ended and what it reported (see :class:`.channel.Receiver`).

    ended: "finished", "timeout", "exited", "crashed" or "tampered" (its messages to the
    grader were malformed or too large); detail: one line for people.
    """

    ended: str
    detail: str
    status: dict[str, Any]
    seconds: float
    killed: int = 0  # processes it left running, killed by the grader


def run_notebook(notebook: bytes, name: str, cells: list[Cell], exercises: list[str],
                 view: Path, run_dir: Path, limits: Limits, account: Account | None,
                 mounts: Mounts | None, case_seed: int) -> Run:
    """Run one notebook in a confined learner process; returns when it ended or was killed.

    view: the learner's copy of the course; mounts: the private file system's content, or
    None where the kernel gives none; case_seed: the run's secret seed of the checks' own
    cases, which the process forgets once it has drawn them.
    """
    work, results = run_dir / "work", run_dir / "results"
    for folder in (run_dir, work, results):
        folder.mkdir(mode=0o700)
    run_dir.chmod(0o711)
    (work / name).write_bytes(notebook)
    if account is not None:
        for path in (work, work / name):
            os.chown(path, account.uid, account.gid)
    read_end, write_end = os.pipe()
    job = {"cells": [[c.number, c.source] for c in cells], "exercises": exercises,
           "channel": write_end, "limits": vars(limits), "case_seed": case_seed,
           "account": vars(account) if account else None,
           "mounts": mounts and dict(vars(mounts), root=str(run_dir / "root"), work=str(work))}
    if mounts is not None:
        (run_dir / "root").mkdir(mode=0o700)
    receiver = Receiver(read_end, results)
    receiver.start()
    start = time.monotonic()
    with open(run_dir / "log", "wb") as log:
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", _BOOT, str(view)], stdin=subprocess.PIPE,
                stdout=log, stderr=log, cwd=work, env=child_env(work), start_new_session=True,
                pass_fds=(write_end,))
        finally:
            os.close(write_end)
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
            process.kill()
        code = process.wait()
    killed = reap(account.uid) if account is not None else 0
    _kill_group(process.pid)  # without an account of its own: what stayed in its group
    receiver.finish()  # a process that escaped the kill still holds the pipe
    seconds = time.monotonic() - start
    status = receiver.status
    ended, detail = _ending(code, timed_out, status, limits, run_dir / "log")
    if receiver.problem:
        where = f" in cell {status['cell']}" if status.get("cell") else ""
        ended, detail = "tampered", f"{receiver.problem}{where}; nothing after it counts"
    return Run(ended, detail, status, seconds, killed)


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
        with open(log, "rb") as f:  # the grader's own file; the learner could only fill it
            f.seek(max(0, os.fstat(f.fileno()).st_size - 600))
            tail = f.read(600).decode("utf-8", "replace").strip().splitlines()
        return "crashed", ("the grader could not start the notebook: "
                           + (tail[-1] if tail else f"exit code {code}"))
    return "exited", f"the notebook's process exited (code {code}){where}"


# ---- child side ------------------------------------------------------------------------------
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


def _npz(outputs: Any) -> bytes:
    if not isinstance(outputs, dict):
        raise TypeError(f"the probe returned {type(outputs).__name__}, not a dict of arrays")
    arrays = {str(k): np.asarray(v) for k, v in outputs.items()}
    bad = [k for k, v in arrays.items() if v.dtype == object]
    if bad:
        raise TypeError(f"not an array of numbers: {bad[0]}")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def main() -> None:
    """Entry point of the learner process (the job arrives as JSON on stdin)."""
    job = json.loads(sys.stdin.read())
    channel = Sender(job["channel"])
    account = Account(**job["account"]) if job["account"] else None
    apply_limits(Limits(**job["limits"]), account)
    mounts = job["mounts"]
    if mounts and account is not None:
        enter_private_root(mounts["root"], mounts["read_only"], mounts["hidden"],
                           mounts["work"], account)
    registry = load_all()
    draw_cases(job.pop("case_seed"))  # before any learner code runs, and not kept
    exercises = [registry[grade_id] for grade_id in job["exercises"]]
    if account is not None:
        drop_privileges(account)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # the learner's prints go nowhere
    namespace: dict[str, Any] = {"__name__": "__main__", "display": lambda *a, **k: None}
    probed: dict[str, tuple[Any, set[str]]] = {}  # grade id -> (function, its dependencies)
    for number, source in job["cells"]:
        channel.send({"cell": number})
        before = dict(namespace)  # references: a replaced object cannot pass for its successor
        try:
            exec(compile(source, f"<cell {number}>", "exec"), namespace)
        except MemoryError:  # (also code nested too deeply for the parser)
            os._exit(EXIT_MEMORY)
        except BaseException as err:  # the learner's code may raise anything, SystemExit too
            channel.send({"cell_error": f"cell {number}: {_describe(err)}"})
        changed = {name for name, value in namespace.items()
                   if name not in before or before[name] is not value}
        for ex in exercises:
            fn = namespace.get(ex.function)
            last = probed.get(ex.grade_id)
            if callable(fn) and (last is None or last[0] is not fn or changed & last[1]):
                probed[ex.grade_id] = (fn, _dependencies(fn, namespace))
                _probe(ex, fn, channel)
    channel.send({"finished": True})
    os._exit(0)  # threads the learner left running, or atexit handlers, must not hold it up


def _probe(ex: Exercise, fn: Any, channel: Sender) -> None:
    """Probe `fn` for `ex` and send its outputs (or its error) to the grader."""
    channel.send({"probing": ex.grade_id})
    try:
        outputs = _npz(ex.probe(fn))
    except MemoryError:
        os._exit(EXIT_MEMORY)  # the grader's last word from this probe is "probing"
    except BaseException as err:  # the learner's function may raise anything, too
        channel.send({"error": ex.grade_id, "message": _describe(err)})
        return
    channel.send({"probed": ex.grade_id}, outputs)
