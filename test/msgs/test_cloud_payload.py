"""msgs.cloud beyond the per-point reference: the range rule on its own, payload shape, options and errors."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.msgs.cloud import (
    CloudBuilder,
    CloudOptions,
    build_cloud,
    organized_cloud_bytes,
    pack_rgb,
    valid_depth,
)

CAMERA = CameraModel.pinhole(4, 3, 2.0)


def test_valid_depth_keeps_the_limits_in_float32_and_fills_the_given_buffers():
    depth = np.array([[np.float32(0.7), 0.69999, 8.0, 8.00001], [np.nan, -np.inf, np.inf, 3.0]], np.float32)
    valid, mask = valid_depth(depth, 0.7, 8.0)  # 0.7 as float32 is below 0.7: the limit compares in float32
    assert valid.dtype == np.float32 and mask.dtype == bool
    np.testing.assert_array_equal(mask, [[True, False, True, False], [False, False, False, True]])
    np.testing.assert_array_equal(valid, np.where(mask, depth, np.nan))
    buffer, flags = np.empty((2, 4), np.float32), np.zeros((2, 4), bool)
    out, out_mask = valid_depth(depth, 0.7, 8.0, buffer, flags)
    assert out is buffer and out_mask is flags
    np.testing.assert_array_equal(flags, mask)
    np.testing.assert_array_equal(buffer, valid)


def test_valid_depth_without_upper_limit_still_refuses_infinity():
    valid, mask = valid_depth(np.array([0.0, 1e30, np.inf], np.float32), 0.0, math.inf)
    np.testing.assert_array_equal(mask, [True, True, False])
    np.testing.assert_array_equal(valid, np.array([0.0, 1e30, np.nan], np.float32))


def test_payload_is_flat_uint8_and_float64_depth_gives_the_float32_cloud():
    depth = np.array([[1.0, 2.0, 3.0, 4.0], [0.1, 0.2, 0.3, np.nan], [5.0, 6.0, 7.0, 8.0]])  # float64 in
    cloud = build_cloud(depth, CAMERA, CloudOptions())
    assert cloud.data.dtype == np.uint8 and cloud.data.shape == (3 * 4 * 16,)
    same = build_cloud(depth.astype(np.float32), CAMERA, CloudOptions())
    assert cloud.data.tobytes() == same.data.tobytes()
    z = cloud.points()[:, 2]
    np.testing.assert_array_equal(z[:11], depth.astype(np.float32).ravel()[:11])
    assert cloud.row_step == 64 and cloud.points().shape == (12, 4)


def test_unorganized_payload_is_flat_too():
    cloud = build_cloud(np.full((3, 4), 2.0, np.float32), CAMERA, CloudOptions(organized=False))
    assert (cloud.height, cloud.width, cloud.is_dense) == (1, 12, True)
    assert cloud.data.shape == (12 * 16,) and cloud.row_step == 12 * 16


def test_organized_cloud_bytes_counts_the_strided_points():
    assert organized_cloud_bytes(480, 640, CloudOptions()) == 480 * 640 * 16
    assert organized_cloud_bytes(481, 641, CloudOptions(stride=2, colour=True)) == 241 * 321 * 32


def test_pack_rgb_writes_b_g_r_0():
    packed = pack_rgb(np.array([[[1, 2, 3], [250, 251, 252]]], np.uint8))
    assert packed.dtype == np.float32 and packed.shape == (1, 2)
    assert packed.view(np.uint8).tolist() == [[1, 2, 3, 0, 250, 251, 252, 0]]


def test_size_mismatch_and_missing_colour_are_clear_errors():
    with pytest.raises(ValueError, match=r"^depth 5x3 does not match the camera 4x3$"):
        build_cloud(np.ones((3, 5), np.float32), CAMERA, CloudOptions())
    for bgr in (None, np.zeros((2, 4, 3), np.uint8)):
        with pytest.raises(ValueError, match=r"^a coloured cloud needs the BGR image at the depth's resolution$"):
            build_cloud(np.ones((3, 4), np.float32), CAMERA, CloudOptions(colour=True), bgr)


@pytest.mark.parametrize(("options", "text"), [
    ({"stride": 0}, r"^cloud stride must be >= 1, got 0$"),
    ({"min_depth": 2.0, "max_depth": 2.0}, r"^need 0 <= cloud min depth < max depth, got 2.0, 2.0$"),
    ({"min_depth": -0.1}, r"^need 0 <= cloud min depth < max depth, got -0.1, inf$"),
])
def test_bad_options_are_refused(options, text):
    with pytest.raises(ValueError, match=text):
        CloudOptions(**options)
    assert CloudOptions(stride=1, min_depth=0.0, max_depth=0.5).max_depth == 0.5


@pytest.mark.parametrize("colour", [False, True])
def test_a_builder_reuses_its_scratch_planes_so_a_frame_allocates_only_its_payload(colour):
    """CloudBuilder's promise: the per-field planes are kept between frames of one size; only the payload is new.

    A plane of this 240x320 image is 300 KiB; the payload is 1.2 or 2.4 MiB. (With colour, the packed rgb plane
    is made per frame: it is the frame's own data.)"""
    camera = CameraModel.pinhole(320, 240, 200.0)
    rng = np.random.default_rng(1)
    bgr = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    options = CloudOptions(colour=colour)
    builder = CloudBuilder()
    builder.build(rng.uniform(0.5, 5.0, (240, 320)).astype(np.float32), camera, options, bgr)
    depth = rng.uniform(0.5, 5.0, (240, 320)).astype(np.float32)
    tracemalloc.start()
    try:
        cloud = builder.build(depth, camera, options, bgr)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    plane = 240 * 320 * 4
    assert peak < cloud.data.nbytes + (plane if colour else 0) + 64 * 1024
    assert cloud.data.tobytes() == build_cloud(depth, camera, options, bgr).data.tobytes()
