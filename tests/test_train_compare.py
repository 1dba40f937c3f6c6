"""The engine-vs-PyTorch training comparison: same start, paired per-patient results, resumable.

Needs PyTorch (the dev extra); skips without it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import train_compare  # noqa: E402

TINY = ["--epochs", "1", "--image-size", "32", "--depth", "2", "--base-filters", "4",
        "--batch-size", "8"]


def test_cross_validation_pairs_every_patient_and_resumes(embedded_sample, tmp_path, capsys):
    out = tmp_path / "compare.json"
    argv = ["--data", str(embedded_sample), *TINY, "--folds", "4", "--out", str(out)]
    assert train_compare.main([*argv, "--seeds", "0"]) == 0
    first = json.loads(out.read_text())
    assert [(run["seed"], run["fold"]) for run in first["runs"]] == [(0, k) for k in range(4)]
    tested = sorted(p for run in first["runs"] for p in run["split"]["test"])
    summary = first["summary"]
    assert sorted(summary["final"]["per_patient"]) == tested and len(set(tested)) == 4
    for run in first["runs"]:
        assert run["initial_max_logit_difference"] < 1e-4  # both sides start from one model
        for side in ("engine", "torch"):
            (row,) = run["epochs"][side]
            assert sorted(row["test_per_patient"]) == run["split"]["test"]
            assert row["test_dice"] == pytest.approx(np.mean(list(row["test_per_patient"].values())))
    final = summary["final"]
    per_patient = final["per_patient"].values()
    assert final["difference"] == pytest.approx(np.mean([p["engine"] - p["torch"]
                                                        for p in per_patient]))
    low, high = final["difference_95"]
    assert low <= final["difference"] <= high
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    capsys.readouterr()
    assert train_compare.main([*argv, "--seeds", "0", "1"]) == 0  # seed 0 is not run again
    assert "4 runs done, continuing" in capsys.readouterr().out
    second = json.loads(out.read_text())
    assert second["runs"][:4] == first["runs"]
    assert [(run["seed"], run["fold"]) for run in second["runs"][4:]] == [(1, k) for k in range(4)]
    assert second["summary"]["final"]["values"] == 8  # two seeds x four patients per side

    with pytest.raises(SystemExit, match="other settings"):
        train_compare.main([*argv[:-2], "--epochs", "2", "--out", str(out)])


def test_control_trains_the_twin_twice(embedded_sample, tmp_path):
    out = tmp_path / "control.json"
    assert train_compare.main(["--data", str(embedded_sample), *TINY, "--control",
                               "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    (run,) = saved["runs"]
    assert sorted(run["epochs"]) == ["torch", "torch_plain"]
    final = saved["summary"]["final"]
    assert set(final) >= {"torch_plain_dice", "torch_dice", "difference"}
    assert saved["settings"]["first"] == "torch_plain"
