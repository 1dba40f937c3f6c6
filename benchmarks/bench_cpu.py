"""Time this engine against PyTorch on the CPU, in one run, and print the ratios.

For each layer of a 32-filter U-Net (batch 8, 1x128x128): forward + backward, engine time /
PyTorch time. Then one whole training step (U-Net forward, BCE+Dice loss, backward, Adam)
for each, and the peak memory of a training step, each side measured in its own fresh
process (peak resident memory above the process's level after setting up the model).

    python benchmarks/bench_cpu.py [--batch 8] [--size 128] [--repeats 5] [--json out.json]

Needs PyTorch (the dev extra). Ratios, not seconds, are the result: machines are noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minitorch_unet as mt  # noqa: E402
from minitorch_unet import functional as F, losses, optim  # noqa: E402
from minitorch_unet.unet import UNet  # noqa: E402


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def layer_cases(batch: int, size: int, base: int = 32, depth: int = 4):
    """(name, engine fn, torch fn) for every distinct layer shape of the U-Net."""
    import torch
    rng = np.random.default_rng(0)
    cases = []

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    def pair(name, engine_op, torch_op, inputs):
        def run_engine():
            ts = [mt.tensor(a, requires_grad=True) for a in inputs]
            out = engine_op(*ts)
            out.backward(mt.tensor(np.ones(out.shape, np.float32)))

        def run_torch():
            ts = [torch.from_numpy(a).requires_grad_() for a in inputs]
            out = torch_op(*ts)
            out.backward(torch.ones_like(out))
        cases.append((name, run_engine, run_torch))

    widths = [base * 2 ** i for i in range(depth + 1)]
    s = size
    c_in = 1
    for level in range(depth + 1):
        w = widths[level]
        for a, b in ((c_in, w), (w, w)):
            pair(f"conv3x3 {a}->{b} @{s}", lambda x, k: F.conv2d(x, k, padding=1),
                 lambda x, k: torch.nn.functional.conv2d(x, k, padding=1),
                 [arr(batch, a, s, s), arr(b, a, 3, 3) * 0.1])
        if level == 0:
            pair(f"batchnorm+relu {w} @{s}",
                 lambda x, g, bb: F.relu(F.batch_norm(x, None, None, g, bb, True)),
                 lambda x, g, bb: torch.relu(torch.nn.functional.batch_norm(x, None, None, g, bb, True)),
                 [arr(batch, w, s, s), arr(w), arr(w)])
        if level < depth:
            pair(f"maxpool2x2 {w} @{s}", lambda x: F.max_pool2d(x, 2),
                 lambda x: torch.nn.functional.max_pool2d(x, 2), [arr(batch, w, s, s)])
            c_in, s = w, s // 2
    for level in reversed(range(depth)):
        w, s = widths[level], s * 2
        pair(f"convT2x2 {2 * w}->{w} @{s // 2}",
             lambda x, k: F.conv_transpose2d(x, k, stride=2),
             lambda x, k: torch.nn.functional.conv_transpose2d(x, k, stride=2),
             [arr(batch, 2 * w, s // 2, s // 2), arr(2 * w, w, 2, 2) * 0.1])
        pair(f"cat {w}+{w} @{s}", lambda a, b: F.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1),
             [arr(batch, w, s, s), arr(batch, w, s, s)])
        pair(f"conv3x3 {2 * w}->{w} @{s}", lambda x, k: F.conv2d(x, k, padding=1),
             lambda x, k: torch.nn.functional.conv2d(x, k, padding=1),
             [arr(batch, 2 * w, s, s), arr(w, 2 * w, 3, 3) * 0.1])
    pair(f"head conv1x1 {base}->1 @{size}", lambda x, k: F.conv2d(x, k),
         lambda x, k: torch.nn.functional.conv2d(x, k), [arr(batch, base, size, size), arr(1, base, 1, 1)])
    return cases


def engine_step(batch: int, size: int):
    """A closure running one training step of the engine's U-Net."""
    mt.manual_seed(0)
    model = UNet(in_channels=1, base_filters=32, depth=4)
    opt = optim.Adam(model.parameters(), lr=1e-4)
    rng = np.random.default_rng(0)
    x = mt.tensor(rng.random((batch, 1, size, size), dtype=np.float32))
    t = mt.tensor((rng.random((batch, 1, size, size)) > 0.9).astype(np.float32))

    def step():
        opt.zero_grad()
        loss = losses.bce_dice_loss(model.logits(x), t)
        loss.backward()
        opt.step()
    return step


