"""Checks of lesson 10 (the GPU): the work and the memory traffic of one convolution.

``conv2d_cost`` counts the floating-point operations and the bytes moved by a stride-1,
'same'-padded convolution without bias; their ratio is the arithmetic intensity that
decides whether a layer is limited by arithmetic or by memory. The verdict counts them
its own way (per output value, then per tensor) and compares with classic slips: a
multiply-add counted once, the kernel area forgotten, bytes counted as values.
"""
from __future__ import annotations

import itertools

from typing import Any, Callable

import numpy as np

from .core import CheckFailed, Exercise, Outputs, number_exercises, own_cases, register

LESSON = "10_gpu"
number_exercises(LESSON, ("conv2d_cost",))

# (batch, c_in, c_out, height, width, kernel, itemsize): the U-Net's layers and odd shapes.
COST_CASES = ((1, 1, 1, 1, 1, 1, 4), (2, 3, 5, 7, 9, 3, 4), (16, 1, 32, 256, 256, 3, 4),
              (16, 256, 512, 16, 16, 3, 4), (8, 64, 32, 64, 64, 1, 2), (4, 16, 16, 10, 12, 5, 8))


@own_cases(stream=100)
def cost_cases(rng: np.random.Generator, fresh: bool) -> tuple[tuple[int, ...], ...]:
    """COST_CASES, and when fresh three layers drawn for the run."""
    drawn = [tuple(int(v) for v in (*rng.integers(1, 65, size=5), rng.choice([1, 3, 5, 7]),
                                     rng.choice([2, 4, 8]))) for _ in range(3 if fresh else 0)]
    return COST_CASES + tuple(drawn)


def cost_by_parts(n: int, c_in: int, c_out: int, h: int, w: int, k: int, itemsize: int,
                  *, flops_per_mac: int = 2, kernel_area: bool = True, weights: bool = True,
                  output: bool = True, as_bytes: bool = True, im2col: bool = False,
                  adds_only_between: bool = False, padded: bool = False, output_read: bool = False,
                  bias: bool = False, valid: bool = False, bias_add: bool = False
                  ) -> tuple[int, int]:
    """(FLOPs, bytes): each output value takes c_in * k * k multiply-adds; the input and the
    weights are read once and the output written once. The keywords make classic slips."""
    macs_per_output = c_in * (k * k if kernel_area else 1)
    outputs = n * c_out * (h - k + 1) * (w - k + 1) if valid else n * c_out * h * w
    flops = (flops_per_mac * macs_per_output - adds_only_between + bias_add) * outputs
    side = (h + k - 1, w + k - 1) if padded else (h, w)
    values = n * c_in * side[0] * side[1] * (k * k if im2col else 1)
    values += c_out * c_in * k * k if weights else 0
    values += outputs * (output + output_read)
    values += c_out if bias else 0
    return flops, values * (itemsize if as_bytes else 1)


COST_MISTAKES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("the FLOPs count each multiply-add once; a multiply-add is 2 floating-point operations",
     {"flops_per_mac": 1}),
    ("the FLOPs miss the kernel area: each output value sums c_in * k * k products",
     {"kernel_area": False}),
    ("the bytes leave out the weights (c_out * c_in * k * k values)", {"weights": False}),
    ("the bytes leave out writing the output (N * c_out * H * W values)", {"output": False}),
    ("the bytes are a count of values: multiply by itemsize (4 for float32)", {"as_bytes": False}),
    ("the bytes count the input k * k times (an im2col matrix); count the input once: that is "
     "the least traffic, the one a well-made kernel approaches", {"im2col": True}),
    ("the FLOPs count 2 c_in k k - 1 per output value (one add fewer than products); count "
     "every multiply-add as 2 operations, 2 c_in k k per output value",
     {"adds_only_between": True}),
    ("the bytes count the padded input, (H + k - 1)(W + k - 1) values per channel; the padding "
     "zeros are never read from memory: count the input's N c_in H W values",
     {"padded": True}),
    ("the bytes count the output twice (read and written); it is only written once",
     {"output_read": True}),
    ("the bytes count a bias (c_out values); this convolution has none", {"bias": True}),
    ("the FLOPs count a bias add per output value; this convolution has no bias",
     {"bias_add": True}),
    ("you count a 'valid' output of (H - k + 1) x (W - k + 1) pixels; with 'same' padding the "
     "output keeps H x W", {"valid": True}),
)


def _call(case: tuple[int, ...]) -> str:
    n, c_in, c_out, h, w, k, itemsize = case
    return (f"conv2d_cost(n={n}, c_in={c_in}, c_out={c_out}, h={h}, w={w}, k={k}, "
            f"itemsize={itemsize})")


