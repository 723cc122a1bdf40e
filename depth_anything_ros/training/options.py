"""The knobs finetune and selftrain share: one options base, validated once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from depth_anything_ros.model.spec import DEFAULT_INPUT_SIZE

DEVICES = ("auto", "cpu", "cuda")  # the --device choices


@dataclass(frozen=True)
class TrainingOptions:
    """Epochs, batch, AdamW and the network input: what every training recipe here needs."""

    epochs: int = 5
    batch_size: int = 4  # frames per step and process
    lr: float = 5e-5  # the head's; the official recipe's decoder rate (10 x 5e-6); an encoder trains at lr/10
    weight_decay: float = 0.01
    input_size: int = DEFAULT_INPUT_SIZE
    min_depth: float = 1e-3
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(f"{self.recipe} needs epochs >= 1, batch size >= 1 and a positive learning rate")

    @property
    def recipe(self) -> str:
        return "training"

    def shared(self) -> dict[str, Any]:
        """The base fields only (to hand one recipe's settings to another)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(TrainingOptions)}
