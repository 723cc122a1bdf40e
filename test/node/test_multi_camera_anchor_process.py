"""Two cameras and one LiDAR over DDS: the installed managed node, in its own process, with ``cameras`` and
``anchor_shared``. The probe publishes each camera's frames (own image, K and frame_id) and one LiDAR cloud on the
node's anchor/points carrying both cameras' points: the front camera's 30 % farther than its own depth, the rear
camera's 20 % nearer, each in the LiDAR frame through that camera's own extrinsic (``camera_anchor_extrinsics``).
Each camera must go live with its own scale on its own NS/depth/anchor, publish depth that follows it, and report
its own "<node>: <camera>: anchor" status; the node has no anchor status of its own."""

from __future__ import annotations

import time

import numpy as np
import pytest
from test_node_process import NS, Running

from depth_anything_ros.core.anchor import AnchorState
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.msgs.messages import rclpy_kit
from depth_anything_ros.node.frame_anchor import HEAD_FIELDS, STATE_CODES
from depth_anything_ros.synthetic.scene import render_sample_scene, sample_intrinsics

from anchor_cases import LIDAR_IN_CAMERA, LIDAR_IN_REAR_CAMERA, cloud_msg, points_from_depth, static_transform_args
from conftest import tiny_spec
from ros_graph import H, W, header, image_msg, info_msg

NODE_NAME = "depth_anything_ros"
SCALE = {"front": 1.3, "rear": 0.8}  # what each camera's anchor must find: its own, never the other's
EXTRINSIC = {"front": LIDAR_IN_CAMERA, "rear": LIDAR_IN_REAR_CAMERA}
FORWARD = {"front": 0.0, "rear": 2.0}  # a different image per camera


def camera_of(name: str) -> CameraModel:
    focal, cx, cy = sample_intrinsics(H, W)
    return CameraModel.pinhole(W, H, focal * (1.0 if name == "front" else 1.4), cx, cy)


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    path = tmp_path_factory.mktemp("multi_anchor") / "tiny_metric_b2.onnx"
    export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), (H, W), path, input_size=56,
                 max_batch=2)
    return path


def test_two_cameras_share_one_lidar_topic_and_each_publishes_its_own_anchor(ros, graph):
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2
    from std_msgs.msg import Float64MultiArray

    from depth_anything_ros.node.ros_node import ANCHOR_QOS, INPUT_QOS

    extrinsics = ", ".join(f"/{name}={static_transform_args(EXTRINSIC[name], f'{name}_optical', 'lidar')}"
                           for name in SCALE)
    node = Running("depth_lifecycle_node", graph, "cameras:=/front, /rear", "anchor_input:=points",
                   "anchor_shared:=true", f"camera_anchor_extrinsics:={extrinsics}", "anchor_max_age_s:=1.0")
    probe = node.probe
    pubs = {name: (probe.node.create_publisher(Image, f"/{name}/image", INPUT_QOS),
                   probe.node.create_publisher(CameraInfo, f"/{name}/camera_info", INPUT_QOS)) for name in SCALE}
    lidar = probe.node.create_publisher(PointCloud2, f"{NS}/anchor/points", ANCHOR_QOS)
    images = {name: probe.listen(f"/{name}/depth/image", Image) for name in SCALE}
    heads = {name: probe.listen(f"/{name}/depth/anchor", Float64MultiArray) for name in SCALE}
    diagnostics = probe.listen("/diagnostics", DiagnosticArray)
    kit = rclpy_kit()

    def send() -> None:
        for name, (image_pub, info_pub) in pubs.items():
            hdr = header(probe.node)
            hdr.frame_id = f"{name}_optical"
            info_pub.publish(info_msg(hdr, k=camera_of(name).k))
            image_pub.publish(image_msg(hdr, render_sample_scene(H, W, forward=FORWARD[name])[0]))

    def depth(name: str) -> np.ndarray:
        msg = images[name][-1]
        return np.frombuffer(bytes(msg.data), np.float32).reshape(msg.height, msg.width).astype(np.float64)

    def head(name: str) -> dict[str, float]:
        return dict(zip(HEAD_FIELDS, heads[name][-1].data, strict=True))

    def statuses() -> dict[str, dict[str, str]]:
        for array in diagnostics[::-1]:
            found = {s.name: {"level": s.level, "message": s.message, **{kv.key: kv.value for kv in s.values}}
                     for s in array.status}
            if f"{NODE_NAME}: rear: anchor" in found:
                return found
        return {}

    def stream_until(done, what: str, cloud=None, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        sent_cloud = 0.0
        while not done() and time.monotonic() < deadline:
            if cloud is not None and time.monotonic() - sent_cloud > 0.5:  # a 2 Hz LiDAR, within anchor_max_age_s
                lidar.publish(cloud(-0.005))
                sent_cloud = time.monotonic()
                probe.spin_for(0.02)
            send()
            probe.spin_for(0.03)
        assert done(), f"{what}: {statuses()}\n{node.output()}"

    try:
        assert node.transition("configure") and node.transition("activate")
        probe.spin_until(lambda: lidar.get_subscription_count() > 0 and
                         all(image_pub.get_subscription_count() for image_pub, _ in pubs.values()), 20.0,
                         what=node.output)
        stream_until(lambda: all(images.values()), "each camera's depth before the anchor")
        own = {name: depth(name) for name in SCALE}
        assert not np.allclose(own["front"], own["rear"], equal_nan=True)

        def cloud(seconds: float):
            stamp = probe.node.get_clock().now().nanoseconds + round(seconds * 1e9)
            points = np.concatenate([EXTRINSIC[name].inverse().apply(
                points_from_depth(SCALE[name] * own[name], camera_of(name))) for name in SCALE])
            return cloud_msg(kit, stamp, "lidar", points)

        def live() -> bool:
            return all(heads[name] and head(name)["state"] == STATE_CODES[AnchorState.LIVE] and
                       abs(head(name)["scale"] / SCALE[name] - 1) < 1e-3 for name in SCALE)

        stream_until(live, "both cameras live, each with its own scale", cloud)
        for name in SCALE:
            probe.spin_until(lambda n=name: np.allclose(depth(n), SCALE[n] * own[n], rtol=1e-3, equal_nan=True),
                             5.0, what=f"{name}'s depth anchored to {SCALE[name]}x")
        stream_until(lambda: all(statuses().get(f"{NODE_NAME}: {n}: anchor", {}).get("state") == "live"
                                 for n in SCALE), "both anchor statuses live", cloud, timeout=10.0)
        found = statuses()
        for name in SCALE:
            status = found[f"{NODE_NAME}: {name}: anchor"]
            assert status["level"] == DiagnosticStatus.OK and status["scale"].startswith(str(SCALE[name])), status
            assert status["extrinsic source (last message)"].startswith(
                f"anchor_extrinsic ({name}_optical <- lidar)"), status
            assert status["input"] == "anchor/points (points)"
        assert f"{NODE_NAME}: anchor" not in found  # no node-wide anchor: each camera has its own
        print({name: head(name) for name in SCALE})
    finally:
        code, err = node.stop()
    assert code == 0 and "Traceback" not in err, err
    assert "front: anchor live" in err and "rear: anchor live" in err, err
