"""Checks of lesson 07 (modules and the U-Net): the parameter count and the receptive field.

Neither exercise is a layer, so no PyTorch reference applies; each verdict computes the
expected numbers its own way. The parameter count is checked against a walk over every
trained tensor of the course's U-Net (the same layers ``torch.nn`` would build), not
against a closed formula; the receptive field against the backward recursion
r_in = s * (r_out - 1) + k, not against the forward sum the lesson derives. Wrong answers
are compared with classic mistakes (a forgotten skip connection, batch-norm buffers
counted as parameters, strides ignored...).
"""
from __future__ import annotations

import itertools
import re

from typing import Any, Callable

import numpy as np

from .core import (EXERCISES, CheckFailed, Exercise, Outputs, describe_error, number_exercises,
                   own_cases, register)

LESSON = "07_modules_and_unet"
number_exercises(LESSON, ("count_parameters", "receptive_field"))

# (depth, base_filters, in_channels): shallow and deep, one and three input channels.
COUNT_CASES = ((1, 1, 1), (1, 2, 1), (2, 4, 1), (3, 8, 1), (4, 16, 1), (4, 32, 1), (2, 4, 3),
               (5, 2, 2))


@own_cases(stream=7)
def count_cases(rng: np.random.Generator, fresh: bool) -> tuple[tuple[int, int, int], ...]:
    """COUNT_CASES, and when fresh three settings drawn for the run."""
    drawn = [(int(rng.integers(1, 6)), int(rng.integers(1, 33)), int(rng.integers(1, 5)))
             for _ in range(3 if fresh else 0)]
    return COUNT_CASES + tuple(drawn)


def unet_tensors(depth: int, base: int, in_channels: int, *, conv_bias: bool = False,
                 batch_norm: bool = True, buffers: bool = False, skip: bool = True,
                 head: bool = True, up_bias: bool = True,
                 width: Callable[[int, int], int] = lambda base, i: base * 2 ** i,
                 kernel: tuple[int, ...] = (3, 3), up_keeps: bool = False,
                 decoder_levels: int = 0, second_in: Callable[[str], bool] = lambda name: False,
                 bottleneck_doubles: bool = True, wide_upsampled: bool = False,
                 head_deep: bool = False) -> list[tuple[str, tuple[int, ...]]]:
    """Every trained tensor of the course U-Net ('same' padding, batch norm, one output
    channel) as (name, shape); the keyword switches rebuild classic miscounts (width: the
    channels of level i; kernel: the 3x3 kernel's shape; up_keeps: transposed convolutions
    that keep their channel count; decoder_levels: decoder levels more (or fewer) than depth;
    second_in: blocks whose second convolution takes the block's input channels;
    bottleneck_doubles: False for a bottleneck as wide as the deepest encoder level;
    wide_upsampled: decoder first convolutions that read w_(i+1) + w_i channels; head_deep:
    a head that reads the bottleneck's width w_depth)."""
    widths = [width(base, i) for i in range(depth + 2)]
    if not bottleneck_doubles:
        widths[depth] = widths[depth - 1]
    tensors: list[tuple[str, tuple[int, ...]]] = []

    def double_conv(name: str, c_in: int, c_out: int) -> None:
        for i, c in enumerate((c_in, c_in if second_in(name) else c_out)):
            tensors.append((f"{name}.conv{i}.weight", (c_out, c) + tuple(kernel)))
            if conv_bias:
                tensors.append((f"{name}.conv{i}.bias", (c_out,)))
            if batch_norm:
                tensors.extend([(f"{name}.bn{i}.weight", (c_out,)), (f"{name}.bn{i}.bias", (c_out,))])
            if buffers:
                tensors.extend([(f"{name}.bn{i}.running_mean", (c_out,)),
                                (f"{name}.bn{i}.running_var", (c_out,))])

    for i in range(depth):
        double_conv(f"enc{i + 1}", in_channels if i == 0 else widths[i - 1], widths[i])
    double_conv("bottleneck", widths[depth - 1], widths[depth])
    for i in reversed(range(depth + decoder_levels)):
        up = widths[i + 1] if up_keeps else widths[i]
        tensors.append((f"up{i + 1}.weight", (widths[i + 1], up, 2, 2)))
        if up_bias:
            tensors.append((f"up{i + 1}.bias", (up,)))
        below = widths[i + 1] if wide_upsampled else up
        double_conv(f"dec{i + 1}", below + widths[i] if skip else below, widths[i])
    if head:
        tensors += [("head.weight", (1, widths[depth if head_deep else 0], 1, 1)),
                    ("head.bias", (1,))]
    return tensors


