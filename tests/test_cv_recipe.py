"""benchmarks/cv_recipe.py: post-processing chosen on validation patients, every patient
tested once, intervals that contain their statistic."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

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
    assert [row["epoch"] for row in result["per_epoch"]] == [1, 2]
    assert "chosen on validation" in capsys.readouterr().out
