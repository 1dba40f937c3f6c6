"""Train the engine's U-Net and its PyTorch twin from the same initial weights on the same data.

    python benchmarks/train_compare.py --data data/lgg_sample_4patients.zip \\
        --data ../shared/data/lgg/lgg_dev_10patients.zip --epochs 40 --image-size 128

Both see the same patients, batches and augmentations (the project's ``DataLoader``), the
same loss, optimiser and schedule (see ``benchmarks/torch_unet.py``). Prints, per epoch
and at the end, each one's validation and test Dice (mean per patient), its training
seconds per epoch and the time ratio, and writes everything to a JSON file.
Development only: needs PyTorch.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from minitorch_unet.autograd import Tensor, no_grad  # noqa: E402
from minitorch_unet.checkpoint import atomic_write_text  # noqa: E402
from minitorch_unet.train import (TrainConfig, build_model, load_slices,  # noqa: E402
                                  read_checkpoint, score, split_patients, train)
from minitorch_unet.unet import UNet  # noqa: E402
from torch_unet import TorchUNet, train_torch  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", action="extend", nargs="+", required=True, metavar="PATH",
                        help="datasets to combine (LGG kaggle_3m folders or zips, BraTS folders)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--base-filters", type=int, default=TrainConfig.base_filters)
    parser.add_argument("--depth", type=int, default=TrainConfig.depth)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--out", default="train_compare.json", metavar="JSON",
                        help="where to write the results (default: train_compare.json)")
    return parser.parse_args(argv)


def engine_run(config: TrainConfig, test_set, log) -> list[dict[str, Any]]:
    """Train the engine in a temporary run folder; test Dice read from last.npz each epoch."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as run_dir:
        def after_epoch(line: str) -> None:
            log(f"engine {line}")
            if line.startswith("epoch "):
                _, model, _, _ = read_checkpoint(Path(run_dir) / "last.npz")
                rows.append({"test_dice": score(model.to(config.device), test_set,
                                                config.batch_size)["dice_per_patient_mean"]})
        history = train(config, run_dir, log=after_epoch)
    for row, epoch in zip(rows, history["epochs"]):
        row.update(epoch=epoch["epoch"], train_loss=epoch["train_loss"],
                   val_dice=epoch["val_dice"], train_seconds=epoch["train_seconds"])
    return rows


def initial_agreement(engine: UNet, twin: TorchUNet, images: np.ndarray) -> float:
    """Largest |logit difference| of the two fresh models on a few slices (evaluation mode)."""
    engine.eval()
    with no_grad():
        ours = engine.logits(Tensor(images)).numpy()
    twin.eval()
    with torch.no_grad():
        theirs = twin(torch.from_numpy(images)).numpy()
    twin.train()
    return float(np.abs(ours - theirs).max())


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The epoch chosen by validation Dice (the first of equals), as training chooses it."""
    return max(rows, key=lambda row: (row["val_dice"], -row["epoch"]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = TrainConfig(data=args.data, epochs=args.epochs, image_size=args.image_size,
                         batch_size=args.batch_size, base_filters=args.base_filters,
                         depth=args.depth, lr=args.lr, seed=args.seed, device=args.device,
                         save_every=0)
    slices = load_slices(config)
    split = split_patients(config, slices)
    sets = {name: slices.select(ids) for name, ids in split.items()}
    print(f"patients: {len(split['train'])} train, {len(split['val'])} val, "
          f"{len(split['test'])} test ({', '.join(split['test'])}); "
          f"{len(sets['train'])} training slices of {config.image_size}x{config.image_size}")
    if not split["test"]:
        raise SystemExit("error: the split has no test patients; combine more data")

    engine = build_model(config)  # train() builds the same one from the same seed
    twin = TorchUNet(**engine.config)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in engine.state_dict().items()})
    print(f"same initial weights: max |logit difference| = "
          f"{initial_agreement(engine, twin, sets['val'].images[:2]):.2e}")

    started = time.perf_counter()
    engine_rows = engine_run(config, sets["test"], print)
    torch_rows = train_torch(config, twin, sets["train"], sets["val"], sets["test"],
                             device=args.device, log=print)
    print(f"(both trained in {time.perf_counter() - started:.0f} s)\n")

    print(f"{'epoch':>5} | {'engine val':>10} {'test':>6} {'s':>7} | "
          f"{'torch val':>10} {'test':>6} {'s':>7} | {'time ratio':>10}")
    for ours, theirs in zip(engine_rows, torch_rows):
        print(f"{ours['epoch']:>5} | {ours['val_dice']:>10.4f} {ours['test_dice']:>6.4f} "
              f"{ours['train_seconds']:>7.2f} | {theirs['val_dice']:>10.4f} "
              f"{theirs['test_dice']:>6.4f} {theirs['train_seconds']:>7.2f} | "
              f"{ours['train_seconds'] / theirs['train_seconds']:>10.2f}")
    summary = {}
    for name, rows in (("engine", engine_rows), ("torch", torch_rows)):
        best = best_row(rows)
        summary[name] = {"best_epoch": best["epoch"], "val_dice": best["val_dice"],
                         "test_dice": best["test_dice"], "final_test_dice": rows[-1]["test_dice"],
                         "seconds_per_epoch": float(np.mean([r["train_seconds"] for r in rows]))}
    ratio = summary["engine"]["seconds_per_epoch"] / summary["torch"]["seconds_per_epoch"]
    print()
    for name, s in summary.items():
        print(f"{name:>6}: best epoch {s['best_epoch']}, val Dice {s['val_dice']:.4f}, test Dice "
              f"{s['test_dice']:.4f} (final epoch {s['final_test_dice']:.4f}), "
              f"{s['seconds_per_epoch']:.2f} s/epoch")
    print(f"engine / torch time per epoch: {ratio:.2f}")
    atomic_write_text(args.out, json.dumps({
        "config": config.to_dict(), "split": split, "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(), "summary": summary, "time_ratio": ratio,
        "epochs": {"engine": engine_rows, "torch": torch_rows}}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
