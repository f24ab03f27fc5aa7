"""Optimizer and learning-rate schedule built from a `TrainConfig`."""

from __future__ import annotations

import torch
from torch import nn

from engine.config import TrainConfig
from engine.runtime.acceleration import fused_step


def parameter_groups(model: nn.Module, lr: float) -> list[dict]:
    """The optimizer's parameter groups: one at `lr`, or those a pretrained network asks
    for (engine.models.pretrained: its new head at lr, its pretrained layers at a tenth). Each
    group keeps its `lr_scale`, so a changed rate keeps the groups' ratio."""
    groups = getattr(model, "lr_groups", None) or [(list(model.parameters()), 1.0)]
    return [{"params": params, "lr": lr * scale, "lr_scale": scale}
            for params, scale in groups]


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The configured optimizer; its fused kernel on a CUDA GPU (engine.runtime.acceleration)."""
    params = parameter_groups(model, config.lr)
    fused = {"fused": True} if fused_step(list(model.parameters())) else {}
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov, weight_decay=config.weight_decay,
                               **fused)
    # For Adam/AdamW the "momentum" setting is beta1 (its default 0.9 matches Adam's).
    betas = (config.momentum, 0.999)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=betas,
                                weight_decay=config.weight_decay, **fused)
    return torch.optim.AdamW(params, lr=config.lr, betas=betas, weight_decay=config.weight_decay,
                             **fused)


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                    steps_per_epoch: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    """A schedule stepped once per batch, so the LR curve is smooth and resumes exactly."""
    total_steps = config.epochs * steps_per_epoch
    if config.schedule == "step":
        # Divide by 10 after each third of the run (at least one epoch apart).
        step_size = max(1, config.epochs // 3) * steps_per_epoch
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=0.1)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=[config.lr * group.get("lr_scale", 1.0)
                               for group in optimizer.param_groups],
            total_steps=total_steps)
    return None


# Rates a schedule keeps in the param groups and derives the rate from (one-cycle's).
_SCHEDULE_RATES = ("initial_lr", "max_lr", "min_lr")


def change_lr(optimizer: torch.optim.Optimizer,
              scheduler: torch.optim.lr_scheduler.LRScheduler | None,
              old_lr: float, new_lr: float) -> None:
    """Set the configured learning rate from old_lr to new_lr, from the next step on.

    Without a schedule the rate becomes new_lr. With one, the schedule is rescaled by
    new_lr / old_lr (its base rates, one-cycle's peak and floor, and the rate now): it goes
    on from its place as if the run had been set to new_lr from the start. Every schedule
    build_scheduler makes is proportional to the configured rate, so this is exact.
    """
    if scheduler is None:
        for group in optimizer.param_groups:
            group["lr"] = new_lr * group.get("lr_scale", 1.0)
        return
    factor = new_lr / old_lr
    for group in optimizer.param_groups:
        group["lr"] *= factor
        for key in _SCHEDULE_RATES:
            if key in group:
                group[key] *= factor
    scheduler.base_lrs = [lr * factor for lr in scheduler.base_lrs]
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]  # noqa: SLF001


def swap_optimizer(model: nn.Module, config: TrainConfig, old: torch.optim.Optimizer,
                   scheduler: torch.optim.lr_scheduler.LRScheduler | None,
                   steps_per_epoch: int,
                   ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
    """A new optimizer of config.optimizer for the same model, and a schedule that keeps
    the old one's place and rates. The new optimizer's state starts afresh."""
    optimizer = build_optimizer(model, config)
    new_scheduler = None
    if scheduler is not None:
        new_scheduler = build_scheduler(optimizer, config, steps_per_epoch)
        state = scheduler.state_dict()
        # One-cycle cycles beta1 for Adam but momentum for SGD: keep the new optimizer's.
        state.pop("use_beta1", None)
        new_scheduler.load_state_dict(state)
    for group, old_group in zip(optimizer.param_groups, old.param_groups, strict=True):
        for key in ("lr", *_SCHEDULE_RATES):
            if key in old_group:
                group[key] = old_group[key]
    if new_scheduler is not None:
        new_scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]  # noqa: SLF001
    return optimizer, new_scheduler
