"""The usual reasons for an exception in the learner's own line of a layer exercise (lessons
03-05), each one verified on the values of the learner's frame before it is named: an empty
`*bias` tuple indexed, a stride slice on the batch and channel axes, a matrix reduced over the
wrong axis before a reshape, a per-channel bias broadcast along the width, a weight unpacked
in another axis order, max-pool's channels left out of the batch, and a transposed conv's
gradient windowed without its full-size embedding."""
from __future__ import annotations

import ast
import inspect
import re
import textwrap
from types import FrameType
from typing import Any, Callable

import numpy as np

from .core import _is_learner, _learner_frames, _source_line, frame_lines, traceback_frames

# What each axis of a weight holds, per layer: conv2d's is (C_out, C_in, kh, kw), a transposed
# conv's (C_in, C_out, kh, kw).
WEIGHT_LAYOUTS = {"conv2d": ("out", "in", "kernel", "kernel"),
                  "conv_transpose2d": ("in", "out", "kernel", "kernel")}
AXIS_WORDS = {"out": "C_out", "in": "C_in"}
_CHANNEL_NAMES = {"in": r"c|ci|cin|c_in|in_c|in_ch|in_channels|channels_in|n_in|c1",
                  "out": r"o|co|cout|c_out|out_c|out_ch|out_channels|channels_out|n_out|f|oc|c2"}


def _function_tree(frame: FrameType) -> tuple[ast.AST, int] | None:
    """The frame's function parsed, and the offset that turns its line numbers into the
    file's; None where its source is not available."""
    lines = frame_lines(frame)
    first = frame.f_code.co_firstlineno
    try:
        block = inspect.getblock(lines[first - 1:])
        return ast.parse(textwrap.dedent("".join(block))), first - 1
    except (SyntaxError, IndexError, TypeError):  # tokenize errors are SyntaxErrors too
        return None


def _evaluator(frame: FrameType) -> Callable[[ast.AST], Any]:
    """A function that evaluates an expression node with the frame's names (None on error)."""
    names = {**frame.f_globals, **frame.f_locals}

    def value(node: ast.AST) -> Any:
        try:
            with np.errstate(all="ignore"):
                return eval(compile(ast.Expression(node), "<cause>", "eval"),
                            {"__builtins__": __builtins__}, dict(names))
        except Exception:  # noqa: BLE001 - a node the frame cannot evaluate names nothing
            return None
    return value


def _reshape_sizes(err: BaseException) -> tuple[int, tuple[int, ...]] | None:
    """(size, target shape) of 'cannot reshape array of size S into shape (...)'."""
    found = re.search(r"cannot reshape array of size (\d+) into shape \(([-\d, ]*)\)", str(err))
    if not found:
        return None
    return int(found.group(1)), tuple(int(v) for v in found.group(2).split(",") if v.strip())


def _plain_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(int(n)) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def empty_varargs_indexed(frame: FrameType, line: str, err: BaseException) -> str:
    """`bias[0]` where `*bias` packed nothing: the tuple is (), and a test `is not None` on it
    is always true; "" when the error is another one."""
    code = frame.f_code
    if not isinstance(err, IndexError) or not code.co_flags & inspect.CO_VARARGS:
        return ""
    packed = code.co_varnames[code.co_argcount + code.co_kwonlyargcount]
    value = frame.f_locals.get(packed)
    if not (isinstance(value, tuple) and value == ()) or not re.search(rf"\b{packed}\s*\[", line):
        return ""
    found = _function_tree(frame)
    tests = [node for node in ast.walk(found[0]) if isinstance(node, ast.Compare) and
             ast.unparse(node.left) == packed and
             isinstance(node.ops[0], (ast.IsNot, ast.NotEq)) and
             ast.unparse(node.comparators[0]) == "None"] if found else []
    if tests:
        return (f"when no {packed} is passed, `{packed}` is the empty tuple () that "
                f"`*{packed}` packs, never None, so `{ast.unparse(tests[0])}` is always true "
                f"and `{packed}[0]` does not exist: test it with `if {packed}:`")
    return (f"when no {packed} is passed, `{packed}` is the empty tuple () that `*{packed}` "
            f"packs, so `{packed}[0]` does not exist: use it only under `if {packed}:`")


