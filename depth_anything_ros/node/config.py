"""The typed configuration of the depth pipeline, read from a ROS 2 parameters YAML file.

The file has the shape ``ros2 run --params-file`` uses, so the node and the CLI share it:

    depth_anything_ros:
      ros__parameters:
        encoder: vits
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

NODE_NAMES = ("depth_anything_ros", "/**")
BACKENDS = ("auto", "tensorrt", "onnxruntime", "torch")
PRECISIONS = ("fp32", "fp16")


@dataclass
class PipelineConfig:
    """Model and head knobs; empty strings mean 'not set' (ROS parameters have no None)."""

    checkpoint: str = ""
    onnx: str = ""
    encoder: str = "vits"
    version: int = 2
    metric: bool = False
    max_depth: float = 0.0
    input_size: int = 518
    input_order: str = "bgr"
    min_depth: float = 0.1
    max_range: float = math.inf
    backend: str = "auto"
    precision: str = "fp16"
    engine_cache_dir: str = ""
    workspace_gb: float = 2.0
    self_check_threshold: float = 0.02
    device_index: int = 0
    calibration_file: str = ""
    output_downscale: int = 1
    rectified: bool = True
    publish_cloud: bool = True
    cloud_organized: bool = True
    cloud_stride: int = 1
    cloud_min_depth: float = 0.0
    cloud_max_depth: float = math.inf
    cloud_colour: bool = False
    use_compressed: bool = False
    sync: str = "exact"
    sync_slop: float = 0.02
    max_age: float = 0.5
    image_width: int = 0
    image_height: int = 0
    diag_stale_input_s: float = 3.0
    diag_min_rate: float = 0.0
    diag_max_rate: float = 0.0
    diag_max_latency: float = 0.5
    diag_drop_fraction: float = 0.25

    def cloud_options(self):
        """The cloud knobs as CloudOptions (which validates them)."""
        from depth_anything_ros.msgs.cloud import CloudOptions

        return CloudOptions(organized=self.cloud_organized, stride=self.cloud_stride, min_depth=self.cloud_min_depth,
                            max_depth=self.cloud_max_depth, colour=self.cloud_colour, rectified=self.rectified)

    def expected_image_hw(self) -> tuple[int, int] | None:
        """The camera resolution known before the first frame (to load the engine at start), if any."""
        return (self.image_height, self.image_width) if self.image_width else None

    def __post_init__(self) -> None:
        if self.encoder not in ("vits", "vitb", "vitl", "vitg"):
            raise ValueError(f"encoder must be vits, vitb, vitl or vitg, got {self.encoder!r}")
        if self.version not in (1, 2):
            raise ValueError(f"version must be 1 or 2, got {self.version!r}")
        if self.input_order not in ("rgb", "bgr"):
            raise ValueError(f"input_order must be rgb or bgr, got {self.input_order!r}")
        if self.input_size < 14 or self.input_size % 14:
            raise ValueError(f"input_size must be a positive multiple of 14, got {self.input_size}")
        if self.metric and self.max_depth <= 0:
            raise ValueError("metric: true needs max_depth > 0 (20 indoor, 80 outdoor)")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be auto, tensorrt, onnxruntime or torch, got {self.backend!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be fp32 or fp16, got {self.precision!r}")
        if self.workspace_gb <= 0:
            raise ValueError(f"workspace_gb must be positive, got {self.workspace_gb}")
        if not self.self_check_threshold > 0:
            raise ValueError(f"self_check_threshold must be positive, got {self.self_check_threshold}")
        if self.device_index < 0:
            raise ValueError(f"device_index must be >= 0, got {self.device_index}")
        if self.output_downscale < 1:
            raise ValueError(f"output_downscale must be >= 1, got {self.output_downscale}")
        self.cloud_options()  # validates stride and depth limits
        if self.sync not in ("exact", "approximate"):
            raise ValueError(f"sync must be exact or approximate, got {self.sync!r}")
        if not 0 <= self.sync_slop <= 1:
            raise ValueError(f"sync_slop must be within [0, 1] s, got {self.sync_slop}")
        if not self.max_age >= 0:
            raise ValueError(f"max_age must be >= 0 s (0: never drop for age), got {self.max_age}")
        if self.image_width < 0 or self.image_height < 0 or (self.image_width == 0) != (self.image_height == 0):
            raise ValueError(f"image_width and image_height must both be 0 (unknown) or both positive, got "
                             f"{self.image_width}x{self.image_height}")
        if not self.diag_stale_input_s > 0:
            raise ValueError(f"diag_stale_input_s must be > 0 s, got {self.diag_stale_input_s}")
        if not (self.diag_min_rate >= 0 and self.diag_max_rate >= 0) or \
                (self.diag_max_rate and self.diag_min_rate > self.diag_max_rate):
            raise ValueError(f"need 0 <= diag_min_rate <= diag_max_rate (0: unchecked), got {self.diag_min_rate}, "
                             f"{self.diag_max_rate}")
        if not self.diag_max_latency >= 0 or not 0 < self.diag_drop_fraction <= 1:
            raise ValueError(f"need diag_max_latency >= 0 and 0 < diag_drop_fraction <= 1, got "
                             f"{self.diag_max_latency}, {self.diag_drop_fraction}")
        if not 0 <= self.min_depth < self.max_range:
            raise ValueError(f"need 0 <= min_depth < max_range, got {self.min_depth}, {self.max_range}")


def _coerce(name: str, value: Any, field_type: str, source: Path) -> Any:
    expected = {"str": str, "int": int, "bool": bool, "float": float}[field_type]
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is float and isinstance(value, str) and value.lower() in (".inf", "inf"):
        return math.inf
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ValueError(f"{source}: parameter {name!r} must be {field_type}, got {value!r}")
    return value


def load_parameters(path: str | Path) -> dict[str, Any]:
    """The ``ros__parameters`` mapping of this package's node in a ROS 2 params file."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read parameters file {path}: {error}") from error
    for node in NODE_NAMES:
        section = document.get(node, {}) if isinstance(document, dict) else {}
        if isinstance(section, dict) and "ros__parameters" in section:
            return dict(section["ros__parameters"] or {})
    raise ValueError(f"{path} has no '<node>: ros__parameters:' section for any of {NODE_NAMES}")


def config_from_parameters(path: str | Path) -> PipelineConfig:
    """A validated PipelineConfig from a params file; unknown or mistyped names are refused."""
    fields = {f.name: f.type for f in dataclasses.fields(PipelineConfig)}
    values = {}
    for name, value in load_parameters(path).items():
        if name not in fields:
            raise ValueError(f"{path}: unknown parameter {name!r}; known: {', '.join(sorted(fields))}")
        values[name] = _coerce(name, value, str(fields[name]), Path(path))
    return PipelineConfig(**values)
