"""A progress bar for training and evaluation loops (tqdm, on stderr).

The bar redraws at most twice a second, fits the terminal width, and switches itself
off when stderr is not a terminal (a log file, a CI job), so logs stay clean.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], total: int | None = None, desc: str | None = None,
             unit: str = "batch", disable: bool | None = None) -> tqdm:
    """Wrap `iterable` in a tqdm bar; ``disable=None`` hides it when stderr is no terminal.

    Show live numbers with ``set_postfix``::

        bar = progress(loader, total=len(loader), desc=f"epoch {epoch}")
        for images, masks in bar:
            loss = step(images, masks)
            bar.set_postfix({"loss": f"{loss:.4f}", "img/s": f"{rate:.0f}"})
    """
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable,
                mininterval=0.5, dynamic_ncols=True, file=sys.stderr)
