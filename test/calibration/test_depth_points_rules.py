"""core.depth_points rule by rule: pixel rounding and image bounds, nearest point per pixel, the occlusion test.

(Formerly calibration/lidar.py; the code lives in core/depth_points.py since the live anchor uses it too.)
"""

from __future__ import annotations

import numpy as np
import pytest

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.depth_points import OcclusionFilter, nearest_per_pixel, sparse_depth, zbuffer


def test_points_round_to_the_nearest_pixel_centre_and_only_the_image_counts():
    # width 4, height 3: columns -0.5 .. 3.5 and rows -0.5 .. 2.5 are inside (rint: halves go to even)
    u = np.array([-0.5, -0.51, 3.49, 3.5, 0.0, 0.0, 1.0, 2.0, 1.0])
    v = np.array([0.0, 0.0, 1.0, 1.0, -0.5, 2.5, -0.51, 2.49, 2.51])
    z = np.arange(1.0, 10.0)
    index, depth = nearest_per_pixel(u, v, z, height=3, width=4)
    # kept: (-0.5, 0) -> pixel 0; (3.49, 1) -> 1 * 4 + 3; (0, -0.5) -> pixel 0 (farther); (0, 2.5) -> row 2 (even);
    # (2, 2.49) -> 2 * 4 + 2. Dropped: u -0.51 and 3.5 (-> 4), v -0.51 and 2.51 (-> 3).
    np.testing.assert_array_equal(index, [0, 7, 8, 10])
    np.testing.assert_array_equal(depth, [1.0, 3.0, 6.0, 8.0])


def test_nearest_point_wins_whatever_the_order():
    u = np.array([1.0, 1.2, 0.9, 2.0, 2.1])
    v = np.array([1.0, 0.8, 1.1, 0.0, 0.0])
    z = np.array([7.0, 3.0, 5.0, 2.0, 1.5])
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]):
        index, depth = nearest_per_pixel(u[order], v[order], z[order], height=2, width=3)
        np.testing.assert_array_equal(index, [2, 4])
        np.testing.assert_array_equal(depth, [1.5, 3.0])
    empty = nearest_per_pixel(np.zeros(0), np.zeros(0), np.zeros(0), 2, 3)
    assert [a.size for a in empty] == [0, 0]


def test_zbuffer_is_float32_nan_where_no_point():
    depth = zbuffer(np.array([0.0, 2.0]), np.array([1.0, 0.0]), np.array([4.0, 2.5]), height=2, width=3)
    assert depth.dtype == np.float32 and depth.shape == (2, 3)
    np.testing.assert_array_equal(depth, [[np.nan, np.nan, 2.5], [4.0, np.nan, np.nan]])


def image_with(centre: float, neighbours: dict[tuple[int, int], float], size: int = 9) -> np.ndarray:
    """NaN image with ``centre`` in the middle and the given values at (dy, dx) offsets from it."""
    depth = np.full((size, size), np.nan, np.float32)
    c = size // 2
    depth[c, c] = centre
    for (dy, dx), value in neighbours.items():
        depth[c + dy, c + dx] = value
    return depth


def hidden(depth: np.ndarray, occlusion: OcclusionFilter | None = None) -> bool:
    c = depth.shape[0] // 2
    out = (occlusion or OcclusionFilter()).apply(depth)
    assert out.dtype == np.float32
    return bool(np.isnan(out[c, c]))


def test_two_nearer_neighbours_of_two_hide_a_point_one_does_not():
    assert hidden(image_with(10.0, {(0, 1): 5.0, (0, -3): 5.0}))  # same row, at the window's edge too
    assert not hidden(image_with(10.0, {(0, 1): 5.0}))  # fewer than min_neighbours
    assert not hidden(image_with(10.0, {(0, 1): 5.0, (0, 2): 5.0}), OcclusionFilter(min_neighbours=3))


