"""The options of finetune and selftrain on one shared base (no torch: the CLI reads their defaults)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from depth_anything_ros.model import DEFAULT_INPUT_SIZE

DEVICES = ("auto", "cpu", "cuda")  # the --device choices
FEATURE_MARGIN = 0.85  # alpha of the feature-alignment loss (Depth Anything V1)


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


@dataclass(frozen=True)
class FinetuneOptions(TrainingOptions):
    """``calibrate --method finetune``: the head (and optionally the encoder) on LiDAR frames."""

    unfreeze_encoder: bool = False
    flip: bool = True
    workers: int = 0  # data-loading processes (0: in the trainer)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.workers < 0:
            raise ValueError(f"finetune needs workers >= 0, got {self.workers}")

    @property
    def recipe(self) -> str:
        return "finetune"


@dataclass(frozen=True)
class SelftrainOptions(TrainingOptions):
    """``selftrain``: a student on a teacher's pseudo-labels (plus LiDAR frames)."""

    # epochs: passes over the unlabeled training frames; batch_size: LiDAR frames per step and process,
    # pseudo-labelled frames twice as many
    batch_size: int = 2
    feature_weight: float = 1.0
    margin: float = FEATURE_MARGIN
    cutmix: float = 0.5  # probability that an unlabeled image gets a CutMix box
    min_change: float = 2.0  # grey levels; frames closer to the last kept one are near-duplicates
    every: int = 1
    baseline: bool = True  # also train the LiDAR-only student, for the comparison

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.margin <= 1:
            raise ValueError(f"selftrain needs a feature-alignment margin in (0, 1], got {self.margin}")

    @property
    def recipe(self) -> str:
        return "selftrain"
