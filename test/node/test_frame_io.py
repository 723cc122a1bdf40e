"""output_messages: which depth topics a frame publishes, and that each carries that frame's own data."""

from __future__ import annotations

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.msgs.cloud import CloudOptions, build_cloud
from depth_anything_ros.msgs.images import decode_image
from depth_anything_ros.msgs.messages import header_msg, rosbags_kit
from depth_anything_ros.msgs.point_cloud2 import read_points
from depth_anything_ros.node.frame_io import OUTPUT_TYPES, output_messages
from depth_anything_ros.node.pipeline import FrameResult
from depth_anything_ros.preview import preview_of

KIT = rosbags_kit(get_typestore(Stores.ROS2_JAZZY))
HEADER = header_msg(KIT, 5 * 10**9 + 7, "cam_optical")
DEPTH = np.array([[1.0, 2.0, np.inf], [-np.inf, np.nan, 4.0]], np.float32)
RELATIVE = np.array([[0.9, 0.5, 0.0], [2.0, 1.0, 0.25]], np.float32)
CAMERA = CameraModel.pinhole(3, 2, 5.0)
BGR = np.arange(18, dtype=np.uint8).reshape(2, 3, 3)


def result(metric: bool, with_cloud: bool = True, camera: CameraModel | None = CAMERA) -> FrameResult:
    cloud = build_cloud(DEPTH, CAMERA, CloudOptions()) if with_cloud else None
    return FrameResult(metric, DEPTH if metric else None, RELATIVE, camera, cloud, BGR, 0.01, "relative")


def floats(msg) -> np.ndarray:
    return np.frombuffer(bytes(msg.data), "<f4").reshape(msg.height, msg.width)


def test_metric_frame_publishes_rep118_depth_camera_info_and_cloud_under_the_frame_header():
    out = output_messages(KIT, HEADER, result(metric=True))
    assert set(out) == {"image", "camera_info", "points"}
    assert all(msg.__msgtype__ == OUTPUT_TYPES[name] for name, msg in out.items())
    assert all(msg.header is HEADER for msg in out.values())
    assert out["image"].encoding == "32FC1"
    np.testing.assert_array_equal(floats(out["image"]), DEPTH)
    np.testing.assert_array_equal(out["camera_info"].k, CAMERA.k.reshape(9))
    z = read_points(out["points"], ("z",), skip_nans=False)[:, 0]
    np.testing.assert_array_equal(z, [1.0, 2.0, np.nan, np.nan, np.nan, 4.0])


def test_relative_frame_publishes_only_the_relative_output():
    out = output_messages(KIT, HEADER, result(metric=False, with_cloud=False))
    assert set(out) == {"relative", "camera_info"}
    assert out["relative"].encoding == "32FC1" and out["relative"].header is HEADER
    np.testing.assert_array_equal(floats(out["relative"]), RELATIVE)


def test_no_camera_no_camera_info():
    out = output_messages(KIT, HEADER, result(metric=True, with_cloud=False, camera=None))
    assert set(out) == {"image"}


@pytest.mark.parametrize("metric", [True, False])
def test_preview_only_when_asked_and_of_what_the_frame_shows(metric):
    frame = result(metric)
    assert "preview" not in output_messages(KIT, HEADER, frame)
    preview = output_messages(KIT, HEADER, frame, preview=True)["preview"]
    assert preview.encoding == "bgr8" and preview.header is HEADER and preview.__msgtype__ == OUTPUT_TYPES["preview"]
    expected = preview_of(RELATIVE, DEPTH if metric else None, "metric" if metric else "relative")
    np.testing.assert_array_equal(decode_image(preview), expected)
