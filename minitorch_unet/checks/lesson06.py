"""Checks of lesson 06 (concatenation and cropping): cat and center_crop, forward and backward.

Expected values are PyTorch's (``data/reference/cat.npz``, ``center_crop.npz``). A wrong
crop is located: the verdict finds where in the input the answer's window starts and
compares that with top = (H - h) // 2, left = (W - w) // 2, so an off-by-one offset is named.
"""
from __future__ import annotations

import inspect
import itertools
import re
from types import FrameType
from typing import Any, Callable

import numpy as np

from ..autograd import Function, Tensor
from ..reference import Case
from . import core
from .core import (EXERCISES, CheckFailed, Exercise, Outputs, describe_error, expect_shape,
                   number_exercises, register)
from .lesson00 import plain_error_hint
from .lesson03 import (answer, arg, backward_outputs, cases, check_returns_tensor, diagnose_values,
                       is_connected, pair, probe_layer, returned_gradients_verdict)

LESSON = "06_concatenation_and_cropping"
number_exercises(LESSON, ("cat_forward", "cat_backward", "cat", "crop_backward", "center_crop"))


def check_connected(op: str, names: tuple[str, ...], outputs: Outputs,
                    build: str = "the Function's .apply(...)") -> None:
    """A Tensor that backward cannot follow to the inputs was built outside the Function:
    name that, and `build`, the call that makes it."""
    for name in names:
        if f"{name}/connected" in outputs and not outputs[f"{name}/connected"]:
            raise CheckFailed(f"{op} returned a Tensor that is not connected to its inputs (made "
                              "from .data or a NumPy array?), so backward cannot reach them: "
                              f"build it with {build}")


# ---- cases that run apart -------------------------------------------------------------------
def probe_cases(grade_id: str, names: tuple[str, ...],
                probe_one: Callable[[str], Outputs]) -> Outputs:
    """probe_one(name) for every case; an exception of the learner's code in one case is kept
    as '<case>/error' (its one-line description) and the other cases still run, so that a
    wrong answer in an earlier case is named rather than hidden by a later error."""
    outputs: Outputs = {}
    for name in names:
        try:
            outputs.update(probe_one(name))
        except (CheckFailed, NotImplementedError, RecursionError):
            raise
        except Exception as err:
            hint = shape_error_hint(err)
            message = describe_error(EXERCISES[grade_id], err)
            if hint.startswith("an index built as a list"):   # replaces the general int hint
                message = message.replace(". " + core.error_hint(str(err), {}), "")
            outputs[f"{name}/error"] = np.array(message + (f". {hint}" if hint else ""))
    return outputs


def shape_error_hint(err: BaseException) -> str:
    """What an error about shapes in a cat or crop answer usually means, from the learner's
    innermost frame: a fixed axis index, or a gradient buffer of the output's shape."""
    learner = core._learner_frames(err.__traceback__)
    if not learner:
        return ""
    frame, lineno = learner[-1]
    names = frame.f_locals
    if isinstance(err, IndexError) and "only integers, slices" in str(err) and any(
            isinstance(v, list) and any(isinstance(e, slice) for e in v) for v in names.values()):
        return ("an index built as a list of slices must be a tuple: NumPy reads a list as "
                "a list of positions; index with grad[tuple(index)]")
    if isinstance(err, IndexError) and "tuple index out of range" in str(err):
        return ("the input may have any number of leading axes (..., H, W): take its height "
                "and width as shape[-2] and shape[-1]")
    if ("np.pad" in core._source_line(frame, lineno) or "pad(" in str(err)) and \
            "negative" not in str(err):
        return ("np.pad takes one (before, after) pair per axis of the array: add (0, 0) for "
                "each leading axis")
    if isinstance(err, TypeError) and "'tuple'" in str(err) and \
            any(isinstance(v, tuple) and len(v) == 2 for k, v in names.items() if k != "ctx"):
        return ("size may be an int or a tuple (h, w): unpack it first, h, w = (size, size) if "
                "isinstance(size, int) else size")
    grad, ctx = names.get("grad"), names.get("ctx")
    if "could not broadcast" in str(err) and isinstance(grad, np.ndarray) and ctx is not None:
        for name, value in names.items():
            if name != "grad" and isinstance(value, np.ndarray) and value.shape == grad.shape \
                    and tuple(getattr(ctx, "shape", grad.shape)) != grad.shape:
                return (f"`{name}` has the shape of grad {grad.shape}, the crop's; the input's "
                        f"gradient has the input's shape, ctx.shape {tuple(ctx.shape)}: start "
                        "from np.zeros(ctx.shape)")
    regions = re.findall(r"from shape \(([\d, ]*)\) into shape \(([\d, ]*)\)", str(err))
    if regions:
        source, region = (tuple(int(n) for n in r.split(",") if n.strip()) for r in regions[0])
        if len(source) >= 2 and len(region) >= 2 and region[-2:] != source[-2:] and \
                all(r >= s for r, s in zip(region[-2:], source[-2:])):
            return (f"the region you assign to is {region[-2]}x{region[-1]}, grad is "
                    f"{source[-2]}x{source[-1]}: a slice that runs to the end (or starts at 0) "
                    "takes more; slice [top:top + grad.shape[-2], left:left + grad.shape[-1]]")
    return ""


def verdict_cases(names: tuple[str, ...], outputs: Outputs,
                  verdict: Callable[[tuple[str, ...]], None]) -> None:
    """verdict(names) on the cases before the first that raised, then that case's error: the
    message is about the first case that went wrong, whether it raised or not."""
    failed = [i for i, name in enumerate(names) if f"{name}/error" in outputs]
    verdict(names[:failed[0]] if failed else names)
    if failed:
        raise CheckFailed(str(outputs[f"{names[failed[0]]}/error"]))


# ---- cat ---------------------------------------------------------------------------------------
def input_names(case: Case) -> list[str]:
    return list(case["params"]["inputs"])


def describe_cat(case: Case) -> str:
    shapes = ", ".join(str(tuple(case[k].shape)) for k in input_names(case))
    return f"cat([{shapes}], dim={case['params']['dim']})"


def _probe_cat(fn: Callable[..., Any]) -> Outputs:
    def probe_one(name: str) -> Outputs:
        case = cases("cat")[name]
        tensors = [Tensor(case[k], requires_grad=True) for k in input_names(case)]
        out = fn(tensors, case["params"]["dim"])
        outputs = {f"{name}/out": answer(out, "cat"),
                   f"{name}/is_tensor": np.array(isinstance(out, Tensor)),
                   f"{name}/connected": np.array(is_connected(out, tensors))}
        if isinstance(out, Tensor) and out.requires_grad and out.shape == case["grad_out"].shape:
            outputs.update(backward_outputs(out, case["grad_out"], name,
                                            dict(zip(input_names(case), tensors))))
        return outputs
    return probe_cases("check_cat", tuple(cases("cat")), probe_one)


