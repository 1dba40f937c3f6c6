"""A catalogue of typical wrong answers, each run through its lesson's own check.

Every entry is a function with the exercise's signature (plugged into the solution notebook
in place of the learner's), the check it goes through, and the words its message must hold
to name the mistake. None may pass, none may end in a traceback. Right answers written
differently (loops, float64, views, lists from backward, np.add.at) must pass.
"""
from __future__ import annotations

import contextlib
import io
import linecache
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from minitorch_unet import convolution
from minitorch_unet.checks.core import FAILED, PASSED, Result, load_all, run_check
from minitorch_unet.course.notebooks import is_check, is_demo, read_notebook

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
windows, pad2d = convolution.windows, convolution.pad2d


@lru_cache(maxsize=None)
def solution(lesson: str) -> dict[str, Any]:
    """The namespace of the solution notebook's code cells (not demo or check cells), run in
    its folder as a learner's notebook would be."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    here = os.getcwd()
    os.chdir(SOLUTIONS / lesson)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            cells = read_notebook(SOLUTIONS / lesson / f"{lesson}.ipynb").cells
            for index, cell in enumerate(cells):
                if cell.cell_type == "code" and not is_check(cell) and not is_demo(cell):
                    filename = f"<{lesson} cell {index}>"  # registered, as a notebook's cells are
                    linecache.cache[filename] = (len(cell.source), None,
                                                 cell.source.splitlines(True), filename)
                    exec(compile(cell.source, filename, "exec"), namespace)
    finally:
        os.chdir(here)
    return namespace


def run(grade: str, **answers: Callable[..., Any]) -> Result:
    """Check `grade` on the solution with the learner's functions `answers` in place."""
    namespace = solution(load_all()[grade].lesson)
    saved = {name: namespace[name] for name in answers}
    namespace.update(answers)
    try:
        return run_check(grade, namespace[load_all()[grade].function])
    finally:
        namespace.update(saved)


@dataclass(frozen=True)
class Mistake:
    name: str
    grade: str
    answers: dict[str, Callable[..., Any]]
    words: tuple[str, ...]


Answers = dict[str, Callable[..., Any]]


def registrars(mistakes: list[Mistake], rights: list[tuple[str, str, Answers]]
               ) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The two decorators of a catalogue file, filling its lists: ``mistake(grade, function,
    *words, also=None)`` marks a wrong `function` for check `grade`, whose message must hold
    every one of `words`; ``right(grade, function, also=None)`` marks a right one written
    differently. `also`: the learner's other functions, right ones, in place too."""
    def mistake(grade: str, function: str, *words: str,
                also: Answers | None = None) -> Callable[..., Any]:
        def add(fn: Callable[..., Any]) -> Callable[..., Any]:
            mistakes.append(Mistake(fn.__name__, grade, {function: fn, **(also or {})}, words))
            return fn
        return add

    def right(grade: str, function: str, also: Answers | None = None) -> Callable[..., Any]:
        def add(fn: Callable[..., Any]) -> Callable[..., Any]:
            rights.append((fn.__name__, grade, {function: fn, **(also or {})}))
            return fn
        return add
    return mistake, right


def catalogue_tests(mistakes: list[Mistake], rights: list[tuple[str, str, Answers]]
                    ) -> tuple[Callable[..., None], Callable[..., None]]:
    """A catalogue file's two tests, for its lists: every mistake fails with a message that
    holds its words; every right answer written differently passes. Assign them to
    ``test_the_mistake_is_named`` and ``test_a_right_answer_written_differently_passes``."""
    @pytest.mark.parametrize("entry", mistakes, ids=[m.name for m in mistakes])
    def named(entry: Mistake) -> None:
        result = run(entry.grade, **entry.answers)
        assert result.status == FAILED, result
        assert all(word in result.message for word in entry.words), result.message

    @pytest.mark.parametrize("name, grade, answers", rights, ids=[r[0] for r in rights])
    def passes(name: str, grade: str, answers: Answers) -> None:
        result = run(grade, **answers)
        assert result.status == PASSED, result.message
    return named, passes


CATALOGUE: list[Mistake] = []
RIGHT: list[tuple[str, str, Answers]] = []
mistake, right = registrars(CATALOGUE, RIGHT)


