"""Score a training recipe by patient-level cross-validation, and choose its post-processing.

    for k in 0 1 2 3 4; do
        python -m minitorch_unet train --data ... --folds 5 --fold $k --out runs/cv/fold$k ...
    done
    python benchmarks/cv_recipe.py runs/cv/fold* --out benchmarks/results/cv_recipe

Each fold's run tested on its own group of patients, validated on the next group and
trained on the rest, so over the folds every patient is tested once and validated once.
This script reloads each fold's checkpoints (``best.npz``: best validation epoch;
``last.npz``: the last epoch) and scores every candidate post-processing (a probability
threshold, then dropping predicted 3-D components smaller than N voxels, each with and
without averaging the prediction with that of the left-right mirrored slice) on every
patient:

* the candidate is **chosen on the validation patients** (mean per-patient Dice over all
  folds' validation groups), never on the test patients;
* every candidate's **test** Dice is reported (mean, median, each with a 95% bootstrap
  interval over patients), so the choice can be judged, and the chosen one per patient
  group (the contributing institution: the TCGA code after ``TCGA_``);
* how the chosen candidate fails: for each test patient below a Dice of 0.5, whether it
  **missed** tumour (marked less than half of it), raised **false alarms** (less than half
  of what it marked is tumour), or both; each test patient's true, marked and overlapping
  voxels are kept;
* the Dice per epoch (threshold 0.5, nothing dropped) from the runs' histories, averaged over
  all patients, to judge the number of epochs;
* with ``--paired-with EARLIER.json`` (another recipe's result on the same patients), the
  paired difference of the two chosen candidates' per-patient test Dice, with its 95%
  bootstrap interval: what the change between the recipes bought.

Writes ``OUT.json`` and ``OUT.png`` (per-patient test Dice by group; Dice per epoch).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matplotlib.figure import Figure  # noqa: E402

from minitorch_unet.checkpoint import atomic_output, atomic_write_text  # noqa: E402
from minitorch_unet.metrics import (Counts, bootstrap_interval, confusion, dice,  # noqa: E402
                                    precision, recall)
from minitorch_unet.postprocess import component_sizes  # noqa: E402
from minitorch_unet.pretrained import chosen_candidate  # noqa: E402
from minitorch_unet.train import (center_crop_array, load_slices,  # noqa: E402
                                  predict_probabilities, read_checkpoint)

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
MIN_VOXELS = (0, 4, 16, 64)  # at the runs' image size
CHECKPOINTS = ("best", "last")
FLIPS = (False, True)  # averaging with the mirrored slice's prediction
FAILED_BELOW = 0.5  # a test patient under this Dice counts as a failure


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folds", nargs="+", type=Path, help="the fold runs' folders")
    parser.add_argument("--checkpoints", nargs="+", choices=CHECKPOINTS, default=list(CHECKPOINTS),
                        help="which checkpoints to score: best (chosen by validation Dice) and "
                             "last; a model trained without validation patients is a 'last' "
                             "(default: both)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cv_recipe"),
                        help="OUT.json and OUT.png are written (default: %(default)s)")
    parser.add_argument("--paired-with", type=Path, metavar="JSON",
                        help="an earlier result of this script on the same patients: report "
                             "the paired difference of the chosen candidates' test Dice")
    return parser.parse_args(argv)


def group_of(patient: str) -> str:
    """The contributing institution: TCGA_<group>_<id>_<date> -> group."""
    parts = patient.split("_")
    return parts[1] if len(parts) > 2 and parts[0] == "TCGA" else "other"


def failures(counts: dict[str, Counts]) -> dict[str, Any]:
    """The test patients below FAILED_BELOW, by kind: {"n", "missed", "false_alarms", "both",
    "patients": {patient: kind}}. missed: recall < 0.5; false_alarms: precision < 0.5."""
    kinds = {}
    for patient, c in sorted(counts.items()):
        if dice(c) >= FAILED_BELOW:
            continue
        # Dice is the harmonic mean of precision and recall: below 0.5, one of them is too.
        missed, alarms = recall(c) < 0.5, precision(c) < 0.5
        kinds[patient] = "both" if missed and alarms else "missed" if missed else "false_alarms"
    return {"n": len(kinds), **{k: sum(v == k for v in kinds.values())
                                for k in ("missed", "false_alarms", "both")},
            "patients": kinds}


def fold_probabilities(fold: Path, slices_cache: dict[str, Any],
                       checkpoints: list[str]) -> dict[str, Any]:
    """{(checkpoint, flip): {role: {patient: (probabilities, masks)}}} for the fold's val and
    test patients."""
    history = json.loads((fold / "history.json").read_text())
    key = json.dumps({k: v for k, v in history["config"].items() if k not in ("fold",)})
    if key not in slices_cache:
        slices_cache[key] = load_slices(read_checkpoint(fold / "last.npz")[0])
    slices = slices_cache[key]
    out: dict[str, Any] = {}
    for name in checkpoints:
        config, model, _, _ = read_checkpoint(fold / f"{name}.npz")
        for role in ("val", "test"):
            part = slices.select(history["split"][role])
            patients = np.asarray(part.patients)
            for flip in FLIPS:
                probabilities = predict_probabilities(model, part.images, 16, flip)[:, 0]
                masks = center_crop_array(part.masks, probabilities.shape[-1])[:, 0]
                out.setdefault((name, flip), {})[role] = {
                    p: (probabilities[patients == p], masks[patients == p])
                    for p in dict.fromkeys(part.patients)}
    return {"history": history, "predictions": out}


def chosen_test_dice(path: Path) -> dict[str, float]:
    """The per-patient test Dice of the candidate chosen in a result of this script."""
    try:
        result = json.loads(path.read_text())
        return chosen_candidate(result)["test_per_patient"]
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as err:
        raise ValueError(f"--paired-with {path}: not a cv_recipe result ({err!r})") from err


def paired_difference(ours: dict[str, float], theirs: dict[str, float]) -> dict[str, Any]:
    """Per-patient Dice `ours` minus `theirs` (the same patients):
    {"n", "mean", "mean_95", "up", "down"}."""
    differences = np.array([ours[p] - theirs[p] for p in sorted(ours)])
    return {"n": len(differences), "mean": float(differences.mean()),
            "mean_95": bootstrap_interval(differences), "up": int((differences > 0).sum()),
            "down": int((differences < 0).sum())}


def summary(values: list[float]) -> dict[str, Any]:
    array = np.asarray(values)
    return {"n": len(array), "mean": float(array.mean()),
            "mean_95": bootstrap_interval(array),
            "median": float(np.median(array)),
            "median_95": bootstrap_interval(array, np.median)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        earlier = chosen_test_dice(args.paired_with) if args.paired_with else None
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    tested = {p for fold in args.folds
              for p in json.loads((fold / "history.json").read_text())["split"]["test"]}
    if earlier is not None and set(earlier) != tested:
        print(f"--paired-with {args.paired_with}: tests other patients ({len(earlier)} there, "
              f"{len(tested)} here, {len(set(earlier) & tested)} in common)", file=sys.stderr)
        return 2
    cache: dict[str, Any] = {}
    folds = []
    for fold in args.folds:
        print(f"{fold}: predicting its validation and test patients", flush=True)
        folds.append(fold_probabilities(fold, cache, args.checkpoints))
    candidates = []
    for checkpoint in args.checkpoints:
        for flip in FLIPS:
            for threshold in THRESHOLDS:
                # each voxel's component size, once per threshold for every min_voxels
                sizes = {role: {p: (component_sizes(probabilities > threshold), masks > 0.5)
                                for f in folds for p, (probabilities, masks)
                                in f["predictions"][checkpoint, flip][role].items()}
                         for role in ("val", "test")}
                for min_voxels in MIN_VOXELS:
                    counts = {role: {p: confusion(size >= max(min_voxels, 1), truth)
                                     for p, (size, truth) in sizes[role].items()}
                              for role in ("val", "test")}
                    scores = {role: {p: float(dice(c)) for p, c in counts[role].items()}
                              for role in ("val", "test")}
                    candidates.append({"checkpoint": checkpoint, "flip": flip,
                                       "threshold": threshold, "min_voxels": min_voxels,
                                       "val": summary(list(scores["val"].values())),
                                       "test": summary(list(scores["test"].values())),
                                       "test_per_patient": scores["test"],
                                       "test_counts": counts["test"]})
    chosen = max(candidates, key=lambda c: c["val"]["mean"])
    counts = chosen["test_counts"]
    for c in candidates:  # the counts serve the chosen one's report; the JSON keeps the Dice
        del c["test_counts"]
    groups: dict[str, list[float]] = {}
    for patient, value in chosen["test_per_patient"].items():
        groups.setdefault(group_of(patient), []).append(value)
    epochs = per_epoch(folds)
    result = {"folds": [str(f) for f in args.folds], "config": folds[0]["history"]["config"],
              "candidates": candidates,
              "chosen": {k: chosen[k] for k in ("checkpoint", "flip", "threshold", "min_voxels")},
              "chosen_test": chosen["test"], "chosen_val": chosen["val"],
              "chosen_test_voxels": {p: {"true": c.tp + c.fn, "marked": c.tp + c.fp,
                                         "overlap": c.tp} for p, c in counts.items()},
              "failures": failures(counts),
              "groups": {g: summary(v) for g, v in sorted(groups.items())},
              "per_epoch": epochs}
    if earlier is not None:
        result["paired"] = {"other": str(args.paired_with),
                            **paired_difference(chosen["test_per_patient"], earlier)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
    write_figure(args.out.with_suffix(".png"), chosen, groups, epochs)
    print_result(result)
    return 0


def per_epoch(folds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean per-patient val and test Dice of each epoch over all folds (threshold 0.5)."""
    rows = []
    for epoch in range(min(len(f["history"]["epochs"]) for f in folds)):
        row = {"epoch": epoch + 1}
        for role in ("val", "test"):
            values = [v for f in folds
                      for v in f["history"]["epochs"][epoch][f"{role}_dice_per_patient"].values()]
            row[role] = float(np.mean(values))
        rows.append(row)
    return rows


