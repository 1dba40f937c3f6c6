"""Checkpoints: round trip, atomic writes under failures and SIGKILL, clear load errors."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from minitorch_unet import checkpoint as ckpt
from minitorch_unet.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

REPO = Path(__file__).resolve().parents[1]


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "model/enc1.conv.weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "model/enc1.conv.bias": rng.standard_normal(4),                     # float64
        "optim/state/0/exp_avg": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "optim/step": np.array(17, dtype=np.int64),                         # 0-d
        "data/indices": np.arange(10, dtype=np.int32)[::-1],                # non-contiguous
        "data/mask": np.array([[True, False], [False, True]]),
        "empty": np.zeros((0, 5), dtype=np.float32),
        "file": np.ones(2),                                                 # numpy.savez's argname
    }


META = {"config": {"lr": 1e-4, "features": [32, 64], "aug": {"flip": True, "scale": None}},
        "epoch": 3, "step": 1200, "history": [{"epoch": 1, "val_dice": 0.5}],
        "rng": {"state": [1, 2, 3], "name": "PCG64"}}


def test_round_trip(tmp_path):
    path = tmp_path / "last.npz"
    save_checkpoint(path, _arrays(), META)
    arrays, meta = load_checkpoint(path)
    assert meta == META
    expected = _arrays()
    assert arrays.keys() == expected.keys()
    for key, value in expected.items():
        assert arrays[key].dtype == value.dtype, key
        assert arrays[key].shape == value.shape, key
        np.testing.assert_array_equal(arrays[key], value)
    # a plain .npz: numpy reads it too
    with np.load(path) as npz:
        np.testing.assert_array_equal(npz["model/enc1.conv.weight"],
                                      expected["model/enc1.conv.weight"])
        assert json.loads(npz["__meta__"].tobytes()) == META
    assert sorted(os.listdir(tmp_path)) == ["last.npz"]


def test_overwrite_replaces_the_old_checkpoint(tmp_path):
    path = tmp_path / "last.npz"
    save_checkpoint(path, {"w": np.zeros(3)}, {"step": 1})
    save_checkpoint(path, {"v": np.ones(2, dtype=np.int8)}, {"step": 2})
    arrays, meta = load_checkpoint(path)
    assert meta == {"step": 2}
    assert list(arrays) == ["v"]


def test_reserved_key_and_unencodable_meta_write_nothing(tmp_path):
    path = tmp_path / "last.npz"
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(path, {"__meta__": np.zeros(1)}, {})
    with pytest.raises(TypeError):
        save_checkpoint(path, {"w": np.zeros(1)}, {"bad": object()})
    with pytest.raises(ValueError, match="object"):
        save_checkpoint(path, {"w": np.array([None, 1], dtype=object)}, {})
    assert os.listdir(tmp_path) == []


def test_crash_mid_write_keeps_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.npz"
    save_checkpoint(path, _arrays(), META)
    before = path.read_bytes()
    real_write_array = np.lib.format.write_array
    calls = []

    def write_then_fail(f, array, **kwargs):
        calls.append(1)
        if len(calls) == 3:       # two entries and part of a third are on disk by now
            f.write(b"\x93NUMPY partial")
            raise OSError("No space left on device")
        real_write_array(f, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(path, _arrays(), {"step": 9})
    assert len(calls) == 3
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["last.npz"]
    monkeypatch.undo()
    assert load_checkpoint(path)[1] == META


def test_atomic_output_failure_removes_temp_and_keeps_old(tmp_path):
    path = tmp_path / "overlay.png"
    path.write_bytes(b"old image")
    with pytest.raises(RuntimeError, match="renderer died"):
        with ckpt.atomic_output(path) as tmp:
            tmp.write_bytes(b"half an ima")
            raise RuntimeError("renderer died")
    assert path.read_bytes() == b"old image"
    assert os.listdir(tmp_path) == ["overlay.png"]


def test_atomic_output_temp_is_hidden_beside_target_with_same_suffix(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = tmp_path / "overlay.png"
    fig = plt.figure(figsize=(1, 1))
    with ckpt.atomic_output(path) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".") and tmp.suffix == ".png"
        fig.savefig(tmp)          # matplotlib picks the format from the name
    plt.close(fig)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path) == ["overlay.png"]


def test_atomic_write_text_and_bytes(tmp_path):
    path = tmp_path / "history.json"
    ckpt.atomic_write_text(path, '{"dice": "0.8 \u2013 ok"}')
    assert path.read_text(encoding="utf-8") == '{"dice": "0.8 \u2013 ok"}'
    ckpt.atomic_write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["history.json"]


def test_stale_temp_is_ignored_by_load_and_removed_by_next_save(tmp_path):
    path = tmp_path / "last.npz"
    save_checkpoint(path, {"w": np.arange(3)}, {"step": 1})
    stale = tmp_path / ".last.tmp-999999.npz"        # left by a killed writer
    stale.write_bytes(b"PK\x03\x04 half a zip")
    unrelated = tmp_path / "best.npz"
    unrelated.write_bytes(b"someone else's file")
    assert load_checkpoint(path)[1] == {"step": 1}
    save_checkpoint(path, {"w": np.arange(4)}, {"step": 2})
    assert sorted(os.listdir(tmp_path)) == ["best.npz", "last.npz"]


def _good_file(tmp_path: Path) -> Path:
    path = tmp_path / "last.npz"
    save_checkpoint(path, {"w": np.arange(1000, dtype=np.float64)}, META)
    return path


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.5, 0.99, 0.9999])
def test_truncated_file_raises_naming_the_file(tmp_path, fraction):
    path = _good_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(CheckpointError, match="last.npz") as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)


def test_flipped_byte_in_array_data_is_caught(tmp_path):
    path = _good_file(tmp_path)
    data = bytearray(path.read_bytes())
    at = data.find(np.arange(1000, dtype=np.float64)[500:502].tobytes())
    assert at > 0
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path)


def test_not_a_checkpoint_files(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(CheckpointError, match="nope.npz.*no such file"):
        load_checkpoint(missing)

    text = tmp_path / "notes.npz"
    text.write_text("not a zip at all")
    with pytest.raises(CheckpointError, match="notes.npz"):
        load_checkpoint(text)

    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.zeros(3))
    with pytest.raises(CheckpointError, match="plain.npz.*__meta__"):
        load_checkpoint(plain)

    bad_json = tmp_path / "badjson.npz"
    np.savez(bad_json, w=np.zeros(3), __meta__=np.frombuffer(b'{"epoch": 3,', dtype=np.uint8))
    with pytest.raises(CheckpointError, match="badjson.npz.*JSON"):
        load_checkpoint(bad_json)

    not_object = tmp_path / "list.npz"
    np.savez(not_object, __meta__=np.frombuffer(b"[1, 2]", dtype=np.uint8))
    with pytest.raises(CheckpointError, match="list.npz.*not a JSON object"):
        load_checkpoint(not_object)

    odd_entry = tmp_path / "odd.npz"
    with zipfile.ZipFile(odd_entry, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="odd.npz.*readme.txt"):
        load_checkpoint(odd_entry)


WRITER = """
import sys
import numpy as np
from minitorch_unet.checkpoint import save_checkpoint

step = 0
while True:
    step += 1
    save_checkpoint(sys.argv[1], {"w": np.full(4_000_000, step, dtype=np.float32),
                                  "tail": np.arange(step % 50)}, {"step": step})
    print(step, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_sigkill_at_random_moments_never_breaks_the_checkpoint(tmp_path):
    path = tmp_path / "last.npz"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    rng = random.Random(0)
    previous_pid = None
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env,
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip(), "writer died before its first save"
            if previous_pid is not None:   # the first save cleaned the killed writer's temp
                assert not (tmp_path / f".last.tmp-{previous_pid}.npz").exists()
            time.sleep(rng.uniform(0.0, 0.4))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        arrays, meta = load_checkpoint(path)
        assert np.all(arrays["w"] == meta["step"]), "arrays and meta from different saves"
        np.testing.assert_array_equal(arrays["tail"], np.arange(meta["step"] % 50))
        leftovers = set(os.listdir(tmp_path)) - {"last.npz"}
        assert leftovers <= {f".last.tmp-{proc.pid}.npz"}, leftovers
        previous_pid = proc.pid
