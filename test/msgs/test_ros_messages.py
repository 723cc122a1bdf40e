"""Conversions with the real ROS 2 message classes (rosbags typestores), CDR round-trips, clouds, cameras."""

from __future__ import annotations

import array
import math

import cv2
import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core import InputError
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.msgs import FLOAT32, Field
from depth_anything_ros.msgs.cloud import CloudBuilder, CloudOptions, build_cloud, organized_cloud_bytes
from depth_anything_ros.msgs.images import decode_compressed, decode_image
from depth_anything_ros.msgs.messages import (
    camera_info_msg,
    compressed_image_msg,
    float_image_msg,
    header_msg,
    point_cloud_msg,
    rosbags_kit,
    typed_array,
)

STORES = {"humble": get_typestore(Stores.ROS2_HUMBLE), "jazzy": get_typestore(Stores.ROS2_JAZZY)}
TS = STORES["humble"]
T = TS.types


def header(sec: int = 12, nanosec: int = 345, frame: str = "cam_optical"):
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec), frame_id=frame)


def image_msg(pixels: np.ndarray, encoding: str, pad: int = 0, big_endian: bool = False):
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1)
    if big_endian:
        rows = rows.astype(rows.dtype.newbyteorder(">"))
    raw = rows.view(np.uint8).reshape(height, -1)
    padded = np.concatenate([raw, np.full((height, pad), 0xAB, np.uint8)], axis=1)
    return T["sensor_msgs/msg/Image"](header=header(), height=height, width=width, encoding=encoding,
                                      is_bigendian=int(big_endian), step=padded.shape[1], data=padded.reshape(-1))


def cdr_round_trip(msg, store=TS):
    return store.deserialize_cdr(store.serialize_cdr(msg, msg.__msgtype__), msg.__msgtype__)


def camera_info(width=64, height=48, fx=50.0, fy=52.0, cx=31.5, cy=23.5, d=(), model="plumb_bob", binning=(0, 0),
                roi=(0, 0, 0, 0)):
    k = np.array([fx, 0, cx, 0, fy, cy, 0, 0, 1], np.float64)
    p = np.array([fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0], np.float64)
    return T["sensor_msgs/msg/CameraInfo"](
        header=header(), height=height, width=width, distortion_model=model, d=np.array(d, np.float64), k=k,
        r=np.eye(3).reshape(-1), p=p, binning_x=binning[0], binning_y=binning[1],
        roi=T["sensor_msgs/msg/RegionOfInterest"](x_offset=roi[0], y_offset=roi[1], height=roi[2], width=roi[3],
                                                  do_rectify=False))


BGR = np.random.default_rng(0).integers(0, 256, (6, 10, 3), dtype=np.uint8)


@pytest.mark.parametrize(("encoding", "pixels"), [
    ("bgr8", BGR), ("rgb8", BGR[..., ::-1]), ("bgra8", np.dstack([BGR, np.full(BGR.shape[:2], 7, np.uint8)])),
    ("rgba8", np.dstack([BGR[..., ::-1], np.zeros(BGR.shape[:2], np.uint8)])),
    ("bgr16", BGR.astype(np.uint16) << 8 | 0x55),
])
@pytest.mark.parametrize("pad", [0, 3])
def test_colour_encodings_decode_to_the_same_bgr(encoding, pixels, pad):
    msg = cdr_round_trip(image_msg(np.ascontiguousarray(pixels), encoding, pad))
    np.testing.assert_array_equal(decode_image(msg), BGR)


def test_mono_and_big_endian_16_bit():
    gray = BGR[..., 1]
    np.testing.assert_array_equal(decode_image(image_msg(gray, "mono8", pad=2)), np.dstack([gray] * 3))
    mono16 = gray.astype(np.uint16) << 8
    for big in (False, True):
        np.testing.assert_array_equal(decode_image(image_msg(mono16, "mono16", 4, big)), np.dstack([gray] * 3))


