"""The project's U-Net in PyTorch, and a PyTorch training loop fed by the project's data pipeline.

Development only (benchmarks and cross-checks); the package never imports it. Module and
parameter names match ``minitorch_unet.unet.UNet`` one for one, so the same weights load
into both::

    twin = TorchUNet(**engine_model.config)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in engine_model.state_dict().items()})

:func:`train_torch` trains it the way ``minitorch_unet.train.train`` trains the engine's
U-Net: the same patients, the same ``DataLoader`` (so the same batch order and
augmentation), the same loss on the logits, optimiser and schedule, and the same
validation metric (mean per-patient Dice).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from minitorch_unet.data import Augment, DataLoader, SliceSet
from minitorch_unet.metrics import segmentation_metrics
from minitorch_unet.train import TrainConfig, center_crop_array


def center_crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Crop the last two dims to `size`, centred as the engine's ``center_crop``."""
    height, width = x.shape[-2:]
    top, left = (height - size[0]) // 2, (width - size[1]) // 2
    return x[..., top:top + size[0], left:left + size[1]]


class DoubleConv(nn.Sequential):
    """(conv 3x3 -> [batch norm] -> ReLU) x 2 [-> dropout], numbered as the engine's."""

    def __init__(self, in_channels: int, out_channels: int, padding: str, batch_norm: bool,
                 dropout: float = 0.0) -> None:
        layers: list[nn.Module] = []
        for c_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1 if padding == "same" else 0,
                                    bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


class TorchUNet(nn.Module):
    """x: (N, in_channels, H, W) -> logits (N, out_channels, H', W'); as the engine's UNet."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, base_filters: int = 32,
                 depth: int = 4, padding: str = "same", batch_norm: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.depth = depth
        widths = [base_filters * 2 ** i for i in range(depth + 1)]
        for i in range(depth):
            setattr(self, f"enc{i + 1}", DoubleConv(in_channels if i == 0 else widths[i - 1],
                                                    widths[i], padding, batch_norm))
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = DoubleConv(widths[depth - 1], widths[depth], padding, batch_norm, dropout)
        for i in reversed(range(depth)):
            setattr(self, f"up{i + 1}", nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2))
            setattr(self, f"dec{i + 1}", DoubleConv(2 * widths[i], widths[i], padding, batch_norm))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i in range(self.depth):
            x = getattr(self, f"enc{i + 1}")(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for i in reversed(range(self.depth)):
            x = getattr(self, f"up{i + 1}")(x)
            skip = center_crop(skips[i], tuple(x.shape[-2:]))
            x = getattr(self, f"dec{i + 1}")(torch.cat([skip, x], dim=1))
        return self.head(x)


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - (2 sum(p t) + smooth) / (sum(p) + sum(t) + smooth) over the batch, as the engine's."""
    p = torch.sigmoid(logits)
    return 1 - (2 * (p * target).sum() + smooth) / (p.sum() + target.sum() + smooth)


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "bce": F.binary_cross_entropy_with_logits,
    "dice": soft_dice_loss,
    "bce_dice": lambda x, t: 0.5 * F.binary_cross_entropy_with_logits(x, t)
    + 0.5 * soft_dice_loss(x, t),
}


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9,
                               weight_decay=config.weight_decay)
    kind = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return kind(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def _schedule(config: TrainConfig, optimizer: torch.optim.Optimizer):
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, config.epochs // 3),
                                               gamma=0.1)
    return None


def torch_score(model: TorchUNet, slices: SliceSet, batch_size: int,
                device: str) -> dict[str, Any]:
    """``segmentation_metrics`` of the twin on these slices (evaluation mode)."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(slices), batch_size):
            batch = torch.from_numpy(slices.images[start:start + batch_size]).to(device)
            out.append(torch.sigmoid(model(batch)).cpu().numpy())
    model.train()
    probabilities = np.concatenate(out)
    target = center_crop_array(slices.masks, probabilities.shape[-1])
    return segmentation_metrics(probabilities, target, slices.patients)


def train_torch(config: TrainConfig, model: TorchUNet, train_set: SliceSet, val_set: SliceSet,
                test_set: SliceSet | None = None, device: str = "cpu",
                log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Train the twin as the engine trains; one row per epoch: train_loss, val_dice,
    train_seconds and, when a test set is given, test_dice and test_per_patient
    ({patient: Dice})."""
    model.to(device).train()
    optimizer, loss_fn = _optimizer(config, model), LOSSES[config.loss]
    schedule = _schedule(config, optimizer)
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True, seed=config.seed,
                        augment=Augment() if config.augment else None)
    history = []
    for epoch in range(config.epochs):
        loader.set_epoch(epoch)
        started = time.perf_counter()
        total = torch.zeros((), device=device)
        for images, masks in loader:
            x = torch.from_numpy(images).to(device)
            logits = model(x)
            y = torch.from_numpy(center_crop_array(masks, logits.shape[-1])).to(device)
            optimizer.zero_grad()
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(images)
        train_loss = float(total) / len(train_set)  # one read per epoch, as the engine
        seconds = time.perf_counter() - started
        if schedule is not None:
            schedule.step()
        row = {"epoch": epoch + 1, "train_loss": train_loss, "train_seconds": seconds,
               "val_dice": torch_score(model, val_set, config.batch_size,
                                       device)["dice_per_patient_mean"]}
        if test_set is not None:
            test = torch_score(model, test_set, config.batch_size, device)
            row["test_dice"] = test["dice_per_patient_mean"]
            row["test_per_patient"] = {p: m["dice"] for p, m in test["per_patient"].items()}
        history.append(row)
        log(f"torch epoch {epoch + 1}/{config.epochs}  loss {train_loss:.4f}  "
            f"val Dice {row['val_dice']:.4f}  {seconds:.1f} s")
    return history
