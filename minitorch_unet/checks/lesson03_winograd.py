"""Check of lesson 03's optional exercise: the arithmetic of Winograd's F(2x2, 3x3) on one tile.

The learner's ``winograd_tile(d, g)`` takes a 4x4 input tile for each of C channels, d: (C, 4, 4),
and a 3x3 kernel for each, g: (C, 3, 3), and returns the 2x2 output block
``A^T [sum_c (G g_c G^T) * (B^T d_c B)] A``. Expected blocks are cut from PyTorch's conv2d
outputs (``data/reference/conv2d.npz``, stride-1 3x3 cases): the block at output (2i, 2j)
comes from the padded input's tile at (2i, 2j), minus the bias.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np

from ..winograd import A_T, B_T, G
from .core import (CheckFailed, Exercise, Outputs, axis_relation, expect_close, expect_shape,
                   register)
from .lesson03 import LESSON, as_array, cases, pair

# Stride-1 3x3 cases: one channel, several channels with and without bias, a U-Net layer.
TILE_CASES = ("k3_s1_p0_n1_c1x1_7x7", "k3_s1_p1_n2_c3x5_9x11", "k3_s1_p1_n2_c3x5_9x11_nobias",
              "unet_mid_k3_s1_p1_n1_c32x32_6x6")


def tiles(name: str) -> list[tuple[tuple[int, int, int, int], np.ndarray, np.ndarray,
                                    np.ndarray | None]]:
    """Every whole tile of a case: ((n, o, i, j), d (C, 4, 4), g (C, 3, 3), expected (2, 2)).

    The expected block is None where the case holds inputs only (a learner's process while
    grading): the probe needs the inputs alone.
    """
    case = cases("conv2d")[name]
    p = pair(case["params"]["padding"])[0]
    x = np.pad(case["input"].astype(np.float64), ((0, 0), (0, 0), (p, p), (p, p)))
    weight = case["weight"].astype(np.float64)
    out = None
    if "out" in case:
        out = case["out"].astype(np.float64)
        if "bias" in case:
            out = out - case["bias"].astype(np.float64)[:, None, None]
    height, width = x.shape[2] - 2, x.shape[3] - 2  # a 3x3 kernel at stride 1
    result = []
    for n in range(x.shape[0]):
        for o in range(weight.shape[0]):
            for i in range(0, height - 1, 2):
                for j in range(0, width - 1, 2):
                    result.append(((n, o, i, j), x[n, :, i:i + 4, j:j + 4], weight[o],
                                   None if out is None else out[n, o, i:i + 2, j:j + 2]))
    return result


def _probe(fn: Callable[..., Any]) -> Outputs:
    outputs = {}
    for name in TILE_CASES:
        for (n, o, i, j), d, g, _ in tiles(name):
            outputs[f"{name}/{n}/{o}/{i}/{j}"] = as_array(fn(d.copy(), g.copy()))
    return outputs


def _mistakes(d: np.ndarray, g: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Classic wrong versions of the tile formula, each with what it did wrong."""
    b_t, g_m, a_t = (np.array(m, dtype=np.float64) for m in (B_T, G, A_T))
    u, v = g_m @ g @ g_m.T, b_t @ d @ b_t.T
    combined = [(text, a_t @ m @ a_t.T) for text, m in _combined(u, v, d, g)]
    single = [(text, value) for text, value in combined if ";" not in text.split("; it is")[1]]
    return single + _output_transforms(a_t, (u * v).sum(axis=0)) + [
        ("the kernel is flipped: conv2d is a cross-correlation, use g as it is",
         a_t @ ((g_m @ g[:, ::-1, ::-1] @ g_m.T) * v).sum(axis=0) @ a_t.T),
    ] + [item for item in combined if item not in single]


RIGHT_INPUT = "V = B_T @ d @ B_T.T (B_T is already the transposed matrix B^T)"
RIGHT_KERNEL = "U = G @ g @ G.T"


def _variants(right: np.ndarray, wrong: dict[str, np.ndarray],
              rule: str) -> list[tuple[str, np.ndarray]]:
    return [("", right)] + [(f"the {text}; it is {rule}", value) for text, value in wrong.items()]