def torch_step(batch: int, size: int):
    """The same step in PyTorch, starting from the engine's initial weights."""
    import torch
    from torch_unet import TorchUNet
    mt.manual_seed(0)
    engine = UNet(in_channels=1, base_filters=32, depth=4)
    model = TorchUNet(in_channels=1, base_filters=32, depth=4)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in engine.state_dict().items()})
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((batch, 1, size, size), dtype=np.float32))
    t = torch.from_numpy((rng.random((batch, 1, size, size)) > 0.9).astype(np.float32))

    def step():
        opt.zero_grad()
        logits = model(x)
        p = torch.sigmoid(logits)
        dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
        loss = 0.5 * torch.nn.functional.binary_cross_entropy_with_logits(logits, t) + 0.5 * dice
        loss.backward()
        opt.step()
    return step


def worker(side: str, batch: int, size: int, steps: int) -> None:
    """Run in a fresh process: print {'seconds', 'peak_mb'} for `steps` training steps."""
    step = engine_step(batch, size) if side == "engine" else torch_step(batch, size)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": float(np.median(times[1:] or times)),
                      "peak_mb": (peak - before) / 1024}))


def measure_step(side: str, batch: int, size: int, steps: int) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent),
                                                       os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, __file__, "--worker", side, "--batch", str(batch),
                          "--size", str(size), "--steps", str(steps)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4, help="training steps per side")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", choices=["engine", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.batch, args.size, args.steps)
        return
    import torch
    print(f"CPU, {torch.get_num_threads()} threads; batch {args.batch}, 1x{args.size}x{args.size}, "
          f"U-Net base 32, depth 4; median of {args.repeats}")
    print(f"{'layer (forward+backward)':<34}{'engine ms':>11}{'torch ms':>11}{'ratio':>8}")
    rows = []
    for name, run_engine, run_torch in layer_cases(args.batch, args.size):
        te, tt = median_time(run_engine, args.repeats), median_time(run_torch, args.repeats)
        rows.append({"layer": name, "engine_ms": te * 1e3, "torch_ms": tt * 1e3, "ratio": te / tt})
        print(f"{name:<34}{te * 1e3:>11.2f}{tt * 1e3:>11.2f}{te / tt:>8.2f}")
    engine = measure_step("engine", args.batch, args.size, args.steps)
    torch_ = measure_step("torch", args.batch, args.size, args.steps)
    step = {"engine_s": engine["seconds"], "torch_s": torch_["seconds"],
            "ratio": engine["seconds"] / torch_["seconds"],
            "engine_peak_mb": engine["peak_mb"], "torch_peak_mb": torch_["peak_mb"],
            "memory_ratio": engine["peak_mb"] / max(torch_["peak_mb"], 1e-9)}
    print(f"{'whole training step (Adam)':<34}{engine['seconds'] * 1e3:>11.1f}"
          f"{torch_['seconds'] * 1e3:>11.1f}{step['ratio']:>8.2f}")
    print(f"{'peak memory of a step (MB)':<34}{engine['peak_mb']:>11.0f}{torch_['peak_mb']:>11.0f}"
          f"{step['memory_ratio']:>8.2f}")
    if args.json:
        from minitorch_unet.checkpoint import atomic_write_text
        atomic_write_text(args.json, json.dumps({"layers": rows, "step": step}, indent=2))


if __name__ == "__main__":
    main()