def _stepped_pair(node: ast.Subscript) -> tuple[ast.AST, ast.AST] | None:
    """The steps of `a[::s, ::t]` (no start, no stop, nothing after), or None."""
    parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else []
    if len(parts) != 2 or not all(isinstance(p, ast.Slice) and p.lower is None and
                                  p.upper is None and p.step is not None for p in parts):
        return None
    return parts[0].step, parts[1].step


def stride_on_leading_axes(frame: FrameType) -> str:
    """`windows[::sh, ::sw]` in the frame's function where `windows` has the input's batch and
    channels on axes 0 and 1 and a step above 1 cuts one of them; "" otherwise."""
    found = _function_tree(frame)
    if found is None:
        return ""
    value = _evaluator(frame)
    inputs = [v.shape[:2] for v in frame.f_locals.values()
              if isinstance(v, np.ndarray) and v.ndim == 4]
    for node in ast.walk(found[0]):
        steps = _stepped_pair(node) if isinstance(node, ast.Subscript) else None
        if steps is None:
            continue
        array, (sh, sw) = value(node.value), (value(steps[0]), value(steps[1]))
        if not isinstance(array, np.ndarray) or array.ndim < 4 or array.shape[:2] not in inputs \
                or not all(isinstance(s, (int, np.integer)) and s > 0 for s in (sh, sw)):
            continue
        sliced = array[::sh, ::sw].shape
        ran = any(isinstance(v, np.ndarray) and v.shape == sliced for v in frame.f_locals.values())
        if ran and (sh > 1 and array.shape[0] > 1 or sw > 1 and array.shape[1] > 1):
            a, b = ast.unparse(steps[0]), ast.unparse(steps[1])
            return (f"`[::{a}, ::{b}]` (line {node.lineno + found[1]}) steps through axes 0 "
                    f"and 1 of an array of shape {_plain_shape(array.shape)}, the batch and "
                    f"the channels, where the window grid is axes 2 and 3: write "
                    f"`[:, :, ::{a}, ::{b}]`")
    return ""


def _axis_kind(name: str) -> str:
    """'in', 'out' or 'kernel' for a name a learner gives a weight axis ("" if unclear)."""
    lowered = name.lower()
    for kind, pattern in _CHANNEL_NAMES.items():
        if re.fullmatch(pattern, lowered):
            return kind
    return "kernel" if re.fullmatch(r"(k|kernel)_?\w*|\w*_?k|kh|kw|h_?k|w_?k", lowered) else ""


def weight_unpacked_in_other_order(frame: FrameType, layer: str) -> str:
    """`o, c, kh, kw = weight.shape` whose names read the weight in another axis order than
    `layer`'s (WEIGHT_LAYOUTS), where the axes so swapped differ in size; "" otherwise."""
    found = _function_tree(frame)
    if found is None or layer not in WEIGHT_LAYOUTS:
        return ""
    value, layout = _evaluator(frame), WEIGHT_LAYOUTS[layer]
    for node in ast.walk(found[0]):
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple) and
                isinstance(node.value, ast.Attribute) and node.value.attr == "shape"):
            continue
        names = [t.id if isinstance(t, ast.Name) else "" for t in node.targets[0].elts]
        owner = ast.unparse(node.value.value)
        weight = value(node.value.value)
        kinds = [_axis_kind(name) for name in names]
        if len(names) != 4 or not re.search(r"(^|\.)(weight|weights|w|kernel|filters)$",
                                            owner, re.IGNORECASE) or \
                not isinstance(weight, np.ndarray) or weight.ndim != 4 or \
                sorted(kinds) != sorted(layout) or tuple(kinds) == layout:
            continue
        wrong = [a for a, (kind, right) in enumerate(zip(kinds, layout)) if kind != right]
        if not all(isinstance(frame.f_locals.get(name), (int, np.integer)) and
                   frame.f_locals[name] == size for name, size in zip(names, weight.shape)):
            continue  # the line did not run (another branch), or its names were reassigned
        if len({weight.shape[a] for a in wrong}) == 1:
            continue  # the sizes so swapped are equal: not what made this error
        by_kind = {kind: [n for n, k in zip(names, kinds) if k == kind] for kind in layout}
        fixed = [by_kind[kind].pop(0) for kind in layout]
        words = [AXIS_WORDS[kind] if kind != "kernel" else k for kind, k in
                 zip(layout, ("", "", "kh", "kw"))]
        held = " and ".join(f"`{names[a]}` holds {int(weight.shape[a])} ({words[a]})"
                            for a in wrong if kinds[a] != "kernel")
        return (f"`{', '.join(names)} = {owner}.shape` (line {node.lineno + found[1]}) reads "
                f"the weight in another axis order: {layer}'s weight is ({', '.join(words)}) = "
                f"{_plain_shape(weight.shape)}, so {held or 'the kernel sizes are misplaced'}; "
                f"write `{', '.join(fixed)} = {owner}.shape`")
    return ""


