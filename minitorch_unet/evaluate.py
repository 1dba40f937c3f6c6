"""Score a trained checkpoint on its held-out patients, and segment scans with it.

    result = evaluate("runs/demo/best.npz")             # the run's own data, test patients
    print(format_table(result))
    evaluate("pretrained", "archive.zip", "all")        # the shipped model on any LGG data
    predict("pretrained", "new_scans.zip", "out/")      # masks, overlays, a volume table

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
from .checkpoint import atomic_output, atomic_write_text
from .data import EMBEDDED_SAMPLE, DataError, SliceSet, resize
from .metrics import METRICS, dice, confusion, dice_per_slice, segmentation_metrics
from .postprocess import postprocess
from .pretrained import postprocess_settings, resolve_checkpoint
from .scans import Scan, read_scans, write_mask
from .train import (TrainConfig, center_crop_array, load_slices, normalize_per_patient,
                    predict_probabilities, read_checkpoint)
from .unet import UNet

SPLITS = ("test", "val", "all")
DataPaths = str | Path | Sequence[str | Path] | None


def _open(checkpoint: str | Path, split: str, device: str
          ) -> tuple[Path, TrainConfig, UNet, dict[str, Any]]:
    """Check `split`, then read the checkpoint (``"pretrained"``: the shipped model) ->
    (its path, config, model on `device`, meta)."""
    if split not in SPLITS:
        raise ValueError(f"--split must be one of {', '.join(SPLITS)}; got {split!r}")
    path = resolve_checkpoint(checkpoint)
    config, model, _, meta = read_checkpoint(path)
    model.to(backend.check_device(device))
    return path, config, model, meta


def _split_patients(checkpoint: Path, meta: dict[str, Any], split: str) -> list[str]:
    """The patients the checkpoint's run kept for `split` ("test" or "val"); none is an error."""
    wanted = meta["split"][split]
    if not wanted:
        raise ValueError(f"--split {split}: the run of {checkpoint} kept no {split} patients; "
                         "use --split all with new data")
    return wanted


def _load(checkpoint: str | Path, data: DataPaths, split: str, device: str,
          patients: Sequence[str] | None = None
          ) -> tuple[TrainConfig, UNet, SliceSet, dict[str, Any]]:
    """The checkpoint's config and model (on `device`), the chosen slices, and its meta.

    `patients`, when given, replaces the split: exactly those patients are scored.
    """
    checkpoint, config, model, meta = _open(checkpoint, split, device)
    if data is not None:
        config = dataclasses.replace(config, data=_paths(data))
    slices = load_slices(config)
    if patients is None and split == "all":
        return config, model, slices, meta
    wanted = list(patients) if patients is not None else _split_patients(checkpoint, meta, split)
    missing = sorted(set(wanted) - set(slices.patients))
    if missing:
        where = ", ".join(config.data) if config.data else "the embedded sample"
        raise DataError(f"{where}: lacks the {split} patients of {checkpoint} "
                        f"({', '.join(missing)}); pass the data the model was trained on, "
                        "or use --split all")
    return config, model, slices.select(wanted), meta


def _paths(data: str | Path | Sequence[str | Path]) -> list[str]:
    return [str(data)] if isinstance(data, (str, Path)) else [str(p) for p in data]


def predicted_masks(probabilities: np.ndarray, patients: Sequence[str],
                    settings: dict[str, Any]) -> np.ndarray:
    """probabilities (S, 1, H, W) -> masks (S, 1, H, W) float32 in {0, 1}, post-processed
    patient by patient (each patient's slices one volume)."""
    masks = np.zeros(probabilities.shape, dtype=np.float32)
    patients = np.asarray(patients)
    for patient in dict.fromkeys(patients.tolist()):
        rows = patients == patient
        masks[rows, 0] = postprocess(probabilities[rows, 0], settings["threshold"],
                                     settings["min_voxels"])
    return masks


