"""Train the engine's U-Net and its PyTorch twin from the same initial weights on the same data.

    python benchmarks/train_compare.py --data data/lgg_sample_4patients.zip \\
        --data ../shared/data/lgg/lgg_dev_10patients.zip --epochs 12 --image-size 64 \\
        --folds 7 --seeds 0 1

Both see the same patients, batches and augmentations (the project's ``DataLoader``), the
same loss, optimiser and schedule (see ``benchmarks/torch_unet.py``).

Why folds and seeds: the two trainings differ only in rounding, yet training is chaotic, so
their weights drift apart within an epoch or two, and the epoch chosen on one or two
validation patients moves one test patient's Dice by 0.1 either way. A single split cannot
tell a 0.02 difference from that noise. With ``--folds K`` each seed runs a patient-level
K-fold cross-validation (as ``train --folds K --fold k``): every patient is tested exactly
once per seed, so each side gets one Dice per patient and seed, paired with the other's.

The summary gives, for the checkpoint chosen by validation Dice and for the final epoch,
each side's mean per-patient Dice, their paired difference with a 95% bootstrap interval
(patients resampled), and the training seconds per epoch with their ratio. Results go to
the JSON file after every run; running again with the same settings and ``--out`` skips
the runs it already holds, so a killed comparison loses at most the run in progress.

``--control`` measures the noise floor: in place of the engine it trains the PyTorch twin a
second time with its oneDNN convolutions switched off, which changes only the rounding.
The difference it reports is how far two correct implementations drift apart.
Development only: needs PyTorch.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from minitorch_unet.autograd import Tensor, no_grad  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from minitorch_unet.checkpoint import atomic_output, atomic_write_text  # noqa: E402
from minitorch_unet.data import SliceSet  # noqa: E402
from minitorch_unet.metrics import bootstrap_interval  # noqa: E402
from minitorch_unet.train import (TrainConfig, build_model, load_slices,  # noqa: E402
                                  read_checkpoint, score, split_patients, train)
from minitorch_unet.unet import UNet  # noqa: E402
from torch_unet import TorchUNet, train_torch  # noqa: E402

SELECTIONS = ("best", "final")  # checkpoint chosen by validation Dice; last epoch
CONTROL = "torch_plain"  # the twin without oneDNN convolutions: same mathematics, other rounding


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
    parser.add_argument("--seeds", type=int, nargs="+", default=[TrainConfig.seed], metavar="N",
                        help="one comparison (or cross-validation) per seed (default: 0)")
    parser.add_argument("--folds", type=int, default=0, metavar="K",
                        help="patient-level K-fold cross-validation per seed (default 0: one "
                             "80/10/10 split per seed)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--control", action="store_true",
                        help="train the PyTorch twin without oneDNN convolutions in place of "
                             "the engine (CPU): the noise floor of the comparison")
    parser.add_argument("--out", default="train_compare.json", metavar="JSON",
                        help="where to write the results (default: train_compare.json), and "
                             "beside it the same name with .png: Dice and loss pictures")
    return parser.parse_args(argv)


def engine_run(config: TrainConfig, test_set: SliceSet, log) -> list[dict[str, Any]]:
    """Train the engine in a temporary run folder; test Dice read from last.npz each epoch."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as run_dir:
        def after_epoch(line: str) -> None:
            log(f"engine {line}")
            if line.startswith("epoch "):
                _, model, _, _ = read_checkpoint(Path(run_dir) / "last.npz")
                test = score(model.to(config.device), test_set, config.batch_size)
                rows.append({"test_dice": test["dice_per_patient_mean"],
                             "test_per_patient": {p: m["dice"]
                                                  for p, m in test["per_patient"].items()}})
        history = train(config, run_dir, log=after_epoch)
    for row, epoch in zip(rows, history["epochs"]):
        row.update(epoch=epoch["epoch"], train_loss=epoch["train_loss"],
                   val_dice=epoch["val_dice"], train_seconds=epoch["train_seconds"])
    return rows


