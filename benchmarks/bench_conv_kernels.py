"""Which convolution kernel pays on which layer: shifted products, column blocks, Winograd and
PyTorch, timed interleaved in one process on the U-Net's stride-1 3x3 layer shapes (forward +
backward).

Each repetition runs every kernel once, in turn, so that a busy machine slows them alike;
the result is the median of each and its ratio to the shifted kernel's. This is how
``winograd.MIN_CHANNELS`` and ``winograd.MAX_PIXELS`` were chosen. On a machine with several
cores, Winograd also runs with its transforms on every core (``MINITORCH_THREADS``, see
parallel.py), to show what threads give them.

    python benchmarks/bench_conv_kernels.py                      # batch 8, the U-Net at 128x128
    python benchmarks/bench_conv_kernels.py --batch 2 --cpu-time # CPU seconds on one thread:
                                                                 # steadier when the machine is busy
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minitorch_unet as mt  # noqa: E402
from minitorch_unet import fast_conv, parallel, winograd, winograd43  # noqa: E402

BASE, DEPTH = 32, 4


def layer_shapes(size: int) -> list[tuple[int, int, int]]:
    """(in channels, out channels, size) of every distinct wide 3x3 layer of the U-Net."""
    widths = [BASE * 2 ** i for i in range(DEPTH + 1)]
    shapes = []
    for level, w in enumerate(widths):
        s = size // 2 ** level
        shapes += [(widths[level - 1], w, s)] if level else []
        shapes += [(w, w, s)] + ([(2 * w, w, s)] if level < DEPTH else [])
    return sorted(set(shapes), key=lambda t: (-t[2], t[0], t[1]))


def on_threads(run, count: int):
    """`run` with the engine's elementwise passes on `count` threads."""
    def run_on_threads():
        threads, parallel.THREADS = parallel.THREADS, count
        try:
            run()
        finally:
            parallel.THREADS = threads
    return run_on_threads


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=128, help="the U-Net's input size")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cpu-time", action="store_true",
                        help="time the process's CPU seconds instead of wall-clock seconds, on one "
                             "thread (set OPENBLAS_NUM_THREADS=1 too)")
    args = parser.parse_args(argv)
    clock = time.process_time if args.cpu_time else time.perf_counter
    try:
        import torch
    except ImportError:
        torch = None
    if args.cpu_time:
        parallel.THREADS = 1
        if torch is not None:
            torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"batch {args.batch}; median of {args.repeats}; "
          f"{'CPU' if args.cpu_time else 'wall-clock'} ms (ratio to the shifted kernel)")
    for c, o, s in layer_shapes(args.size):
        x = rng.standard_normal((args.batch, c, s, s), dtype=np.float32)
        w = rng.standard_normal((o, c, 3, 3), dtype=np.float32) / float(np.sqrt(9 * c))
        xe, we = mt.tensor(x, requires_grad=True), mt.tensor(w, requires_grad=True)
        upstream = mt.tensor(np.ones((args.batch, o, s, s), np.float32))

        def engine(kernel):
            def run():
                xe.grad = we.grad = None
                kernel.apply(xe, we, padding=(1, 1)).backward(upstream)
            return run
        kernels = {"shifted": engine(fast_conv.Conv2dShifted),
                   "columns": engine(fast_conv.Conv2dColumnBlocks),
                   "winograd": engine(winograd.Conv2dWinograd),
                   "winograd 4x4": engine(winograd43.Conv2dWinograd43)}
        cores = os.cpu_count() or 1
        if cores > 1 and not args.cpu_time:  # the transforms on every core, for comparison
            kernels[f"winograd {cores} threads"] = on_threads(engine(winograd.Conv2dWinograd),
                                                               cores)
        if torch is not None:
            xt, wt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()

            def run_torch():
                xt.grad = wt.grad = None
                out = torch.nn.functional.conv2d(xt, wt, padding=1)
                out.backward(torch.ones_like(out))
            kernels["torch"] = run_torch
        times: dict[str, list[float]] = {name: [] for name in kernels}
        for run in kernels.values():
            run()
        for _ in range(args.repeats):
            for name, run in kernels.items():
                start = clock()
                run()
                times[name].append(clock() - start)
        median = {name: float(np.median(t)) for name, t in times.items()}
        print(f"{c:>5} -> {o:<4} @{s:<4}" + "".join(
            f"  {name} {t * 1e3:8.1f} ({t / median['shifted']:.2f})" for name, t in median.items()))


if __name__ == "__main__":
    main()
