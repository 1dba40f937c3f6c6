"""A script written as a PyTorch user writes it runs on the engine with only the import changed.

The same source text runs twice, once under ``import torch`` and once under the engine's
import line, from the same initial weights; PyTorch's losses and predictions are the oracle.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minitorch_unet as mt
from minitorch_unet import backend, nn, optim
from minitorch_unet import functional as F
from minitorch_unet.checkpoint import CheckpointError

REPO = Path(__file__).resolve().parents[1]
TORCH_IMPORTS = "import torch\nfrom torch import nn, optim\nimport torch.nn.functional as F\n"
ENGINE_IMPORTS = ("import minitorch_unet as torch\nfrom minitorch_unet import nn, optim\n"
                  "from minitorch_unet import functional as F\n")

MODEL = '''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ConvTranspose2d(8, 8, 2, stride=2)
        self.head = nn.Conv2d(9, 1, 1)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.up(self.pool(h))
        return self.head(torch.cat([h, x], dim=1))
'''

TRAINING = '''
device = "cuda:0" if torch.cuda.is_available() else "cpu"
model = Net()
model.load_state_dict({k: torch.from_numpy(v) for k, v in start.items()})
model = model.double().to(device)
x, y = torch.from_numpy(images).to(device), torch.as_tensor(masks, device=device)
criterion = nn.BCEWithLogitsLoss()
optimizer = optim.Adam(model.parameters(), lr=1e-2)
scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
losses = []
for epoch in range(4):
    model.train()
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    scheduler.step()
    losses.append(loss.item())
torch.save(model.state_dict(), path)
restored = Net()
restored.load_state_dict(torch.load(path))
restored = restored.double().to(device)
restored.eval()
with torch.no_grad():
    probabilities = torch.sigmoid(restored(x))
    bce = F.binary_cross_entropy(probabilities, y).item()
    bce_module = nn.BCELoss()(probabilities, y).item()
probabilities = probabilities.cpu().numpy()
last_lr = scheduler.get_last_lr()[0]
'''


def run(imports: str, start: dict[str, np.ndarray], tmp_path: Path, name: str) -> dict:
    rng = np.random.default_rng(0)
    names = {"start": start, "path": str(tmp_path / name),
             "images": rng.normal(size=(4, 1, 8, 8)),     # float64: the two agree to 1e-10
             "masks": (rng.random((4, 1, 8, 8)) < 0.3).astype(np.float64)}
    exec(compile(imports + MODEL + TRAINING, name, "exec"), names)
    return names


def test_a_pytorch_script_runs_unchanged_but_for_the_imports(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    mt.manual_seed(0)
    model_only: dict = {}
    exec(compile(ENGINE_IMPORTS + MODEL, "model", "exec"), model_only)
    start = model_only["Net"]().state_dict()
    theirs = run(TORCH_IMPORTS, start, tmp_path, "torch_model.pt")
    ours = run(ENGINE_IMPORTS, start, tmp_path, "model.pt")
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-10)
    np.testing.assert_allclose(ours["probabilities"], theirs["probabilities"], atol=1e-10)
    assert ours["bce"] == pytest.approx(theirs["bce"], rel=1e-10)
    assert ours["bce_module"] == pytest.approx(theirs["bce"], rel=1e-10)
    assert ours["last_lr"] == pytest.approx(theirs["last_lr"], rel=1e-9, abs=1e-12)
    assert np.load(tmp_path / "model.pt")["conv1.weight"].shape == (8, 1, 3, 3)  # a plain .npz


def test_binary_cross_entropy_matches_torch_with_its_clamps_and_gradients() -> None:
    torch = pytest.importorskip("torch")
    p = np.array([0.0, 1e-50, 0.2, 0.5, 0.9, 1.0], np.float64)
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 1.0], np.float64)
    pt, tt = torch.tensor(p, requires_grad=True), torch.tensor(t, requires_grad=True)
    expected = torch.nn.functional.binary_cross_entropy(pt, tt)
    expected.backward()
    pe, te = mt.tensor(p, requires_grad=True), mt.tensor(t, requires_grad=True)
    loss = F.binary_cross_entropy(pe, te)
    loss.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), rtol=1e-8)  # its 1e-12 is a float
    np.testing.assert_allclose(te.grad.numpy(), tt.grad.numpy(), rtol=1e-9)


def test_dice_loss_module_is_the_soft_dice_loss_on_logits() -> None:
    logits = mt.tensor(np.array([[-2.0, 0.5], [3.0, -1.0]], np.float32))
    target = mt.tensor(np.array([[0.0, 1.0], [1.0, 0.0]], np.float32))
    p = 1 / (1 + np.exp(-logits.numpy()))
    expected = 1 - (2 * (p * target.numpy()).sum() + 1) / (p.sum() + target.numpy().sum() + 1)
    assert nn.DiceLoss()(logits, target).item() == pytest.approx(expected, rel=1e-6)


def test_pytorch_names_are_the_engines_own_objects() -> None:
    assert mt.optim is optim and mt.nn is nn and mt.functional is F and nn.functional is F
    assert mt.sigmoid is F.sigmoid and mt.cat is F.cat and mt.relu is F.relu
    assert optim.lr_scheduler.CosineAnnealingLR is optim.CosineAnnealingLR
    assert mt.cuda.is_available is mt.cuda_available
    assert all(hasattr(mt, name) for name in mt.__all__)
    public = {name for name in dir(mt) if not name.startswith("_")}
    assert not {"Any", "annotations", "SimpleNamespace"} & public
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    shared = mt.from_numpy(array)
    array[0, 0] = 42
    assert shared.data[0, 0] == 42 and mt.as_tensor(shared) is shared


def test_submodules_are_reachable_without_importing_them() -> None:
    script = ("import minitorch_unet as mt; mt.optim.Adam; mt.optim.lr_scheduler.StepLR; "
              "mt.nn.functional.relu; mt.nn.BCEWithLogitsLoss; print('ok')")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr


def test_module_devices_and_dtypes(tmp_path: Path) -> None:
    model = nn.Conv2d(1, 2, 3).double()
    assert model.weight.dtype == np.float64 and model.float().weight.dtype == np.float32
    assert model.cpu().to("cuda:0" if mt.cuda.is_available() else "cpu") is model
    if not mt.cuda.is_available():
        with pytest.raises(mt.DeviceError, match="device 'cuda' asked for"):
            model.cuda()
    with pytest.raises(mt.DeviceError, match=r"'cuda:1': only 'cuda:0'.*CUDA_VISIBLE_DEVICES=1"):
        model.to("cuda:1")
    with pytest.raises(mt.DeviceError, match="unknown device 'cpu:0'"):
        backend.parse_device("cpu:0")
    assert backend.parse_device("cuda:0") == "cuda"


def test_save_and_load_round_trip_and_refuse_what_they_cannot_hold(tmp_path: Path) -> None:
    t = mt.tensor([[1.0, 2.0]])
    mt.save(t, tmp_path / "t.pt")
    np.testing.assert_array_equal(mt.load(tmp_path / "t.pt").numpy(), t.numpy())
    with pytest.raises(TypeError, match=r"save: entry 'lr' is a float; save takes a Tensor"):
        mt.save({"lr": 0.1}, tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()
    from minitorch_unet.checkpoint import save_checkpoint
    save_checkpoint(tmp_path / "other.npz", {"a": np.zeros(1)}, {"kind": "other"})
    with pytest.raises(CheckpointError, match="other.npz: not a file written by minitorch_unet.save"):
        mt.load(tmp_path / "other.npz")


def test_probabilities_outside_zero_one_are_refused() -> None:
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must be probabilities in "
                                         r"\[0, 1\], got values in \[-1, 2\]"):
        F.binary_cross_entropy(mt.tensor([-1.0, 2.0]), mt.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="T_max must be a positive"):
        optim.CosineAnnealingLR(optim.SGD([nn.Parameter(np.zeros(1, np.float32))]), T_max=0)
