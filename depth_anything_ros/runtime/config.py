"""What a backend needs to know: the graph's source, the backend choice and the engine's knobs.

The node's PipelineConfig carries many more knobs (topics, clouds, diagnostics); ``runtime/`` takes only
this small record (``PipelineConfig.backend_config()`` makes one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from depth_anything_ros.model import DEFAULT_INPUT_SIZE, CheckpointRequest, ModelFamily, family_of

BACKENDS = ("auto", "tensorrt", "onnxruntime", "torch")
PRECISIONS = ("fp32", "fp16")


@dataclass(frozen=True)
class BackendConfig:
    """A checkpoint (graphs exported per resolution) or a fixed ONNX graph, and how to run it."""

    checkpoint: str = ""  # V1/V2 .pth, or a DA3 folder (model.safetensors + config.json) / its model.safetensors
    onnx: str = ""
    model: str = ""  # DA3 variant (da3metric-large, ...); "" for V1/V2, or to take it from a DA3 checkpoint
    encoder: str = "vits"
    version: int = 2
    metric: bool = False
    max_depth: float = 0.0
    input_size: int = DEFAULT_INPUT_SIZE
    input_order: str = "bgr"
    backend: str = "auto"
    precision: str = "fp16"
    engine_cache_dir: str = ""
    workspace_gb: float = 2.0
    self_check_threshold: float = 0.02
    device_index: int = 0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

    def checkpoint_request(self) -> CheckpointRequest:
        """What the model family needs to know about ``checkpoint``."""
        return CheckpointRequest(self.checkpoint or None, self.model, self.encoder, self.version, self.metric,
                                 self.max_depth or None, self.input_size)

    @property
    def family(self) -> ModelFamily:
        """The model family of ``checkpoint`` (and ``model``)."""
        return family_of(self.checkpoint_request())

    @property
    def weights_path(self) -> Path:
        """The file holding the checkpoint's weights (what the graph's checkpoint_sha256 hashes)."""
        return self.family.weights_file(self.checkpoint)
