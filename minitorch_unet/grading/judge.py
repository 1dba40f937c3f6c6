"""The judge: a clean process that turns probe outputs into verdicts, running no learner code.

It is started as ``python -I -B -c <boot>``: the boot code first runs the source of
:mod:`.snapshot` (shipped in the job, from the grader's own memory) to check the snapshot
against the SHA-256 hashes taken before any learner code ran, and only then imports the
checks and the references from it. A mismatch ends it with :data:`TAMPERED` and the list of
files, and the grader refuses to grade. Its tasks: ``catalog`` (the exercises, and what
each must not call), ``prepare`` (this run's fresh reference cases, :mod:`.fresh_cases`)
and ``judge``, whose checks read the fresh cases, never the shipped ones, and build their
own cases from the run's seed, as the learner processes did (:func:`.checks.core.draw_cases`).

Per exercise the outcome is ``flagged`` (the answer uses the engine's own op: named in the
code reachable from the function, or called while probing, which raises in the learner's
copy of the engine, see :mod:`.learner_view`), else ``fail`` (never probed, the probe
raised or hung, outputs unreadable, or the verdict raised ``CheckFailed``), else ``pass``.
The messages are the checks' own messages, or say what happened to the learner's code;
nothing of the hidden tests is ever used or shown. Constructs that hide what the code calls
(:mod:`.review`) are listed for the instructor, whatever the outcome.
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

from .. import reference
from ..checks.core import CheckFailed, Exercise, draw_cases, load_all
from . import fresh_cases, snapshot
from .engine_ops import static_uses, watched
from .learner_view import strip_list, unavailable_op
from .review import hidden_calls

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
    """Entry point of the judge process: answer a "catalog", "prepare" or "judge" task."""
    if job.get("references"):  # this run's fresh cases, verified like the snapshot
        changed = snapshot.verify(job["references"], job["reference_hashes"])
        if changed:
            print("\n".join(changed), file=sys.stderr)
            sys.exit(TAMPERED)
        reference.REFERENCE_DIR = Path(job["references"])
    registry = load_all()
    if job.get("case_seed") is not None:  # the checks' own cases of this run
        draw_cases(job["case_seed"])
    if job["task"] == "catalog":
        answer: Any = []
        for ex in registry.values():
            try:
                stripped = strip_list(watched(ex.engine_ops))
            except Exception as err:  # a misspelt engine op stops grading before it starts
                raise RuntimeError(f"{ex.grade_id}: bad engine_ops {ex.engine_ops}: {err}") from err
            answer.append({"grade_id": ex.grade_id, "lesson": ex.lesson, "points": ex.points,
                           "stripped": stripped})
    elif job["task"] == "prepare":
        answer = fresh_cases.write(Path(job["root"]) / "data" / "reference",
                                   Path(job["judge_dir"]), Path(job["learner_dir"]))
    else:
        answer = {}
        for item in job["items"]:
            try:
                answer[item["key"]] = judge_notebook(registry, item)
            except Exception as err:  # one notebook's trouble is that notebook's line
                answer[item["key"]] = {
                    "verdicts": {g: _fail(f"the grader could not judge this notebook "
                                          f"({type(err).__name__})") for g in item["exercises"]},
                    "review": []}
    Path(job["out"]).write_text(json.dumps(answer), encoding="utf-8")


def judge_notebook(registry: dict[str, Exercise], item: dict[str, Any]) -> dict[str, Any]:
    """{"verdicts": {grade_id: {"outcome": pass|fail|flagged, "message": ...}}, "review":
    [lines that hide what they call]} for one notebook's run."""
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
        called = unavailable_op(entry["error"]) if entry and entry["state"] == "error" else None
        if uses or called:
            where = ("in your code: " + "; ".join(uses.values()) if uses
                     else "called while your function was checked")
            verdicts[grade_id] = {"outcome": "flagged", "message": (
                f"`{ex.function}` uses the engine's own {', '.join(uses) or called} ({where}); "
                "this exercise asks you to write it yourself, so it earns no points")}
        else:
            verdicts[grade_id] = _verdict(ex, entry, item)
    try:
        review = hidden_calls(cells, set(item.get("usual", ())))
    except (RecursionError, MemoryError):
        review = ["code too deeply nested to be read"]
    return {"verdicts": verdicts, "review": review}


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
        outputs = load_outputs(Path(entry["outputs"]))
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


def load_outputs(path: Path) -> dict[str, np.ndarray]:
    """A probe's outputs as sent by the learner process: plain arrays of numbers only."""
    with zipfile.ZipFile(path) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_OUTPUT_MB * 2**20:
            raise ValueError("outputs too large")
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}
