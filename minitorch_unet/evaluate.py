"""Score a trained checkpoint on its held-out patients, and draw its predictions.

    result = evaluate("runs/demo/best.npz")             # the run's own data, test patients
    print(format_table(result))
    predict("runs/demo/best.npz", None, "runs/demo/overlays")

The split is the one the run was trained with: the checkpoint records which patients the
seeded ``patient_split`` put in train / val / test, so ``split="test"`` scores exactly the
patients the model never saw. ``split="all"`` scores every slice of the data given (e.g.
a new dataset). Slices are loaded and normalised as in training (same size and channels).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from . import backend
from .checkpoint import atomic_output
from .data import DataError, SliceSet
from .metrics import METRICS, segmentation_metrics
from .train import (TrainConfig, center_crop_array, load_slices, predict_probabilities,
                    read_checkpoint)
from .unet import UNet

SPLITS = ("test", "val", "all")
DataPaths = str | Path | Sequence[str | Path] | None


def _load(checkpoint: str | Path, data: DataPaths, split: str, device: str
          ) -> tuple[TrainConfig, UNet, SliceSet, dict[str, Any]]:
    """The checkpoint's config and model (on `device`), the chosen slices, and its meta."""
    if split not in SPLITS:
        raise ValueError(f"--split must be one of {', '.join(SPLITS)}; got {split!r}")
    config, model, _, meta = read_checkpoint(checkpoint)
    model.to(backend.check_device(device))
    if data is not None:
        config = dataclasses.replace(config, data=[str(data)] if isinstance(data, (str, Path))
                                     else [str(p) for p in data])
    slices = load_slices(config)
    if split == "all":
        return config, model, slices, meta
    wanted = meta["split"][split]
    if not wanted:
        raise ValueError(f"--split {split}: the run of {checkpoint} kept no {split} patients; "
                         "use --split all with new data")
    missing = sorted(set(wanted) - set(slices.patients))
    if missing:
        where = ", ".join(config.data) if config.data else "the embedded sample"
        raise DataError(f"{where}: lacks the {split} patients of {checkpoint} "
                        f"({', '.join(missing)}); pass the data the model was trained on, "
                        "or use --split all")
    return config, model, slices.select(wanted), meta


def evaluate(checkpoint: str | Path, data: DataPaths = None, split: str = "test",
             device: str = "cpu") -> dict[str, Any]:
    """Metrics of a checkpoint on one split of the data (the run's own data when None).

    Returns {"checkpoint", "epoch", "split", "slices", "per_patient": {patient: {"dice",
    "iou", "precision", "recall", "pixel_accuracy", "slices"}}, "overall": {...},
    "dice_per_patient_mean"}; per-patient values are 3D volume metrics (Buda et al., 2019).
    """
    config, model, slices, meta = _load(checkpoint, data, split, device)
    probabilities = predict_probabilities(model, slices.images, config.batch_size)
    target = center_crop_array(slices.masks, probabilities.shape[-1])
    metrics = segmentation_metrics(probabilities, target, slices.patients)
    for patient, row in metrics["per_patient"].items():
        row["slices"] = slices.patients.count(patient)
    return {"checkpoint": str(checkpoint), "epoch": meta["epoch"], "split": split,
            "slices": len(slices), **metrics}


def format_table(result: dict[str, Any]) -> str:
    """The result of :func:`evaluate` as a text table, one row per patient."""
    names = list(METRICS)
    width = max([len("overall (pooled)")] + [len(p) for p in result["per_patient"]]) + 2
    header = f"{'patient':<{width}}{'slices':>7}" + "".join(f"{n:>16}" for n in names)
    lines = [f"{result['checkpoint']} (epoch {result['epoch']}), split '{result['split']}'",
             header, "-" * len(header)]
    for patient, row in result["per_patient"].items():
        lines.append(f"{patient:<{width}}{row['slices']:>7}"
                     + "".join(f"{row[n]:>16.4f}" for n in names))
    lines.append("-" * len(header))
    lines.append(f"{'overall (pooled)':<{width}}{result['slices']:>7}"
                 + "".join(f"{result['overall'][n]:>16.4f}" for n in names))
    lines.append(f"mean per-patient Dice: {result['dice_per_patient_mean']:.4f}")
    return "\n".join(lines)


