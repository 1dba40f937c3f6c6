"""benchmarks/cv_recipe.py: post-processing chosen on validation patients, every patient
tested once, intervals that contain their statistic."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from minitorch_unet.metrics import Counts
from minitorch_unet.train import train
from test_train import quiet, tiny_config, tiny_lgg  # noqa: F401  (fixture)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import cv_recipe  # noqa: E402


def test_cross_validation_scores_every_patient_once_and_chooses_on_validation(
        tiny_lgg, tmp_path, capsys):  # noqa: F811
    folds = []
    for k in range(4):
        folds.append(tmp_path / f"fold{k}")
        train(tiny_config(tiny_lgg, epochs=2, folds=4, fold=k), folds[-1], log=quiet)
    assert cv_recipe.main([*map(str, folds), "--out", str(tmp_path / "cv")]) == 0
    result = json.loads((tmp_path / "cv.json").read_text())
    assert (tmp_path / "cv.png").stat().st_size > 0
    candidates = result["candidates"]
    assert len(candidates) == (2 * len(cv_recipe.FLIPS) * len(cv_recipe.THRESHOLDS)
                               * len(cv_recipe.MIN_VOXELS))
    best_on_val = max(candidates, key=lambda c: c["val"]["mean"])
    assert result["chosen"] == {k: best_on_val[k] for k in ("checkpoint", "flip", "threshold",
                                                            "min_voxels")}
    for candidate in candidates:
        assert candidate["test"]["n"] == candidate["val"]["n"] == 4  # each patient once
        values = list(candidate["test_per_patient"].values())
        assert candidate["test"]["mean"] == np.mean(values)
        low, high = candidate["test"]["mean_95"]
        assert low <= candidate["test"]["mean"] <= high
    assert sum(g["n"] for g in result["groups"].values()) == 4
    voxels = result["chosen_test_voxels"]
    assert set(voxels) == set(best_on_val["test_per_patient"])
    for patient, v in voxels.items():  # the kept counts give back the chosen Dice
        total = v["true"] + v["marked"]
        expected = 2 * v["overlap"] / total if total else 1.0
        assert np.isclose(expected, best_on_val["test_per_patient"][patient])
    assert result["failures"]["n"] == sum(d < 0.5 for d in best_on_val["test_per_patient"].values())
    assert [row["epoch"] for row in result["per_epoch"]] == [1, 2]
    assert "chosen on validation" in capsys.readouterr().out


def test_paired_with_an_earlier_result_reports_the_per_patient_difference(
        tiny_lgg, tmp_path, capsys):  # noqa: F811
    folds = []
    for k in range(4):
        folds.append(tmp_path / f"fold{k}")
        train(tiny_config(tiny_lgg, epochs=1, folds=4, fold=k), folds[-1], log=quiet)
    assert cv_recipe.main([*map(str, folds), "--checkpoints", "last",
                           "--out", str(tmp_path / "first")]) == 0
    first = json.loads((tmp_path / "first.json").read_text())
    # An earlier result whose chosen candidate scored 0.1 less on every patient but one.
    earlier = json.loads((tmp_path / "first.json").read_text())
    chosen = next(c for c in earlier["candidates"]
                  if all(c[k] == v for k, v in earlier["chosen"].items()))
    patients = sorted(chosen["test_per_patient"])
    for p in patients[1:]:
        chosen["test_per_patient"][p] -= 0.1
    (tmp_path / "earlier.json").write_text(json.dumps(earlier))
    assert cv_recipe.main([*map(str, folds), "--checkpoints", "last", "--out",
                           str(tmp_path / "second"), "--paired-with",
                           str(tmp_path / "earlier.json")]) == 0
    paired = json.loads((tmp_path / "second.json").read_text())["paired"]
    assert paired["n"] == len(patients) == 4
    assert np.isclose(paired["mean"], 0.1 * 3 / 4)
    assert paired["up"] == 3 and paired["down"] == 0
    assert paired["mean_95"][0] <= paired["mean"] <= paired["mean_95"][1]
    assert "paired over 4 patients" in capsys.readouterr().out
    assert first["chosen"] == json.loads((tmp_path / "second.json").read_text())["chosen"]


def test_paired_with_a_bad_or_mismatched_result_stops_before_predicting(
        tiny_lgg, tmp_path, capsys):  # noqa: F811
    fold = tmp_path / "fold0"
    train(tiny_config(tiny_lgg, epochs=1, folds=4, fold=0), fold, log=quiet)
    (tmp_path / "junk.json").write_text("{not json")
    assert cv_recipe.main([str(fold), "--out", str(tmp_path / "cv"),
                           "--paired-with", str(tmp_path / "junk.json")]) == 2
    assert "junk.json: not a cv_recipe result" in capsys.readouterr().err
    other = {"chosen": {"checkpoint": "last"},
             "candidates": [{"checkpoint": "last", "test_per_patient": {"TCGA_XX_0000": 0.5}}]}
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert cv_recipe.main([str(fold), "--out", str(tmp_path / "cv"),
                           "--paired-with", str(tmp_path / "other.json")]) == 2
    assert "tests other patients" in capsys.readouterr().err
    assert not (tmp_path / "cv.json").exists()


def test_failures_are_sorted_into_missed_tumour_and_false_alarms():
    counts = {
        "good": Counts(tp=90, fp=10, fn=10, tn=0),          # Dice 0.9: not a failure
        "missed": Counts(tp=10, fp=0, fn=90, tn=0),         # marked a tenth of the tumour
        "nothing_marked": Counts(tp=0, fp=0, fn=50, tn=0),
        "alarms": Counts(tp=20, fp=100, fn=5, tn=0),        # most of what it marked is not tumour
        "both": Counts(tp=10, fp=40, fn=40, tn=0),
        "no_tumour_marked": Counts(tp=0, fp=30, fn=0, tn=0),
        "edge": Counts(tp=50, fp=50, fn=50, tn=0),          # Dice exactly 0.5: not a failure
    }
    result = cv_recipe.failures(counts)
    assert result["patients"] == {"missed": "missed", "nothing_marked": "missed",
                                  "alarms": "false_alarms", "both": "both",
                                  "no_tumour_marked": "false_alarms"}
    assert (result["n"], result["missed"], result["false_alarms"], result["both"]) == (5, 2, 2, 1)