# ---- 00: dice ----------------------------------------------------------------------------------
def _pt(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(pred).astype(bool), np.asarray(target).astype(bool)


@mistake("check_dice", "dice", "0/0")
def dice_nan_when_empty(pred, target):
    p, t = _pt(pred, target)
    with np.errstate(invalid="ignore"):
        return float(2 * (p & t).sum() / (p.sum() + t.sum()))


@mistake("check_dice", "dice", "Both masks are empty")
def dice_zero_when_empty(pred, target):
    p, t = _pt(pred, target)
    return 0.0 if p.sum() + t.sum() == 0 else float(2 * (p & t).sum() / (p.sum() + t.sum()))


@mistake("check_dice", "dice", "IoU")
def dice_is_iou(pred, target):
    p, t = _pt(pred, target)
    return 1.0 if not (p | t).any() else float((p & t).sum() / (p | t).sum())


@mistake("check_dice", "dice", "factor 2")
def dice_without_two(pred, target):
    p, t = _pt(pred, target)
    return 1.0 if not (p | t).any() else float((p & t).sum() / (p.sum() + t.sum()))


@mistake("check_dice", "dice", "pixel accuracy")
def dice_is_accuracy(pred, target):
    p, t = _pt(pred, target)
    return float((p == t).mean())


@mistake("check_dice", "dice", "smoothing")
def dice_smoothed(pred, target):
    p, t = _pt(pred, target)
    return float((2 * (p & t).sum() + 1) / (p.sum() + t.sum() + 1))


@mistake("check_dice", "dice", "expected one number")
def dice_per_image(pred, target):
    p, t = _pt(pred, target)
    axes = tuple(range(1, p.ndim))
    return 2 * (p & t).sum(axes) / np.maximum(p.sum(axes) + t.sum(axes), 1)


@mistake("check_dice", "dice", "background")
def dice_counts_agreement(pred, target):
    p, t = _pt(pred, target)
    return 1.0 if not (p | t).any() else float(2 * (p == t).sum() / (p.sum() + t.sum()))


@right("check_dice", "dice")
def dice_with_loops(pred, target):
    inter = size = 0
    for a, b in zip(np.ravel(pred), np.ravel(target)):
        inter += bool(a) and bool(b)
        size += bool(a) + bool(b)
    return 1.0 if size == 0 else 2.0 * inter / size


# ---- 01: autograd -------------------------------------------------------------------------------
@mistake("check_mul_backward", "mul_backward", "swapped")
def mul_swapped(a, b, grad):
    return a * grad, b * grad


@mistake("check_mul_backward", "mul_backward", "multiply them by grad")
def mul_no_chain(a, b, grad):
    return b, a


@mistake("check_mul_backward", "mul_backward", "must return two numbers")
def mul_one_number(a, b, grad):
    return a * b * grad


@mistake("check_mul_backward", "mul_backward", "a + b")
def mul_like_add(a, b, grad):
    return grad, grad


@right("check_mul_backward", "mul_backward")
def mul_as_list(a, b, grad):
    return [np.float64(b) * grad, np.float64(a) * grad]


@mistake("check_tanh_backward", "tanh_backward", "1 - x**2")
def tanh_squares_input(x, grad):
    return (1 - x ** 2) * grad


@mistake("check_tanh_backward", "tanh_backward", "without multiplying it by grad")
def tanh_no_chain(x, grad):
    return 1 - np.tanh(x) ** 2


@mistake("check_tanh_backward", "tanh_backward", "1 - tanh(x);")
def tanh_unsquared(x, grad):
    return (1 - np.tanh(x)) * grad


@mistake("check_tanh_backward", "tanh_backward", "tanh(x)**2;")
def tanh_squared_only(x, grad):
    return np.tanh(x) ** 2 * grad


@mistake("check_tanh_backward", "tanh_backward", "sign")
def tanh_sign(x, grad):
    return (np.tanh(x) ** 2 - 1) * grad


def _children(node):
    return node._prev


@mistake("check_topological_order", "topological_order", "appears", "visited")
def topo_without_visited(root):
    order = []

    def visit(node):
        for child in _children(node):
            visit(child)
        order.append(node)
    visit(root)
    return order


@mistake("check_topological_order", "topological_order", "output comes first")
def topo_preorder(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            order.append(node)
            for child in _children(node):
                visit(child)
    visit(root)
    return order


@mistake("check_topological_order", "topological_order", "missing")
def topo_without_leaves(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen and node._prev:
            seen.add(node)
            for child in _children(node):
                visit(child)
            order.append(node)
    visit(root)
    return order or [root]


@mistake("check_topological_order", "topological_order", "output", "itself is missing")
def topo_inputs_of_root_only(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in _children(node):
                visit(child)
            order.append(node)
    for child in _children(root):
        visit(child)
    return order


def _postorder(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in _children(node):
                visit(child)
            order.append(node)
    visit(root)
    return order


def _root_first_by_users(root):
    """Every node once, the output first, each node as soon as all its users are listed."""
    nodes, users = _postorder(root), {}
    for node in nodes:
        for child in _children(node):
            users[child] = users.get(child, 0) + 1
    order, ready = [], [root]
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in _children(node):
            users[child] -= 1
            if users[child] == 0:
                ready.append(child)
    return order


@mistake("check_topological_order", "topological_order", "read backwards")
def topo_root_first_by_users(root):
    return _root_first_by_users(root)


@right("check_topological_order", "topological_order")
def topo_leaves_first_by_users(root):
    return _root_first_by_users(root)[::-1]


@right("check_topological_order", "topological_order")
def topo_iterative(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in node._prev if id(c) not in seen)
    return order


def _visit_with_defaults(node, order=[], visited=set()):  # noqa: B006 - the mistake
    if node not in visited:
        visited.add(node)
        for child in node._prev:
            _visit_with_defaults(child, order, visited)
        order.append(node)
    return order


@mistake("check_topological_order", "topological_order", "earlier calls",
         "the default argument order=[] of `_visit_with_defaults`")
def topo_helper_with_mutable_defaults(root):
    return _visit_with_defaults(root)


@mistake("check_topological_order", "topological_order", "earlier calls", "survives between calls")
def topo_default_list_argument(root, order=[]):  # noqa: B006 - the mistake
    seen = set(order)

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    return order


TOPO_ORDER: list = []


@mistake("check_topological_order", "topological_order", "earlier calls",
         "the module-level list `TOPO_ORDER`")
def topo_module_level_list(root):
    def visit(node):
        if node not in TOPO_ORDER:
            for child in node._prev:
                visit(child)
            TOPO_ORDER.append(node)
    visit(root)
    return TOPO_ORDER


@right("check_topological_order", "topological_order")
def topo_helper_with_fresh_state(root):
    def visit(node, order=None, visited=None):
        order = [] if order is None else order
        visited = set() if visited is None else visited
        if node not in visited:
            visited.add(node)
            for child in node._prev:
                visit(child, order, visited)
            order.append(node)
        return order
    return visit(root)


def _order(root):
    return solution("01_autograd")["topological_order"](root)


@mistake("check_backward", "backward", "0 all along", "set root.grad = 1.0")
def backward_without_seed(root):
    for node in reversed(_order(root)):
        node._backward()


@mistake("check_backward", "backward", "a reset (node.grad = 0) runs after root.grad = 1.0")
def backward_resets_after_seed(root):
    root.grad = 1.0
    for node in _order(root):
        node.grad = 0.0
    for node in reversed(_order(root)):
        node._backward()


@mistake("check_backward", "backward", "calls a node's .backward()", "call node._backward()")
def backward_calls_backward(root):
    root.grad = 1.0
    for node in reversed(_order(root)):
        node.backward()


@mistake("check_backward", "backward", "calls a node's .backward()", "call node._backward()")
def backward_calls_root_backward(root):
    root.grad = 1.0
    root.backward()


@right("check_backward", "backward")
def backward_reversed_in_place(root):
    order = list(_order(root))
    order.reverse()
    root.grad = 1.0
    for node in order:
        node._backward()


@mistake("check_backward", "backward", "in reverse")
def backward_forward_order(root):
    root.grad = 1.0
    for node in _order(root):
        node._backward()


@mistake("check_backward", "backward", "never sent its gradient back")
def backward_root_only(root):
    root.grad = 1.0
    root._backward()


def _summed_without_return(grad, axes):
    grad.sum(axis=axes, keepdims=True)


@mistake("check_unbroadcast", "unbroadcast", "a function that ends without `return`")
def unbroadcast_helper_without_return(grad, shape):
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))
    ones = tuple(i for i, n in enumerate(shape) if n == 1)
    grad = _summed_without_return(grad, ones) if ones else grad
    return grad.reshape(shape)


@mistake("check_unbroadcast", "unbroadcast", "you summed grad (3, 4, 5) over axis 0;",
         "the axes to sum are axis 1 with keepdims=True")
def unbroadcast_sums_axis_0_once(grad, shape):
    """Sums axis 0 whenever the shapes differ: the bias-of-a-batch case only."""
    return grad.sum(axis=0) if grad.shape != tuple(shape) else grad


@right("check_unbroadcast", "unbroadcast")
def unbroadcast_one_axis_at_a_time(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


@mistake("check_unbroadcast", "unbroadcast", "unchanged")
def unbroadcast_identity(grad, shape):
    return grad


@mistake("check_unbroadcast", "unbroadcast", "averaged")
def unbroadcast_mean(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.mean(axis=0)
    for axis, n in enumerate(shape):
        if n == 1:
            grad = grad.mean(axis=axis, keepdims=True)
    return grad


@mistake("check_unbroadcast", "unbroadcast", "where `shape` has a 1")
def unbroadcast_leading_only(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad


@mistake("check_unbroadcast", "unbroadcast", "reshape the result")
def unbroadcast_no_keepdims(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis in reversed(range(len(shape))):
        if shape[axis] == 1:
            grad = grad.sum(axis=axis)
    return grad


@mistake("check_unbroadcast", "unbroadcast", "in front")
def unbroadcast_trailing_axes(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=-1)
    for axis, n in enumerate(shape):
        if n == 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


@mistake("check_unbroadcast", "unbroadcast", "everything")
def unbroadcast_sum_all(grad, shape):
    return grad.sum()


@right("check_unbroadcast", "unbroadcast")
def unbroadcast_float64_reshape(grad, shape):
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape) if n == 1)
    return grad.astype(np.float64).sum(axis=axes).reshape(shape)


# ---- 02: gradient checking ------------------------------------------------------------------------
def _central(f, x, eps, combine):
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        base = f(x)
        grad[i] = combine(up, down, base, eps)
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "forward differences")
def numgrad_forward(f, x, eps=1e-6):
    return _central(f, x, eps, lambda up, down, base, e: (up - base) / e)


@mistake("check_numerical_gradient", "numerical_gradient", "backward differences")
def numgrad_backward(f, x, eps=1e-6):
    return _central(f, x, eps, lambda up, down, base, e: (base - down) / e)


@mistake("check_numerical_gradient", "numerical_gradient", "twice the gradient")
def numgrad_not_halved(f, x, eps=1e-6):
    return _central(f, x, eps, lambda up, down, base, e: (up - down) / e)


@mistake("check_numerical_gradient", "numerical_gradient", "not the eps given")
def numgrad_fixed_eps(f, x, eps=1e-6):
    return _central(f, x, 1e-5, lambda up, down, base, e: (up - down) / (2 * e))


@mistake("check_numerical_gradient", "numerical_gradient", "changed x")
def numgrad_leaves_x_moved(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        up = f(x)
        x[i] -= 2 * eps
        grad[i] = (up - f(x)) / (2 * eps)
    return grad


@mistake("check_numerical_gradient", "numerical_gradient", "one partial derivative per entry")
def numgrad_flat(f, x, eps=1e-6):
    return _central(f, x, eps, lambda up, down, base, e: (up - down) / (2 * e)).ravel()


@right("check_numerical_gradient", "numerical_gradient")
def numgrad_views(f, x, eps=1e-6):
    flat, grad = x.reshape(-1), np.empty(x.size)
    for i in range(x.size):
        old = flat[i]
        flat[i] = old + eps
        up = f(x)
        flat[i] = old - eps
        down = f(x)
        flat[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad.reshape(x.shape)


def _ab(a, b):
    return np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)


@mistake("check_relative_error", "relative_error", "mean")
def relerr_mean(a, b):
    a, b = _ab(a, b)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.mean(np.abs(a - b) / np.where(scale == 0, 1, scale)))


@mistake("check_relative_error", "relative_error", "|a| + |b|")
def relerr_sum_of_sizes(a, b):
    a, b = _ab(a, b)
    scale = np.abs(a) + np.abs(b)
    return float(np.max(np.abs(a - b) / np.where(scale == 0, 1, scale)))


@mistake("check_relative_error", "relative_error", "|a| alone")
def relerr_first_only(a, b):
    a, b = _ab(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.abs(a - b) / np.abs(a)))


@mistake("check_relative_error", "relative_error", "0/0")
def relerr_no_zero_rule(a, b):
    a, b = _ab(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))))


@mistake("check_relative_error", "relative_error", "norms")
def relerr_norms(a, b):
    a, b = _ab(a, b)
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


@mistake("check_relative_error", "relative_error", "largest difference")
def relerr_max_over_max(a, b):
    a, b = _ab(a, b)
    scale = max(np.abs(a).max(), np.abs(b).max())
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


@mistake("check_relative_error", "relative_error", "absolute value")
def relerr_signed(a, b):
    a, b = _ab(a, b)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.max((a - b) / np.where(scale == 0, 1, scale)))


@mistake("check_relative_error", "relative_error", "sum")
def relerr_sum(a, b):
    a, b = _ab(a, b)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.sum(np.abs(a - b) / np.where(scale == 0, 1, scale)))


@right("check_relative_error", "relative_error")
def relerr_loop(a, b):
    worst = 0.0
    for x, y in zip(np.ravel(a), np.ravel(b)):
        if x != y:
            worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
    return worst



