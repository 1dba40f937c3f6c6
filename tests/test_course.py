"""The course: lessons generated from solutions, runnable, checked and graded as solutions/README.md says.

The notebook runs (tests 2, 3 and 5) start a Jupyter kernel per lesson and skip the cells
tagged ``demo``; the solution notebooks' own full runs are nbval's (``pytest solutions``).
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode

from minitorch_unet import functional as F
from minitorch_unet.checks.core import load_all
from minitorch_unet.course import cli, notebooks as nbs
from minitorch_unet.course.reuse import plug_in, use_own_or_reference
from minitorch_unet.course.run import CellFailed, execute, load_builder

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS, LESSONS = REPO / "solutions", REPO / "lessons"
NAMES = [folder.name for folder in nbs.lesson_folders(SOLUTIONS)]
# Absolute paths of machines (this checkout's, this user's, any home or temporary folder):
# none may appear in a notebook's sources or outputs.
MACHINE_PATH = re.compile("|".join([re.escape(str(REPO)), re.escape(str(Path.home()) + "/"),
                                    r"(?<![\w.])(/home/|/Users/|/tmp/|/private/|[A-Z]:\\)"]))


def solution(name: str) -> NotebookNode:
    return nbs.read_notebook(SOLUTIONS / name / f"{name}.ipynb")


def lesson(name: str) -> NotebookNode:
    return nbs.read_notebook(LESSONS / name / f"{name}.ipynb")


def demo_cells(nb: NotebookNode) -> list[int]:
    return [i for i, cell in enumerate(nb.cells) if nbs.is_demo(cell)]


def first_stop(nb: NotebookNode) -> int | None:
    """The cell where an unsolved lesson must stop: the first exercise cell if its stub runs at
    top level, else the first check cell after it (None: the lesson has no exercise)."""
    first = next((i for i, c in enumerate(nb.cells) if nbs.is_exercise(c)), None)
    if first is None:
        return None
    if "\nraise NotImplementedError()" in "\n" + nb.cells[first].source:
        return first
    return next(i for i in range(first + 1, len(nb.cells)) if nbs.is_check(nb.cells[i]))


def write_tree(root: Path, notebooks: dict[str, NotebookNode]) -> Path:
    for name, nb in notebooks.items():
        nbs.write_notebook(nb, root / name / f"{name}.ipynb")
    return root


@pytest.fixture(scope="session")
def unsolved_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of lessons/, where lessons run (so they write nothing into the repository)."""
    return write_tree(tmp_path_factory.mktemp("unsolved") / "lessons",
                      {name: lesson(name) for name in NAMES})