def _probe_cost(fn: Callable[..., Any]) -> Outputs:
    layers = cost_cases()
    rows, whole = [], []
    for case in layers:
        n, c_in, c_out, h, w, k, itemsize = case
        result = fn(n, c_in, c_out, h, w, k, itemsize=itemsize)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailed(f"{_call(case)} returned {result!r}; return a pair "
                              "(flops, bytes) of ints")
        for value in result:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer,
                                                                             float, np.floating)):
                raise CheckFailed(f"{_call(case)} returned {result!r}; both numbers are whole: "
                                  "return Python ints")
        rows.append([float(v) for v in result])
        whole.append(all(isinstance(v, (int, np.integer)) for v in result))
    return {"costs": np.array(rows, dtype=np.float64), "whole": np.array(all(whole))}


# Units a count may be given in: (name, how many of the plain unit make one).
UNITS = (("thousands (k)", 1e3), ("millions (M)", 1e6), ("billions (G)", 1e9),
         ("trillions (T)", 1e12), ("KiB (2**10)", 2.0 ** 10), ("MiB (2**20)", 2.0 ** 20),
         ("GiB (2**30)", 2.0 ** 30))


def unit_relation(got: np.ndarray, expected: np.ndarray) -> str:
    """Name the units the (FLOPs, bytes) columns are given in, when one of them is scaled by
    a power of 1000 or 1024 (divided, or floor-divided), or ""."""
    named = []
    for column, what in ((0, "FLOPs"), (1, "bytes")):
        for unit, size in UNITS:
            if np.allclose(got[:, column], expected[:, column] / size, rtol=1e-9, atol=0) or \
                    np.array_equal(got[:, column], np.floor(expected[:, column] / size)):
                named.append(f"the {what} in {unit}")
    if not named:
        return ""
    return ("you return " + " and ".join(named) + ": return the plain counts (FLOPs and bytes "
            "as whole numbers); scale them only to print them")


def _verdict_cost(outputs: Outputs) -> None:
    layers = cost_cases()
    got = outputs["costs"]
    expected = np.array([cost_by_parts(*case) for case in layers], dtype=np.int64)
    if np.shape(got) != expected.shape:
        raise CheckFailed(f"conv2d_cost: expected {expected.shape[0]} (flops, bytes) pairs, got "
                          f"an array of shape {np.shape(got)}")
    why = unit_relation(got, expected)
    if why:
        raise CheckFailed(f"{_call(layers[2])}: returned ({got[2, 0]:g}, {got[2, 1]:g}), "
                          f"expected ({expected[2, 0]:,}, {expected[2, 1]:,}): {why}")
    if np.array_equal(got, expected) and not outputs["whole"]:
        raise CheckFailed(f"{_call(layers[0])} returned floats; both numbers are whole: "
                          "return Python ints")
    if np.array_equal(got, expected):
        return
    if np.array_equal(got[:, ::-1], expected):
        mine, right = tuple(int(v) for v in got[0]), tuple(int(v) for v in expected[0])
        raise CheckFailed(f"{_call(layers[0])}: returned {mine}, expected {right}: the two "
                          "numbers are in the wrong order; return (flops, bytes)")
    for column, what in ((0, "FLOPs"), (1, "bytes")):
        bad = np.flatnonzero(got[:, column] != expected[:, column])
        if not bad.size:
            continue
        first = int(bad[0])
        mine = got[first, column]
        head = (f"{_call(layers[first])}: {what}: expected {expected[first, column]:,}, "
                f"got {int(mine) if mine == int(mine) else mine:,}")
        pairs = [(f"{t1}; and {t2}", {**v1, **v2}) for i, (t1, v1) in enumerate(COST_MISTAKES)
                 for t2, v2 in COST_MISTAKES[i + 1:] if {**v1, **v2}.keys() != {"weights", "bias"}]

        def slip(slips: list[tuple[str, dict[str, Any]]] | tuple[tuple[str, dict[str, Any]], ...],
                 column: int = column) -> str:
            for text, variant in slips:
                wrong = np.array([cost_by_parts(*case, **variant) for case in layers])
                if np.array_equal(got[:, column], wrong[:, column]) and \
                        not np.array_equal(wrong[:, column], expected[:, column]):
                    return text
            return ""
        why = (slip(COST_MISTAKES)                                # the fewest slips first
               or factors_left_out(got[:, column], expected[:, column], layers, column, ("k", "k"))
               or slip(pairs) or factors_left_out(got[:, column], expected[:, column], layers,
                                                  column))
        if why:
            raise CheckFailed(f"{head}: {why}")
        why = cost_relation(got[:, column], expected[:, column], layers, column)
        if why:
            raise CheckFailed(f"{head}: {why}")
        if not outputs["whole"]:
            raise CheckFailed(f"{head}; both numbers are whole: return Python ints")
        raise CheckFailed(f"{head}. FLOPs = 2 * N * c_out * H * W * c_in * k * k; bytes = "
                          "itemsize * (N c_in H W + c_out c_in k k + N c_out H W)")


