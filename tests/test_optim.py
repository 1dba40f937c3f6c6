"""Optimisers and learning-rate schedules against torch.optim, step by step, in float64.

PyTorch (the dev extra) is the oracle; these tests skip without it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from minitorch_unet import optim  # noqa: E402
from minitorch_unet.autograd import Tensor  # noqa: E402
from minitorch_unet.nn import Parameter  # noqa: E402

SHAPES = [(3, 4), (5,), (2, 1, 3, 3)]
OPTIMISERS: list[tuple[str, dict[str, Any]]] = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("Adam", {"lr": 1e-3}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("AdamW", {"lr": 1e-3}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.5}),
]


def make_params(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in SHAPES]


@pytest.mark.parametrize("name, settings", OPTIMISERS, ids=lambda v: str(v))
def test_optimiser_follows_torch(name: str, settings: dict[str, Any]) -> None:
    start = make_params(0)
    ours = [Parameter(p.copy()) for p in start]
    theirs = [torch.tensor(p, requires_grad=True) for p in start]
    opt = getattr(optim, name)(ours, **settings)
    ref = getattr(torch.optim, name)(theirs, **settings)
    rng = np.random.default_rng(1)
    for step in range(25):
        # gradients of varying scale and sign, some exactly zero
        grads = [rng.standard_normal(p.shape) * 10.0 ** rng.integers(-4, 2)
                 * (rng.random(p.shape) > 0.1) for p in start]
        for p, t, g in zip(ours, theirs, grads):
            p.grad = Tensor(g.copy())
            t.grad = torch.tensor(g)
        opt.step()
        ref.step()
        for i, (p, t) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-13,
                                       err_msg=f"{name}{settings}: parameter {i} after step "
                                               f"{step + 1}")


@pytest.mark.parametrize("name, settings", OPTIMISERS[2::2], ids=lambda v: str(v))
def test_optimiser_state_resumes_exactly(name: str, settings: dict[str, Any]) -> None:
    start, rng = make_params(2), np.random.default_rng(3)
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(6)]
    straight = [Parameter(p.copy()) for p in start]
    opt = getattr(optim, name)(straight, **settings)
    resumed = [Parameter(p.copy()) for p in start]
    first = getattr(optim, name)(resumed, **settings)
    for step, gs in enumerate(grads):
        for p, g in zip(straight, gs):
            p.grad = Tensor(g)
        opt.step()
        if step < 3:
            for p, g in zip(resumed, gs):
                p.grad = Tensor(g)
            first.step()
    second = getattr(optim, name)(resumed, lr=123.0)  # hyper-parameters come from the state
    second.load_state_dict(first.state_dict())
    for gs in grads[3:]:
        for p, g in zip(resumed, gs):
            p.grad = Tensor(g)
        second.step()
    for p, q in zip(straight, resumed):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("ours, theirs, epochs", [
    (lambda o: optim.StepLR(o, step_size=3, gamma=0.5),
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 10),
    (lambda o: optim.CosineAnnealingLR(o, T_max=10),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10), 10),
    (lambda o: optim.CosineAnnealingLR(o, T_max=7, eta_min=1e-4),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=1e-4), 7),
], ids=["step", "cosine", "cosine_eta_min"])
def test_schedule_follows_torch(ours, theirs, epochs: int) -> None:
    opt = optim.SGD([Parameter(np.zeros(2))], lr=0.1)
    ref = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    schedule, ref_schedule = ours(opt), theirs(ref)
    for epoch in range(epochs + 1):  # up to and including the schedule's last epoch
        assert opt.lr == pytest.approx(ref.param_groups[0]["lr"], rel=1e-12, abs=1e-15), epoch
        opt.step()
        ref.step()
        schedule.step()
        ref_schedule.step()