@pytest.fixture(scope="session")
def filled_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every lesson with its solutions filled back in, side by side."""
    return write_tree(tmp_path_factory.mktemp("filled") / "lessons",
                      {name: nbs.fill_solutions(lesson(name), solution(name)) for name in NAMES})


# ---- 1. lessons are generated, never edited ------------------------------------------------
def test_lessons_are_up_to_date_with_their_solutions() -> None:
    problems = nbs.check_up_to_date(SOLUTIONS, LESSONS)
    assert not problems, ("\n".join(problems)
                          + "\nregenerate with: python -m minitorch_unet.course lessons")


@pytest.mark.parametrize("name", NAMES)
def test_build_script_still_makes_the_solution(name: str) -> None:
    script = SOLUTIONS / name / "build.py"
    if not script.is_file():
        pytest.skip("no build.py: the notebook is edited directly")
    built, stored = load_builder(script), solution(name)
    assert sources(built) == sources(stored), (f"{name}: build.py and the notebook differ; run: "
                                               f"python -m minitorch_unet.course build {name[:2]}")


def sources(nb: NotebookNode) -> list[tuple]:
    """What a notebook says, without what running it added."""
    return [(c.get("id"), c.cell_type, c.source, c.metadata) for c in nb.cells]


# ---- 2. an unsolved lesson stops at its first exercise -------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_unsolved_lesson_stops_at_its_first_exercise(name: str, unsolved_tree: Path) -> None:
    nb = lesson(name)
    expected = first_stop(nb)
    try:
        execute(nb, unsolved_tree / name, skip=demo_cells(nb))
    except CellFailed as failure:
        assert expected is not None, f"{name} has no exercise but stops: {failure}"
        # the stub itself raises NotImplementedError; a check cell calling it says NotWritten
        assert failure.index == expected and failure.ename in ("NotImplementedError",
                                                               "NotWritten"), (
            f"{name}: expected to stop at cell {expected} "
            f"({nbs.grade_id(nb.cells[expected]) or 'an exercise'}) with NotImplementedError; "
            f"stopped at {failure}")
    else:
        assert expected is None, f"{name} ran to the end; expected it to stop at cell {expected}"


# ---- 3. with the solutions filled in, every check passes -----------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_filled_lesson_passes_every_check(name: str, filled_tree: Path) -> None:
    nb = nbs.read_notebook(filled_tree / name / f"{name}.ipynb")
    execute(nb, filled_tree / name, skip=demo_cells(nb))
    for cell in nb.cells:
        if nbs.is_check(cell):
            printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            lines = printed.strip().split("\n")
            assert len(lines) == 1 and lines[0].startswith("\u2714") and len(lines[0]) <= 120, (
                f"{name}, {nbs.grade_id(cell)}: a passing check prints one short line "
                f"'\u2714 ...', got {printed!r}")


# ---- 4. check cells and registered exercises match -----------------------------------------
def nbgrader_cells() -> list[tuple[str, int, NotebookNode]]:
    return [(name, i, cell) for name in NAMES for i, cell in enumerate(solution(name).cells)
            if nbs.nbgrader(cell)]


def test_grade_ids_are_unique_across_the_course() -> None:
    seen: dict[str, str] = {}
    for name, i, cell in nbgrader_cells():
        gid = nbs.grade_id(cell)
        assert gid not in seen, f"grade id {gid!r} in {name} cell {i} is also in {seen[gid]}"
        seen[gid] = f"{name} cell {i}"


def test_nbgrader_metadata_is_exact() -> None:
    for name, i, cell in nbgrader_cells():
        meta, where = nbs.nbgrader(cell), f"{name} cell {i}"
        assert cell.cell_type == "code", f"{where}: nbgrader cells of this course are code cells"
        if nbs.is_check(cell):
            points = meta.get("points")
            assert meta == {"grade": True, "solution": False, "locked": True,
                            "grade_id": meta["grade_id"], "points": points, "schema_version": 3}
            assert isinstance(points, int) and points > 0, f"{where}: {meta}"
        else:
            assert meta == {"grade": False, "solution": True, "locked": False,
                            "grade_id": meta["grade_id"], "schema_version": 3}, f"{where}: {meta}"
            assert "### BEGIN SOLUTION" in cell.source, f"{where}: no solution region"


def test_every_check_cell_is_registered_and_follows_its_exercise() -> None:
    exercises = load_all()
    for name, i, cell in nbgrader_cells():
        if not nbs.is_check(cell):
            continue
        gid, where = nbs.grade_id(cell), f"{name} cell {i}"
        assert gid in exercises, f"{where}: {gid} is not registered in minitorch_unet/checks/"
        ex = exercises[gid]
        assert (ex.lesson, ex.points) == (name, nbs.nbgrader(cell)["points"]), (
            f"{where}: {gid} is registered for lesson {ex.lesson} with {ex.points} points")
        assert cell.source.split("\n")[0] == f'check("{gid}", {ex.function})', where
        cells = solution(name).cells[:i]
        assert nbs.is_exercise(cells[-1]), f"{where}: the cell before a check is its exercise"
        defining = re.compile(rf"^(def|class) {ex.function}\b|^{ex.function} =", re.MULTILINE)
        assert any(c.cell_type == "code" and not nbs.is_demo(c) and not nbs.is_check(c)
                   and defining.search(c.source) for c in cells), (
            f"{where}: no exercise or setup cell before it defines {ex.function}")


def test_every_registered_exercise_is_in_exactly_one_solution() -> None:
    cells = [(name, nbs.grade_id(cell)) for name, _, cell in nbgrader_cells() if nbs.is_check(cell)]
    for gid, ex in load_all().items():
        homes = [name for name, cell_gid in cells if cell_gid == gid]
        assert homes == [ex.lesson], (f"{gid} (lesson {ex.lesson}) has check cells in "
                                      f"{homes or 'no solution notebook'}")


# ---- 5. broken answers fail; solutions hold clean outputs ----------------------------------
BROKEN = {  # grade id: a wrong answer (the body replacing the solution) and the words expected
    "check_dice": ("p, t = np.asarray(pred, bool), np.asarray(target, bool)\n"
                   "return float(2 * (p & t).sum() / (p.sum() + t.sum()))", "0/0"),
    "check_backward": ("for node in reversed(topological_order(root)):\n    node._backward()",
                       "root.grad = 1.0"),
    "check_numerical_gradient": ("grad = np.zeros(x.shape)\nfor i in np.ndindex(x.shape):\n"
                                 "    y = x.copy()\n    y[i] += eps\n"
                                 "    grad[i] = (f(y) - f(x)) / eps\nreturn grad",
                                 "forward differences"),
}


def inject(nb: NotebookNode, gid: str, body: str) -> NotebookNode:
    """`nb` with the solution region of the exercise before check `gid` replaced by `body`."""
    cell = nb.cells[[nbs.grade_id(c) for c in nb.cells].index(gid) - 1]
    start = cell.source.index("### BEGIN SOLUTION")
    end = cell.source.index("### END SOLUTION") + len("### END SOLUTION")
    indent = cell.source[:start].split("\n")[-1]
    cell.source = cell.source[:start] + body.replace("\n", "\n" + indent) + cell.source[end:]
    return nb


@pytest.mark.parametrize("gid", sorted(BROKEN))
def test_broken_answer_fails_its_check(gid: str, filled_tree: Path, tmp_path: Path) -> None:
    exercise = load_all()[gid]
    if exercise.lesson not in NAMES:
        pytest.skip(f"lesson {exercise.lesson} is not written yet")
    body, words = BROKEN[gid]
    name = exercise.lesson
    nb = inject(nbs.read_notebook(filled_tree / name / f"{name}.ipynb"), gid, body)
    check_index = [nbs.grade_id(c) for c in nb.cells].index(gid)
    with pytest.raises(CellFailed) as failure:
        execute(nb, filled_tree / name, skip=demo_cells(nb))
    assert (failure.value.index, failure.value.ename) == (check_index, "CheckFailed"), failure.value
    assert words in failure.value.evalue, failure.value.evalue


@pytest.mark.parametrize("name", NAMES)
def test_solution_is_stored_executed_and_free_of_machine_paths(name: str) -> None:
    nb = solution(name)
    for i, cell in enumerate(nb.cells):
        match = MACHINE_PATH.search(cell.source)
        assert not match, f"{name} cell {i}: a machine path in the source: {match.group(0)!r}"
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, (
            f"{name} cell {i} was not executed: run python -m minitorch_unet.course build {name[:2]}")
        for output in cell.outputs:
            assert output.output_type != "error", f"{name} cell {i} stored an error"
            text = str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
            match = MACHINE_PATH.search(text)
            assert not match, f"{name} cell {i}: a machine path in an output: {match.group(0)!r}"


# ---- the tools themselves ------------------------------------------------------------------
def small_solution() -> NotebookNode:
    return nbs.new_notebook([
        nbs.markdown("# A lesson"),
        nbs.code("import numpy as np"),
        nbs.exercise("double", 'def double(x):\n    """Twice x."""\n    if True:\n'
                               '        ### BEGIN SOLUTION\n        return 2 * x\n'
                               '        ### END SOLUTION'),
        nbs.graded("check_double", "double", points=3, hidden_tests="assert double(2) == 4"),
        nbs.code("print(double(1))", tags=["demo"]),
    ])


def test_lesson_is_made_as_nbgrader_makes_it() -> None:
    source = small_solution()
    source.cells[4].outputs = [nbformat.v4.new_output("stream", text="2\n")]
    source.cells[4].execution_count = 7
    source.cells[2].metadata["scrolled"] = True
    made = nbs.lesson_notebook(source)
    assert made.cells[2].source == ('def double(x):\n    """Twice x."""\n    if True:\n'
                                    "        # YOUR CODE HERE\n        raise NotImplementedError()")
    assert made.cells[3].source == 'check("check_double", double)'
    assert (made.cells[4].outputs, made.cells[4].execution_count) == ([], None)
    assert made.cells[2].metadata == {"nbgrader": source.cells[2].metadata["nbgrader"],
                                      "deletable": False}
    assert made.cells[3].metadata == {"nbgrader": source.cells[3].metadata["nbgrader"],
                                      "deletable": False, "editable": False}
    assert made.cells[4].metadata == {"tags": ["demo"]}
    assert [c.id for c in made.cells] == [c.id for c in source.cells]
    assert source.cells[2].source.count("BEGIN SOLUTION") == 1  # the source is left alone


def test_whole_cell_stubs_and_malformed_regions() -> None:
    nb = small_solution()
    nb.cells[2].source = "def double(x):\n    return 2 * x"
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "Why?", metadata={"nbgrader": {"grade": False, "solution": True, "locked": False,
                                       "grade_id": "why", "schema_version": 3}}))
    made = nbs.lesson_notebook(nb)
    assert made.cells[2].source == nbs.CODE_STUB and made.cells[-1].source == nbs.TEXT_STUB
    for broken, words in [("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "nested"),
                          ("### BEGIN SOLUTION\nx = 1", "no 'END SOLUTION'")]:
        nb.cells[2].source = broken
        with pytest.raises(ValueError, match=words):
            nbs.lesson_notebook(nb)
    nb.cells[2].source = "x = 1"
    nb.cells[1].source = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    with pytest.raises(ValueError, match="cell 1: a solution region in a cell not marked"):
        nbs.lesson_notebook(nb)
    nb.cells[1].source = "### BEGIN HIDDEN TESTS\nx = 1\n### END HIDDEN TESTS"
    with pytest.raises(ValueError, match="hidden-test region in a cell not marked"):
        nbs.lesson_notebook(nb)


def test_fill_solutions_restores_the_answers() -> None:
    source = small_solution()
    filled = nbs.fill_solutions(nbs.lesson_notebook(source), source)
    assert filled.cells[2].source == source.cells[2].source
    assert filled.cells[3].source == 'check("check_double", double)'  # hidden tests stay out


def test_up_to_date_check_and_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    solutions, lessons = tmp_path / "solutions", tmp_path / "lessons"
    nbs.write_notebook(small_solution(), solutions / "00_small" / "00_small.ipynb")
    assert nbs.check_up_to_date(solutions, lessons) == ["00_small: lesson missing"]
    args = ["--solutions", str(solutions), "--lessons", str(lessons)]
    assert cli.main([*args, "lessons", "--check"]) == 1
    assert cli.main([*args, "lessons"]) == 0
    assert cli.main([*args, "lessons", "--check"]) == 0
    edited = lessons / "00_small" / "00_small.ipynb"
    edited.write_text(edited.read_text().replace("YOUR CODE HERE", "my code"))
    nbs.write_notebook(small_solution(), lessons / "01_orphan" / "01_orphan.ipynb")
    capsys.readouterr()
    assert cli.main([*args, "lessons", "--check"]) == 1
    assert capsys.readouterr().out.split("\n")[:2] == [
        "00_small: lesson differs from its solution (hand-edited, or stale)",
        "01_orphan: lesson without a solution notebook"]


def reuse_tree(tmp_path: Path, body: str) -> Path:
    """A lessons/ folder whose lesson 00 defines `dice` with the given body."""
    nb = nbs.new_notebook([
        nbs.code("import numpy as np\nprint('setup')"),
        nbs.code("raise RuntimeError('a demo cell is never run')", tags=["demo"]),
        nbs.exercise("dice", "def dice(pred, target):\n    ### BEGIN SOLUTION\n    "
                     + body.replace("\n", "\n    ") + "\n    ### END SOLUTION"),
        nbs.graded("check_dice", "dice"),
        nbs.code("raise RuntimeError('cells after the check are never run')"),
    ])
    return write_tree(tmp_path / "lessons", {"00_task_and_data": nb})


RIGHT_DICE = ("p, t = np.asarray(pred, bool), np.asarray(target, bool)\n"
              "return 1.0 if not (p.any() or t.any()) else float(2 * (p & t).sum() / (p.sum() + t.sum()))")


def reference_dice(pred: object, target: object) -> float:
    return -1.0


@pytest.mark.parametrize("body, expected", [
    (RIGHT_DICE, "dice: using yours (it passes check_dice)"),
    ("raise NotImplementedError()", "dice: using the engine's reference (yours is not finished yet)"),
    ("return 0.5", "dice: using the engine's reference (yours fails check_dice: dice(both masks "
                   "empty): expected 1, got 0.5."),
])
def test_use_own_or_reference(tmp_path: Path, capsys: pytest.CaptureFixture, body: str,
                              expected: str) -> None:
    lessons = reuse_tree(tmp_path, body)
    chosen = use_own_or_reference("check_dice", reference_dice, lessons_dir=lessons)
    printed = capsys.readouterr().out
    assert printed.startswith(expected), printed
    assert (chosen is reference_dice) == ("reference" in expected)


def test_use_own_or_reference_without_the_notebook(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    assert use_own_or_reference("check_dice", reference_dice, lessons_dir=tmp_path) is reference_dice
    assert "no notebook 00_task_and_data/00_task_and_data.ipynb" in capsys.readouterr().out


def test_plug_in_skips_the_engines_own_functions() -> None:
    import minitorch_unet as mt
    x = mt.ones(1, 1, 4, 4)
    with plug_in(max_pool2d=F.max_pool2d):
        assert F.max_pool2d(x, 2).shape == (1, 1, 2, 2)  # no infinite recursion
    with plug_in(max_pool2d=lambda *args: "mine"):
        assert F.max_pool2d(x, 2) == "mine"


def test_an_earlier_lesson_loads_its_own_earlier_answers_from_the_same_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lessons = reuse_tree(tmp_path, RIGHT_DICE)
    write_tree(lessons, {"01_autograd": nbs.new_notebook([
        nbs.code("from minitorch_unet.course import use_own_or_reference\n"
                 "dice = use_own_or_reference('check_dice', None)\n"
                 "assert dice is not None"),
        nbs.exercise("mul_backward", "def mul_backward(a, b, grad):\n    ### BEGIN SOLUTION\n"
                                     "    return b * grad, a * grad\n    ### END SOLUTION"),
        nbs.graded("check_mul_backward", "mul_backward"),
    ])})
    chosen = use_own_or_reference("check_mul_backward", reference_dice, lessons_dir=lessons)
    assert capsys.readouterr().out == "mul_backward: using yours (it passes check_mul_backward)\n"
    assert chosen(2.0, 3.0, 1.0) == (3.0, 2.0)
