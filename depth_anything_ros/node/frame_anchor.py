"""The live anchor in the frame path (ROS-free): the scan for this frame, its extrinsic, the estimator, the record.

The frame path calls ``FrameAnchor.update`` after inference with the frame's raw output (a host pass: the fit
gets this frame's own head, which the pipeline applies on the host, ``metres_from_raw``). Steps: the anchor
message nearest the image stamp within ``anchor_max_age_s`` (``AnchorFeed``; none: the filter's estimate is
held), its points (converted once), camera <- sensor (``anchor_extrinsics``), then ``core.anchor``'s fit, guards,
filter and states. Nothing here raises for bad anchor input: each frame counts its reason, each state change is
logged (throttled by the caller's log), and ``report`` is what the diagnostics and the head topic show. The node
and bag replay run this same object, so they agree frame by frame.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from depth_anything_ros.core.anchor import AnchorEstimator, AnchorResult, AnchorState
from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.head import MetricHead
from depth_anything_ros.core.stamps import stamp_parts
from depth_anything_ros.node.anchor_extrinsics import (
    ExtrinsicError,
    Extrinsics,
    camera_from_sensor,
    extrinsics_for,
)
from depth_anything_ros.node.anchor_feed import AnchorFeed
from depth_anything_ros.node.config import PipelineConfig

# depth/anchor (std_msgs/Float64MultiArray): one row, these values in this order (the layout's label says it too)
HEAD_FIELDS = ("stamp_sec", "stamp_nanosec", "scale", "shift", "residual_absrel", "state", "inliers", "points_used",
               "age_s")
HEAD_LABEL = ",".join(HEAD_FIELDS)
STATE_CODES = {AnchorState.NONE: 0, AnchorState.FALLBACK: 1, AnchorState.HELD: 2, AnchorState.LIVE: 3}
Log = Callable[[str, str, str], None]  # (level "info" | "warning" | "error", kind for throttling, text)


@dataclass(frozen=True)
class AnchorFrame:
    """One frame's anchor step: the estimator's result and what the node adds to it."""

    result: AnchorResult
    stamp_ns: int
    points_received: int  # in the anchor message (0: none used)
    extrinsic: str  # the source that placed the points ("same frame", "anchor_extrinsic ...", "tf"), "" if none

    def head_values(self) -> list[float]:
        """The depth/anchor row, in HEAD_FIELDS order (NaN where a value does not apply)."""
        stats, (sec, nanosec) = self.result.stats, stamp_parts(self.stamp_ns)
        return [float(sec), float(nanosec), stats.scale, stats.shift, stats.residual_absrel,
                float(STATE_CODES[self.result.state]), stats.inliers, float(stats.points_used), stats.age_s]


@dataclass
class AnchorReport:
    """Counters and the latest frame, for the diagnostics status (``node.anchor_status``)."""

    input: str
    topic: str
    extrinsics: str  # the configured source
    messages: int = 0
    last_message_stamp_ns: int | None = None
    message_problems: dict[str, int] = field(default_factory=dict)
    frames: int = 0
    states: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    last: AnchorFrame | None = None
    last_monotonic_ns: int | None = None  # when ``last`` was made
    scale_change: float = math.nan  # of the live scale between the last two live frames
    warned_ns: int | None = None  # monotonic time of the last residual or scale_change warning
    hold_s: float = 0.0
    residual_warn: float = 0.0
    scale_change_warn: float = 0.0


class FrameAnchor:
    """The live anchor of one camera: feed, extrinsics, estimator (per graph kind), counters. ``feed``: the
    messages, when several cameras share one input (default: a feed of its own for ``config.anchor_input``)."""

    def __init__(self, config: PipelineConfig, tf: Extrinsics | None = None, log: Log | None = None,
                 feed: AnchorFeed | None = None) -> None:
        if config.anchor_input == "none":
            raise ValueError("the live anchor is off (anchor_input none)")
        self._tf = tf
        self.log = log or (lambda level, kind, text: None)
        self._lock = threading.Lock()
        self.anchor_config = config.anchor_config()
        self.feed = feed if feed is not None else \
            AnchorFeed(config.anchor_input, self.anchor_config, config.anchor_max_cloud_points)
        self.extrinsics = extrinsics_for(config.anchor_extrinsic, config.anchor_extrinsics_file, tf)
        self._settings = self._key(config)
        self._estimator: AnchorEstimator | None = None
        self._state: AnchorState | None = None
        self._last_live_scale: float | None = None
        self.report_data = AnchorReport(config.anchor_input, self.feed.topic, self.extrinsics.source)
        self._set_thresholds(self.anchor_config)

    @staticmethod
    def _key(config: PipelineConfig) -> tuple:
        return config.anchor_config(), config.anchor_extrinsic, config.anchor_extrinsics_file, \
            config.anchor_max_cloud_points

    def _set_thresholds(self, anchor: AnchorConfig) -> None:
        data = self.report_data
        data.hold_s, data.residual_warn, data.scale_change_warn = anchor.hold_s, anchor.residual_warn, \
            anchor.scale_change_warn

    # ---- configuration ----------------------------------------------------------------------------------
    def prepare(self, config: PipelineConfig) -> tuple | None:
        """What ``commit`` needs to take ``config``'s anchor knobs; ValueError (nothing changed) if it cannot.
        None when they did not change."""
        key = self._key(config)
        if key == self._settings:
            return None
        extrinsics = extrinsics_for(config.anchor_extrinsic, config.anchor_extrinsics_file, self._tf)
        return key, extrinsics

    def commit(self, prepared: tuple | None) -> None:
        """Take prepared settings: the filter starts afresh (its noise terms or guards may have changed)."""
        if prepared is None:
            return
        key, extrinsics = prepared
        anchor, _, _, max_cloud_points = key
        with self._lock:
            self._settings, self.anchor_config, self.extrinsics = key, anchor, extrinsics
            self._estimator = None
            self.feed.resize(anchor, max_cloud_points)
            self.report_data.extrinsics = extrinsics.source
            self._set_thresholds(anchor)

    def add_message(self, msg) -> None:
        """An anchor message from the subscription (or a bag): filed by stamp, nothing else."""
        self.feed.add(msg)

    # ---- one frame ------------------------------------------------------------------------------------
    def _estimator_for(self, kind: str) -> AnchorEstimator:
        if self._estimator is None or self._estimator.kind != kind:
            self._estimator = AnchorEstimator(self.anchor_config, kind)
        return self._estimator

    def update(self, raw: np.ndarray, camera: CameraModel | None, stamp_ns: int, camera_frame: str, kind: str,
               fallback: MetricHead | None, limits: tuple[float, float]) -> AnchorFrame | None:
        """The anchor step of one frame: ``raw`` output of a ``kind`` graph, its camera (None: K = 0), the image
        stamp and frame; ``fallback`` the calibration's head (None: none loaded), ``limits`` the published range.
        None when the step itself failed (a bug, not bad input): logged and counted as ``error``, and the frame
        keeps the pipeline's own head, so the anchor can never cost the depth."""
        try:
            return self._update(raw, camera, stamp_ns, camera_frame, kind, fallback, limits)
        except Exception as error:  # the depth must not depend on the anchor's code
            with self._lock:
                self.report_data.frames += 1
                self.report_data.reasons["error"] = self.report_data.reasons.get("error", 0) + 1
            self.log("error", "anchor_error", f"anchor step failed ({type(error).__name__}: {error}); the frame "
                                              f"keeps the calibration's (or the graph's) head")
            return None

    def _update(self, raw: np.ndarray, camera: CameraModel | None, stamp_ns: int, camera_frame: str, kind: str,
                fallback: MetricHead | None, limits: tuple[float, float]) -> AnchorFrame:
        estimator = self._estimator_for(kind)
        estimator.fallback, estimator.limits = fallback, limits
        pick, message = self.feed.pick(stamp_ns)
        received, extrinsic = 0, ""
        missing, detail, points, transform, points_stamp = pick.reason, pick.detail, None, None, None
        if message is not None:
            points_stamp = message.stamp_ns
            got = self.feed.points(message)
            received = got.received
            if not got.points.size:
                missing, detail = got.reason, got.detail
            elif camera is None:
                missing, detail = AnchorReason.NO_CAMERA, "camera_info has K = 0: the anchor points cannot be " \
                                                          "projected (calibrate the camera)"
            else:
                try:
                    transform, extrinsic = camera_from_sensor(self.extrinsics, camera_frame, message.frame_id,
                                                              message.stamp_ns)
                    points = got.points
                except ExtrinsicError as error:
                    missing, detail = error.reason, error.detail
        result = estimator.update(raw, camera, points, stamp_ns, points_stamp, missing, detail, transform)
        frame = AnchorFrame(result, stamp_ns, received, extrinsic)
        self._record(frame, fallback is not None)
        return frame

    def _record(self, frame: AnchorFrame, calibrated: bool) -> None:
        result, now = frame.result, time.monotonic_ns()
        state, stats = result.state, result.stats
        with self._lock:
            data = self.report_data
            data.frames += 1
            data.states[state.value] = data.states.get(state.value, 0) + 1
            data.reasons[result.reason.value] = data.reasons.get(result.reason.value, 0) + 1
            for warning in result.warnings:
                data.warnings[warning] = data.warnings.get(warning, 0) + 1
            if {"residual", "scale_change"} & set(result.warnings):
                data.warned_ns = now
            if state is AnchorState.LIVE:
                if self._last_live_scale:
                    data.scale_change = stats.scale / self._last_live_scale - 1
                self._last_live_scale = stats.scale
            data.last, data.last_monotonic_ns = frame, now
            changed, self._state = state is not self._state, state
        if changed:
            self._log_state(frame, calibrated)
        for warning in result.warnings:
            self.log("warning", f"anchor_{warning}", self._warning_text(warning, frame))

    def _log_state(self, frame: AnchorFrame, calibrated: bool) -> None:
        result, stats = frame.result, frame.result.stats
        why = f"{result.reason.value}: {stats.detail}" if stats.detail else result.reason.value
        if result.state is AnchorState.LIVE:
            self.log("info", "anchor_live", f"anchor live: scale {stats.scale:.6g} shift {stats.shift:.6g}, residual "
                                            f"AbsRel {stats.residual_absrel:.3f} over {stats.points_used} pixels "
                                            f"({stats.source}, extrinsic: {frame.extrinsic})")
        elif result.state is AnchorState.HELD:
            self.log("warning", "anchor_held", f"anchor held: no usable fit ({why}); keeping the last live head up "
                                               f"to anchor_hold_s {self.anchor_config.hold_s:g} s")
        elif result.state is AnchorState.FALLBACK:
            self.log("warning", "anchor_fallback", f"anchor lost ({why}): using the offline calibration's head")
        else:
            what = "the graph's own head" + ("" if calibrated else " (no calibration loaded: relative graphs publish "
                                                                   "depth/relative only)")
            self.log("warning", "anchor_none", f"no anchor ({why}): {what}")

    def _warning_text(self, warning: str, frame: AnchorFrame) -> str:
        stats, anchor = frame.result.stats, self.anchor_config
        if warning == "residual":
            return (f"anchor residual AbsRel {stats.residual_absrel:.3f} over anchor_residual_warn "
                    f"{anchor.residual_warn:g}: the depth disagrees with the range sensor (extrinsic, timing, "
                    f"or the network)")
        if warning == "scale_change":
            return (f"anchor scale moved {self.report_data.scale_change:+.1%} in one fit (anchor_scale_change_warn "
                    f"{anchor.scale_change_warn:g}): an engine whose scale jumps, or a camera knocked out of line?")
        return f"anchor {warning}: the image stamps went backwards; the filter started afresh"

    def report(self) -> AnchorReport:
        """A copy of the counters and the latest frame (thread-safe)."""
        received, problems = self.feed.counts()
        with self._lock:
            data = self.report_data
            return AnchorReport(data.input, data.topic, data.extrinsics, received, self.feed.last_stamp_ns,
                                problems, data.frames, dict(data.states), dict(data.reasons), dict(data.warnings),
                                data.last, data.last_monotonic_ns, data.scale_change, data.warned_ns, data.hold_s,
                                data.residual_warn, data.scale_change_warn)