def _cuts(name: str, outputs: Outputs, case: Case) -> list[int] | None:
    """Where the refused pieces of case `name` were cut along the joining axis, if they tile
    the output's gradient in order (as np.split's pieces do); None otherwise."""
    if f"{name}/raw_count" not in outputs:
        return None
    got = [outputs.get(f"{name}/raw_grad_{i}") for i in range(int(outputs[f"{name}/raw_count"]))]
    grad_out = case["grad_out"]
    axis = case["params"]["dim"] % grad_out.ndim
    if not got or any(g is None or g.ndim != grad_out.ndim for g in got):
        return None
    try:
        whole = np.concatenate(got, axis=axis)
    except ValueError:
        return None
    if whole.shape != grad_out.shape or not np.allclose(whole, grad_out):
        return None
    return [int(c) for c in np.cumsum([g.shape[axis] for g in got])[:-1]]


# Cut positions a backward may compute: (what it did, the cuts from the inputs' shapes and dim).
CUT_RULES: tuple[tuple[str, Callable[[list[tuple[int, ...]], int], list[int]]], ...] = (
    ("the cuts are np.cumsum(sizes)[1:], the ends of the pieces after the first; np.split "
     "wants where each piece after the first starts: np.cumsum(sizes)[:-1]",
     lambda shapes, axis: list(np.cumsum([s[axis] for s in shapes])[1:])),
    ("the sizes counted each input's number of values (a.size); ctx.sizes holds each input's "
     "size along dim, a.shape[dim]",
     lambda shapes, axis: list(np.cumsum([int(np.prod(s)) for s in shapes])[:-1])),
    ("the sizes are taken along axis 0 (a.shape[0], or len(a)), not along dim",
     lambda shapes, axis: list(np.cumsum([s[0] for s in shapes])[:-1]) if axis else []),
    ("every piece is as wide as the first input; each input has its own size along dim",
     lambda shapes, axis: list(np.cumsum([shapes[0][axis]] * len(shapes))[:-1])),
    ("ctx.sizes holds whole shapes (a.shape), which np.cumsum flattens into one list of every "
     "axis's size; store each input's size along dim, a.shape[dim]",
     lambda shapes, axis: list(np.cumsum([n for s in shapes for n in s])[:-1])),
    ("the sizes are taken along the axis before dim (a.shape[dim - 1]); take a.shape[dim]",
     lambda shapes, axis: list(np.cumsum([s[axis - 1] for s in shapes])[:-1])),
    ("the sizes are taken along the axis after dim (a.shape[dim + 1]); take a.shape[dim]",
     lambda shapes, axis: list(np.cumsum([s[(axis + 1) % len(s)] for s in shapes])[:-1])),
    ("the sizes are taken along the last axis (a.shape[-1]); take a.shape[dim]",
     lambda shapes, axis: list(np.cumsum([s[-1] for s in shapes])[:-1])),
    ("every cut is one before its place (np.cumsum(sizes) - 1): cut at np.cumsum(sizes)[:-1]",
     lambda shapes, axis: list(np.cumsum([s[axis] for s in shapes])[:-1] - 1)),
    ("every cut is one after its place (np.cumsum(sizes) + 1): cut at np.cumsum(sizes)[:-1]",
     lambda shapes, axis: list(np.cumsum([s[axis] for s in shapes])[:-1] + 1)),
    ("ctx.sizes holds running totals (np.cumsum of the sizes), which backward adds up a "
     "second time: store each input's own size along dim, a.shape[dim]",
     lambda shapes, axis: list(np.cumsum(np.cumsum([s[axis] for s in shapes]))[:-1])),
    ("the cuts come from the sizes in reverse order; cut at np.cumsum(sizes)[:-1] in the "
     "inputs' order", lambda shapes, axis: list(np.cumsum([s[axis] for s in shapes][::-1])[:-1])),
)


def cut_relation(outputs: Outputs) -> str:
    """Name the rule the learner's cut positions follow on every cat case where the engine
    refused the pieces (positions past the end cut nothing, as in np.split), or ""."""
    observed = [(cuts, case) for name, case in cases("cat").items()
                if (cuts := _cuts(name, outputs, case)) is not None]
    if not observed:
        return ""
    for text, rule in CUT_RULES:
        fits = []
        for cuts, case in observed:
            shapes = [case[k].shape for k in input_names(case)]
            axis = case["params"]["dim"] % case["grad_out"].ndim
            length = case["grad_out"].shape[axis]
            wanted = [min(int(c), length) for c in rule(shapes, axis)]
            right = [int(c) for c in np.cumsum([s[axis] for s in shapes])[:-1]]
            fits.append((wanted == cuts, wanted != right))
        if all(f for f, _ in fits) and any(d for _, d in fits):
            return text
    return ""


