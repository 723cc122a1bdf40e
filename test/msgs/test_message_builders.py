"""The message builders with both message implementations: every field of every message they write.

rclpy's generated classes check field types on assignment and serialize through the real rmw; rosbags'
classes serialize to CDR. A builder that writes a wrong step, encoding, endianness or matrix shows here.
"""

from __future__ import annotations

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.transforms import rpy_to_matrix
from depth_anything_ros.msgs.cloud import CloudOptions, build_cloud
from depth_anything_ros.msgs.images import decode_image
from depth_anything_ros.msgs.messages import (
    bgr_image_msg,
    camera_info_msg,
    compressed_image_msg,
    float_image_msg,
    header_msg,
    point_cloud_msg,
    rclpy_kit,
    rosbags_kit,
    tf_message,
)
from depth_anything_ros.msgs.point_cloud2 import FLOAT32, read_points

STORE = get_typestore(Stores.ROS2_JAZZY)
STAMP_NS = 1_700_000_123_000_000_045  # sec 1700000123, nanosec 45
BGR = np.random.default_rng(7).integers(0, 256, (5, 7, 3), dtype=np.uint8)
DEPTH = np.array([[1.5, np.nan, -np.inf, 2.0], [np.inf, 0.25, 80.0, 3.0]], np.float32)


def camera() -> CameraModel:
    k = np.array([[50, 0, 3], [0, 52, 2], [0, 0, 1]])  # integer matrices, as a hand-made camera may have them
    p = np.array([[48, 0, 3, -4], [0, 48, 2, 0], [0, 0, 1, 0]])
    return CameraModel(4, 2, k, p, np.array([-0.1, 0.01, 0.0, 0.0, 0.002]), "plumb_bob", rpy_to_matrix(0.0, 0.1, 0.0))


def rclpy_round_trip(msg):
    from rclpy.serialization import deserialize_message, serialize_message

    return deserialize_message(serialize_message(msg), type(msg))


def rosbags_round_trip(msg):
    return STORE.deserialize_cdr(STORE.serialize_cdr(msg, msg.__msgtype__), msg.__msgtype__)


@pytest.fixture(params=["rclpy", "rosbags"])
def kit_and_trip(request):
    if request.param == "rclpy":
        return rclpy_kit(), rclpy_round_trip
    return rosbags_kit(STORE), rosbags_round_trip


def test_header_carries_the_stamp_split_into_sec_and_nanosec(kit_and_trip):
    kit, _ = kit_and_trip
    header = header_msg(kit, STAMP_NS, "cam_optical")
    assert (header.stamp.sec, header.stamp.nanosec, header.frame_id) == (1_700_000_123, 45, "cam_optical")


def test_depth_image_is_32fc1_little_endian_rows_unpadded(kit_and_trip):
    kit, trip = kit_and_trip
    msg = trip(float_image_msg(kit, header_msg(kit, STAMP_NS, "cam"), DEPTH.astype(np.float64)))  # any float in
    assert (msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian) == ("32FC1", 2, 4, 16, 0)
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (1_700_000_123, 45, "cam")
    np.testing.assert_array_equal(np.frombuffer(bytes(msg.data), "<f4").reshape(2, 4), DEPTH)


def test_colour_image_is_bgr8_and_decodes_to_the_same_pixels(kit_and_trip):
    kit, trip = kit_and_trip
    msg = trip(bgr_image_msg(kit, header_msg(kit, STAMP_NS, "cam"), BGR))
    assert (msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian) == ("bgr8", 5, 7, 21, 0)
    assert msg.header.frame_id == "cam" and msg.header.stamp.nanosec == 45
    assert len(msg.data) == 5 * 7 * 3
    np.testing.assert_array_equal(decode_image(msg), BGR)


def test_compressed_image_defaults_to_jpeg_and_keeps_the_bytes(kit_and_trip):
    kit, trip = kit_and_trip
    data = np.frombuffer(b"\xff\xd8 jpeg bytes \xff\xd9", np.uint8)
    msg = trip(compressed_image_msg(kit, header_msg(kit, STAMP_NS, "cam"), data))
    assert msg.format == "jpeg" and bytes(msg.data) == data.tobytes() and msg.header.frame_id == "cam"
    assert trip(compressed_image_msg(kit, header_msg(kit, 0, "cam"), data, fmt="png")).format == "png"