def _combined(u: np.ndarray, v: np.ndarray, d: np.ndarray,
              g: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """M (4, 4) of every combination of a wrong or right input transform, kernel transform and
    channel combination except the right one, each with what differs from the formula."""
    b_t, g_m = (np.array(m, dtype=np.float64) for m in (B_T, G))
    inputs = _variants(v, {"input transform is B_T.T @ d @ B_T, i.e. B d B^T instead of B^T d B":
                           b_t.T @ d @ b_t,
                           "input transform is B_T @ d @ B_T": b_t @ d @ b_t,
                           "input transform is B_T.T @ d @ B_T.T": b_t.T @ d @ b_t.T,
                           "input tile is not transformed (d used where V belongs)": d,
                           "input tile is transposed (d.T)": b_t @ d.transpose(0, 2, 1) @ b_t.T,
                           "input tile is flipped (d[:, ::-1, ::-1]): the tile is used as it is":
                           b_t @ d[:, ::-1, ::-1] @ b_t.T},
                       RIGHT_INPUT)
    kernels = _variants(u, {"kernel transform is G @ g.T @ G.T (the kernel transposed)":
                            g_m @ g.transpose(0, 2, 1) @ g_m.T,
                            "kernel is flipped upside down (g[:, ::-1]): conv2d is a "
                            "cross-correlation, g is used as it is": g_m @ g[:, ::-1] @ g_m.T,
                            "kernel is flipped left-right (g[:, :, ::-1]): conv2d is a "
                            "cross-correlation, g is used as it is": g_m @ g[:, :, ::-1] @ g_m.T},
                        RIGHT_KERNEL)
    rule = "sum U * V over the channels, (U * V).sum(axis=0), 16 elementwise products each"
    combine: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
        "": lambda a, b: (a * b).sum(axis=0),
        f"U and V are multiplied as matrices (@); it is {rule}": lambda a, b: (a @ b).sum(axis=0),
        f"channels are summed before the product (U.sum(0) * V.sum(0)); it is {rule}":
            lambda a, b: a.sum(axis=0) * b.sum(axis=0),
        f"only the first channel is used; it is {rule}": lambda a, b: (a * b)[0],
        "only the last channel is kept (a loop over the channels that assigns with = instead "
        f"of adding); it is {rule}": lambda a, b: (a * b)[-1],
        f"channels are averaged (a mean where a sum belongs); it is {rule}":
            lambda a, b: (a * b).mean(axis=0)}
    out = []
    for (i_text, v_x), (k_text, u_x), (c_text, join) in itertools.product(
            inputs, kernels, combine.items()):
        texts = [t for t in (i_text, k_text, c_text) if t]
        if texts and not (len(texts) > 1 and d.shape[0] == 1 and c_text):
            out.append(("; ".join(texts), join(u_x, v_x)))
    return out


def _output_transforms(a_t: np.ndarray, m: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Wrong output transforms of the right M, each with what it did."""
    rule = "the output is A_T @ M @ A_T.T, a (2, 2) block"
    return [(f"the output transform is missing: you return M (4, 4) itself; {rule}", m),
            (f"the output transform is applied on the left only (A_T @ M); {rule}", a_t @ m),
            (f"the output transform is applied on the right only (M @ A_T.T); {rule}", m @ a_t.T),
            ("the block is transposed, its rows and columns swapped ((A_T @ M @ A_T.T).T, or "
             "indices swapped when it is written out); return A_T @ M @ A_T.T as it is",
             (a_t @ m @ a_t.T).T)]


def _verdict(outputs: Outputs) -> None:
    for name in TILE_CASES:
        for (n, o, i, j), d, g, expected in tiles(name):
            got = outputs[f"{name}/{n}/{o}/{i}/{j}"]
            what = (f"winograd_tile(d (C={d.shape[0]}, 4, 4), g ({g.shape[0]}, 3, 3)) for output "
                    f"block [{n}, {o}, {i}:{i + 2}, {j}:{j + 2}] of {name}")
            if got.shape != (2, 2) or not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
                for text, wrong in _mistakes(d, g):
                    if got.shape == wrong.shape and np.allclose(got, wrong, rtol=1e-4, atol=1e-5):
                        shape = "" if got.shape == (2, 2) else \
                            f"wrong shape: expected (2, 2), got {got.shape}: "
                        raise CheckFailed(f"{what}: {shape}{text}")
            expect_shape(what, got, (2, 2), hint=axis_relation(got, expected) or
                         "one tile gives a 2x2 block: A_T @ M @ A_T.T")
            expect_close(what, got, expected, hint="sum U * V over the channels before A_T @ . @ A_T.T")


register(Exercise(
    grade_id="check_winograd_tile", lesson=LESSON, function="winograd_tile",
    probe=_probe, verdict=_verdict,
    success="winograd_tile gives PyTorch's conv2d blocks on 4 cases (1 to 32 channels).",
    engine_ops=("minitorch_unet.winograd.Conv2dWinograd", "minitorch_unet.winograd.transform_input",
                "minitorch_unet.winograd.transform_weight",
                "minitorch_unet.winograd.transform_output",
                "minitorch_unet.functional.conv2d", "minitorch_unet.convolution.Conv2d")))