# ---- 03: convolution ------------------------------------------------------------------------------
def _naive(x, weight, bias, stride, padding, flip=False, size_rule=None, bias_times=1,
           pad_top_left_only=False):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    pads = ((padding, 0), (padding, 0)) if pad_top_left_only else ((padding, padding),) * 2
    xpad = np.pad(x, ((0, 0), (0, 0)) + pads)
    rule = size_rule or (lambda size, k: (size + 2 * padding - k) // stride + 1)
    ho, wo = rule(h, kh), rule(w, kw)
    kernel = weight[:, :, ::-1, ::-1] if flip else weight
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("ncab,ocab->no", window, kernel)
    if bias is not None:
        out += bias_times * bias[:, None, None]
    return out


@mistake("check_conv2d_naive", "conv2d_naive", "kernel is flipped")
def naive_flipped(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, flip=True)


@mistake("check_conv2d_naive", "conv2d_naive", "bias is missing")
def naive_no_bias(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, None, stride, padding)


@mistake("check_conv2d_naive", "conv2d_naive", "bias is added twice")
def naive_bias_twice(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, bias_times=2)


@mistake("check_conv2d_naive", "conv2d_naive", "+ 1 is missing")
def naive_no_plus_one(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding,
                  size_rule=lambda size, k: (size + 2 * padding - k) // stride)


@mistake("check_conv2d_naive", "conv2d_naive", "padding is not applied")
def naive_no_padding(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, 0)


@mistake("check_conv2d_naive", "conv2d_naive", "stride is ignored")
def naive_no_stride(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, 1, padding)


@mistake("check_conv2d_naive", "conv2d_naive", "one side only")
def naive_pad_one_side(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, pad_top_left_only=True,
                  size_rule=lambda size, k: (size + padding - k) // stride + 1)


@right("check_conv2d_naive", "conv2d_naive")
def naive_float64_einsum(x, weight, bias=None, stride=1, padding=0):
    return _naive(x.astype(np.float64), weight.astype(np.float64), bias, stride, padding)


def _windows(x, kh, kw, sh, sw):
    return windows(x, kh, kw, sh, sw)  # (N, C, Ho, Wo, kh, kw)


@mistake("check_im2col", "im2col", "transposed")
def im2col_transposed(x, kh, kw, sh, sw):
    win = _windows(x, kh, kw, sh, sw)
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw).T


@mistake("check_im2col", "im2col", "without the transpose")
def im2col_reshape_only(x, kh, kw, sh, sw):
    win = _windows(x, kh, kw, sh, sw)
    n, c, ho, wo = win.shape[:4]
    return win.reshape(n * ho * wo, c * kh * kw)


@mistake("check_im2col", "im2col", "(a, b, c)")
def im2col_channels_last(x, kh, kw, sh, sw):
    win = _windows(x, kh, kw, sh, sw)
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 4, 5, 1).reshape(n * ho * wo, c * kh * kw)


@mistake("check_im2col", "im2col", "(c, b, a)")
def im2col_kernel_transposed(x, kh, kw, sh, sw):
    win = _windows(x, kh, kw, sh, sw)
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 5, 4).reshape(n * ho * wo, c * kh * kw)


@mistake("check_im2col", "im2col", "stride is ignored")
def im2col_no_stride(x, kh, kw, sh, sw):
    return convolution.im2col(x, kh, kw, 1, 1)


@right("check_im2col", "im2col")
def im2col_loops(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    rows = []
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                rows.append(x[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw].ravel())
    return np.array(rows)


def _col2im(cols, shape, kh, kw, sh, sw, assign=False, stride_in_place=True):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape)
    for i in range(ho):
        for j in range(wo):
            top, left = (i * sh, j * sw) if stride_in_place else (i, j)
            if assign:
                out[:, :, top:top + kh, left:left + kw] = cols[:, i, j]
            else:
                out[:, :, top:top + kh, left:left + kw] += cols[:, i, j]
    return out


@mistake("check_col2im", "col2im", "overwrite each other")
def col2im_assigns(cols, shape, kh, kw, sh, sw):
    return _col2im(cols, shape, kh, kw, sh, sw, assign=True)


@mistake("check_col2im", "col2im", "stride")
def col2im_no_stride(cols, shape, kh, kw, sh, sw):
    return _col2im(cols, shape, kh, kw, sh, sw, stride_in_place=False)


