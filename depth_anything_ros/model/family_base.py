"""What every model family implements (``ModelFamily``) and what callers hand it (``CheckpointRequest``).

The registry that picks a family for a checkpoint is ``model/family.py``. No torch here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from depth_anything_ros.model.v2.spec import DEFAULT_INPUT_SIZE

UNTRAINED_WARNING = (
    "NO CHECKPOINT: using a randomly initialised {encoder} model of the real architecture. "
    "Its depth is MEANINGLESS; it only exercises the pipeline. Get weights with "
    "'depth-anything-ros download {encoder}' and pass --checkpoint."
)

MIN_IMAGE_SIDE = 2  # a 1-pixel side has no geometry and breaks align_corners upsampling


def check_image_size(height: int, width: int) -> None:
    """Refuse camera sizes the graph cannot serve, with the reason."""
    if height < MIN_IMAGE_SIDE or width < MIN_IMAGE_SIDE:
        raise ValueError(
            f"image size {height}x{width} is too small: both sides must be at least {MIN_IMAGE_SIDE} pixels"
        )


@dataclass(frozen=True)
class CheckpointRequest:
    """What a caller knows about the weights it wants: the checkpoint, and the choices only the caller can make.

    ``model`` names a DA3 variant (empty: its config.json says); ``encoder``, ``version``, ``metric`` and
    ``max_depth`` describe a V1/V2 ``.pth`` (V1 and V2 files have identical keys, so the version must be given).
    ``checkpoint`` None asks for an untrained network of the real architecture (demos only).
    """

    checkpoint: str | Path | None = None
    model: str = ""
    encoder: str = "vits"
    version: int | None = 2
    metric: bool = False
    max_depth: float | None = None
    input_size: int = DEFAULT_INPUT_SIZE  # V1/V2 network input's short side; DA3 has its own process_res
    spec: Any = None  # V1/V2: a ModelSpec outside the official sizes (tests' tiny networks); None: from encoder


@dataclass(frozen=True)
class TrainableParts:
    """What training may touch: the encoder and head modules, and what never runs in the training forward."""

    encoder: Any
    head: Any
    unused: list  # modules with no gradient in the training forward (DDP would wait for them forever)
    frozen_parameters: list  # single parameters that stay frozen even with the encoder unfrozen


class ModelFamily(ABC):
    """One family of networks: how to recognise, load, save, fuse, export and train them."""

    name: ClassVar[str]
    checkpoint_layout: ClassVar[str]  # in words, for error messages
    metres_from_max_depth: ClassVar[bool]  # metric heads scale a Sigmoid by max_depth (V1/V2), not by focal (DA3)

    @abstractmethod
    def claims(self, request: CheckpointRequest) -> bool:
        """Whether the request's files (or its ``model`` name) belong to this family; reads no weights."""

    @abstractmethod
    def owns(self, network: Any) -> bool:
        """Whether a loaded network is of this family."""

    @abstractmethod
    def check(self, request: CheckpointRequest) -> None:
        """ValueError when the request's choices cannot describe a network of this family."""

    @abstractmethod
    def weights_file(self, checkpoint: str | Path) -> Path:
        """The file the checkpoint SHA-256 hashes."""

    @abstractmethod
    def variant(self, request: CheckpointRequest) -> str:
        """Model variant by name (``vits``, ``da3metric-large``), read from the files where they say it."""

    @abstractmethod
    def gives_metres(self, request: CheckpointRequest) -> bool:
        """Whether the checkpoint's own head gives metres (read without loading the weights)."""

    @abstractmethod
    def load(self, request: CheckpointRequest) -> tuple[Any, str]:
        """(network in eval mode, SHA-256 of its weights or 'untrained')."""

    @abstractmethod
    def save(self, network: Any, stem: Path, extra: dict) -> Path:
        """Write ``network`` beside ``stem`` in the family's layout; the path a user passes as checkpoint."""

    @abstractmethod
    def graph_stem(self, request: CheckpointRequest, sha: str) -> tuple[str, int]:
        """(cache name of the fused graphs of this checkpoint, the network input size the name records)."""

    @abstractmethod
    def fused(self, network: Any, image_hw: tuple[int, int], input_order: str, input_size: int) -> Any:
        """The fused graph module for one camera resolution: uint8 image (+ head, focal) -> (raw, depth)."""

    @abstractmethod
    def metric_network(self, network: Any, max_depth: float | None) -> Any:
        """The metric network training starts from (the network itself when it already gives metres)."""

    @abstractmethod
    def training_network(self, network: Any, image_hw: tuple[int, int], input_order: str = "bgr",
                         input_size: int = DEFAULT_INPUT_SIZE) -> Any:
        """``(B, H, W, 3) images [, k=(B, 3, 3)] -> (B, H, W)`` at camera resolution, the fused graph's steps."""

    @abstractmethod
    def trainable_parts(self, network: Any) -> TrainableParts:
        """Encoder, head and the parts training must leave alone."""

    @abstractmethod
    def output_kind(self, network: Any) -> str:
        """What the network's output (and its graph's ``raw``) is: a ``core.head.OUTPUT_KINDS`` value."""

    @abstractmethod
    def training_max_depth(self, network: Any) -> float:
        """LiDAR beyond this is left out of metric training by default (a Sigmoid head's range; else none)."""

    @abstractmethod
    def frozen_encoder(self, network: Any, device: Any) -> Any:
        """A frozen copy of the encoder: normalised network input -> the deepest tapped tokens (B, N, C), the
        tokens the training network returns with ``features=True``."""

    @abstractmethod
    def lidar_student(self, network: Any, max_depth: float | None) -> Any:
        """The network self-training starts from when LiDAR frames train it too."""

    @abstractmethod
    def metric_gain(self, network: Any, scale: float, k: Any, image_hw: tuple[int, int]) -> float | None:
        """For a start without metres that becomes metric by training: the factor on its output that matches its
        best scale fit to LiDAR (``scale``: raw -> metres; ``k``: the training frames' K); None when not needed."""

    @abstractmethod
    def apply_gain(self, network: Any, gain: float) -> None:
        """Multiply the network's output by ``gain`` in its weights."""

    @abstractmethod
    def description(self, network: Any, image_hw: tuple[int, int], input_size: int) -> dict:
        """What the network is, for reports (its input size; for DA3 its name and how it gets metres)."""