def count_by_walk(depth: int, base: int, in_channels: int, **variant: Any) -> int:
    """The number of trained values: the sum of the sizes of every tensor."""
    return int(sum(np.prod(shape) for _, shape in unet_tensors(depth, base, in_channels, **variant)))


COUNT_MISTAKES: tuple[tuple[str, dict[str, Any] | Callable[[int, int, int], int]], ...] = (
    ("you counted a bias for every 3x3 convolution; a convolution followed by batch norm has "
     "none (bias=False), since batch norm's own bias (beta) replaces it", {"conv_bias": True}),
    ("the batch-norm parameters are missing: each batch norm trains a weight (gamma) and a bias "
     "(beta), one per channel", {"batch_norm": False}),
    ("you also counted batch norm's running mean and variance; they are buffers (statistics), "
     "not trained parameters", {"buffers": True}),
    ("the decoder's first convolution takes w_i input channels in your count, but the skip "
     "connection is concatenated first: it takes 2 * w_i", {"skip": False}),
    ("the 1x1 head (w_0 weights + 1 bias) is missing", {"head": False}),
    ("the transposed convolutions' biases (w_i each) are missing", {"up_bias": False}),
    ("in_channels is ignored: the first convolution's weight is (base_filters, in_channels, 3, 3)",
     lambda d, b, c: count_by_walk(d, b, 1)),
)


# Groups of tensors a count may leave out, count twice or size wrongly:
# (what they are, does the tensor belong, its kernel side or 0 for no kernel).
TENSOR_GROUPS: tuple[tuple[str, Callable[[str, int], bool], int], ...] = (
    ("the bottleneck (the deepest double convolution)",
     lambda n, d: n.startswith("bottleneck."), 0),
    ("the deepest encoder level", lambda n, d: n.startswith(f"enc{d}."), 0),
    ("the first encoder level", lambda n, d: n.startswith("enc1."), 0),
    ("the last decoder level (dec1)", lambda n, d: n.startswith("dec1."), 0),
    ("the deepest decoder level", lambda n, d: n.startswith(f"dec{d}.") or n == f"up{d}.weight"
     or n == f"up{d}.bias", 0),
    ("the 3x3 convolutions' weights", lambda n, d: ".conv" in n, 3),
    ("the encoder's 3x3 convolution weights", lambda n, d: n.startswith("enc") and ".conv" in n, 3),
    ("the decoder's 3x3 convolution weights", lambda n, d: n.startswith("dec") and ".conv" in n, 3),
    ("the decoder's second convolutions (each with its batch norm)",
     lambda n, d: n.startswith("dec") and (".conv1." in n or ".bn1." in n), 0),
    ("the encoder's second convolutions (each with its batch norm)",
     lambda n, d: n.startswith("enc") and (".conv1." in n or ".bn1." in n), 0),
    ("the second convolution of every block (each with its batch norm)",
     lambda n, d: ".conv1." in n or ".bn1." in n, 0),
    ("the batch norms' parameters", lambda n, d: ".bn" in n, 0),
    ("the decoder's batch norms", lambda n, d: n.startswith("dec") and ".bn" in n, 0),
    ("the encoder's batch norms", lambda n, d: n.startswith("enc") and ".bn" in n, 0),
    ("the transposed convolutions' weights", lambda n, d: n.startswith("up") and
     n.endswith(".weight"), 2),
    ("the transposed convolutions' biases",
     lambda n, d: n.startswith("up") and n.endswith(".bias"), 0),
    ("the transposed convolutions", lambda n, d: n.startswith("up"), 0),
    ("the 1x1 head (weight and bias)", lambda n, d: n.startswith("head."), 0),
    ("the head's weight", lambda n, d: n == "head.weight", 1),
    ("the head's bias", lambda n, d: n == "head.bias", 0),
    ("the first convolution's weight", lambda n, d: n == "enc1.conv0.weight", 3),
)


Table = dict[str, int]
Reading = tuple[str, list[Table]]      # (what the count did, the sizes it gives each tensor)