@mistake("check_col2im", "col2im", "without the transpose")
def col2im_reshape_only(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    return _col2im(cols.reshape(n, c, ho, wo, kh, kw).transpose(0, 2, 3, 1, 4, 5).reshape(len(cols), -1),
                   shape, kh, kw, sh, sw)


@right("check_col2im", "col2im")
def col2im_add_at(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape, dtype=np.float64)
    rows = (np.arange(ho)[:, None] * sh + np.arange(kh)[None, :])  # (ho, kh)
    columns = (np.arange(wo)[:, None] * sw + np.arange(kw)[None, :])  # (wo, kw)
    values = cols.reshape(n, ho, wo, c, kh, kw).transpose(0, 3, 1, 2, 4, 5)
    np.add.at(out, (slice(None), slice(None), rows[:, None, :, None], columns[None, :, None, :]),
              values)
    return out


def _forward(ctx, x, weight, bias, stride, padding, bug=""):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = convolution.im2col(xpad, kh, kw, sh, sw)
    used = weight[:, :, ::-1, ::-1] if bug == "flip" else weight
    matrix = used.reshape(-1, o) if bug == "weight_reshape" else used.reshape(o, -1).T
    out = cols @ matrix
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    if bug == "reshape_only":
        out = out.reshape(x.shape[0], o, ho, wo)
    else:
        out = out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    if bias and bug == "bias_last_axis":
        return out + bias[0]
    if bias and bug == "bias_first_axis":
        return out + bias[0][:, None, None, None]
    if bias and bug != "no_bias":
        out = out + bias[0][:, None, None]
    return out


def forward_with(bug):
    def conv2d_forward(ctx, x, weight, *bias, stride, padding):
        return _forward(ctx, x, weight, bias, stride, padding, bug)
    conv2d_forward.__name__ = f"conv2d_forward_{bug}"
    return conv2d_forward


for _bug, _words in (("flip", ("kernel is flipped",)), ("no_bias", ("bias is missing",)),
                     ("weight_reshape", ("weight.reshape(O, -1).T",)),
                     ("reshape_only", ("(N, Ho, Wo, O)",)),
                     ("bias_last_axis", ("`bias[0]` (5,) holds one value per channel",
                                         "bias[0][:, None, None]")),
                     ("bias_first_axis", ("axis 1",))):
    CATALOGUE.append(Mistake(f"conv2d_forward_{_bug}", "check_conv2d_forward",
                             {"conv2d_forward": forward_with(_bug)}, _words))


def _backward(ctx, grad, bug=""):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    n = grad.shape[0]
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    rows = g @ ctx.weight.reshape(o, -1)
    if bug == "assign":
        grad_x = _col2im(rows, ctx.padded_shape, kh, kw, sh, sw, assign=True)
    else:
        grad_x = convolution.col2im(rows, ctx.padded_shape, kh, kw, sh, sw)
    h, w = ctx.padded_shape[2] - 2 * ph, ctx.padded_shape[3] - 2 * pw
    if bug == "no_crop":
        pass
    elif bug == "crop_top_left":
        grad_x = grad_x[:, :, :h, :w]
    else:
        grad_x = grad_x[:, :, ph:ph + h, pw:pw + w]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    if bug == "weight_mean":
        grad_weight = grad_weight / n
    if bug == "weight_first_sample":
        per = len(g) // n
        grad_weight = (g[:per].T @ ctx.cols[:per]).reshape(ctx.weight.shape)
    grad_bias = g.sum(axis=0)
    if bug == "bias_mean":
        grad_bias = g.mean(axis=0)
    if bug == "bias_batch_only":
        grad_bias = grad.sum(axis=0)
    if bug == "swap":
        return (grad_weight, grad_x) + ((grad_bias,) if ctx.has_bias else ())
    if bug == "no_bias_grad":
        return grad_x, grad_weight
    return (grad_x, grad_weight) + ((grad_bias,) if ctx.has_bias else ())


def backward_with(bug):
    def conv2d_backward(ctx, grad):
        return _backward(ctx, grad, bug)
    return conv2d_backward


for _bug, _words in (("assign", ("overlapping windows", "+=")),
                     ("no_crop", ("cut the padding off",)),
                     ("crop_top_left", ("padding", "each side")),
                     ("weight_mean", ("grad_weight", "divided by the batch size")),
                     ("weight_first_sample", ("grad_weight", "first sample")),
                     ("bias_mean", ("grad_bias is the mean",)),
                     ("bias_batch_only", ("for bias", "sum it over")),
                     ("swap", ("wrong order",)),
                     ("no_bias_grad", ("returned 2 gradients for 3 tensor inputs",))):
    CATALOGUE.append(Mistake(f"conv2d_backward_{_bug}", "check_conv2d",
                             {"conv2d_backward": backward_with(_bug)}, _words))


@right("check_conv2d", "conv2d_backward")
def conv2d_backward_list(ctx, grad):
    return list(_backward(ctx, grad))


@right("check_conv2d", "conv2d_backward")
def conv2d_backward_float64_einsum(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    g = grad.astype(np.float64).transpose(0, 2, 3, 1).reshape(-1, o)
    grad_x = col2im_add_at(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
    grad_weight = np.einsum("ro,rk->ok", g, ctx.cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight, grad.sum(axis=(0, 2, 3))) if ctx.has_bias else (grad_x, grad_weight)



# ---- 04: max pooling ----------------------------------------------------------------------------
def _pool_forward(ctx, x, kernel, stride, padding, fill=-np.inf, reduce="max"):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    win = windows(xpad, kh, kw, sh, sw)
    flat = win.reshape(win.shape[:4] + (kh * kw,))
    ctx.argmax, ctx.padded_shape, ctx.params = flat.argmax(-1), xpad.shape, (kernel, stride, padding)
    ctx.window_max = flat.max(-1)
    ctx.flat = flat
    return flat.max(-1) if reduce == "max" else flat.mean(-1)


@mistake("check_max_pool2d_forward", "max_pool2d_forward", "filled with zeros")
def pool_zero_padding(ctx, x, kernel, stride, padding):
    return _pool_forward(ctx, x, kernel, stride, padding, fill=0.0)


@mistake("check_max_pool2d_forward", "max_pool2d_forward", "average pooling")
def pool_mean(ctx, x, kernel, stride, padding):
    return _pool_forward(ctx, x, kernel, stride, padding, reduce="mean")


@mistake("check_max_pool2d_forward", "max_pool2d", "defaults to kernel_size")
def max_pool2d_stride_one(input, kernel_size, stride=None, padding=0):
    namespace = solution("04_max_pooling")
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    return namespace["MaxPool2dFunction"].apply(input, kernel=pair(kernel_size),
                                                stride=pair(1 if stride is None else stride),
                                                padding=pair(padding))


@mistake("check_max_pool2d_forward", "max_pool2d_forward", "+ 1 is missing")
def pool_no_plus_one(ctx, x, kernel, stride, padding):
    return _pool_forward(ctx, x, kernel, stride, padding)[:, :, :-1, :-1]


def pool_forward(ctx, x, kernel, stride, padding):
    return _pool_forward(ctx, x, kernel, stride, padding)


POOL_FORWARD = {"max_pool2d_forward": pool_forward}


def _pool_backward(ctx, grad, rule="first", assign=False, swap=False, stride=True, crop=True):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    ho, wo = grad.shape[2:]
    out = np.zeros(ctx.padded_shape)
    for b in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    top, left = (i * sh, j * sw) if stride else (i, j)
                    g = grad[b, ch, i, j]
                    if rule == "window":
                        out[b, ch, top:top + kh, left:left + kw] += g
                        continue
                    index = ctx.argmax[b, ch, i, j]
                    a, d = (index % kh, index // kh) if swap else divmod(index, kw)
                    if rule == "mask":
                        mask = np.zeros((kh, kw))
                        mask[a, d] = g
                        out[b, ch, top:top + kh, left:left + kw] = mask
                    elif assign:
                        out[b, ch, top + a, left + d] = g
                    else:
                        out[b, ch, top + a, left + d] += g
    return out[:, :, ph:hp - ph, pw:wp - pw] if crop else out


@mistake("check_max_pool2d", "max_pool2d_backward", "overwrote", "+=", also=POOL_FORWARD)
def pool_backward_assigns(ctx, grad):
    return _pool_backward(ctx, grad, assign=True)


@mistake("check_max_pool2d", "max_pool2d_backward", "overwrote", "+=", also=POOL_FORWARD)
def pool_backward_window_mask_assigned(ctx, grad):
    return _pool_backward(ctx, grad, rule="mask")


@mistake("check_max_pool2d", "max_pool2d_backward", "whole window", also=POOL_FORWARD)
def pool_backward_whole_window(ctx, grad):
    return _pool_backward(ctx, grad, rule="window")


@mistake("check_max_pool2d", "max_pool2d_backward", "rows and columns", also=POOL_FORWARD)
def pool_backward_swapped_unravel(ctx, grad):
    return _pool_backward(ctx, grad, swap=True)


@mistake("check_max_pool2d", "max_pool2d_backward", "stride", also=POOL_FORWARD)
def pool_backward_no_stride(ctx, grad):
    return _pool_backward(ctx, grad, stride=False)


@mistake("check_max_pool2d", "max_pool2d_backward", "cut the padding off", also=POOL_FORWARD)
def pool_backward_keeps_padding(ctx, grad):
    return _pool_backward(ctx, grad, crop=False)


@mistake("check_max_pool2d", "max_pool2d_backward", "spread evenly", also=POOL_FORWARD)
def pool_backward_spread(ctx, grad):
    (kh, kw), _, _ = ctx.params
    return _pool_backward(ctx, grad / (kh * kw), rule="window")


@mistake("check_max_pool2d", "max_pool2d_backward", "every maximum", also=POOL_FORWARD)
def pool_backward_all_maxima(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    out = np.zeros(ctx.padded_shape)
    for i in range(grad.shape[2]):
        for j in range(grad.shape[3]):
            window = ctx.flat[:, :, i, j].reshape(n, c, kh, kw)
            mask = window == window.max(axis=(2, 3), keepdims=True)
            out[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += mask * grad[:, :, i, j, None, None]
    return out[:, :, ph:hp - ph, pw:wp - pw]


@right("check_max_pool2d", "max_pool2d_backward", also=POOL_FORWARD)
def pool_backward_loops(ctx, grad):
    return _pool_backward(ctx, grad)


@right("check_max_pool2d", "max_pool2d_backward", also=POOL_FORWARD)
def pool_backward_add_at(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    ho, wo = grad.shape[2:]
    a, d = np.divmod(ctx.argmax.reshape(n, c, ho, wo), kw)
    rows = np.arange(ho)[None, None, :, None] * sh + a
    cols = np.arange(wo)[None, None, None, :] * sw + d
    out = np.zeros(ctx.padded_shape, dtype=np.float64)
    np.add.at(out, (np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols),
              grad)
    return out[:, :, ph:hp - ph, pw:wp - pw]



# ---- 05: transposed convolution ---------------------------------------------------------------------
@mistake("check_conv_transpose2d_output_size", "conv_transpose2d_output_size", "output_padding is ignored")
def size_without_output_padding(size, kernel, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride - 2 * padding + kernel


@mistake("check_conv_transpose2d_output_size", "conv_transpose2d_output_size", "REMOVES")
def size_without_padding(size, kernel, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride + kernel + output_padding


@mistake("check_conv_transpose2d_output_size", "conv_transpose2d_output_size", "(H - 1) * stride")
def size_h_times_s(size, kernel, stride=1, padding=0, output_padding=0):
    return size * stride - 2 * padding + kernel + output_padding


@mistake("check_conv_transpose2d_output_size", "conv_transpose2d_output_size", "convolution's rule")
def size_of_convolution(size, kernel, stride=1, padding=0, output_padding=0):
    return (size + 2 * padding - kernel) // stride + 1 + output_padding


@mistake("check_conv_transpose2d_output_size", "conv_transpose2d_output_size", "one int per call")
def size_as_float(size, kernel, stride=1, padding=0, output_padding=0):
    return float((size - 1) * stride - 2 * padding + kernel + output_padding)


def _by_convolution(x, weight, bias, stride, padding, output_padding, bug=""):
    """conv_transpose2d as a convolution of the zero-stuffed input (the other classic route)."""
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    if bug == "no_zeros":
        stuffed = x
    else:
        stuffed = np.zeros((n, c, (h - 1) * sh + 1, (w - 1) * sw + 1))
        stuffed[:, :, ::sh, ::sw] = x
    th, tw = (ph, pw) if bug == "pad_p" else (kh - 1 - ph, kw - 1 - pw)
    if bug == "op_top_left":
        pads = ((th + oph, th), (tw + opw, tw))
    else:
        pads = ((th, th + oph), (tw, tw + opw))
    padded = np.pad(stuffed, ((0, 0), (0, 0)) + pads)
    kernel = weight.transpose(1, 0, 2, 3)
    if bug != "no_flip":
        kernel = kernel[:, :, ::-1, ::-1]
    out = np.einsum("ncijab,ocab->noij", windows(padded, kh, kw, 1, 1), kernel)
    if bias and bug != "no_bias":
        out = out + bias[0][:, None, None]
    return out


def transpose_forward_with(bug):
    def conv_transpose2d_forward(ctx, x, weight, *bias, stride, padding, output_padding):
        return _by_convolution(x, weight, bias, stride, padding, output_padding, bug)
    return conv_transpose2d_forward


for _bug, _words in (("no_flip", ("flip",)), ("no_zeros", ("no zeros are inserted",)),
                     ("pad_p", ("kernel - 1 - padding",)),
                     ("op_top_left", ("output_padding is on the wrong side",)),
                     ("no_bias", ("bias is missing",))):
    CATALOGUE.append(Mistake(f"conv_transpose2d_forward_{_bug}", "check_conv_transpose2d_forward",
                             {"conv_transpose2d_forward": transpose_forward_with(_bug)}, _words))


@right("check_conv_transpose2d_forward", "conv_transpose2d_forward")
def transpose_by_convolution(ctx, x, weight, *bias, stride, padding, output_padding):
    return _by_convolution(x, weight, bias, stride, padding, output_padding)


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward", "flip")
def transpose_scatter_flipped(ctx, x, weight, *bias, stride, padding, output_padding):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, c) @ weight[:, :, ::-1, ::-1].reshape(c, -1)
    out = convolution.col2im(rows, full, kh, kw, sh, sw)[:, :, ph:full[2] - ph, pw:full[3] - pw]
    return out + bias[0][:, None, None] if bias else out


def _transpose_backward(ctx, grad, bug=""):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    grad_full = np.zeros(ctx.full, dtype=grad.dtype)
    top, left = (0, 0) if bug == "no_offset" else (ph, pw)
    grad_full[:, :, top:top + grad.shape[2], left:left + grad.shape[3]] = grad
    grad_cols = convolution.im2col(grad_full, kh, kw, sh, sw)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    if bug == "weight_mean":
        grad_weight = grad_weight / n
    grad_bias = grad.mean(axis=(0, 2, 3)) if bug == "bias_mean" else grad.sum(axis=(0, 2, 3))
    grads = (grad_x, grad_weight) + ((grad_bias,) if ctx.has_bias else ())
    return (grads[1], grads[0]) + grads[2:] if bug == "swap" else grads


def transpose_backward_with(bug):
    def conv_transpose2d_backward(ctx, grad):
        return _transpose_backward(ctx, grad, bug)
    return conv_transpose2d_backward


for _bug, _words in (("no_offset", ("offset", "padding")),
                     ("weight_mean", ("divided by the batch size",)),
                     ("bias_mean", ("grad_bias is the mean",)), ("swap", ("wrong order",))):
    CATALOGUE.append(Mistake(f"conv_transpose2d_backward_{_bug}", "check_conv_transpose2d",
                             {"conv_transpose2d_backward": transpose_backward_with(_bug)}, _words))


@right("check_conv_transpose2d", "conv_transpose2d_backward")
def transpose_backward_list(ctx, grad):
    return list(_transpose_backward(ctx, grad))



# ---- 06: concatenation and cropping ---------------------------------------------------------------
@mistake("check_cat", "cat_forward", "joined along an axis other than")
def cat_forward_axis_zero(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    return np.concatenate(arrays, axis=0)


@mistake("check_cat", "cat_forward", "reverse order")
def cat_forward_reversed(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    return np.concatenate(arrays[::-1], axis=dim)


@mistake("check_cat", "cat_forward", "np.array makes a new array with one more axis",
         "np.concatenate(arrays, axis=dim)")
def cat_forward_one_array_of_the_pieces(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    return np.array(arrays)


@right("check_cat", "cat_forward")
def cat_forward_concatenate_a_list(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [np.shape(a)[dim] for a in arrays], dim
    return np.concatenate(list(arrays), dim)


@mistake("check_cat", "cat_backward", "cut the gradient along dim")
def cat_backward_axis_zero(ctx, grad):
    return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=0))


@mistake("check_cat", "cat_backward", "stops at the piece's size", "start + size")
def cat_backward_stop_at_size(ctx, grad):
    pieces, start = [], 0
    for size in ctx.sizes:
        index = [slice(None)] * grad.ndim
        index[ctx.dim] = slice(start, size)
        pieces.append(grad[tuple(index)])
        start += size
    return tuple(pieces)


@mistake("check_cat", "cat_backward", "wrong order")
def cat_backward_reversed(ctx, grad):
    return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim)[::-1])


@mistake("check_cat", "cat_backward", "sizes")
def cat_backward_sizes_reversed(ctx, grad):
    return tuple(np.split(grad, np.cumsum(ctx.sizes[::-1])[:-1], axis=ctx.dim))


@mistake("check_cat", "cat_backward", "returned 1 gradient for")
def cat_backward_whole(ctx, grad):
    return grad


@mistake("check_cat", "cat_backward", "the inputs' sizes")
def cat_backward_equal_pieces(ctx, grad):
    return tuple(np.array_split(grad, len(ctx.sizes), axis=ctx.dim))


@mistake("check_cat", "cat_backward", "n EQUAL pieces", "np.cumsum(sizes)[:-1]")
def cat_backward_split_equal(ctx, grad):
    return tuple(np.split(grad, len(ctx.sizes), axis=ctx.dim))


@mistake("check_cat", "cat_backward", "3 pieces of equal sizes [1, 1, 1]", "np.cumsum(sizes)[:-1]")
def cat_backward_split_into_total(ctx, grad):
    return tuple(np.split(grad, sum(ctx.sizes), axis=ctx.dim))


@mistake("check_cat", "cat_backward", "NumPy names the axis argument axis=")
def cat_backward_split_dim_keyword(ctx, grad):
    return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1], dim=ctx.dim))


@mistake("check_cat", "cat_backward", "the axis, got a list or array", "(array, positions of")
def cat_backward_split_axis_and_cuts_swapped(ctx, grad):
    return tuple(np.split(grad, ctx.dim, np.cumsum(ctx.sizes)[:-1]))


@mistake("check_cat", "cat_backward", "runs past the end of axis", "[start:start + size]")
def cat_backward_take_one_too_many(ctx, grad):
    pieces, start = [], 0
    for size in ctx.sizes:
        pieces.append(np.take(grad, range(start, start + size + 1), axis=ctx.dim))
        start += size
    return tuple(pieces)


@mistake("check_cat", "cat_backward", "one cut only", "np.cumsum(sizes)[:-1]")
def cat_backward_cut_after_first_only(ctx, grad):
    return tuple(np.split(grad, [ctx.sizes[0]], axis=ctx.dim))


@mistake("check_cat", "cat_backward", "return the pieces themselves, as a tuple or a list")
def cat_backward_pieces_as_one_array(ctx, grad):
    pieces = np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim)
    return np.array(pieces, dtype=float)


@mistake("check_cat", "cat_backward", "return the pieces themselves, as a tuple or a list")
def cat_backward_pieces_stacked(ctx, grad):
    return np.stack(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim))


@mistake("check_cat", "cat", "`cat` passes dim=0 to CatFunction.apply, not its own argument `dim`",
         "pass dim=dim")
def cat(tensors, dim=0):
    """The wrapper drops its dim: the forward always joins along axis 0."""
    CatFunction = solution("06_concatenation_and_cropping")["CatFunction"]
    return CatFunction.apply(*tensors, dim=0)


@right("check_cat", "cat_backward")
def cat_backward_running_sum_of_the_first_sizes(ctx, grad):
    return tuple(np.split(grad, np.cumsum(ctx.sizes[:-1]), axis=ctx.dim))


@right("check_cat", "cat_backward")
def cat_backward_array_split_at_offsets(ctx, grad):
    return tuple(np.array_split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim))


@right("check_cat", "cat_backward")
def cat_backward_take_ranges(ctx, grad):
    pieces, start = [], 0
    for size in ctx.sizes:
        pieces.append(np.take(grad, np.arange(start, start + size), axis=ctx.dim))
        start += size
    return pieces


def _cat_function():
    return solution("06_concatenation_and_cropping")["CatFunction"]


@mistake("check_cat", "cat", "received a list of Tensors as one input",
         "CatFunction.apply(*tensors, dim=dim)")
def cat_list_not_unpacked(tensors, dim=0):
    return _cat_function().apply(tensors, dim=dim)


@mistake("check_cat", "cat", "took 0 for an input Tensor", "CatFunction.apply(*tensors, dim=dim)")
def cat_dim_by_position(tensors, dim=0):
    return _cat_function().apply(*tensors, dim)


@mistake("check_cat", "cat", "a Function is not called itself", "CatFunction.apply(")
def cat_function_called(tensors, dim=0):
    return _cat_function()(*tensors, dim=dim)


@mistake("check_cat", "cat", "forward got ctx=None", ".apply(")
def cat_forward_called_directly(tensors, dim=0):
    return _cat_function().forward(None, *tensors, dim=dim)


@right("check_cat", "cat")
def cat_from_a_tuple(tensors, dim=0):
    return _cat_function().apply(*tuple(tensors), dim=dim)


@mistake("check_cat", "cat", "not connected to its inputs", "CatFunction.apply(*tensors, dim=dim)")
def cat_of_the_data(tensors, dim=0):
    from minitorch_unet.autograd import Tensor
    return Tensor(np.concatenate([t.data for t in tensors], axis=dim), requires_grad=True)


@mistake("check_cat", "cat", "not connected to its inputs")
def cat_of_the_numpy_arrays(tensors, dim=0):
    from minitorch_unet.autograd import Tensor
    return Tensor(np.concatenate([np.asarray(t.data) for t in tensors], axis=dim))


@right("check_cat", "cat")
def cat_of_a_single_tensor_list(tensors, dim=0):
    joined = _cat_function().apply(*list(tensors), dim=dim)
    return joined


@right("check_cat", "cat_backward")
def cat_backward_split_at_offsets_list(ctx, grad):
    offsets = [int(c) for c in np.cumsum(ctx.sizes)[:-1]]
    return list(np.split(grad, offsets, axis=ctx.dim))


@right("check_cat", "cat_backward")
def cat_backward_slices_list(ctx, grad):
    pieces, start = [], 0
    for size in ctx.sizes:
        index = [slice(None)] * grad.ndim
        index[ctx.dim] = slice(start, start + size)
        pieces.append(grad[tuple(index)])
        start += size
    return pieces


@mistake("check_center_crop", "center_crop", "for input Tensors",
         "by name (top, left, height, width)")
def crop_offsets_by_position(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(input, top, left, h, w)


@mistake("check_center_crop", "center_crop", "received a NumPy array where a Tensor belongs")
def crop_applied_to_data(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input.data, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "center_crop", "wrong place", "rounded up")
def crop_rounded_up(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = -(-(input.shape[-2] - h) // 2), -(-(input.shape[-1] - w) // 2)
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "center_crop", "wrong place")
def crop_top_left(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=0, left=0, height=h, width=w)


@mistake("check_center_crop", "center_crop", "(height, width)")
def crop_width_first(input, size):
    w, h = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=top, left=left, height=h, width=w)


@mistake("check_center_crop", "crop_backward", "grad_out is put back", "wrong place",
         "your offsets are 0, the corner; the window starts")   # no legend of n and k unused
def crop_backward_at_corner(ctx, grad):
    grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
    grad_x[..., :grad.shape[-2], :grad.shape[-1]] = grad
    return grad_x


@mistake("check_center_crop", "crop_backward", "returned a gradient of shape", "grad itself")
def crop_backward_unpadded(ctx, grad):
    return grad


@right("check_center_crop", "crop_backward")
def crop_backward_pad(ctx, grad):
    h, w = ctx.shape[-2:]
    below, right_ = h - ctx.top - grad.shape[-2], w - ctx.left - grad.shape[-1]
    pads = [(0, 0)] * (grad.ndim - 2) + [(ctx.top, below), (ctx.left, right_)]
    return np.pad(grad.astype(np.float64), pads)



# ---- 07: modules and the U-Net --------------------------------------------------------------------
def _count(depth, base_filters, in_channels=1, conv_bias=False, bn=4, skip=2, head=True, up_bias=True,
           first_in=None):
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = (widths[0] + 1) if head else 0
    for i in range(depth + 1):
        c_in = (first_in or in_channels) if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + (bn + 2 * conv_bias) * widths[i]
    for i in range(depth):
        total += 4 * widths[i + 1] * widths[i] + (widths[i] if up_bias else 0)
        total += 9 * widths[i] * (skip * widths[i] + widths[i]) + (bn + 2 * conv_bias) * widths[i]
    return total


for _name, _options, _words in (
        ("count_conv_bias", {"conv_bias": True}, ("bias for every 3x3 convolution",)),
        ("count_no_batch_norm", {"bn": 0}, ("batch-norm parameters are missing",)),
        ("count_running_stats", {"bn": 8}, ("running mean and variance",)),
        ("count_no_skip", {"skip": 1}, ("skip connection",)),
        ("count_no_head", {"head": False}, ("head",)),
        ("count_no_up_bias", {"up_bias": False}, ("transposed convolutions' biases",)),
        ("count_one_input_channel", {"first_in": 1}, ("in_channels is ignored",))):
    CATALOGUE.append(Mistake(_name, "check_count_parameters", {"count_parameters": (
        lambda options: lambda depth, base_filters, in_channels=1: _count(
            depth, base_filters, in_channels, **options))(_options)}, _words))


@mistake("check_receptive_field", "receptive_field", "strides are ignored")
def rf_no_strides(layers):
    return 1 + sum(k - 1 for k, _ in layers)


@mistake("check_receptive_field", "receptive_field", "its own stride")
def rf_own_stride(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        field += (kernel - 1) * jump
    return field


@mistake("check_receptive_field", "receptive_field", "summed k instead of k - 1")
def rf_sums_kernels(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += kernel * jump
        jump *= stride
    return field


@mistake("check_receptive_field", "receptive_field", "+ 1 is missing")
def rf_no_one(layers):
    field, jump = 0, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


@right("check_receptive_field", "receptive_field")
def rf_backwards(layers):
    field = 1
    for kernel, stride in reversed(layers):
        field = stride * (field - 1) + kernel
    return int(field)


# ---- 08: losses -------------------------------------------------------------------------------------
def _softplus_neg_abs(x):
    return (1 + (-(x.relu() + (-x).relu())).exp()).log()


@mistake("check_bce_with_logits", "bce_with_logits", "sum over the pixels")
def bce_sum(logits, target):
    return (logits.relu() - logits * target + _softplus_neg_abs(logits)).sum()


@mistake("check_bce_with_logits", "bce_with_logits", "sign is flipped")
def bce_negative(logits, target):
    return -(logits.relu() - logits * target + _softplus_neg_abs(logits)).mean()


@mistake("check_bce_with_logits", "bce_with_logits", "wrong sign")
def bce_plus_xt(logits, target):
    return (logits.relu() + logits * target + _softplus_neg_abs(logits)).mean()


@mistake("check_bce_with_logits", "bce_with_logits", "log(1 + exp(-|x|)) term is missing")
def bce_no_log_term(logits, target):
    return (logits.relu() - logits * target).mean()


@mistake("check_bce_with_logits", "bce_with_logits", "max(x, 0)", "missing")
def bce_no_relu(logits, target):
    return (-(logits * target) + _softplus_neg_abs(logits)).mean()


@mistake("check_bce_with_logits", "bce_with_logits", "overflows")
def bce_naive(logits, target):
    p = logits.sigmoid()
    return -(target * p.log() + (1 - target) * (1 - p).log()).mean()


@mistake("check_bce_with_logits", "bce_with_logits", "one of the course's Tensor operations",
         "broadcasting")
def bce_target_sliced(logits, target):
    return (logits.relu() - logits * target[:, 0] + _softplus_neg_abs(logits)).mean()


@right("check_bce_with_logits", "bce_with_logits")
def bce_float64(logits, target):
    x = logits.double()
    return (x.relu() - x * target.double() + _softplus_neg_abs(x)).mean()


def _dice_parts(logits, target):
    p = logits.sigmoid()
    return p, (p * target).sum(), p.sum() + target.sum()


@mistake("check_soft_dice_loss", "soft_dice_loss", "Dice coefficient; the loss is 1 minus it")
def soft_dice_coefficient(logits, target, smooth=1.0):
    _, inter, total = _dice_parts(logits, target)
    return (2 * inter + smooth) / (total + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "sigmoid is missing")
def soft_dice_no_sigmoid(logits, target, smooth=1.0):
    return 1 - (2 * (logits * target).sum() + smooth) / (logits.sum() + target.sum() + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "smooth is ignored")
def soft_dice_fixed_smooth(logits, target, smooth=1.0):
    _, inter, total = _dice_parts(logits, target)
    return 1 - (2 * inter + 1.0) / (total + 1.0)


@mistake("check_soft_dice_loss", "soft_dice_loss", "numerator too")
def soft_dice_smooth_below(logits, target, smooth=1.0):
    _, inter, total = _dice_parts(logits, target)
    return 1 - 2 * inter / (total + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "not doubled")
def soft_dice_single_intersection(logits, target, smooth=1.0):
    _, inter, total = _dice_parts(logits, target)
    return 1 - (inter + smooth) / (total + smooth)


@mistake("check_soft_dice_loss", "soft_dice_loss", "one Dice loss per slice")
def soft_dice_per_slice(logits, target, smooth=1.0):
    p = logits.sigmoid()
    axes = tuple(range(1, len(logits.shape)))
    inter = (p * target).sum(dim=axes)
    total = p.sum(dim=axes) + target.sum(dim=axes)
    return (1 - (2 * inter + smooth) / (total + smooth)).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "without smoothing")
def soft_dice_no_smooth(logits, target, smooth=1.0):
    _, inter, total = _dice_parts(logits, target)
    return 1 - 2 * inter / total


@mistake("check_soft_dice_loss", "soft_dice_loss", "squares")
def soft_dice_squared(logits, target, smooth=1.0):
    p = logits.sigmoid()
    return 1 - (2 * (p * target).sum() + smooth) / ((p * p).sum() + (target * target).sum() + smooth)


# ---- 09: training -----------------------------------------------------------------------------------
@mistake("check_sgd_momentum_step", "sgd_momentum_step", "average")
def sgd_dampened(param, grad, buf, lr, momentum):
    buf = momentum * buf + (1 - momentum) * grad
    return param - lr * buf, buf


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "not by the momentum buffer")
def sgd_moves_by_grad(param, grad, buf, lr, momentum):
    return param - lr * grad, momentum * buf + grad


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "learning rate went into the buffer")
def sgd_lr_in_buffer(param, grad, buf, lr, momentum):
    buf = momentum * buf + lr * grad
    return param - buf, buf


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "uphill")
def sgd_uphill(param, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return param + lr * buf, buf


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "tuple of 2 arrays")
def sgd_param_only(param, grad, buf, lr, momentum):
    return param - lr * (momentum * buf + grad)


@right("check_sgd_momentum_step", "sgd_momentum_step")
def sgd_in_place(param, grad, buf, lr, momentum):
    buf *= momentum
    buf += grad
    param -= lr * buf
    return [param, buf]


def _adam(param, grad, m, v, t, lr, betas, eps, correct=True, eps_inside=False, shift=0,
          swap_moments=False, return_hats=False):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * (grad * grad if swap_moments else grad)
    v = b2 * v + (1 - b2) * (grad if swap_moments else grad * grad)
    m_hat = m / (1 - b1 ** (t + shift)) if correct else m
    v_hat = v / (1 - b2 ** (t + shift)) if correct else v
    step = m_hat / (np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps)
    return (param - lr * step, m_hat, v_hat) if return_hats else (param - lr * step, m, v)


for _name, _options, _words in (
        ("adam_no_bias_correction", {"correct": False}, ("no bias correction",)),
        ("adam_eps_inside", {"eps_inside": True}, ("eps is inside the square root",)),
        ("adam_t_minus_one", {"shift": -1}, ("t - 1 instead of t",)),
        ("adam_t_plus_one", {"shift": 1}, ("t + 1 instead of t",)),
        ("adam_moments_swapped", {"swap_moments": True}, ("m averages grad**2",)),
        ("adam_returns_corrected_moments", {"return_hats": True}, ("bias-corrected",))):
    CATALOGUE.append(Mistake(_name, "check_adam_step", {"adam_step": (
        lambda options: lambda param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8: _adam(
            param, grad, m, v, t, lr, betas, eps, **options))(_options)}, _words))


# ---- 10: the GPU ------------------------------------------------------------------------------------
def _cost(n, c_in, c_out, h, w, k, itemsize=4, macs=2, area=True, weights=True, output=True,
          as_bytes=True):
    flops = macs * n * c_out * h * w * c_in * (k * k if area else 1)
    values = n * c_in * h * w + (c_out * c_in * k * k if weights else 0)
    values += n * c_out * h * w if output else 0
    return flops, values * (itemsize if as_bytes else 1)


for _name, _options, _words in (
        ("cost_one_flop_per_mac", {"macs": 1}, ("multiply-add once",)),
        ("cost_no_kernel_area", {"area": False}, ("kernel area",)),
        ("cost_no_weights", {"weights": False}, ("leave out the weights",)),
        ("cost_no_output", {"output": False}, ("writing the output",)),
        ("cost_values_not_bytes", {"as_bytes": False}, ("multiply by itemsize",))):
    CATALOGUE.append(Mistake(_name, "check_conv2d_cost", {"conv2d_cost": (
        lambda options: lambda n, c_in, c_out, h, w, k, itemsize=4: _cost(
            n, c_in, c_out, h, w, k, itemsize, **options))(_options)}, _words))


# ---- 11: evaluation ---------------------------------------------------------------------------------
def _slice_dice(pred, target, threshold=0.5, strict=True, empty=1.0, iou=False, soft=False):
    p = (pred if soft else (pred > threshold) if strict else (pred >= threshold)).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap = (p * t).sum(axis=1)
    total = p.sum(axis=1) + t.sum(axis=1)
    if iou:
        union = total - overlap
        return np.where(union == 0, empty, overlap / np.maximum(union, 1))
    return np.where(total == 0, empty, 2 * overlap / np.where(total == 0, 1, total))


@mistake("check_dice_per_slice", "dice_per_slice", "past the last index 11",
         "(range(n) ends at n - 1)")
def dice_per_slice_loop_one_past(pred, target, threshold=0.5):
    p, t = np.asarray(pred) > threshold, np.asarray(target) > 0.5
    scores = []
    for i in range(len(p) + 1):
        total = p[i].sum() + t[i].sum()
        scores.append(1.0 if total == 0 else 2 * (p[i] & t[i]).sum() / total)
    return np.array(scores)


@mistake("check_dice_per_slice", "dice_per_slice", "scores them 1.0")
def slice_dice_empty_zero(pred, target, threshold=0.5):
    return _slice_dice(pred, target, threshold, empty=0.0)


@mistake("check_dice_per_slice", "dice_per_slice", "one number", "mean")
def slice_dice_averaged(pred, target, threshold=0.5):
    return float(_slice_dice(pred, target, threshold).mean())


@mistake("check_dice_per_slice", "dice_per_slice", "one number", "pooled")
def slice_dice_pooled(pred, target, threshold=0.5):
    p, t = pred > threshold, target > 0.5
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


@mistake("check_dice_per_slice", "dice_per_slice", "strictly")
def slice_dice_at_threshold(pred, target, threshold=0.5):
    return _slice_dice(pred, target, threshold, strict=False)


@mistake("check_dice_per_slice", "dice_per_slice", "IoU")
def slice_dice_iou(pred, target, threshold=0.5):
    return _slice_dice(pred, target, threshold, iou=True)


@mistake("check_dice_per_slice", "dice_per_slice", "threshold")
def slice_dice_soft(pred, target, threshold=0.5):
    return _slice_dice(pred, target, threshold, soft=True)


@mistake("check_dice_per_slice", "dice_per_slice", "one Dice per slice")
def slice_dice_whole_batch(pred, target, threshold=0.5):
    return _slice_dice(pred.reshape(1, -1), target.reshape(1, -1), threshold)


@mistake("check_dice_per_patient", "dice_per_patient", "mean of each patient's slice Dices")
def patient_dice_mean_of_slices(pred, target, patients, threshold=0.5):
    dice = _slice_dice(pred, target, threshold)
    ids = np.asarray(patients)
    return {p: float(dice[ids == p].mean()) for p in dict.fromkeys(patients)}


@mistake("check_dice_per_patient", "dice_per_patient", "exactly at the threshold")
def patient_dice_at_threshold(pred, target, patients, threshold=0.5):
    ids = np.asarray(patients)
    out = {}
    for patient in dict.fromkeys(patients):
        rows = ids == patient
        p, t = pred[rows] >= threshold, target[rows] > 0.5
        total = p.sum() + t.sum()
        out[patient] = 1.0 if total == 0 else float(2 * (p & t).sum() / total)
    return out



# ---- any layer: what the function hands back -------------------------------------------------------
@mistake("check_im2col", "im2col", "returned None", "`return`")
def im2col_without_return(x, kh, kw, sh, sw):
    convolution.im2col(x, kh, kw, sh, sw)


@mistake("check_conv2d", "conv2d", "does not require grad")
def conv2d_from_arrays(input, weight, bias=None, stride=1, padding=0):
    from minitorch_unet import functional as F
    from minitorch_unet.autograd import Tensor
    return Tensor(F.conv2d(input, weight, bias, stride, padding).data)


@mistake("check_max_pool2d", "max_pool2d", "does not require grad")
def max_pool2d_from_arrays(input, kernel_size, stride=None, padding=0):
    from minitorch_unet import functional as F
    from minitorch_unet.autograd import Tensor
    return Tensor(F.max_pool2d(input, kernel_size, stride, padding).data)



# ---- more of what learners write -----------------------------------------------------------------
@mistake("check_relative_error", "relative_error", "epsilon")
def relerr_epsilon(a, b):
    a, b = _ab(a, b)
    return float(np.max(np.abs(a - b) / (np.maximum(np.abs(a), np.abs(b)) + 1e-8)))


@mistake("check_conv2d_naive", "conv2d_naive", "(stride * i, stride * j)")
def naive_windows_unstrided(x, weight, bias=None, stride=1, padding=0):
    full = _naive(x, weight, bias, 1, padding)
    ho = (x.shape[2] + 2 * padding - weight.shape[2]) // stride + 1
    wo = (x.shape[3] + 2 * padding - weight.shape[3]) // stride + 1
    return full[:, :, :ho, :wo]


@mistake("check_conv2d", "conv2d_backward", "(C*kh*kw, O)")
def conv2d_backward_weight_matrix_transposed(ctx, grad):
    grads = list(_backward(ctx, grad))
    o = ctx.weight.shape[0]
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grads[1] = (ctx.cols.T @ g).reshape(ctx.weight.shape)
    return tuple(grads)


@mistake("check_conv_transpose2d_output_size", "conv_transpose2d_output_size", "both sides")
def size_output_padding_twice(size, kernel, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride - 2 * padding + kernel + 2 * output_padding


@mistake("check_cat", "cat_forward", "np.stack")
def cat_forward_stack(ctx, *arrays, dim):
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    return np.stack(arrays, axis=dim)


@mistake("check_center_crop", "center_crop", "//")
def crop_true_division(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) / 2, (input.shape[-1] - w) / 2
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=top, left=left, height=h, width=w)


@mistake("check_bce_with_logits", "bce_with_logits", "averages over the batch only")
def bce_mean_over_batch(logits, target):
    return (logits.relu() - logits * target + _softplus_neg_abs(logits)).sum() / logits.shape[0]


@mistake("check_soft_dice_loss", "soft_dice_loss", "numerator; add it to the denominator")
def soft_dice_smooth_above(logits, target, smooth=1.0):
    _, inter, total = _dice_parts(logits, target)
    return 1 - (2 * inter + smooth) / total



@mistake("check_tanh_backward", "tanh_backward", "(1 - tanh(x))**2")
def tanh_squared_difference(x, grad):
    return (1 - np.tanh(x)) ** 2 * grad


@mistake("check_numerical_gradient", "numerical_gradient", "/ (2 * eps)")
def numgrad_precedence(f, x, eps=1e-6):
    return _central(f, x, eps, lambda up, down, base, e: (up - down) / 2 * e)


def _adam_one_correction(corrected):
    def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        b1, b2 = betas
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad ** 2
        m_hat = m / (1 - b1 ** t) if corrected == "m" else m
        v_hat = v / (1 - b2 ** t) if corrected == "v" else v
        return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    return adam_step


CATALOGUE.append(Mistake("adam_only_v_corrected", "check_adam_step",
                         {"adam_step": _adam_one_correction("v")}, ("only v is bias-corrected",)))
CATALOGUE.append(Mistake("adam_only_m_corrected", "check_adam_step",
                         {"adam_step": _adam_one_correction("m")}, ("only m is bias-corrected",)))


# ---- more wrong answers, across the lessons ---------------------------------------------------------
@mistake("check_dice", "dice", "union")
def dice_over_union(pred, target):
    p, t = _pt(pred, target)
    union = (p | t).sum()
    return 1.0 if union == 0 else float(2 * (p & t).sum() / union)


@mistake("check_mul_backward", "mul_backward", "grad_b is b * grad")
def mul_b_twice(a, b, grad):
    return b * grad, b * grad


@mistake("check_tanh_backward", "tanh_backward", "tanh(x**2)")
def tanh_of_square(x, grad):
    return (1 - np.tanh(x ** 2)) * grad


@mistake("check_unbroadcast", "unbroadcast", "where `shape` has 1", "before the reshape")
def unbroadcast_reshape(grad, shape):
    return grad.sum(axis=tuple(range(grad.ndim - len(shape)))).reshape(shape)


@mistake("check_numerical_gradient", "numerical_gradient", "float64")
def numgrad_float32(f, x, eps=1e-6):
    return _central(f, x.astype(np.float32), eps, lambda up, down, base, e: (up - down) / (2 * e))


@mistake("check_relative_error", "relative_error", "min(|a|, |b|)")
def relerr_min(a, b):
    a, b = _ab(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.where(a == b, 0, np.abs(a - b) / np.minimum(np.abs(a), np.abs(b)))))


