"""What a fused graph is, stored in its ONNX metadata so every backend can read it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from depth_anything_ros.core.camera import focal_at_network
from depth_anything_ros.core.head import DEFAULT_MIN_DEPTH, OUTPUT_KINDS, MetricHead
from depth_anything_ros.export.onnx_metadata import read_onnx_metadata

METADATA_KEY = "depth_anything_ros"
IMAGE_INPUT = "image"
HEAD_INPUT = "head"
FOCAL_INPUT = "focal"  # DA3 graphs only: float32[1], mean(fx, fy) at the network input
RAW_OUTPUT = "raw"
DEPTH_OUTPUT = "depth"


@dataclass(frozen=True)
class GraphInfo:
    """Camera resolution, channel order, model identity and the head's kind of a fused graph.

    ``kind`` is what ``raw`` is (``core.head.OUTPUT_KINDS``). Depth Anything 3 graphs have ``version`` 3,
    ``model`` the DA3 variant (da3metric-large, ...), its ``process_res``, ``sky`` when sky is +Inf,
    and a third input, ``focal``; V1/V2 graphs leave ``model`` empty.
    """

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
    model: str = ""  # DA3 variant name; "" for V1/V2
    process_res: int = 0  # DA3: longest side of the network input before rounding to patches
    sky: bool = False  # DA3 mono/metric: sky pixels are +Inf in raw and depth
    max_batch: int = 0  # 0: one image (HxWx3, head [4], focal [1]); N: a batch of 1..N (BxHxWx3, Bx4, Bx1)

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_KINDS:
            raise ValueError(f"graph kind must be one of {', '.join(OUTPUT_KINDS)}, got {self.kind!r}")
        if self.max_batch < 0:
            raise ValueError(f"max_batch must be 0 (one image) or the largest batch, got {self.max_batch}")
        if (self.version == 3) != bool(self.model):
            raise ValueError(f"version 3 graphs name their DA3 model and only they do (version {self.version}, "
                             f"model {self.model!r})")

    @property
    def has_focal_input(self) -> bool:
        """The graph takes the ``focal`` input (every DA3 graph, version 3; metric ones scale by it)."""
        return self.version == 3

    @property
    def batched(self) -> bool:
        """The graph takes a leading batch dimension (1..``max_batch`` images, one head and focal each)."""
        return self.max_batch > 0

    @property
    def model_name(self) -> str:
        """What the graph runs, for logs and parameters: the DA3 variant or e.g. 'v2-vits'."""
        return self.model or f"v{self.version}-{self.encoder}"

    @property
    def input_names(self) -> tuple[str, ...]:
        """The graph's inputs, in order."""
        return (IMAGE_INPUT, HEAD_INPUT, FOCAL_INPUT) if self.has_focal_input else (IMAGE_INPUT, HEAD_INPUT)

    @property
    def uses_focal(self) -> bool:
        """DA3 metric graphs scale by the focal length; every other graph ignores it."""
        return self.has_focal_input and self.kind == "metric"

    def focal_input(self, k: np.ndarray | None) -> np.ndarray:
        """The ``focal`` input: mean(fx, fy) of the camera's 3x3 K scaled to the network input, float32[1].

        Both resize steps scale the intrinsics by the same overall ratio (network / camera size per
        axis), so this equals the official intrinsics after its input processor. Graphs that ignore focal
        take 1.0 when no K is given; a DA3 metric graph without K (or with fx, fy <= 0) is refused.
        """
        if k is None or not self.uses_focal:
            if self.uses_focal:
                raise ValueError(f"{self.model} gives metres only with the camera's focal length: give "
                                 "camera_info (K) with the image")
            return np.ones(1, dtype=np.float32)
        k = np.asarray(k, dtype=np.float64).reshape(3, 3)
        if not (np.isfinite(k[:2, :2]).all() and k[0, 0] > 0 and k[1, 1] > 0):
            raise ValueError(f"{self.model} needs a calibrated camera: K has fx {k[0, 0]:g}, fy {k[1, 1]:g}")
        return focal_at_network(k, self.image_hw, (self.network_height, self.network_width))

    @property
    def image_hw(self) -> tuple[int, int]:
        return (self.image_height, self.image_width)

    def default_head(self) -> MetricHead:
        """The head to use without a calibration: identity, bounded by the model's own range."""
        if self.kind == "metric" and self.max_depth:
            return MetricHead(1.0, 0.0, DEFAULT_MIN_DEPTH, float(self.max_depth))
        return MetricHead()

    def to_json(self) -> str:
        """The metadata text; an unbatched graph's leaves ``max_batch`` out, so its file is what it always was."""
        fields = asdict(self)
        if not self.batched:
            del fields["max_batch"]
        return json.dumps(fields, sort_keys=True)

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