def table(tensors: list[tuple[str, tuple[int, ...]]], scale: Callable[[str], float] = lambda
          name: 1.0) -> Table:
    """{tensor name: its size (times scale(name))}, the tensors of size 0 left out."""
    sizes = {name: float(np.prod(shape)) * scale(name) for name, shape in tensors}
    return {name: size for name, size in sizes.items() if size}


def count_relation(diff: np.ndarray, settings: tuple[tuple[int, int, int], ...]) -> list[Reading]:
    """Every group of tensors whose size, times one factor, is what the count is off by in
    every setting (left out, counted twice, or counted with the wrong kernel)."""
    found: list[Reading] = []
    for what, member, kernel in TENSOR_GROUPS:
        sizes = np.array([sum(int(np.prod(shape)) for name, shape in unet_tensors(*case)
                              if member(name, case[0])) for case in settings], dtype=np.float64)
        if not sizes.any():
            continue
        factor = float(diff[np.argmax(sizes)]) / float(sizes.max())
        if not np.allclose(diff, factor * sizes, rtol=0, atol=1e-6) or factor == 0:
            continue
        times = 1 + factor
        side = np.sqrt(max(times, 0.0)) * kernel
        if kernel and times > 0 and abs(side - round(side)) < 1e-9 and round(side) != kernel:
            text = (f"your count gives {what} a {round(side)}x{round(side)} kernel; those layers "
                    f"have a {kernel}x{kernel} kernel")
        elif abs(factor + 1) < 1e-9:
            short = "level" in what or "bottleneck" in what
            text = f"your count leaves out {what}{' (is a loop one level short?)' * short}"
        elif any(abs(times - n) < 1e-9 for n in (2, 3, 4)):
            text = f"your count holds {what} {round(times)} times instead of once"
        elif abs(times - 0.5) < 1e-9:
            text = f"your count holds half of {what}"
        else:
            continue
        found.append((text, [table(unet_tensors(*case), lambda n, d=case[0]: times
                                   if member(n, d) else 1.0) for case in settings]))
    depths = np.array([case[0] for case in settings], dtype=np.float64)
    for what, member, _ in TENSOR_GROUPS:             # counted once per level
        sizes = np.array([sum(int(np.prod(shape)) for name, shape in unet_tensors(*case)
                              if member(name, case[0])) for case in settings], dtype=np.float64)
        for shift, text in ((0, "depth times, once per decoder level"),
                            (1, "depth + 1 times, once per level")):
            if sizes.any() and len(set(depths)) > 1 and np.allclose(diff, (depths + shift - 1)
                                                                    * sizes):
                found.append((f"your count holds {what} {text}; the network has it once (is it "
                              "inside a loop over the levels?)",
                              [table(unet_tensors(*case), lambda n, d=case[0]: d + shift
                                     if member(n, d) else 1.0) for case in settings]))
    return found


def same_count_readings(readings: list[Reading]) -> str:
    """The readings that change different tensors, each once: the first, then the others as
    readings with the same count in every setting; "" if there is none."""
    kept: list[Reading] = []
    for text, tables in readings:
        if all(tables != other for _, other in kept) and all(text != t for t, _ in kept):
            kept.append((text, tables))
    if not kept:
        return ""
    if len(kept) == 1:
        return kept[0][0]
    return (kept[0][0] + " (or, with the same count in every setting tried: "
            + "; or ".join(text for text, _ in kept[1:]) + ")")


# Settings a count may be computed for instead of the one given: (what it did, the setting).
SHIFTED_SETTINGS: tuple[tuple[str, Callable[[int, int, int], tuple[int, int, int]]], ...] = (
    ("base_filters * 2: your widths start at 2 * base_filters (base_filters * 2 ** (i + 1)?); "
     "level i has base_filters * 2 ** i channels, from i = 0", lambda d, b, c: (d, 2 * b, c)),
    ("depth + 1: one level too many (a loop over range(depth + 2), or the bottleneck counted "
     "as an extra level?)", lambda d, b, c: (d + 1, b, c)),
    ("depth - 1: one level too few (the bottleneck is level depth, below depth encoder levels)",
     lambda d, b, c: (d - 1, b, c)),
    ("in_channels + 1: the first convolution takes in_channels input channels",
     lambda d, b, c: (d, b, c + 1)),
)