@mistake("check_im2col", "im2col", "wrong order")
def im2col_fortran_order(x, kh, kw, sh, sw):
    cols = convolution.im2col(x, kh, kw, sh, sw)
    return cols.reshape(-1, order="F").reshape(cols.shape)


@mistake("check_max_pool2d_forward", "max_pool2d_forward", "minimum")
def pool_min(ctx, x, kernel, stride, padding):
    return -_pool_forward(ctx, -x, kernel, stride, padding)


@mistake("check_max_pool2d", "max_pool2d_backward", "chain rule", also=POOL_FORWARD)
def pool_backward_routes_ones(ctx, grad):
    return _pool_backward(ctx, np.ones_like(grad))


@mistake("check_conv_transpose2d_forward", "conv_transpose2d_forward", "padding is ignored")
def transpose_no_crop(ctx, x, weight, *bias, stride, padding, output_padding):
    return _by_convolution(x, weight, bias, stride, (0, 0), output_padding)


@mistake("check_cat", "cat_backward", "whole output's gradient")
def cat_backward_copies(ctx, grad):
    return tuple(grad for _ in ctx.sizes)


@mistake("check_center_crop", "center_crop", "left offset")
def crop_left_from_height(input, size):
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top = (input.shape[-2] - h) // 2
    return solution("06_concatenation_and_cropping")["CropFunction"].apply(
        input, top=top, left=top, height=h, width=w)


