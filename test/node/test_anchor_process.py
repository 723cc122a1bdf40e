"""Bad anchor input over DDS: the installed node in its own process, a LiDAR cloud and a 2D laser fed to it over the
wire. A good anchor first (the node's own depth scaled by 1.3: the head goes live and the published metres follow),
then one bad message after another; after each the node must still publish depth, and /diagnostics must count the
case. Two node processes in all (one per anchor input), each fed its cases in sequence."""

from __future__ import annotations

import time

import numpy as np
import pytest
from test_node_process import NS, Running

from depth_anything_ros.core.anchor import AnchorState
from depth_anything_ros.core.transforms import Transform, matrix_to_quaternion
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.msgs.messages import rclpy_kit
from depth_anything_ros.node.frame_anchor import HEAD_FIELDS, STATE_CODES
from depth_anything_ros.synthetic.rig import LIDAR_TO_OPTICAL
from depth_anything_ros.synthetic.scene import sample_camera

from anchor_cases import (
    LIDAR_IN_CAMERA,
    cloud_msg,
    inf_nan_points,
    laser_scan_msg,
    lidar_cloud,
    no_xyz_cloud,
    points_from_depth,
    scan_of_depth,
    static_transform_args,
)
from conftest import tiny_spec
from ros_graph import H, W, now_stamp

SCALE = 1.3  # the anchor's depth is the node's own, 30 % farther: the live head must find 1.3
STATUS = "depth_anything_ros: anchor"
LASER = Transform(LIDAR_TO_OPTICAL, np.array([0.0, 0.001, 0.0]))  # a 2D laser at the camera, just off its row


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    path = tmp_path_factory.mktemp("anchor_graph") / "tiny_metric.onnx"
    export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), (H, W), path, input_size=56)
    return path


class AnchorRun:
    """A node process with an anchor input, a probe publishing to it and listening to depth, head and diagnostics."""

    def __init__(self, graph, anchor_type, topic: str, *params: str) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from sensor_msgs.msg import Image
        from std_msgs.msg import Float64MultiArray

        from depth_anything_ros.node.ros_node import ANCHOR_QOS

        self.node = Running("depth_node", graph, "anchor_max_age_s:=1.0", *params)
        probe = self.node.probe
        self.anchor_pub = probe.node.create_publisher(anchor_type, f"{NS}/{topic}", ANCHOR_QOS)
        self.images = probe.listen(f"{NS}/depth/image", Image)
        self.heads = probe.listen(f"{NS}/depth/anchor", Float64MultiArray)
        self.diagnostics = probe.listen("/diagnostics", DiagnosticArray)
        self.node.wait_for_node()
        probe.spin_until(lambda: self.anchor_pub.get_subscription_count() > 0, 20.0, what=self.node.output)

    def status(self) -> dict[str, str] | None:
        for array in self.diagnostics[::-1]:
            for status in array.status:
                if status.name == STATUS:
                    return {"level": status.level, "message": status.message,
                            **{kv.key: kv.value for kv in status.values}}
        return None

    def depth(self) -> np.ndarray:
        """The newest published depth image as (H, W) metres."""
        msg = self.images[-1]
        return np.frombuffer(bytes(msg.data), np.float32).reshape(msg.height, msg.width).astype(np.float64)

    def head(self) -> dict[str, float]:
        return dict(zip(HEAD_FIELDS, self.heads[-1].data, strict=True))

    def feed(self, message, until, what: str, timeout: float = 10.0) -> None:
        """Publish ``message`` (stamped by the caller), then frames until ``until()``; depth must keep coming."""
        published = len(self.images)
        self.anchor_pub.publish(message)
        self.node.probe.spin_for(0.05)
        deadline = time.monotonic() + timeout
        while not (until() and len(self.images) > published) and time.monotonic() < deadline:
            self.node.send()
            self.node.probe.spin_for(0.05)
        assert until(), f"{what}: {self.status()}\n{self.node.output()}"
        assert len(self.images) > published, f"{what}: no depth published after it"

    def counted(self, key: str, at_least: int = 1):
        def done() -> bool:
            status = self.status()
            return status is not None and int(status.get(key, 0)) >= at_least
        done.__name__ = f"{key} >= {at_least}"
        return done

    def stop(self) -> tuple[int, str]:
        return self.node.stop()


def stamp_at(run: AnchorRun, seconds: float = -0.005):
    """A header stamped ``seconds`` from now (negative: before) in the given frame."""
    from std_msgs.msg import Header

    return lambda frame: Header(stamp=now_stamp(run.node.probe.node, -seconds), frame_id=frame)


def live_at(run: AnchorRun, scale: float, rel: float):
    def done() -> bool:
        if not run.heads:
            return False
        head = run.head()
        return head["state"] == STATE_CODES[AnchorState.LIVE] and abs(head["scale"] / scale - 1) < rel
    return done