def test_half_the_neighbours_nearer_is_not_enough():
    assert not hidden(image_with(10.0, {(1, 0): 5.0, (-1, 0): 5.0, (1, 1): 10.0, (-1, -1): 10.0}))
    assert hidden(image_with(10.0, {(1, 0): 5.0, (-1, 0): 5.0, (1, 1): 10.0}))
    assert hidden(image_with(10.0, {(1, 0): 5.0, (-1, 0): 5.0, (1, 1): 10.0, (-1, -1): 10.0}),
                  OcclusionFilter(fraction=0.4))


def test_nearer_means_nearer_by_more_than_the_margin():
    assert not hidden(image_with(10.0, {(0, 1): 5.0, (1, 0): 5.0}), OcclusionFilter(margin=0.5))  # exactly 50 %
    assert hidden(image_with(10.0, {(0, 1): 4.99, (1, 0): 4.99}), OcclusionFilter(margin=0.5))
    assert not hidden(image_with(10.0, {(0, 1): 9.5, (1, 0): 9.5}))  # within the default 10 %


def test_only_neighbours_inside_the_window_count():
    far = {(0, 4): 5.0, (4, 0): 5.0}  # outside the default 7x7 window
    assert not hidden(image_with(10.0, far))
    assert hidden(image_with(10.0, far), OcclusionFilter(window=9))
    assert not hidden(image_with(10.0, {(0, 2): 5.0, (2, 2): 5.0}), OcclusionFilter(window=3))


def test_outside_the_image_is_no_neighbour():
    depth = np.full((4, 4), np.nan, np.float32)
    depth[0, 0], depth[0, 1] = 10.0, 5.0  # a corner point with one nearer neighbour: kept
    out = OcclusionFilter().apply(depth)
    assert out[0, 0] == 10.0 and out[0, 1] == 5.0 and np.isnan(out).sum() == 14


def test_window_must_be_odd_and_at_least_three():
    for window in (1, 2, 4):
        with pytest.raises(ValueError, match=rf"^occlusion window must be an odd number >= 3, got {window}$"):
            OcclusionFilter(window=window)
    assert OcclusionFilter(window=3).window == 3


def test_sparse_depth_drops_points_within_min_depth_and_filters_occlusion_by_default():
    camera = CameraModel.pinhole(9, 9, 10.0)  # principal point (4, 4)
    points = np.array([[0.0, 0.0, 0.05],  # pixel (4, 4) but closer than the default 0.1 m
                       [0.0, 0.0, 10.0],  # pixel (4, 4), hidden behind two nearer points
                       [0.5, 0.0, 5.0], [0.0, 0.5, 5.0]])  # pixels (4, 5) and (5, 4)
    kept = sparse_depth(points, camera)
    assert np.isnan(kept[4, 4]) and kept[4, 5] == 5.0 and kept[5, 4] == 5.0
    raw = sparse_depth(points, camera, occlusion=None)
    assert raw[4, 4] == 10.0  # without the filter the far point stays; the 5 cm point never enters
    assert sparse_depth(points, camera, occlusion=None, min_depth=0.01)[4, 4] == np.float32(0.05)


def test_sparse_depth_projects_rectified_by_default_and_raw_when_asked():
    k = np.array([[20.0, 0, 15.0], [0, 20.0, 10.0], [0, 0, 1]])
    p = np.array([[18.0, 0, 14.0, 0], [0, 18.0, 11.0, 0], [0, 0, 1, 0]])
    camera = CameraModel(31, 21, k, p, np.array([-0.3, 0.1, 0.0, 0.0, 0.0]))
    point = np.array([[0.5, 0.2, 2.0]])
    for rectified in (True, False):
        u, v, _ = camera.project(point, rectified)
        expected = np.full((21, 31), np.nan, np.float32)
        expected[int(np.rint(v[0])), int(np.rint(u[0]))] = 2.0
        got = sparse_depth(point, camera, rectified) if not rectified else sparse_depth(point, camera)
        np.testing.assert_array_equal(got, expected)
    near = np.array([[0.0, 0.0, 0.5]])  # 0.5 m: beyond the default 0.1 m minimum
    assert sparse_depth(near, camera)[11, 14] == 0.5