def test_packed_yuv_orders():
    b_, g_, r_ = np.array([40, 160, 220]) / 255.0  # BT.601 limited range, as cameras send 4:2:2
    yuv = np.rint([16 + 65.481 * r_ + 128.553 * g_ + 24.966 * b_, 128 - 37.797 * r_ - 74.203 * g_ + 112.0 * b_,
                   128 + 112.0 * r_ - 93.786 * g_ - 18.214 * b_]).astype(np.uint8)
    y, u, v = (np.full((4, 8), value, np.uint8) for value in yuv)
    uyvy = np.zeros((4, 8, 2), np.uint8)
    uyvy[:, 0::2, 0], uyvy[:, 1::2, 0], uyvy[..., 1] = u[:, 0::2], v[:, 0::2], y
    yuyv = uyvy[..., ::-1].copy()
    a = decode_image(image_msg(uyvy, "uyvy"))
    b = decode_image(image_msg(uyvy, "yuv422"))
    c = decode_image(image_msg(yuyv, "yuyv"))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert np.abs(a.astype(int) - (40, 160, 220)).max() <= 3


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
def test_bayer_patterns_recover_the_scene_colour(pattern):
    bgr = np.zeros((16, 16, 3), np.uint8)
    bgr[:] = (30, 90, 200)  # orange-red
    channel = {"r": 2, "g": 1, "b": 0}
    mosaic = np.zeros((16, 16), np.uint8)
    for index, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        mosaic[dy::2, dx::2] = bgr[dy::2, dx::2, channel[pattern[index]]]
    decoded = decode_image(image_msg(mosaic, f"bayer_{pattern}8"))
    assert np.abs(decoded[4:-4, 4:-4].astype(int) - (30, 90, 200)).max() <= 2
    decoded16 = decode_image(image_msg(mosaic.astype(np.uint16) << 8, f"bayer_{pattern}16"))
    np.testing.assert_array_equal(decoded16, decoded)


@pytest.mark.parametrize(("mutate", "kind", "text"), [
    (lambda m: setattr(m, "encoding", "nv12"), "encoding", "unsupported image encoding 'nv12'"),
    (lambda m: setattr(m, "data", m.data[:-5]), "size", "step x height needs"),
    (lambda m: setattr(m, "step", 5), "size", "step 5 is shorter"),
    (lambda m: (setattr(m, "width", 0), setattr(m, "height", 0)), "size", "zero-size image"),
])
def test_bad_images_raise_clear_input_errors(mutate, kind, text):
    msg = image_msg(BGR, "bgr8")
    mutate(msg)
    with pytest.raises(InputError, match=text) as error:
        decode_image(msg)
    assert error.value.kind == kind


def test_compressed_jpeg_png_and_corrupt():
    for ext, fmt in ((".jpg", "jpeg"), (".png", "png")):
        _, data = cv2.imencode(ext, BGR)
        msg = cdr_round_trip(T["sensor_msgs/msg/CompressedImage"](header=header(), format=fmt, data=data.reshape(-1)))
        decoded = decode_compressed(msg)
        assert decoded.shape == BGR.shape
        if fmt == "png":
            np.testing.assert_array_equal(decoded, BGR)
    broken = T["sensor_msgs/msg/CompressedImage"](header=header(), format="jpeg", data=data.reshape(-1)[:20])
    with pytest.raises(InputError, match="corrupt or unsupported compressed image"):
        decode_compressed(broken)


@pytest.mark.parametrize("store", ["humble", "jazzy"])
def test_depth_image_is_rep118_and_round_trips_through_cdr(store):
    kit = rosbags_kit(STORES[store])
    depth = np.array([[1.5, np.nan, -np.inf], [np.inf, 0.25, 80.0]], np.float32)
    msg = float_image_msg(kit, header(), depth)
    back = cdr_round_trip(msg, STORES[store])
    assert (back.encoding, back.step, back.height, back.width, back.is_bigendian) == ("32FC1", 12, 2, 3, 0)
    assert (back.header.stamp.sec, back.header.stamp.nanosec, back.header.frame_id) == (12, 345, "cam_optical")
    np.testing.assert_array_equal(np.frombuffer(back.data, "<f4").reshape(2, 3), depth)