def initial_agreement(engine: UNet, twin: TorchUNet, images: np.ndarray) -> float:
    """Largest |logit difference| of the two fresh models on a few slices (evaluation mode)."""
    engine.eval()
    with no_grad():
        ours = engine(Tensor(images)).numpy()
    twin.eval()
    with torch.no_grad():
        theirs = twin(torch.from_numpy(images)).numpy()
    twin.train()
    return float(np.abs(ours - theirs).max())


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The epoch chosen by validation Dice (the first of equals), as training chooses it."""
    return max(rows, key=lambda row: (row["val_dice"], -row["epoch"]))


def chosen(rows: list[dict[str, Any]], selection: str) -> dict[str, Any]:
    return best_row(rows) if selection == "best" else rows[-1]


def control_run(config: TrainConfig, twin: TorchUNet, sets: dict[str, SliceSet],
                log) -> list[dict[str, Any]]:
    """The twin trained again with oneDNN convolutions off: only the rounding differs."""
    was_enabled, torch.backends.mkldnn.enabled = torch.backends.mkldnn.enabled, False
    try:
        return train_torch(config, twin, sets["train"], sets["val"], sets["test"],
                           device=config.device, log=lambda line: log(f"plain {line}"))
    finally:
        torch.backends.mkldnn.enabled = was_enabled


def compare_once(config: TrainConfig, slices: SliceSet, first: str) -> dict[str, Any]:
    """Train both sides on the config's split; their per-epoch rows and the split."""
    split = split_patients(config, slices)
    if not split["test"]:
        raise SystemExit("error: the split has no test patients; combine more data")
    sets = {name: slices.select(ids) for name, ids in split.items()}
    print(f"\n== seed {config.seed}, fold {config.fold}: {len(split['train'])} train, "
          f"{len(split['val'])} val, test {', '.join(split['test'])}; "
          f"{len(sets['train'])} training slices")
    engine = build_model(config)  # train() builds the same one from the same seed
    twin = TorchUNet(**engine.config)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in engine.state_dict().items()})
    agreement = initial_agreement(engine, twin, sets["val"].images[:2])
    print(f"same initial weights: max |logit difference| = {agreement:.2e}")
    if first == CONTROL:
        twin_plain = TorchUNet(**engine.config)
        twin_plain.load_state_dict(twin.state_dict())
        first_rows = control_run(config, twin_plain, sets, print)
    else:
        first_rows = engine_run(config, sets["test"], print)
    torch_rows = train_torch(config, twin, sets["train"], sets["val"], sets["test"],
                             device=config.device, log=print)
    return {"seed": config.seed, "fold": config.fold, "split": split,
            "initial_max_logit_difference": agreement,
            "epochs": {first: first_rows, "torch": torch_rows}}


def paired_dice(runs: list[dict[str, Any]], selection: str,
                first: str) -> dict[str, dict[str, list[float]]]:
    """{patient: {first: [Dice per seed], "torch": [...]}} at the selected checkpoint."""
    pairs: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        for side in (first, "torch"):
            row = chosen(run["epochs"][side], selection)
            for patient, dice in row["test_per_patient"].items():
                pairs.setdefault(patient, {first: [], "torch": []})[side].append(dice)
    return pairs


def summarize(runs: list[dict[str, Any]], first: str = "engine") -> dict[str, Any]:
    """Mean per-patient Dice of each side, the paired difference (first side - torch), the
    mean training loss per epoch of each, and the time ratio."""
    summary: dict[str, Any] = {"first": first}
    for selection in SELECTIONS:
        pairs = paired_dice(runs, selection, first)
        patients = sorted(pairs)
        # one difference per patient (its mean over seeds): patients, not seeds, are the
        # independent units the interval resamples
        ours = np.array([np.mean(pairs[p][first]) for p in patients])
        theirs = np.array([np.mean(pairs[p]["torch"]) for p in patients])
        summary[selection] = {
            "patients": len(patients), "values": sum(len(pairs[p][first]) for p in patients),
            f"{first}_dice": float(ours.mean()), "torch_dice": float(theirs.mean()),
            "difference": float((ours - theirs).mean()),
            "difference_95": bootstrap_interval(ours - theirs),
            "per_patient": {p: {first: float(e), "torch": float(t)}
                            for p, e, t in zip(patients, ours, theirs)}}
    losses = {side: np.array([[row["train_loss"] for row in run["epochs"][side]]
                              for run in runs]) for side in (first, "torch")}
    relative = (losses[first] - losses["torch"]) / losses["torch"]
    summary["train_loss_relative_difference"] = {
        "mean": relative.mean(axis=0).tolist(),
        "standard_error": (relative.std(axis=0) / np.sqrt(len(runs))).tolist()}
    seconds = {side: float(np.mean([row["train_seconds"] for run in runs
                                    for row in run["epochs"][side]]))
               for side in (first, "torch")}
    summary["seconds_per_epoch"] = seconds
    summary["time_ratio"] = seconds[first] / seconds["torch"]
    return summary