@mistake("check_bce_with_logits", "bce_with_logits", "swapped")
def bce_target_swapped(logits, target):
    return (logits.relu() - logits * (1 - target) + _softplus_neg_abs(logits)).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "minus the Dice")
def soft_dice_negative(logits, target, smooth=1.0):
    _, inter, total = _dice_parts(logits, target)
    return -(2 * inter + smooth) / (total + smooth)


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "Nesterov")
def sgd_nesterov(param, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return param - lr * (grad + momentum * buf), buf


@mistake("check_adam_step", "adam_step", "square root is missing")
def adam_no_sqrt(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad ** 2
    return param - lr * (m / (1 - b1 ** t)) / (v / (1 - b2 ** t) + eps), m, v


@mistake("check_conv2d_cost", "conv2d_cost", "multiply-add once", "kernel area")
def cost_two_slips(n, c_in, c_out, h, w, k, itemsize=4):
    return _cost(n, c_in, c_out, h, w, k, itemsize, macs=1, area=False)


@mistake("check_dice_per_patient", "dice_per_patient", "return a dict")
def patient_list(pred, target, patients, threshold=0.5):
    return [1.0 for _ in dict.fromkeys(patients)]


@mistake("check_count_parameters", "count_parameters", "return a Python int")
def count_float(depth, base_filters, in_channels=1):
    return float(_count(depth, base_filters, in_channels))


# ---- caught by what relates the wrong values to the right ones ----------------------------------
@mistake("check_mul_backward", "mul_backward", "0.5 times the right ones")
def mul_half(a, b, grad):
    return 0.5 * b * grad, 0.5 * a * grad


@mistake("check_numerical_gradient", "numerical_gradient", "a step of 0.01")
def numgrad_own_step(f, x, eps=1e-6):
    return _central(f, x, 1e-2, lambda up, down, base, e: (up - down) / (2 * e))


@mistake("check_relative_error", "relative_error", "without absolute values")
def relerr_signed_scale(a, b):
    a, b = _ab(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.where(a == b, 0, np.abs(a - b) / np.maximum(a, b))))


@mistake("check_conv2d", "conv2d_backward", "first two axes swapped")
def conv2d_backward_grad_x_swapped_weight(ctx, grad):
    grads = list(_backward(ctx, grad))
    o, c, kh, kw = ctx.weight.shape
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    if o == c:
        rows = g @ ctx.weight.transpose(1, 0, 2, 3).reshape(o, -1)
        grad_x = convolution.col2im(rows, ctx.padded_shape, kh, kw, sh, sw)
        grads[0] = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
    return tuple(grads)


@mistake("check_max_pool2d", "max_pool2d_backward", "moved by", also=POOL_FORWARD)
def pool_backward_cut_at_corner(ctx, grad):
    (_, _, (ph, pw)) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    return _pool_backward(ctx, grad, crop=False)[:, :, :hp - 2 * ph, :wp - 2 * pw]


@mistake("check_center_crop", "crop_backward", "chain rule")
def crop_backward_ones(ctx, grad):
    out = np.zeros(ctx.shape)
    out[..., ctx.top:ctx.top + grad.shape[-2], ctx.left:ctx.left + grad.shape[-1]] = 1
    return out


@mistake("check_bce_with_logits", "bce_with_logits", "mean squared error")
def bce_is_mse(logits, target):
    p = logits.sigmoid()
    return ((p - target) * (p - target)).mean()


@mistake("check_soft_dice_loss", "soft_dice_loss", "thresholded")
def soft_dice_thresholded(logits, target, smooth=1.0):
    from minitorch_unet.autograd import Tensor
    p = Tensor((logits.data > 0).astype(logits.data.dtype))
    return 1 - (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


@mistake("check_sgd_momentum_step", "sgd_momentum_step", "OLD buffer")
def sgd_old_buffer(param, grad, buf, lr, momentum):
    return param - lr * buf, momentum * buf + grad



@mistake("check_cat", "cat_backward", "all zero")
def cat_backward_zeros_last(ctx, grad):
    pieces = list(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim))
    pieces[-1] = np.zeros_like(pieces[-1])
    return tuple(pieces)


@mistake("check_numerical_gradient", "numerical_gradient", "signs are lost")
def numgrad_abs(f, x, eps=1e-6):
    return np.abs(_central(f, x, eps, lambda up, down, base, e: (up - down) / (2 * e)))



@mistake("check_bce_with_logits", "bce_with_logits", "1.443 times the right ones")
def bce_in_bits(logits, target):
    return (logits.relu() - logits * target + _softplus_neg_abs(logits)).mean() * (1 / np.log(2))


@mistake("check_max_pool2d", "max_pool2d_backward", "2 times the right ones", also=POOL_FORWARD)
def pool_backward_doubled(ctx, grad):
    return 2 * _pool_backward(ctx, grad)



@mistake("check_conv2d", "conv2d_backward", "first sample only")
def conv2d_backward_bias_first_sample(ctx, grad):
    grads = list(_backward(ctx, grad))
    if ctx.has_bias:
        grads[2] = grad[0].sum(axis=(1, 2))
    return tuple(grads)


@mistake("check_tanh_backward", "tanh_backward", "sigmoid's derivative")
def tanh_like_sigmoid(x, grad):
    s = 1 / (1 + np.exp(-x))
    return s * (1 - s) * grad


@mistake("check_relative_error", "relative_error", "(|a| + |b|) / 2")
def relerr_mean_scale(a, b):
    a, b = _ab(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.where(a == b, 0, np.abs(a - b) / ((np.abs(a) + np.abs(b)) / 2))))