def test_camera_model_applies_binning_and_roi_like_image_geometry():
    info = camera_info(width=320, height=240, fx=600, fy=610, cx=330, cy=250, binning=(2, 2), roi=(10, 20, 480, 640))
    model = CameraModel.from_msg(info)
    assert model.p[0, 0] == 300 and model.p[1, 1] == 305
    assert model.p[0, 2] == (330 - 10) / 2 and model.p[1, 2] == (250 - 20) / 2
    assert model.k[0, 2] == model.p[0, 2]


def test_camera_info_scaling_is_exact_for_decimation():
    model = CameraModel.from_msg(camera_info(width=641, height=481, fx=500, fy=500, cx=320.5, cy=240.5))
    half = model.scaled(2)
    assert (half.width, half.height) == (321, 241)  # pixels 0, 2, ..., 640
    u, v, z = 640.0, 480.0, 3.0
    x, y = (u - 320.5) / 500 * z, (v - 240.5) / 500 * z
    # the same 3D point projects to pixel u/2, v/2 of the decimated image
    assert half.p[0, 0] * x / z + half.p[0, 2] == pytest.approx(u / 2, abs=1e-12)
    assert half.p[1, 1] * y / z + half.p[1, 2] == pytest.approx(v / 2, abs=1e-12)
    msg = cdr_round_trip(camera_info_msg(rosbags_kit(TS), header(), half))
    assert (msg.width, msg.height, msg.binning_x, msg.roi.width) == (321, 241, 0, 0)
    np.testing.assert_array_equal(msg.p.reshape(3, 4), half.p)


@pytest.mark.parametrize(("change", "text"), [
    ({"fx": 0.0}, "focal lengths"), ({"fy": math.nan}, "non-finite"), ({"cx": math.inf}, "non-finite"),
])
def test_zero_or_non_finite_intrinsics_are_refused(change, text):
    with pytest.raises(InputError, match=text):
        CameraModel.from_msg(camera_info(**change))


def test_organized_cloud_matches_depth_image_proc_equations():
    model = CameraModel.from_msg(camera_info())
    depth = np.full((48, 64), 2.0, np.float32)
    depth[0, 0], depth[1, 1], depth[2, 2] = np.nan, -np.inf, np.inf
    cloud = build_cloud(depth, model, CloudOptions())
    assert (cloud.height, cloud.width, cloud.point_step, cloud.row_step, cloud.is_dense) == (48, 64, 16, 1024, False)
    assert cloud.fields == (Field("x", 0, FLOAT32), Field("y", 4, FLOAT32), Field("z", 8, FLOAT32))
    points = cloud.points().reshape(48, 64, 4)
    v, u = 10, 40
    assert points[v, u, 0] == pytest.approx((u - 31.5) * 2.0 / 50.0, rel=1e-6)
    assert points[v, u, 1] == pytest.approx((v - 23.5) * 2.0 / 52.0, rel=1e-6)
    assert points[v, u, 2] == 2.0
    for i in range(3):
        assert np.isnan(points[i, i, :3]).all()  # NaN, -Inf and +Inf depth are all invalid points


def test_unorganized_strided_ranged_coloured_cloud():
    model = CameraModel.from_msg(camera_info())
    depth = np.linspace(0.5, 10, 48 * 64, dtype=np.float32).reshape(48, 64)
    bgr = np.zeros((48, 64, 3), np.uint8)
    bgr[...] = (10, 20, 30)
    options = CloudOptions(organized=False, stride=2, min_depth=1.0, max_depth=8.0, colour=True)
    cloud = build_cloud(depth, model, options, bgr)
    sub = depth[::2, ::2]
    expected = int(((sub >= 1.0) & (sub <= 8.0)).sum())
    assert (cloud.height, cloud.width, cloud.point_step, cloud.is_dense) == (1, expected, 32, True)
    assert cloud.fields[-1] == Field("rgb", 16, FLOAT32, 1)
    raw = cloud.data.reshape(-1, 32)
    assert raw[0, 16:20].tolist() == [10, 20, 30, 0]  # b, g, r as depth_image_proc's iterators write them
    z = cloud.points()[:, 2]
    assert z.min() >= 1.0 and z.max() <= 8.0
    msg = cdr_round_trip(point_cloud_msg(rosbags_kit(TS), header(), cloud))
    assert [f.name for f in msg.fields] == ["x", "y", "z", "rgb"] and [f.datatype for f in msg.fields] == [FLOAT32] * 4
    assert msg.row_step == expected * 32 and msg.is_dense and len(msg.data) == expected * 32