# ---- overlays --------------------------------------------------------------------------------
GREEN = np.array([0, 220, 0], np.uint8)
RED = np.array([255, 40, 40], np.uint8)
MIN_SIDE = 256  # overlays of small slices are enlarged (nearest) to at least this size


def _outline(mask: np.ndarray) -> np.ndarray:
    """The boundary pixels of a (H, W) bool mask: in the mask, beside a pixel outside it."""
    inner = np.pad(mask, 1)
    eroded = (inner[:-2, 1:-1] & inner[2:, 1:-1] & inner[1:-1, :-2] & inner[1:-1, 2:])
    return mask & ~eroded


def overlay(image: np.ndarray, truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """image (H, W) in [0, 1], truth and prediction (H, W) bool -> RGB (H*s, W*s, 3) uint8.

    The slice in grey, the predicted tumour tinted red with a red outline, the true
    tumour's outline in green on top; s enlarges small slices to at least MIN_SIDE pixels.
    """
    scale = max(1, math.ceil(MIN_SIDE / max(image.shape)))
    enlarge = lambda a: np.repeat(np.repeat(a, scale, axis=0), scale, axis=1)  # noqa: E731
    grey = (np.clip(enlarge(image), 0, 1) * 255).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    predicted, true = enlarge(prediction), enlarge(truth)
    rgb[predicted] = (0.55 * rgb[predicted] + 0.45 * RED).astype(np.uint8)
    rgb[_outline(predicted)] = RED
    rgb[_outline(true)] = GREEN
    return rgb


def _montage(tiles: list[tuple[str, np.ndarray]]) -> Image.Image:
    """Captioned tiles (same size) in a near-square grid."""
    columns = math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    height, width = tiles[0][1].shape[:2]
    sheet = Image.new("RGB", (columns * width, rows * height))
    draw = ImageDraw.Draw(sheet)
    for i, (caption, tile) in enumerate(tiles):
        left, top = (i % columns) * width, (i // columns) * height
        sheet.paste(Image.fromarray(tile), (left, top))
        draw.text((left + 4, top + 4), caption, fill=(255, 255, 0))
    return sheet


def _save_png(path: Path, picture: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        picture.save(tmp, format="PNG")


def predict(checkpoint: str | Path, data: DataPaths, out_dir: str | Path, split: str = "test",
            device: str = "cpu") -> list[Path]:
    """Write PNG overlays of the checkpoint's predictions; returns the paths written.

    One ``<patient>/<patient>_<k>.png`` per slice with tumour in the truth or the
    prediction, and one ``<patient>_montage.png`` of those slices per patient. Green: the
    true outline; red: the prediction. Each file is written atomically.
    """
    config, model, slices, _ = _load(checkpoint, data, split, device)
    probabilities = predict_probabilities(model, slices.images, config.batch_size)
    size = probabilities.shape[-1]
    predicted = probabilities[:, 0] > 0.5
    truth = center_crop_array(slices.masks, size)[:, 0] > 0.5
    flair_channel = 1 if config.channels == "all" else 0  # (pre-contrast, FLAIR, post-contrast)
    flair = center_crop_array(slices.images[:, flair_channel], size)
    out_dir = Path(out_dir)
    written: list[Path] = []
    for patient in dict.fromkeys(slices.patients):
        tiles = []
        for i in (i for i, p in enumerate(slices.patients) if p == patient):
            if not (truth[i].any() or predicted[i].any()):
                continue
            picture = overlay(flair[i], truth[i], predicted[i])
            k = int(slices.slice_index[i])
            written.append(out_dir / patient / f"{patient}_{k}.png")
            _save_png(written[-1], Image.fromarray(picture))
            tiles.append((f"slice {k}", picture))
        if tiles:
            written.append(out_dir / f"{patient}_montage.png")
            _save_png(written[-1], _montage(tiles))
    return written
