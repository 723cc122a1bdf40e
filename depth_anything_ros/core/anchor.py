"""The live anchor: the head's metres tied, frame by frame, to the robot's own LiDAR, 2D laser or depth sensor.

    estimator = AnchorEstimator(AnchorConfig(), kind="relative", fallback=calibration_head)
    result = estimator.update(raw, camera, points_in_camera_frame, stamp_ns)
    result.head, result.state, result.reason, result.stats.as_dict()

Each call fits the head to this frame's ``raw`` output (core.anchor_fit: robust, in the head equation's space,
with guards), refuses a fit that would move the metres by more than ``max_change`` (the largest |depth with the
fit / depth with the estimate - 1| at the anchor's near, middle and far points), and passes accepted fits to
the temporal filter (core.anchor_filter). A small state machine says where the head comes from:

- ``live``: this frame's fit was accepted; the head is the filter's estimate after it;
- ``held``: no accepted fit this frame, the last one at most ``hold_s`` ago: the filter's estimate is kept;
- ``fallback``: no accepted fit for longer (or never): the offline calibration's head;
- ``none``: the same without a calibration: ``head`` is None (the graph's own head applies).

When the hold runs out, the filter is reset, so the next good fit starts it afresh (a lasting change of the
network's scale is taken after at most ``hold_s``). Time going backwards (a bag loop) also resets it.

The head is for the frame the fit saw. The fit needs that frame's raw output, so it is a host pass after
inference: the node either re-applies the head to this frame's raw output on the host (core.head's
``metres_from_raw``) or hands it to the graph for the next frame; docs/anchor.md and benchmarks/RESULTS.md say
what each costs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import Enum

import numpy as np

from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.anchor_filter import HeadFilter
from depth_anything_ros.core.anchor_fit import FrameFit, dimensions, fit_points, fit_uvz, head_of, theta_of
from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.head import DEFAULT_MIN_DEPTH, MetricHead, is_inverse
from depth_anything_ros.core.stamps import NS_PER_S
from depth_anything_ros.core.transforms import Transform


class AnchorState(str, Enum):
    LIVE = "live"
    HELD = "held"
    FALLBACK = "fallback"
    NONE = "none"


@dataclass(frozen=True)
class AnchorStats:
    """Diagnostics of one anchor step (NaN where a value does not apply)."""

    points_received: int
    points_used: int  # anchor pixels fitted
    inliers: float  # fraction of them within inlier_error of the fitted depth
    residual_absrel: float  # the fit's AbsRel where its robust weights are > 0
    spread: float  # anchor depth 90th / 10th percentile - 1
    scale: float  # of the head returned
    shift: float
    age_s: float  # since the last accepted fit (0 when live)
    points_age_s: float  # image stamp - anchor stamp
    source: str  # fit-affine | fit-scale | filter | calibration | none
    reason: str  # AnchorReason value: why this frame's fit was not used, or a note on how it was
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AnchorResult:
    head: MetricHead | None  # None: state none, use the graph's own head
    state: AnchorState
    reason: AnchorReason  # OK or SMALL_SPREAD when the fit was used; else why not
    stats: AnchorStats
    warnings: tuple[str, ...] = ()  # residual | scale_change | clock_jump


class AnchorEstimator:
    """Per-frame robust fit + temporal filter + state machine for one camera and one graph kind."""

    def __init__(self, config: AnchorConfig, kind: str, fallback: MetricHead | None = None,
                 min_depth: float = DEFAULT_MIN_DEPTH, max_depth: float = math.inf) -> None:
        self.config = config
        self.kind = kind
        self.fallback = fallback
        self.limits = (fallback.min_depth, fallback.max_depth) if fallback is not None else (min_depth, max_depth)
        self.filter = HeadFilter(config, dimensions(kind))
        self._last_stamp: int | None = None
        self._jumped = False

    def _prior(self) -> np.ndarray | None:
        """Filter coordinates a fit starts from and a scale-only fit takes its shift from: the live estimate's, else
        the calibration's, else None (shift 0)."""
        if self.filter.live:
            return self.filter.mean
        if self.fallback is not None and self.fallback.scale > 0:
            return theta_of(self.kind, self.fallback.scale, self.fallback.shift)
        return None

    def update(self, raw: np.ndarray, camera: CameraModel | np.ndarray, points: np.ndarray | None, stamp_ns: int,
               points_stamp_ns: int | None = None, missing: AnchorReason = AnchorReason.NO_SCAN,
               missing_detail: str = "", extrinsic: Transform | None = None) -> AnchorResult:
        """One frame: ``raw`` (H, W) output, its camera (CameraModel or 3x3 K at raw's size), anchor ``points``
        (N, 3) in the camera's optical frame (or the sensor's, with ``extrinsic`` sensor -> camera optical frame:
        cheaper, it is applied after decimation), or None with the ``missing`` reason (``ScanBuffer.pick``)."""
        self._expire(stamp_ns)
        if points is None:
            fit = FrameFit(missing, missing_detail, 0)
        else:
            fit = fit_points(raw, camera, points, self.kind, self.config, self._prior(), extrinsic)
        return self._step(fit, stamp_ns, points_stamp_ns)

    def update_uvz(self, raw: np.ndarray, u: np.ndarray, v: np.ndarray, z: np.ndarray, stamp_ns: int,
                   points_stamp_ns: int | None = None) -> AnchorResult:
        """One frame from anchor samples already in pixels: sub-pixel (u, v) and depth z (metres)."""
        self._expire(stamp_ns)
        fit = fit_uvz(raw, u, v, z, self.kind, self.config, self._prior())
        return self._step(fit, stamp_ns, points_stamp_ns)

    def _expire(self, stamp_ns: int) -> None:
        self._jumped = self._last_stamp is not None and stamp_ns < self._last_stamp
        if self._jumped:
            self.filter.reset()
        self._last_stamp = stamp_ns
        if self.filter.live and (stamp_ns - self.filter.stamp_ns) / NS_PER_S > self.config.hold_s:
            self.filter.reset()

    def _change(self, fit: FrameFit) -> float:
        """The largest |depth with the fit / depth with the live estimate - 1| at the anchor's 10th, 50th and 90th
        percentile raw values. With theta: depth ratio = exp(dtheta_0) (raw + theta_1) / (raw + theta_1'),
        inverted for inverse-depth output; inf where either head has no valid depth."""
        new, old = fit.theta.tolist(), self.filter.mean.tolist()  # Python floats: three points, no numpy per-call cost
        inverse = is_inverse(self.kind)
        worst = 0.0
        for raw in fit.raw_quantiles:
            num, den = (raw + new[1], raw + old[1]) if len(new) > 1 else (1.0, 1.0)
            if num * den <= 0 or (not inverse and (num <= 0 or den <= 0)):
                return math.inf
            ratio = math.exp(new[0] - old[0]) * num / den
            worst = max(worst, abs((1 / ratio if inverse else ratio) - 1))
        return worst

    def _step(self, fit: FrameFit, stamp_ns: int, points_stamp_ns: int | None) -> AnchorResult:
        config = self.config
        reason, detail = fit.reason, fit.detail
        warnings = ["clock_jump"] if self._jumped else []
        accepted = fit.usable
        before = head_of(self.kind, self.filter.mean) if self.filter.live else None
        if accepted and before is not None:
            change = self._change(fit)
            if change > config.max_change:
                accepted = False
                reason = AnchorReason.MAX_CHANGE
                detail = (f"the fit would move the metres at the anchor pixels by {change:.0%} (median), "
                          f"max_change is {config.max_change:.0%}")
        if accepted:
            self.filter.update(fit, stamp_ns)
            state = AnchorState.LIVE
            source = "fit-affine" if fit.measured == 2 else "fit-scale"
            if fit.residual_absrel > config.residual_warn:
                warnings.append("residual")
        elif self.filter.live:
            state, source = AnchorState.HELD, "filter"
        elif self.fallback is not None:
            state, source = AnchorState.FALLBACK, "calibration"
        else:
            state, source = AnchorState.NONE, "none"
        if state in (AnchorState.LIVE, AnchorState.HELD):
            scale, shift = head_of(self.kind, self.filter.mean)
            head = MetricHead(scale, shift, *self.limits)
            age = (stamp_ns - self.filter.stamp_ns) / NS_PER_S
            if state is AnchorState.LIVE and before is not None and abs(scale / before[0] - 1) > \
                    config.scale_change_warn:
                warnings.append("scale_change")
        else:
            head = self.fallback
            scale, shift = (head.scale, head.shift) if head is not None else (math.nan, math.nan)
            age = math.nan
        points_age = (stamp_ns - points_stamp_ns) / NS_PER_S if points_stamp_ns is not None else math.nan
        stats = AnchorStats(fit.received, fit.used, fit.inliers, fit.residual_absrel, fit.spread, scale, shift,
                            age, points_age, source, reason.value, detail)
        return AnchorResult(head, state, reason, stats, tuple(warnings))