def per_point_cloud(depth, model, options, bgr):
    """The straightforward reference: one pixel at a time, as depth_image_proc's loops do."""
    ray_x, ray_y = (np.broadcast_to(r, depth.shape) for r in model.rays(options.rectified))
    low, high = np.float32(options.min_depth), np.float32(options.max_depth)  # limits in the depth's type
    points = []
    for v in range(0, depth.shape[0], options.stride):
        for u in range(0, depth.shape[1], options.stride):
            z = float(depth[v, u])
            if math.isfinite(z) and low <= z <= high:
                xyz = [float(ray_x[v, u]) * z, float(ray_y[v, u]) * z, z]
            elif options.organized:
                xyz = [math.nan] * 3
            else:
                continue
            rgb = [np.frombuffer(bytes([*bgr[v, u], 0]), np.float32)[0], 0.0, 0.0, 0.0] if options.colour else []
            points.append([*xyz, 0.0, *rgb])
    return np.array(points, np.float32).reshape(-1, 8 if options.colour else 4)


@pytest.mark.parametrize("organized", [True, False])
@pytest.mark.parametrize("stride", [1, 3])
@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("rectified", [True, False])
@pytest.mark.parametrize("limits", [(0.0, math.inf), (0.7, 8.0)])
def test_cloud_equals_the_per_point_reference(organized, stride, colour, rectified, limits):
    model = CameraModel.from_msg(camera_info(width=17, height=13, cx=8.2, cy=5.9, d=(-0.2, 0.05, 0.001, 0.0, 0.0)))
    rng = np.random.default_rng(stride)
    depth = rng.uniform(0.2, 12.0, (13, 17)).astype(np.float32)
    depth[rng.random(depth.shape) < 0.1] = np.nan
    depth[rng.random(depth.shape) < 0.05] = -np.inf
    depth[rng.random(depth.shape) < 0.05] = np.inf
    depth[4, 4], depth[5, 5] = 0.7, 8.0  # the limits themselves are valid
    bgr = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    options = CloudOptions(organized=organized, stride=stride, min_depth=limits[0], max_depth=limits[1],
                           colour=colour, rectified=rectified)
    cloud = build_cloud(depth, model, options, bgr)
    expected = per_point_cloud(depth, model, options, bgr)
    np.testing.assert_array_equal(cloud.points(), expected)  # NaN == NaN here; values bit for bit otherwise
    rows, cols = -(-13 // stride), -(-17 // stride)
    assert (cloud.height, cloud.width) == ((rows, cols) if organized else (1, len(expected)))
    size = organized_cloud_bytes(13, 17, options)  # what the transport check sizes shared memory by
    assert cloud.data.size == size if organized else cloud.data.size < size
    if colour:  # b, g, r, 0 bytes, compared as bytes (not as float values)
        np.testing.assert_array_equal(cloud.data.reshape(-1, 32)[:, 16:20], expected.view(np.uint8)[:, 16:20])


def test_a_reused_builder_returns_new_payloads_equal_to_single_builds():
    """Scratch planes carry over between frames (and sizes and options); the payloads must not."""
    builder, rng = CloudBuilder(), np.random.default_rng(3)
    frames = []
    for width, height, options in [(17, 13, CloudOptions()), (17, 13, CloudOptions(min_depth=2.0, colour=True)),
                                   (9, 7, CloudOptions(organized=False)), (17, 13, CloudOptions(stride=2))]:
        model = CameraModel.from_msg(camera_info(width=width, height=height, cx=4.0, cy=3.0))
        depth = rng.uniform(0.5, 6.0, (height, width)).astype(np.float32)
        depth[rng.random(depth.shape) < 0.2] = np.nan
        bgr = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        cloud = builder.build(depth, model, options, bgr)
        frames.append((cloud, cloud.data.copy()))
        assert cloud.data.tobytes() == build_cloud(depth, model, options, bgr).data.tobytes()
    for cloud, snapshot in frames:
        assert cloud.data.tobytes() == snapshot.tobytes()


def test_raw_rays_undistort_through_the_distortion_model():
    d = (-0.3, 0.1, 0.001, -0.002, 0.0)
    model = CameraModel.from_msg(camera_info(d=d))
    ray_x, ray_y = model.rays(rectified=False)
    point = np.array([[[ray_x[40, 60], ray_y[40, 60], 1.0]]])
    projected, _ = cv2.projectPoints(point, np.zeros(3), np.zeros(3), model.k, np.array(d))
    np.testing.assert_allclose(projected.reshape(2), (60, 40), atol=1e-3)
    fisheye = CameraModel.from_msg(camera_info(d=(0.05, -0.01, 0.0, 0.0), model="equidistant"))
    fx, fy = fisheye.rays(rectified=False)
    projected, _ = cv2.fisheye.projectPoints(np.array([[[fx[5, 7], fy[5, 7], 1.0]]]), np.zeros(3), np.zeros(3),
                                             fisheye.k, np.array([0.05, -0.01, 0.0, 0.0]))
    np.testing.assert_allclose(projected.reshape(2), (7, 5), atol=1e-3)
    with pytest.raises(InputError, match="not supported"):
        CameraModel.from_msg(camera_info(model="kannala_brandt")).rays(rectified=False)


def test_rclpy_sequences_are_array_arrays_with_the_same_bytes():
    """rclpy's generated classes hold uint8[] and float64[] as array.array; the bytes must be numpy's, in order."""
    values = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]  # not contiguous
    as_bytes = typed_array("B", np.uint8, np.ascontiguousarray(values).view(np.uint8))
    assert isinstance(as_bytes, array.array) and as_bytes.typecode == "B"
    assert as_bytes.tobytes() == np.ascontiguousarray(values).tobytes()
    doubles = typed_array("d", np.float64, np.array([[1.5, -2.0], [3.25, 0.0]]))
    assert doubles.typecode == "d" and doubles.tolist() == [1.5, -2.0, 3.25, 0.0]


