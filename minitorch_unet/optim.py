"""Optimisers (SGD with momentum, Adam, AdamW) and learning-rate schedules, as in PyTorch.

Updates run in place on the parameters' arrays, on whichever device they live. Each
optimiser and schedule has ``state_dict``/``load_state_dict`` so that training resumes
exactly where it stopped.
"""
from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, Iterable

from . import backend
from .nn import Parameter


class Optimizer:
    """Holds the parameters, the hyper-parameters (``lr`` among them) and per-parameter state."""

    def __init__(self, params: Iterable[Parameter], **defaults: Any) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.hyper = dict(defaults)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]
        self.steps = 0

    @property
    def lr(self) -> float:
        return self.hyper["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        self.hyper["lr"] = value

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        self.steps += 1
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self.update(p.data, p.grad.data, state)

    def update(self, param: Any, grad: Any, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """{'hyper': {...}, 'steps': n, 'state': [{name: host array}, ...]}."""
        return {"hyper": dict(self.hyper), "steps": self.steps,
                "state": [{k: backend.to_numpy(v) for k, v in s.items()} for s in self.state]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["state"]) != len(self.params):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state for "
                             f"{len(state['state'])} parameters, but the optimiser has {len(self.params)}")
        self.hyper.update(state["hyper"])
        self.steps = int(state["steps"])
        self.state = [{k: backend.asarray(v, p.device).copy() for k, v in s.items()}
                      for s, p in zip(state["state"], self.params)]


class SGD(Optimizer):
    """p -= lr * v, with v = momentum * v + (grad + weight_decay * p)."""

    def __init__(self, params: Iterable[Parameter], lr: float = 0.01, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def update(self, param, grad, state) -> None:
        h = self.hyper
        if h["weight_decay"]:
            grad = grad + h["weight_decay"] * param
        if h["momentum"]:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= h["momentum"]
                buf += grad
            grad = state["momentum_buffer"]
        param -= h["lr"] * grad


class Adam(Optimizer):
    """Adam (Kingma and Ba); weight_decay adds an L2 term to the gradient, as torch.optim.Adam."""

    decoupled = False

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)

    def update(self, param, grad, state) -> None:
        xp = backend.xp_of(param)
        h = self.hyper
        beta1, beta2 = h["betas"]
        if h["weight_decay"]:
            if self.decoupled:
                param *= 1 - h["lr"] * h["weight_decay"]
            else:
                grad = grad + h["weight_decay"] * param
        if "exp_avg" not in state:
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        step_size = h["lr"] / (1 - beta1 ** self.steps)
        denom = xp.sqrt(v)
        denom /= math.sqrt(1 - beta2 ** self.steps)
        denom += h["eps"]
        param -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): p *= 1 - lr * weight_decay."""

    decoupled = True

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class LRSchedule:
    """Sets ``optimizer.lr`` from the epoch count; call ``step()`` once per epoch."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)

    def get_last_lr(self) -> list[float]:
        return [self.optimizer.lr]

    def state_dict(self) -> dict[str, Any]:
        return {"base_lr": self.base_lr, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_lr, self.epoch = float(state["base_lr"]), int(state["epoch"])
        self.optimizer.lr = self.lr_at(self.epoch)


class StepLR(LRSchedule):
    """lr = base_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRSchedule):
    """lr falls from base_lr to eta_min along half a cosine over T_max epochs."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803
        super().__init__(optimizer)
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive number of epochs, "
                             f"got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min

    def lr_at(self, epoch: int) -> float:
        t = min(epoch, self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


# PyTorch's module path for the schedules: optim.lr_scheduler.CosineAnnealingLR.
lr_scheduler = SimpleNamespace(LRScheduler=LRSchedule, StepLR=StepLR,
                               CosineAnnealingLR=CosineAnnealingLR)
