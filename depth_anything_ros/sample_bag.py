"""A small rosbag2 of the embedded sample scene (camera driving forward), for the replay demo and tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .io_utils import atomic_directory
from .sample_scene import render_sample_scene, sample_intrinsics

IMAGE_TOPIC = "/camera/image_rect"
INFO_TOPIC = "/camera/camera_info"
FRAME_ID = "camera_optical_frame"


def write_sample_bag(path: str | Path, frames: int = 8, size: tuple[int, int] = (240, 320), rate_hz: float = 10.0,
                     storage: str = "mcap", compressed: bool = False) -> Path:
    """Write ``frames`` images (bgr8, or JPEG with ``compressed``) with camera_info; returns the bag path."""
    import cv2
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    types = store.types
    path = Path(path)
    height, width = size
    focal, cx, cy = sample_intrinsics(height, width)
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with atomic_directory(path) as tmp, Writer(tmp, version=9, storage_plugin=plugin) as writer:
        image_type = "sensor_msgs/msg/CompressedImage" if compressed else "sensor_msgs/msg/Image"
        image_topic = f"{IMAGE_TOPIC}/compressed" if compressed else IMAGE_TOPIC
        image_conn = writer.add_connection(image_topic, image_type, typestore=store)
        info_conn = writer.add_connection(INFO_TOPIC, "sensor_msgs/msg/CameraInfo", typestore=store)
        for index in range(frames):
            stamp_ns = 1_700_000_000_000_000_000 + int(index * 1e9 / rate_hz)
            header = types["std_msgs/msg/Header"](
                stamp=types["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9),
                frame_id=FRAME_ID)
            bgr, _ = render_sample_scene(height, width, forward=0.25 * index)
            if compressed:
                _, jpeg = cv2.imencode(".jpg", bgr)
                image = types["sensor_msgs/msg/CompressedImage"](header=header, format="jpeg", data=jpeg.ravel())
            else:
                image = types["sensor_msgs/msg/Image"](header=header, height=height, width=width, encoding="bgr8",
                                                       is_bigendian=0, step=width * 3, data=bgr.reshape(-1))
            info = types["sensor_msgs/msg/CameraInfo"](
                header=header, height=height, width=width, distortion_model="plumb_bob", d=np.zeros(5),
                k=np.array([focal, 0, cx, 0, focal, cy, 0, 0, 1], np.float64), r=np.eye(3).reshape(-1),
                p=np.array([focal, 0, cx, 0, 0, focal, cy, 0, 0, 0, 1, 0], np.float64), binning_x=0, binning_y=0,
                roi=types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                              do_rectify=False))
            writer.write(image_conn, stamp_ns, store.serialize_cdr(image, image_type))
            writer.write(info_conn, stamp_ns + 1000, store.serialize_cdr(info, "sensor_msgs/msg/CameraInfo"))
    return path
