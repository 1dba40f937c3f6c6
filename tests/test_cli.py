"""The command line: train, resume after SIGKILL, evaluate, predict, and clean one-line errors."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from minitorch_unet import backend
from minitorch_unet.checkpoint import CheckpointError, load_checkpoint
from minitorch_unet.cli import COMMANDS, main
from test_train import tiny_lgg  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[1]
TINY = ["--image-size", "32", "--base-filters", "4", "--depth", "2", "--batch-size", "2"]


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_clean_error(code: int, err: str, *named: str) -> None:
    """Exit status 2 and one line 'error: ...' naming each of `named`, no traceback."""
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for name in named:
        assert name in lines[0], f"{name!r} not named in: {lines[0]}"


@pytest.fixture(scope="module")
def trained_run(tiny_lgg, tmp_path_factory) -> Path:  # noqa: F811
    """A run trained through the CLI for 2 epochs on the tiny subset."""
    run = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "--data", str(tiny_lgg), "--out", str(run), "--epochs", "2",
                 *TINY]) == 0
    return run


def test_train_prints_the_test_patients_dice(trained_run, capsys, tiny_lgg):  # noqa: F811
    history = json.loads((trained_run / "history.json").read_text())
    (test_patient,) = history["split"]["test"]
    assert len(history["epochs"]) == 2
    code, out, _ = run_main(capsys, "evaluate", str(trained_run / "best.npz"), "--data",
                            str(tiny_lgg))
    assert code == 0 and test_patient in out and "mean per-patient Dice" in out


def test_curves_show_the_test_dice_of_the_best_checkpoint(tiny_lgg, tmp_path, capsys,  # noqa: F811
                                                          monkeypatch):
    drawn = []
    monkeypatch.setattr("minitorch_unet.cli.write_curves",
                        lambda path, history, test_dice=None: drawn.append((path, test_dice)))
    run = tmp_path / "run"
    code, out, _ = run_main(capsys, "train", "--data", str(tiny_lgg), "--out", str(run),
                            "--epochs", "1", *TINY)
    line = next(l for l in out.splitlines() if l.startswith("test Dice (mean per patient)"))
    printed = float(line.rsplit(" ", 1)[-1])
    assert code == 0 and drawn == [(run / "curves.png", pytest.approx(printed, abs=5e-5))]
    from minitorch_unet.train import curves_figure
    history = json.loads((run / "history.json").read_text())["epochs"]
    legend = [t.get_text() for t in curves_figure(history, printed).axes[1].get_legend().texts]
    assert legend[-1] == f"test {printed:.3f} (that checkpoint)"


def test_evaluate_json_has_the_mean_per_patient_dice(trained_run, capsys, tiny_lgg):  # noqa: F811
    code, out, _ = run_main(capsys, "evaluate", str(trained_run / "best.npz"), "--data",
                            str(tiny_lgg), "--split", "all", "--json")
    result = json.loads(out)
    assert code == 0
    assert 0 <= result["dice_per_patient_mean"] <= 1
    assert len(result["per_patient"]) == 4 and result["split"] == "all"
    dices = [row["dice"] for row in result["per_patient"].values()]
    assert result["dice_per_patient_mean"] == pytest.approx(sum(dices) / 4)


def test_predict_writes_masks_and_png_overlays(trained_run, capsys, tiny_lgg, tmp_path):  # noqa: F811
    out_dir = tmp_path / "predicted"
    code, out, _ = run_main(capsys, "predict", str(trained_run / "best.npz"), "--data",
                            str(tiny_lgg), "--split", "all", "--out", str(out_dir))
    assert code == 0 and "segmented 20 slices of 4 patients" in out
    assert len(list(out_dir.rglob("*_mask.tif"))) == 20  # 5 slices per patient
    pngs = sorted((out_dir / "overlays").rglob("*.png"))
    # every slice with a true tumour gets an overlay (3 per patient), plus 4 montages
    assert len(pngs) >= 4 * 3 + 4
    assert len(list((out_dir / "overlays").glob("*_montage.png"))) == 4
    assert not [p for p in out_dir.rglob(".*")]
    with Image.open(pngs[0]) as picture:
        assert picture.mode == "RGB" and min(picture.size) >= 256


def test_kill_mid_epoch_then_resume_completes(tiny_lgg, tmp_path):  # noqa: F811
    run = tmp_path / "run"
    command = [sys.executable, "-m", "minitorch_unet", "train", "--out", str(run),
               "--epochs", "3", "--save-every", "1", "--image-size", "64", "--base-filters", "4",
               "--depth", "2", "--batch-size", "2"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                _, meta = load_checkpoint(run / "last.npz")
            except CheckpointError:  # not written yet
                meta = {"step": 0}
            if meta["step"] > 0:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before it could be killed mid-epoch"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    killed_at = load_checkpoint(run / "last.npz")[1]
    assert killed_at["epoch"] < 3

    resumed = subprocess.run(command + ["--resume"], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {run} at epoch {killed_at['epoch'] + 1}" in resumed.stdout
    history = json.loads((run / "history.json").read_text())
    assert [row["epoch"] for row in history["epochs"]] == [1, 2, 3]
    assert load_checkpoint(run / "last.npz")[1]["epoch"] == 3
    assert sorted(p.name for p in run.iterdir()) == ["best.npz", "curves.png", "history.json",
                                                       "last.npz"]


# ---- bad input: one clean line, exit status 2, nothing written ---------------------------------
def _copy(tiny: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(tiny, copy)
    return copy


def _missing_mask(tiny: Path, tmp_path: Path) -> tuple[Path, str]:
    copy = _copy(tiny, tmp_path)
    mask = sorted(copy.rglob("*_mask.tif"))[0]
    mask.unlink()
    return copy, mask.name.replace("_mask", "")


def _corrupt_image(tiny: Path, tmp_path: Path) -> tuple[Path, str]:
    copy = _copy(tiny, tmp_path)
    image = sorted(p for p in copy.rglob("*.tif") if not p.name.endswith("_mask.tif"))[0]
    image.write_bytes(image.read_bytes()[:200])
    return copy, image.name


def _empty_folder(tiny: Path, tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder, str(folder)


def _missing_path(tiny: Path, tmp_path: Path) -> tuple[Path, str]:
    return tmp_path / "nowhere", str(tmp_path / "nowhere")


def _bad_archive(tiny: Path, tmp_path: Path) -> tuple[Path, str]:
    archive = tmp_path / "archive.zip"
    archive.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    return archive, str(archive)


@pytest.mark.parametrize("make_data", [_missing_path, _empty_folder, _missing_mask,
                                       _corrupt_image, _bad_archive])
def test_bad_data_is_one_clean_error_and_writes_nothing(make_data, tiny_lgg, tmp_path,  # noqa: F811
                                                        capsys):
    data, culprit = make_data(tiny_lgg, tmp_path)
    run = tmp_path / "run"
    code, _, err = run_main(capsys, "train", "--data", str(data), "--out", str(run), *TINY)
    assert_clean_error(code, err, culprit)
    assert not run.exists()


def test_a_non_empty_run_folder_needs_resume(trained_run, capsys):
    before = {p.name: p.stat().st_mtime_ns for p in trained_run.iterdir()}
    code, _, err = run_main(capsys, "train", "--out", str(trained_run), *TINY)
    assert_clean_error(code, err, str(trained_run), "--resume")
    assert {p.name: p.stat().st_mtime_ns for p in trained_run.iterdir()} == before


def test_resume_with_nothing_to_resume(tmp_path, capsys):
    code, _, err = run_main(capsys, "train", "--out", str(tmp_path / "run"), "--resume")
    assert_clean_error(code, err, "--resume", str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_resume_refuses_changed_settings(trained_run, capsys):
    code, _, err = run_main(capsys, "train", "--out", str(trained_run), "--resume", "--lr", "0.5")
    assert_clean_error(code, err, "--lr")


@pytest.mark.parametrize("argv, named", [
    (["train", "--out", "{tmp}/run", "--optimizer", "adam", "--lr", "-1"], "--lr"),
    (["train", "--out", "{tmp}/run", "--image-size", "100"], "--image-size"),
    (["evaluate", "{tmp}/missing.npz"], "missing.npz"),
    (["summary", "--depth", "0"], "--depth"),
])
def test_bad_options_are_one_clean_error(argv, named, tmp_path, capsys):
    code, _, err = run_main(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert_clean_error(code, err, named)
    assert not (tmp_path / "run").exists()


def test_a_diverging_run_stops_with_one_line_naming_epoch_and_step(tiny_lgg, tmp_path,  # noqa: F811
                                                                   capsys):
    code, _, err = run_main(capsys, "train", "--data", str(tiny_lgg), "--out",
                            str(tmp_path / "run"), "--lr", "1e30", *TINY)
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("error: training stopped: the loss became")
    assert "at epoch 1, step" in line


def test_cuda_without_cupy_is_a_clear_device_error(tmp_path, capsys):
    if backend.cuda_available():
        pytest.skip("a GPU is available here")
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed")
    except ImportError:
        pass
    code, _, err = run_main(capsys, "train", "--out", str(tmp_path / "run"), "--device", "cuda")
    assert_clean_error(code, err, "cuda", "CuPy")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("device", ["cuda:0", "cuda:1", "tpu"])
def test_train_device_takes_pytorchs_names(tmp_path, capsys, device):
    if device == "cuda:0" and backend.cuda_available():
        pytest.skip("a GPU is available here: cuda:0 would train")
    code, _, err = run_main(capsys, "train", "--out", str(tmp_path / "run"), "--device", device)
    expected = {"cuda:0": "device 'cuda' asked for", "cuda:1": "only 'cuda:0', the current GPU",
                "tpu": "unknown device 'tpu'"}[device]
    assert_clean_error(code, err, expected)
    assert not (tmp_path / "run").exists()


def test_every_command_has_help(capsys):
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: minitorch-unet {name}" in capsys.readouterr().out


def test_summary_prints_the_unet_table(capsys):
    code, out, _ = run_main(capsys, "summary", "--image-size", "64")
    assert code == 0 and "bottleneck" in out and "(1, 1, 64, 64)" in out


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "minitorch_unet", "--help"], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "evaluate" in result.stdout


def test_without_out_a_new_dated_run_folder_is_made(tiny_lgg, tmp_path, capsys,  # noqa: F811
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_main(capsys, "train", "--data", str(tiny_lgg), "--epochs", "1", *TINY)
    assert code == 0
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "best.npz").is_file()
    assert f"run folder: {Path('runs') / runs[0].name}" in out


def test_resume_without_out_is_a_clear_error(capsys):
    code, _, err = run_main(capsys, "train", "--resume")
    assert code == 2 and "--resume needs --out RUNDIR" in err


def test_the_command_line_needs_no_optional_extra():
    """`pip install -e .` alone must run the main job: the CLI may not import the course's or
    the grader's tools (nbformat, nbclient, nbgrader) or PyTorch until a command needs them."""
    blocker = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('nbformat', 'nbclient', 'nbgrader', 'torch'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from minitorch_unet.cli import main\n"
        "for command in ('train', 'evaluate', 'predict', 'export', 'progress'):\n"
        "    try:\n"
        "        main([command, '--help'])\n"
        "    except SystemExit as stop:\n"
        "        assert stop.code == 0, command\n")
    done = subprocess.run([sys.executable, "-c", blocker], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
