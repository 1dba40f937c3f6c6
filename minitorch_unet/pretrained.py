"""The shipped U-Net: trained by this engine on 98 LGG patients, loadable without a download.

    model = UNet.pretrained()                            # or load_pretrained()
    python -m minitorch_unet evaluate pretrained --data archive.zip --split all
    python -m minitorch_unet export runs/final/last.npz --out model.npz --min-voxels 30

Its weights, config and recipe live in ``weights/lgg_flair_unet.npz`` beside this module,
in the checkpoint format ``evaluate`` and ``predict`` read (without optimiser state); its
model card is ``weights/MODEL_CARD.md``. The word ``pretrained`` stands for that file
wherever a checkpoint path is asked for.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .train import read_checkpoint
from .unet import UNet

PRETRAINED = "pretrained"
WEIGHTS = Path(__file__).resolve().parent / "weights" / "lgg_flair_unet.npz"
MAX_BYTES = 10 * 2**20
DEFAULT_POSTPROCESS = {"threshold": 0.5, "min_voxels": 0, "flip": False}


def resolve_checkpoint(checkpoint: str | Path) -> Path:
    """A checkpoint path, with the word ``pretrained`` standing for the shipped model."""
    if str(checkpoint) == PRETRAINED:
        if not WEIGHTS.is_file():
            raise CheckpointError(f"checkpoint {WEIGHTS}: the shipped model is missing (the "
                                  "package was installed without its weights)")
        return WEIGHTS
    return Path(checkpoint)


def postprocess_settings(meta: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint's post-processing ({"threshold", "min_voxels", "flip"}), or the
    defaults; "flip" averages the prediction with that of the left-right mirrored slice."""
    return {**DEFAULT_POSTPROCESS, **meta.get("postprocess", {})}


def export_model(checkpoint: str | Path, out: str | Path, threshold: float = 0.5,
                 min_voxels: int = 0, note: dict[str, Any] | None = None,
                 flip: bool = False) -> Path:
    """Write a checkpoint's model alone (float32 weights, config, history, post-processing).

    The result is what ``evaluate``/``predict`` read, at a third of a training checkpoint's
    size (no optimiser state). Raises CheckpointError for an unreadable checkpoint or a
    result over 10 MB; nothing is written then.
    """
    if not 0 < threshold < 1 or min_voxels < 0:
        raise ValueError(f"export: threshold must be in (0, 1) and min_voxels >= 0, got "
                         f"{threshold} and {min_voxels}")
    _, _, arrays, meta = read_checkpoint(checkpoint)
    weights = {k: v.astype(np.float32) if v.dtype.kind == "f" else v
               for k, v in arrays.items() if k.startswith("model/")}
    size = sum(v.nbytes for v in weights.values())
    if size > MAX_BYTES:
        raise CheckpointError(f"export {checkpoint}: its weights take {size / 2**20:.1f} MB, "
                              f"more than the {MAX_BYTES // 2**20} MB a shipped model may")
    kept = {k: meta[k] for k in ("kind", "version", "split", "epoch", "history", "best")
            if k in meta}
    # The data paths are the trainer's; without --data the model reads the embedded sample.
    kept.update(config={**meta["config"], "data": None}, trained_on=meta["config"]["data"],
                step=0, postprocess={"threshold": threshold, "min_voxels": int(min_voxels),
                             "flip": bool(flip)},
                exported_from=Path(checkpoint).name, note=note or {})
    save_checkpoint(out, weights, kept)
    return Path(out)


def chosen_candidate(result: dict[str, Any]) -> dict[str, Any]:
    """The candidate a ``benchmarks/cv_recipe.py`` result chose (StopIteration if none)."""
    return next(c for c in result["candidates"]
                if all(c[k] == v for k, v in result["chosen"].items()))


def cross_validation_note(path: str | Path) -> dict[str, Any]:
    """The chosen candidate of a ``benchmarks/cv_recipe.py`` result, to ship with a model:
    {"test_dice": {patient: Dice}, "mean", "mean_95", "median", "median_95", "groups",
    "chosen", "config"}."""
    try:
        result = json.loads(Path(path).read_text())
        chosen = chosen_candidate(result)
    except (OSError, ValueError, KeyError, StopIteration) as err:
        raise ValueError(f"--cross-validation {path}: not a cv_recipe result ({err})") from err
    return {"test_dice": chosen["test_per_patient"], "groups": result["groups"],
            "chosen": result["chosen"], "config": result["config"],
            **{k: result["chosen_test"][k] for k in ("mean", "mean_95", "median", "median_95")}}


def load_pretrained(device: str = "cpu") -> UNet:
    """The shipped U-Net in evaluation mode on `device`; see ``weights/MODEL_CARD.md``."""
    _, model, _, _ = read_checkpoint(resolve_checkpoint(PRETRAINED))
    return model.to(device).eval()


def pretrained_meta() -> dict[str, Any]:
    """The shipped model's metadata: config, training history, post-processing."""
    return load_checkpoint(resolve_checkpoint(PRETRAINED))[1]