def print_result(result: dict[str, Any]) -> None:
    print(f"\n{'checkpoint':<11}{'flip':>5}{'thr':>5}{'min':>5}  {'val mean':>9}  "
          f"{'test mean (95%)':>22}  {'test median (95%)':>22}")
    for c in result["candidates"]:
        t = c["test"]
        mark = "  <- chosen on validation" if all(
            c[k] == v for k, v in result["chosen"].items()) else ""
        print(f"{c['checkpoint']:<11}{'yes' if c['flip'] else 'no':>5}{c['threshold']:>5}"
              f"{c['min_voxels']:>5}  "
              f"{c['val']['mean']:>9.4f}  {t['mean']:.4f} ({t['mean_95'][0]:.3f}..{t['mean_95'][1]:.3f})"
              f"  {t['median']:.4f} ({t['median_95'][0]:.3f}..{t['median_95'][1]:.3f}){mark}")
    print("\nchosen, test Dice by patient group:")
    for group, s in result["groups"].items():
        print(f"  {group:<6} {s['n']:>3} patients  mean {s['mean']:.4f} "
              f"({s['mean_95'][0]:.3f}..{s['mean_95'][1]:.3f})  median {s['median']:.4f}")
    f = result["failures"]
    print(f"\nchosen, test patients below a Dice of {FAILED_BELOW}: {f['n']} of "
          f"{result['chosen_test']['n']}: {f['missed']} missed tumour (marked less than half "
          f"of it), {f['false_alarms']} false alarms (less than half of what was marked is "
          f"tumour), {f['both']} both")
    if "paired" in result:
        d = result["paired"]
        print(f"\nchosen minus the choice of {d['other']}, paired over {d['n']} patients: "
              f"{d['mean']:+.4f} ({d['mean_95'][0]:+.3f}..{d['mean_95'][1]:+.3f}), "
              f"{d['up']} patients up, {d['down']} down")
    print("\nper epoch (threshold 0.5), mean per-patient Dice over all folds:")
    for row in result["per_epoch"]:
        print(f"  epoch {row['epoch']:>2}  val {row['val']:.4f}  test {row['test']:.4f}")