def split_relation(what: str, name: str, outputs: Outputs, case: Case) -> None:
    """Name how a backward that the engine refused cut the output's gradient: at the sizes
    instead of the offsets, one cut too many, or along another axis."""
    if f"{name}/raw_count" not in outputs:
        return
    why = cut_relation(outputs)
    if why:
        raise CheckFailed(f"{what}: backward cut the gradient at the wrong places: {why}")
    count, keys = int(outputs[f"{name}/raw_count"]), input_names(case)
    got = [outputs.get(f"{name}/raw_grad_{i}") for i in range(count)]
    grad_out, dim = case["grad_out"], case["params"]["dim"]
    if any(g is None for g in got):
        return
    axis = dim % grad_out.ndim
    sizes = [case[k].shape[axis] for k in keys]
    equal = np.array_split(grad_out, count, axis=axis)
    if count > 1 and all(p.shape == g.shape and np.allclose(p, g) for p, g in zip(equal, got)):
        raise CheckFailed(f"{what}: backward cut the gradient into {count} pieces of equal "
                          f"sizes {[p.shape[axis] for p in equal]} along dim {dim}, not the "
                          f"inputs' sizes {sizes}: np.split (or np.array_split) with a number n "
                          "cuts n equal pieces; give np.split the positions of the cuts, "
                          "np.cumsum(sizes)[:-1]")
    for cuts, text in (
            (sizes[:-1], "np.split takes the positions of the cuts, np.cumsum(sizes)[:-1], "
                         "not the sizes"),
            (sizes, "np.split takes the positions of the cuts, np.cumsum(sizes)[:-1], not "
                    "the sizes"),
            (list(np.cumsum(sizes)), "the cuts include the end of the last piece, which adds "
                                     "an empty piece: cut at np.cumsum(sizes)[:-1]"),
            ([0] + list(np.cumsum(sizes)[:-1]), "the cuts start with 0, which adds an empty "
                                                "first piece: cut at np.cumsum(sizes)[:-1]"),
            (sizes[:1], "there is one cut only, after the first piece, where np.split needs "
                        "one between each two pieces: cut at np.cumsum(sizes)[:-1]")):
        pieces = np.split(grad_out, [int(c) for c in cuts], axis=axis)
        if len(pieces) == count and all(p.shape == g.shape and np.allclose(p, g)
                                        for p, g in zip(pieces, got)):
            raise CheckFailed(f"{what}: backward cut the gradient into pieces of sizes "
                              f"{[p.shape[axis] for p in pieces]} along dim {dim}, not "
                              f"{sizes}: {text}")
    for i in range(grad_out.ndim):
        for j in range(i + 1, grad_out.ndim):
            pieces = np.split(grad_out, np.cumsum(sizes)[:-1], axis=axis)
            if count == len(keys) and all(np.swapaxes(p, i, j).shape == g.shape and
                                          np.allclose(np.swapaxes(p, i, j), g)
                                          for p, g in zip(pieces, got)):
                raise CheckFailed(f"{what}: backward returns the right pieces with axes {i} and "
                                  f"{j} swapped (a swapaxes or transpose that is not undone): "
                                  "swap them back")
    shapes = [g.shape for g in got]
    longer = [np.take(grad_out, range(start, min(start + size + 1, grad_out.shape[axis])),
                      axis=axis) for start, size in zip(np.cumsum([0] + sizes[:-1]), sizes)]
    if count == len(keys) and all(p.shape == g.shape and np.allclose(p, g)
                                  for p, g in zip(longer, got)):
        raise CheckFailed(f"{what}: each piece takes one too many values along dim {dim}: slice "
                          "[start:start + size], whose stop is excluded")
    starts = [int(c) for c in np.cumsum([0] + sizes[:-1])]
    stopped = [np.take(grad_out, range(start, max(start, size)), axis=axis)
               for start, size in zip(starts, sizes)]
    if count == len(keys) and starts[-1] > 0 and all(
            p.shape == g.shape and np.allclose(p, g) for p, g in zip(stopped, got)):
        raise CheckFailed(f"{what}: each slice stops at the piece's size, not at its end: the "
                          "stop of [start:stop] is a position, write [start:start + size]")
    why = slice_bounds_relation(got, grad_out, axis, sizes)
    if why:
        raise CheckFailed(f"{what}: {why}")
    fixed = fixed_cut_axis(outputs)
    if fixed is not None:
        raise CheckFailed(f"{what}: backward cut the gradient along dim {fixed} in every case, "
                          "whatever dim forward joined along: the axis is fixed somewhere (is "
                          f"ctx.dim set to {fixed} in forward, or the split's axis written as "
                          f"{fixed}?): store ctx.dim = dim in forward and cut along ctx.dim")
    if count == len(keys) and all(len(shape) == grad_out.ndim for shape in shapes):
        for other in set(range(grad_out.ndim)) - {axis}:
            if all(shape[d] == grad_out.shape[d] for shape in shapes
                   for d in range(grad_out.ndim) if d != other) and \
                    all(shape[other] < grad_out.shape[other] for shape in shapes):
                last = (" (the last axis: `grad[..., i:j]` slices it)"
                        if other == grad_out.ndim - 1 else "")
                raise CheckFailed(f"{what}: backward cut the gradient along dim {other}{last}; "
                                  f"forward joined the inputs along dim {dim}: cut along "
                                  "ctx.dim, into pieces of each input's size")


def slice_bounds_relation(got: list[np.ndarray], grad_out: np.ndarray, axis: int,
                          sizes: list[int]) -> str:
    """Name the slices along the joining axis that the returned pieces are, when each is one
    and some is empty or all have the inputs' lengths (grad_out[a:b] at other bounds than the
    input's), or ""."""
    if len(got) != len(sizes) or any(g.ndim != grad_out.ndim or
                                      g.shape[:axis] + g.shape[axis + 1:] !=
                                      grad_out.shape[:axis] + grad_out.shape[axis + 1:]
                                      for g in got):
        return ""
    starts = [int(c) for c in np.cumsum([0] + sizes[:-1])]
    right = np.split(grad_out, starts[1:], axis=axis)
    if all(any(g.shape == r.shape and np.allclose(g, r) for r in right) for g in got):
        return ""                               # the right pieces, in another order
    if all(g.shape[axis] == 0 for g in got):
        return (f"every piece is an empty slice along dim {axis}: its stop is not after its "
                "start; slice [start:start + size]")
    if all(g.shape[axis] > 0 for g in got) and [g.shape[axis] for g in got] != sizes:
        return ""                               # other lengths: named by the cut rules
    wrong = []
    for i, (g, start, size) in enumerate(zip(got, starts, sizes)):
        length = g.shape[axis]
        found = [a for a in range(grad_out.shape[axis] - length + 1)
                 if np.allclose(np.take(grad_out, range(a, a + length), axis=axis), g)]
        if not found:
            return ""
        if (found[0], length) != (start, size):
            where = "an empty slice" if length == 0 else f"[{found[0]}:{found[0] + length}]"
            wrong.append(f"tensors[{i}] gets {where}, expected [{start}:{start + size}]")
    if not wrong:
        return ""
    return (f"backward slices the gradient along dim {axis} at the wrong bounds: "
            + "; ".join(wrong) + " (each input's piece starts where the previous one ends and "
            "is as long as the input along dim)")


def fixed_cut_axis(outputs: Outputs) -> int | None:
    """The one axis every refused backward cut along, when the cases join along at least two
    different axes and the pieces tile the output's gradient along that axis; else None."""
    axes, dims = set(), set()
    for name, case in cases("cat").items():
        if f"{name}/raw_count" not in outputs:
            continue
        count = int(outputs[f"{name}/raw_count"])
        got = [outputs.get(f"{name}/raw_grad_{i}") for i in range(count)]
        grad_out = case["grad_out"]
        if not got or any(g is None or g.ndim != grad_out.ndim for g in got):
            return None
        cut = [d for d in range(grad_out.ndim)
               if all(g.shape[:d] + g.shape[d + 1:] == grad_out.shape[:d] + grad_out.shape[d + 1:]
                      for g in got) and sum(g.shape[d] for g in got) == grad_out.shape[d]]
        if len(cut) != 1:
            return None
        axes.add(cut[0])
        dims.add(case["params"]["dim"] % grad_out.ndim)
    return axes.pop() if len(axes) == 1 and len(dims) > 1 else None


