"""Good and bad camera frames, as message pairs of either implementation (MessageKit) and as a rosbag2.

Each case is one (Image, CameraInfo) pair at one stamp: good frames, an uncalibrated camera (K = 0, as
drivers publish before calibration), and the bad inputs the node and replay must skip and count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.msgs.messages import MessageKit, bgr_image_msg, camera_info_msg, header_msg
from depth_anything_ros.synthetic import render_sample_scene, sample_camera

H, W = 48, 64
FRAME_ID = "camera_optical_frame"
IMAGE_TOPIC, INFO_TOPIC = "/camera/image_rect", "/camera/camera_info"
START_NS = 1_700_000_000_000_000_000
# case -> the counter the frame is skipped under ("" published; "K=0" published unless the graph needs the focal)
CASES = {"good": "", "uncalibrated": "K=0", "encoding": "encoding", "short": "size", "info_size": "camera_info",
         "nan_fx": "intrinsics", "good_again": ""}


def uncalibrated_camera(height: int = H, width: int = W) -> CameraModel:
    """What an uncalibrated driver publishes: the size, K = P = 0."""
    return CameraModel(width, height, np.zeros((3, 3)), np.zeros((3, 4)), np.zeros(5))


def frame_pair(kit: MessageKit, case: str, stamp_ns: int, index: int = 0):
    """(Image, CameraInfo) of ``case`` at ``stamp_ns``, built with ``kit``."""
    header = header_msg(kit, stamp_ns, FRAME_ID)
    bgr = render_sample_scene(H, W, forward=0.25 * index)[0]
    camera = sample_camera(H, W)
    image = bgr_image_msg(kit, header, bgr)
    if case == "uncalibrated":
        camera = uncalibrated_camera()
    elif case == "encoding":
        image = kit.image(header=header, height=H, width=W, encoding="weird16", is_bigendian=0, step=W * 3,
                          data=kit.uint8_sequence(bgr.reshape(-1)))
    elif case == "short":
        image = kit.image(header=header, height=H, width=W, encoding="bgr8", is_bigendian=0, step=W * 3,
                          data=kit.uint8_sequence(bgr.reshape(-1)[:100]))
    elif case == "info_size":
        camera = sample_camera(2 * H, 2 * W)
    elif case == "nan_fx":
        k = camera.k.copy()
        k[0, 0] = np.nan
        camera = CameraModel(W, H, k, camera.p, camera.d)
    elif case != "good" and case != "good_again":
        raise ValueError(f"unknown frame case {case!r}")
    return image, camera_info_msg(kit, header, camera)


def write_frames_bag(path: Path, cases=tuple(CASES)) -> Path:
    """A rosbag2 (MCAP) with one image and camera_info per case, 0.1 s apart, in that order."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    from depth_anything_ros.msgs.messages import rosbags_kit

    store = get_typestore(Stores.ROS2_HUMBLE)
    kit = rosbags_kit(store)
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        images = writer.add_connection(IMAGE_TOPIC, "sensor_msgs/msg/Image", typestore=store)
        infos = writer.add_connection(INFO_TOPIC, "sensor_msgs/msg/CameraInfo", typestore=store)
        for index, case in enumerate(cases):
            stamp = START_NS + index * 100_000_000
            image, info = frame_pair(kit, case, stamp, index)
            writer.write(infos, stamp, store.serialize_cdr(info, "sensor_msgs/msg/CameraInfo"))
            writer.write(images, stamp + 1000, store.serialize_cdr(image, "sensor_msgs/msg/Image"))
    return path


def case_graphs(root: Path) -> dict[str, Path]:
    """Tiny fused graphs at the cases' size: V2 metric, V2 relative and DA3 metric (torch, exported once)."""
    import torch

    from depth_anything_ros.export.onnx_export import export_graph
    from depth_anything_ros.model.da3.network import Da3Model
    from depth_anything_ros.model.da3.spec import tiny_da3_spec
    from depth_anything_ros.model.v2.build import untrained_model

    from conftest import tiny_spec

    export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), (H, W), root / "m.onnx", input_size=56)
    export_graph(untrained_model(tiny_spec("relative"), seed=1), (H, W), root / "r.onnx", input_size=56)
    torch.manual_seed(3)
    export_graph(Da3Model(tiny_da3_spec("metric")), (H, W), root / "da3.onnx")
    return {"metric": root / "m.onnx", "relative": root / "r.onnx", "da3-metric": root / "da3.onnx"}
