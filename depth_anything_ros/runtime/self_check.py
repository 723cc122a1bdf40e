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
from depth_anything_ros.synthetic.scene import render_sample_scene

LOG = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 0.02


@dataclass(frozen=True)
class SelfCheckResult:
    """Largest absolute difference of ``raw`` as a fraction of the reference's range."""

    relative_error: float
    threshold: float
    candidate: str
    reference: str

    @property
    def passed(self) -> bool:
        return self.relative_error <= self.threshold

    def __str__(self) -> str:
        verdict = "within" if self.passed else "ABOVE"
        return (f"self-check: {self.candidate} vs {self.reference} on one frame: max |difference| = "
                f"{self.relative_error:.2e} of the output range, {verdict} the threshold {self.threshold:.0e}")


def check_frame(image_hw: tuple[int, int], input_order: str) -> np.ndarray:
    """The embedded sample scene at the graph's resolution, in its channel order."""

    image, _ = render_sample_scene(*image_hw)
    return np.ascontiguousarray(image[..., ::-1]) if input_order == "rgb" else image


def compare_backends(candidate: DepthBackend, reference: DepthBackend,
                     threshold: float = DEFAULT_THRESHOLD) -> SelfCheckResult:
    """Run the check frame through both backends and measure how far ``raw`` differs."""
    image = check_frame(candidate.info.image_hw, candidate.info.input_order)
    ours, theirs = candidate.infer(image).raw, reference.infer(image).raw
    finite = np.isfinite(theirs)
    if not finite.any():
        raise ValueError(f"self-check: the {reference.name} reference produced no finite values")
    span = float(np.ptp(theirs[finite])) or 1.0
    difference = np.abs(ours.astype(np.float64) - theirs)[finite]
    error = float(np.nan_to_num(difference, nan=np.inf).max()) / span
    return SelfCheckResult(error, threshold, candidate.name, reference.name)


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