def test_camera_info_describes_the_published_image_exactly(kit_and_trip):
    kit, trip = kit_and_trip
    model = camera()
    built = camera_info_msg(kit, header_msg(kit, STAMP_NS, "cam"), model)
    assert built.roi.do_rectify is False
    msg = trip(built)
    assert (msg.width, msg.height, msg.distortion_model, msg.header.frame_id) == (4, 2, "plumb_bob", "cam")
    np.testing.assert_array_equal(np.asarray(msg.k, np.float64), [50, 0, 3, 0, 52, 2, 0, 0, 1])
    np.testing.assert_array_equal(np.asarray(msg.p, np.float64), [48, 0, 3, -4, 0, 48, 2, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(np.asarray(msg.r, np.float64), model.r.reshape(9))
    np.testing.assert_array_equal(np.asarray(msg.d, np.float64), [-0.1, 0.01, 0.0, 0.0, 0.002])
    # binning and ROI are already folded into K and P: the message must not ask for them again
    assert (msg.binning_x, msg.binning_y) == (0, 0)
    roi = msg.roi
    assert (roi.x_offset, roi.y_offset, roi.height, roi.width, roi.do_rectify) == (0, 0, 0, 0, False)
    again = CameraModel.from_msg(msg)
    for name in ("k", "p", "r", "d"):
        np.testing.assert_array_equal(getattr(again, name), getattr(model, name))


def test_cloud_message_has_the_payload_layout_in_host_byte_order(kit_and_trip):
    kit, trip = kit_and_trip
    model = CameraModel.pinhole(4, 2, 10.0)
    cloud = build_cloud(DEPTH, model, CloudOptions())
    built = point_cloud_msg(kit, header_msg(kit, STAMP_NS, "cam"), cloud)
    assert built.is_bigendian is False and built.is_dense is False
    msg = trip(built)
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (2, 4, 16, 64)
    assert msg.is_bigendian is False and msg.is_dense is False
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ("x", 0, FLOAT32, 1), ("y", 4, FLOAT32, 1), ("z", 8, FLOAT32, 1)]
    z = read_points(msg, ("z",), skip_nans=False)[:, 0]
    np.testing.assert_array_equal(z, [1.5, np.nan, np.nan, 2.0, np.nan, 0.25, 80.0, 3.0])


def test_tf_message_has_one_transform_per_child_under_the_header():
    kit = rosbags_kit(STORE)
    header = header_msg(kit, STAMP_NS, "base_link")
    msg = rosbags_round_trip(tf_message(STORE.types, header, {
        "camera": (np.array([0.1, -0.2, 1.5]), np.array([0.1, -0.3, 0.5, 0.8])),
        "lidar": (np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.5, 0.5, 0.5]))}))
    assert [t.child_frame_id for t in msg.transforms] == ["camera", "lidar"]
    for t, (xyz, q) in zip(msg.transforms, [((0.1, -0.2, 1.5), (0.1, -0.3, 0.5, 0.8)),
                                            ((1.0, 2.0, 3.0), (0.5, 0.5, 0.5, 0.5))], strict=True):
        assert (t.header.frame_id, t.header.stamp.sec, t.header.stamp.nanosec) == ("base_link", 1_700_000_123, 45)
        tr, rot = t.transform.translation, t.transform.rotation
        assert (tr.x, tr.y, tr.z) == xyz
        assert (rot.x, rot.y, rot.z, rot.w) == q


def test_ros1_kit_writes_upper_case_matrices_and_a_sequence_number():
    ros1 = get_typestore(Stores.ROS1_NOETIC)
    kit = rosbags_kit(ros1)
    assert kit.ros1 and kit.header is ros1.types["std_msgs/msg/Header"]
    msg = camera_info_msg(kit, header_msg(kit, STAMP_NS, "cam"), camera())
    assert msg.header.seq == 0
    np.testing.assert_array_equal(msg.K, [50, 0, 3, 0, 52, 2, 0, 0, 1])
    assert msg.P.dtype == msg.K.dtype == msg.R.dtype == msg.D.dtype == np.float64


def test_kits_name_the_sensor_msgs_classes():
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2, PointField, RegionOfInterest
    from std_msgs.msg import Header

    kit = rclpy_kit()
    assert (kit.image, kit.camera_info, kit.point_cloud2, kit.point_field, kit.region_of_interest) == (
        Image, CameraInfo, PointCloud2, PointField, RegionOfInterest)
    assert (kit.compressed_image, kit.header, kit.time, kit.ros1) == (CompressedImage, Header, Time, False)
    doubles = kit.float64_sequence(np.array([[1, 2], [3, 4]]))
    assert doubles.typecode == "d" and doubles.tolist() == [1.0, 2.0, 3.0, 4.0]
    octets = kit.uint8_sequence(np.array([[1, 2], [3, 255]]))  # any integer array of byte values
    assert octets.typecode == "B" and octets.tolist() == [1, 2, 3, 255]
    types = STORE.types
    bags = rosbags_kit(STORE)
    assert (bags.image, bags.camera_info, bags.point_cloud2, bags.point_field, bags.region_of_interest) == (
        types["sensor_msgs/msg/Image"], types["sensor_msgs/msg/CameraInfo"], types["sensor_msgs/msg/PointCloud2"],
        types["sensor_msgs/msg/PointField"], types["sensor_msgs/msg/RegionOfInterest"])
    assert (bags.compressed_image, bags.header, bags.time, bags.ros1) == (
        types["sensor_msgs/msg/CompressedImage"], types["std_msgs/msg/Header"], types["builtin_interfaces/msg/Time"],
        False)
    as_bytes = bags.uint8_sequence(np.array([[1, 2], [3, 255]]))
    assert as_bytes.dtype == np.uint8 and as_bytes.tolist() == [1, 2, 3, 255]
    as_doubles = bags.float64_sequence(np.array([[1, 2]], np.float32))
    assert as_doubles.dtype == np.float64 and as_doubles.tolist() == [1.0, 2.0]


def test_camera_info_of_an_integer_rotation_is_float64(kit_and_trip):
    kit, trip = kit_and_trip
    k = np.array([[50, 0, 3], [0, 52, 2], [0, 0, 1]])
    model = CameraModel(4, 2, k, np.c_[k, np.zeros(3, int)], np.zeros(5), "plumb_bob", np.eye(3, dtype=int))
    msg = trip(camera_info_msg(kit, header_msg(kit, 0, "cam"), model))
    np.testing.assert_array_equal(np.asarray(msg.r, np.float64), np.eye(3).reshape(9))
    np.testing.assert_array_equal(np.asarray(msg.p, np.float64), [50, 0, 3, 0, 0, 52, 2, 0, 0, 0, 1, 0])
