"""Metric-head parameters: the small vector the fused graph takes as its ``head`` input."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_MIN_DEPTH = 0.1

# What a graph's ``raw`` output is, which decides the head equation:
#   metric         - metres (V2 metric heads; DA3METRIC-LARGE after its focal scaling)
#   relative       - inverse depth up to scale and shift (V1/V2 relative: affine-invariant disparity)
#   relative-depth - depth up to scale (DA3-SMALL/BASE, DA3MONO-LARGE)
OUTPUT_KINDS = ("metric", "relative", "relative-depth")


def is_inverse(kind: str) -> bool:
    """True when ``raw`` of this kind is inverse depth (the head inverts it); else it is depth (linear head)."""
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"output kind must be one of {', '.join(OUTPUT_KINDS)}, got {kind!r}")
    return kind == "relative"


@dataclass(frozen=True)
class MetricHead:
    """How raw network output becomes metres, and the valid range (REP 117 limits).

    metric and relative-depth graphs: depth = scale * raw + shift
    relative graphs (inverse depth): depth = 1 / (scale * raw + shift)
    """

    scale: float = 1.0
    shift: float = 0.0
    min_depth: float = DEFAULT_MIN_DEPTH
    max_depth: float = float("inf")

    def __post_init__(self) -> None:
        values = (self.scale, self.shift, self.min_depth)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"metric head scale, shift and min_depth must be finite, got {self}")
        if self.scale == 0:
            raise ValueError("metric head scale must be non-zero")
        if not 0 <= self.min_depth < self.max_depth:
            raise ValueError(f"need 0 <= min_depth < max_depth, got {self.min_depth} and {self.max_depth}")

    def as_array(self) -> np.ndarray:
        """The graph's ``head`` input: float32 [scale, shift, min_depth, max_depth]."""
        return np.array([self.scale, self.shift, self.min_depth, self.max_depth], dtype=np.float32)


def metres_from_raw(raw, scale, shift, min_depth, max_depth, relative: bool, xp=np):
    """THE head equation: raw network output -> metres with REP 117 values.

    ``relative`` True (inverse-depth graphs, ``is_inverse``): 1 / (scale * raw + shift); else scale * raw + shift.
    NaN where the affine value is invalid (metric <= 0, relative < 0), -Inf below ``min_depth``, +Inf above
    ``max_depth`` (zero disparity is +Inf: too far). ``xp`` is the array module: numpy here, torch inside the
    fused graph (the graph is tested against this function), so the equation exists once.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        affine = raw * scale + shift
        depth = 1.0 / affine if relative else affine
    invalid = affine < 0 if relative else affine <= 0
    depth = xp.where(depth > max_depth, xp.full_like(depth, float("inf")), depth)
    depth = xp.where(depth < min_depth, xp.full_like(depth, float("-inf")), depth)
    return xp.where(invalid, xp.full_like(depth, float("nan")), depth)


def depth_from_raw(raw: np.ndarray, scale: float, shift: float, kind: str) -> np.ndarray:
    """The head without its range limits (for evaluation): float64 metres, NaN where invalid."""
    return metres_from_raw(np.asarray(raw, np.float64), scale, shift, -np.inf, np.inf, is_inverse(kind))


def disparity_from_raw(raw, kind: str, floor: float | None = None, xp=np):
    """Raw output as disparity (what affine-invariant losses compare): relative graphs already are one.

    Metric and relative-depth output is inverted: NaN where it is <= 0, or, with ``floor`` (training, where
    gradients must stay finite), clamped up to ``floor`` first.
    """
    if is_inverse(kind):
        return raw
    if floor is not None:
        return 1.0 / xp.where(raw > floor, raw, xp.full_like(raw, floor))
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.where(raw > 0, 1.0 / raw, xp.full_like(raw, float("nan")))