def evaluate(checkpoint: str | Path, data: DataPaths = None, split: str = "test",
             device: str = "cpu", patients: Sequence[str] | None = None) -> dict[str, Any]:
    """Metrics of a checkpoint on one split of the data (the run's own data when None).

    `checkpoint` may be ``"pretrained"`` (the shipped model); `patients` scores exactly those
    patients instead of a split. Predictions are post-processed as the checkpoint says
    (left-right flip averaging, threshold, small components dropped). Returns {"checkpoint",
    "epoch", "split", "slices", "per_patient": {patient: {"dice", "iou", "precision",
    "recall", "pixel_accuracy", "slices"}}, "overall": {...}, "dice_per_patient_mean"};
    per-patient values are 3D volume metrics (Buda et al., 2019).
    """
    config, model, slices, meta = _load(checkpoint, data, split, device, patients)
    settings = postprocess_settings(meta)
    probabilities = predict_probabilities(model, slices.images, config.batch_size,
                                          settings["flip"])
    masks = predicted_masks(probabilities, slices.patients, settings)
    target = center_crop_array(slices.masks, probabilities.shape[-1])
    metrics = segmentation_metrics(masks, target, slices.patients)
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


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir}: exists and is not a folder; give a folder for the "
                         "masks and overlays")


def _segment(model: UNet, config: TrainConfig, scan: Scan,
             settings: dict[str, Any]) -> list[np.ndarray]:
    """One scan's predicted masks, per slice (H, W) bool at the slice's own size.

    As in training: each slice resized to the model's size, the volume normalised as a whole;
    the probabilities are resized back (bilinear), then thresholded and cleaned as a volume.
    """
    size = config.image_size
    images = np.stack([resize(image, size, "bilinear") for image in scan.images])
    volume = SliceSet(images=images, masks=np.zeros((len(images), 1, size, size), np.float32),
                      patients=[scan.patient] * len(images),
                      slice_index=np.arange(len(images), dtype=np.int64))
    images = normalize_per_patient(volume, config.normalization).images
    probabilities = predict_probabilities(model, images, config.batch_size,
                                          settings["flip"])[:, 0]
    if probabilities.shape[-1] != size:  # 'valid' padding: the output covers the centre
        full = np.zeros((len(probabilities), size, size), np.float32)
        center_crop_array(full, probabilities.shape[-1])[...] = probabilities
        probabilities = full
    shapes = {image.shape[-2:] for image in scan.images}
    if len(shapes) == 1:
        (shape,) = shapes
        scale = shape[0] * shape[1] / size**2
        mask = postprocess(resize(probabilities, shape, "bilinear"), settings["threshold"],
                           round(settings["min_voxels"] * scale))
        return list(mask)
    return [postprocess(resize(p[None], image.shape[-2:], "bilinear"), settings["threshold"],
                        round(settings["min_voxels"] * image.shape[-2] * image.shape[-1]
                              / size**2))[0]
            for p, image in zip(probabilities, scan.images)]


