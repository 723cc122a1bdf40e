"""The live anchor's settings: one small dataclass whose fields become the node's ``anchor_*`` parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class AnchorConfig:
    """Pairing, guards, temporal filter and warnings of the live anchor (see core.anchor and docs/anchor.md).

    Times in seconds; ``min_depth_spread``, ``max_change``, the warn thresholds, jitters, drifts and the floor
    are fractions (0.3 = 30 %); the shift's noise terms are fractions of the typical raw value at the points.
    """

    max_age_s: float = 0.1  # newest scan at most this much older than the image (a 10 Hz LiDAR: 0.1)
    max_future_s: float = 0.0  # scans stamped later than the image by more than this are not used
    hold_s: float = 1.0  # keep the last live head this long without a good fit, then fall back
    min_points: int = 20  # pixels with a valid anchor depth and raw value a fit needs
    min_depth_spread: float = 0.3  # (10th..90th percentile depth ratio - 1) below this: scale-only fit
    min_inlier_ratio: float = 0.5  # fraction of the points that must agree with the fit ...
    inlier_error: float = 0.2  # ... within this relative depth error
    max_change: float = 0.3  # a fit moving the metres at the points more than this (median) is refused
    residual_warn: float = 0.15  # warn when the fit's AbsRel at its inliers is above this
    scale_change_warn: float = 0.1  # warn when the live scale changes more than this from one fit to the next
    min_depth: float = 0.1  # anchor points nearer than this (metres, along the optical axis) are dropped
    max_input_points: int = 4096  # larger clouds are decimated evenly before projection
    max_fit_points: int = 512  # pixels fitted, taken evenly from those the points hit
    occlusion: bool = False  # run the full-image occlusion filter on the anchor pixels (slow; see benchmarks)
    rectified: bool = True  # the image is rectified (project with P and R), else raw (K and D)
    scale_jitter: float = 0.05  # filter: per-fit change of log scale the network may make (std)
    shift_jitter: float = 0.05  # filter: per-fit change of the shift, in typical raw values (std)
    scale_drift: float = 0.02  # filter: drift of log scale per square-root second (std)
    shift_drift: float = 0.02  # filter: drift of the shift per square-root second, in typical raw values (std)
    measurement_floor: float = 0.005  # filter: the least std a fit's log scale (and shift) is trusted to
    effective_points: int = 64  # filter: neighbouring points' errors are alike; count at most this many as independent

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool):
                continue
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"anchor {item.name} must be a finite number >= 0, got {value!r}")
        if self.min_points < 3:
            raise ValueError(f"anchor min_points must be >= 3 (two parameters and a residual), got {self.min_points}")
        if self.max_fit_points < self.min_points or self.max_input_points < self.min_points:
            raise ValueError(f"anchor max_fit_points ({self.max_fit_points}) and max_input_points "
                             f"({self.max_input_points}) must be >= min_points ({self.min_points})")
        if not 0 < self.min_inlier_ratio <= 1:
            raise ValueError(f"anchor min_inlier_ratio must be in (0, 1], got {self.min_inlier_ratio}")
        if self.max_change <= 0 or self.effective_points < 1 or self.measurement_floor <= 0:
            raise ValueError("anchor max_change and measurement_floor must be > 0 and effective_points >= 1")
