"""What a backend needs to know: the graph's source, the backend choice and the engine's knobs.

The node's PipelineConfig carries many more knobs (topics, clouds, diagnostics); ``runtime/`` takes only
this small record (``PipelineConfig.backend_config()`` makes one).
"""

from __future__ import annotations

from dataclasses import dataclass

from depth_anything_ros.model.spec import DEFAULT_INPUT_SIZE

BACKENDS = ("auto", "tensorrt", "onnxruntime", "torch")
PRECISIONS = ("fp32", "fp16")


@dataclass(frozen=True)
class BackendConfig:
    """A checkpoint (graphs exported per resolution) or a fixed ONNX graph, and how to run it."""

    checkpoint: str = ""
    onnx: str = ""
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
