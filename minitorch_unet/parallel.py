"""Elementwise passes over large arrays in blocks, optionally on several threads.

Blocks of about BLOCK_BYTES keep several passes over the same block in the cache. NumPy runs
an elementwise loop on one core but releases the GIL while it runs, so the blocks can also
run on several threads at once (MINITORCH_THREADS=N). That is off by default: these passes
are bound by memory, and on the 2-core machine where it was measured a second thread made
Winograd's layers slower (forward + backward, batch 8, wall clock, 2 BLAS threads: 1.01 to
1.56 times the time on one thread). On the GPU the whole range is one block: CuPy's kernels
are parallel already.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

# MINITORCH_THREADS=N runs the blocks on N threads (see above; 1 by default).
THREADS = int(os.environ.get("MINITORCH_THREADS", 0)) or 1
BLOCK_BYTES = 1 << 19
# One pool per (process, thread count): a forked child must not wait on its parent's threads.
_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}


def over_blocks(part: Callable[[slice], None], count: int, item_bytes: int, device: str) -> None:
    """Call part(block) for slices `block` that cover range(count), in parallel on the CPU.

    item_bytes: the memory one index of the range stands for (sets the block size).
    """
    if device != "cpu":
        part(slice(None))
        return
    step = max(1, BLOCK_BYTES // max(item_bytes, 1))
    blocks = [slice(i, i + step) for i in range(0, count, step)]
    if THREADS == 1 or len(blocks) == 1:
        for block in blocks:
            part(block)
        return
    key = (os.getpid(), THREADS)
    if key not in _pools:
        _pools[key] = ThreadPoolExecutor(THREADS)
    for _ in _pools[key].map(part, blocks):  # re-raises a block's exception here
        pass