_SIZES = ("N", "c_in", "c_out", "H", "W", "k", "itemsize")


def cost_relation(got: np.ndarray, expected: np.ndarray, layers: tuple[tuple[int, ...], ...],
                  column: int) -> str:
    """Name a factor of the layer's sizes the count is missing or has too many (FLOPs and
    bytes), or a tensor the bytes count a wrong number of times; "" otherwise."""
    what = ("FLOPs", "bytes")[column]
    sizes = np.array(layers, dtype=np.float64)
    ratio = got / expected
    extra = got - expected
    if np.allclose(extra, extra[0]) and extra[0] != 0:
        return (f"your {what} are the right count {'plus' if extra[0] > 0 else 'minus'} "
                f"{abs(extra[0]):g} in every layer tried: a constant term is "
                f"{'extra' if extra[0] > 0 else 'missing'}; the count is a product of the layer's "
                "sizes, with nothing added")
    for i, name in enumerate(_SIZES):
        for power, text in ((-1, f"miss the factor {name}"), (1, f"have an extra factor {name}")):
            wanted = sizes[:, i] ** power
            if not np.allclose(wanted, 1) and np.allclose(ratio, wanted):
                note = " (the batch)" if name == "N" else ""
                return f"your {what} {text}{note}, in every layer tried"
    flops = ("N", "c_in", "c_out", "H", "W", "k")
    for i, j in itertools.permutations(range(len(_SIZES) - 1), 2):
        if column == 0 and _SIZES[i] in flops and _SIZES[j] in flops and \
                not np.allclose(sizes[:, i], sizes[:, j]) and \
                np.allclose(ratio, sizes[:, i] / sizes[:, j]):
            return (f"your FLOPs use {_SIZES[i]} where {_SIZES[j]} belongs: FLOPs = 2 * N * "
                    "c_out * H * W * c_in * k * k")
    for i, j in itertools.combinations(range(len(_SIZES) - 1), 2):
        if column == 0 and not np.allclose(sizes[:, i] + sizes[:, j], sizes[:, i] * sizes[:, j]) \
                and np.allclose(ratio, (sizes[:, i] + sizes[:, j]) / (sizes[:, i] * sizes[:, j])):
            return (f"your FLOPs add {_SIZES[i]} + {_SIZES[j]} where they multiply "
                    f"{_SIZES[i]} * {_SIZES[j]}: every output value of each output channel "
                    "sums over every input channel")
    if column == 0:
        return ""
    n, c_in, c_out, h, w, k, itemsize = sizes.T
    if np.allclose(ratio, 8):
        return "your bytes are 8 times the right count: they count bits; a byte is 8 bits"
    for fixed in (1, 2, 4, 8):
        if np.allclose(ratio, fixed / itemsize) and not np.allclose(itemsize, fixed):
            return (f"your bytes use an itemsize of {fixed} for every layer: multiply by the "
                    "`itemsize` argument")
    tensors = (("the input", n * c_in * h * w), ("the weights", c_out * c_in * k * k),
               ("the output", n * c_out * h * w))
    for scaled in itertools.product((True, False), repeat=3):   # itemsize on some terms only
        if all(scaled) or not any(scaled):
            continue
        partial = sum(v * (itemsize if on else 1) for (_, v), on in zip(tensors, scaled))
        if not np.allclose(partial, expected) and np.allclose(got, partial):
            which = " and ".join(t for (t, _), on in zip(tensors, scaled) if on)
            return (f"itemsize multiplies only {which}: put the sum of the values in parentheses, "
                    "itemsize * (N c_in H W + c_out c_in k k + N c_out H W)")
    times = (("once per sample (N times)", n), ("twice", 2.0), ("not at all", 0.0),
             ("k * k times", k * k))
    for tensor, values in tensors:
        for text, count in times:
            if not np.allclose(count, 1) and \
                    np.allclose(got - expected, (count - 1) * values * itemsize):
                return (f"the bytes count {tensor} {text}; each tensor is read or written "
                        "once")
    formulas = {"the input": ("N", "c_in", "H", "W"), "the weights": ("c_out", "c_in", "k", "k"),
                "the output": ("N", "c_out", "H", "W")}
    for tensor, values in tensors:              # one size of a tensor read as another
        factor = 1 + (got - expected) / (values * itemsize)
        for i, j in itertools.permutations(range(len(_SIZES) - 1), 2):
            if _SIZES[j] in formulas[tensor] and _SIZES[i] not in formulas[tensor] and \
                    not np.allclose(sizes[:, i], sizes[:, j]) and \
                    np.allclose(factor, sizes[:, i] / sizes[:, j]):
                return (f"the bytes count {tensor} with {_SIZES[i]} where {_SIZES[j]} belongs: "
                        f"{tensor} {'hold' if tensor == 'the weights' else 'holds'} "
                        f"{' '.join(formulas[tensor])} values")
    for tensor, values in tensors:              # two sizes of a tensor added, not multiplied
        names = formulas[tensor]
        for a, b in itertools.combinations(range(len(names)), 2):
            i, j = _SIZES.index(names[a]), _SIZES.index(names[b])
            rest = np.prod([sizes[:, _SIZES.index(n)] for k, n in enumerate(names)
                            if k not in (a, b)], axis=0)
            added = (sizes[:, i] + sizes[:, j]) * rest
            if not np.allclose(added, values) and \
                    np.allclose(got - expected, (added - values) * itemsize):
                return (f"the bytes count {tensor} with {names[a]} + {names[b]} where they "
                        f"multiply: {tensor} {'hold' if tensor == 'the weights' else 'holds'} "
                        f"{' '.join(names)} values")
    for tensor, values in tensors:              # one tensor's size with a factor too many or few
        factor = 1 + (got - expected) / (values * itemsize)
        for i, name in enumerate(_SIZES[:-1]):
            for power, text in ((-1, f"without the factor {name}"),
                                (1, f"with an extra factor {name}")):
                if not np.allclose(sizes[:, i], 1) and np.allclose(factor, sizes[:, i] ** power):
                    return (f"the bytes count {tensor} {text}: "
                            + {"the input": "the input holds N c_in H W",
                               "the weights": "the weights hold c_out c_in k k",
                               "the output": "the output holds N c_out H W"}[tensor]
                            + " values")
    return ""