def write_figure(path: Path, chosen: dict[str, Any], groups: dict[str, list[float]],
                 epochs: list[dict[str, Any]]) -> None:
    figure = Figure(figsize=(11, 4), layout="constrained")
    strip, curve = figure.subplots(1, 2)
    names = sorted(groups)
    for i, group in enumerate(names):
        values = groups[group]
        jitter = np.random.default_rng(i).uniform(-0.15, 0.15, len(values))
        strip.scatter(np.full(len(values), i) + jitter, values, s=12, alpha=0.7)
        strip.plot([i - 0.3, i + 0.3], [np.mean(values)] * 2, color="black")
    strip.set_xticks(range(len(names)), [f"{g}\n({len(groups[g])})" for g in names])
    strip.set(ylim=(0, 1), ylabel="test Dice per patient",
              title=f"cross-validated test Dice, mean {chosen['test']['mean']:.3f} "
                    f"({chosen['test']['mean_95'][0]:.3f}..{chosen['test']['mean_95'][1]:.3f})")
    for role, color in (("val", "tab:green"), ("test", "tab:purple")):
        curve.plot([r["epoch"] for r in epochs], [r[role] for r in epochs], marker=".",
                   color=color, label=role)
    curve.set(xlabel="epoch", ylabel="mean per-patient Dice", ylim=(0, 1),
              title="all folds, threshold 0.5")
    curve.legend()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)


if __name__ == "__main__":
    sys.exit(main())
