"""A small rosbag2 of the embedded sample scene (camera driving forward), for the replay demo and tests."""

from __future__ import annotations

from pathlib import Path

from depth_anything_ros.core.files import atomic_directory
from depth_anything_ros.msgs.messages import (
    bgr_image_msg,
    camera_info_msg,
    compressed_image_msg,
    header_msg,
    rosbags_kit,
)
from depth_anything_ros.synthetic.scene import render_sample_scene, sample_camera

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
    kit = rosbags_kit(store)
    path = Path(path)
    height, width = size
    camera = sample_camera(height, width)
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with atomic_directory(path) as tmp, Writer(tmp, version=9, storage_plugin=plugin) as writer:
        image_type = "sensor_msgs/msg/CompressedImage" if compressed else "sensor_msgs/msg/Image"
        image_topic = f"{IMAGE_TOPIC}/compressed" if compressed else IMAGE_TOPIC
        image_conn = writer.add_connection(image_topic, image_type, typestore=store)
        info_conn = writer.add_connection(INFO_TOPIC, "sensor_msgs/msg/CameraInfo", typestore=store)
        for index in range(frames):
            stamp_ns = 1_700_000_000_000_000_000 + int(index * 1e9 / rate_hz)
            header = header_msg(kit, stamp_ns, FRAME_ID)
            bgr, _ = render_sample_scene(height, width, forward=0.25 * index)
            if compressed:
                image = compressed_image_msg(kit, header, cv2.imencode(".jpg", bgr)[1], "jpeg")
            else:
                image = bgr_image_msg(kit, header, bgr)
            info = camera_info_msg(kit, header, camera)
            writer.write(image_conn, stamp_ns, store.serialize_cdr(image, image_type))
            writer.write(info_conn, stamp_ns + 1000, store.serialize_cdr(info, "sensor_msgs/msg/CameraInfo"))
    return path
