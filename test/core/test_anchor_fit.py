"""core.anchor_fit: one frame's robust fit in the head equation's space, its guards and their reasons."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.anchor_fit import fit_pixels, fit_points, fit_uvz, head_of, theta_of
from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.core.head import depth_from_raw
from depth_anything_ros.synthetic import Distortion, SyntheticRig, laser_scene

CONFIG = AnchorConfig()
RIG = SyntheticRig()
LIDAR = RIG.lidar_in_camera.apply(RIG.lidar_scan())  # 48 beams, in the camera frame; some hidden (parallax)


@pytest.mark.parametrize(("kind", "distortion"), [("relative", Distortion(8.0, 0.3)),
                                                  ("relative-depth", Distortion(0.4, 1.5)),
                                                  ("metric", Distortion(1.2))])
def test_fit_recovers_the_head_through_hidden_points(kind, distortion):
    scene = laser_scene()
    raw = distortion.raw(kind, scene.truth)
    fit = fit_points(raw, scene.camera, LIDAR, kind, CONFIG)
    assert fit.reason is AnchorReason.OK, fit.detail
    scale, shift = head_of(kind, fit.theta)
    expected_scale, expected_shift = distortion.head()
    assert math.isclose(scale, expected_scale, rel_tol=1e-3)
    assert abs(shift - expected_shift) < 1e-3 * max(1.0, abs(expected_shift))
    assert fit.measured == (1 if kind == "metric" else 2)
    assert fit.residual_absrel < 0.01  # at its inliers; the hidden points were weighed out ...
    assert fit.inliers < 1.0  # ... and there are some (LiDAR parallax behind the boxes)
    assert 20 <= fit.used <= CONFIG.max_fit_points


def test_a_camera_matrix_and_a_camera_model_give_one_fit():
    scene = laser_scene()
    raw = Distortion(8.0, 0.3).raw("relative", scene.truth)
    by_model = fit_points(raw, scene.camera, LIDAR, "relative", CONFIG)
    by_k = fit_points(raw, scene.camera.k, LIDAR, "relative", CONFIG)
    np.testing.assert_array_equal(by_model.theta, by_k.theta)


def test_uvz_samples_fit_like_points():
    scene = laser_scene()
    raw = Distortion(8.0, 0.3).raw("relative", scene.truth)
    u, v, z = scene.camera.project(LIDAR, min_depth=CONFIG.min_depth)
    every = AnchorConfig(max_input_points=len(LIDAR))  # no decimation of the points either
    np.testing.assert_allclose(fit_uvz(raw, u, v, z, "relative", every).theta,
                               fit_points(raw, scene.camera, LIDAR, "relative", every).theta)


def test_one_wall_at_one_distance_gives_a_scale_only_fit_that_keeps_the_shift():
    """Depths too alike cannot separate scale from shift: the fit measures log scale alone, at the given shift."""
    rng = np.random.default_rng(0)
    wall = 25.0 + rng.uniform(-0.5, 0.5, 300)  # a wall at 25 m, +-2 %
    distortion = Distortion(8.0, 0.3)
    raw = distortion.raw("relative", wall, noise=0.01)  # the network's own pixel noise
    measured = wall * (1 + 0.005 * rng.standard_normal(wall.size))  # the laser's
    true_scale, true_shift = distortion.head()
    fit = fit_pixels(raw, measured, "relative", CONFIG, prior=np.array([0.0, true_shift / true_scale]))
    assert fit.reason is AnchorReason.SMALL_SPREAD and fit.usable and fit.measured == 1
    assert "scale-only" in fit.detail and fit.spread < CONFIG.min_depth_spread
    scale, shift = head_of("relative", fit.theta)
    assert math.isclose(scale, true_scale, rel_tol=0.01) and math.isclose(shift, true_shift, rel_tol=0.01)
    forced = fit_pixels(raw, measured, "relative", AnchorConfig(min_depth_spread=0.0))  # the affine fit, ill-posed
    assert not forced.usable or not math.isclose(head_of("relative", forced.theta)[0], true_scale, rel_tol=0.05)


def test_too_few_points_low_inliers_and_degenerate_fits_are_refused_with_reasons():
    rng = np.random.default_rng(1)
    depth = rng.uniform(2.0, 30.0, 400)
    few = fit_pixels(Distortion(8.0).raw("relative", depth[:10]), depth[:10], "relative", CONFIG)
    assert few.reason is AnchorReason.TOO_FEW_POINTS and not few.usable and "10 anchor pixels" in few.detail
    raw = Distortion(8.0).raw("relative", depth)
    scrambled = raw.copy()
    scrambled[:280] = rng.uniform(raw.min(), raw.max(), 280)  # 70 % of the points disagree with the rest
    low = fit_pixels(scrambled, depth, "relative", CONFIG)
    assert low.reason is AnchorReason.LOW_INLIERS and low.inliers < CONFIG.min_inlier_ratio
    backwards = fit_pixels(depth.astype(np.float32), depth, "relative", CONFIG)  # "inverse depth" grows with depth
    assert backwards.reason is AnchorReason.DEGENERATE and "scale" in backwards.detail


@pytest.mark.parametrize(("points", "reason"), [
    (np.zeros((0, 3)), AnchorReason.NO_POINTS),
    (np.full((50, 3), np.nan), AnchorReason.NO_POINTS),
    (np.r_[np.full((5, 3), np.inf), np.full((5, 3), -np.inf)], AnchorReason.NO_POINTS),
    (LIDAR * [1, 1, -1], AnchorReason.BEHIND_CAMERA),  # every point behind the camera
    (LIDAR + np.array([500.0, 0, 0]), AnchorReason.OUTSIDE_IMAGE),  # in front, far off to the side
    (np.zeros((10, 2)), AnchorReason.BAD_INPUT),
    (np.array([["a", "b", "c"]]), AnchorReason.BAD_INPUT),
    (LIDAR[np.abs(LIDAR[:, 0] / LIDAR[:, 2]) < 0.3][:5], AnchorReason.TOO_FEW_POINTS),  # 5 in the image
])
def test_bad_anchor_points_give_a_reason_never_an_exception(points, reason):
    scene = laser_scene()
    fit = fit_points(Distortion(8.0).raw("relative", scene.truth), scene.camera, points, "relative", CONFIG)
    assert fit.reason is reason and not fit.usable and fit.detail


def test_bad_raw_output_gives_a_reason():
    scene = laser_scene()
    assert fit_points(np.zeros((10, 10)), scene.camera, LIDAR, "relative", CONFIG).reason is AnchorReason.BAD_INPUT
    assert fit_points(np.zeros(5), scene.camera, LIDAR, "relative", CONFIG).reason is AnchorReason.BAD_INPUT
    nan_raw = np.full(scene.truth.shape, np.nan, np.float32)
    assert fit_points(nan_raw, scene.camera, LIDAR, "relative", CONFIG).reason is AnchorReason.TOO_FEW_POINTS
    negative = -np.ones(scene.truth.shape, np.float32)  # metric output must be positive to take its log
    assert fit_points(negative, scene.camera, LIDAR, "metric", CONFIG).reason is AnchorReason.TOO_FEW_POINTS


def test_large_clouds_are_decimated_and_the_fit_is_unchanged():
    scene = laser_scene()
    raw = Distortion(8.0, 0.3).raw("relative", scene.truth)
    small = AnchorConfig(max_input_points=2000, max_fit_points=200)
    fit = fit_points(raw, scene.camera, LIDAR, "relative", small)
    assert fit.received == len(LIDAR) > 2000 and fit.used <= 200
    np.testing.assert_allclose(head_of("relative", fit.theta), Distortion(8.0, 0.3).head(), rtol=0.01)


def test_the_occlusion_option_removes_hidden_points_before_the_fit():
    scene = laser_scene()
    raw = Distortion(8.0, 0.3).raw("relative", scene.truth)
    plain = fit_points(raw, scene.camera, LIDAR, "relative", CONFIG)
    filtered = fit_points(raw, scene.camera, LIDAR, "relative", AnchorConfig(occlusion=True))
    assert filtered.inliers > plain.inliers  # fewer wrong-surface points left for the weights to find
    fitted = depth_from_raw(raw, *head_of("relative", filtered.theta), "relative")
    valid = np.isfinite(scene.held_out)
    assert np.median(np.abs(fitted[valid] / scene.held_out[valid] - 1)) < 5e-3


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="hold_s"):
        AnchorConfig(hold_s=-1)
    with pytest.raises(ValueError, match="min_points"):
        AnchorConfig(min_points=1)
    with pytest.raises(ValueError, match="min_inlier_ratio"):
        AnchorConfig(min_inlier_ratio=0)
    with pytest.raises(ValueError, match="max_age_s"):
        AnchorConfig(max_age_s=math.nan)


def test_points_in_the_sensor_frame_with_an_extrinsic_fit_like_points_in_the_camera_frame():
    scene = laser_scene()
    raw = Distortion(8.0, 0.3).raw("relative", scene.truth)
    in_camera = fit_points(raw, scene.camera, LIDAR, "relative", CONFIG)
    in_sensor = fit_points(raw, scene.camera, RIG.lidar_scan(), "relative", CONFIG, extrinsic=RIG.lidar_in_camera)
    np.testing.assert_allclose(in_sensor.theta, in_camera.theta, rtol=1e-9)


@pytest.mark.parametrize("prior_head", [(0.1, -0.002), (0.105, -0.002), (0.05, 0.001), (0.3, 0.05)])
def test_a_start_from_the_live_estimate_never_changes_where_the_fit_lands(prior_head):
    """Near the truth the estimate starts the fit (no random start); far off, or fitting only the wall that most
    laser points hit, it is not used as a start, and the fit lands on the truth either way."""
    scene = laser_scene()
    distortion = Distortion(10.0, 0.02)
    raw = distortion.raw("relative", scene.truth, noise=0.005)
    cold = fit_points(raw, scene.camera, scene.laser_points, "relative", CONFIG)
    warm = fit_points(raw, scene.camera, scene.laser_points, "relative", CONFIG,
                      prior=theta_of("relative", *prior_head))
    assert warm.reason is AnchorReason.OK, warm.detail
    np.testing.assert_allclose(head_of("relative", warm.theta), head_of("relative", cold.theta), rtol=1e-3, atol=5e-5)
    np.testing.assert_allclose(head_of("relative", warm.theta), distortion.head(), rtol=0.01, atol=2e-4)
