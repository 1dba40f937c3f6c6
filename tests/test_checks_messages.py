"""How checks speak: one line for an unwritten exercise or an exception of the learner's code,
shapes and indices printed plainly, and the defects the catalogue of mistakes turned up."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from minitorch_unet.autograd import Function, Tensor
from minitorch_unet.checks import CheckFailed, NotWritten, check
from minitorch_unet.checks.core import (EXERCISE_CELLS, FAILED, NOT_WRITTEN, exercise_label,
                                        expect_close, load_all, run_check)
from minitorch_unet.course.notebooks import grade_id, is_exercise, lesson_folders, read_notebook
from test_checks_catalogue import (SOLUTIONS, _backward, _forward, forward_with, run,
                                   unbroadcast_trailing_axes)


def test_exercise_numbers_follow_the_solution_notebooks() -> None:
    load_all()
    for folder in lesson_folders(SOLUTIONS):
        cells = read_notebook(folder / f"{folder.name}.ipynb").cells
        assert EXERCISE_CELLS[folder.name] == tuple(grade_id(c) for c in cells if is_exercise(c))
    assert exercise_label("conv2d_backward") == "exercise 6 (`conv2d_backward`)"
    assert exercise_label("a_helper") == "`a_helper`"


def test_an_unwritten_exercise_is_one_line() -> None:
    def conv2d_backward(ctx, grad):
        # YOUR CODE HERE
        raise NotImplementedError()
    result = run("check_conv2d", conv2d_backward=conv2d_backward)
    assert (result.status, result.message) == (NOT_WRITTEN,
                                                "exercise 6 (`conv2d_backward`) is not written yet")
    with pytest.raises(NotWritten, match=r"^exercise 1 \(`dice`\) is not written yet$") as info:
        check("check_dice", lambda pred, target: (_ for _ in ()).throw(NotImplementedError()))
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_an_exception_of_the_learner_names_the_exercise_the_line_and_the_shapes() -> None:
    def conv2d_forward(ctx, x, weight, *bias, stride, padding):
        out = _forward(ctx, x, weight, (), stride, padding)
        return out + bias[0] if bias else out
    result = run("check_conv2d_forward", conv2d_forward=conv2d_forward)
    assert result.status == FAILED
    assert result.message.startswith("exercise 4 (`conv2d_forward`) raised ValueError: operands "
                                      "could not be broadcast together with shapes (2,5,9,11) (5,)")
    assert re.search(r"\(line \d+: `return out \+ bias\[0\] if bias else out`\)", result.message)
    assert "shapes there: out (2, 5, 9, 11)" in result.message
    assert "channel axis (axis 1), `bias[0][:, None, None]` or `.reshape(1, 5, 1, 1)`" in \
        result.message and "\n" not in result.message


def test_an_exception_in_a_helper_names_the_helper_and_its_exercise() -> None:
    def topological_order(root):
        order, seen = [], set()

        def visit(node):
            if node not in seen:
                seen.add(node)
                for child in node.inputs:
                    visit(child)
                order.append(node)
        visit(root)
        return order
    result = run("check_topological_order", topological_order=topological_order)
    assert result.status == FAILED
    assert result.message.startswith("`visit` in exercise 3 (`topological_order`) raised "
                                     "AttributeError"), result.message
    assert "for child in node.inputs:" in result.message and "_prev (the inputs)" in result.message


def test_a_method_named_like_another_lessons_exercise_is_not_called_that_exercise() -> None:
    def cat_backward(ctx, grad):
        return tuple(grad[[slice(None)] * grad.ndim] for _ in ctx.sizes)
    result = run("check_cat", cat_backward=cat_backward)
    assert result.status == FAILED and "raised IndexError" in result.message, result.message
    assert "(`backward`)" not in result.message, result.message


def test_a_runaway_recursion_names_the_line_it_runs_through() -> None:
    def receptive_field(layers):
        return receptive_field(layers[1:]) + layers[0][0] - 1
    result = run("check_receptive_field", receptive_field=receptive_field)
    assert result.status == FAILED
    assert "recursed without end through line" in result.message, result.message
    assert "`return receptive_field(layers[1:]) + layers[0][0] - 1`" in result.message


def test_the_engine_refusing_a_backward_is_a_message() -> None:
    class Halves(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return (grad[:1],)
    result = run_check("check_cat", lambda tensors, dim=0: Halves.apply(*tensors[:2]))
    assert result.status == FAILED and "Traceback" not in result.message


# ---- the defects ---------------------------------------------------------------------------------
def test_a_wrong_size_reports_the_learners_shape_and_the_off_by_note() -> None:
    """It reported 'got (4,)', the shape of the shape, and lost the note."""
    def conv2d_forward(ctx, x, weight, *bias, stride, padding):
        out = _forward(ctx, x, weight, bias, stride, padding)
        return np.pad(out, ((0, 0), (0, 0), (0, 1), (0, 0)))   # one row too many
    message = run("check_conv2d_forward", conv2d_forward=conv2d_forward).message
    assert "got (1, 1, 6, 5)" in message and "(4,)" not in message
    assert "dims [2] off by [1]" in message


def test_a_bias_along_the_wrong_axis_is_named() -> None:
    """The diagnosis needed W_out == O, which no check case has."""
    for bug in ("bias_last_axis", "bias_first_axis"):
        message = run("check_conv2d_forward", conv2d_forward=forward_with(bug)).message
        assert "axis 1" in message and "(1, 5, 1, 1)" in message, message


def test_max_pool_per_window_overwrite_is_named() -> None:
    from test_checks_catalogue import POOL_FORWARD, pool_backward_assigns
    message = run("check_max_pool2d", max_pool2d_backward=pool_backward_assigns, **POOL_FORWARD).message
    assert "overwrote an earlier one" in message


def test_the_keepdims_hint_is_given_only_where_shape_has_a_one() -> None:
    message = run("check_unbroadcast", unbroadcast=unbroadcast_trailing_axes).message
    assert "shape=(4, 5)" in message and "where `shape` has a 1" not in message
    assert "in front" in message


def test_indices_are_plain_ints_and_a_scalar_has_no_index() -> None:
    def numerical_gradient(f, x, eps=1e-6):
        x += 0.5
        return np.zeros_like(x)
    message = run("check_numerical_gradient", numerical_gradient=numerical_gradient).message
    assert "x[0, 0] was" in message and "np.int64" not in message

    with pytest.raises(CheckFailed) as info:
        expect_close("the loss", np.float32(0.5), np.array(0.25))
    assert str(info.value) == "the loss: expected 0.25, got 0.5 (off by 0.25)"


def test_a_backward_may_return_a_list() -> None:
    def conv2d_backward(ctx, grad):
        return list(_backward(ctx, grad))
    assert run("check_conv2d", conv2d_backward=conv2d_backward).status == "passed"

    class Twice(Function):
        @staticmethod
        def forward(ctx, a, b):
            return 2 * a + b

        @staticmethod
        def backward(ctx, grad):
            return [2 * grad, grad]
    a, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    Twice.apply(a, b).sum().backward()
    assert a.grad.data.tolist() == [2.0] * 3 and b.grad.data.tolist() == [1.0] * 3


def test_load_all_registers_every_lesson() -> None:
    assert {e.lesson for e in load_all().values()} == set(EXERCISE_CELLS)
    with pytest.raises(CheckFailed):
        check("check_relative_error", lambda a, b: 0.5)


def _raising_frame(filename: str, register: bool):
    """The frame of `f`, compiled under `filename` in a namespace named `__main__` (as a
    script's), where it raises; the cell's source registered with the file cache or not."""
    import linecache
    source = "import sys\n\ndef f():\n    return sys._getframe()\n"
    if register:
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"__name__": "__main__", "__loader__": type("Loader", (), {
        "get_source": staticmethod(lambda name: '"""a docstring"""\nx = 1\ny = 2\nz = 3\n')})()}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"]()


def test_source_lines_of_another_module_are_not_shown():
    """A name the file cache fills from `__main__`'s loader holds another file's lines: a
    message must not quote them as the learner's; a registered cell's lines it quotes."""
    from minitorch_unet.checks.core import _source_line, frame_lines
    stray = _raising_frame("plain_cell_name", register=False)
    assert frame_lines(stray) == [] and _source_line(stray, 4) == ""
    cell = _raising_frame("<lesson cell 3>", register=True)
    assert _source_line(cell, 4) == "return sys._getframe()"


def conv2d_backward_as_one_array(ctx, grad):
    """The three gradients, of three shapes, put into one array."""
    grads = list(_backward(ctx, grad))
    return np.array(grads)


def cat_forward_as_one_array(ctx, *arrays, dim):
    """The pieces, of sizes that differ along dim, put into one array before joining."""
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    pieces = np.array(arrays)
    return np.concatenate(pieces, axis=dim)


@pytest.mark.parametrize("grade, function, answer, said", [
    ("check_conv2d", "conv2d_backward", conv2d_backward_as_one_array,
     "`grads` holds arrays of shapes (1, 1, 7, 7), (1, 1, 3, 3), (1,), which `np.array` cannot "
     "put into one array: return the gradients themselves, as a tuple"),
    ("check_cat", "cat_forward", cat_forward_as_one_array,
     "`arrays` holds arrays of shapes (2, 3, 4), (1, 3, 4), which `np.array` cannot put"),
])
def test_arrays_on_the_failing_line_are_named_by_their_shapes_not_as_a_pair(
        grade: str, function: str, answer, said: str) -> None:
    message = run(grade, **{function: answer}).message
    assert said in message, message
    assert "array([" not in message and "dtype=" not in message, message
    assert "pair" not in message, message


def test_a_list_of_sizes_beside_the_failing_term_is_not_called_a_pair() -> None:
    """`ctx.sizes` is on the line, but the error comes from adding the tuple of arrays."""
    def cat_forward(ctx, *arrays, dim):
        ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
        return np.zeros(sum(ctx.sizes)) + arrays
    message = run("check_cat", cat_forward=cat_forward).message
    assert "raised ValueError" in message and "ctx.sizes` is" not in message and \
        "pair" not in message, message


def test_a_pair_that_is_not_per_axis_is_not_given_a_height_and_a_width() -> None:
    def receptive_field(layers):
        rf, jump = 1, 1
        for layer in layers:
            rf += (layer - 1) * jump
            jump *= layer
        return rf
    message = run("check_receptive_field", receptive_field=receptive_field).message
    assert "`layer` is (3, 1), a tuple, in `layer - 1`, where one number belongs" in message
    assert "height" not in message and "or unpack it into names" in message, message


def test_values_unpacked_from_a_list_of_arrays_are_shown_by_their_shapes() -> None:
    def cat_backward(ctx, grad):
        first, second = np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim)
        return first, second
    message = run("check_cat", cat_backward=cat_backward).message
    assert "holds 3 entries, arrays of shapes (2, 1, 4), (2, 3, 4), (2, 2, 4), where " \
        "`(first, second)` unpacks 2" in message, message
    assert "array([" not in message, message


def test_a_long_value_is_cut_short_in_a_message() -> None:
    from minitorch_unet.checks.core import _brief
    assert _brief(np.zeros((50, 50))) == "an array of shape (50, 50)"
    assert _brief(tuple(range(100))).endswith("...") and len(_brief(tuple(range(100)))) == 60
    assert _brief((np.int64(2), 3)) == "(2, 3)"


def test_the_hint_for_pieces_of_other_shapes_claims_no_cause() -> None:
    """From the error's text alone, the pieces' shapes are unknown: no slice is blamed."""
    from minitorch_unet.checks.core import error_hint
    hint = error_hint("setting an array element with a sequence. The requested array has an "
                      "inhomogeneous shape after 1 dimensions.", {})
    assert hint.startswith("the pieces put into one array have different shapes, and every "
                           "piece must have the same") and "some are cut short" not in hint, hint


def test_numpy_warnings_of_a_wrong_answer_do_not_print_beside_the_message() -> None:
    def bce_with_logits(logits, target):  # log(sigmoid(x)): log(0) and inf * 0 for large |x|
        p = logits.sigmoid()
        return (-(target * p.log() + (1 - target) * (1 - p).log())).mean()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run("check_bce_with_logits", bce_with_logits=bce_with_logits)
    assert result.status == FAILED and "overflows" in result.message
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []
    with warnings.catch_warnings(record=True) as caught:  # the silence ends with the check
        warnings.simplefilter("always")
        np.log(np.zeros(1))
    assert [w.category for w in caught] == [RuntimeWarning]