def test_builders_write_ros1_messages_from_a_ros1_typestore():
    """A ROS 1 kit gives Header.seq and CameraInfo D/K/R/P; the camera survives serialization both ways."""
    ros1 = get_typestore(Stores.ROS1_NOETIC)
    kit = rosbags_kit(ros1)
    assert kit.ros1 and not rosbags_kit(TS).ros1
    model = CameraModel.from_msg(camera_info(d=(-0.1, 0.01, 0, 0, 0)))
    msg = camera_info_msg(kit, header_msg(kit, 12 * 10**9 + 345, "cam"), model)
    back = ros1.deserialize_ros1(ros1.serialize_ros1(msg, msg.__msgtype__), msg.__msgtype__)
    assert back.header.seq == 0 and (back.header.stamp.sec, back.header.stamp.nanosec) == (12, 345)
    again = CameraModel.from_msg(back)
    for name in ("k", "p", "r", "d"):
        np.testing.assert_array_equal(getattr(again, name), getattr(model, name))
    jpeg = cv2.imencode(".jpg", np.full((8, 8, 3), 90, np.uint8))[1]
    compressed = compressed_image_msg(kit, back.header, jpeg)
    back = ros1.deserialize_ros1(ros1.serialize_ros1(compressed, compressed.__msgtype__), compressed.__msgtype__)
    assert np.abs(decode_compressed(back).astype(int) - 90).max() <= 2