@mistake("check_im2col", "im2col", "last window")
def im2col_last_window_missing(x, kh, kw, sh, sw):
    win = windows(x, kh, kw, sh, sw)[:, :, :-1, :-1]
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)


# ---- the tests ------------------------------------------------------------------------------------
test_the_mistake_is_named, test_a_right_answer_written_differently_passes = \
    catalogue_tests(CATALOGUE, RIGHT)


CONVOLUTION_WORDS = ("kernel sizes, strides", "(H_out - 1) * stride", "the optional bias",
                     "kernel_size, stride and padding")


def test_no_convolution_hint_outside_the_convolution_lessons() -> None:
    """The hints written for convolutions never reach an exercise of lessons 00, 01, 06-11."""
    for entry in CATALOGUE:
        if load_all()[entry.grade].lesson[:2] in ("00", "01", "06", "07", "08", "09", "11"):
            message = run(entry.grade, **entry.answers).message
            assert not any(word in message for word in CONVOLUTION_WORDS), message


def test_the_catalogue_figure(capsys: pytest.CaptureFixture[str]) -> None:
    """The share of the catalogue whose message names the mistake (the issue asks >= 90%)."""
    lessons = {load_all()[m.grade].lesson for m in CATALOGUE}
    named = passed = 0
    for entry in CATALOGUE:
        result = run(entry.grade, **entry.answers)
        passed += result.status == PASSED
        named += result.status == FAILED and all(w in result.message for w in entry.words)
    with capsys.disabled():
        print(f"\ncatalogue: {named} of {len(CATALOGUE)} wrong answers named "
              f"({100 * named / len(CATALOGUE):.0f}%), {passed} passed, over {len(lessons)} lessons")
    assert len(CATALOGUE) >= 80 and passed == 0 and named >= 0.9 * len(CATALOGUE)
