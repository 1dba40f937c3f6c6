"""The grader (``python -m minitorch_unet grade``) against crafted submissions.

Most tests grade a small toy course built in a temporary folder: a copy of the package
whose only checks are two toy lessons (``99_toy``: ``affine``, 1 point, and ``join``,
2 points, which must not call the engine's ``cat``; ``98_other``: ``negate``), with their
own reference file. One class of crafted learners is graded once (``toy_class``); each
test then looks at one behaviour. The class includes attacks (``attackers``): lookups of
the public outputs, forged and garbled messages to the grader, a replaced probe, the
engine's op reached around the detector or through its source, PyTorch, links, a FIFO,
invalid Unicode, reading secrets, processes left running. Those that need the sandbox
(root, and mount namespaces) join the class only where it exists; their tests skip with
that reason elsewhere. ``test_real_course_*`` grades the real lessons (heavier: every
lesson runs twice, about 60 s on 2 idle cores).
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from minitorch_unet.grading import GradingError, grade_class, main
from minitorch_unet.grading import engine_ops, judge, sandbox, snapshot
from minitorch_unet.grading.learner_code import learner_cells

REPO = Path(__file__).resolve().parents[1]
IS_ROOT = os.geteuid() == 0
# Root whose kernel gives mount namespaces: learner code then sees none of the machine's files.
PRIVATE_ROOT = sandbox.private_root_available()
NEEDS_ROOT = "needs root (one uid per learner), as in CI"
NEEDS_PRIVATE_ROOT = "needs root with mount namespaces (CAP_SYS_ADMIN), as in CI"
TIMEOUT_S = 15
MEMORY_MB = 1536
HIDDEN = "HIDDEN_SENTINEL_4711"

TOY_CHECKS = '''"""Toy lessons of the grader's tests."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..autograd import Tensor
from ..reference import load_cases
from .core import Exercise, Outputs, expect_close, register


def case(name: str = "only") -> dict[str, Any]:
    return load_cases("toy")[name]


def as_array(value: Any) -> np.ndarray:
    return np.asarray(value.data if isinstance(value, Tensor) else value, dtype=np.float64)


def probe_affine(fn: Callable[..., Any]) -> Outputs:
    return {"out": as_array(fn(case()["x"].copy()))}


def probe_join(fn: Callable[..., Any]) -> Outputs:
    return {"out": as_array(fn(Tensor(case("join")["a"]), Tensor(case("join")["b"])))}


def probe_negate(fn: Callable[..., Any]) -> Outputs:
    return {"out": as_array(fn(case()["x"].copy()))}


register(Exercise(grade_id="check_affine", lesson="99_toy", function="affine", probe=probe_affine,
                  verdict=lambda o: expect_close("affine(x)", o["out"], case()["affine"]),
                  success="affine is 2 x + 1."))
register(Exercise(grade_id="check_join", lesson="99_toy", function="join", probe=probe_join,
                  verdict=lambda o: expect_close("join(a, b)", o["out"], case("join")["out"]),
                  success="join concatenates along dim 1.", points=2,
                  engine_ops=("minitorch_unet.functional.cat",)))
register(Exercise(grade_id="check_negate", lesson="98_other", function="negate",
                  probe=probe_negate,
                  verdict=lambda o: expect_close("negate(x)", o["out"], -case()["x"]),
                  success="negate is -x."))
