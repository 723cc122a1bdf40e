"""core.anchor: the live anchor against a per-frame distorted "network" on the synthetic rig; filter, states."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from depth_anything_ros.calibration import depth_metrics
from depth_anything_ros.core.anchor import AnchorEstimator, AnchorState
from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.core.head import MetricHead, depth_from_raw
from depth_anything_ros.core.head_fit import fit_head
from depth_anything_ros.core.scan_buffer import ScanBuffer
from depth_anything_ros.synthetic import Distortion, frame_distortions, laser_scene

MS = 1_000_000
FRAME_NS = 33 * MS  # a 30 Hz camera
CONFIG = AnchorConfig()
LIVE_TOLERANCE = 0.03  # held-out AbsRel the live anchor must reach from the 2D laser alone


def held_out_absrel(raw: np.ndarray, head: MetricHead | None, kind: str) -> float:
    scene = laser_scene()
    valid = np.isfinite(scene.held_out)
    scale, shift = (head.scale, head.shift) if head is not None else (1.0, 0.0)
    return depth_metrics(depth_from_raw(raw[valid], scale, shift, kind), scene.held_out[valid])["abs_rel"]


@pytest.mark.parametrize("kind", ["relative", "relative-depth", "metric"])
def test_a_2d_laser_recovers_metres_frame_by_frame_where_one_offline_calibration_cannot(kind):
    """The network's affine changes every frame (jitter) and slowly (drift); the live anchor follows it from one
    horizontal band of laser points and is scored on the 48-beam LiDAR it never saw."""
    scene = laser_scene()
    distortions = frame_distortions(30, seed=3)
    if kind == "metric":  # metric graphs: a scale error only
        distortions = [Distortion(d.a / 10.0) for d in distortions]
    elif kind == "relative-depth":
        distortions = [Distortion(d.a / 25.0, 10 * d.b) for d in distortions]
    frames = [d.raw(kind, scene.truth, noise=0.01, seed=k) for k, d in enumerate(distortions)]
    # the offline calibration: one fit of the project's calibration for every frame. Fitted on the held-out LiDAR
    # of every frame itself, it is the best any single calibration can do here (a lower bound on its error).
    valid = np.isfinite(scene.held_out)
    pooled_raw = np.concatenate([raw[valid] for raw in frames])
    offline_fit = fit_head(pooled_raw, np.tile(scene.held_out[valid], len(frames)), kind,
                           "scale" if kind == "metric" else "affine")
    offline = MetricHead(offline_fit.scale, offline_fit.shift)
    estimator = AnchorEstimator(CONFIG, kind)
    live_errors, offline_errors = [], []
    for k, raw in enumerate(frames):
        result = estimator.update(raw, scene.camera, scene.laser_points, k * FRAME_NS)
        assert result.state is AnchorState.LIVE and result.reason is AnchorReason.OK, result.stats.detail
        live_errors.append(held_out_absrel(raw, result.head, kind))
        offline_errors.append(held_out_absrel(raw, offline, kind))
    live, off = float(np.mean(live_errors)), float(np.mean(offline_errors))
    print(f"\n{kind}: held-out AbsRel live anchor (2D laser) {live:.4f}, best single calibration {off:.4f}")
    assert live < LIVE_TOLERANCE
    assert off > 0.1 and off > 5 * live


def test_one_bad_frame_cannot_move_the_metres():
    scene = laser_scene()
    estimator = AnchorEstimator(CONFIG, "relative")
    good = Distortion(10.0, 0.02)
    first = estimator.update(good.raw("relative", scene.truth), scene.camera, scene.laser_points, 0)
    bad = estimator.update(Distortion(25.0, 0.02).raw("relative", scene.truth), scene.camera, scene.laser_points,
                           FRAME_NS)  # the "network" (or the anchor) is off by 2.5x for one frame
    assert bad.reason is AnchorReason.MAX_CHANGE and bad.state is AnchorState.HELD
    assert "max_change" in bad.stats.detail and bad.stats.source == "filter"
    assert bad.head == first.head  # the metres did not move
    again = estimator.update(good.raw("relative", scene.truth), scene.camera, scene.laser_points, 2 * FRAME_NS)
    assert again.state is AnchorState.LIVE and again.reason is AnchorReason.OK


def test_hold_then_fall_back_to_the_calibration_or_none_then_start_again():
    scene = laser_scene()
    calibration = MetricHead(0.05, 0.001, 0.2, 60.0)
    raw = Distortion(10.0, 0.02).raw("relative", scene.truth)
    for fallback, empty in ((calibration, AnchorState.FALLBACK), (None, AnchorState.NONE)):
        estimator = AnchorEstimator(replace(CONFIG, hold_s=0.5), "relative", fallback)
        before = estimator.update(raw, scene.camera, None, 0)
        assert before.state is empty and before.reason is AnchorReason.NO_SCAN and before.head is fallback
        live = estimator.update(raw, scene.camera, scene.laser_points, 100 * MS)
        assert live.state is AnchorState.LIVE and live.stats.age_s == 0.0
        assert (live.head.min_depth, live.head.max_depth) == ((0.2, 60.0) if fallback else (0.1, math.inf))
        held = estimator.update(raw, scene.camera, None, 500 * MS, missing=AnchorReason.SCAN_TOO_OLD)
        assert held.state is AnchorState.HELD and held.reason is AnchorReason.SCAN_TOO_OLD
        assert held.head == live.head and held.stats.age_s == pytest.approx(0.4)
        expired = estimator.update(raw, scene.camera, np.zeros((0, 3)), 700 * MS)
        assert expired.state is empty and expired.reason is AnchorReason.NO_POINTS and expired.head is fallback
        assert expired.stats.source == ("calibration" if fallback else "none")
        # after the hold ran out the filter starts afresh: a fit the old estimate would have refused is taken
        restart = estimator.update(Distortion(30.0, 0.0).raw("relative", scene.truth), scene.camera,
                                   scene.laser_points, 800 * MS)
        assert restart.state is AnchorState.LIVE


def test_time_going_backwards_resets_the_estimate():
    scene = laser_scene()
    estimator = AnchorEstimator(CONFIG, "relative")
    estimator.update(Distortion(10.0).raw("relative", scene.truth), scene.camera, scene.laser_points, 10 * FRAME_NS)
    looped = estimator.update(Distortion(30.0).raw("relative", scene.truth), scene.camera, scene.laser_points, 0)
    assert looped.state is AnchorState.LIVE and "clock_jump" in looped.warnings  # not refused by max_change


def test_a_scale_only_frame_keeps_the_shift_of_the_estimate():
    """A frame that sees only the wall fixes the scale alone; the shift stays what the well-spread frames said."""
    scene = laser_scene()
    estimator = AnchorEstimator(CONFIG, "relative")
    distortion = Distortion(10.0, 0.04)
    estimator.update(distortion.raw("relative", scene.truth), scene.camera, scene.laser_points, 0)
    wall = scene.laser_points[scene.laser_points[:, 2] > 20]  # the wall only: one distance
    changed = Distortion(11.0, 0.04)  # the network's scale moves 10 %
    result = estimator.update(changed.raw("relative", scene.truth), scene.camera, wall, FRAME_NS)
    assert result.state is AnchorState.LIVE and result.reason is AnchorReason.SMALL_SPREAD
    assert result.stats.source == "fit-scale"
    scale, shift = changed.head()
    assert result.head.scale == pytest.approx(scale, rel=0.01) and result.head.shift == pytest.approx(shift, rel=0.02)


def test_the_filter_weighs_frames_by_their_evidence():
    """A constant metric scale seen through noisy few-point fits: the filter's estimate is steadier than the fits."""
    scene = laser_scene()
    quiet = replace(CONFIG, scale_jitter=0.002, scale_drift=0.0, min_points=5, measurement_floor=0.001)
    estimator = AnchorEstimator(quiet, "metric")
    rng = np.random.default_rng(7)
    raw = Distortion(1.3).raw("metric", scene.truth)
    filtered, single = [], []
    for k in range(40):
        points = scene.laser_points[rng.choice(len(scene.laser_points), 12, replace=False)]
        noisy = points * (1 + 0.08 * rng.standard_normal((len(points), 1)))  # a poor range sensor
        result = estimator.update(raw, scene.camera, noisy, k * FRAME_NS)
        if result.state is AnchorState.LIVE:
            filtered.append(result.head.scale * 1.3 - 1)
            single.append(AnchorEstimator(quiet, "metric").update(raw, scene.camera, noisy, 0).head.scale * 1.3 - 1)
    assert len(filtered) > 30
    print(f"\nscale error std: single fits {np.std(single):.4f}, filtered {np.std(filtered[10:]):.4f}")
    assert np.std(filtered[10:]) < 0.5 * np.std(single)


