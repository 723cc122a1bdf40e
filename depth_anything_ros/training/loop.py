"""The epoch loop shared by every training recipe: poly schedule, per-epoch checkpoints, resume."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from depth_anything_ros.core.files import atomic_path
from depth_anything_ros.training.distributed import Distributed

POLY_POWER = 0.9  # Depth Anything's schedule: lr = base * (1 - step / total) ** 0.9


def poly_factor(step: int, total: int, power: float = POLY_POWER) -> float:
    return max(1.0 - step / max(total, 1), 0.0) ** power


@dataclass
class LoopSettings:
    epochs: int
    steps_per_epoch: int
    checkpoint: Path  # rewritten at the end of every epoch; a rerun resumes from it
    fingerprint: dict[str, Any]  # what must match for a checkpoint to be resumed
    progress_every_s: float = 10.0


@dataclass
class LoopResult:
    history: list[dict[str, float]] = field(default_factory=list)  # per epoch: mean of every logged value
    resumed_from_epoch: int = 0  # epochs already done when this run started


class ResumeMismatchError(ValueError):
    """A checkpoint from a run with other settings; resuming it would mix two experiments."""


def _load_checkpoint(settings: LoopSettings, model: nn.Module, optimizer: torch.optim.Optimizer,
                     device: torch.device) -> tuple[int, int, list[dict[str, float]]]:
    if not settings.checkpoint.is_file():
        return 0, 0, []
    state = torch.load(settings.checkpoint, map_location=device, weights_only=True)
    differs = sorted(k for k in set(state["fingerprint"]) | set(settings.fingerprint)
                     if state["fingerprint"].get(k) != settings.fingerprint.get(k))
    if differs:
        detail = ", ".join(f"{k}: {state['fingerprint'].get(k)!r} then, {settings.fingerprint.get(k)!r} now"
                           for k in differs[:4])
        raise ResumeMismatchError(f"{settings.checkpoint} belongs to a run with other settings ({detail}); "
                             f"use another work directory or --restart")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["epoch"]), int(state["step"]), list(state["history"])


def _save_checkpoint(settings: LoopSettings, model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int,
                     step: int, history: list[dict[str, float]]) -> None:
    with atomic_path(settings.checkpoint) as tmp:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                    "step": step, "history": history, "fingerprint": settings.fingerprint}, tmp)


def run_epochs(model: nn.Module, trained: nn.Module, optimizer: torch.optim.Optimizer,
               batches: Callable[[int], Iterable[Any]],
               step_loss: Callable[[nn.Module, Any, int], tuple[torch.Tensor, dict[str, float]]],
               settings: LoopSettings, dist: Distributed, progress: Callable[[str], None] = print) -> LoopResult:
    """Train ``settings.epochs`` epochs, resuming after the last completed one.

    ``model`` is the plain module (saved, resumed); ``trained`` is what runs the steps (``model``
    itself, or its DistributedDataParallel wrapper). ``batches(epoch)`` yields this process's
    batches; ``step_loss(trained, batch, epoch)`` returns the loss and the values to log. Every
    optimizer group's ``initial_lr`` follows the poly schedule over all epochs.
    """
    start_epoch, step, history = _load_checkpoint(settings, model, optimizer, dist.device)
    result = LoopResult(history, start_epoch)
    if start_epoch and dist.is_main:
        progress(f"resuming after epoch {start_epoch} of {settings.epochs} from {settings.checkpoint}")
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
    total = settings.epochs * settings.steps_per_epoch
    for epoch in range(start_epoch, settings.epochs):
        trained.train()
        sums: dict[str, float] = {}
        count, started = 0, time.monotonic()
        last = started
        for batch in batches(epoch):
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * poly_factor(step, total)
            loss, logged = step_loss(trained, batch, epoch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            count += 1
            for name, value in logged.items():
                sums[name] = sums.get(name, 0.0) + value
            now = time.monotonic()
            if dist.is_main and now - last >= settings.progress_every_s:
                last = now
                progress(f"epoch {epoch + 1}/{settings.epochs} step {count}/{settings.steps_per_epoch} "
                         + " ".join(f"{k} {v / count:.4f}" for k, v in sums.items()))
        means = {name: dist.mean(value / max(count, 1)) for name, value in sums.items()}
        history.append(means)
        if dist.is_main:
            _save_checkpoint(settings, model, optimizer, epoch + 1, step, history)
            progress(f"epoch {epoch + 1}/{settings.epochs} done in {time.monotonic() - started:.1f} s: "
                     + " ".join(f"{k} {v:.4f}" for k, v in means.items()))
        dist.barrier()
    return result
