"""Metric-head fits recover known transforms through outliers; official metric definitions; time-block splits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depth_anything_ros.calibration import depth_metrics, time_block_split
from depth_anything_ros.calibration.metrics import by_range
from depth_anything_ros.core.head_fit import fit_head
from depth_anything_ros.synthetic import SyntheticRig


def ground_truth():
    depth = SyntheticRig().true_depth()
    return depth[np.isfinite(depth)].astype(np.float64)


def with_outliers(values: np.ndarray, fraction: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = values.copy()
    picked = rng.random(values.size) < fraction
    out[picked] *= rng.uniform(0.3, 3.0, picked.sum())  # points on the wrong surface
    return out


@pytest.mark.parametrize("method", ["scale", "affine"])
def test_relative_fit_recovers_a_known_inverse_depth_transform(method):
    depth = ground_truth()
    scale, shift = 0.37, (0.012 if method == "affine" else 0.0)
    raw = (1.0 / depth - shift) / scale  # what a relative graph outputs for this scene
    fit = fit_head(raw, with_outliers(depth), "relative", method)
    assert math.isclose(fit.scale, scale, rel_tol=0.005)
    assert abs(fit.shift - shift) <= 0.005 * abs(1.0 / depth).mean()
    assert 0.85 < fit.inliers < 0.95  # the 10 % outliers get no weight


def test_metric_fit_recovers_a_known_depth_transform():
    depth = ground_truth()
    raw = (depth - 0.4) / 1.15  # a metric model 15 % short with an offset
    fit = fit_head(raw, with_outliers(depth, seed=1), "metric", "affine")
    assert math.isclose(fit.scale, 1.15, rel_tol=0.005) and math.isclose(fit.shift, 0.4, rel_tol=0.005, abs_tol=0.01)


@pytest.mark.parametrize(("method", "shift"), [("scale", 0.0), ("affine", 0.8)])
def test_relative_depth_fit_recovers_a_known_depth_transform_in_depth(method, shift):
    depth = ground_truth()
    raw = (depth - shift) / 2.5  # DA3 relative-depth output: depth up to scale, not inverse depth
    fit = fit_head(raw, with_outliers(depth, seed=2), "relative-depth", method)
    assert math.isclose(fit.scale, 2.5, rel_tol=0.005) and abs(fit.shift - shift) < 0.01
    assert 0.85 < fit.inliers < 0.95
    inverse = fit_head(raw, depth, "relative", method)  # read as V2 inverse depth, the same numbers fit badly
    predicted = 1.0 / (inverse.scale * raw + inverse.shift)
    assert np.median(np.abs(predicted - depth) / depth) > 0.05


def test_fit_refuses_too_few_points_and_bad_methods():
    with pytest.raises(ValueError, match="only 3 valid"):
        fit_head(np.ones(3), np.ones(3), "metric")
    with pytest.raises(ValueError, match="method"):
        fit_head(np.ones(30), np.ones(30), "metric", "median")
    with pytest.raises(ValueError, match="output kind must be one of metric, relative, relative-depth"):
        fit_head(np.ones(30), np.ones(30), "disparity")


def test_metrics_against_hand_computed_values():
    pred = np.array([2.0, 5.0, 10.0, np.nan, 3.0])
    gt = np.array([1.0, 5.0, 8.0, 4.0, 0.0])  # the NaN prediction and the 0 ground truth are not counted
    m = depth_metrics(pred, gt)
    assert m["points"] == 3
    assert math.isclose(m["abs_rel"], (1 / 1 + 0 + 2 / 8) / 3)
    assert math.isclose(m["sq_rel"], (1 / 1 + 0 + 4 / 8) / 3)
    assert math.isclose(m["rmse"], math.sqrt((1 + 0 + 4) / 3))
    logs = np.log([2.0, 1.0, 1.25])
    assert math.isclose(m["rmse_log"], math.sqrt(np.mean(logs ** 2)))
    assert math.isclose(m["silog"], math.sqrt(np.mean(logs ** 2) - 0.5 * np.mean(logs) ** 2))
    assert math.isclose(m["log10"], np.mean(np.abs(np.log10([2.0, 1.0, 1.25]))))
    assert (m["d1"], m["d2"], m["d3"]) == (1 / 3, 2 / 3, 2 / 3)  # ratios 2, 1, 1.25; thresholds are strict
    bands = by_range(pred, gt)
    assert bands["0-10"]["points"] == 3 and bands["10-20"]["points"] == 0
    assert m["no_return"] == 0.0


def test_no_return_counts_infinite_predictions_on_lidar_points():
    """DA3 sky (+Inf) on a point LiDAR measured is not in the official metrics' pairs; ``no_return`` shows it."""
    pred = np.array([2.0, np.inf, np.inf, 4.0, np.inf])
    gt = np.array([2.0, 6.0, 8.0, 4.0, np.nan])  # the last: no LiDAR point, so its +Inf is no error
    m = depth_metrics(pred, gt)
    assert m["points"] == 2 and m["abs_rel"] == 0.0  # the official metrics see only the finite pairs
    assert m["no_return"] == pytest.approx(2 / 4)
    assert math.isnan(depth_metrics(pred, np.full(5, np.nan))["no_return"])


