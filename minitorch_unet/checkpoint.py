"""Checkpoints that survive a crash: one ``.npz`` file, written atomically.

A checkpoint is a dict of named arrays (``model/enc1.conv.weight``,
``optim/state/0/exp_avg``, ...) plus a JSON-serialisable ``meta`` dict (config, epoch,
step, history, RNG state, ...). Both go into one standard ``.npz`` file (``numpy.load``
reads it too); ``meta`` is stored as UTF-8 JSON bytes in a uint8 array under the
reserved key ``__meta__``.

Atomic writes. Every file here is first written to a hidden temporary file in the same
folder, ``.<stem>.tmp-<pid><suffix>`` (e.g. ``.last.tmp-4242.npz``), flushed to disk
with ``fsync``, then renamed onto the final name with ``os.replace`` (atomic on POSIX
and Windows), and the folder is synced so the rename itself survives a power cut. At
any moment the final name holds either the old complete file or the new complete one.
If writing fails the temporary file is removed and the old file is left untouched. A
process killed mid-write cannot clean up, so it may leave its temporary file behind:
``load_checkpoint`` never looks at it, and the next successful write to the same path
removes it. One process writes a given path at a time.
"""
from __future__ import annotations

import contextlib
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

META_KEY = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint file that is missing, truncated or corrupt; the message names it."""


def _temp_prefix(path: Path) -> str:
    return f".{path.stem}.tmp-"


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable, where the system can sync a folder at all.

    Windows cannot open folders, and some network file systems refuse to sync them; the
    rename has happened either way.
    """
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_temps(path: Path) -> None:
    """Delete temporary files left for `path` by killed writers."""
    prefix, suffix = _temp_prefix(path), path.suffix
    for leftover in path.parent.glob(f"{prefix}*{suffix}"):
        pid = leftover.name[len(prefix):len(leftover.name) - len(suffix)]
        if pid.isdigit():
            leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it replaces `path` atomically.

    The temporary file keeps the suffix of `path`, so writers that pick a format from
    the file name work::

        with atomic_output("runs/overlay.png") as tmp:
            fig.savefig(tmp)

    If the body raises, the temporary file is removed, `path` is untouched and the
    exception propagates.
    """
    path = Path(path)
    tmp = path.with_name(f"{_temp_prefix(path)}{os.getpid()}{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    _remove_stale_temps(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically (see the module docstring)."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` as UTF-8, atomically (see the module docstring)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def save_checkpoint(path: str | os.PathLike[str], arrays: dict[str, np.ndarray],
                    meta: dict[str, Any]) -> None:
    """Save named arrays (any shapes and numeric dtypes) and a JSON-able `meta` to one .npz.

    Written atomically: after a crash `path` holds either the previous checkpoint or
    this one. Raises ValueError for the reserved key ``__meta__`` or an object array,
    TypeError for a `meta` that JSON cannot encode; nothing is written then.
    """
    if META_KEY in arrays:
        raise ValueError(f"array key {META_KEY!r} is reserved for the metadata")
    entries = {key: np.asarray(value) for key, value in arrays.items()}
    for key, value in entries.items():
        if value.dtype.hasobject:
            raise ValueError(f"array {key!r} has dtype object; only plain arrays can be saved")
    entries[META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with atomic_output(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for key, value in entries.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, value, allow_pickle=False)


def load_checkpoint(path: str | os.PathLike[str]
                    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint` -> (arrays, meta).

    Raises CheckpointError, naming the file and the fault, for a missing, truncated or
    corrupt file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file")
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if not name.endswith(".npy"):
                    raise CheckpointError(f"checkpoint {path}: unexpected entry {name!r}")
                with zf.open(name) as f:
                    arrays[name.removesuffix(".npy")] = np.lib.format.read_array(
                        f, allow_pickle=False)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as err:
        raise CheckpointError(f"checkpoint {path}: truncated or corrupt ({err})") from err
    if META_KEY not in arrays:
        raise CheckpointError(f"checkpoint {path}: no {META_KEY!r} entry (not a checkpoint)")
    raw = arrays.pop(META_KEY)
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"checkpoint {path}: metadata is not valid JSON ({err})") from err
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint {path}: metadata is a {type(meta).__name__}, "
                              "not a JSON object")
    return arrays, meta


# ---- save / load, as torch.save and torch.load -----------------------------------------------
_SAVED_KIND = "minitorch_unet.saved"


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Save a Tensor, or a dict of Tensors or arrays (a ``state_dict()``), to `path`.

    The file is a plain ``.npz`` (``numpy.load`` reads it), whatever its name ends with
    (``model.pt`` is fine), written atomically. Other objects raise TypeError.
    """
    from . import backend
    from .autograd import Tensor

    def host(value: Any, where: str) -> np.ndarray:
        if isinstance(value, Tensor):
            return backend.to_numpy(value.data)
        if backend.device_of_any(value) is not None:
            return backend.to_numpy(value)
        raise TypeError(f"save: {where} is a {type(value).__name__}; save takes a Tensor or "
                        "a dict of Tensors or arrays (a model's state_dict())")

    if isinstance(obj, dict):
        arrays = {str(key): host(value, f"entry {key!r}") for key, value in obj.items()}
        meta = {"kind": _SAVED_KIND, "holds": "dict", "keys": list(arrays)}
    else:
        arrays = {"tensor": host(obj, "the object")}
        meta = {"kind": _SAVED_KIND, "holds": "tensor"}
    save_checkpoint(path, arrays, meta)


def load(path: str | os.PathLike[str], map_location: str | None = None) -> Any:
    """What :func:`save` wrote: a Tensor, or a dict of Tensors (on `map_location`, default cpu).

    Raises CheckpointError naming the file when it was not written by ``save``.
    """
    from .autograd import Tensor
    arrays, meta = load_checkpoint(path)
    if meta.get("kind") != _SAVED_KIND:
        raise CheckpointError(f"{path}: not a file written by minitorch_unet.save (a training "
                              "checkpoint is read with minitorch_unet.train.read_checkpoint)")
    device = map_location or "cpu"
    if meta["holds"] == "tensor":
        return Tensor(arrays["tensor"], device=device)
    return {key: Tensor(arrays[key], device=device) for key in meta["keys"]}
