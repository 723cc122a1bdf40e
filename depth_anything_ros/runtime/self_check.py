"""Startup accuracy check: one frame through a GPU backend and through the ONNX graph on onnxruntime.

Catches FP16 drift and TensorRT-version bugs before they reach a costmap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depth_anything_ros.runtime.backend import DepthBackend
from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from depth_anything_ros.synthetic import render_sample_scene, sample_camera

LOG = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 0.02


MAX_CLASS_FLIPS = 1e-3  # pixels finite in one run and +Inf (DA3 sky) or NaN in the other


@dataclass(frozen=True)
class SelfCheckResult:
    """Largest absolute difference of ``raw`` as a fraction of the reference's range, over the pixels finite
    in both; ``flipped``: the fraction of pixels finite in one and not in the other (a DA3 sky threshold
    crossed by FP16 rounding, or NaN)."""

    relative_error: float
    threshold: float
    candidate: str
    reference: str
    flipped: float = 0.0

    @property
    def passed(self) -> bool:
        return self.relative_error <= self.threshold and self.flipped <= MAX_CLASS_FLIPS

    def __str__(self) -> str:
        verdict = "within" if self.passed else "ABOVE"
        return (f"self-check: {self.candidate} vs {self.reference} on one frame: max |difference| = "
                f"{self.relative_error:.2e} of the output range, {100 * self.flipped:.3f} % of pixels finite in "
                f"only one; {verdict} the thresholds {self.threshold:.0e}, {100 * MAX_CLASS_FLIPS:.1f} %")


def check_frame(image_hw: tuple[int, int], input_order: str) -> tuple[np.ndarray, np.ndarray]:
    """The embedded sample scene at the graph's resolution, in its channel order, and its camera's K."""
    image, _ = render_sample_scene(*image_hw)
    image = np.ascontiguousarray(image[..., ::-1]) if input_order == "rgb" else image
    return image, sample_camera(*image_hw).k


def check_batch(image: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` distinct frames from the check frame (mirrored, flipped, rolled), so a batched engine that mixes
    up, drops or repeats rows differs from the reference."""
    variants = [image, image[:, ::-1], image[::-1], image[::-1, ::-1]]
    return [np.ascontiguousarray(np.roll(variants[i % 4], 7 * (i // 4), axis=1)) for i in range(count)]


def compare_backends(candidate: DepthBackend, reference: DepthBackend,
                     threshold: float = DEFAULT_THRESHOLD) -> SelfCheckResult:
    """Run the check frame through both backends and measure how far ``raw`` differs.

    A batched candidate runs a full batch (``max_batch`` distinct frames, one run) and every row counts."""
    image, k = check_frame(candidate.info.image_hw, candidate.info.input_order)
    images = check_batch(image, max(candidate.info.max_batch, 1))
    ours = np.stack([out.raw for out in candidate.infer_batch(images, ks=[k] * len(images))])
    theirs = np.stack([out.raw for out in reference.infer_batch(images, ks=[k] * len(images))])
    finite = np.isfinite(theirs)
    if not finite.any():
        raise ValueError(f"self-check: the {reference.name} reference produced no finite values")
    both = finite & np.isfinite(ours)
    flipped = float((finite != np.isfinite(ours)).mean() + (np.isnan(ours) & ~finite).mean())
    span = float(np.ptp(theirs[finite])) or 1.0
    error = float(np.abs(ours.astype(np.float64) - theirs)[both].max(initial=0.0)) / span
    batch = f" ({len(images)} frames in one batch)" if candidate.info.batched else ""
    return SelfCheckResult(error if both.any() else float("inf"), threshold, candidate.name + batch, reference.name,
                           flipped)


def self_check(candidate: DepthBackend, onnx_path: str | Path,
               threshold: float = DEFAULT_THRESHOLD) -> SelfCheckResult | None:
    """Compare ``candidate`` with the ONNX graph on onnxruntime (CPU); logs and returns the result.

    Returns None (and says so) where onnxruntime is not installed. Above the threshold it logs a
    warning rather than failing: the operator decides whether FP32 is needed.
    """
    try:
        import onnxruntime  # noqa: F401

    except ImportError:
        LOG.info("self-check skipped: onnxruntime is not installed (pip install onnxruntime)")
        return None
    with OnnxRuntimeBackend(onnx_path) as reference:
        result = compare_backends(candidate, reference, threshold)
    if result.passed:
        LOG.info("%s", result)
    else:
        LOG.warning("%s; depth may be off: try precision fp32, or another TensorRT version", result)
    return result
