"""core.laser: LaserScan fields -> points in the scan frame; REP 117 values, bad range limits and angles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.core.laser import SANE_RANGE, scan_points


def test_beams_point_counter_clockwise_from_angle_min():
    out = scan_points(-math.pi / 2, math.pi / 2, [1.0, 2.0, 3.0], 0.1, 10.0)
    assert out.reason is AnchorReason.OK and out.received == 3 and out.dropped == 0
    np.testing.assert_allclose(out.points, [[0, -1, 0], [2, 0, 0], [0, 3, 0]], atol=1e-12)  # right, ahead, left


def test_rep117_values_and_out_of_range_returns_are_dropped_keeping_beam_angles():
    ranges = [np.nan, np.inf, -np.inf, 0.05, 2.0, 50.0, 4.0]
    out = scan_points(0.0, 0.1, ranges, 0.1, 30.0)
    assert out.reason is AnchorReason.OK and out.dropped == 5
    angles = np.arctan2(out.points[:, 1], out.points[:, 0])
    np.testing.assert_allclose(angles, [0.4, 0.6])  # beams 4 and 6 keep their own angles
    np.testing.assert_allclose(np.linalg.norm(out.points, axis=1), [2.0, 4.0])


@pytest.mark.parametrize("range_max", [0.0, -1.0, math.nan, math.inf, 0.05, 1e9])
def test_an_unusable_range_max_is_ignored_with_a_note(range_max):
    out = scan_points(0.0, 0.01, [1.0, 20.0, 5e3], 0.1, range_max)
    assert out.reason is AnchorReason.RANGE_MAX_INVALID and "range_max" in out.detail
    np.testing.assert_allclose(np.linalg.norm(out.points, axis=1), [1.0, 20.0])  # 5 km is beyond SANE_RANGE
    assert SANE_RANGE < 5e3


@pytest.mark.parametrize(("args", "reason"), [
    ((0.0, 0.1, [], 0.1, 10.0), AnchorReason.NO_POINTS),
    ((0.0, 0.1, [np.inf, np.nan, 50.0], 0.1, 10.0), AnchorReason.NO_POINTS),
    ((math.nan, 0.1, [1.0, 2.0], 0.1, 10.0), AnchorReason.BAD_MESSAGE),
    ((0.0, 0.0, [1.0, 2.0], 0.1, 10.0), AnchorReason.BAD_MESSAGE),
    ((0.0, 0.1, ["a", "b"], 0.1, 10.0), AnchorReason.BAD_MESSAGE),
    ((0.0, None, [1.0], 0.1, 10.0), AnchorReason.BAD_MESSAGE),
])
def test_unusable_scans_give_a_reason_never_an_exception(args, reason):
    out = scan_points(*args)
    assert out.reason is reason and out.points.shape == (0, 3) and out.detail


def test_a_negative_increment_scans_clockwise_and_a_bad_range_min_is_zero():
    out = scan_points(0.0, -math.pi / 2, [1.0, 1.0], math.nan, 10.0)
    np.testing.assert_allclose(out.points, [[1, 0, 0], [0, -1, 0]], atol=1e-12)