# The factors of each count, by the names of the layer's sizes.
_FACTORS = {"FLOPs": ("2", "N", "c_out", "H", "W", "c_in", "k", "k"),
            "the input": ("N", "c_in", "H", "W"), "the weights": ("c_out", "c_in", "k", "k"),
            "the output": ("N", "c_out", "H", "W")}


def factors_left_out(got: np.ndarray, expected: np.ndarray,
                     layers: tuple[tuple[int, ...], ...], column: int,
                     only: tuple[str, ...] | None = None) -> str:
    """Name two or three factors of the FLOPs, or of one tensor's size in the bytes, or one
    factor of several tensors, that the count leaves out in every layer tried, or ""; `only`:
    just those factors of one count (the kernel area, ("k", "k"))."""
    sizes = dict(zip(_SIZES, np.array(layers, dtype=np.float64).T))
    sizes["2"] = np.full(len(layers), 2.0)
    value = lambda names: np.prod([sizes[n] for n in names], axis=0)  # noqa: E731
    for tensor in ["FLOPs"] if column == 0 else [t for t in _FACTORS if t != "FLOPs"]:
        names = _FACTORS[tensor]
        for size in (2, 3):
            for left in sorted(set(itertools.combinations(names, size))):
                if only is not None and left != only:
                    continue
                rest = list(names)
                for n in left:
                    rest.remove(n)
                drop = value(rest) if column == 0 else (value(rest) - value(names)) * \
                    sizes["itemsize"]
                wanted = drop if column == 0 else expected + drop
                if not np.allclose(wanted, expected) and np.allclose(got, wanted):
                    factors = " * ".join(left) + (" (the kernel area)" if left == ("k", "k")
                                                  else "")
                    if column == 0:
                        return (f"your FLOPs leave out the factors {factors}, in every layer "
                                "tried: FLOPs = 2 * N * c_out * H * W * c_in * k * k")
                    verb = "hold" if tensor == "the weights" else "holds"
                    return (f"the bytes count {tensor} without the factors {factors}, in every "
                            f"layer tried: {tensor} {verb} {' '.join(names)} values")
    if column == 1:                              # one factor left out of several tensors
        tensors = [t for t in _FACTORS if t != "FLOPs"]
        for name in ("N", "c_in", "c_out", "H", "W", "k"):
            holding = [t for t in tensors if name in _FACTORS[t]]
            for size in range(2, len(holding) + 1):
                for some in itertools.combinations(holding, size):
                    drop = sum(value(_FACTORS[t]) / sizes[name] - value(_FACTORS[t])
                               for t in some) * sizes["itemsize"]
                    if not np.allclose(drop, 0) and np.allclose(got, expected + drop):
                        return (f"the bytes count {' and '.join(some)} without the factor "
                                f"{name}{' (the batch)' if name == 'N' else ''}, in every layer "
                                "tried: bytes = itemsize * (N c_in H W + c_out c_in k k + "
                                "N c_out H W)")
    return ""


register(Exercise(
    grade_id="check_conv2d_cost", lesson=LESSON, function="conv2d_cost",
    probe=_probe_cost, verdict=_verdict_cost,
    success="conv2d_cost counts the FLOPs and the bytes of a convolution right."))
