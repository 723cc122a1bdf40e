"""Six real nuScenes cameras (1600x900, each with its own K) over DDS to the installed node in its own process.

The node runs with ``cameras`` set to the six namespaces and one batched tiny graph (network input 56 px, random
weights: this checks the plumbing, not the depth). The probe publishes each camera's JPEG (CompressedImage, the
stamps of calib.json) and its camera_info; every camera must get its own depth image, camera_info and cloud
with its own frame_id and stamp, equal to a single-camera run of its frame, and its cloud, put in the LiDAR frame
with calib.json, must lie inside that camera's own field of view (so no output is another camera's).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from test_node_process import Running

from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.v2.build import untrained_model

from conftest import DATA, require, tiny_spec

SAMPLE = DATA / "nuscenes_mini_sample"
H, W = 900, 1600
DOWNSCALE = 8  # published depth 113x200 (clouds of 22,600 points), so every sample fits a default DDS segment
CAMERAS = ("CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT")


def namespace(camera: str) -> str:
    return "/" + camera.lower()


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    calib = json.loads(require(SAMPLE / "calib.json").read_text())
    graph = tmp_path_factory.mktemp("six") / "tiny_900x1600_b6.onnx"
    export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), (H, W), graph, input_size=56,
                 max_batch=6)
    return calib, graph


def messages(calib: dict, camera: str):
    """(CompressedImage, CameraInfo) of one camera, stamped with its own capture time, rclpy classes."""
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import CameraInfo, CompressedImage
    from std_msgs.msg import Header

    entry = calib["cameras"][camera]
    ns = round(entry["timestamp"] * 1e9)
    header = Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id=f"{camera.lower()}_optical_frame")
    jpeg = (SAMPLE / entry["file"]).read_bytes()
    k = np.asarray(entry["K"], float)
    info = CameraInfo(header=header, height=H, width=W, distortion_model="plumb_bob", d=[0.0] * 5,
                      k=k.reshape(9).tolist(), r=np.eye(3).reshape(9).tolist(),
                      p=np.c_[k, np.zeros(3)].reshape(12).tolist())
    return CompressedImage(header=header, format="jpeg", data=jpeg), info


def to_lidar(points_cam: np.ndarray, calib: dict, camera: str) -> np.ndarray:
    """Points of ``camera``'s optical frame in the LiDAR frame (inverse of calib.json's lidar2cam)."""
    lidar2cam = np.asarray(calib["cameras"][camera]["lidar2cam"], float)
    return (np.linalg.inv(lidar2cam) @ np.c_[points_cam, np.ones(len(points_cam))].T).T[:, :3]


def in_view(lidar: np.ndarray, calib: dict, camera: str) -> np.ndarray:
    """Whether each LiDAR-frame point projects into ``camera``'s image (in front of it, inside 1600x900)."""
    entry = calib["cameras"][camera]
    cam = (np.asarray(entry["lidar2cam"], float) @ np.c_[lidar, np.ones(len(lidar))].T).T[:, :3]
    uv = (np.asarray(entry["K"], float) @ cam.T).T
    with np.errstate(divide="ignore", invalid="ignore"):
        u, v = uv[:, 0] / uv[:, 2], uv[:, 1] / uv[:, 2]
    return (cam[:, 2] > 0) & (u >= -1) & (u <= W) & (v >= -1) & (v <= H)


def azimuth_deg(direction: np.ndarray) -> float:
    """The horizontal angle of a LiDAR-frame direction from its x axis, degrees."""
    return float(np.degrees(np.arctan2(direction[1], direction[0])))


def optical_axis_azimuth(calib: dict, camera: str) -> float:
    """Where ``camera`` looks, in the LiDAR frame: its optical axis (z) through calib.json's lidar2cam."""
    return azimuth_deg(np.linalg.inv(np.asarray(calib["cameras"][camera]["lidar2cam"], float))[:3, 2])


