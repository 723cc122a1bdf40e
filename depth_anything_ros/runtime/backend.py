"""The one interface every inference backend implements (onnxruntime, torch, TensorRT)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
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
    """Runs the fused graph of one camera resolution: uint8 HxWx3 in, float32 HxW out.

    A batched graph (``info.batched``) takes up to ``info.max_batch`` images per run (``infer_batch``), each with
    its own head and K; ``_run`` then gets BxHxWx3, Bx4, Bx1 and returns BxHxW.
    """

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
        if self.info.batched:
            return self.infer_batch([image], [head], [k])[0]
        head = head or self.info.default_head()
        focal = self.info.focal_input(k) if self.info.has_focal_input else None
        return self._run(self.check_image(image), head.as_array(), focal)

    def infer_batch(self, images: Sequence[np.ndarray], heads: Sequence[MetricHead | None] | None = None,
                    ks: Sequence[np.ndarray | None] | None = None) -> list[DepthOutput]:
        """Several frames of this resolution, each with its own head and K, in runs of at most ``max_batch``.

        A one-image graph runs them one by one. Every image is checked before any runs, so a bad one raises
        before the others are spent; callers that must not lose the others check each with ``check_image``.
        """
        count = len(images)
        heads = list(heads) if heads is not None else [None] * count
        ks = list(ks) if ks is not None else [None] * count
        if len(heads) != count or len(ks) != count:
            raise ValueError(f"{count} images need {count} heads and Ks, got {len(heads)} and {len(ks)}")
        if not self.info.batched:
            return [self.infer(image, head, k) for image, head, k in zip(images, heads, ks, strict=True)]
        checked = [self.check_image(image) for image in images]
        rows = [(head or self.info.default_head()).as_array() for head in heads]
        focals = [self.info.focal_input(k) for k in ks] if self.info.has_focal_input else None
        outputs: list[DepthOutput] = []
        for start in range(0, count, self.info.max_batch):
            part = slice(start, start + self.info.max_batch)
            focal = np.stack(focals[part]) if focals is not None else None
            result = self._run(np.stack(checked[part]), np.stack(rows[part]), focal)
            outputs += [DepthOutput(raw=raw, depth=depth) for raw, depth in zip(result.raw, result.depth, strict=True)]
        return outputs

    def graph_image(self, bgr: np.ndarray) -> np.ndarray:
        """A BGR camera image as this graph takes it: reordered when the graph was exported for RGB, checked."""
        return self.check_image(bgr[..., ::-1] if self.info.input_order == "rgb" else bgr)

    def infer_bgr(self, bgr: np.ndarray, head: MetricHead | None = None, k: np.ndarray | None = None) -> DepthOutput:
        """``infer`` for a BGR camera image."""
        return self.infer(self.graph_image(bgr), head, k)

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