def test_time_block_split_holds_out_whole_blocks():
    stamps = (np.arange(0, 60, 0.5) * 1e9).astype(np.int64)  # 60 s at 2 Hz
    held = time_block_split(stamps, block_s=10, holdout_every=3)
    blocks = stamps // int(10e9)
    for block in np.unique(blocks):
        assert len(set(held[blocks == block])) == 1  # never split inside a block
    assert held.sum() == 40  # blocks 2 and 5
    with pytest.raises(ValueError, match="span"):
        time_block_split(stamps[:10], block_s=10, holdout_every=3)


def metric_points(n: int = 200, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    depth = rng.uniform(1.0, 30.0, n)
    raw = (depth - 0.4) / 1.7 * (1 + rng.normal(0, 0.01, n))  # depth = 1.7 raw + 0.4, 1 % noise
    return raw, depth


def test_invalid_pairs_are_left_out_of_the_fit():
    raw, depth = metric_points()
    clean = fit_head(raw, depth, "metric")
    junk_raw = np.r_[raw, np.nan, np.inf, 5.0, 5.0, 5.0, 5.0]
    junk_depth = np.r_[depth, 3.0, 3.0, np.nan, np.inf, 0.0, -2.0]
    fit = fit_head(junk_raw, junk_depth, "metric")
    assert (fit.scale, fit.shift, fit.points, fit.inliers) == (clean.scale, clean.shift, 200, clean.inliers)
    assert fit.scale == pytest.approx(1.7, rel=0.01) and fit.shift == pytest.approx(0.4, abs=0.1)


def test_float32_input_fits_exactly_like_float64():
    raw, depth = metric_points()
    single = fit_head(raw.astype(np.float32), depth.astype(np.float32), "metric")
    double = fit_head(raw.astype(np.float32).astype(np.float64), depth.astype(np.float32).astype(np.float64), "metric")
    assert (single.scale, single.shift) == (double.scale, double.shift)


def test_ten_valid_points_are_enough_nine_are_not():
    raw, depth = metric_points(10)
    fit = fit_head(raw, depth, "metric")
    assert fit.points == 10 and fit.scale == pytest.approx(1.7, rel=0.05)
    with pytest.raises(ValueError, match=r"^only 9 valid ground-truth points; a fit needs at least 10 \(check"):
        fit_head(raw[:9], depth[:9], "metric", method="scale")


def test_an_exact_identity_is_a_valid_head():
    raw = np.random.default_rng(4).uniform(1.0, 20.0, 50)
    fit = fit_head(raw, raw, "metric", method="scale")  # the slope-only solve gives exactly 1
    assert (fit.scale, fit.shift, fit.inliers) == (1.0, 0.0, 1.0)


def test_iterations_are_passed_to_the_robust_fit():
    raw, depth = metric_points()
    assert fit_head(raw, depth, "metric", iterations=1).iterations == 1
    assert 1 < fit_head(raw, depth, "metric").iterations < 30


@pytest.mark.parametrize("method", ["scale", "affine"])
def test_predictions_that_do_not_vary_are_refused(method):
    """A constant prediction carries no depth: no weighted least squares can be solved, so there is no head."""
    raw, depth = metric_points()
    for constant in (0.0, 0.5):
        if method == "affine" or constant == 0.0:
            with pytest.raises(ValueError, match=r"^the fit is degenerate \(no solution, or scale 0 or not finite\): "
                                                 r"the predictions do not vary with depth$"):
                fit_head(np.full_like(raw, constant), depth, "metric", method)


def test_time_block_split_defaults_hold_out_every_fifth_ten_second_block():
    start = 1_700_000_000 * 10**9 + 7  # a ROS time stamp
    stamps = start + (np.arange(0, 100, 1.0) * 1e9).astype(np.int64)  # 100 s at 1 Hz
    held = time_block_split(stamps)
    np.testing.assert_array_equal(np.flatnonzero(held), np.r_[40:50, 90:100])
    shifted = time_block_split(stamps, origin_ns=start + 5 * 10**9)  # blocks start 5 s later
    np.testing.assert_array_equal(np.flatnonzero(shifted), np.r_[0:5, 45:55, 95:100])  # 0-5 s: block -1
    # unsigned stamps (as some bag indexes give them) split the same: the origin after a stamp does not wrap
    np.testing.assert_array_equal(time_block_split(stamps.astype(np.uint64), origin_ns=start + 5 * 10**9), shifted)
    with pytest.raises(ValueError, match=r"^the frames span 9.0 s: 10 s blocks give no held-out block every 5; "
                                         r"use a shorter --block or longer recordings$"):
        time_block_split(stamps[:10])
    with pytest.raises(ValueError, match=r"^no frames to split$"):
        time_block_split(np.zeros(0, np.int64))
