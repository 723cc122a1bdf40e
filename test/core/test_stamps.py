"""core.stamps: the one stamp <-> nanoseconds conversion, through real message classes of both kinds."""

from __future__ import annotations

import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core import NS_PER_S, ns_of, stamp_ns, stamp_parts
from depth_anything_ros.msgs import header_stamp
from depth_anything_ros.msgs.messages import header_msg, rclpy_kit, rosbags_kit


@pytest.mark.parametrize("ns", [0, 1, NS_PER_S - 1, NS_PER_S, 1_700_000_123_456_789_012])
def test_parts_and_nanoseconds_are_inverse(ns):
    sec, nanosec = stamp_parts(ns)
    assert 0 <= nanosec < NS_PER_S and ns_of(sec, nanosec) == ns


def test_negative_stamps_keep_nanosec_in_range():
    assert stamp_parts(-1) == (-1, NS_PER_S - 1)


@pytest.mark.parametrize("store", [Stores.ROS2_HUMBLE, Stores.ROS1_NOETIC])
def test_headers_of_rosbags_classes_round_trip_through_serialization(store):
    typestore = get_typestore(store)
    ns = 1_700_000_123_456_789_012
    header = header_msg(rosbags_kit(typestore), ns, "cam")
    assert stamp_ns(header) == ns and header.frame_id == "cam"
    ros2 = store == Stores.ROS2_HUMBLE
    raw = typestore.serialize_cdr(header, header.__msgtype__) if ros2 else \
        typestore.serialize_ros1(header, header.__msgtype__)
    assert header_stamp(raw, ros2) == ns  # the stamp read from bytes without decoding agrees


def test_headers_of_rclpy_classes():
    header = header_msg(rclpy_kit(), 5 * NS_PER_S + 7, "cam")
    assert type(header).__module__.startswith("std_msgs") and stamp_ns(header) == 5 * NS_PER_S + 7