def print_summary(summary: dict[str, Any]) -> None:
    first, final, best = summary["first"], summary["final"], summary["best"]
    print(f"\n{'patient':<22} | {'final ' + first:>17} {'torch':>6} | "
          f"{'best ' + first:>16} {'torch':>6}")
    for patient in sorted(final["per_patient"]):
        f, b = final["per_patient"][patient], best["per_patient"][patient]
        print(f"{patient:<22} | {f[first]:>17.3f} {f['torch']:>6.3f} | "
              f"{b[first]:>16.3f} {b['torch']:>6.3f}")
    for selection in SELECTIONS:
        s = summary[selection]
        low, high = s["difference_95"]
        print(f"{selection:>5} checkpoint: mean per-patient Dice {first} "
              f"{s[first + '_dice']:.4f}, torch {s['torch_dice']:.4f}; {first} - torch "
              f"{s['difference']:+.4f} (95% interval {low:+.4f} .. {high:+.4f}; "
              f"{s['patients']} patients, {s['values']} test Dice per side)")
    loss = summary["train_loss_relative_difference"]
    print(f"training loss, ({first} - torch) / torch, last epoch: {loss['mean'][-1]:+.4f} "
          f"(standard error {loss['standard_error'][-1]:.4f})")
    seconds = summary["seconds_per_epoch"]
    print(f"training seconds per epoch: {first} {seconds[first]:.2f}, torch "
          f"{seconds['torch']:.2f}; {first} / torch {summary['time_ratio']:.2f}")


def write_figure(path: Path, runs: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    """Per-patient test Dice of the two sides against each other, and their loss curves (PNG)."""
    first = summary["first"]
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    dice_axes, loss_axes = figure.subplots(1, 2)
    pairs = paired_dice(runs, "final", first)
    for patient, values in pairs.items():
        dice_axes.scatter(values["torch"], values[first], s=12, color="tab:blue", alpha=0.4)
    means = summary["final"]["per_patient"].values()
    dice_axes.scatter([m["torch"] for m in means], [m[first] for m in means], s=40,
                      color="tab:blue", edgecolor="black", label="mean per patient")
    dice_axes.plot([0, 1], [0, 1], color="gray", linewidth=1)
    dice_axes.fill_between([0, 1], [-0.02, 0.98], [0.02, 1.02], color="gray", alpha=0.2,
                           label="within 0.02")
    low, high = summary["final"]["difference_95"]
    dice_axes.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel="PyTorch test Dice",
                  ylabel=f"{first} test Dice",
                  title=f"last epoch: {first} - PyTorch {summary['final']['difference']:+.3f}\n"
                        f"(95% interval {low:+.3f} .. {high:+.3f})")
    dice_axes.legend(loc="upper left")
    for side, color in ((first, "tab:blue"), ("torch", "tab:orange")):
        curves = np.array([[row["train_loss"] for row in run["epochs"][side]] for run in runs])
        epochs = np.arange(1, curves.shape[1] + 1)
        mean, error = curves.mean(axis=0), curves.std(axis=0) / np.sqrt(len(curves))
        name = "PyTorch" if side == "torch" else side
        loss_axes.plot(epochs, mean, color=color, label=f"{name} (mean of {len(curves)} runs)")
        loss_axes.fill_between(epochs, mean - error, mean + error, color=color, alpha=0.25)
    loss_axes.set(xlabel="epoch", ylabel="training loss", title="training loss (mean ± s.e.)")
    loss_axes.legend()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base = TrainConfig(data=args.data, epochs=args.epochs, image_size=args.image_size,
                       batch_size=args.batch_size, base_filters=args.base_filters,
                       depth=args.depth, lr=args.lr, device=args.device, folds=args.folds,
                       save_every=0)
    if args.control and args.device != "cpu":
        raise SystemExit("error: --control switches oneDNN, PyTorch's CPU convolutions; "
                         "use --device cpu")
    first = CONTROL if args.control else "engine"
    settings = {k: v for k, v in base.to_dict().items() if k not in ("seed", "fold")}
    settings["first"] = first
    out = Path(args.out)
    runs: list[dict[str, Any]] = []
    if out.exists():
        saved = json.loads(out.read_text())
        if saved.get("settings") != settings:
            raise SystemExit(f"error: {out} holds a comparison with other settings; "
                             "give another --out")
        runs = saved["runs"]
    done = {(run["seed"], run["fold"]) for run in runs}
    todo = [(seed, fold) for seed in args.seeds for fold in range(max(args.folds, 1))
            if (seed, fold) not in done]
    if runs:
        print(f"{out}: {len(runs)} runs done, " + ("continuing" if todo else "nothing to run"))
    if not todo:
        print_summary(summarize(runs, first))
        return 0

    slices = load_slices(base)
    for seed, fold in todo:
        config = dataclasses.replace(base, seed=seed, fold=fold)
        runs.append(compare_once(config, slices, first))
        summary = summarize(runs, first)
        atomic_write_text(out, json.dumps({
            "settings": settings, "torch_version": torch.__version__,
            "torch_threads": torch.get_num_threads(), "summary": summary, "runs": runs},
            indent=1) + "\n")
        write_figure(out.with_suffix(".png"), runs, summary)
        print_summary(summary)
        print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
