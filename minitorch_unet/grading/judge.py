"""The judge: a clean process that turns probe outputs into verdicts, running no learner code.

It is started as ``python -I -B -c <boot>``: the boot code first runs the source of
:mod:`.snapshot` (shipped in the job, from the grader's own memory) to check the snapshot
against the SHA-256 hashes taken before any learner code ran, and only then imports the
checks and the references from it. A mismatch ends it with :data:`TAMPERED` and the list of
files, and the grader refuses to grade.

Per exercise the outcome is ``flagged`` (the answer uses the engine's own op: recorded
while probing, or named in the code reachable from the function), else ``fail`` (never
probed, the probe raised or hung, outputs unreadable, or the verdict raised
``CheckFailed``), else ``pass``. The messages are the checks' own messages, or say what
happened to the learner's code; nothing of the hidden tests is ever used or shown.
"""
from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..checks.core import CheckFailed, Exercise, load_all
from . import snapshot
from .engine_ops import static_uses, watched

TAMPERED = 3
MAX_OUTPUT_MB = 256
_BOOT = ("import json, sys; job = json.load(sys.stdin); tools = {}; "
         "exec(job['verifier'], tools); problems = tools['verify'](job['root'], job['hashes']); "
         "problems and (print('\\n'.join(problems), file=sys.stderr), sys.exit(%d)); "
         "sys.path.insert(0, job['root']); "
         "from minitorch_unet.grading.judge import serve; serve(job)" % TAMPERED)


class JudgeError(RuntimeError):
    """The judge could not answer: grading cannot go on."""


class SnapshotChanged(JudgeError):
    """The private copy of the course changed after it was taken: grades cannot be trusted."""


# ---- parent side -----------------------------------------------------------------------------
def run_clean(root: Path, hashes: snapshot.Hashes, task: dict[str, Any], out: Path,
              timeout_s: float) -> Any:
    """Run `task` in a clean judge process over the snapshot at `root`; its JSON answer."""
    job = dict(task, root=str(root), hashes=hashes, out=str(out),
               verifier=inspect.getsource(snapshot))
    try:
        result = subprocess.run([sys.executable, "-I", "-B", "-c", _BOOT], input=json.dumps(job),
                                capture_output=True, text=True, timeout=timeout_s, cwd=out.parent,
                                env={"PATH": os.defpath, "LANG": "C.UTF-8", "MPLBACKEND": "Agg"})
    except subprocess.TimeoutExpired:
        raise JudgeError(f"the judge took longer than {timeout_s:g} s") from None
    if result.returncode == TAMPERED:
        raise SnapshotChanged("the grader's private copy of the course changed while grading "
                              f"({'; '.join(result.stderr.split(chr(10))[:5])}); no grades written")
    if result.returncode != 0:
        raise JudgeError(f"the judge failed (are the course's checks importable?): "
                         f"{result.stderr.strip()[-2000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


# ---- child side ------------------------------------------------------------------------------
def serve(job: dict[str, Any]) -> None:
    """Entry point of the judge process: answer a "catalog" or a "judge" task."""
    registry = load_all()
    if job["task"] == "catalog":
        answer: Any = []
        for ex in registry.values():
            try:
                watched(ex.engine_ops)
            except Exception as err:  # a misspelt engine op stops grading before it starts
                raise RuntimeError(f"{ex.grade_id}: bad engine_ops {ex.engine_ops}: {err}") from err
            answer.append({"grade_id": ex.grade_id, "lesson": ex.lesson, "points": ex.points})
    else:
        answer = {item["key"]: judge_notebook(registry, item) for item in job["items"]}
    Path(job["out"]).write_text(json.dumps(answer), encoding="utf-8")


def judge_notebook(registry: dict[str, Exercise], item: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{grade_id: {"outcome": pass|fail|flagged, "message": ...}} for one notebook's run."""
    cells = [(number, source) for number, source in item["cells"]]
    verdicts = {}
    for grade_id in item["exercises"]:
        ex = registry[grade_id]
        entry = item["status"].get("exercises", {}).get(grade_id)
        try:
            uses = static_uses(cells, ex.function, watched(ex.engine_ops))
        except (RecursionError, MemoryError) as err:  # absurdly nested code: no grade from it
            verdicts[grade_id] = _fail(f"the grader could not read your code ({type(err).__name__})")
            continue
        calls = entry["engine_calls"] if entry else []
        if uses or calls:
            where = ("in your code: " + "; ".join(uses.values()) if uses
                     else "called while your function was checked")
            verdicts[grade_id] = {"outcome": "flagged", "message": (
                f"`{ex.function}` uses the engine's own {', '.join(sorted(set(uses) | set(calls)))} "
                f"({where}); this exercise asks you to write it yourself, so it earns no points")}
        else:
            verdicts[grade_id] = _verdict(ex, entry, item)
    return verdicts


def _fail(message: str) -> dict[str, str]:
    return {"outcome": "fail", "message": message}


def _verdict(ex: Exercise, entry: dict[str, Any] | None, item: dict[str, Any]) -> dict[str, str]:
    stopped = item["ended"] != "finished"
    if entry is None:
        if stopped:
            return _fail(f"not checked: {item['detail']} before `{ex.function}` was defined")
        return _fail(f"`{ex.function}` is not defined by your notebook's code cells "
                    "(demo and check cells are not run when grading)")
    if entry["state"] == "probing":
        return _fail(f"{item['detail']} while `{ex.function}` was being checked "
                    f"(defined in cell {entry['cell']})")
    if entry["state"] == "error":
        return _fail(f"`{ex.function}` raised {entry['error']}")
    try:
        outputs = _load_outputs(Path(item["results"]) / f"{ex.grade_id}.npz")
    except Exception as err:  # a missing, truncated or forged file: no grade from it
        return _fail(f"the outputs of `{ex.function}` could not be read ({type(err).__name__})")
    try:
        ex.verdict(outputs)
    except CheckFailed as err:
        return _fail(str(err))
    except Exception as err:  # outputs of the wrong kind make a check stumble: still a fail
        return _fail(f"the check could not use the outputs of `{ex.function}` "
                    f"({type(err).__name__}: {err})")
    return {"outcome": "pass", "message": ex.success}


def _load_outputs(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_OUTPUT_MB * 2**20:
            raise ValueError("outputs too large")
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}