def test_a_lidar_cloud_over_dds_anchors_the_depth_and_every_bad_cloud_is_counted(ros, graph):
    from diagnostic_msgs.msg import DiagnosticStatus
    from sensor_msgs.msg import PointCloud2

    kit = rclpy_kit()
    run = AnchorRun(graph, PointCloud2, "anchor/points", "anchor_input:=points", "anchor_max_cloud_points:=2000",
                    f"anchor_extrinsic:={static_transform_args(LIDAR_IN_CAMERA, 'camera_optical_frame', 'lidar')}")
    try:
        run.node.stream(run.images, 1)
        run.node.probe.spin_until(lambda: run.status() is not None, 5.0, what="an anchor status")
        assert run.status()["level"] == DiagnosticStatus.WARN and "no message on anchor/points" in \
            run.status()["message"]
        own = run.depth()  # no anchor yet: the graph's own metres
        points = points_from_depth(SCALE * own, sample_camera(H, W))

        def stamp_ns(seconds: float = -0.005) -> int:
            return run.node.probe.node.get_clock().now().nanoseconds + round(seconds * 1e9)

        run.feed(lidar_cloud(kit, stamp_ns(), points), live_at(run, SCALE, 1e-3), "good cloud")
        run.node.probe.spin_until(lambda: np.allclose(run.depth(), SCALE * own, rtol=1e-3, equal_nan=True), 5.0,
                                  what="depth anchored to 1.3x")
        run.node.probe.spin_until(lambda: run.status().get("state") == "live", 5.0, what="status live")
        assert run.status()["level"] == DiagnosticStatus.OK and run.status()["scale"].startswith("1.3")

        cases = [  # (the message, built just before it is sent; the diagnostics key that must count it)
            (lambda: cloud_msg(kit, stamp_ns(), "lidar", np.zeros((0, 3))), "messages by problem: no_points", 1),
            (lambda: cloud_msg(kit, stamp_ns(), "lidar", inf_nan_points()), "messages by problem: no_points", 2),
            (lambda: lidar_cloud(kit, stamp_ns(), points * [1, 1, -1]), "frames by reason: behind_camera", 1),
            (lambda: lidar_cloud(kit, stamp_ns(), points, frame_id="ghost"), "frames by reason: no_transform", 1),
            (lambda: no_xyz_cloud(kit, stamp_ns()), "messages by problem: bad_message", 1),
            (lambda: lidar_cloud(kit, stamp_ns(), np.repeat(points, 3, axis=0)), "messages by problem: too_large", 1),
            (lambda: lidar_cloud(kit, stamp_ns(-5.0), points), "frames by reason: scan_too_old", 1),
            (lambda: lidar_cloud(kit, stamp_ns(+5.0), points), "frames by reason: scan_from_future", 1),
        ]
        assert len(points) < 2000 < 3 * len(points)
        for make, key, count in cases:
            run.feed(make(), run.counted(key, count), key)
        status = run.status()
        for key in ("frames by reason: no_points", "frames by reason: bad_message", "frames by reason: too_large"):
            assert int(status[key]) >= 1, key
        assert status["state"] in ("held", "none") and int(status["messages received"]) == 1 + len(cases)
        run.feed(lidar_cloud(kit, stamp_ns(), points), live_at(run, SCALE, 1e-3), "good cloud again")
        print({k: v for k, v in run.status().items() if k.startswith(("frames", "messages"))})
    finally:
        code, err = run.stop()
    assert code == 0 and "Traceback" not in err, err
    assert "anchor live" in err and ("anchor held" in err or "no anchor" in err), err


def test_a_2d_laser_over_dds_with_an_extrinsics_file_and_bad_scans_counted(ros, graph, tmp_path):
    from sensor_msgs.msg import LaserScan

    base_from_camera = Transform(LIDAR_TO_OPTICAL.T)
    path = tmp_path / "extrinsics.yaml"
    path.write_text("extrinsics:\n" + "".join(
        f"  - {{parent: base_link, child: {child}, translation: {list(map(float, t.translation))}, "
        f"rotation: {list(map(float, matrix_to_quaternion(t.rotation)))}}}\n"
        for child, t in (("camera_optical_frame", base_from_camera), ("laser", base_from_camera @ LASER))))
    run = AnchorRun(graph, LaserScan, "anchor/scan", "anchor_input:=scan", f"anchor_extrinsics_file:={path}")
    try:
        run.node.stream(run.images, 1)
        ranges, angle_min, increment = scan_of_depth(SCALE * run.depth(), sample_camera(H, W), LASER)
        assert np.isfinite(ranges).sum() >= 20
        stamped = stamp_at(run)

        def scan(values, frame: str = "laser", range_max: float = 60.0):
            return laser_scan_msg(LaserScan, stamped(frame), values, angle_min, increment, range_max=range_max)

        run.feed(scan(ranges, range_max=0.0), live_at(run, SCALE, 1e-3), "a scan with range_max 0")
        run.node.probe.spin_until(run.counted("messages by problem: range_max_invalid"), 5.0)
        assert run.status()["extrinsic source (last message)"].startswith("anchor_extrinsics_file")
        absurd = np.resize([1e9, -3.0, np.nan, np.inf, 0.0], ranges.size)
        run.feed(scan(absurd), run.counted("messages by problem: no_points"), "absurd ranges")
        run.feed(scan(ranges, frame="ghost"), run.counted("frames by reason: no_transform"), "unknown frame")
        run.feed(laser_scan_msg(LaserScan, stamp_at(run, -5.0)("laser"), ranges, angle_min, increment),
                 run.counted("frames by reason: scan_too_old"), "a scan 5 s old")
        run.feed(scan(ranges), live_at(run, SCALE, 1e-3), "a good scan again")
        print({k: v for k, v in run.status().items() if k.startswith(("frames", "messages"))})
    finally:
        code, err = run.stop()
    assert code == 0 and "Traceback" not in err, err