def predict(checkpoint: str | Path, data: DataPaths, out_dir: str | Path,
            split: str | None = None, device: str = "cpu") -> dict[str, Any]:
    """Segment every slice of the scans in `data` and write the results to `out_dir`.

    `data`: kaggle_3m folders or zips (slices with masks, or without any) or NIfTI FLAIR
    volumes; None: the run's own data, restricted to `split` (default "test"; with `data`
    the default is "all"). `checkpoint` may be ``"pretrained"``. Writes, each atomically:

    * the predicted masks in the input's form: ``<PATIENT>/<PATIENT>_<k>_mask.tif`` per
      slice, or ``<stem>_mask.nii.gz`` with the input's affine;
    * ``overlays/<PATIENT>/<name>.png`` for each slice with tumour in the truth or the
      prediction (grey FLAIR, red prediction, green true outline, per-slice Dice where masks
      exist) and ``overlays/<PATIENT>_montage.png`` of them;
    * ``patients.csv``: slices, tumour voxels, tumour ml (where the spacing is known) and
      Dice (where masks exist) per patient.

    Returns {"patients": [rows], "written": [paths], "skipped": [reasons]}. Bad input (an
    `out_dir` that is a file, a folder mixing slices with and without masks, a NIfTI volume
    that is not 3-D) raises before any inference runs.
    """
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    split = split or ("test" if data is None else "all")
    checkpoint, config, model, meta = _open(checkpoint, split, device)
    settings = postprocess_settings(meta)
    paths = _paths(data) if data is not None else (config.data or [str(EMBEDDED_SAMPLE)])
    scans: list[Scan] = []
    skipped: list[str] = []
    for path in paths:
        found, lost = read_scans(path, config.channels)
        scans += found
        skipped += lost
    if split != "all":
        wanted = set(_split_patients(checkpoint, meta, split))
        scans = [scan for scan in scans if scan.patient in wanted]
    if not scans:
        raise DataError(f"{', '.join(paths)}: no slices to segment"
                        + (f" among the {split} patients" if split != "all" else ""))
    written: list[Path] = []
    rows = []
    for scan in scans:
        masks = _segment(model, config, scan, settings)
        written += write_mask(scan, masks, out_dir)
        written += _write_overlays(scan, masks, out_dir / "overlays")
        rows.append(_volume_row(scan, masks))
    table = ["patient,slices,tumour_voxels,tumour_ml,dice"] + [
        ",".join("" if row[k] is None else str(row[k])
                 for k in ("patient", "slices", "tumour_voxels", "tumour_ml", "dice"))
        for row in rows]
    atomic_write_text(out_dir / "patients.csv", "\n".join(table) + "\n")
    written.append(out_dir / "patients.csv")
    return {"patients": rows, "written": written, "skipped": skipped}


def _volume_row(scan: Scan, masks: list[np.ndarray]) -> dict[str, Any]:
    voxels = int(sum(int(mask.sum()) for mask in masks))
    row: dict[str, Any] = {
        "patient": scan.patient, "slices": len(masks), "tumour_voxels": voxels,
        "tumour_ml": None if scan.voxel_ml is None else round(voxels * scan.voxel_ml, 3),
        "dice": None}
    if scan.masks is not None:
        predicted = np.concatenate([m.ravel() for m in masks])
        truth = np.concatenate([m.ravel() for m in scan.masks])
        row["dice"] = round(float(dice(confusion(predicted, truth))), 4)
    return row


def _write_overlays(scan: Scan, masks: list[np.ndarray], out_dir: Path) -> list[Path]:
    flair = 1 if scan.images[0].shape[0] == 3 else 0  # (pre-contrast, FLAIR, post-contrast)
    truths = scan.masks or [np.zeros_like(mask) for mask in masks]
    written, tiles = [], []
    for name, image, truth, predicted in zip(scan.names, scan.images, truths, masks):
        if not (truth.any() or predicted.any()):
            continue
        picture = overlay(image[flair], truth, predicted)
        caption = name
        if scan.masks is not None:
            slice_dice = dice_per_slice(predicted[None].astype(np.float32), truth[None])[0]
            caption += f"  Dice {slice_dice:.2f}"
        _caption(picture, caption)
        written.append(out_dir / scan.patient / f"{name}.png")
        _save_png(written[-1], Image.fromarray(picture))
        tiles.append((caption, picture))
    if tiles:
        written.append(out_dir / f"{scan.patient}_montage.png")
        _save_png(written[-1], _montage(tiles))
    return written


def _caption(picture: np.ndarray, text: str) -> None:
    """Write `text` into the lower-left corner of an RGB array, in place."""
    canvas = Image.fromarray(picture)
    ImageDraw.Draw(canvas).text((4, picture.shape[0] - 14), text, fill=(255, 255, 0))
    picture[...] = np.asarray(canvas)
