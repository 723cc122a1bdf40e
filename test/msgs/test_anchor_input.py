"""msgs.anchor_input: LaserScan and PointCloud2 anchor messages (rclpy and rosbags classes) -> points or a reason."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.msgs import XYZ, Field, create_cloud, float32_fields, pack_float32
from depth_anything_ros.msgs.anchor_input import cloud_points, laser_scan_points, oversized_cloud, range_points
from depth_anything_ros.msgs.messages import rclpy_kit, rosbags_kit

STORE = get_typestore(Stores.ROS2_HUMBLE)
TYPES = STORE.types


def rclpy_scan(ranges, range_max=10.0):
    from sensor_msgs.msg import LaserScan

    return LaserScan(angle_min=-0.5, angle_max=0.5, angle_increment=0.5, range_min=0.2, range_max=range_max,
                     ranges=[float(r) for r in ranges])


def rosbags_scan(ranges, range_max=10.0):
    header = TYPES["std_msgs/msg/Header"](stamp=TYPES["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="l")
    msg = TYPES["sensor_msgs/msg/LaserScan"](header=header, angle_min=-0.5, angle_max=0.5, angle_increment=0.5,
                                              time_increment=0.0, scan_time=0.1, range_min=0.2, range_max=range_max,
                                              ranges=np.asarray(ranges, np.float32),
                                              intensities=np.zeros(0, np.float32))
    return STORE.deserialize_cdr(STORE.serialize_cdr(msg, msg.__msgtype__), msg.__msgtype__)  # as read from a bag


@pytest.mark.parametrize("make", [rclpy_scan, rosbags_scan])
def test_laser_scans_of_both_message_classes(make):
    out = laser_scan_points(make([1.0, math.inf, 2.0]))
    assert out.reason is AnchorReason.OK and out.received == 3 and out.dropped == 1
    np.testing.assert_allclose(out.points, [[math.cos(0.5), -math.sin(0.5), 0], [2 * math.cos(0.5),
                                                                                  2 * math.sin(0.5), 0]], atol=1e-6)
    unset = laser_scan_points(make([1.0, 2.0, 3.0], range_max=0.0))
    assert unset.reason is AnchorReason.RANGE_MAX_INVALID and len(unset.points) == 3
    assert laser_scan_points(make([])).reason is AnchorReason.NO_POINTS
    assert laser_scan_points(make([math.nan, -math.inf])).reason is AnchorReason.NO_POINTS


def test_a_message_that_is_not_a_scan_gives_a_reason():
    assert laser_scan_points(object()).reason is AnchorReason.BAD_MESSAGE


def cloud(kit, points: np.ndarray, fields=XYZ, floats: int = 4):
    header = kit.header(stamp=kit.time(sec=1, nanosec=0), frame_id="lidar")
    return create_cloud(kit.point_cloud2, kit.point_field, header, 1, len(points), fields, 4 * floats,
                        pack_float32(points, floats), False, kit.uint8_sequence)


@pytest.mark.parametrize("kit", ["rclpy", "rosbags"])
def test_clouds_of_both_message_classes(kit):
    kit = rclpy_kit() if kit == "rclpy" else rosbags_kit(STORE)
    points = np.array([[1.0, 2.0, 3.0], [np.nan, 0.0, 1.0], [4.0, np.inf, 1.0], [-1.0, 0.5, 7.0]])
    out = cloud_points(cloud(kit, points))
    assert out.reason is AnchorReason.OK and out.received == 4 and out.dropped == 2
    np.testing.assert_allclose(out.points, points[[0, 3]])
    assert cloud_points(cloud(kit, np.zeros((0, 3)))).reason is AnchorReason.NO_POINTS
    all_nan = cloud_points(cloud(kit, np.full((3, 3), np.nan)))
    assert all_nan.reason is AnchorReason.NO_POINTS and "all 3 points" in all_nan.detail
    no_xyz = cloud_points(cloud(kit, np.ones((2, 2)), fields=float32_fields("ab"), floats=2))
    assert no_xyz.reason is AnchorReason.BAD_MESSAGE and "no x, y, z field" in no_xyz.detail
    integer = cloud(kit, np.ones((2, 3)), fields=(Field("x", 0), Field("y", 4, 6), Field("z", 8)))
    assert cloud_points(integer).reason is AnchorReason.BAD_MESSAGE


def test_short_cloud_data_gives_a_reason():
    msg = cloud(rosbags_kit(STORE), np.ones((3, 3)))
    msg.data = msg.data[:-5]
    out = cloud_points(msg)
    assert out.reason is AnchorReason.BAD_MESSAGE and "fewer than" in out.detail


@pytest.mark.parametrize("kit", ["rclpy", "rosbags"])
def test_a_large_cloud_is_read_decimated_and_one_beyond_the_limit_not_at_all(kit):
    kit = rclpy_kit() if kit == "rclpy" else rosbags_kit(STORE)
    points = np.stack([np.arange(1000.0), np.zeros(1000), np.ones(1000)], axis=1)
    decimated = cloud_points(cloud(kit, points), max_points=100)
    assert decimated.reason is AnchorReason.OK and decimated.received == 1000
    np.testing.assert_array_equal(decimated.points, points[::10])  # evenly through the cloud, the first kept
    assert oversized_cloud(cloud(kit, points), 1000) is None and oversized_cloud(cloud(kit, points), 0) is None
    refused = oversized_cloud(cloud(kit, points), 999)
    assert refused.reason is AnchorReason.TOO_LARGE and refused.received == 1000 and not refused.points.size
    assert "anchor_max_cloud_points 999" in refused.detail


def rosbags_range(reading, field_of_view=0.2, max_range=20.0):
    header = TYPES["std_msgs/msg/Header"](stamp=TYPES["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="r")
    return TYPES["sensor_msgs/msg/Range"](header=header, radiation_type=1, field_of_view=field_of_view,
                                          min_range=0.2, max_range=max_range, range=reading)


def rclpy_range(reading, field_of_view=0.2, max_range=20.0):
    from sensor_msgs.msg import Range

    return Range(radiation_type=1, field_of_view=float(field_of_view), min_range=0.2, max_range=float(max_range),
                 range=float(reading))


@pytest.mark.parametrize("make_range", [rclpy_range, rosbags_range])
def test_a_rangefinder_reading_is_a_disc_of_points_at_its_distance(make_range):
    out = range_points(make_range(4.0, field_of_view=0.2))
    assert out.reason is AnchorReason.OK and out.received == len(out.points) > 100
    np.testing.assert_array_equal(out.points[:, 0], 4.0)  # facing the sensor at the reading
    radius = np.hypot(out.points[:, 1], out.points[:, 2])
    assert radius.max() == pytest.approx(4.0 * math.tan(0.1)) and radius.min() < 0.1
    single = range_points(make_range(4.0, field_of_view=0.0))
    np.testing.assert_array_equal(single.points, [[4.0, 0.0, 0.0]])
    for reading in (math.inf, -math.inf, math.nan, 0.1, 25.0):  # REP 117 values, below min_range, above max_range
        assert range_points(make_range(reading)).reason is AnchorReason.NO_POINTS, reading
    unset = range_points(make_range(30.0, max_range=0.0))
    assert unset.reason is AnchorReason.RANGE_MAX_INVALID and len(unset.points) > 100
    assert range_points(object()).reason is AnchorReason.BAD_MESSAGE
