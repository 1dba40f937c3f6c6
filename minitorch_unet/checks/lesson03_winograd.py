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
    for key, d, g in unit_tiles():
        outputs[key] = as_array(fn(d, g))
    return outputs


def _one_hot(size: int, k: int, l: int) -> np.ndarray:
    unit = np.zeros((size, size))
    unit[k, l] = 1.0
    return unit


def unit_tiles() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """One-channel tiles whose transform V = B_T d B_T.T is one-hot at (k, l), with the
    kernel g one-hot at (r, r): with the lesson's matrices, the output is then
    U[k, l] A_T[:, k] A_T[:, l]^T, U = G g G^T, which shows one column of A_T (k = l) or one
    entry of U (from which G's column r follows)."""
    b_inv = np.linalg.inv(np.array(B_T, dtype=np.float64))
    return [(f"unit/{r}/{k}/{l}", (b_inv @ _one_hot(4, k, l) @ b_inv.T)[None], _one_hot(3, r, r)[None])
            for r in range(3) for k in range(4) for l in range(4)]


def _column(outer: np.ndarray, near: np.ndarray) -> np.ndarray | None:
    """The vector v with v v^T = outer (its sign the one nearer `near`), or None."""
    size = np.sqrt(np.clip(np.diag(outer), 0, None))
    if not size.any():
        return None
    top = int(np.argmax(size))
    v = outer[top] / size[top]
    if not np.allclose(np.outer(v, v), outer, rtol=1e-6, atol=1e-9):
        return None
    return v if np.sum(v * near) >= np.sum(-v * near) else -v


def _tile_output(a_t: np.ndarray, b_t: np.ndarray, g_m: np.ndarray, d: np.ndarray,
                 g: np.ndarray) -> np.ndarray:
    return a_t @ ((g_m @ g @ g_m.T) * (b_t @ d @ b_t.T)).sum(axis=0) @ a_t.T


def typed_matrix(outputs: Outputs) -> str:
    """'your A_T has ... where the lesson's has ...' when the answer behaves exactly like the
    formula with one of the matrices A_T or G typed with other entries, the others right;
    "" otherwise. The matrix is read off the unit tiles and then checked on every case."""
    a_t, b_t, g_m = (np.array(m, dtype=np.float64) for m in (A_T, B_T, G))
    units = {key: outputs[key] for key, _, _ in unit_tiles()}
    if any(value.shape != (2, 2) for value in units.values()):
        return ""
    found: dict[str, np.ndarray] = {}
    columns = []
    for k in range(4):  # A_T's column k, from V one-hot at (k, k) and a kernel with U[k, k] != 0
        r = int(np.argmax(np.abs(g_m[k])))
        columns.append(_column(units[f"unit/{r}/{k}/{k}"] / g_m[k, r] ** 2, a_t[:, k]))
    if all(c is not None for c in columns):
        found["A_T"] = np.stack(columns, axis=1)
    columns = []
    for r in range(3):  # G's column r, from U = G g G^T with g one-hot at (r, r)
        u = np.array([[np.sum(units[f"unit/{r}/{k}/{l}"] * np.outer(a_t[:, k], a_t[:, l])) /
                       np.sum(np.outer(a_t[:, k], a_t[:, l]) ** 2) for l in range(4)]
                      for k in range(4)])
        columns.append(_column(u, g_m[:, r]))
    if all(c is not None for c in columns):
        found["G"] = np.stack(columns, axis=1)
    explained = []
    for name, typed in found.items():
        right = {"A_T": a_t, "G": g_m}[name]
        # a column's sign does not show in v v^T: try each (the first column's fixed)
        for signs in itertools.product((1.0, -1.0), repeat=typed.shape[1] - 1):
            signed = typed * np.array((1.0,) + signs)
            if np.sum((-signed - right) ** 2) < np.sum((signed - right) ** 2):
                signed = -signed
            if np.allclose(signed, right, rtol=1e-6, atol=1e-9):
                continue
            mats = {"A_T": a_t, "G": g_m, name: signed}
            if all(np.allclose(outputs[f"{case}/{n}/{o}/{i}/{j}"],
                               _tile_output(mats["A_T"], b_t, mats["G"], d, g), rtol=1e-4, atol=1e-5)
                   for case in TILE_CASES for (n, o, i, j), d, g, _ in tiles(case)):
                wrong = np.argwhere(~np.isclose(signed, right, rtol=1e-6, atol=1e-9))
                explained.append(f"your {name} has " + ", ".join(
                    f"{name}[{a}, {b}] = {signed[a, b]:.4g} where the lesson's has "
                    f"{right[a, b]:.4g}" for a, b in wrong[:4]) + (", ..." if len(wrong) > 4 else ""))
                break
    if not explained:
        return ""
    if len(explained) == 1:
        return (f"{explained[0]}, and everything else is right: use the lesson's matrix as "
                "given (a typo in the matrix typed by hand?)")
    return (f"{' or '.join(explained)} (both give exactly your outputs), and everything else is "
            "right: use the lesson's matrices as given (a typo in a matrix typed by hand?)")


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


def missing_channel_sum(outputs: Outputs) -> str:
    """'... the sum over the channels is missing ...' when, on a tile of more than one channel,
    the answer is one (2, 2) block per channel, shape (C, 2, 2), that adds up to the right
    block; "" otherwise (one channel alone cannot tell a missing sum from an extra axis)."""
    for name in TILE_CASES:
        for (n, o, i, j), d, g, expected in tiles(name):
            got, c = outputs[f"{name}/{n}/{o}/{i}/{j}"], d.shape[0]
            if c > 1 and got.shape == (c, 2, 2) and \
                    np.allclose(got.sum(axis=0), expected, rtol=1e-4, atol=1e-5):
                return (f"winograd_tile(d (C={c}, 4, 4), g ({g.shape[0]}, 3, 3)) for output "
                        f"block [{n}, {o}, {i}:{i + 2}, {j}:{j + 2}] of {name}: wrong shape: "
                        f"expected (2, 2), got {got.shape}, one block per channel that add up "
                        "to the right one: the sum over the channels is missing; it is "
                        "(U * V).sum(axis=0) before A_T @ . @ A_T.T")
    return ""


def _verdict(outputs: Outputs) -> None:
    missing = missing_channel_sum(outputs)
    if missing:
        raise CheckFailed(missing)
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
                typed = typed_matrix(outputs)
                if typed:
                    raise CheckFailed(f"{what}: {typed}")
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
