"""msgs.point_cloud2: PointField constants, reading any float layout, and creating clouds for both message classes."""

from __future__ import annotations

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.msgs import (
    FLOAT32,
    FLOAT64,
    RGB,
    XYZ,
    Field,
    create_cloud,
    float32_fields,
    pack_float32,
    point_cloud2,
    read_points,
)
from depth_anything_ros.msgs.messages import rclpy_kit, rclpy_uint8, rosbags_kit

STORE = get_typestore(Stores.ROS2_HUMBLE)
TYPES = STORE.types


def test_datatype_constants_are_sensor_msgs_pointfield_constants():
    from sensor_msgs.msg import PointField

    for name in ("INT8", "UINT8", "INT16", "UINT16", "INT32", "UINT32", "FLOAT32", "FLOAT64"):
        assert getattr(point_cloud2, name) == getattr(PointField, name), name


def test_depth_image_proc_layout():
    assert (Field("x", 0, FLOAT32, 1), Field("y", 4, FLOAT32, 1), Field("z", 8, FLOAT32, 1)) == XYZ
    assert Field("rgb", 16, FLOAT32, 1) == RGB
    assert float32_fields("ab", start=8) == (Field("a", 8), Field("b", 12))


def cloud_msg(points: np.ndarray, datatype: int = FLOAT32, pad: int = 4, big_endian: bool = False):
    """A hand-laid cloud (padding after z, either byte order) to read back: written without the module under test."""
    size = 4 if datatype == FLOAT32 else 8
    dtype = np.dtype(f"{'>' if big_endian else '<'}f{size}")
    step = 3 * size + pad
    data = np.zeros((len(points), step), np.uint8)
    for i in range(3):
        data[:, i * size:(i + 1) * size] = points[:, i].astype(dtype).view(np.uint8).reshape(-1, size)
    fields = [TYPES["sensor_msgs/msg/PointField"](name=n, offset=i * size, datatype=datatype, count=1)
              for i, n in enumerate("xyz")]
    header = TYPES["std_msgs/msg/Header"](stamp=TYPES["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="l")
    return TYPES["sensor_msgs/msg/PointCloud2"](header=header, height=1, width=len(points), fields=fields,
                                                is_bigendian=big_endian, point_step=step, row_step=step * len(points),
                                                data=data.reshape(-1), is_dense=False)


@pytest.mark.parametrize(("datatype", "big_endian"), [(FLOAT32, False), (FLOAT64, False), (FLOAT32, True)])
def test_read_points_reads_any_float_layout_and_drops_nan(datatype, big_endian):
    points = np.array([[1.0, 2.0, 3.0], [np.nan, 0, 0], [-4.5, 0.25, 8.0]])
    out = read_points(cloud_msg(points, datatype, big_endian=big_endian))
    np.testing.assert_allclose(out, points[[0, 2]])
    assert read_points(cloud_msg(np.zeros((0, 3)))).shape == (0, 3)
    kept = read_points(cloud_msg(points, datatype, big_endian=big_endian), names=("z", "x"), skip_nans=False)
    np.testing.assert_allclose(kept, points[:, [2, 0]])


def test_read_points_refuses_missing_fields_integer_fields_and_short_data():
    msg = cloud_msg(np.ones((3, 3)))
    with pytest.raises(ValueError, match="no intensity field"):
        read_points(msg, names=("x", "intensity"))
    msg.fields[1].datatype = point_cloud2.UINT32
    with pytest.raises(ValueError, match="field y has datatype 6; float32 \\(7\\) or float64 \\(8\\)"):
        read_points(msg)
    short = cloud_msg(np.ones((3, 3)))
    short.data = short.data[:-1]
    with pytest.raises(ValueError, match="fewer than"):
        read_points(short)


def organized(height: int = 2, width: int = 3) -> np.ndarray:
    return np.arange(height * width * 3, dtype=np.float32).reshape(height * width, 3) - 4.5


def test_created_rosbags_cloud_survives_cdr_and_reads_back():
    kit = rosbags_kit(STORE)
    header = TYPES["std_msgs/msg/Header"](stamp=TYPES["builtin_interfaces/msg/Time"](sec=3, nanosec=4), frame_id="c")
    points = organized()
    msg = create_cloud(kit.point_cloud2, kit.point_field, header, 2, 3, XYZ, 16, pack_float32(points, 4), False,
                       kit.uint8_sequence)
    back = STORE.deserialize_cdr(STORE.serialize_cdr(msg, msg.__msgtype__), msg.__msgtype__)
    assert (back.height, back.width, back.point_step, back.row_step, back.is_dense) == (2, 3, 16, 48, False)
    assert [(f.name, f.offset, f.datatype, f.count) for f in back.fields] == [tuple(f) for f in XYZ]
    np.testing.assert_array_equal(read_points(back), points)


def test_created_rclpy_cloud_reads_back():
    kit = rclpy_kit()
    from std_msgs.msg import Header

    points = organized(1, 4)
    msg = create_cloud(kit.point_cloud2, kit.point_field, Header(frame_id="c"), 1, 4, XYZ, 16,
                       pack_float32(points, 4), True, rclpy_uint8)
    assert type(msg).__name__ == "PointCloud2" and msg.fields[2].datatype == FLOAT32
    np.testing.assert_array_equal(read_points(msg), points)


def test_create_cloud_refuses_data_that_does_not_fit_the_layout():
    kit = rosbags_kit(STORE)
    with pytest.raises(ValueError, match="points of 16 bytes need 64"):
        create_cloud(kit.point_cloud2, kit.point_field, None, 2, 2, XYZ, 16, np.zeros(60, np.uint8), True)


def test_float32_fields_start_at_byte_zero_by_default():
    assert float32_fields("ab") == (Field("a", 0), Field("b", 4))


def padded_rows(points: np.ndarray, width: int, row_pad: int) -> tuple[np.ndarray, int]:
    """Little-endian float32 x, y, z points, 12 bytes each, with ``row_pad`` bytes of 0xEE after every row."""
    rows = points.astype("<f4").view(np.uint8).reshape(-1, width * 12)
    padded = np.concatenate([rows, np.full((len(rows), row_pad), 0xEE, np.uint8)], axis=1)
    return padded.reshape(-1), width * 12 + row_pad


def test_read_points_honours_row_step_padding():
    points = organized(2, 3)
    data, row_step = padded_rows(points, 3, row_pad=8)
    msg = cloud_msg(points)
    msg.height, msg.width, msg.point_step, msg.row_step, msg.data = 2, 3, 12, row_step, data
    np.testing.assert_array_equal(read_points(msg), points)


def test_a_one_point_cloud_reads_its_point():
    np.testing.assert_array_equal(read_points(cloud_msg(np.array([[1.0, -2.0, 3.5]]))), [[1.0, -2.0, 3.5]])


def test_read_points_error_lists_the_fields_there():
    msg = cloud_msg(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^point cloud has no intensity, ring field\(s\); fields: x, y, z$"):
        read_points(msg, names=("x", "intensity", "ring"))
    msg.fields = []
    with pytest.raises(ValueError, match=r"^point cloud has no x, y, z field\(s\); fields: none$"):
        read_points(msg)


def test_pack_float32_gives_flat_bytes_padded_with_zeros():
    packed = pack_float32(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), 4)
    assert packed.dtype == np.uint8 and packed.shape == (32,)
    np.testing.assert_array_equal(packed.view("<f4"), [1, 2, 3, 0, 4, 5, 6, 0])
    assert pack_float32(np.zeros((0, 3)), 4).shape == (0,)


def test_create_cloud_flattens_the_payload_and_writes_the_byte_order_it_is_given():
    kit = rosbags_kit(STORE)
    payload = pack_float32(organized(1, 2), 4).reshape(2, 16)  # one row of bytes per point
    msg = create_cloud(kit.point_cloud2, kit.point_field, None, 1, 2, XYZ, 16, payload, True)
    assert msg.data.shape == (32,) and msg.data.dtype == np.uint8 and msg.is_bigendian is point_cloud2.HOST_BIG_ENDIAN
    as_ints = create_cloud(kit.point_cloud2, kit.point_field, None, 1, 2, XYZ, 16, payload.tolist(), True)
    assert as_ints.data.dtype == np.uint8 and as_ints.data.tobytes() == payload.tobytes()
    big = create_cloud(kit.point_cloud2, kit.point_field, None, 1, 2, XYZ, 16, payload, True, is_bigendian=True)
    assert big.is_bigendian is True