'''


def make_course(root: Path) -> Path:
    """A course folder: this package without its lessons' checks, plus the toy lessons."""
    shutil.copytree(REPO / "minitorch_unet", root / "minitorch_unet",
                    ignore=shutil.ignore_patterns("__pycache__", "lesson[0-9]*.py"))
    (root / "minitorch_unet" / "checks" / "lesson99.py").write_text(TOY_CHECKS)
    (root / "data" / "reference").mkdir(parents=True)
    rng = np.random.default_rng(0)
    x, a, b = rng.standard_normal(5), rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    g = rng.standard_normal((2, 7))
    # join's case is a cat case like the shipped ones (its grader draws fresh inputs for
    # each run); affine's lists no inputs, so it is used as it is
    np.savez(root / "data" / "reference" / "toy.npz", **{
        "only/x": x, "only/affine": 2 * x + 1,
        "join/params": np.array(json.dumps({"op": "cat", "dim": 1, "inputs": ["a", "b"]})),
        "join/a": a.astype(np.float32), "join/b": b.astype(np.float32),
        "join/grad_out": g.astype(np.float32), "join/out": np.concatenate([a, b], axis=1),
        "join/grad_a": g[:, :3], "join/grad_b": g[:, 3:]})
    return root


# ---- notebooks in the course's nbgrader format -------------------------------------------------
def code(source: str, tags: tuple[str, ...] = ()) -> dict[str, Any]:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def exercise(grade_id: str, source: str) -> dict[str, Any]:
    cell = code(source)
    cell.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False,
                                 "grade_id": grade_id, "schema_version": 3}
    return cell


def checked(grade_id: str, function: str, points: int, source: str | None = None) -> dict[str, Any]:
    cell = code(source or f'check("{grade_id}", {function})')
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "grade_id": grade_id, "points": points, "schema_version": 3}
    return cell


SETUP = code("import numpy as np\nimport minitorch_unet as mt\n"
             "from minitorch_unet import functional as F\nfrom minitorch_unet.checks import check")
AFFINE = "def affine(x):\n    return 2 * x + 1"
JOIN = "def join(a, b):\n    return mt.tensor(np.concatenate([a.data, b.data], axis=1))"
STUB_AFFINE = "def affine(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
STUB_JOIN = "def join(a, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
WRONG_AFFINE = "def affine(x):\n    return 2 * x"


def toy_cells(affine: str = AFFINE, join: str = JOIN, between: tuple = (), after: tuple = ()) -> list:
    return [nbformat.v4.new_markdown_cell("# 99 Toy"), SETUP, exercise("affine", affine),
            checked("check_affine", "affine", 1,
                    f'check("check_affine", affine)\n### BEGIN HIDDEN TESTS\n'
                    f'assert affine(np.zeros(1))[0] == 1.0  # {HIDDEN}\n### END HIDDEN TESTS'),
            code("import time\ntime.sleep(600)", tags=("demo",)),  # demo cells never run
            *map(code, between), exercise("join", join), checked("check_join", "join", 2),
            *map(code, after)]


def notebook(cells: list) -> bytes:
    nb = nbformat.v4.new_notebook(cells=cells)
    return nbformat.writes(nb).encode()


def submit(class_dir: Path, learner: str, lesson: str, content: bytes | None) -> None:
    folder = class_dir / "submitted" / learner / lesson
    folder.mkdir(parents=True)
    if content is not None:
        (folder / f"{lesson}.ipynb").write_bytes(content)


# ---- the crafted class --------------------------------------------------------------------------
def crafted_class(class_dir: Path, course: Path, out_dir: Path) -> dict[str, dict[str, float]]:
    """Write the learners' notebooks; return the points each must get per exercise."""
    learners: dict[str, tuple[bytes | None, dict[str, float]]] = {}
    full, affine_only = {"check_affine": 1, "check_join": 2}, {"check_affine": 1, "check_join": 0}
    zero = {"check_affine": 0, "check_join": 0}
    learners["ref"] = notebook(toy_cells()), full
    learners["different"] = notebook(toy_cells(
        affine="def affine(values):\n    return _twice(values) + 1",
        join=("def join(left, right):\n    rows = []\n    for i in range(left.shape[0]):\n"
              "        rows.append(list(left.data[i]) + list(right.data[i]))\n"
              "    return mt.tensor(np.array(rows, dtype=np.float32))"),
        between=("%time x = 1\n!echo hello\nimport math",  # IPython lines, a helper defined late
                 "def _twice(v):\n    out = np.empty_like(v)\n    for i, item in enumerate(v):\n"
                 "        out[i] = item * 2\n    return out"))), full
    learners["stub"] = notebook(toy_cells(STUB_AFFINE, STUB_JOIN)), zero
    learners["wrong"] = notebook(toy_cells(WRONG_AFFINE)), {"check_affine": 0, "check_join": 2}
    cells = toy_cells(WRONG_AFFINE)
    cells[3] = checked("check_affine", "affine", 1, 'print("\u2714 affine is 2 x + 1.")')
    del cells[-1]  # join's check cell deleted
    cells.insert(1, checked("check_join", "join", 2))  # ... and a copy of it moved to the top
    learners["checks_edited"] = notebook(cells), {"check_affine": 0, "check_join": 2}
    cells = toy_cells()  # checks first (and twice), join's answer before affine's
    cells = [cells[0], cells[1], cells[3], cells[6], cells[5], cells[2], cells[4],
             checked("check_affine", "affine", 1)]
    learners["reordered"] = notebook(cells), full
    learners["fake_pass"] = notebook(toy_cells(
        WRONG_AFFINE, after=(
            "import numpy.testing\nimport minitorch_unet.checks.core as core\n"
            "np.allclose = lambda *a, **k: True\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
            "core.expect_close = lambda *a, **k: None\n"
            "def check(*a, **k):\n    print('\u2714 affine is 2 x + 1.')\n"
            "check('check_affine', affine)\nprint('\u2714 join concatenates along dim 1.')",))), \
        {"check_affine": 0, "check_join": 2}
    learners["engine_plain"] = notebook(toy_cells(
        join="def join(a, b):\n    return F.cat([a, b], dim=1)")), affine_only
    learners["engine_hidden"] = notebook(toy_cells(
        join=("def join(a, b):\n    engine = __import__('minitorch_' + 'unet')\n"
              "    return getattr(engine.functional, 'c' + 'at')([a, b], 1)"))), affine_only
    learners["engine_class"] = notebook(toy_cells(
        join="from minitorch_unet.basic_ops import Cat\ndef join(a, b):\n"
             "    return Cat.apply(a, b, dim=1)")), affine_only
    learners["engine_elsewhere"] = notebook(toy_cells(  # the engine's cat outside the answer is fine
        join="def join(a, b):\n    y = np.concatenate([a.data, b.data], axis=1)\n"
             "    return mt.tensor(y)",
        after=("y = F.cat([mt.tensor(np.ones((1, 1))), mt.tensor(np.ones((1, 1)))], dim=1)",))), full
    learners["forever"] = notebook(toy_cells(between=("while True:\n    pass",))), affine_only
    learners["memory_hog"] = notebook(toy_cells(between=("big = np.ones(5 * 10**9)",))), affine_only
    learners["exits"] = notebook(toy_cells(between=("import os\nos._exit(3)",))), affine_only
    learners["segfault"] = notebook(toy_cells(
        join="def join(a, b):\n    import ctypes\n    return ctypes.string_at(0)")), affine_only
    learners["not_json"] = b"{this is not json", zero
    learners["empty"] = b"", zero
    learners["renamed"] = notebook([SETUP, exercise("negate", "def negate(x):\n    return -x"),
                                    checked("check_negate", "negate", 1)]), zero
    learners["missing"] = None, zero
    vandalism = "\n".join(f"try:\n    {action}\nexcept OSError as err:\n    print(err)" for action in (
        f"np.savez({str(course / 'data/reference/toy.npz')!r}, **{{'only/x': np.zeros(5), "
        "'only/affine': np.zeros(5), 'only/a': np.zeros((2, 3)), 'only/b': np.zeros((2, 4)), "
        "'only/joined': np.zeros((2, 7))})",
        f"open({str(out_dir / 'grades.csv')!r}, 'w').write('learner,total\\nvandal,99\\n')",
        f"open({str(class_dir / 'submitted/ref/99_toy/99_toy.ipynb')!r}, 'w').write('')"))
    learners["vandal"] = notebook(toy_cells(
        "def affine(x):\n    return 0 * x", between=(vandalism,))), {"check_affine": 0, "check_join": 2}
    sandbox_checks = " and ".join([
        "sorted(os.listdir('.')) == ['99_toy.ipynb']", "os.environ.get('MPLBACKEND') == 'Agg'",
        "'PYTHONPATH' not in os.environ", "os.geteuid() != 0",
        f"(not os.access(os.path.dirname(mt.__file__), os.W_OK)) == {IS_ROOT}"])
    learners["sandboxed"] = notebook(toy_cells(
        "import os\nCONFINED = " + sandbox_checks + "\ndef affine(x):\n"
        "    return 2 * x + 1 if CONFINED else x")), full
    learners.update(attackers(class_dir, course))
    expected = {}
    for learner, (content, points) in learners.items():
        if learner == "missing":
            submit(class_dir, learner, "98_other", notebook(toy_cells()))
        else:
            submit(class_dir, learner, "99_toy", content)
        expected[learner] = points
    expected.update(unreadable_submissions(class_dir))
    return expected


def shipped_join(course: Path) -> str:
    """Code for the shipped (public) expected output of join, as a lookup table would hold it."""
    with np.load(course / "data" / "reference" / "toy.npz") as npz:
        return f"SHIPPED = np.array({npz['join/out'].tolist()!r}, dtype=np.float32)"


def forged_message(grade_id: str, setup: str) -> str:
    """Code that writes a forged "probed" message (and "finished") to every open descriptor
    (up to 1023: the channel keeps the grader's number, which grows with what it has open)."""
    return (f"import io, json, os\n{setup}\nbuf = io.BytesIO()\nnp.savez(buf, out=SHIPPED)\n"
            f"body = buf.getvalue()\n"
            f"forged = (json.dumps({{'probed': {grade_id!r}, 'size': len(body)}}).encode() + b'\\n'"
            " + body + json.dumps({'finished': True, 'size': 0}).encode() + b'\\n')\n"
            "for fd in range(3, 1024):\n    try:\n        os.write(fd, forged)\n"
            "    except OSError:\n        pass\nos._exit(0)")


GRADER_TMP = os.path.join(tempfile.gettempdir(), "minitorch-grade-*")  # the grader's folders
DAEMON_NAME, DAEMON_SLEEP = "zombie4711", "600.4711"  # how the daemons' processes are known
FORGED_LINE = "newline\n- forged: flagged (uses the engine's own op): check_affine"


def attackers(class_dir: Path, course: Path) -> dict[str, tuple[bytes, dict[str, float]]]:
    """Notebooks that try to get points without writing the answer, or to harm others."""
    affine_only, full = {"check_affine": 1, "check_join": 0}, {"check_affine": 1, "check_join": 2}
    shipped = shipped_join(course)
    found: dict[str, tuple[bytes, dict[str, float]]] = {}
    # the public expected output, looked up instead of computed: inputs are fresh each run
    found["lookup"] = notebook(toy_cells(join=f"{shipped}\ndef join(a, b):\n    return SHIPPED")), \
        affine_only
    # the probe replaced inside the learner's process (sys.modules, the frozen Exercise)
    found["probe_replaced"] = notebook(toy_cells(after=(
        f"import sys\n{shipped}\ntoy = sys.modules['minitorch_unet.checks.lesson99']\n"
        "toy.probe_join = lambda fn: {'out': SHIPPED}\n"
        "for ex in sys.modules['minitorch_unet.checks.core'].EXERCISES.values():\n"
        "    object.__setattr__(ex, 'probe', lambda fn: {'out': SHIPPED})\n"
        "def join(a, b):\n    return SHIPPED",))), affine_only
    # results written by the notebook itself, then an exit before join is even defined
    found["forger"] = notebook(toy_cells(between=(forged_message("check_join", shipped),))), \
        affine_only
    # a pickle in the outputs, which would run code where it is unpickled
    found["pickler"] = notebook(toy_cells(between=(forged_message("check_join", (
        "class Bomb:\n    def __reduce__(self):\n        return (os.system, ('touch /tmp/bomb',))\n"
        "SHIPPED = np.array([Bomb()], dtype=object)")),))), affine_only
    # garbage on the grader's channel: later messages are lost, nothing else
    found["garbage"] = notebook(toy_cells(between=(
        "import os\nfor fd in range(3, 1024):\n    try:\n        os.write(fd, b'{not json\\n')\n"
        "    except OSError:\n        pass",))), affine_only
    # the engine's op reached through a switched-off detector and a computed name
    found["detector_off"] = notebook(toy_cells(join=(
        "import minitorch_unet.grading.engine_ops as eo\neo.watched = lambda *a: ()\n"
        "def join(a, b):\n    return getattr(F, 'c' + 'at')([a, b], 1)"))), affine_only
    # the engine's source run again with exec
    found["exec_source"] = notebook(toy_cells(join=(
        "def join(a, b):\n    ns = {'__name__': 'minitorch_unet.functional', "
        "'__package__': 'minitorch_unet'}\n    exec(open(F.__file__).read(), ns)\n"
        "    return ns['cat']([a, b], 1)"))), affine_only
    # PyTorch's op in place of the learner's
    found["torch_op"] = notebook(toy_cells(join=(
        "def join(a, b):\n    import torch\n    t = torch.cat([torch.from_numpy(a.data), "
        "torch.from_numpy(b.data)], 1)\n    return mt.tensor(t.numpy())"))), affine_only
    # encodings: UTF-16 is JSON too; Latin-1 is not, and is reported
    found["utf16"] = notebook(toy_cells()).decode("utf-8").encode("utf-16"), full
    found["latin1"] = notebook(toy_cells(after=("s = 'caf\u00e9'",))).decode().encode("latin-1"), \
        {"check_affine": 0, "check_join": 0}
    # a folder name that would add a line of its own to the report
    found[FORGED_LINE] = notebook(toy_cells(between=("import os\nos._exit(3)",))), affine_only
    # a lone surrogate in an error message
    found["surrogate"] = notebook(toy_cells(after=("raise ValueError('bad \\udc80 \\ud800 text')",))), full
    if PRIVATE_ROOT:
        # PyTorch imported from the real site-packages, around the shadowing copy
        found["torch_path"] = notebook(toy_cells(join=(
            "import sys\nsys.path[:] = [p for p in sys.path if 'view-' not in p]\n"
            "sys.modules.pop('torch', None)\nimport importlib\n"
            "def join(a, b):\n    torch = importlib.import_module('torch')\n"
            "    return mt.tensor(torch.cat([torch.from_numpy(a.data), "
            "torch.from_numpy(b.data)], 1).numpy())"))), affine_only
        # every secret (and a network) looked for; affine is right only if none is found
        secrets = " or ".join([
            f"os.path.exists({str(course / 'minitorch_unet')!r})",
            f"os.path.exists({str(class_dir / 'submitted' / 'ref')!r})",
            f"bool(glob.glob({GRADER_TMP + '/engine'!r}))",
            f"bool(glob.glob({GRADER_TMP + '/secret'!r}))",
            f"bool(glob.glob({GRADER_TMP + '/run-*/results'!r}))",
            f"len(glob.glob({GRADER_TMP + '/run-*/work/*'!r})) > 1",
            "'join/out' in np.load(os.path.join(os.path.dirname(mt.__file__), '..', 'data', "
            "'reference', 'toy.npz')).files",
            "any(glob.glob(f'{p}/lib*/python3*/site-packages/{m}/*.py') for p in "
            "(sys.prefix, sys.base_prefix) for m in ('torch', 'scipy'))",
            "[name for _, name in socket.if_nameindex()] != ['lo']"])  # a network
        found["secret_reader"] = notebook(toy_cells(
            "import glob, os, socket, sys\nFOUND = " + secrets + "\ndef affine(x):\n"
            "    return x if FOUND else 2 * x + 1")), full
    if IS_ROOT:
        # processes left behind: a zombie leader whose thread runs on, after a double fork
        # and setsid, and three detached children that ignore SIGTERM
        found["daemons"] = notebook(toy_cells(between=(
            "import ctypes, os, signal, threading, time\nlibc = ctypes.CDLL(None)\n"
            "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            f"        libc.prctl(15, {DAEMON_NAME.encode()!r}, 0, 0, 0)\n"
            "        threading.Thread(target=time.sleep, args=(600,)).start()\n"
            "        libc.pthread_exit(None)\n    os._exit(0)\n"
            "for _ in range(3):\n    if os.fork() == 0:\n        os.setsid()\n"
            "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            f"        os.execv('/bin/sleep', ['sleep', {DAEMON_SLEEP!r}])\ntime.sleep(0.5)",))), full
    return found


def unreadable_submissions(class_dir: Path) -> dict[str, dict[str, float]]:
    """Links to another learner's work, to a device, a FIFO: never read, never graded."""
    zero = {"check_affine": 0, "check_join": 0}
    learners = class_dir / "submitted"
    ref = learners / "ref" / "99_toy"
    for name in ("linked_notebook", "dev_zero", "fifo"):
        (learners / name / "99_toy").mkdir(parents=True)
    (learners / "linked_notebook" / "99_toy" / "99_toy.ipynb").symlink_to(ref / "99_toy.ipynb")
    (learners / "dev_zero" / "99_toy" / "99_toy.ipynb").symlink_to("/dev/zero")
    os.mkfifo(learners / "fifo" / "99_toy" / "99_toy.ipynb")
    (learners / "linked_lesson").mkdir()
    (learners / "linked_lesson" / "99_toy").symlink_to(ref, target_is_directory=True)
    (learners / "linked_learner").symlink_to(learners / "ref", target_is_directory=True)
    return {name: zero for name in ("linked_notebook", "dev_zero", "fifo", "linked_lesson")}


@dataclass
class Graded:
    class_dir: Path
    out: Path
    expected: dict[str, dict[str, float]]
    rows: dict[str, dict[str, str]]
    reference_affine: np.ndarray  # as it was before grading

    def feedback(self, learner: str) -> str:
        return (self.out / "feedback" / learner / "99_toy.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def toy_class(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    base = tmp_path_factory.mktemp("toy_class")
    course = make_course(base / "course")
    class_dir, out = base / "class", base / "grades"
    expected = crafted_class(class_dir, course, out)
    with np.load(course / "data" / "reference" / "toy.npz") as npz:
        reference_affine = npz["only/affine"]
    stale = out / "feedback" / "someone" / "99_toy.md"
    stale.parent.mkdir(parents=True)
    stale.write_text("from an earlier run")
    grade_class(class_dir, out, jobs=2, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB,
                lessons=["99"], course_root=course)
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["learner"]: row for row in csv.DictReader(f)}
    return Graded(class_dir, out, expected, rows, reference_affine)


def test_every_learner_gets_exactly_the_points_of_their_answers(toy_class: Graded) -> None:
    got = {learner: {k: float(row[k]) for k in ("check_affine", "check_join")}
           for learner, row in toy_class.rows.items()}
    assert got == toy_class.expected
    for row in toy_class.rows.values():
        assert float(row["99_toy total"]) == float(row["total"]) == \
            float(row["check_affine"]) + float(row["check_join"])


def test_the_gradebook_is_replaced_whole(toy_class: Graded) -> None:
    assert sorted(toy_class.rows) == sorted(toy_class.expected)  # the vandal's row is gone
    assert not (toy_class.out / "feedback" / "someone").exists()
    assert not [p for p in toy_class.out.iterdir() if p.name.startswith(".staging")]
    assert (toy_class.out / "feedback" / "ref" / "99_toy.md").is_file()


@pytest.mark.parametrize("learner, phrases", [
    ("ref", ["3 / 3 points", "\u2714 pass", "affine is 2 x + 1."]),
    ("stub", ["0 / 3 points", "`affine` raised NotImplementedError (cell 3, line 3)"]),
    ("wrong", ["\u2718 fail", "affine(x): right shape but wrong values"]),
    ("fake_pass", ["affine(x): right shape but wrong values"]),
    ("engine_plain", ["\u2691 flagged", "no points",
                      "minitorch_unet.functional.cat (in your code: cell 6, line 2)"]),
    ("engine_hidden", ["\u2691 flagged", "called while your function was checked"]),
    ("engine_class", ["\u2691 flagged", "minitorch_unet.basic_ops.Cat"]),
    ("forever", ["ran out of time (15 s) in cell 6", "not checked"]),
    ("memory_hog", [f"ran out of memory (limit {MEMORY_MB} MB) in cell 6"]),
    ("exits", ["exited (code 3) in cell 6"]),
    ("segfault", ["crashed (segmentation fault)", "while `join` was being checked"]),
    ("not_json", ["not a valid notebook: the file is not JSON"]),
    ("empty", ["the notebook file is empty"]),
    ("renamed", ["this is the notebook of 98_other, not of 99_toy"]),
])
def test_feedback_says_what_happened(toy_class: Graded, learner: str, phrases: list[str]) -> None:
    text = toy_class.feedback(learner)
    for phrase in phrases:
        assert phrase in text, f"{learner}: {phrase!r} not in\n{text}"


def test_a_vandal_changes_no_grade(toy_class: Graded) -> None:
    """The vandal tried to rewrite the references, the gradebook and another learner's
    notebook: as root the sandbox stops the writes; otherwise they happen, to no effect."""
    course = toy_class.class_dir.parent / "course"
    with np.load(course / "data" / "reference" / "toy.npz") as npz:
        references_intact = bool(npz["only/affine"].any())
    ref_intact = (toy_class.class_dir / "submitted/ref/99_toy/99_toy.ipynb").stat().st_size > 0
    assert references_intact == ref_intact == IS_ROOT
    assert toy_class.rows["vandal"]["total"] == "2" and toy_class.rows["ref"]["total"] == "3"


def test_feedback_never_shows_hidden_tests_or_reference_values(toy_class: Graded) -> None:
    expected_values = [f"{v:.6g}" for v in toy_class.reference_affine]
    for path in (toy_class.out / "feedback").rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert HIDDEN not in text and "BEGIN HIDDEN" not in text
        shown = [v for v in expected_values if v in text]
        assert len(shown) <= 1, f"{path}: reference values beyond the check's message: {shown}"


def test_the_report_has_a_line_per_problem_and_the_rest_is_graded(toy_class: Graded) -> None:
    report = (toy_class.out / "report.md").read_text(encoding="utf-8")
    for line in ("not_json / 99_toy: not a valid notebook",
                 "empty / 99_toy: the notebook file is empty",
                 "renamed / 99_toy: this is the notebook of 98_other",
                 "missing / 99_toy: no notebook submitted",
                 "forever / 99_toy: the notebook ran out of time",
                 "engine_plain / 99_toy: flagged (uses the engine's own op): check_join"):
        assert line in report, report
    assert "engine_elsewhere" not in report and "ref /" not in report


# ---- attacks: each graded exactly (test_every_learner_...) and reported as below ----------------
WRONG_JOIN = "join(a, b): right shape but wrong values"
ATTACKS = [  # (learner, phrases in its feedback, its lines in report.md)
    ("lookup", [WRONG_JOIN], []),
    ("probe_replaced", [WRONG_JOIN], [
        "probe_replaced / 99_toy: to review (hides what it calls): cell 8, line 3: sys.modules"]),
    ("forger", [WRONG_JOIN], []),
    ("pickler", ["the outputs of `join` could not be read (ValueError)"], [
        "pickler / 99_toy: to review (hides what it calls): cell 6, line 3: def __reduce__ (code "
        "run when unpickled)"]),
    ("garbage", ["not checked: the notebook's process sent the grader a malformed message in "
                 "cell 6; nothing after it counts"], [
        "garbage / 99_toy: the notebook's process sent the grader a malformed message in cell 6; "
        "nothing after it counts"]),
    ("detector_off", ["\u2691 flagged", "minitorch_unet.functional.cat (called while your function "
                      "was checked)"], [
        "detector_off / 99_toy: flagged (uses the engine's own op): check_join",
        "detector_off / 99_toy: to review (hides what it calls): cell 6, line 4: getattr() with a "
        "computed name"]),
    ("exec_source", ["\u2691 flagged", "called while your function was checked"], [
        "exec_source / 99_toy: flagged (uses the engine's own op): check_join",
        "exec_source / 99_toy: to review (hides what it calls): cell 6, line 3: exec(...); "
        "cell 6, line 3: .__file__"]),
    ("torch_op", ["`join` raised ImportError: torch cannot be imported while grading"], []),
    ("utf16", ["3 / 3 points"], []),
    ("latin1", ["not a valid notebook: the file is not JSON ('utf-8' codec can't decode byte 0xe9"],
     ["latin1 / 99_toy: not a valid notebook: the file is not JSON ('utf-8' codec can't decode "
      "byte 0xe9"]),
    ("surrogate", ["3 / 3 points", "cell 8: ValueError: bad \\udc80 \\ud800 text"], []),
    ("linked_notebook", ["not graded: 99_toy/99_toy.ipynb is a symbolic link"],
     ["linked_notebook / 99_toy: 99_toy/99_toy.ipynb is a symbolic link; not graded"]),
    ("dev_zero", ["not graded: 99_toy/99_toy.ipynb is a symbolic link"],
     ["dev_zero / 99_toy: 99_toy/99_toy.ipynb is a symbolic link; not graded"]),
    ("fifo", ["not graded: 99_toy/99_toy.ipynb is not a regular file"],
     ["fifo / 99_toy: 99_toy/99_toy.ipynb is not a regular file (a device, FIFO, socket or "
      "folder); not graded"]),
    ("linked_lesson", ["not graded: 99_toy/ is a symbolic link"],
     ["linked_lesson / 99_toy: 99_toy/ is a symbolic link; not graded"]),
]
ROOT_ATTACKS = [
    ("torch_path", ["`join` raised AttributeError: module 'torch' has no attribute 'cat'"], [
        "torch_path / 99_toy: to review (hides what it calls): cell 6, line 4: import importlib; "
        "cell 6, line 2: sys.path; cell 6, line 3: sys.modules"]),
    ("secret_reader", ["3 / 3 points"], [
        "secret_reader / 99_toy: to review (hides what it calls): cell 3, line 2: .__file__"]),
    ("daemons", ["3 / 3 points"], [
        "daemons / 99_toy: to review (hides what it calls): cell 6, line 1: import ctypes",
        "daemons / 99_toy: 4 processes left running by the notebook killed"]),
]


@pytest.mark.parametrize("learner, phrases, lines", ATTACKS)
def test_an_attack_is_graded_and_reported(toy_class: Graded, learner: str, phrases: list[str],
                                         lines: list[str]) -> None:
    text = toy_class.feedback(learner)
    for phrase in phrases:
        assert phrase in text, f"{learner}: {phrase!r} not in\n{text}"
    report = (toy_class.out / "report.md").read_text(encoding="utf-8")
    mine = [row[2:] for row in report.splitlines() if row.startswith(f"- {learner} /")]
    assert len(mine) == len(lines) and all(m.startswith(x) for m, x in zip(mine, lines)), mine


@pytest.mark.skipif(not PRIVATE_ROOT, reason=NEEDS_PRIVATE_ROOT)
@pytest.mark.parametrize("learner, phrases, lines", ROOT_ATTACKS)
def test_an_attack_needing_the_sandbox_is_graded_and_reported(
        toy_class: Graded, learner: str, phrases: list[str], lines: list[str]) -> None:
    test_an_attack_is_graded_and_reported(toy_class, learner, phrases, lines)


def test_a_folder_name_cannot_add_a_line_to_the_report(toy_class: Graded) -> None:
    report = (toy_class.out / "report.md").read_text(encoding="utf-8")
    assert "\n- forged:" not in report
    assert ("- newline\\n- forged: flagged (uses the engine's own op): check_affine / "
            "99_toy: the notebook's process exited (code 3) in cell 6") in report


def test_a_linked_learner_folder_is_refused(toy_class: Graded) -> None:
    report = (toy_class.out / "report.md").read_text(encoding="utf-8")
    assert "- learner folder 'linked_learner' is a symbolic link; not graded" in report
    assert "linked_learner" not in toy_class.rows


@pytest.mark.skipif(not IS_ROOT, reason=NEEDS_ROOT)
def test_no_learner_process_outlives_grading(toy_class: Graded) -> None:
    """The daemons learner's processes (a zombie leader whose thread runs on, detached
    sleepers that ignore SIGTERM) were all killed."""
    left = []
    for pid in sandbox._pids():
        try:
            names = [Path(f"/proc/{pid}/task/{t}/comm").read_text().strip()
                     for t in os.listdir(f"/proc/{pid}/task")]
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if DAEMON_NAME in names or DAEMON_SLEEP.encode() in command:
            left.append(pid)
    assert left == []


def test_a_snapshot_verifies_file_for_file(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    copy = tmp_path / "copy"
    hashes = snapshot.take(course, copy)
    assert "minitorch_unet/checks/lesson99.py" in hashes and "data/reference/toy.npz" in hashes
    assert snapshot.verify(copy, hashes) == []
    (copy / "minitorch_unet/checks/lesson99.py").write_text("# changed")
    (copy / "minitorch_unet/checks/__pycache__").mkdir()
    (copy / "minitorch_unet/checks/__pycache__/core.cpython-311.pyc").write_bytes(b"planted")
    (copy / "data/reference/toy.npz").unlink()
    assert sorted(snapshot.verify(copy, hashes)) == [
        "added: minitorch_unet/checks/__pycache__/core.cpython-311.pyc",
        "changed: minitorch_unet/checks/lesson99.py", "missing: data/reference/toy.npz"]


def test_the_judge_refuses_a_changed_snapshot(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    hashes = snapshot.take(course, tmp_path / "copy")
    assert [e["grade_id"] for e in judge.run_clean(tmp_path / "copy", hashes, {"task": "catalog"},
                                                   tmp_path / "catalog.json", 60)] == \
        ["check_affine", "check_join", "check_negate"]
    (tmp_path / "copy/minitorch_unet/checks/lesson99.py").chmod(0o644)
    with open(tmp_path / "copy/minitorch_unet/checks/lesson99.py", "a") as f:
        f.write("\nimport numpy\nnumpy.allclose = lambda *a, **k: True\n")
    with pytest.raises(judge.SnapshotChanged, match="changed: minitorch_unet/checks/lesson99.py"):
        judge.run_clean(tmp_path / "copy", hashes, {"task": "catalog"}, tmp_path / "c2.json", 60)


def test_the_judge_refuses_changed_fresh_cases(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    hashes = snapshot.take(course, tmp_path / "copy")
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "toy.npz").write_bytes(b"fresh")
    job = {"task": "judge", "items": [], "references": str(cases),
           "reference_hashes": snapshot.hash_tree(cases)}
    assert judge.run_clean(tmp_path / "copy", hashes, job, tmp_path / "v1.json", 60) == {}
    (cases / "toy.npz").write_bytes(b"forged")
    with pytest.raises(judge.SnapshotChanged, match="changed: toy.npz"):
        judge.run_clean(tmp_path / "copy", hashes, job, tmp_path / "v2.json", 60)


def test_a_submission_writing_into_the_snapshot_cannot_change_a_grade(tmp_path: Path) -> None:
    """As root the learner process cannot write the snapshot; otherwise grading is refused."""
    course = make_course(tmp_path / "course")
    learners = tmp_path / "learners"  # CLASS_DIR given as the folder of learners itself
    # the judge, were it to use the changed checks, would compare any answer with itself
    tamper = ("import pathlib\nchecks = pathlib.Path(mt.__file__).parent / 'checks' / 'lesson99.py'\n"
              "try:\n    text = checks.read_text().replace('case()[\"affine\"]', 'o[\"out\"]')\n"
              "    checks.write_text(text)\nexcept OSError:\n    pass")
    assert 'case()["affine"]' in TOY_CHECKS
    for learner, affine in (("tamperer", WRONG_AFFINE), ("honest", AFFINE)):
        folder = learners / learner / "99_toy"
        folder.mkdir(parents=True)
        (folder / "99_toy.ipynb").write_bytes(notebook(toy_cells(affine, between=(tamper,))))
    if IS_ROOT:
        grades = grade_class(learners, tmp_path / "out", jobs=2, timeout_s=TIMEOUT_S,
                             memory_mb=MEMORY_MB, course_root=course)
        assert [(g.learner, g.points) for g in grades] == [("honest", 3), ("tamperer", 2)]
    else:
        with pytest.raises(GradingError, match="changed: minitorch_unet/checks/lesson99.py"):
            grade_class(learners, tmp_path / "out", jobs=2, timeout_s=TIMEOUT_S,
                        memory_mb=MEMORY_MB, course_root=course)
        assert not (tmp_path / "out" / "grades.csv").exists()


# ---- the parts on their own ----------------------------------------------------------------------
def test_learner_cells_skip_demo_and_check_code_and_ipython_lines() -> None:
    nb = json.loads(notebook([
        code("import numpy as np\n%matplotlib inline"), code("print(1)", tags=("demo",)),
        checked("check_affine", "affine", 1),
        code("def affine(x):\n    return x\ncheck('check_affine', affine)"),
        code("%%bash\nrm -rf /"), code("%%time\ny = 2"), code("for f in [affine]:\n    check('x', f)"),
        code("x = (1\n% 2)")]))
    cells = learner_cells(nb)
    assert [c.number for c in cells] == [1, 4, 6, 8]
    assert cells[0].source == "import numpy as np\npass"
    assert cells[1].source == "def affine(x):\n    return x\n"
    assert cells[2].source == "\ny = 2"
    assert cells[3].source == "x = (1\n% 2)"


@pytest.mark.parametrize("source, flagged", [
    ("from minitorch_unet import functional as F\ndef join(a, b):\n    return F.cat([a, b], 1)", True),
    ("import minitorch_unet as mt\nop = mt.cat\ndef join(a, b):\n    return op([a, b], 1)", True),
    ("def join(a, b):\n    from minitorch_unet.functional import cat as c\n    return c([a, b])", True),
    ("import minitorch_unet\ndef join(a, b):\n    return getattr(minitorch_unet.functional, 'cat')(a)",
     True),
    ("from minitorch_unet.basic_ops import Cat\nclass Mine(Cat):\n    pass\ndef join(a, b):\n"
     "    return Mine.apply(a, b, dim=1)", True),
    ("import minitorch_unet as mt\nop = mt.cat\ndef join(a, b):\n    op = list\n    return op(a)",
     False),
    ("import minitorch_unet as mt\ny = mt.cat([])\ndef join(a, b):\n    y = 1\n    return y", False),
    ("import minitorch_unet as mt\ndef join(a, b):\n    return mt.tensor(a.data)[..., :1]", False),
])
def test_the_static_scan_follows_the_answer_and_only_it(source: str, flagged: bool) -> None:
    watched = engine_ops.watched(("minitorch_unet.functional.cat",))
    assert {label for label, _ in watched} == {"minitorch_unet.functional.cat",
                                               "minitorch_unet.basic_ops.Cat"}
    uses = engine_ops.static_uses([(1, source)], "join", watched)
    assert bool(uses) == flagged, uses


ROUTES = {  # ways to reach the engine's cat from a learner's code
    "plain": "F.cat([a, a], dim=1)",
    "alias": "held(a)",
    "getattr": "getattr(F, 'c' + 'at')([a, a], 1)",
    "class": "Cat.apply(a, a, dim=1)",
    "subclass": "type('Mine', (Cat,), {}).apply(a, a, dim=1)",
    "source": "(lambda ns: (exec(open(F.__file__).read(), ns), ns['cat']([a, a], 1)))("
              "{'__name__': 'minitorch_unet.functional', '__package__': 'minitorch_unet'})",
}


def test_the_learners_copy_has_no_forbidden_op_by_any_route(tmp_path: Path) -> None:
    """In the learner's copy of the engine every route to a forbidden op raises, naming it;
    the rest of the engine works, and PyTorch and SciPy cannot be imported."""
    from minitorch_unet.grading import learner_view
    course = make_course(tmp_path / "course")
    references = tmp_path / "references"
    references.mkdir()
    watched = engine_ops.watched(("minitorch_unet.functional.cat",))
    learner_view.build(course, tmp_path / "view", learner_view.strip_list(watched), references)
    script = "\n".join([
        "import json, sys", "import numpy as np", "import minitorch_unet as mt",
        "from minitorch_unet import functional as F", "from minitorch_unet.basic_ops import Cat",
        "a = mt.tensor(np.ones((1, 2), np.float32))", "held = lambda x: F.cat([x, x], dim=0)",
        f"routes = {ROUTES!r}", "found = {}",
        "for name, code in routes.items():",
        "    try:\n        eval(code)\n        found[name] = 'ran'",
        "    except Exception as err:\n        found[name] = str(err)",
        "for name in ('torch', 'scipy'):",
        "    try:\n        __import__(name)\n        found[name] = 'imported'",
        "    except ImportError as err:\n        found[name] = str(err)",
        "found['rest'] = (F.relu(a) + a).shape == (1, 2) and mt.__file__.startswith(sys.argv[1])",
        "print(json.dumps(found))"])
    result = subprocess.run([sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]);"
                             f"exec({script!r})", str(tmp_path / "view")],
                            capture_output=True, text=True, timeout=120)
    found = json.loads(result.stdout)
    for route in ROUTES:
        assert re.fullmatch(r"the engine's minitorch_unet\.(functional\.cat|basic_ops\.Cat) is "
                            r"not available while grading: write it yourself", found[route]), route
    assert found["torch"] == "torch cannot be imported while grading"
    assert found["scipy"] == "scipy cannot be imported while grading"
    assert found["rest"] is True


def test_the_command_line_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "class" / "submitted").mkdir(parents=True)
    assert main([str(tmp_path / "class"), "--out", str(tmp_path / "out")]) == 1
    assert "no learner folders" in capsys.readouterr().err
    assert main([str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--lessons", "77_nope"]) == 2
    assert "unknown lesson '77_nope'" in capsys.readouterr().err
    assert main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2


# ---- the real course (heavier: every lesson runs once) ------------------------------------------------
def test_real_course_solutions_get_full_marks_and_lessons_none(tmp_path: Path) -> None:
    from minitorch_unet.course import fill_solutions
    lessons = sorted(p.parent.name for p in (REPO / "lessons").glob("*/*.ipynb")
                     if (REPO / "solutions" / p.parent.name / p.name).is_file())
    if not lessons:
        pytest.skip("no lessons in this checkout")
    for lesson in lessons:
        shipped = nbformat.read(REPO / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
        solved = fill_solutions(shipped, nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb",
                                                       as_version=4))
        submit(tmp_path / "class", "solved", lesson, nbformat.writes(solved).encode())
        submit(tmp_path / "class", "untouched", lesson, nbformat.writes(shipped).encode())
    grades = grade_class(tmp_path / "class", tmp_path / "out", jobs=2, timeout_s=300)
    for g in grades:
        wrong = [(e.grade_id, e.message) for e in g.exercises
                 if (e.outcome == "pass") != (g.learner == "solved")]
        assert not wrong, f"{g.learner} / {g.lesson}: {wrong}"
    from minitorch_unet.checks.core import load_all
    assert {g.lesson for g in grades} == {e.lesson for e in load_all().values()} & set(lessons)


def solved_notebook(lesson: str, *extra: str) -> bytes:
    """The lesson's notebook with the solutions filled in, then the code cells `extra`."""
    from minitorch_unet.course import fill_solutions
    shipped = nbformat.read(REPO / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
    solved = fill_solutions(shipped, nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb",
                                                   as_version=4))
    solved.cells += [code(source) for source in extra]
    return nbformat.writes(solved).encode()


def lookup_tables() -> dict[str, tuple[str, str, str, str]]:
    """Per lesson: (grade id, function, cell that answers from a table of the outputs of the
    inputs a notebook sees, the line its feedback must start with). Each table passes the
    check in a notebook, which this asserts: only fresh inputs make it fail."""
    from minitorch_unet import metrics
    from minitorch_unet.checks.core import PASSED, run_check
    from minitorch_unet.checks.lesson02 import error_cases, relative_error_formula
    from minitorch_unet.checks.lesson11 import PATIENTS, RAISED, _masks
    key = ("def key(*arrays):\n"
           "    return ''.join(np.asarray(v, dtype=float).tobytes().hex() for v in arrays)\n")
    namespace: dict[str, Any] = {"np": np}
    exec(key, namespace)
    errors = {namespace["key"](a, b): relative_error_formula(a, b) for _, a, b in error_cases()}
    pred, target = _masks()
    dice = {threshold: {p: float(v) for p, v in
                        metrics.dice_per_patient(pred, target, PATIENTS, threshold).items()}
            for threshold in (0.5, RAISED)}
    tables = {
        "02_gradient_checking": ("check_relative_error", "relative_error", (
            f"import numpy as np\n{key}TABLE = {errors!r}\n"
            "def relative_error(a, b):\n    return TABLE.get(key(a, b), 0.0)"),
            "relative_error(random (3, 4) arrays): expected "),
        "11_evaluation": ("check_dice_per_patient", "dice_per_patient", (
            f"SHIPPED = {dice!r}\ndef dice_per_patient(pred, target, patients, threshold=0.5):\n"
            "    return dict(SHIPPED[threshold])"),
            "dice_per_patient(pred (12, 1, 6, 6), target (12, 1, 6, 6), patients): patient '"),
    }
    for grade_id, function, source, _ in tables.values():
        cell: dict[str, Any] = {}
        exec(source, cell)
        assert run_check(grade_id, cell[function]).status == PASSED
    return tables


def test_a_lookup_table_fails_where_the_checks_build_their_own_cases(tmp_path: Path) -> None:
    """Lesson 02's relative errors and lesson 11's patients are cases the checks build: a
    table of their outputs, which passes in the notebook, earns nothing when graded, and the
    notebook's other (honest) answers keep their points."""
    if not (REPO / "lessons").is_dir():
        pytest.skip("no lessons in this checkout")
    tables = lookup_tables()
    for lesson, (_, _, source, _) in tables.items():
        submit(tmp_path / "class", "lookup", lesson, solved_notebook(lesson, source))
    grades = {g.lesson: g for g in grade_class(tmp_path / "class", tmp_path / "out", jobs=2,
                                                   timeout_s=300, lessons=list(tables))}
    for lesson, (grade_id, _, _, line) in tables.items():
        got = {e.grade_id: (e.outcome, e.points) for e in grades[lesson].exercises}
        assert got.pop(grade_id)[0] == "fail", got
        assert all(outcome == "pass" for outcome, _ in got.values()), got
        failed = next(e for e in grades[lesson].exercises if e.grade_id == grade_id)
        assert failed.points == 0 and failed.message.startswith(line), failed.message
        assert grades[lesson].points == grades[lesson].max_points - failed.max_points
        feedback = (tmp_path / "out" / "feedback" / "lookup" / f"{lesson}.md").read_text()
        assert line in feedback
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert not [row for row in report.splitlines() if row.startswith("- lookup /")], report
    assert "and the cases the checks build themselves, were drawn fresh for this run" in report


def _numbers(cases: Any) -> list[float]:
    """Every number in a check's own cases (arrays, tuples, lists; functions and text skipped)."""
    if isinstance(cases, (list, tuple)):
        return [n for item in cases for n in _numbers(item)]
    if isinstance(cases, (np.ndarray, int, float, np.number)) and not isinstance(cases, bool):
        return np.asarray(cases, dtype=np.float64).ravel().tolist()
    return []


def test_the_checks_own_cases_are_drawn_new_for_each_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every builder of a check's own cases gives other numbers for each seed than in a
    notebook (which always gets the same ones), and the same numbers for the same seed."""
    from minitorch_unet.checks import core
    core.load_all()
    monkeypatch.setattr(core, "_DRAWN", {})
    builders = dict(core._BUILDERS)
    assert len(builders) >= 12
    notebook_cases = {key: _numbers(build(np.random.default_rng(stream), False))
                      for key, (stream, build) in builders.items()}
    runs = []
    for seed in (11, 12, 11):
        core.draw_cases(seed)
        runs.append({key: _numbers(core._DRAWN[key]) for key in builders})
    for key in builders:
        assert runs[0][key] != notebook_cases[key] and runs[0][key] != runs[1][key], key
        assert runs[0][key] == runs[2][key], key


# ---- reading, messages, fresh cases, review: the parts on their own -----------------------------
def test_only_regular_files_are_read_and_only_up_to_the_cap(tmp_path: Path) -> None:
    from minitorch_unet.grading.collect import read_regular_file
    (tmp_path / "ok").write_bytes(b"12345")
    (tmp_path / "link").symlink_to(tmp_path / "ok")
    (tmp_path / "zero").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo")  # opening it for reading would block without O_NONBLOCK
    (tmp_path / "folder").mkdir()
    assert read_regular_file(tmp_path / "ok", 5) == (b"12345", None)
    assert read_regular_file(tmp_path / "ok", 4) == (None, "is larger than 0 MB; not graded")
    for name in ("link", "zero"):
        assert read_regular_file(tmp_path / name, 5) == (None, "is a symbolic link; not graded")
    for name in ("fifo", "folder"):
        content, problem = read_regular_file(tmp_path / name, 5)
        assert content is None and problem.startswith("is not a regular file"), problem
    assert read_regular_file("/dev/zero", 5)[1].startswith("is not a regular file")


def _receive(tmp_path: Path, data: bytes) -> Any:
    from minitorch_unet.grading.channel import Receiver
    read_end, write_end = os.pipe()
    receiver = Receiver(read_end, tmp_path)
    receiver.start()
    with os.fdopen(write_end, "wb") as f:
        f.write(data)
    receiver.join(timeout=10)
    return receiver


def test_the_channel_reads_on_while_bytes_arrive_then_stops(tmp_path: Path) -> None:
    """finish(): messages still arriving after the process ended are read (a loaded machine);
    a pipe held open without a byte is given up after the quiet time."""
    import threading
    import time
    from minitorch_unet.grading.channel import Receiver
    read_end, write_end = os.pipe()
    receiver = Receiver(read_end, tmp_path)
    receiver.start()

    def slow_writer() -> None:  # one message every 0.2 s, each sooner than the quiet time
        for cell in range(1, 6):
            os.write(write_end, json.dumps({"cell": cell, "size": 0}).encode() + b"\n")
            time.sleep(0.2)
        os.write(write_end, b'{"finished": true, "size": 0}\n')
    writer = threading.Thread(target=slow_writer)
    writer.start()
    start = time.monotonic()
    receiver.finish(quiet_s=0.5, limit_s=20)  # the pipe stays open: only quiet ends it
    writer.join()
    os.close(write_end)
    assert receiver.status["cell"] == 5 and receiver.status["finished"] is True
    assert not receiver.is_alive() and 1.0 < time.monotonic() - start < 10


def test_the_channel_keeps_well_formed_messages_only(tmp_path: Path) -> None:
    from minitorch_unet.grading.channel import MAX_HEADER
    payload = b"PK-not-really-npz"
    good = (b'{"cell": 3, "size": 0}\n{"probing": "check_join", "size": 0}\n'
            + json.dumps({"probed": "check_join", "size": len(payload)}).encode() + b"\n" + payload
            + b'{"cell_error": "cell 3: ValueError: x", "size": 0}\n{"cell": true, "size": 0}\n'
            + b'{"error": "check_affine", "message": "ValueError: no", "size": 0}\n')
    receiver = _receive(tmp_path, good + b'{"finished": true, "size": 0}\n')
    status = receiver.status
    assert receiver.problem == "" and status["cell"] == 3 and status["finished"] is True
    assert status["cell_errors"] == ["cell 3: ValueError: x"]
    join = status["exercises"]["check_join"]
    assert join["state"] == "probed" and Path(join["outputs"]).read_bytes() == payload
    assert status["exercises"]["check_affine"] == {"state": "error", "cell": 3,
                                                   "error": "ValueError: no", "outputs": None}
    for number, bad in enumerate((b"{not json\n", b'{"size": -1}\n', b"x" * (MAX_HEADER + 10))):
        folder = tmp_path / f"bad-{number}"
        folder.mkdir()
        receiver = _receive(folder, good + bad + b'{"finished": true, "size": 0}\n')
        assert not receiver.is_alive()  # it drained the pipe to its end
        assert receiver.problem == "the notebook's process sent the grader a malformed message"
        assert receiver.status["finished"] is False  # nothing after it counts


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_fresh_cases_are_secret_new_and_right_by_pytorch(tmp_path: Path) -> None:
    """Each run draws new inputs; their expected outputs match PyTorch's (the oracle); the
    learners' copy holds inputs only."""
    torch = pytest.importorskip("torch")
    from minitorch_unet.grading import fresh_cases
    from minitorch_unet.reference import TOLERANCES, load_cases, mismatch
    shipped = load_cases("conv2d")
    runs = []
    for run in ("one", "two"):
        fresh_cases.write(REPO / "data" / "reference", tmp_path / run / "judge",
                          tmp_path / run / "learner")
        runs.append(fresh_cases.load_cases_from(tmp_path / run / "judge" / "conv2d.npz"))
        shown = fresh_cases.load_cases_from(tmp_path / run / "learner" / "conv2d.npz")
        for name, case in shown.items():
            assert sorted(set(case) - {"params"}) == sorted(
                {"input", "weight", "bias", "grad_out"} & set(shipped[name]))
    for name, case in runs[0].items():
        assert not np.array_equal(case["input"], shipped[name]["input"])
        assert not np.array_equal(case["input"], runs[1][name]["input"])
        assert np.array_equal(np.argsort(case["input"], None), np.argsort(shipped[name]["input"], None))
        x, w = (torch.tensor(case[k], dtype=torch.float64, requires_grad=True)
                for k in ("input", "weight"))
        b = torch.tensor(case["bias"], dtype=torch.float64) if "bias" in case else None
        p = case["params"]
        out = torch.nn.functional.conv2d(x, w, b, stride=p["stride"], padding=p["padding"])
        out.backward(torch.tensor(case["grad_out"], dtype=torch.float64))
        for field, expected in (("out", out), ("grad_input", x.grad), ("grad_weight", w.grad)):
            assert mismatch(case[field].astype(np.float64), expected.detach().numpy(),
                            **TOLERANCES["float32"]) is None, (name, field)


@pytest.mark.parametrize("source, lines", [
    ("def f(x):\n    return x + 1", []),
    ("import sys\nsys.modules['numpy'].sum = None", ["cell 1, line 2: sys.modules"]),
    ("y = eval('1 + 1')\nexec('z = 2')", ["cell 1, line 1: eval(...)", "cell 1, line 2: exec(...)"]),
    ("name = 'c' + 'at'\ng = getattr(np, name)\nh = getattr(np, 'sum')",
     ["cell 1, line 2: getattr() with a computed name"]),
    ("import inspect\nsrc = inspect.getsource(np.sum)",
     ["cell 1, line 1: import inspect", "cell 1, line 2: .getsource"]),
    ("from importlib import import_module\nm = import_module('to' + 'rch')",
     ["cell 1, line 1: import importlib"]),
    ("code = f.__code__\nsys.path.insert(0, '/x')",
     ["cell 1, line 1: .__code__", "cell 1, line 2: sys.path"]),
    ("for m in model.modules():\n    total = vars(m)", []),  # a Module's own methods are fine
])
def test_the_review_lists_what_hides_a_call(source: str, lines: list[str]) -> None:
    from minitorch_unet.grading.review import hidden_calls
    assert hidden_calls([(1, source)]) == lines


def test_a_notebook_the_grader_fails_on_is_its_own_line(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Any failure while grading one notebook is that notebook's line; the rest is graded."""
    from minitorch_unet.grading import grade as grade_module
    course = make_course(tmp_path / "course")
    for learner in ("ok", "unlucky"):
        submit(tmp_path / "class", learner, "99_toy", notebook(toy_cells()))
    real = grade_module.run_notebook

    def flaky(notebook_bytes: bytes, name: str, cells: list, *args: Any) -> Any:
        if any("unlucky-marker" in c.source for c in cells):
            raise RuntimeError("disk full")
        return real(notebook_bytes, name, cells, *args)

    (tmp_path / "class/submitted/unlucky/99_toy/99_toy.ipynb").write_bytes(
        notebook(toy_cells(between=("# unlucky-marker",))))
    monkeypatch.setattr(grade_module, "run_notebook", flaky)
    grades = grade_class(tmp_path / "class", tmp_path / "out", jobs=2, timeout_s=TIMEOUT_S,
                         memory_mb=MEMORY_MB, course_root=course)
    assert [(g.learner, g.points) for g in grades] == [("ok", 3), ("unlucky", 0)]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "- unlucky / 99_toy: the grader failed on this notebook (RuntimeError: disk full)" in report


@pytest.mark.skipif(not IS_ROOT, reason=NEEDS_ROOT)
def test_without_a_private_file_system_grading_works_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = make_course(tmp_path / "course")
    submit(tmp_path / "class", "ref", "99_toy", notebook(toy_cells()))
    monkeypatch.setattr(sandbox, "private_root_available", lambda: False)
    grades = grade_class(tmp_path / "class", tmp_path / "out", jobs=1, timeout_s=TIMEOUT_S,
                         memory_mb=MEMORY_MB, course_root=course)
    assert [(g.learner, g.points) for g in grades] == [("ref", 3)]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "- no private file system" in report


def test_the_review_skips_what_the_lessons_solution_uses() -> None:
    from minitorch_unet.grading.grade import _usual_constructs
    from minitorch_unet.grading.review import hidden_calls
    if not (REPO / "solutions" / "07_modules_and_unet").is_dir():
        pytest.skip("no solutions in this checkout")
    usual = _usual_constructs(REPO, "07_modules_and_unet")
    assert "getattr() with a computed name" in usual
    cells = [(4, "def get(m, name):\n    return getattr(m, name)\nexec('x = 1')")]
    assert hidden_calls(cells, usual) == ["cell 4, line 3: exec(...)"]