def test_six_nuscenes_cameras_over_dds_each_get_their_own_outputs(ros, rig):
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

    from depth_anything_ros.msgs.messages import rclpy_kit
    from depth_anything_ros.msgs.point_cloud2 import read_points
    from depth_anything_ros.node.config import PipelineConfig
    from depth_anything_ros.node.frame_path import FramePath
    from depth_anything_ros.node.ros_node import INPUT_QOS
    from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend

    calib, graph = rig
    cameras = ",".join(namespace(c) for c in CAMERAS)
    node = Running("depth_node", graph, f"cameras:={cameras}", "use_compressed:=true",
                   f"output_downscale:={DOWNSCALE}", "max_age:=0.0", "batch_window_ms:=500.0")
    probe = node.probe
    try:
        pubs, got = {}, {}
        for camera in CAMERAS:
            ns = namespace(camera)
            pubs[camera] = (probe.node.create_publisher(CompressedImage, f"{ns}/image/compressed", INPUT_QOS),
                            probe.node.create_publisher(CameraInfo, f"{ns}/camera_info", INPUT_QOS))
            got[camera] = {topic: probe.listen(f"{ns}/depth/{topic}", kind)
                           for topic, kind in (("image", Image), ("camera_info", CameraInfo),
                                               ("points", PointCloud2))}
        probe.spin_until(lambda: all(p[0].get_subscription_count() for p in pubs.values()), 60.0, what=node.output)
        frames = {camera: messages(calib, camera) for camera in CAMERAS}
        started = time.monotonic()
        deadline = started + 60.0
        while not all(all(got[c][t] for t in got[c]) for c in CAMERAS) and time.monotonic() < deadline:
            for camera in CAMERAS:  # BEST_EFFORT input: resend until each camera's outputs came back
                image, info = frames[camera]
                pubs[camera][1].publish(info)
                pubs[camera][0].publish(image)
            probe.spin_for(1.0)
        missing = [(c, t) for c in CAMERAS for t in got[c] if not got[c][t]]
        assert not missing, f"no output for {missing}: {node.output()}"
        elapsed = time.monotonic() - started

        kit = rclpy_kit()
        single = FramePath(PipelineConfig(onnx=str(graph), backend="onnxruntime", output_downscale=DOWNSCALE),
                           lambda hw: OnnxRuntimeBackend(graph), kit)
        azimuths = {}
        for camera in CAMERAS:
            image, info = frames[camera]
            depth, out_info, cloud = (got[camera][t][0] for t in ("image", "camera_info", "points"))
            for msg in (depth, out_info, cloud):
                assert msg.header.frame_id == f"{camera.lower()}_optical_frame"
                assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (image.header.stamp.sec,
                                                                            image.header.stamp.nanosec)
            k = np.asarray(calib["cameras"][camera]["K"])
            np.testing.assert_allclose(np.asarray(out_info.k).reshape(3, 3)[:2], k[:2] / DOWNSCALE, rtol=0.01)
            alone = single.process(image, info, want_cloud=True).messages
            np.testing.assert_array_equal(np.asarray(depth.data), np.asarray(alone["image"].data))
            points = read_points(cloud).astype(np.float64)  # valid points only
            assert len(points) > 1000
            lidar = to_lidar(points, calib, camera)
            inside = in_view(lidar, calib, camera)
            assert inside.all(), f"{camera}: {np.count_nonzero(~inside)} points outside its own view"
            for other in CAMERAS:  # the overlaps between neighbours are narrow: most points are no one else's
                if other != camera:
                    assert in_view(lidar, calib, other).mean() < 0.5, f"{camera}'s cloud lies in {other}'s view"
            azimuths[camera] = azimuth_deg(lidar[:, :2].mean(axis=0))
            off = (azimuths[camera] - optical_axis_azimuth(calib, camera) + 180) % 360 - 180
            assert abs(off) < 30, f"{camera}'s cloud is centred {off:.0f} deg off its optical axis"
        single.close()
        assert len({round(a / 10) for a in azimuths.values()}) == 6, azimuths  # six directions around the car
        print(f"six cameras: all outputs {elapsed:.1f} s after the first send; azimuths {azimuths}")
    finally:
        code, err = node.stop()
    assert code == 0, err