def test_warnings_for_a_poor_fit_and_a_scale_jump():
    scene = laser_scene()
    estimator = AnchorEstimator(CONFIG, "relative")
    estimator.update(Distortion(10.0).raw("relative", scene.truth), scene.camera, scene.laser_points, 0)
    jump = estimator.update(Distortion(12.0).raw("relative", scene.truth), scene.camera, scene.laser_points, FRAME_NS)
    assert jump.state is AnchorState.LIVE and "scale_change" in jump.warnings
    noisy = Distortion(12.0).raw("relative", scene.truth, noise=0.2, seed=1)
    poor = estimator.update(noisy, scene.camera, scene.laser_points, 2 * FRAME_NS)
    assert poor.stats.residual_absrel > CONFIG.residual_warn and "residual" in poor.warnings


def test_stats_carry_every_diagnostic_and_bad_input_never_raises():
    scene = laser_scene()
    estimator = AnchorEstimator(CONFIG, "relative", MetricHead(0.1, 0.0))
    raw = Distortion(10.0).raw("relative", scene.truth)
    bad_inputs = [np.full((30, 3), np.nan), scene.laser_points * [1, 1, -1], np.zeros((3, 7)), "points",
                  np.zeros((0, 3))]
    for k, points in enumerate(bad_inputs):
        result = estimator.update(raw, scene.camera, points, k * FRAME_NS)
        assert result.state is AnchorState.FALLBACK and result.reason is not AnchorReason.OK
    assert estimator.update(np.zeros((4, 4)), scene.camera, scene.laser_points, 9 * FRAME_NS).reason is \
        AnchorReason.BAD_INPUT
    stamp = 10 * FRAME_NS
    result = estimator.update(raw, scene.camera, scene.laser_points, stamp, points_stamp_ns=stamp - 40 * MS)
    stats = result.stats.as_dict()
    assert set(stats) >= {"points_received", "points_used", "inliers", "residual_absrel", "scale", "shift", "age_s",
                          "source", "reason"}
    assert stats["points_received"] == len(scene.laser_points) and stats["points_age_s"] == pytest.approx(0.04)
    assert stats["reason"] == "ok" and stats["source"] == "fit-affine"


def test_a_scan_buffer_feeds_the_estimator_by_stamp():
    """10 Hz scans, 30 Hz images: each image gets the newest scan at most max_age before it."""
    scene = laser_scene()
    scans = ScanBuffer(CONFIG.max_age_s, CONFIG.max_future_s)
    estimator = AnchorEstimator(CONFIG, "relative")
    raw = Distortion(10.0).raw("relative", scene.truth)
    states = []
    for k in range(9):
        image_ns = 1_000 * MS + k * FRAME_NS
        if k % 3 == 0:
            scans.add(image_ns + 5 * MS, scene.laser_points)  # stamped 5 ms after the image it follows
        pick = scans.pick(image_ns)
        result = estimator.update(raw, scene.camera, pick.points, image_ns, pick.stamp_ns, pick.reason, pick.detail)
        states.append((result.state.value, result.reason.value))
    assert states[0] == ("none", "scan_from_future")  # the first scan is 5 ms after the first image
    assert states[1] == ("live", "ok") and states[2] == ("live", "ok")
    assert states[3] == ("live", "ok")  # frame 3: its own scan is from the future, the one before is 94 ms old
