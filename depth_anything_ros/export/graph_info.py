"""What a fused graph is, stored in its ONNX metadata so every backend can read it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from depth_anything_ros.core.head import DEFAULT_MIN_DEPTH, MetricHead
from depth_anything_ros.export.onnx_metadata import read_onnx_metadata

METADATA_KEY = "depth_anything_ros"
IMAGE_INPUT = "image"
HEAD_INPUT = "head"
RAW_OUTPUT = "raw"
DEPTH_OUTPUT = "depth"


@dataclass(frozen=True)
class GraphInfo:
    """Camera resolution, channel order, model identity and the head's kind of a fused graph."""

    image_height: int
    image_width: int
    input_order: str
    network_height: int
    network_width: int
    encoder: str
    version: int
    kind: str
    max_depth: float | None
    checkpoint_sha256: str
    precision: str = "fp32"  # the network's arithmetic: fp32, or fp16 with FP32 islands (a strongly typed graph)

    @property
    def image_hw(self) -> tuple[int, int]:
        return (self.image_height, self.image_width)

    def default_head(self) -> MetricHead:
        """The head to use without a calibration: identity, bounded by the model's own range."""
        if self.kind == "metric" and self.max_depth:
            return MetricHead(1.0, 0.0, DEFAULT_MIN_DEPTH, float(self.max_depth))
        return MetricHead()

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GraphInfo:
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError) as error:
            raise ValueError(f"graph metadata is not a depth_anything_ros GraphInfo: {error}") from error


def info_from_metadata(path: str | Path, metadata: dict[str, str]) -> GraphInfo:
    """The GraphInfo in an ONNX file's metadata map, or an error saying how to make a fused graph."""
    if METADATA_KEY not in metadata:
        raise ValueError(
            f"{path} is not a depth_anything_ros fused graph (no '{METADATA_KEY}' metadata); "
            "create one with: depth-anything-ros export"
        )
    return GraphInfo.from_json(metadata[METADATA_KEY])


def read_graph_info(path: str | Path) -> GraphInfo:
    """The GraphInfo of a fused ONNX graph file, read without onnx or onnxruntime."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"ONNX graph {path} does not exist")
    return info_from_metadata(path, read_onnx_metadata(path))
