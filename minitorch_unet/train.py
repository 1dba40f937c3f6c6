"""Train a U-Net on FLAIR slices: a resumable loop that checkpoints as it goes.

    config = TrainConfig(epochs=40)              # the embedded 4-patient LGG sample
    history = train(config, "runs/demo")         # later: train(config, "runs/demo", resume=True)

By default the data is the embedded 4-patient sample of the LGG FLAIR set (TCGA-LGG images
from The Cancer Imaging Archive, masks by Buda, Saha and Mazurowski, 2019; see
``data/README.md``).

Patients (never slices) are split into train / validation / test with ``patient_split``,
or, with ``folds=K``, by fold ``fold`` of a patient-level K-fold cross-validation
(``patient_folds``): running folds 0 .. K-1 tests every patient once.
Every epoch reports the mean training loss and the mean per-patient (3D volume) Dice on the
validation patients; the best epoch by that Dice is kept, as in Buda et al. (2019).

RUN_DIR receives, each written atomically (see :mod:`minitorch_unet.checkpoint`):

* ``last.npz``  after every epoch and every ``save_every`` steps within one;
* ``best.npz``  whenever the validation Dice improves;
* ``history.json`` and ``curves.png``  (loss and Dice per epoch) after every epoch.

Exact resume. A checkpoint holds the model, optimiser and schedule state, the config, the
epoch and the step within it, the history and the best score. Every random draw of a
step is a function of (seed, epoch, step): the loader derives its order and augmentation
from (seed, epoch), and when the model has dropout its generator is re-seeded from (seed,
epoch, step) before each step. Resuming, even mid-epoch, replays the epoch's batch stream,
skips the batches already trained on, and continues with the very same updates.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from . import backend, losses, optim, threads
from .autograd import Tensor, no_grad
from .checkpoint import (CheckpointError, atomic_output, atomic_write_text, load_checkpoint,
                         save_checkpoint)
from .data import (Augment, DataError, DataLoader, SliceSet, load_dataset, normalize,
                   patient_folds, patient_split)
from .metrics import segmentation_metrics
from .progress import progress
from .unet import UNet

CHECKPOINT_KIND = "minitorch_unet.train"
CHECKPOINT_VERSION = 1
LOG_EVERY = 10  # steps between reads of the loss from the device (progress bar, NaN check)


def _option(help: str, choices: tuple[str, ...] | None = None) -> dict[str, Any]:
    return {"help": help, "choices": choices}


@dataclass
class TrainConfig:
    """Every setting of a training run; each field is also a ``train`` command-line option."""

    data: list[str] | None = field(default=None, metadata=_option(
        "LGG kaggle_3m folder or zip, or BraTS folder; repeat to combine datasets "
        "(default: the embedded 4-patient LGG sample)"))
    image_size: int = field(default=128, metadata=_option("slices are resized to SIZE x SIZE"))
    channels: str = field(default="flair", metadata=_option(
        "input channels: FLAIR only, or every modality of the data (LGG: pre-contrast, FLAIR, "
        "post-contrast; BraTS: FLAIR, T1, T1ce, T2)", ("flair", "all")))
    normalization: str = field(default="minmax", metadata=_option(
        "per patient volume and channel: scale to [0, 1], or to zero mean and unit variance",
        ("minmax", "zscore")))
    batch_size: int = field(default=4, metadata=_option("slices per training step"))
    epochs: int = field(default=40, metadata=_option("passes over the training patients"))
    lr: float = field(default=1e-3, metadata=_option("initial learning rate"))
    optimizer: str = field(default="adam", metadata=_option("optimiser",
                                                            ("adam", "adamw", "sgd")))
    weight_decay: float = field(default=0.0, metadata=_option(
        "weight decay (L2 for adam and sgd, decoupled for adamw)"))
    schedule: str = field(default="cosine", metadata=_option(
        "learning-rate schedule over the epochs (step: x0.1 every third of the run)",
        ("cosine", "step", "none")))
    loss: str = field(default="bce_dice", metadata=_option("loss on the logits",
                                                           tuple(losses.LOSSES)))
    base_filters: int = field(default=16, metadata=_option("channels of the first level"))
    depth: int = field(default=4, metadata=_option("number of poolings"))
    padding: str = field(default="same", metadata=_option(
        "'same' keeps the size; 'valid' (unpadded, as Ronneberger et al.) shrinks it and the "
        "mask is center-cropped to match", ("same", "valid")))
    batch_norm: bool = field(default=True, metadata=_option("batch normalisation after each conv"))
    dropout: float = field(default=0.0, metadata=_option("dropout probability in the bottleneck"))
    augment: bool = field(default=True, metadata=_option(
        "random flip, rotation, shift and zoom of training slices"))
    seed: int = field(default=0, metadata=_option(
        "seeds the patient split, initial weights, batch order and augmentation"))
    device: str = field(default="cpu", metadata=_option("where to train: cpu, cuda or cuda:0"))
    val_fraction: float = field(default=0.1, metadata=_option(
        "fraction of patients for validation (at least one); 0 trains on every patient "
        "(with --test-fraction 0) and keeps the last epoch as best"))
    test_fraction: float = field(default=0.1, metadata=_option(
        "fraction of patients held out for testing (0 for none)"))
    folds: int = field(default=0, metadata=_option(
        "patient-level K-fold cross-validation instead of the fractions: fold k tests on "
        "the k-th of K patient groups and validates on the next (0: no folds)"))
    fold: int = field(default=0, metadata=_option("which fold to run, 0 .. K-1 (with --folds)"))
    save_every: int = field(default=25, metadata=_option(
        "also save last.npz every N steps within an epoch (0: only at the end of each epoch)"))

    def __post_init__(self) -> None:
        if isinstance(self.data, (str, Path)):
            self.data = [str(self.data)]
        elif self.data is not None:
            self.data = [str(p) for p in self.data]
            if not self.data:
                raise ValueError("data (--data): give at least one path, or None for the "
                                 "embedded sample")
        for name in ("image_size", "batch_size", "epochs", "base_filters", "depth"):
            _require(self, name, getattr(self, name) >= 1, "must be a positive integer")
        _require(self, "save_every", self.save_every >= 0, "must be 0 or a positive integer")
        _require(self, "lr", math.isfinite(self.lr) and self.lr > 0, "must be a positive number")
        _require(self, "weight_decay", self.weight_decay >= 0, "must be >= 0")
        _require(self, "dropout", 0 <= self.dropout < 1, "must be in [0, 1)")
        _require(self, "val_fraction", 0 <= self.val_fraction < 1,
                 "must be in [0, 1): the best epoch is chosen on validation patients "
                 "(0: none, the last epoch is kept)")
        _require(self, "test_fraction", 0 <= self.test_fraction < 1, "must be in [0, 1)")
        _require(self, "folds", self.folds == 0 or self.folds >= 3,
                 "must be 0 (no cross-validation) or at least 3")
        _require(self, "fold", 0 <= self.fold < max(self.folds, 1),
                 f"must be in 0 .. {max(self.folds - 1, 0)} with --folds {self.folds}")
        try:
            backend.parse_device(self.device)
        except backend.DeviceError as err:
            raise ValueError(f"device ({_flag('device')}): {err}") from None
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                raise ValueError(f"{f.name} ({_flag(f.name)}) must be one of "
                                 f"{', '.join(choices)}; got {getattr(self, f.name)!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """The config saved in a checkpoint; unknown keys raise ValueError."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown settings {unknown}")
        return cls(**values)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _require(config: TrainConfig, name: str, ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(f"{name} ({_flag(name)}) {what}; got {getattr(config, name)!r}")


class TrainingError(RuntimeError):
    """Training cannot go on (the loss became NaN or infinite); the message says where."""


# ---- data and model --------------------------------------------------------------------------
def load_slices(config: TrainConfig) -> SliceSet:
    """Every slice of the config's datasets, each patient's volume normalised as the config says.

    Returns images (S, C, image_size, image_size), C = 1 (FLAIR), or with channels='all' 3
    (LGG) or 4 (BraTS).
    """
    paths = config.data or [None]
    parts = [load_dataset(path, image_size=config.image_size, channels=config.channels)
             for path in paths]
    counts = {str(path): part.images.shape[1] for path, part in zip(paths, parts)}
    if len(set(counts.values())) > 1:
        found = ", ".join(f"{path}: {count}" for path, count in counts.items())
        raise DataError(f"--channels all: the datasets have different numbers of channels "
                        f"({found}); combine datasets of one kind, or use --channels flair")
    seen: dict[str, str] = {}
    for path, part in zip(paths, parts):
        for patient in part.patient_ids():
            if patient in seen:
                raise DataError(f"{path}: patient {patient} is also in {seen[patient]}; "
                                "give each dataset once")
            seen[patient] = str(path)
    slices = parts[0] if len(parts) == 1 else SliceSet(
        images=np.concatenate([p.images for p in parts]),
        masks=np.concatenate([p.masks for p in parts]),
        patients=[patient for p in parts for patient in p.patients],
        slice_index=np.concatenate([p.slice_index for p in parts]))
    return normalize_per_patient(slices, config.normalization)


def normalize_per_patient(slices: SliceSet, method: str = "minmax") -> SliceSet:
    """Normalise each patient's volume as a whole, each channel on its own.

    ``"minmax"`` scales it to [0, 1], ``"zscore"`` to zero mean and unit variance (see
    ``data.normalize``). One scale per volume (as Buda et al. normalise per volume), not per
    slice: a slice near the top of the head, mostly background, keeps its true brightness
    instead of being stretched until healthy tissue looks as bright as tumour.
    """
    images = np.empty_like(slices.images)
    patients = np.asarray(slices.patients)
    for patient in slices.patient_ids():
        rows = patients == patient
        volume = slices.images[rows]  # (S, C, H, W) -> one (S*H, W) plane per channel
        count, channels, height, width = volume.shape
        planes = volume.transpose(1, 0, 2, 3).reshape(channels, count * height, width)
        scaled = normalize(planes, method).reshape(channels, count, height, width)
        images[rows] = scaled.transpose(1, 0, 2, 3)
    return dataclasses.replace(slices, images=images)


def split_patients(config: TrainConfig, slices: SliceSet) -> dict[str, list[str]]:
    """{"train": [...], "val": [...], "test": [...]} patient ids, seeded by the config."""
    count = len(slices.patient_ids())
    if config.folds:
        if count < config.folds:
            raise DataError(f"--data holds {count} patients, too few for --folds "
                            f"{config.folds}: each fold needs one; use --folds {count}"
                            if count >= 3 else
                            f"--data holds {count} patients, too few for --folds (at least 3); "
                            "add patients")
        return patient_folds(slices.patient_ids(), config.folds, config.fold, seed=config.seed)
    try:
        return patient_split(slices.patient_ids(), val=config.val_fraction,
                             test=config.test_fraction, seed=config.seed)
    except ValueError as err:
        if count >= 3:
            way_out = (f"lower --val-fraction / --test-fraction, or use --folds {min(count, 5)} "
                       "(patient-level cross-validation)")
        elif count == 2 and config.test_fraction > 0:
            way_out = "train without a test patient with --test-fraction 0"
        else:
            way_out = ("add patients: one trains and one validates (the best epoch is chosen "
                       "on it), so at least 2 are needed")
        raise DataError(f"--data: {err}; {way_out}") from None


def build_model(config: TrainConfig, in_channels: int | None = None) -> UNet:
    """The config's U-Net with its seeded initial weights, on the config's device.

    in_channels: the data's channels (default: 1 for FLAIR, 3 for LGG's 'all').
    Raises ValueError naming --image-size when the U-Net cannot take that size.
    """
    backend.manual_seed(config.seed)
    if in_channels is None:
        in_channels = 1 if config.channels == "flair" else 3
    model = UNet(in_channels=in_channels, out_channels=1,
                 base_filters=config.base_filters, depth=config.depth, padding=config.padding,
                 batch_norm=config.batch_norm, dropout=config.dropout)
    try:
        model.output_size(config.image_size)
    except ValueError as err:
        raise ValueError(f"image_size ({_flag('image_size')}) {config.image_size} does not fit "
                         f"a U-Net of depth {config.depth} with padding "
                         f"'{config.padding}': {err}") from err
    return model.to(backend.check_device(config.device))


def build_optimizer(config: TrainConfig, model: UNet) -> optim.Optimizer:
    if config.optimizer == "sgd":
        return optim.SGD(model.parameters(), lr=config.lr, momentum=0.9,
                         weight_decay=config.weight_decay)
    kind = optim.Adam if config.optimizer == "adam" else optim.AdamW
    return kind(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def build_schedule(config: TrainConfig, optimizer: optim.Optimizer) -> optim.LRSchedule | None:
    if config.schedule == "cosine":
        return optim.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.schedule == "step":
        return optim.StepLR(optimizer, step_size=max(1, config.epochs // 3), gamma=0.1)
    return None


def center_crop_array(array: np.ndarray, size: int) -> np.ndarray:
    """(..., H, W) -> (..., size, size), centred as the U-Net crops its skips (a view).

    With padding='valid' the U-Net's output is smaller than its input: the masks (and,
    for pictures, the images) are cropped to it.
    """
    height, width = array.shape[-2:]
    top, left = (height - size) // 2, (width - size) // 2
    return array[..., top:top + size, left:left + size]


def predict_probabilities(model: UNet, images: np.ndarray, batch_size: int,
                          flip: bool = False) -> np.ndarray:
    """Tumour probabilities in evaluation mode: images (S, C, H, W) -> (S, 1, H', W') host.

    flip: also predict the left-right mirrored images and average the two (test-time
    augmentation; twice the time).
    """
    device = model.head.weight.device
    was_training = model.training
    model.eval()
    out = []
    with no_grad():
        for start in range(0, len(images), batch_size):
            batch = backend.asarray(images[start:start + batch_size], device)
            probabilities = model.probabilities(Tensor(batch)).data
            if flip:
                mirrored = model.probabilities(Tensor(batch[..., ::-1].copy())).data
                probabilities = (probabilities + mirrored[..., ::-1]) / 2
            out.append(backend.to_numpy(probabilities))
    model.train(was_training)
    return np.concatenate(out)


def score(model: UNet, slices: SliceSet, batch_size: int) -> dict[str, Any]:
    """``metrics.segmentation_metrics`` of the model on these slices, per patient and overall."""
    probabilities = predict_probabilities(model, slices.images, batch_size)
    target = center_crop_array(slices.masks, probabilities.shape[-1])
    return segmentation_metrics(probabilities, target, slices.patients)


# ---- checkpoints -----------------------------------------------------------------------------
def _checkpoint_arrays(model: UNet, optimizer: optim.Optimizer) -> dict[str, np.ndarray]:
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    for i, state in enumerate(optimizer.state_dict()["state"]):
        arrays.update({f"optim/{i}/{name}": value for name, value in state.items()})
    return arrays


def read_checkpoint(path: str | Path) -> tuple[TrainConfig, UNet, dict[str, np.ndarray],
                                                dict[str, Any]]:
    """Load a training checkpoint -> (its config, model with its weights on the CPU, arrays, meta).

    Raises CheckpointError naming the file when it is not a readable training checkpoint.
    """
    arrays, meta = load_checkpoint(path)
    if meta.get("kind") != CHECKPOINT_KIND:
        raise CheckpointError(f"checkpoint {path}: not a training checkpoint of this project")
    try:
        config = TrainConfig.from_dict(meta["config"])
        model = build_model(dataclasses.replace(config, device="cpu"),
                            in_channels=arrays["model/enc1.0.weight"].shape[1])
        model.load_state_dict({k.removeprefix("model/"): v for k, v in arrays.items()
                               if k.startswith("model/")})
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path}: does not match its own config ({err})") from err
    return config, model, arrays, meta


def _restore_optimizer(optimizer: optim.Optimizer, arrays: dict[str, np.ndarray],
                       meta: dict[str, Any]) -> None:
    states: list[dict[str, np.ndarray]] = [{} for _ in optimizer.params]
    for key, value in arrays.items():
        if key.startswith("optim/"):
            _, index, name = key.split("/", 2)
            states[int(index)][name] = value
    optimizer.load_state_dict({**meta["optimizer"], "state": states})


# ---- the run folder --------------------------------------------------------------------------
def _check_fresh(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"--out {run_dir}: exists and is not a folder")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        held = ", ".join(sorted(p.name for p in run_dir.iterdir())[:4])
        raise ValueError(f"--out {run_dir}: folder is not empty (holds {held}); continue that "
                         "run with --resume, or choose another --out")


def _last_checkpoint(run_dir: Path) -> Path:
    path = run_dir / "last.npz"
    if not path.is_file():
        raise CheckpointError(f"--resume: nothing to resume in {run_dir} (no last.npz there); "
                              "start the run without --resume")
    return path


def saved_config(run_dir: str | Path) -> TrainConfig:
    """The config of the run in RUN_DIR (from its last.npz), for ``--resume``."""
    return read_checkpoint(_last_checkpoint(Path(run_dir)))[0]


RESUME_MAY_CHANGE = ("epochs", "device", "save_every")


def _check_same_run(saved: TrainConfig, given: TrainConfig, run_dir: Path) -> None:
    changed = [f.name for f in dataclasses.fields(TrainConfig)
               if f.name not in RESUME_MAY_CHANGE
               and getattr(saved, f.name) != getattr(given, f.name)]
    if changed:
        detail = "; ".join(f"{_flag(n)} was {getattr(saved, n)!r}, now {getattr(given, n)!r}"
                           for n in changed)
        raise ValueError(f"--resume: {run_dir} was trained with other settings ({detail}). "
                         f"Only {', '.join(_flag(n) for n in RESUME_MAY_CHANGE)} may change "
                         "on resume; start a new run in another --out to change the rest")


def curves_figure(history: list[dict[str, Any]], test_dice: float | None = None) -> Figure:
    """Training loss, and validation and test Dice per epoch where there are any; the test
    Dice of the best epoch's checkpoint, where it is known, as a diamond."""
    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(9, 3.5), layout="constrained")
    loss_axes, dice_axes = figure.subplots(1, 2)
    loss_axes.plot(epochs, [row["train_loss"] for row in history], marker=".")
    loss_axes.set(title="training loss", xlabel="epoch", ylabel="loss")
    for name, color in (("val", "tab:green"), ("test", "tab:purple")):
        rows = [row for row in history if row.get(f"{name}_dice") is not None]
        if rows:
            dice_axes.plot([row["epoch"] for row in rows], [row[f"{name}_dice"] for row in rows],
                           marker=".", color=color,
                           label="validation" if name == "val" else "test")
    validated = [row for row in history if row.get("val_dice") is not None]
    if validated:
        best = max(validated, key=lambda row: row["val_dice"])
        dice_axes.plot([best["epoch"]], [best["val_dice"]], marker="*", markersize=12,
                       color="tab:red", linestyle="none",
                       label=f"best {best['val_dice']:.3f} (epoch {best['epoch']})")
        if test_dice is not None:
            dice_axes.plot([best["epoch"]], [test_dice], marker="D", markersize=8,
                           linestyle="none", color="tab:purple",
                           label=f"test {test_dice:.3f} (that checkpoint)")
    dice_axes.set(title="Dice (mean per patient)", xlabel="epoch", ylabel="Dice", ylim=(0, 1))
    if validated or any(row.get("test_dice") is not None for row in history):
        dice_axes.legend(loc="upper left")
    return figure


def write_curves(path: Path, history: list[dict[str, Any]],
                 test_dice: float | None = None) -> None:
    """``curves_figure`` as a PNG (atomic)."""
    figure = curves_figure(history, test_dice)
    with atomic_output(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)


# ---- the loop --------------------------------------------------------------------------------
@dataclass
class _EpochLoss:
    """The training loss of the current epoch, summed on the device and read in intervals.

    ``pending`` holds the device scalars (loss x batch size) not yet read back; ``read``
    copies them to the host in one transfer, checks them, and adds them to the host sums.
    """

    epoch: int
    total: float = 0.0
    images: int = 0
    read_steps: int = 0
    pending: list[Any] = field(default_factory=list)
    pending_images: list[int] = field(default_factory=list)

    def add(self, loss: Tensor, batch: int) -> None:
        self.pending.append(loss.data * batch)
        self.pending_images.append(batch)

    def read(self) -> float:
        """Mean loss so far; raises TrainingError naming the first step whose loss is not finite."""
        if self.pending:
            values = backend.to_numpy(backend.xp_of(self.pending[0]).stack(self.pending))
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                step = self.read_steps + int(bad[0]) + 1
                raise TrainingError(f"the loss became {values[bad[0]]} at epoch {self.epoch}, "
                                    f"step {step}")
            self.total += float(values.sum())
            self.images += sum(self.pending_images)
            self.read_steps += len(self.pending)
            self.pending.clear()
            self.pending_images.clear()
        return self.total / max(self.images, 1)


NO_PARTIAL_EPOCH = {"total": 0.0, "images": 0, "seconds": 0.0}


class _Run:
    """One training run: its model, optimiser, data and RUN_DIR, epoch by epoch."""

    def __init__(self, config: TrainConfig, run_dir: Path, model: UNet,
                 slices: SliceSet, split: dict[str, list[str]]) -> None:
        self.config, self.run_dir, self.model, self.split = config, run_dir, model, split
        self.train_set, self.val_set = slices.select(split["train"]), slices.select(split["val"])
        self.test_set = slices.select(split["test"])
        self.optimizer = build_optimizer(config, model)
        self.schedule = build_schedule(config, self.optimizer)
        self.loader = DataLoader(self.train_set, batch_size=config.batch_size, shuffle=True,
                                 seed=config.seed, augment=Augment() if config.augment else None)
        self.out_size = model.output_size(config.image_size)
        self.loss_fn = losses.LOSSES[config.loss]
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.epoch, self.start_step, self.partial = 0, 0, dict(NO_PARTIAL_EPOCH)

    def restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Continue from a checkpoint: weights, optimiser, schedule, history, position."""
        self.model.load_state_dict({k.removeprefix("model/"): v for k, v in arrays.items()
                                    if k.startswith("model/")})
        _restore_optimizer(self.optimizer, arrays, meta)
        if self.schedule is not None:
            self.schedule.load_state_dict(meta["schedule"])
        self.history, self.best = meta["history"], meta["best"]
        self.epoch, self.start_step, self.partial = meta["epoch"], meta["step"], meta["partial"]

    def summary(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "split": self.split, "epochs": self.history,
                "best": self.best}

    def save(self, name: str, step: int = 0, partial: dict[str, float] | None = None) -> None:
        """Checkpoint after `step` steps of epoch ``self.epoch + 1`` (0: at its start)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        optimizer_state = {k: v for k, v in self.optimizer.state_dict().items() if k != "state"}
        save_checkpoint(self.run_dir / name, _checkpoint_arrays(self.model, self.optimizer), {
            "kind": CHECKPOINT_KIND, "version": CHECKPOINT_VERSION,
            "config": self.config.to_dict(), "split": self.split, "epoch": self.epoch,
            "step": step, "partial": partial or NO_PARTIAL_EPOCH, "optimizer": optimizer_state,
            "schedule": None if self.schedule is None else self.schedule.state_dict(),
            "history": self.history, "best": self.best})

    def train_step(self, step: int, images: np.ndarray, masks: np.ndarray) -> Tensor:
        """One optimiser step on images (B, C, H, W), masks (B, 1, H, W); returns the loss,
        left on the device."""
        config = self.config
        if config.dropout > 0:
            backend.manual_seed(_step_seed(config.seed, self.epoch, step))
        x = Tensor(backend.asarray(images, config.device))
        y = Tensor(backend.asarray(center_crop_array(masks, self.out_size), config.device))
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        return loss

    def train_epoch(self) -> tuple[float, float]:
        """One pass over the training slices -> (mean loss, seconds), checkpointing within."""
        config = self.config
        self.model.train()
        self.loader.set_epoch(self.epoch)
        tracker = _EpochLoss(self.epoch + 1, total=self.partial["total"],
                             images=self.partial["images"], read_steps=self.start_step)
        started = time.perf_counter() - self.partial["seconds"]
        bar = progress(self.loader, total=len(self.loader),
                       desc=f"epoch {self.epoch + 1}/{config.epochs}")
        try:
            # A diverging run overflows on its way to a NaN loss; _EpochLoss reports that
            # once, naming the step, so NumPy's floating-point warnings are not shown.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for step, (images, masks) in enumerate(bar, start=1):
                    if step <= self.start_step:
                        continue  # trained on before an interruption; replayed for its draws
                    tracker.add(self.train_step(step, images, masks), len(images))
                    due_save = config.save_every and step % config.save_every == 0
                    if step % LOG_EVERY == 0 or due_save:
                        rate = tracker.images / max(time.perf_counter() - started, 1e-9)
                        bar.set_postfix({"loss": f"{tracker.read():.4f}", "img/s": f"{rate:.1f}"})
                    if due_save and step < len(self.loader):
                        self.save("last.npz", step, {"total": tracker.total,
                                                     "images": tracker.images,
                                                     "seconds": time.perf_counter() - started})
            return tracker.read(), time.perf_counter() - started
        except TrainingError as err:
            last = self.run_dir / "last.npz"
            kept = (f"{last} keeps the last good state" if last.is_file()
                    else "no checkpoint had been saved yet")
            raise TrainingError(f"training stopped: {err}; {kept}") from None
        finally:
            bar.close()

    def finish_epoch(self, train_loss: float, train_seconds: float, started: float) -> str:
        """Validate, step the schedule, write the run's files; returns the epoch's log line."""
        self.epoch += 1
        self.start_step, self.partial = 0, dict(NO_PARTIAL_EPOCH)
        row = {"epoch": self.epoch, "train_loss": train_loss,
               **self._dice_columns("val", self.val_set), **self._dice_columns("test", self.test_set),
               "lr": self.optimizer.lr, "train_seconds": round(train_seconds, 3),
               "seconds": round(time.perf_counter() - started, 3),
               "images_per_s": round(len(self.train_set) / max(train_seconds, 1e-9), 2)}
        self.history.append(row)
        # Without validation patients the latest epoch is kept as the best.
        improved = (self.best is None or row["val_dice"] is None
                    or row["val_dice"] > self.best["val_dice"])
        if improved:
            self.best = {"epoch": self.epoch, "val_dice": row["val_dice"]}
        if self.schedule is not None:
            self.schedule.step()
        if improved:
            self.save("best.npz")
        self.save("last.npz")
        atomic_write_text(self.run_dir / "history.json",
                          json.dumps(self.summary(), indent=2) + "\n")
        write_curves(self.run_dir / "curves.png", self.history)
        dice = "".join(f"  {name} Dice {row[name + '_dice']:.4f}" for name in ("val", "test")
                       if row[name + "_dice"] is not None)
        return (f"epoch {self.epoch}/{self.config.epochs}  loss {train_loss:.4f}{dice}"
                f"{'  (best)' if improved and row['val_dice'] is not None else ''}  "
                f"lr {row['lr']:.2e}  {row['seconds']:.1f} s  {row['images_per_s']:.1f} img/s")

    def _dice_columns(self, name: str, slices: SliceSet) -> dict[str, Any]:
        """{name_dice, name_dice_per_patient} of the model on these slices; None when empty."""
        if not len(slices):
            return {f"{name}_dice": None, f"{name}_dice_per_patient": {}}
        result = score(self.model, slices, self.config.batch_size)
        return {f"{name}_dice": result["dice_per_patient_mean"],
                f"{name}_dice_per_patient": {p: m["dice"] for p, m in result["per_patient"].items()}}


def train(config: TrainConfig, run_dir: str | Path, resume: bool = False,
          log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train (or resume) the run in RUN_DIR; returns the history (also in history.json).

    History: {"config": {...}, "split": {"train": [...], "val": [...], "test": [...]},
    "epochs": [{"epoch", "train_loss", "val_dice", "val_dice_per_patient", "lr",
    "train_seconds", "seconds", "images_per_s"}, ...], "best": {"epoch", "val_dice"}}.
    Raises ValueError/DataError/CheckpointError/DeviceError on bad input before writing
    anything, and TrainingError when the loss stops being finite (last.npz keeps the last
    good state).
    """
    run_dir = Path(run_dir)
    device = backend.check_device(config.device)
    if resume:
        saved, _, arrays, meta = read_checkpoint(_last_checkpoint(run_dir))
        _check_same_run(saved, config, run_dir)
    else:
        _check_fresh(run_dir)
    build_model(config)  # an --image-size the U-Net cannot take fails before the data loads
    slices = load_slices(config)
    split = split_patients(config, slices)
    model = build_model(config, in_channels=slices.images.shape[1])
    if resume and meta["split"] != split:
        raise DataError(f"--resume: the data now splits into other patients than the run's "
                        f"{meta['split']}; pass the same --data as when the run started")
    run = _Run(config, run_dir, model, slices, split)
    if resume:
        run.restore(arrays, meta)
        log(f"{run_dir}: all {config.epochs} epochs already done" if run.epoch >= config.epochs
            else f"resuming {run_dir} at epoch {run.epoch + 1}"
            + (f", step {run.start_step + 1}" if run.start_step else ""))
    else:
        log(f"training on {len(run.train_set)} slices of {len(split['train'])} patients, "
            f"validating on {len(split['val']) or 'none (the last epoch is kept)'}, "
            f"testing on {len(split['test'])} "
            f"({model.num_parameters():,} parameters, device {device}"
            + (f", BLAS threads {threads.blas_threads()})" if device == "cpu" else ")"))
    while run.epoch < config.epochs:
        started = time.perf_counter() - run.partial["seconds"]
        train_loss, train_seconds = run.train_epoch()
        log(run.finish_epoch(train_loss, train_seconds, started))
    return run.summary()


def _step_seed(seed: int, epoch: int, step: int) -> int:
    """A seed for the dropout masks of one step, from (seed, epoch, step) alone."""
    return int(np.random.SeedSequence([seed, epoch, step]).generate_state(1)[0])
