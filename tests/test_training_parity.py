"""Training steps in float64 follow PyTorch's: U-Net, loss, batch norm, optimiser and schedule.

In float32, two correct implementations of the same training drift apart within an epoch:
rounding differences of 1e-7 grow by about a quarter per step. In float64 they start at
1e-16, so over a few epochs any difference above 1e-9 is a difference in the mathematics.
The engine's U-Net is trained as ``train`` builds it (``build_model``, ``build_optimizer``,
``build_schedule``, ``losses.LOSSES``) on the embedded sample through the project's
``DataLoader`` with augmentation; its PyTorch twin (``benchmarks/torch_unet.py``) trains on
the same batches. PyTorch (the dev extra) is the oracle; these tests skip without it.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from minitorch_unet import losses  # noqa: E402
from minitorch_unet.autograd import Tensor  # noqa: E402
from minitorch_unet.data import Augment, DataLoader  # noqa: E402
from minitorch_unet.train import (TrainConfig, build_model, build_optimizer,  # noqa: E402
                                  build_schedule, center_crop_array, load_slices,
                                  split_patients)
from torch_unet import LOSSES, TorchUNet, _optimizer, _schedule  # noqa: E402

SETUPS: list[dict[str, Any]] = [
    {"optimizer": "adam", "schedule": "cosine", "loss": "bce_dice"},
    {"optimizer": "adamw", "weight_decay": 0.05, "schedule": "step", "loss": "dice",
     "padding": "valid", "image_size": 44},
    {"optimizer": "sgd", "lr": 0.05, "schedule": "none", "loss": "bce", "batch_norm": False},
]


@pytest.mark.parametrize("changes", SETUPS, ids=lambda c: f"{c['optimizer']}-{c['loss']}")
def test_float64_training_follows_torch(embedded_sample, changes: dict[str, Any]) -> None:
    config = TrainConfig(**{"data": [str(embedded_sample)], "image_size": 32, "depth": 2,
                            "base_filters": 4, "batch_size": 8, "epochs": 3, **changes})
    slices = load_slices(config)
    train_set = slices.select(split_patients(config, slices)["train"])
    model = build_model(config)
    twin = TorchUNet(**model.config).double()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    for _, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if tensor.data.dtype == np.float32:
            tensor.data = tensor.data.astype(np.float64)
    optimizer, twin_optimizer = build_optimizer(config, model), _optimizer(config, twin)
    schedule, twin_schedule = build_schedule(config, optimizer), _schedule(config, twin_optimizer)
    loss_fn, twin_loss_fn = losses.LOSSES[config.loss], LOSSES[config.loss]
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True, seed=0,
                        augment=Augment())
    out_size = model.output_size(config.image_size)
    model.train()
    twin.train()
    steps = 0
    for epoch in range(config.epochs):
        loader.set_epoch(epoch)
        for images, masks in loader:
            x, y = images.astype(np.float64), center_crop_array(masks, out_size).astype(np.float64)
            optimizer.zero_grad()
            loss = loss_fn(model(Tensor(x)), Tensor(y))
            loss.backward()
            optimizer.step()
            twin_optimizer.zero_grad()
            twin_loss = twin_loss_fn(twin(torch.from_numpy(x)), torch.from_numpy(y))
            twin_loss.backward()
            twin_optimizer.step()
            steps += 1
            assert float(loss.item()) == pytest.approx(twin_loss.item(), rel=1e-10), \
                f"loss differs at epoch {epoch + 1}, step {steps}"
        if schedule is not None:
            schedule.step()
            twin_schedule.step()
    assert steps >= 15
    ours = model.state_dict()
    for key, value in twin.state_dict().items():
        np.testing.assert_allclose(ours[key], value.numpy(), rtol=1e-9, atol=1e-10,
                                   err_msg=f"{key} after {steps} steps")