def _im2col_input(frame: FrameType) -> tuple[str, Any, list[Any]] | None:
    """(source, value, other arguments' values) of the first argument of the frame's call of
    im2col that ran (a local array has the shape of its result); None where there is none."""
    found = _function_tree(frame)
    if found is None:
        return None
    value = _evaluator(frame)
    results = {v.shape for v in frame.f_locals.values() if isinstance(v, np.ndarray)}
    for node in ast.walk(found[0]):
        if not (isinstance(node, ast.Call) and len(node.args) == 5 and "im2col" in (
                ast.unparse(node.func).split(".")[-1], getattr(value(node.func), "__name__", ""))):
            continue
        image, rest = value(node.args[0]), [value(a) for a in node.args[1:]]
        if not isinstance(image, np.ndarray) or image.ndim != 4 or \
                not all(isinstance(v, (int, np.integer)) and v > 0 for v in rest):
            continue
        (n, c, h, w), (kh, kw, sh, sw) = image.shape, rest
        if (n * ((h - kh) // sh + 1) * ((w - kw) // sw + 1), c * kh * kw) in results:
            return ast.unparse(node.args[0]), image, rest
    return None


def channels_not_folded(frame: FrameType, err: BaseException) -> str:
    """max-pool's im2col given (N, C, H, W) with C > 1, where a reshape of its rows to (N, C,
    Ho, Wo) finds C times fewer values than it needs; "" otherwise."""
    call, sizes = _im2col_input(frame), _reshape_sizes(err)
    if call is None or sizes is None:
        return ""
    source, image, _ = call
    if image.shape[1] < 2:
        return ""
    n, c, h, w = (int(v) for v in image.shape)
    size, target = sizes
    if -1 in target or size * c != int(np.prod(target)):
        return ""
    return (f"im2col got `{source}` of shape {_plain_shape(image.shape)} with its {c} channels, "
            f"so each row holds all {c} channels' windows and the max mixes them ({c} times "
            f"fewer rows than pooled values): fold the channels into the batch first, "
            f"im2col({source}.reshape({n * c}, 1, {h}, {w}), ...), one channel per row")


def _added_pairs(tree: ast.AST) -> list[tuple[ast.AST, ast.AST]]:
    """The two operands of each `a + b` and `a += b` in `tree`."""
    pairs = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            pairs.append((node.left, node.right))
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            target = ast.parse(ast.unparse(node.target), mode="eval").body  # read, not stored
            pairs.append((target, node.value))
    return pairs


def bias_on_last_axis(frame: FrameType, line: str, err: BaseException) -> str:
    """The per-channel bias, a vector named like `bias`, added to an (N, C, H, W) array
    whose axis 1 it fits, where broadcasting lines it up with the width; "" otherwise."""
    if "broadcast" not in str(err):
        return ""
    try:
        tree = ast.parse(line.strip().rstrip(":"))
    except SyntaxError:
        return ""
    value = _evaluator(frame)
    biases = {(f"{name}[{i}]" if isinstance(held, (tuple, list)) else name): v
              for name, held in frame.f_locals.items() if "bias" in name.lower()
              for i, v in enumerate(held if isinstance(held, (tuple, list)) else [held])
              if isinstance(v, np.ndarray) and v.ndim == 1}
    for first, second in _added_pairs(tree):
        for node, other in ((first, second), (second, first)):
            vector, image = value(node), value(other)
            if not (isinstance(vector, np.ndarray) and isinstance(image, np.ndarray) and
                    vector.ndim == 1 and image.ndim == 4 and
                    image.shape[1] == vector.size != image.shape[3]):
                continue
            held = next((name for name, b in biases.items()
                         if b.shape == vector.shape and np.array_equal(b, vector)), "")
            if "bias" not in ast.unparse(node).lower() and not held:
                continue
            plain = isinstance(node, (ast.Name, ast.Subscript, ast.Attribute))
            source = ast.unparse(node) if plain else held or "bias"
            named = f"`{source}`" if plain or held else "the bias"
            fix = f"{source}[:, None, None]"
            return (f"{named} {_plain_shape(vector.shape)} holds one value per channel, but "
                    f"broadcasting lines shapes up from the right, so it meets the width axis "
                    f"(axis 3) of `{ast.unparse(other)}` {_plain_shape(image.shape)}: give it "
                    f"the channel axis (axis 1), `{fix}` or `.reshape(1, {vector.size}, 1, 1)`")
    return ""


_REDUCTIONS = ("max", "min", "argmax", "argmin", "sum", "mean")


def _axis_reductions(tree: ast.AST, value: Callable[[ast.AST], Any]
                     ) -> list[tuple[str, str, np.ndarray, int]]:
    """(call's source, receiver's source, receiver, axis) of each `a.max(axis=k)` or
    `np.max(a, axis=k)` (a max, min, argmax, argmin, sum or mean) in `tree` whose receiver is
    a matrix of the frame and whose axis is 0 or 1."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and
                node.func.attr in _REDUCTIONS):
            continue
        module = value(node.func.value) is np
        args = node.args[1:] if module else node.args
        receiver = node.args[0] if module and node.args else node.func.value
        axis_node = next((k.value for k in node.keywords if k.arg == "axis"),
                         args[0] if args else None)
        matrix = value(receiver)
        axis = value(axis_node) if axis_node is not None else None
        if isinstance(matrix, np.ndarray) and matrix.ndim == 2 and \
                isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) and \
                int(axis) in (0, 1, -1, -2):
            found.append((ast.unparse(node), ast.unparse(receiver), matrix, int(axis) % 2))
    return found


def reduced_over_wrong_axis(frame: FrameType, line: str, err: BaseException) -> str:
    """A reshape that finds the values of a matrix reduced over one axis where the count of
    the other axis belongs (`cols.max(axis=0)` where each row is a window), the reductions on
    the failing `line` tried first; "" otherwise."""
    sizes, found = _reshape_sizes(err), _function_tree(frame)
    if sizes is None or found is None or -1 in sizes[1]:
        return ""
    size, target = sizes
    want = int(np.prod(target))
    reductions = _axis_reductions(found[0], _evaluator(frame))
    squeezed = line.replace(" ", "")
    reductions.sort(key=lambda r: r[0].replace(" ", "") not in squeezed)
    for call, source, matrix, axis in reductions:
        kept, reduced = matrix.shape[1 - axis], matrix.shape[axis]
        if kept == size and reduced == want and kept != reduced:
            what = "rows" if axis == 0 else "columns"
            return (f"`{call}` reduces across the {reduced} {what} of `{source}` "
                    f"{_plain_shape(matrix.shape)}, leaving {kept} values where the reshape "
                    f"needs {want}, one per {'row' if axis == 0 else 'column'}: reduce along "
                    f"axis={1 - axis} instead")
    return ""


def _paddings(frame: FrameType) -> list[int]:
    """The ints of the frame's values named like a padding (its own or an attribute of one
    of them, e.g. ctx.padding, ctx.output_padding)."""
    found: list[Any] = []
    for name, value in frame.f_locals.items():
        attributes = vars(value).items() if hasattr(value, "__dict__") and \
            not isinstance(value, type) else ()
        found += [v for key, v in [(name, value), *attributes] if "padding" in key.lower()]
    flat = [v for value in found for v in (value if isinstance(value, (tuple, list)) else [value])]
    return [int(v) for v in flat if isinstance(v, (int, np.integer))]


def grad_windowed_unembedded(frame: FrameType) -> str:
    """A transposed conv's backward that runs im2col on `grad` itself, the output's size,
    where its windows do not number the input's pixels; "" otherwise."""
    code = frame.f_code
    params = code.co_varnames[:code.co_argcount]
    grad = frame.f_locals.get(params[1]) if len(params) == 2 else None
    call = _im2col_input(frame)
    if not isinstance(grad, np.ndarray) or grad.ndim != 4 or call is None:
        return ""
    source, image, rest = call
    if image.shape != grad.shape:
        return ""
    if not any(_paddings(frame)):
        return ""  # without padding or output_padding, grad is the full size already
    kh, kw, sh, sw = (int(v) for v in rest)
    ho, wo = int(grad.shape[2]), int(grad.shape[3])
    rows, cols = (ho - kh) // sh + 1, (wo - kw) // sw + 1
    held = "`grad` itself" if source == "grad" else f"`{source}`, of grad's own shape"
    return (f"im2col runs on {held} {_plain_shape(grad.shape)}, the cropped output's gradient, "
            f"whose windows number {rows} x {cols}, not one per input pixel: put grad into "
            f"zeros of the uncropped size (the forward's full size, (H - 1) * stride + kernel "
            f"+ output_padding) at [padding : padding + {ho}] first, and run im2col on that")


def crash_cause(function: str, err: BaseException) -> str:
    """The usual reason for `err` at the learner's innermost line during the check of the
    exercise `function` (conv2d, conv_transpose2d, max_pool2d, im2col, ...), verified on that
    frame's values; "" when no recogniser applies."""
    frames = _learner_frames(err.__traceback__)
    if not frames:
        return ""
    frame, lineno = frames[-1]
    line = _source_line(frame, lineno)
    try:
        found = empty_varargs_indexed(frame, line, err) or stride_on_leading_axes(frame) or \
            reduced_over_wrong_axis(frame, line, err) or bias_on_last_axis(frame, line, err)
        if not found and function in WEIGHT_LAYOUTS:  # or in a caller that passed the sizes on
            found = next((text for text in (weight_unpacked_in_other_order(f, function)
                                            for f, _ in reversed(frames)) if text), "")
        if not found and function == "max_pool2d":
            found = channels_not_folded(frame, err)
        if not found and function == "conv_transpose2d":
            found = grad_windowed_unembedded(frame)
    except Exception:  # noqa: BLE001 - a recogniser tripped by the learner's values names nothing
        return ""
    return found


def _exercise_names(err: BaseException, functions: tuple[str, ...]) -> list[str]:
    """For each learner frame of `err`'s traceback, outermost first, the exercise function it
    runs: its own name if one of `functions`, else the name under which its caller called it
    (a function renamed in the learner's cell keeps its exercise's name there), else ""."""
    frames = traceback_frames(err.__traceback__)
    names = []
    for i, (frame, _) in enumerate(frames):
        if not _is_learner(frame):
            continue
        found = frame.f_code.co_name if frame.f_code.co_name in functions else ""
        if not found and i:
            caller = frames[i - 1][0]
            values = {**caller.f_globals, **caller.f_locals}
            found = next((name for name in caller.f_code.co_names + caller.f_code.co_varnames
                          if name in functions and
                          getattr(values.get(name), "__code__", None) is frame.f_code), "")
        names.append(found)
    return names


def called_as(err: BaseException, functions: tuple[str, ...]) -> str:
    """The exercise function, one of `functions`, that the learner's innermost frame runs
    (under its own name or the one its caller calls it by); "" for a helper of their own."""
    names = _exercise_names(err, functions)
    return names[-1] if names else ""


def enclosing_exercise(err: BaseException, functions: tuple[str, ...]) -> str:
    """The innermost exercise function, one of `functions`, that called the learner's
    innermost frame (a helper of theirs); "" when none did."""
    return next((name for name in reversed(_exercise_names(err, functions)[:-1]) if name), "")
