"""The check of lesson 03's optional Winograd exercise: right answers pass, each classic
mistake fails with a message that names it."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

from minitorch_unet import winograd
from minitorch_unet.checks import CheckFailed, check

B_T, G, A_T = (np.array(m, dtype=np.float64) for m in (winograd.B_T, winograd.G, winograd.A_T))


def tile(d: np.ndarray, g: np.ndarray, input_transform: Callable[[np.ndarray], np.ndarray] =
         lambda d: B_T @ d @ B_T.T, product: Callable[..., Any] = np.multiply,
         flip: bool = False) -> np.ndarray:
    """F(2x2, 3x3) on C channels of one tile, with one part swapped for a mistake."""
    u = G @ (g[:, ::-1, ::-1] if flip else g) @ G.T
    return A_T @ product(u, input_transform(d)).sum(axis=0) @ A_T.T


def direct_tile(d: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The same block by the direct sum (36 products per channel)."""
    return np.array([[np.sum(d[:, i:i + 3, j:j + 3] * g) for j in range(2)] for i in range(2)])


@pytest.mark.parametrize("answer", [tile, direct_tile], ids=["winograd", "direct"])
def test_right_answers_pass(answer: Callable[..., Any], capsys: pytest.CaptureFixture[str]) -> None:
    check("check_winograd_tile", answer)
    assert capsys.readouterr().out.startswith("\u2714 winograd_tile")


@pytest.mark.parametrize(("answer", "words"), [
    (lambda d, g: tile(d, g, input_transform=lambda d: B_T.T @ d @ B_T), "B d B^T instead of B^T d B"),
    (lambda d, g: tile(d, g, product=np.matmul), "multiplied as matrices"),
    (lambda d, g: tile(d, g, flip=True), "the kernel is flipped"),
    (lambda d, g: tile(d[:1], g[:1]), "sum U * V over the channels"),
    (lambda d, g: (G @ g @ G.T * (B_T @ d @ B_T.T)).sum(axis=0), "expected (2, 2), got (4, 4)"),
], ids=["transposed-B", "matmul", "flipped", "one-channel", "no-output-transform"])
def test_mistakes_are_named(answer: Callable[..., Any], words: str) -> None:
    with pytest.raises(CheckFailed) as failure:
        check("check_winograd_tile", answer)
    assert words in str(failure.value), str(failure.value)
