"""The one interface every inference backend implements (onnxruntime, torch, TensorRT)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from depth_anything_ros.core.head import MetricHead
from depth_anything_ros.export import GraphInfo


@dataclass(frozen=True)
class DepthOutput:
    """Camera-resolution outputs of one frame: official ``raw`` and REP 117 ``depth`` (metres)."""

    raw: np.ndarray
    depth: np.ndarray


class DepthBackend(ABC):
    """Runs the fused graph of one camera resolution: uint8 HxWx3 in, float32 HxW out."""

    name: str = "abstract"

    def __init__(self, info: GraphInfo) -> None:
        self.info = info

    def check_image(self, image: np.ndarray) -> np.ndarray:
        """The image as a contiguous uint8 HxWx3 array of this graph's size, or a clear error."""
        expected = (*self.info.image_hw, 3)
        if image.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image, got {image.dtype}")
        if image.shape != expected:
            raise ValueError(
                f"this {self.name} graph serves {expected[0]}x{expected[1]}x3 images, got "
                f"{'x'.join(map(str, image.shape))}; export a graph for this resolution"
            )
        return np.ascontiguousarray(image)

    def infer(self, image: np.ndarray, head: MetricHead | None = None, k: np.ndarray | None = None) -> DepthOutput:
        """One frame through the graph; ``head`` defaults to the graph's own (uncalibrated) head.

        ``k``: the camera's 3x3 intrinsics at this image's size (camera_info K). DA3 metric graphs need
        it (their metres scale with the focal length); every other graph ignores it.
        """
        head = head or self.info.default_head()
        focal = self.info.focal_input(k) if self.info.has_focal_input else None
        return self._run(self.check_image(image), head.as_array(), focal)

    def infer_bgr(self, bgr: np.ndarray, head: MetricHead | None = None, k: np.ndarray | None = None) -> DepthOutput:
        """``infer`` for a BGR camera image, reordered when the graph was exported for RGB."""
        image = bgr[..., ::-1] if self.info.input_order == "rgb" else bgr
        return self.infer(np.ascontiguousarray(image), head, k)

    @abstractmethod
    def _run(self, image: np.ndarray, head: np.ndarray, focal: np.ndarray | None) -> DepthOutput:
        """Backend-specific execution on a validated image, head vector and (DA3 graphs) focal input."""

    @abstractmethod
    def close(self) -> None:
        """Release sessions, device memory and streams."""

    def __enter__(self) -> DepthBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
