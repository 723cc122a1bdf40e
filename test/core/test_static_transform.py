"""core.transforms: static_transform_publisher's conventions and 4x4 extrinsics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depth_anything_ros.core.transforms import Transform, parse_static_transform, quaternion_to_matrix, rpy_to_matrix

HALF = math.sqrt(0.5)


def test_positional_quaternion_with_frames():
    static = parse_static_transform(f"0.1 -0.2 0.3 0 0 {HALF} {HALF} base_link laser")
    assert (static.frame_id, static.child_frame_id) == ("base_link", "laser")
    np.testing.assert_allclose(static.transform.apply([[1.0, 0, 0]]), [[0.1, 0.8, 0.3]], atol=1e-12)  # yaw 90


def test_positional_yaw_pitch_roll_comes_yaw_first():
    static = parse_static_transform(["1", "2", "3", "0.3", "-0.2", "0.1"])
    np.testing.assert_allclose(static.transform.rotation, rpy_to_matrix(0.1, -0.2, 0.3), atol=1e-12)
    assert static.frame_id == "" and np.allclose(static.transform.translation, [1, 2, 3])


def test_flags_as_ros2_static_transform_publisher_takes_them():
    static = parse_static_transform("--x 1 --qz 1 --qw 0 --frame-id camera --child-frame-id lidar")
    np.testing.assert_allclose(static.transform.rotation, quaternion_to_matrix([0, 0, 1, 0]), atol=1e-12)
    np.testing.assert_allclose(static.transform.translation, [1, 0, 0])
    assert static.child_frame_id == "lidar"
    rpy = parse_static_transform("--roll 0.5 --yaw -1")
    np.testing.assert_allclose(rpy.transform.rotation, rpy_to_matrix(0.5, 0, -1), atol=1e-12)


@pytest.mark.parametrize("args", ["1 2 3", "1 2 3 0 0 0 0", "1 2 x 0 0 0 1", "--x 1 --qz", "--x 1 --bogus 2",
                                  "--qx 1 --roll 1", "nan 0 0 0 0 0 1"])
def test_bad_arguments_name_the_convention(args):
    with pytest.raises(ValueError, match="expected 'x y z qx qy qz qw"):
        parse_static_transform(args)


def test_4x4_matrices_round_trip_and_are_checked():
    transform = Transform(rpy_to_matrix(0.1, 0.2, 0.3), np.array([1.0, -2.0, 0.5]))
    matrix = transform.matrix()
    point = np.array([0.3, 0.4, 5.0])
    np.testing.assert_allclose(matrix @ np.r_[point, 1.0], np.r_[transform.apply(point[None])[0], 1.0])
    back = Transform.from_matrix(matrix)
    np.testing.assert_allclose(back.rotation, transform.rotation)
    with pytest.raises(ValueError, match="not a rotation"):
        Transform.from_matrix(np.diag([2.0, 1, 1, 1]))
    with pytest.raises(ValueError, match="4x4 or 3x4"):
        Transform.from_matrix(np.eye(3))
