"""LiDAR ground truth: tf buffer, z-buffer and occlusion against analytic depth (projection: test_camera_model)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core.depth_points import OcclusionFilter, sparse_depth, zbuffer
from depth_anything_ros.core.transforms import (
    Transform,
    TransformBuffer,
    TransformError,
    load_extrinsics,
    matrix_to_quaternion,
    quaternion_to_matrix,
    rpy_to_matrix,
)
from depth_anything_ros.synthetic import SyntheticRig

TYPES = get_typestore(Stores.ROS2_HUMBLE).types
S = 1_000_000_000


def relative_errors(sparse: np.ndarray, truth: np.ndarray) -> np.ndarray:
    valid = np.isfinite(sparse)
    return np.abs(sparse[valid] - truth[valid]) / truth[valid]


def test_projection_with_zbuffer_and_occlusion_matches_the_analytic_depth():
    rig = SyntheticRig()
    truth = rig.true_depth()
    points = rig.lidar_in_camera.apply(rig.lidar_scan())
    raw = sparse_depth(points, rig.camera(), occlusion=None)
    filtered = sparse_depth(points, rig.camera())
    raw_errors, kept_errors = relative_errors(raw, truth), relative_errors(filtered, truth)
    hidden = raw_errors > 0.1  # seen by the LiDAR, hidden from the camera (parallax)
    assert hidden.sum() >= 20, "the rig must produce parallax-hidden points for this test to mean anything"
    assert (kept_errors > 0.1).sum() <= 0.05 * hidden.sum()  # hidden points removed (edge rounding may keep one)
    assert np.median(kept_errors) < 0.01  # what is kept is the surface the camera sees
    assert np.isfinite(filtered).sum() >= 0.85 * (np.isfinite(raw).sum() - hidden.sum())  # visible points kept


def test_zbuffer_keeps_the_nearest_point_per_pixel_and_rounds_to_pixel_centres():
    u = np.array([1.4, 1.0, 0.6, 2.51, -0.6, 3.0])
    v = np.array([0.0, 0.2, -0.4, 1.0, 0.0, 5.0])
    z = np.array([5.0, 3.0, 4.0, 7.0, 1.0, 2.0])
    depth = zbuffer(u, v, z, height=2, width=4)
    assert depth[0, 1] == 3.0 and depth[1, 3] == 7.0
    assert np.isnan(depth).sum() == 6  # off-image points (u -0.6 and v 5) are dropped


def test_quaternions_and_rpy_agree():
    r = rpy_to_matrix(0.3, -0.2, 1.1)
    np.testing.assert_allclose(quaternion_to_matrix(matrix_to_quaternion(r)), r, atol=1e-12)
    # tf2's quaternion for yaw 90 degrees
    np.testing.assert_allclose(rpy_to_matrix(0, 0, math.pi / 2), quaternion_to_matrix([0, 0, math.sqrt(0.5),
                                                                                     math.sqrt(0.5)]), atol=1e-12)


def test_buffer_chains_static_and_interpolates_dynamic_edges():
    buffer = TransformBuffer()
    lidar_on_base = Transform(rpy_to_matrix(0, 0, 0.1), np.array([1.0, 0, 1.5]))
    buffer.add_static("base_link", "lidar", lidar_on_base)
    buffer.add_static("base_link", "camera", Transform(rpy_to_matrix(-math.pi / 2, 0, -math.pi / 2),
                                                       np.array([1.2, 0, 1.3])))
    buffer.add("odom", "base_link", 0, Transform(np.eye(3), np.zeros(3)))
    buffer.add("odom", "base_link", S, Transform(rpy_to_matrix(0, 0, 0.2), np.array([2.0, 0, 0])))
    point = np.array([[3.0, 1.0, 0.5]])
    camera_from_lidar = buffer.lookup("camera", "lidar", S // 2)
    expected = buffer.lookup("base_link", "camera", 0).inverse() @ lidar_on_base
    np.testing.assert_allclose(camera_from_lidar.apply(point), expected.apply(point))
    mid = buffer.lookup("odom", "base_link", S // 2)
    np.testing.assert_allclose(mid.translation, [1.0, 0, 0])
    np.testing.assert_allclose(mid.rotation, rpy_to_matrix(0, 0, 0.1), atol=1e-12)
    # a point fixed in odom, seen from the lidar at two times, maps to the same camera point via odom
    moving = buffer.lookup_moving("camera", S, "lidar", 0, fixed="odom")
    world = buffer.lookup("odom", "lidar", 0).apply(point)
    np.testing.assert_allclose(moving.apply(point), buffer.lookup("camera", "odom", S).apply(world))


def test_buffer_errors_name_the_frames():
    buffer = TransformBuffer()
    buffer.add_static("base_link", "camera", Transform())
    buffer.add_static("mount", "velodyne", Transform())
    with pytest.raises(TransformError, match=r"'camera' and 'velodyne'.*not connected"):
        buffer.lookup("camera", "velodyne", 0)
    buffer.add("odom", "base_link", S, Transform())
    buffer.add("odom", "base_link", 2 * S, Transform())
    with pytest.raises(TransformError, match="extrapolation"):
        buffer.lookup("odom", "camera", 5 * S)


def test_extrinsics_yaml(tmp_path):
    path = tmp_path / "extrinsics.yaml"
    path.write_text("extrinsics:\n"
                    "  - {parent: base_link, child: lidar, translation: [1, 0, 1.5], rotation: [0, 0, 0, 1]}\n"
                    "  - {parent: base_link, child: camera, translation: [1.2, 0, 1.3], rpy: [-1.5708, 0, -1.5708]}\n")
    buffer = TransformBuffer()
    assert load_extrinsics(path, buffer) == 2
    assert np.allclose(buffer.lookup("base_link", "lidar", 0).translation, [1, 0, 1.5])
    path.write_text("extrinsics:\n  - {parent: a, child: b}\n")
    with pytest.raises(ValueError, match="translation"):
        load_extrinsics(path, TransformBuffer())


def test_tf_messages_feed_the_buffer():
    def stamped(parent, child, x, sec):
        return TYPES["geometry_msgs/msg/TransformStamped"](
            header=TYPES["std_msgs/msg/Header"](stamp=TYPES["builtin_interfaces/msg/Time"](sec=sec, nanosec=0),
                                                frame_id=parent),
            child_frame_id=child,
            transform=TYPES["geometry_msgs/msg/Transform"](
                translation=TYPES["geometry_msgs/msg/Vector3"](x=x, y=0.0, z=0.0),
                rotation=TYPES["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0)))
    buffer = TransformBuffer()
    buffer.add_message(TYPES["tf2_msgs/msg/TFMessage"](transforms=[stamped("/base", "cam", 0.5, 0)]), static=True)
    buffer.add_message(TYPES["tf2_msgs/msg/TFMessage"](transforms=[stamped("odom", "base", 0.0, 1)]), static=False)
    buffer.add_message(TYPES["tf2_msgs/msg/TFMessage"](transforms=[stamped("odom", "base", 4.0, 3)]), static=False)
    assert np.allclose(buffer.lookup("odom", "cam", 2 * S).translation, [2.5, 0, 0])


def test_occlusion_filter_validates_its_window():
    with pytest.raises(ValueError, match="odd"):
        OcclusionFilter(window=4)