# Channel counts per level a count may use: (how they read, width of level i).
WIDTH_SCHEDULES: tuple[tuple[str, Callable[[int, int], int]], ...] = (
    ("base_filters * (i + 1)", lambda b, i: b * (i + 1)),
    ("base_filters * max(2 i, 1)", lambda b, i: b * max(2 * i, 1)),
    ("base_filters * 2 * i", lambda b, i: b * 2 * i),
    ("base_filters at every level", lambda b, i: b),
    ("base_filters * 4 ** i", lambda b, i: b * 4 ** i),
    ("base_filters * 2 ** (i - 1) from level 1 on", lambda b, i: b * 2 ** max(i - 1, 0)),
)


# Structures a count may give the network: (what the count did, unet_tensors switches).
STRUCTURES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("each transposed convolution keeps its channel count (w_(i+1) -> w_(i+1)); it halves "
     "them, w_(i+1) -> w_i, so the decoder's first convolution takes 2 w_i",
     {"up_keeps": True}),
    ("the decoder has one level more than the encoder (a loop over range(depth + 1)?); it has "
     "depth levels", {"decoder_levels": 1}),
    ("the decoder has one level fewer than the encoder (a loop over range(depth - 1)?); it has "
     "depth levels", {"decoder_levels": -1}),
    ("the second convolution of every block takes the block's input channels; it takes the "
     "first one's output, c_out", {"second_in": lambda name: True}),
    ("the first block's second convolution takes in_channels; it takes the first one's "
     "output, base_filters", {"second_in": lambda name: name == "enc1"}),
    ("the decoder's second convolutions take 2 w_i channels (the concatenation); only the "
     "first one does, the second takes w_i", {"second_in": lambda name: name.startswith("dec")}),
    ("the decoder's first convolutions take w_(i+1) + w_i = 3 w_i channels (the upsampled "
     "tensor read at the width below); the transposed convolution halves it to w_i, so they "
     "take 2 w_i", {"wide_upsampled": True}),
    ("each 3x3 kernel counts 3 weights, not 3 * 3 = 9", {"kernel": (3,)}),
    ("the bottleneck is as wide as the deepest encoder level; it doubles it, "
     "base_filters * 2 ** depth", {"bottleneck_doubles": False}),
    ("the 3x3 convolutions have no batch norm", {"batch_norm": False}),
    ("the skip connection is not concatenated (the decoder's first convolution takes w_i, "
     "not 2 w_i)", {"skip": False}),
    ("the head is missing", {"head": False}),
    ("the 1x1 head reads the bottleneck's width w_depth; it reads the last decoder level's "
     "output, w_0 channels", {"head_deep": True}),
    ("batch norm's running mean and variance are counted (buffers, not parameters)",
     {"buffers": True}),
    ("every 3x3 convolution has a bias (batch norm's beta replaces it: bias=False)",
     {"conv_bias": True}),
)


def structure_relation(got: np.ndarray, settings: tuple[tuple[int, int, int], ...]
                       ) -> list[Reading]:
    """Every change, or pair of changes, to the network's structure (STRUCTURES) whose count is
    the learner's in every setting (pairs only when no single change fits)."""
    for size in (1, 2):
        found: list[Reading] = []
        for pair in itertools.combinations(STRUCTURES, size):
            switches = {key: value for _, variant in pair for key, value in variant.items()}
            if len(switches) < sum(len(v) for _, v in pair):
                continue
            if np.array_equal(got, [count_by_walk(*case, **switches) for case in settings]):
                found.append(("your count is the network's where "
                              + "; and ".join(t for t, _ in pair),
                              [table(unet_tensors(*case, **switches)) for case in settings]))
        if found:
            return found
    return []


def setting_relation(got: np.ndarray, settings: tuple[tuple[int, int, int], ...]
                     ) -> list[Reading]:
    """Every setting (depth, base_filters, in_channels) shifted the same way in every case
    whose right count is the learner's, and every schedule of widths other than doubling."""
    found: list[Reading] = []
    for text, width in WIDTH_SCHEDULES:
        if all(width(case[1], i) > 0 for case in settings for i in range(case[0] + 1)) and \
                np.array_equal(got, [count_by_walk(*case, width=width) for case in settings]):
            found.append((f"your widths are {text} at level i; they double at each level: "
                          "base_filters * 2 ** i",
                          [table(unet_tensors(*case, width=width)) for case in settings]))
    for text, shift in SHIFTED_SETTINGS:
        shifted = [shift(*case) for case in settings]
        if any(min(case) < 1 for case in shifted):
            continue
        if np.array_equal(got, [count_by_walk(*case) for case in shifted]):
            found.append((f"your counts are the right ones for {text}",
                          [table(unet_tensors(*case)) for case in shifted]))
    return found


