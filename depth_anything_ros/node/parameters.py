"""The node's ROS parameters: one per PipelineConfig field, with a description, a range and mutability.

ROS-free: the node turns each ParameterSpec into an rcl_interfaces ParameterDescriptor, and
``apply_changes`` is what its set-parameters callback runs (a refused change keeps the old config).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from depth_anything_ros.node.config import BACKENDS, PRECISIONS, PipelineConfig

# Parameters that decide the graph or the engine: changing them means a new node.
READ_ONLY = frozenset({
    "checkpoint", "onnx", "encoder", "version", "metric", "max_depth", "input_size", "input_order", "backend",
    "precision", "engine_cache_dir", "workspace_gb", "self_check_threshold", "device_index", "use_compressed",
    "image_width", "image_height",
})

DESCRIPTIONS = {
    "checkpoint": "Depth Anything .pth checkpoint (graphs are exported per camera resolution); empty: use onnx",
    "onnx": "fused ONNX graph from `depth-anything-ros export` (fixed resolution)",
    "encoder": "ViT size of the checkpoint: vits, vitb, vitl or vitg",
    "version": "Depth Anything version 1 or 2 (decides the tapped encoder blocks)",
    "metric": "true for metric checkpoints (sigmoid x max_depth head)",
    "max_depth": "metric range of the checkpoint in metres: 20 indoor (Hypersim), 80 outdoor (VKITTI)",
    "input_size": "short side of the network input in pixels, a multiple of 14",
    "input_order": "channel order the fused graph expects: rgb or bgr",
    "min_depth": "metres; closer estimates are published as -Inf (REP 117)",
    "max_range": "metres; farther estimates are published as +Inf (REP 117)",
    "backend": "auto, tensorrt, onnxruntime or torch (auto: TensorRT with a GPU, else onnxruntime)",
    "precision": "TensorRT engine precision fp16 or fp32 (LayerNorm and pre/post-processing stay fp32)",
    "engine_cache_dir": "engine and exported-graph cache; empty: $XDG_CACHE_HOME/depth_anything_ros/engines",
    "workspace_gb": "TensorRT builder memory-pool limit in GiB",
    "self_check_threshold": "warn when the engine's first frame differs from onnxruntime by more (of range)",
    "device_index": "CUDA device index",
    "calibration_file": "metric-head calibration YAML from `depth-anything-ros calibrate`; reloaded on change",
    "output_downscale": "publish depth decimated by this integer factor (camera_info scaled exactly)",
    "rectified": "input is rectified (cloud rays from P); false: rays from K and D through the distortion model",
    "publish_cloud": "publish depth/points",
    "cloud_organized": "true: height x width cloud with NaN points; false: valid points only (is_dense)",
    "cloud_stride": "use every n-th pixel in both directions for the cloud",
    "cloud_min_depth": "metres; closer points are invalid in the cloud",
    "cloud_max_depth": "metres; farther points are invalid in the cloud",
    "cloud_colour": "add packed rgb to the cloud (point_step 32)",
    "use_compressed": "subscribe image/compressed (JPEG/PNG) instead of image",
    "sync": "pairing of image and camera_info: exact stamps, or approximate within sync_slop",
    "sync_slop": "seconds allowed between image and camera_info stamps with sync approximate",
    "max_age": "seconds from the image stamp after which a waiting frame is dropped (0: never)",
    "image_width": "expected image width: with image_height, the engine loads at start (0: on the first frame)",
    "image_height": "expected image height: with image_width, the engine loads at start (0: on the first frame)",
    "diag_stale_input_s": "diagnostics ERROR when no image arrived for this many seconds (while active)",
    "diag_min_rate": "expected minimum output rate in Hz; below it diagnostics WARN (0: unchecked)",
    "diag_max_rate": "expected maximum output rate in Hz; above it diagnostics WARN (0: unchecked)",
    "diag_max_latency": "seconds from image stamp to publish above which diagnostics WARN (0: unchecked)",
    "diag_drop_fraction": "diagnostics WARN when more than this fraction of frames in the window is lost",
}

CHOICES = {"encoder": ("vits", "vitb", "vitl", "vitg"), "input_order": ("rgb", "bgr"), "backend": BACKENDS,
           "precision": PRECISIONS, "sync": ("exact", "approximate")}
# (low, high, step) for ROS integer and floating-point ranges; open-ended values stay unranged
INTEGER_RANGES = {"version": (1, 2, 1), "input_size": (14, 4998, 14), "device_index": (0, 64, 1),
                  "output_downscale": (1, 16, 1), "cloud_stride": (1, 64, 1), "image_width": (0, 16384, 1),
                  "image_height": (0, 16384, 1)}
FLOAT_RANGES = {"max_depth": (0.0, 1000.0, 0.0), "min_depth": (0.0, 1000.0, 0.0), "workspace_gb": (0.125, 256.0, 0.0),
                "self_check_threshold": (0.0, 1.0, 0.0), "cloud_min_depth": (0.0, 1000.0, 0.0),
                "sync_slop": (0.0, 1.0, 0.0), "max_age": (0.0, 60.0, 0.0),
                "diag_stale_input_s": (0.1, 3600.0, 0.0), "diag_min_rate": (0.0, 1000.0, 0.0),
                "diag_max_rate": (0.0, 1000.0, 0.0), "diag_max_latency": (0.0, 60.0, 0.0),
                "diag_drop_fraction": (0.01, 1.0, 0.0)}


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    default: Any
    description: str
    read_only: bool
    integer_range: tuple[int, int, int] | None = None
    float_range: tuple[float, float, float] | None = None

    @property
    def full_description(self) -> str:
        choices = CHOICES.get(self.name)
        return self.description + (f" [{' | '.join(choices)}]" if choices else "")


def parameter_specs() -> list[ParameterSpec]:
    """Every PipelineConfig field as a node parameter, in declaration order."""
    defaults = PipelineConfig()
    return [ParameterSpec(f.name, getattr(defaults, f.name), DESCRIPTIONS[f.name], f.name in READ_ONLY,
                          INTEGER_RANGES.get(f.name), FLOAT_RANGES.get(f.name))
            for f in dataclasses.fields(PipelineConfig)]


def apply_changes(config: PipelineConfig, changes: dict[str, Any]) -> PipelineConfig:
    """The config with ``changes`` (names that are not pipeline parameters are ignored); ValueError if refused."""
    names = {f.name for f in dataclasses.fields(PipelineConfig)}
    relevant = {name: value for name, value in changes.items() if name in names}
    refused = sorted(READ_ONLY & relevant.keys())
    if refused:
        raise ValueError(f"{', '.join(refused)} cannot change while the node runs (they decide the graph or "
                         f"the subscriptions); restart the node with the new value")
    return dataclasses.replace(config, **relevant)