def stops_at_size(names: tuple[str, ...], outputs: Outputs) -> bool:
    """Whether, in every case, backward gave the pieces [start:size] (a slice whose stop is the
    piece's size): kept by the engine (an empty piece as zeros) or refused, with at least one
    case where such a piece is neither empty nor right (so a piece of zeros alone is no proof)."""
    proof = False
    for name in names:
        case = cases("cat")[name]
        keys, grad_out, dim = input_names(case), case["grad_out"], case["params"]["dim"]
        axis, starts = dim % grad_out.ndim, 0
        refused = f"{name}/raw_count" in outputs
        if refused and int(outputs[f"{name}/raw_count"]) != len(keys):
            return False
        for i, k in enumerate(keys):
            size = case[k].shape[axis]
            piece = np.take(grad_out, range(starts, max(starts, size)), axis=axis)
            got = outputs.get(f"{name}/raw_grad_{i}" if refused else f"{name}/grad_{k}")
            model = piece if refused or piece.shape == case[k].shape else (
                np.zeros(case[k].shape) if piece.size == 0 else None)
            if model is None or got is None or np.shape(got) != model.shape or \
                    not np.allclose(got, model):
                return False
            proof = proof or (piece.size > 0 and (piece.shape != case[k].shape or
                                                  not np.allclose(piece, case[f"grad_{k}"])))
            starts += size
    return proof


def piece_offsets(case: Case, i: int) -> list[tuple[str, np.ndarray]]:
    """Input i's gradient taken from the output's gradient at every wrong offset along the
    joining axis (a start that is not advanced, or advanced by the wrong sizes)."""
    keys, grad_out, dim = input_names(case), case["grad_out"], case["params"]["dim"]
    axis = dim % grad_out.ndim
    sizes = [case[k].shape[axis] for k in keys]
    right = sum(sizes[:i])
    return [(f"tensors[{i}] gets the slice of the output's gradient at offset {start} along "
             f"dim {dim}, expected offset {right} (the sizes of the tensors before it added "
             "up): " + ("advance the start by each input's size" if start < right else
                        "the first piece starts at 0, each next one where the previous ends"),
             np.take(grad_out, range(start, start + sizes[i]), axis=axis))
            for start in range(grad_out.shape[axis] - sizes[i] + 1) if start != right]


def count_scale(names: tuple[str, ...], outputs: Outputs) -> str:
    """The message for input gradients that are the right ones divided (or multiplied) by the
    number of inputs in every case, when the cases have different numbers of inputs; or ""."""
    counts = {len(input_names(cases("cat")[name])) for name in names}
    for text, factor in (("divided by", lambda n: 1 / n), ("multiplied by", lambda n: n)):
        if len(counts) > 1 and all(
                f"{name}/grad_{k}" in outputs and np.allclose(
                    outputs[f"{name}/grad_{k}"],
                    factor(len(input_names(cases("cat")[name]))) * cases("cat")[name][f"grad_{k}"])
                for name in names for k in input_names(cases("cat")[name])):
            return (f"each input's gradient is {text} the number of inputs; each input gets its "
                    "piece of the output's gradient as it is (concatenation copies values, it "
                    "does not average them)")
    return ""


def _verdict_cat(outputs: Outputs) -> None:
    names = tuple(cases("cat"))
    verdict_cases(names, outputs, lambda ran: _verdict_cat_cases(ran, outputs))


def _verdict_cat_cases(names: tuple[str, ...], outputs: Outputs) -> None:
    check_returns_tensor("cat", names, outputs)
    check_connected("cat", names, outputs, "CatFunction.apply(*tensors, dim=dim)")
    for name in names:
        case = cases("cat")[name]
        what, dim = describe_cat(case), case["params"]["dim"]
        got = outputs[f"{name}/out"]
        arrays = [case[k] for k in input_names(case)]
        for other in set(range(arrays[0].ndim)) - {dim % arrays[0].ndim}:
            try:
                joined = np.concatenate(arrays, axis=other)
            except ValueError:  # these inputs cannot be joined along `other`
                continue
            if got.shape == joined.shape != case["out"].shape:
                raise CheckFailed(f"{what}: joined along dim {other} instead of dim {dim}")
        for i in range(len(arrays)):
            rest = arrays[:i] + arrays[i + 1:]
            if rest and got.shape == np.concatenate(rest, axis=dim).shape != case["out"].shape \
                    and np.allclose(got, np.concatenate(rest, axis=dim)):
                which = "last" if i == len(arrays) - 1 else "first" if i == 0 else f"{i}th"
                raise CheckFailed(f"{what}: the {which} tensor is left out of the output (a "
                                  "slice or loop that stops one early?): join all of them")
        expect_shape(what, got, case["out"].shape,
                     hint=f"the sizes along dim {dim} add up; every other size stays")
        diagnose_values(what, got, case["out"], lambda: [
            ("the tensors are joined in reverse order", np.concatenate(arrays[::-1], axis=dim))])
    for name in names:
        case = cases("cat")[name]
        keys = input_names(case)
        split_relation(describe_cat(case), name, outputs, case)
        returned_gradients_verdict(describe_cat(case), name, outputs,
                                   [(f"tensors[{i}]", case[k].shape) for i, k in enumerate(keys)],
                                   join_dim=case["params"]["dim"],
                                   expected=[case[f"grad_{k}"] for k in keys])
        if stops_at_size(names, outputs):
            raise CheckFailed(f"{describe_cat(case)}: each slice stops at the piece's size, not "
                              "at its end: the stop of [start:stop] is a position, write "
                              "[start:start + size]")
        scale = count_scale(names, outputs)
        if scale:
            raise CheckFailed(f"{describe_cat(case)}: {scale}")
        for i, k in enumerate(keys):
            label = f"{describe_cat(case)}: gradient of tensor {i} (tensors[{i}].grad)"
            if f"{name}/grad_{k}" not in outputs:
                raise CheckFailed(f"{label} is None: backward must return one gradient per "
                                  f"input tensor ({len(keys)} here), in order")
            diagnose_values(label, outputs[f"{name}/grad_{k}"], case[f"grad_{k}"], lambda: [
                ("the gradients are returned in reverse order: tensors[i] gets the i-th piece "
                 "of the output's gradient", case[f"grad_{keys[len(keys) - 1 - i]}"]),
                *piece_offsets(case, i)])


# ---- exceptions of a cat or crop answer -----------------------------------------------------
def _apply_frame(err: BaseException) -> FrameType | None:
    """The frame of the engine's Function.apply that raised `err`, if one did."""
    own = Function.apply.__code__.co_filename
    applies = [frame for frame, _ in core.traceback_frames(err.__traceback__)
               if frame.f_code.co_name == "apply" and frame.f_code.co_filename == own]
    return applies[-1] if applies else None