def _probe_count(fn: Callable[..., Any]) -> Outputs:
    settings = count_cases()
    try:
        values = [fn(depth=d, base_filters=b, in_channels=c) for d, b, c in settings]
    except IndexError as err:
        if "list index out of range" not in str(err):
            raise
        raise CheckFailed(f"{describe_error(EXERCISES['check_count_parameters'], err)}. An "
                          "index runs past the end of a list: is a loop one level too long? The "
                          "widths list holds depth + 1 levels (0 to depth, the bottleneck "
                          "last); the decoder has depth levels, range(depth), and level i takes "
                          "widths[i + 1] from below") from None
    for value, case in zip(values, settings):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise CheckFailed(f"count_parameters(depth={case[0]}, base_filters={case[1]}, "
                              f"in_channels={case[2]}) returned {type(value).__name__} "
                              f"{value!r}; return a Python int")
    return {"counts": np.array([int(v) for v in values], dtype=np.int64)}


def _verdict_count(outputs: Outputs) -> None:
    settings = count_cases()
    got = outputs["counts"]
    expected = np.array([count_by_walk(*case) for case in settings], dtype=np.int64)
    if np.shape(got) != expected.shape:
        raise CheckFailed(f"count_parameters: expected {expected.size} counts, got shape "
                          f"{np.shape(got)}")
    if np.array_equal(got, expected):
        return
    first = int(np.flatnonzero(got != expected)[0])
    d, b, c = settings[first]
    head = (f"count_parameters(depth={d}, base_filters={b}, in_channels={c}): expected "
            f"{expected[first]:,}, got {got[first]:,} ({got[first] - expected[first]:+,})")
    readings: list[Reading] = []
    for text, variant in COUNT_MISTAKES:
        wrong = [variant(*case) if callable(variant) else count_by_walk(*case, **variant)
                 for case in settings]
        if np.array_equal(got, wrong):
            readings.append((text, [table(unet_tensors(d, b, 1) if callable(variant) else
                                          unet_tensors(d, b, c, **variant))
                                    for d, b, c in settings]))
    why = same_count_readings(readings + count_relation(got - expected, settings)
                              + setting_relation(got, settings) + structure_relation(got, settings))
    if why:
        raise CheckFailed(f"{head}: {why}")
    wrong_cases = int((got != expected).sum())
    raise CheckFailed(f"{head}; {wrong_cases} of {len(settings)} settings are off. Sum, per "
                      "level, two 3x3 convolutions (no bias) each with a batch norm (2 per "
                      "channel), the 2x2 transposed convolution (with bias), and the 1x1 head")


register(Exercise(
    grade_id="check_count_parameters", lesson=LESSON, function="count_parameters",
    probe=_probe_count, verdict=_verdict_count,
    success="count_parameters matches a layer-by-layer count for every depth and width tried.",
    engine_ops=("minitorch_unet.nn.Module.num_parameters", "minitorch_unet.unet.UNet")))


# ---- receptive field ---------------------------------------------------------------------------
Layers = tuple[tuple[int, int], ...]

RF_CASES: tuple[Layers, ...] = (
    ((3, 1),),
    ((3, 1), (3, 1)),
    ((2, 2),),
    ((2, 2), (3, 1)),
    ((3, 1), (3, 1), (2, 2), (3, 1), (3, 1)),
    ((7, 2), (3, 2), (3, 1)),
    ((5, 1), (2, 2), (2, 2), (3, 1)),
    ((1, 1), (3, 3), (3, 1), (1, 1)),
    tuple([(3, 1), (3, 1), (2, 2)] * 4 + [(3, 1), (3, 1)]),
)


@own_cases(stream=17)
def rf_cases(rng: np.random.Generator, fresh: bool) -> tuple[Layers, ...]:
    """RF_CASES, and when fresh three stacks of (kernel, stride) layers drawn for the run."""
    drawn = [tuple((int(rng.integers(1, 8)), int(rng.integers(1, 4)))
                   for _ in range(int(rng.integers(2, 7)))) for _ in range(3 if fresh else 0)]
    return RF_CASES + tuple(drawn)


