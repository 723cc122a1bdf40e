"""Metric-head parameters: the small vector the fused graph takes as its ``head`` input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_MIN_DEPTH = 0.1


@dataclass(frozen=True)
class MetricHead:
    """How raw network output becomes metres, and the valid range (REP 117 limits).

    metric checkpoints: depth = scale * raw + shift
    relative checkpoints: depth = 1 / (scale * raw + shift)
    """

    scale: float = 1.0
    shift: float = 0.0
    min_depth: float = DEFAULT_MIN_DEPTH
    max_depth: float = float("inf")

    def __post_init__(self) -> None:
        values = (self.scale, self.shift, self.min_depth)
        if not all(np.isfinite(v) for v in values):
            raise ValueError(f"metric head scale, shift and min_depth must be finite, got {self}")
        if self.scale == 0:
            raise ValueError("metric head scale must be non-zero")
        if not 0 <= self.min_depth < self.max_depth:
            raise ValueError(f"need 0 <= min_depth < max_depth, got {self.min_depth} and {self.max_depth}")

    def as_array(self) -> np.ndarray:
        """The graph's ``head`` input: float32 [scale, shift, min_depth, max_depth]."""
        return np.array([self.scale, self.shift, self.min_depth, self.max_depth], dtype=np.float32)


def depth_from_raw(raw: np.ndarray, scale: float, shift: float, kind: str) -> np.ndarray:
    """The fused graph's head without its range limits (for evaluation): metres, NaN where invalid.

    metric: scale * raw + shift (invalid <= 0); relative: 1 / (scale * raw + shift) (invalid < 0).
    """
    affine = np.asarray(raw, np.float64) * scale + shift
    if kind == "relative":
        with np.errstate(divide="ignore"):
            return np.where(affine < 0, np.nan, 1.0 / affine)
    return np.where(affine <= 0, np.nan, affine)
