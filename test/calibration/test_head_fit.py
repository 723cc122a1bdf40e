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