def rf_backward(layers: Layers) -> int:
    """Walk from one output pixel back to the input: r <- s * (r - 1) + k at each layer."""
    r = 1
    for k, s in reversed(layers):
        r = s * (r - 1) + k
    return r


def _rf_mistakes() -> list[tuple[str, Callable[[Layers], int]]]:
    def jumps(layers: Layers, inclusive: bool) -> list[int]:
        out, j = [], 1
        for k, s in layers:
            out.append(j * s if inclusive else j)
            j *= s
        return out

    def field_times_stride(layers: Layers) -> int:
        field = 1
        for k, s in layers:
            field = field * s + k - 1
        return field

    def widened_then_strided(layers: Layers) -> int:
        field = 1
        for k, s in layers:
            field = (field + k - 1) * s
        return field

    return [
        ("your field is multiplied by each stride (r = s r + k - 1); a stride multiplies the "
         "jump, not the field: r += (k - 1) * jump, then jump *= s", field_times_stride),
        ("your field is widened, then multiplied by the layer's stride (r = (r + k - 1) * s); "
         "a stride multiplies the jump, not the field: r += (k - 1) * jump, then jump *= s",
         widened_then_strided),
        ("the strides are ignored: a layer after a stride-s layer steps s input pixels per "
         "pixel, so its (k - 1) counts s times (times every earlier stride)",
         lambda ls: 1 + sum(k - 1 for k, _ in ls)),
        ("each layer's (k - 1) is multiplied by its own stride too; only the strides of the "
         "layers *before* it count", lambda ls: 1 + sum((k - 1) * j for (k, _), j in
                                                        zip(ls, jumps(ls, True)))),
        ("you summed k instead of k - 1: each layer widens the field by k - 1 (one pixel "
         "sees k, which is 1 + (k - 1))", lambda ls: 1 + sum(k * j for (k, _), j in
                                                              zip(ls, jumps(ls, False)))),
        ("the + 1 is missing: one output pixel of an empty stack already sees 1 input pixel",
         lambda ls: rf_backward(ls) - 1),
        ("your result is the receptive field of the layers in reverse order: the recursion "
         "r = s (r - 1) + k walks from the output back to the input, so take the layers last "
         "to first (or go forward with r += (k - 1) * jump)", lambda ls: rf_backward(ls[::-1])),
        ("each pair is (kernel, stride), and you read it as (stride, kernel)",
         lambda ls: rf_backward(tuple((s, k) for k, s in ls))),
        ("the first layer is left out (does the loop start at index 1?)",
         lambda ls: rf_backward(ls[1:])),
        ("the last layer is left out (does the loop stop one layer early?)",
         lambda ls: rf_backward(ls[:-1])),
        ("each layer's (k - 1) is multiplied by its own stride only; it is multiplied by the "
         "product of the strides of all the layers before it (the jump)",
         lambda ls: 1 + sum((k - 1) * s for k, s in ls)),
        ("each layer's (k - 1) is multiplied by its own stride to the power of the layer's "
         "index (s ** i, as if every stride were the same); it is multiplied by the product of "
         "the strides of the layers before it (the jump)",
         lambda ls: 1 + sum((k - 1) * s ** i for i, (k, s) in enumerate(ls))),
        ("each layer's (k - 1) is multiplied by the first layer's stride to the power of the "
         "layer's index (as if every stride were the same); it is multiplied by the product "
         "of the strides of the layers before it (the jump)",
         lambda ls: 1 + sum((k - 1) * ls[0][1] ** i for i, (k, _) in enumerate(ls))),
        ("your result is the product of the strides (the jump), not the field: return the "
         "field, 1 + the sum of each layer's (k - 1) times the jump before it",
         lambda ls: int(np.prod([s for _, s in ls]))),
        ("your result is the product of the kernel sizes (as if the jump grew by each kernel); "
         "each layer adds (k - 1) times the product of the strides before it, and the jump "
         "grows by the stride",
         lambda ls: 1 + sum((k - 1) * int(np.prod([kk for kk, _ in ls[:i]]))
                            for i, (k, _) in enumerate(ls))),
    ]


