"""The U-Net's output convention: ``model(x)`` gives logits, as a PyTorch module does.

The PyTorch twin (``benchmarks/torch_unet.py``, the dev extra) with the same weights is the
oracle; the losses take these logits, and ``probabilities`` is their sigmoid.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import minitorch_unet as mt  # noqa: E402
from minitorch_unet import losses  # noqa: E402
from minitorch_unet.unet import UNet  # noqa: E402
from torch_unet import TorchUNet  # noqa: E402


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_forward_gives_the_twins_logits_and_probabilities_their_sigmoid(padding: str) -> None:
    mt.manual_seed(3)
    model = UNet(base_filters=4, depth=2, padding=padding).eval()
    twin = TorchUNet(**model.config).eval()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    size = 32 if padding == "same" else 44
    images = np.random.default_rng(0).normal(size=(2, 1, size, size)).astype(np.float32)
    target = (np.random.default_rng(1).random((2, 1, model.output_size(size),
                                                 model.output_size(size))) < 0.3)
    target = target.astype(np.float32)
    with torch.no_grad():
        twin_logits = twin(torch.from_numpy(images))
        twin_loss = torch.nn.functional.binary_cross_entropy_with_logits(
            twin_logits, torch.from_numpy(target))
    with mt.no_grad():
        logits = model(mt.tensor(images))
        probabilities = model.probabilities(mt.tensor(images))
        loss = losses.bce_loss(logits, mt.tensor(target))
    np.testing.assert_allclose(logits.numpy(), twin_logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(probabilities.numpy(), torch.sigmoid(twin_logits).numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(loss.item(), twin_loss.item(), rtol=1e-5)