def apply_inputs_hint(err: BaseException) -> str:
    """What the inputs a Function's apply failed on show: a list handed over as one input, a
    parameter passed by position, arrays where Tensors belong; or ""."""
    frame = _apply_frame(err)
    if frame is None:
        return ""
    inputs, function = frame.f_locals.get("inputs", ()), frame.f_locals.get("cls")
    name = getattr(function, "__name__", "Function")
    params = list(inspect.signature(function.forward).parameters.values())[1:] if function else []
    arrays = [p for p in params if p.kind is p.VAR_POSITIONAL
              or "ndarray" in str(p.annotation)] or params[:1]
    named = [p.name for p in params if p not in arrays]
    call = f"{name}.apply(" + ", ".join(
        ["*tensors" if p.kind is p.VAR_POSITIONAL else p.name for p in arrays]
        + [f"{p}={p}" for p in named]) + ")"
    packed = [type(x).__name__ for x in inputs if isinstance(x, (list, tuple))]
    if packed:
        return (f"{name}.apply received a {packed[0]} of Tensors as one input: apply takes each "
                f"input Tensor as its own argument (a list unpacked with *): {call}")
    numbers = [core._plain(x) for x in inputs if isinstance(x, (int, float, np.number))]
    if numbers:
        return (f"{name}.apply took {', '.join(numbers)} for "
                f"{'an input Tensor' if len(numbers) == 1 else 'input Tensors'}: apply takes "
                f"the input Tensors by position and forward's other arguments by name "
                f"({', '.join(named)}): {call}")
    if any(isinstance(x, np.ndarray) for x in inputs):
        return (f"{name}.apply received a NumPy array where a Tensor belongs: pass the Tensors "
                "themselves (not their .data); apply hands their arrays to forward")
    return ""


def function_called_hint(err: BaseException) -> str:
    """Name a Function subclass called like a function (CatFunction(...)), or ""."""
    called = re.match(r"(\w+)\(\) takes no arguments", str(err))
    kinds, names = [Function], set()
    while kinds:
        kind = kinds.pop()
        names.add(kind.__name__)
        kinds.extend(kind.__subclasses__())
    if not (called and called.group(1) in names):
        return ""
    return (f"a Function is not called itself: call its .apply, which runs forward and "
            f"connects the output to its inputs: {called.group(1)}.apply(*tensors, dim=dim)")


def pieces_into_one_array(err: BaseException) -> str:
    """np.array (or np.asarray) of the inputs in a cat forward, which fails on inputs of other
    sizes along dim: the join is np.concatenate; "" otherwise."""
    frames = core._learner_frames(err.__traceback__)
    line = core._source_line(*frames[-1]) if frames else ""
    if not frames or "inhomogeneous shape" not in str(err) or \
            "grad" in frames[-1][0].f_locals or \
            not re.search(r"\b(np|numpy)\.(array|asarray)\(", line):
        return ""
    return ("np.array makes a new array with one more axis and needs pieces of one shape, "
            "while cat joins them along an existing axis, where their sizes may differ: "
            "return np.concatenate(arrays, axis=dim)")