# The parts of the forward loop `field += (k - 1) * jump; jump *= s` as a learner may write
# them: (text, rule); the first of each is the right one.
_FIELD_STEPS = (("(k - 1) * jump", lambda k, s, j: (k - 1) * j),
                ("k * jump", lambda k, s, j: k * j), ("k - 1", lambda k, s, j: k - 1),
                ("(k - 1) + jump", lambda k, s, j: k - 1 + j),
                ("k * jump - 1 (the brackets of (k - 1) * jump are missing)",
                 lambda k, s, j: k * j - 1),
                ("k - 1 * jump (the brackets of (k - 1) * jump are missing)",
                 lambda k, s, j: k - j),
                ("(k // 2) * jump, half a kernel (a radius)", lambda k, s, j: (k // 2) * j),
                ("2 * (k // 2) * jump (twice the radius: k - 1 for an odd k, but k for an "
                 "even one)", lambda k, s, j: 2 * (k // 2) * j),
                ("(k - s) * jump", lambda k, s, j: (k - s) * j),
                ("(k - 1) * jump + 1", lambda k, s, j: (k - 1) * j + 1),
                ("(k - 2) * jump", lambda k, s, j: (k - 2) * j),
                ("(k - 1) * jump + (s - 1) (an extra stride term)",
                 lambda k, s, j: (k - 1) * j + s - 1),
                ("(k - 1) * jump + (s - 1) * jump (an extra stride term)",
                 lambda k, s, j: (k + s - 2) * j))
# How the step meets the field: (text, rule); the first is the right one.
_FIELD_UPDATES = (("+=", lambda field, step: field + step),
                  ("max", lambda field, step: max(field, step)),
                  ("=", lambda field, step: step))
_JUMP_STEPS = (("jump * s", lambda k, s, j: j * s), ("jump + s", lambda k, s, j: j + s),
               ("jump + s - 1", lambda k, s, j: j + s - 1), ("s", lambda k, s, j: s),
               ("jump * k", lambda k, s, j: j * k), ("jump (never updated)", lambda k, s, j: j),
               ("jump // s, divided where it multiplies", lambda k, s, j: j // s),
               ("jump / s, divided where it multiplies", lambda k, s, j: j / s),
               ("jump * (s - 1)", lambda k, s, j: j * (s - 1)))


def rf_loop_relation(got: np.ndarray, stacks: tuple[Layers, ...]) -> str:
    """Name the parts of a forward loop (the field's step, the jump's update, the start, the
    order of the two updates) that differ from the right one and give the learner's values on
    every stack, at most two of them; or ""."""
    found = []
    for (fname, field_step), (jname, jump_step), start, jump_first, first_stride, \
            (uname, update) in itertools.product(_FIELD_STEPS, _JUMP_STEPS, (1, 0), (False, True),
                                                 (False, True), _FIELD_UPDATES):
        differs = [fname != _FIELD_STEPS[0][0], jname != _JUMP_STEPS[0][0], start != 1,
                   jump_first, first_stride, uname != "+="]
        if not 0 < sum(differs) <= 2:
            continue
        values = []
        for layers in stacks:
            field, jump = start, (layers[0][1] if first_stride and layers else 1)
            for k, s in layers:
                if jump_first:
                    jump = jump_step(k, s, jump)
                field = update(field, field_step(k, s, jump))
                if not jump_first:
                    jump = jump_step(k, s, jump)
            values.append(field)
        if np.array_equal(got, values):
            found.append((sum(differs), differs, fname, jname, uname))
    if not found:
        return ""
    _, differs, fname, jname, uname = min(found, key=lambda f: f[0])
    parts = [f"each layer adds {fname} to the field, not (k - 1) * jump"] * \
        (differs[0] and not differs[5])
    step = re.split(r", | \((?:an|the) ", fname)[0]
    parts += [f"each layer sets the field to {'max(field, ' if uname == 'max' else '('}"
              f"{step}), where the layers' widenings add up: "
              "field += (k - 1) * jump"] * differs[5]
    parts += [f"the jump becomes {jname}, not jump * s (the jump is the product of the strides "
              "so far)"] * differs[1]
    parts += ["the field starts at 0; one output pixel sees 1 input pixel, so start at 1"] * \
        differs[2]
    parts += ["the jump is updated before the field uses it; a layer's own stride does not "
              "widen its own field: add (k - 1) * jump first, then jump *= s"] * differs[3]
    parts += ["the jump starts at the first layer's stride; it starts at 1 (no stride before "
              "the first layer)"] * differs[4]
    return "your loop: " + "; ".join(parts)


# The step of the walk from the output back, r <- s * (r - 1) + k, as a learner may write it:
# (text, rule); the first is the right one.
_BACK_STEPS = (("s * (r - 1) + k", lambda r, k, s: s * (r - 1) + k),
               ("s * r + k", lambda r, k, s: s * r + k),
               ("s * r + k - 1", lambda r, k, s: s * r + k - 1),
               ("s * (r - 1) + k - 1", lambda r, k, s: s * (r - 1) + k - 1),
               ("(r - 1) + s * k", lambda r, k, s: r - 1 + s * k),
               ("s * (r + k - 1)", lambda r, k, s: s * (r + k - 1)),
               ("r + (k - 1) * s", lambda r, k, s: r + (k - 1) * s),
               ("k * (r - 1) + s, kernel and stride swapped", lambda r, k, s: k * (r - 1) + s))


def rf_recursion_relation(got: np.ndarray, stacks: tuple[Layers, ...]) -> str:
    """Name the parts of a walk from the output back to the input (the step, the start, the
    order of the layers) that differ from r = 1, then r = s * (r - 1) + k for the layers last
    to first, at most two of them, when they give the learner's values; or ""."""
    for (text, step), start, forward in itertools.product(_BACK_STEPS, (1, 0), (False, True)):
        differs = [text != _BACK_STEPS[0][0], start != 1, forward]
        if not 0 < sum(differs) <= 2:
            continue
        values = []
        for layers in stacks:
            r = start
            for k, s in (layers if forward else layers[::-1]):
                r = step(r, k, s)
            values.append(r)
        if np.array_equal(got, values):
            parts = [f"each layer's step is r = {text}, not r = s * (r - 1) + k (the windows of r "
                     "neighbouring pixels start s * (r - 1) input pixels apart, and the last "
                     "one adds k)"] * differs[0]
            parts += ["r starts at 0; one output pixel is 1 pixel, so start at r = 1"] * differs[1]
            parts += ["the layers are taken first to last; this walk goes from the output back "
                      "to the input, last layer first (reversed(layers))"] * differs[2]
            return "your walk from the output back: " + "; ".join(parts)
    return ""


def _probe_rf(fn: Callable[..., Any]) -> Outputs:
    stacks = rf_cases()
    values = []
    for layers in stacks:
        value = fn([tuple(layer) for layer in layers])
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise CheckFailed(f"receptive_field({list(layers)}) returned "
                              f"{type(value).__name__} {value!r}; return a Python int")
        values.append(int(value))
    return {"fields": np.array(values, dtype=np.int64)}


def _verdict_rf(outputs: Outputs) -> None:
    stacks = rf_cases()
    got = outputs["fields"]
    expected = np.array([rf_backward(layers) for layers in stacks], dtype=np.int64)
    if np.shape(got) != expected.shape:
        raise CheckFailed(f"receptive_field: expected {expected.size} values, got shape "
                          f"{np.shape(got)}")
    if np.array_equal(got, expected):
        return
    first = int(np.flatnonzero(got != expected)[0])
    head = (f"receptive_field({list(stacks[first])}): expected {expected[first]}, "
            f"got {got[first]}")
    for text, rule in _rf_mistakes():
        if np.array_equal(got, [rule(layers) for layers in stacks]):
            raise CheckFailed(f"{head}: {text}")
    readings = [why for why in (rf_loop_relation(got, stacks), rf_recursion_relation(got, stacks))
                if why]
    if readings:                                  # both when a loop and a walk give the values
        raise CheckFailed(f"{head}: {readings[0]}" + "".join(
            f" (or, with the same values on every stack: {why})" for why in readings[1:]))
    if len(set(got.tolist())) == 1:
        raise CheckFailed(f"{head}: your result is {got[0]} for every stack, so nothing of the "
                          "layers reaches it: does the jump (the product of the strides so far) "
                          "start at 0 instead of 1, or the loop never run?")
    raise CheckFailed(f"{head}. The rule: r = 1 + sum over layers l of (k_l - 1) times the "
                      "product of the strides of the layers before l")


register(Exercise(
    grade_id="check_receptive_field", lesson=LESSON, function="receptive_field",
    probe=_probe_rf, verdict=_verdict_rf,
    success="receptive_field is right for every stack of layers tried, strides included."))