def split_error_hint(err: BaseException) -> str:
    """What an error of np.split or of an index along the joining axis means in a cat
    backward, or ""."""
    text = str(err)
    frames = core._learner_frames(err.__traceback__)
    line = core._source_line(*frames[-1]) if frames else ""
    cuts = "np.split(grad, np.cumsum(sizes)[:-1], axis=dim), sizes being the inputs' sizes " \
           "along dim"
    if "does not result in an equal division" in text:
        return ("np.split with a number n as its second argument cuts n EQUAL pieces, and "
                "fails when the axis does not divide by n; the inputs' sizes along dim differ, "
                f"so give it the positions of the cuts: {cuts}")
    if "unexpected keyword argument 'dim'" in text and "np." in line:
        return ("NumPy names the axis argument axis=, not dim= (dim= is the course Tensor's "
                f"and PyTorch's name): {cuts}")
    if "only integer scalar arrays can be converted to a scalar index" in text and \
            "split" in line:
        return ("np.split's third argument, the axis, got a list or array: the arguments come "
                f"as (array, positions of the cuts, axis), the axis one int: {cuts}")
    joined = "inhomogeneous shape" in text or "all input arrays must have the same shape" in text
    if joined and frames and "grad" in frames[-1][0].f_locals:
        return ("np.array (or np.stack) needs pieces of one shape, and the pieces of a cat differ "
                "along dim: return the pieces themselves, as a tuple or a list "
                "(tuple(np.split(...)))")
    beyond = re.search(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", text)
    if beyond:
        return (f"an index runs past the end of axis {beyond.group(2)} (size {beyond.group(3)}):"
                " the pieces of the gradient along dim end at its size, the sum of the inputs' "
                "sizes; piece i spans [start:start + size] (range(start, start + size), whose "
                "stop is excluded), start being the sum of the sizes before it")
    return ""


def forward_without_ctx(err: BaseException) -> str:
    """Name a Function's forward called directly (ctx None) rather than through apply, or ""."""
    frames = core._learner_frames(err.__traceback__)
    if not frames or "'NoneType'" not in str(err) or "ctx" not in frames[-1][0].f_locals or \
            frames[-1][0].f_locals["ctx"] is not None:
        return ""
    return ("forward got ctx=None: it was called directly; call the Function's .apply(...), "
            "which makes the ctx, calls forward and connects the output to its inputs")


def line_shapes(err: BaseException) -> dict[str, tuple[int, ...]]:
    """The shapes of the arrays and Tensors named on the learner's line that raised `err`."""
    frames = core._learner_frames(err.__traceback__)
    if not frames:
        return {}
    frame, lineno = frames[-1]
    names = re.findall(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", core._source_line(frame, lineno))
    shapes = {name: core._shape_of(core._lookup(frame, name)) for name in dict.fromkeys(names)}
    return {name: shape for name, shape in shapes.items() if shape is not None}


def course_call_hint(err: BaseException, expects: str) -> str:
    """For an error raised inside the course's code that the learner's line called: that, with
    what the call `expects` in this exercise (not the convolutions' kernel sizes and strides)
    and what the error's text means; "" when the error arose elsewhere."""
    called = core._course_function_below(err.__traceback__)
    if not called:
        return ""
    what = "one of the course's Tensor operations" if called in ("method", "<lambda>") or \
        called.startswith("_") else f"the course's `{called}`"
    meaning = plain_error_hint(err) or core.error_hint(str(err), line_shapes(err))
    return (f"the error arose inside {what}, called on this line: {expects}"
            + (f"; {meaning}" if meaning else ""))


def cat_error(err: BaseException) -> str:
    """What an exception of a cat answer shows about the mistake, or ""."""
    return (apply_inputs_hint(err) or function_called_hint(err) or split_error_hint(err)
            or pieces_into_one_array(err) or forward_without_ctx(err) or plain_error_hint(err)
            or course_call_hint(err, "the arguments passed to it do not fit it (compare them "
                                     "with CatFunction.apply(*tensors, dim=dim))"))


register(Exercise(
    grade_id="check_cat", lesson=LESSON, function="cat",
    probe=_probe_cat, verdict=_verdict_cat,
    success="cat matches PyTorch's torch.cat (output and every input's gradient) on every case.",
    engine_ops=("minitorch_unet.functional.cat", "minitorch_unet.cat",
                "minitorch_unet.basic_ops.Cat"), explain_error=cat_error))


# ---- center_crop -------------------------------------------------------------------------------
def crop_size(case: Case) -> tuple[int, int]:
    return pair(case["params"]["size"])


def describe_crop(case: Case) -> str:
    return f"center_crop(input {tuple(case['input'].shape)}, size={arg(case['params']['size'])})"


def find_offset(image: np.ndarray, window: np.ndarray) -> tuple[int, int] | None:
    """Where `window` sits in `image` (last two dims), or None."""
    h, w = window.shape[-2:]
    for top in range(image.shape[-2] - h + 1):
        for left in range(image.shape[-1] - w + 1):
            if np.allclose(image[..., top:top + h, left:left + w], window, rtol=1e-5, atol=1e-6):
                return top, left
    return None


def offset_message(what: str, found: tuple[int, int], case: Case) -> str:
    (h, w), (height, width) = crop_size(case), case["input"].shape[-2:]
    top, left = (height - h) // 2, (width - w) // 2
    rows = ("" if found[0] == top else
            f"the top offset is {found[0]}, expected (H - h) // 2 = ({height} - {h}) // 2 = {top}")
    cols = ("" if found[1] == left else
            f"the left offset is {found[1]}, expected (W - w) // 2 = ({width} - {w}) // 2 = {left}")
    off_by_one = (" (off by one: the offset is the leftover // 2, rounded down; an odd leftover "
                  "leaves its extra row/column at the bottom/right)"
                  if max(abs(found[0] - top), abs(found[1] - left)) == 1 else "")
    if top != left and found in ((top, top), (left, left)):
        off_by_one = (" (one offset serves both axes: the rows start at `top`, the columns at "
                      "`left`)")
    elif top != left and found == (left, top):
        off_by_one = (" (the two offsets are swapped: the rows start at `top`, the columns at "
                      "`left`)")
    return f"{what}: right size, wrong place: {'; '.join(t for t in (rows, cols) if t)}{off_by_one}"


# Offsets a crop may start at: (what it is, its value from the input's side n and the crop's
# side k); the first is the right one.
CROP_OFFSETS: tuple[tuple[str, Callable[[int, int], int]], ...] = (
    ("(n - k) // 2", lambda n, k: (n - k) // 2),
    ("(n - k) // 4, a quarter of the leftover: halve it once", lambda n, k: (n - k) // 4),
    ("n - k - (n - k) // 2, the border on the far side: the pads are given as (after, before); "
     "np.pad takes (before, after), (top, bottom) and (left, right)",
     lambda n, k: n - k - (n - k) // 2),
    ("n - k, the whole leftover", lambda n, k: n - k),
    ("n // 2 - k // 2, which is one more than (n - k) // 2 when n is even and k odd",
     lambda n, k: n // 2 - k // 2),
    ("n // 2, the centre itself: the window starts half a window before it", lambda n, k: n // 2),
    ("k // 2, half the crop's side", lambda n, k: k // 2),
    ("0, the corner", lambda n, k: 0),
    ("(n - k + 1) // 2, rounded up (off by one where n - k is odd): the offset is rounded "
     "down, so an odd leftover leaves its extra row/column at the bottom/right",
     lambda n, k: (n - k + 1) // 2),
    ("(n - k) // 2 + 1, one too many", lambda n, k: (n - k) // 2 + 1),
    ("(n - k) // 2 - 1, one too few", lambda n, k: (n - k) // 2 - 1),
)


def offset_relation(found: dict[str, tuple[int, int]], backward: bool = False) -> str:
    """Name the rule the offsets found in the cases (name -> (top, left)) follow, on both axes
    of every case, when it is not (n - k) // 2 in at least one of them; or "". In forward the
    far side's border is the leftover rounded up; in backward, which is given ctx.top and
    ctx.left, it is the pads reversed."""
    sides = {name: list(zip(cases("center_crop")[name]["input"].shape[-2:],
                            crop_size(cases("center_crop")[name]))) for name in found}
    right = CROP_OFFSETS[0][1]
    for text, rule in CROP_OFFSETS[1:]:
        if ("rounded up" if backward else "far side") in text:
            continue
        wanted = {name: tuple(rule(n, k) for n, k in sides[name]) for name in found}
        if wanted == found and any(wanted[name] != tuple(right(n, k) for n, k in sides[name])
                                   for name in found):
            legend = " (n the input's side, k the crop's)" if re.search(r"\b[nk]\b", text) \
                else ""
            return (f"your offsets are {text}{legend}; the window starts at top = (H - h) // 2, "
                    "left = (W - w) // 2")
    return ""


def found_offsets(names: tuple[str, ...], outputs: Outputs, key: str) -> dict[str, tuple[int, int]]:
    """Where the right-sized window sits in each case: the output in the input (key "out"),
    or grad_out in the returned gradient (key "grad_input")."""
    found = {}
    for name in names:
        case = cases("center_crop")[name]
        got = outputs.get(f"{name}/{key}")
        if got is None:
            continue
        if key == "out" and got.shape == case["out"].shape:
            where = find_offset(case["input"], got)
        elif key == "grad_input" and got.shape == case["input"].shape and \
                np.count_nonzero(got) == np.count_nonzero(case["grad_out"]):
            where = find_offset(got, case["grad_out"])
        else:
            where = None
        if where is not None:
            found[name] = where
    return found


def _probe_center_crop(fn: Callable[..., Any]) -> Outputs:
    return probe_cases("check_center_crop", tuple(cases("center_crop")), lambda name: probe_layer(
        fn, "center_crop", name, ("input",), (arg(cases("center_crop")[name]["params"]["size"]),)))


def border_relation(what: str, name: str, outputs: Outputs, case: Case) -> None:
    """Name a returned input gradient of the wrong size that holds grad_out at the right
    place: the border after the crop (bottom, right) is not H - top - h (W - left - w)."""
    raw = outputs.get(f"{name}/raw_grad_0")
    if raw is None or raw.shape[:-2] != case["input"].shape[:-2]:
        return
    (h, w), (height, width) = crop_size(case), case["input"].shape[-2:]
    top, left = (height - h) // 2, (width - w) // 2
    if height - h != width - w and raw.shape[-2:] == (h + width - w, w + height - h):
        raise CheckFailed(f"{what}: backward returned a gradient of shape {raw.shape} for input "
                          f"{case['input'].shape}: its rows are padded by the columns' leftover "
                          f"W - w = {width - w} and its columns by the rows' H - h = "
                          f"{height - h}: the row and column paddings are swapped (top/bottom "
                          "pad the rows, left/right the columns)")
    if raw.shape[-2] >= top + h and raw.shape[-1] >= left + w and np.allclose(
            raw[..., top:top + h, left:left + w], case["grad_out"], rtol=1e-5, atol=1e-6):
        raise CheckFailed(f"{what}: backward returned a gradient of shape {raw.shape} for input "
                          f"{case['input'].shape}: grad_out sits at the right place, but the "
                          f"border below it must be H - top - h = {height - top - h} rows and the "
                          f"one to its right W - left - w = {width - left - w} columns (the "
                          "bottom/right border differs from the top/left one when the leftover "
                          "is odd)")


def _verdict_center_crop(outputs: Outputs) -> None:
    verdict_cases(tuple(cases("center_crop")), outputs,
                  lambda ran: _verdict_center_crop_cases(ran, outputs))


# Sizes a crop may be given instead of size itself: (what it is, its value from the input's
# side n, the crop's side k and the offset (n - k) // 2).
CROP_SIZES: tuple[tuple[str, Callable[[int, int, int], int]], ...] = (
    ("n - offset, the rest of the image after the offset (the window's end passed where its "
     "size belongs?)", lambda n, k, o: n - o),
    ("n - k, the leftover that the offsets share", lambda n, k, o: n - k),
    ("offset + k, the window's end (a stop passed as the size?)", lambda n, k, o: o + k),
    ("n // 2", lambda n, k, o: n // 2),
    ("n - 2 * offset, the image less the offset on both sides (one too many when n - k is "
     "odd, since the bottom/right border takes the extra pixel)", lambda n, k, o: n - 2 * o),
    ("(n + k) // 2, where the window ends (a stop passed as the size?)",
     lambda n, k, o: (n + k) // 2),
    ("2 * (k // 2), one short when k is odd (a slice from the centre - k // 2 to the centre "
     "+ k // 2?): slice from the offset to the offset + k", lambda n, k, o: 2 * (k // 2)),
    ("k + 1 (one too many)", lambda n, k, o: k + 1),
    ("k - 1 (one too few)", lambda n, k, o: k - 1),
)


# Ends a crop's slice may be given instead of offset + k: (what it is, the stop from the
# input's side n, the crop's side k and the offset o); the side is then len(range(n)[o:stop]).
CROP_STOPS: tuple[tuple[str, Callable[[int, int, int], int]], ...] = (
    ("stops at k, the crop's size (a length passed where the slice's end belongs)",
     lambda n, k, o: k),
    ("stops at -offset (the far border taken equal to the near one; with a zero offset, "
     "[0:-0] is empty)", lambda n, k, o: -o),
    ("stops at n - k, the leftover", lambda n, k, o: n - k),
    ("stops at offset + k + 1, one past the window", lambda n, k, o: o + k + 1),
    ("stops at offset + k - 1, one short of the window", lambda n, k, o: o + k - 1),
)


def crop_stop_relation(outputs: Outputs, names: tuple[str, ...]) -> str:
    """Name the end the learner's slices stop at, if one rule other than offset + k gives the
    shape of every case, or ""."""
    for text, stop in CROP_STOPS:
        fits = []
        for name in names:
            case = cases("center_crop")[name]
            sides = list(zip(case["input"].shape[-2:], crop_size(case)))
            want = tuple(len(range(n)[(n - k) // 2:stop(n, k, (n - k) // 2)]) for n, k in sides)
            fits.append((tuple(outputs[f"{name}/out"].shape[-2:]) == want,
                         want != tuple(k for _, k in sides)))
        if all(fit for fit, _ in fits) and any(differs for _, differs in fits):
            return (f"your slice {text}; slice [..., top:top + h, left:left + w], the end is the "
                    "offset plus the crop's size")
    return ""


# Offsets of the wrong sign a crop may start at: (what it is, the offset from the input's
# side n and the crop's side k). A negative start counts from the end, so the slice
# [o:o + k] comes out empty or short.
NEGATIVE_OFFSETS: tuple[tuple[str, Callable[[int, int], int]], ...] = (
    ("({k} - {n}) // 2, the difference taken the wrong way round", lambda n, k: (k - n) // 2),
    ("-(({n} - {k}) // 2), the offset negated", lambda n, k: -((n - k) // 2)),
)


def crop_sign_relation(outputs: Outputs, names: tuple[str, ...]) -> str:
    """Name offsets of the wrong sign on one axis or both, when slices [o:o + k] that start
    there give the shape of every case; or ""."""
    rules = (("", CROP_OFFSETS[0][1]), *NEGATIVE_OFFSETS)
    pairs = sorted(itertools.product(rules, repeat=2),   # one rule for both axes first
                   key=lambda pair: (pair[0] != pair[1], not (pair[0][0] and pair[1][0])))
    for rows, cols in pairs:
        if not (rows[0] or cols[0]):
            continue
        fits = []
        for name in names:
            case = cases("center_crop")[name]
            sides = list(zip(case["input"].shape[-2:], crop_size(case)))
            want = tuple(len(range(n)[rule(n, k):rule(n, k) + k])
                         for (n, k), (_, rule) in zip(sides, (rows, cols)))
            fits.append((tuple(outputs[f"{name}/out"].shape[-2:]) == want,
                         want != tuple(k for _, k in sides)))
        if all(fit for fit, _ in fits) and any(differs for _, differs in fits):
            named = [f"the {axis} offset is {text.format(n=n, k=k)}"
                     for axis, (text, _), n, k in (("top", rows, "H", "h"),
                                                    ("left", cols, "W", "w")) if text]
            if rows[0] and rows[0] == cols[0]:
                first, _, why = rows[0].partition(", ")
                named = [f"they are {first.format(n='H', k='h')} and "
                         f"{first.format(n='W', k='w')}, {why}"]
            return (f"your offsets are negative: {'; '.join(named)} (a negative start counts "
                    "from the end, so the slice comes out empty or short): top = (H - h) // 2, "
                    "left = (W - w) // 2")
    return ""


def crop_size_relation(outputs: Outputs, names: tuple[str, ...]) -> str:
    """Name the side the learner's crops were given, if one rule other than size fits the
    shape of every case, or ""."""
    shapes = [(tuple(outputs[f"{name}/out"].shape[-2:]),
               list(zip(cases("center_crop")[name]["input"].shape[-2:],
                        crop_size(cases("center_crop")[name])))) for name in names]
    for text, rule in CROP_SIZES:
        wanted = [tuple(rule(n, k, (n - k) // 2) for n, k in sides) for _, sides in shapes]
        if all(got == want for (got, _), want in zip(shapes, wanted)) and \
                any(want != tuple(k for _, k in sides) for want, (_, sides) in zip(wanted, shapes)):
            return (f"each side of your crop is {text}; the height and width passed to the crop "
                    "are size itself, (h, w)")
    return crop_stop_relation(outputs, names)


def _verdict_center_crop_cases(names: tuple[str, ...], outputs: Outputs) -> None:
    check_returns_tensor("center_crop", names, outputs)
    check_connected("center_crop", names, outputs)
    for name in names:
        case = cases("center_crop")[name]
        what, got = describe_crop(case), outputs[f"{name}/out"]
        (h, w) = crop_size(case)
        if got.shape[-2:] == (w, h) != (h, w):
            raise CheckFailed(f"{what}: got {got.shape[-2:]} pixels, expected {(h, w)}: size is "
                              "(height, width), in that order")
        why = (crop_sign_relation(outputs, names) or crop_size_relation(outputs, names)) \
            if got.shape[-2:] != (h, w) else ""
        if why:
            raise CheckFailed(f"{what}: got {got.shape[-2:]} pixels, expected {(h, w)}: {why}")
        if h != w and got.shape[-2:] in ((h, h), (w, w)):
            raise CheckFailed(f"{what}: got {got.shape[-2:]} pixels, expected {(h, w)}: one number "
                              "of size serves both sides; a tuple size is (height, width), "
                              "size[0] rows and size[1] columns (only an int means a square)")
        if got.shape[:-2] == case["out"].shape[:-2] and len(got.shape) == len(case["out"].shape):
            for axis, name in ((-2, "height (rows)"), (-1, "width (columns)")):
                other = -1 if axis == -2 else -2
                if got.shape[axis] == case["input"].shape[axis] != case["out"].shape[axis] and \
                        got.shape[other] == case["out"].shape[other]:
                    raise CheckFailed(f"{what}: got {got.shape}, expected {case['out'].shape}: the "
                                      f"{name} is not cropped: slice both of the last two axes")
        why = crop_size_relation(outputs, names) if got.shape[-2:] != (h, w) else ""
        if why:
            raise CheckFailed(f"{what}: got {got.shape[-2:]} pixels, expected {(h, w)}: {why}")
        expect_shape(what, got, case["out"].shape,
                     hint="only the last two dims shrink, to size (an int means a square)")
        if not np.allclose(got, case["out"], rtol=1e-5, atol=1e-6):
            found = find_offset(case["input"], got)
            why = offset_relation(found_offsets(names, outputs, "out")) if found else ""
            if why:
                raise CheckFailed(f"{what}: right size, wrong place: {why}")
            if found is not None:
                raise CheckFailed(offset_message(what, found, case))
        diagnose_values(what, got, case["out"], lambda: [])
    for name in names:
        case = cases("center_crop")[name]
        label = f"{describe_crop(case)}: gradient with respect to input (input.grad)"
        border_relation(describe_crop(case), name, outputs, case)
        raw = outputs.get(f"{name}/raw_grad_0")
        if raw is not None and raw.shape == case["grad_out"].shape != case["input"].shape and \
                np.allclose(raw, case["grad_out"]):
            raise CheckFailed(f"{label}: backward returned a gradient of shape {raw.shape}, "
                              "grad itself (the crop's shape); the input's gradient has the "
                              f"input's shape {case['input'].shape}: start from "
                              "np.zeros(ctx.shape) and put grad at [..., top:top + h, "
                              "left:left + w]")
        shape = case["input"].shape
        if raw is not None and raw.ndim < len(shape) and raw.shape == shape[len(shape) - raw.ndim:]:
            raise CheckFailed(f"{label}: backward returned a gradient of shape {raw.shape}, the "
                              f"input's last {raw.ndim} axes only; the input is {shape}: keep its "
                              "leading axes (batch, channels), start from np.zeros(ctx.shape)")
        returned_gradients_verdict(describe_crop(case), name, outputs,
                                   [("input", case["input"].shape)])
        if f"{name}/grad_input" not in outputs:
            raise CheckFailed(f"{label} is None: backward must return the input's gradient")
        got = outputs[f"{name}/grad_input"]
        if not np.allclose(got, case["grad_input"], rtol=1e-4, atol=1e-5):
            found = find_offset(got, case["grad_out"])
            why = offset_relation(found_offsets(names, outputs, "grad_input"), backward=True) \
                if found else ""
            if why:
                raise CheckFailed(f"{label}: grad_out is put back at the wrong place: {why}")
            if found is not None and np.count_nonzero(got) == np.count_nonzero(case["grad_out"]):
                raise CheckFailed(offset_message(label + ": grad_out is put back", found, case))
        if not np.allclose(got, case["grad_input"]) and np.array_equal(
                got, np.trunc(case["grad_input"])):
            raise CheckFailed(f"{label}: your values are the right ones truncated to whole "
                              "numbers: the array you fill has an int dtype; make it float, "
                              "np.zeros(ctx.shape) or np.zeros(ctx.shape, dtype=grad.dtype)")
        window = np.zeros(case["input"].shape, dtype=bool)
        top, left = [(n - k) // 2 for n, k in zip(case["input"].shape[-2:], crop_size(case))]
        window[..., top:top + crop_size(case)[0], left:left + crop_size(case)[1]] = True
        if got.shape == window.shape and np.allclose(got[window], case["grad_input"][window]) \
                and not np.allclose(got[~window], 0):
            raise CheckFailed(f"{label}: right inside the crop, but not zero outside it: the "
                              "input's pixels outside the crop do not reach the output, so "
                              "their gradient is zero (start from np.zeros)")
        diagnose_values(label, got, case["grad_input"], lambda: [])


def negative_offsets(err: BaseException) -> str:
    """Name the negative ints in the learner's frame where a crop's slice or pad failed (an
    empty slice cannot take grad, np.pad refuses a negative width), or ""."""
    text = str(err)
    emptied = re.search(r"into shape \(([\d, ]*)\)", text)
    if not ("negative" in text or emptied and "0" in emptied.group(1).replace(" ", "").split(",")):
        return ""
    frames = core._learner_frames(err.__traceback__)
    if not frames:
        return ""
    local = frames[-1][0].f_locals
    negative = [f"{name}={value}" for name, value in local.items()
                if isinstance(value, (int, np.integer)) and not isinstance(value, bool)
                and value < 0 and name not in ("dim", "axis")]
    if not negative:
        return ""
    return (f"{', '.join(negative)} {'is' if len(negative) == 1 else 'are'} negative: an offset "
            "is the input's side minus the crop's, (H - h) // 2 and (W - w) // 2, never the "
            "other way round (a negative start counts from the end, so the slice comes out "
            "empty, and np.pad refuses a negative width)")


def int_size(err: BaseException) -> str:
    """Name an int size unpacked as a pair (h, w), or ""."""
    if "cannot unpack non-iterable int" not in str(err):
        return ""
    return ("size may be an int or a pair (h, w): h, w = (size, size) if isinstance(size, int) "
            "else size")


def crop_error(err: BaseException) -> str:
    """What an exception of a center_crop answer shows about the mistake, or ""."""
    return (negative_offsets(err) or apply_inputs_hint(err) or forward_without_ctx(err)
            or int_size(err) or plain_error_hint(err)
            or course_call_hint(err, "the arguments passed to it do not fit it (compare them "
                                     "with CropFunction.apply(x, top=top, left=left, "
                                     "height=height, width=width))"))


register(Exercise(
    grade_id="check_center_crop", lesson=LESSON, function="center_crop",
    probe=_probe_center_crop, verdict=_verdict_center_crop,
    success="center_crop matches PyTorch (the crop and its gradient) on every case.",
    engine_ops=("minitorch_unet.functional.center_crop",), explain_error=crop_error))
