"""The installed node as `ros2 run` starts it: its own process, driven only over DDS on this session's domain.

The `depth_node` / `depth_lifecycle_node` console scripts (installed by `pip install -e`; without them the
same entry points run through the interpreter) with a tiny graph. Topics, the parameter and lifecycle
services and /diagnostics are all this test touches: outputs and their content, QoS and delivery,
lifecycle transitions, parameters, bad input over the wire, signals while busy, and load.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.synthetic import render_sample_scene

from conftest import tiny_da3_checkpoint, tiny_spec
from ros_graph import H, Probe, W, header, image_msg, info_msg

ROOT = Path(__file__).resolve().parents[2]
NS = "/cam"
NODE = f"{NS}/depth_anything_ros"
ENTRY = {"depth_node": "main", "depth_lifecycle_node": "lifecycle_main"}
BURST = 100  # frames sent back to back: far more than the node can infer meanwhile


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "tiny_metric.onnx"
    export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), (H, W), path, input_size=56)
    return path


def stamp(msg) -> tuple[int, int]:
    """A header's (or a message's header's) stamp as a comparable pair."""
    header = getattr(msg, "header", msg)
    return header.stamp.sec, header.stamp.nanosec


def command(script: str) -> list[str]:
    """The console script beside this interpreter (pip install -e), else the same entry point through it."""
    installed = Path(sys.executable).parent / script
    if installed.exists() or shutil.which(script):
        return [str(installed) if installed.exists() else shutil.which(script)]
    return [sys.executable, "-c", f"import sys; from depth_anything_ros.node.ros_node import {ENTRY[script]} as m; "
                                  f"sys.exit(m())"]


class Running:
    """A node process plus a probe that publishes camera frames to it and listens to its outputs."""

    def __init__(self, script: str, graph: Path | None, *params: str) -> None:
        from sensor_msgs.msg import CameraInfo, Image

        from depth_anything_ros.node.ros_node import INPUT_QOS

        args = ["--ros-args", "-r", f"__ns:={NS}", "-p", "backend:=onnxruntime"]
        args += ["-p", f"onnx:={graph}"] if graph is not None else []
        for param in params:
            args += ["-p", param]
        self.process = subprocess.Popen(command(script) + args, cwd=ROOT, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.probe = Probe()
        self.image_pub = self.probe.node.create_publisher(Image, f"{NS}/image", INPUT_QOS)
        self.info_pub = self.probe.node.create_publisher(CameraInfo, f"{NS}/camera_info", INPUT_QOS)

    def wait_for_node(self, timeout: float = 30.0) -> None:
        self.probe.spin_until(lambda: self.image_pub.get_subscription_count() > 0, timeout, what=self.output)

    def send(self, bgr: np.ndarray | None = None, encoding: str = "bgr8", info_hw: tuple[int, int] | None = None,
             k: np.ndarray | None = None):
        hdr = header(self.probe.node)
        image = image_msg(hdr, bgr, encoding=encoding)
        height, width = info_hw or (image.height, image.width)
        self.info_pub.publish(info_msg(hdr, height, width, k=k))
        self.image_pub.publish(image)
        return hdr

    def service(self, srv_type, name: str, request, timeout: float = 10.0):
        client = self.probe.node.create_client(srv_type, f"{NODE}/{name}")
        assert client.wait_for_service(timeout_sec=timeout), name
        future = client.call_async(request)
        self.probe.spin_until(future.done, timeout, what=name)
        self.probe.node.destroy_client(client)
        return future.result()

    def set_parameter(self, name: str, value):
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        request = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
        return self.service(SetParameters, "set_parameters", request).results[0]

    def transition(self, label: str) -> bool:
        from lifecycle_msgs.msg import Transition
        from lifecycle_msgs.srv import ChangeState

        ids = {"configure": Transition.TRANSITION_CONFIGURE, "activate": Transition.TRANSITION_ACTIVATE,
               "deactivate": Transition.TRANSITION_DEACTIVATE, "cleanup": Transition.TRANSITION_CLEANUP,
               "shutdown": Transition.TRANSITION_UNCONFIGURED_SHUTDOWN}
        return self.service(ChangeState, "change_state", ChangeState.Request(
            transition=Transition(id=ids[label]))).success

    def state(self) -> str:
        from lifecycle_msgs.srv import GetState

        return self.service(GetState, "get_state", GetState.Request()).current_state.label

    def stream(self, got: list, count: int, period: float = 0.02, timeout: float = 10.0, **frame) -> None:
        """Send frames (``send``'s keywords) until ``got`` has ``count`` more messages."""
        target = len(got) + count
        deadline = time.monotonic() + timeout
        while len(got) < target and time.monotonic() < deadline:
            self.send(**frame)
            self.probe.spin_for(period)
        assert len(got) >= target, self.output()

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            _, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        self.probe.close()
        return self.process.returncode, err

    def output(self) -> str:
        if self.process.poll() is None:
            return "(running)"
        return self.process.stderr.read()


@pytest.fixture(scope="module")
def slow_graph(tmp_path_factory):
    """The same tiny network at a 224 px network input: tens of milliseconds per frame on a CPU, so a camera
    at a few hundred Hz outruns it on any machine."""
    path = tmp_path_factory.mktemp("slow") / "tiny_metric_224.onnx"
    export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), (H, W), path, input_size=224)
    return path


@pytest.fixture
def start(ros, graph):
    running = []

    def make(script: str = "depth_node", *params: str, onnx: Path | None = None) -> Running:
        node = Running(script, onnx or graph, *params)
        running.append(node)
        return node

    yield make
    for node in running:
        node.stop()


def test_outputs_content_and_qos_over_dds(start):
    from rclpy.qos import ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2

    from depth_anything_ros.node.ros_node import OUTPUT_QOS

    node = start()
    node.wait_for_node()
    probe = node.probe
    reliable = {"image": probe.listen(f"{NS}/depth/image", Image),
                "info": probe.listen(f"{NS}/depth/camera_info", CameraInfo),
                "points": probe.listen(f"{NS}/depth/points", PointCloud2)}
    best_effort = probe.listen(f"{NS}/depth/image", Image, reliable=False)
    assert probe.spin_until(lambda: len(probe.node.get_subscriptions_info_by_topic(f"{NS}/depth/image")) == 2)
    (pub,) = probe.node.get_publishers_info_by_topic(f"{NS}/depth/image")
    assert pub.qos_profile.reliability == OUTPUT_QOS.reliability == ReliabilityPolicy.RELIABLE
    (sub,) = probe.node.get_subscriptions_info_by_topic(f"{NS}/image")
    assert sub.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
    sent = []
    deadline = time.monotonic() + 15
    while (len(reliable["points"]) < 3 or len(best_effort) < 3) and time.monotonic() < deadline:
        sent.append(node.send())
        probe.spin_for(0.05)
    assert probe.spin_until(lambda: len(reliable["info"]) >= 3 and len(reliable["image"]) >= 3)
    stamps = {stamp(h) for h in sent}
    for depth in reliable["image"]:
        assert stamp(depth) in stamps  # the input's header
        assert (depth.encoding, depth.height, depth.width, depth.step, depth.is_bigendian) == \
            ("32FC1", H, W, W * 4, 0)  # REP 118
        values = np.frombuffer(bytes(depth.data), np.float32)
        assert np.all((values > 0) | np.isinf(values)) and not np.isnan(values).any()  # REP 117
        assert depth.header.frame_id == "camera_optical_frame"
    probe.spin_until(lambda: {stamp(m) for m in reliable["image"]} <= {stamp(m) for m in reliable["info"]},
                     what="a depth/camera_info of the same stamp for every depth image")
    by_stamp = {stamp(m): m for m in reliable["info"]}
    for depth in reliable["image"]:
        info = by_stamp[stamp(depth)]
        assert (info.width, info.height) == (depth.width, depth.height)
        assert info.k[0] > 0 and info.header.frame_id == depth.header.frame_id
    cloud = reliable["points"][-1]
    assert [(f.name, f.offset, f.datatype) for f in cloud.fields][:3] == [("x", 0, 7), ("y", 4, 7), ("z", 8, 7)]
    assert (cloud.height, cloud.width, cloud.point_step, cloud.row_step) == (H, W, 16, 16 * W)
    code, err = node.stop()
    assert code == 0 and "Traceback" not in err, err


def test_parameters_through_the_real_services(start):
    from sensor_msgs.msg import Image

    node = start()
    node.wait_for_node()
    images = node.probe.listen(f"{NS}/depth/image", Image)
    assert node.probe.spin_until(lambda: node.probe.node.count_publishers(f"{NS}/depth/image") == 1)
    node.stream(images, 1)
    assert images[-1].width == W
    result = node.set_parameter("output_downscale", 2)
    assert result.successful, result.reason
    node.stream(images, 1)
    node.stream(images, 1)
    assert (images[-1].width, images[-1].height) == (W // 2, H // 2)
    from rcl_interfaces.srv import GetParameters

    graph_values = node.service(GetParameters, "get_parameters", GetParameters.Request(
        names=["metric", "max_depth", "input_size", "output_downscale"])).values
    assert [graph_values[0].bool_value, graph_values[1].double_value, graph_values[2].integer_value,
            graph_values[3].integer_value] == [True, 20.0, 56, 2]  # read-only ones describe the loaded graph
    for name, value, why in (("cloud_stride", 0, "cloud_stride"), ("backend", "torch", "read-only"),
                             ("sync", "sometimes", "sync")):
        result = node.set_parameter(name, value)
        assert not result.successful and why in result.reason, (name, result.reason)


def test_bad_input_over_the_wire_is_counted_and_the_node_goes_on(start):
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from sensor_msgs.msg import Image

    node = start("depth_node", "diag_drop_fraction:=0.01")
    node.wait_for_node()
    images = node.probe.listen(f"{NS}/depth/image", Image)
    diagnostics = node.probe.listen("/diagnostics", DiagnosticArray)
    node.stream(images, 1)
    node.send(encoding="weird16")
    node.probe.spin_for(0.1)
    node.send(render_sample_scene(2 * H, 2 * W)[0])  # another resolution: refused, graph kept
    node.probe.spin_for(0.1)
    node.send(info_hw=(2 * H, 2 * W))  # camera_info of another size
    node.probe.spin_for(0.1)
    node.stream(images, 2)  # still running

    def errors():
        for array in diagnostics:
            for status in array.status:
                if status.name == "depth_anything_ros: depth":
                    values = {kv.key: kv.value for kv in status.values}
                    if all(f"input errors: {k}" in values for k in ("encoding", "resolution", "camera_info")):
                        return status
        return None

    assert node.probe.spin_until(lambda: errors() is not None, timeout=5.0)
    assert errors().level == DiagnosticStatus.WARN and "lost" in errors().message  # over DDS
    assert node.process.poll() is None


def test_failed_inference_over_the_wire_is_counted_logged_and_alarmed(ros, tmp_path):
    """A model that cannot load fails every frame: the node stays up, counts and logs each failure, and
    /diagnostics says ERROR (images arrive, nothing is published)."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    node = Running("depth_node", None, f"checkpoint:={tmp_path / 'gone.pth'}",
                   "diag_stale_input_s:=0.5")
    try:
        node.wait_for_node()
        diagnostics = node.probe.listen("/diagnostics", DiagnosticArray)

        def alarm():
            for array in diagnostics:
                for status in array.status:
                    values = {kv.key: kv.value for kv in status.values}
                    if status.level == DiagnosticStatus.ERROR and "nothing published" in status.message and \
                            int(values.get("dropped: failed", 0)) >= 3:
                        return True
            return False

        deadline = time.monotonic() + 10
        while not alarm() and time.monotonic() < deadline:
            node.send()
            node.probe.spin_for(0.05)
        assert alarm()
    finally:
        code, err = node.stop()
    assert code == 0 and "Traceback" not in err, err
    assert "[ERROR]" in err and "inference failed" in err and "gone.pth" in err


def test_bad_command_line_exits_1_with_a_clear_message(ros):
    result = subprocess.run([*command("depth_node"), "--ros-args", "-p", "onnx:="], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and "cannot start" in result.stderr and "Traceback" not in result.stderr


def test_lifecycle_transitions_through_the_real_services(start):
    from sensor_msgs.msg import Image

    node = start("depth_lifecycle_node")
    images = node.probe.listen(f"{NS}/depth/image", Image)
    assert node.state() == "unconfigured"
    assert node.transition("configure") and node.state() == "inactive"
    node.wait_for_node()
    for _ in range(5):
        node.send()
        node.probe.spin_for(0.05)
    assert not images  # inactive: nothing published
    assert node.transition("activate") and node.state() == "active"
    node.stream(images, 2)
    assert node.transition("deactivate") and node.state() == "inactive"
    node.probe.spin_for(0.2)
    count = len(images)
    for _ in range(5):
        node.send()
        node.probe.spin_for(0.05)
    assert len(images) == count
    assert node.transition("activate")
    node.stream(images, 2)  # resumed
    assert node.transition("deactivate") and node.transition("cleanup") and node.state() == "unconfigured"
    assert node.transition("shutdown") and node.state() == "finalized"
    code, err = node.stop()
    assert code == 0 and "Traceback" not in err, err


@pytest.mark.parametrize("script", ["depth_node", "depth_lifecycle_node"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_busy_exits_0_without_a_traceback(start, script, sig):
    from sensor_msgs.msg import Image

    node = start(script)
    if script == "depth_lifecycle_node":
        assert node.transition("configure") and node.transition("activate")
    node.wait_for_node()
    images = node.probe.listen(f"{NS}/depth/image", Image)
    node.stream(images, 2, period=0.002)
    for _ in range(20):  # frames in flight when the signal lands
        node.send()
    node.process.send_signal(sig)
    code, err = node.stop(sig)
    assert code == 0, err
    assert "Traceback" not in err and "RCLError" not in err and "context is invalid" not in err, err


def latest_depth_status(arrays: list) -> dict[str, str] | None:
    """The values of the newest "depth" status in the /diagnostics arrays received so far."""
    for array in arrays[::-1]:
        for status in array.status:
            if status.name == "depth_anything_ros: depth":
                return {kv.key: kv.value for kv in status.values}
    return None


def test_a_camera_faster_than_the_node_loses_frames_to_the_newest_never_to_a_queue(start, slow_graph):
    """A burst far faster than inference: the newest frame is published, the frames the worker had no time
    for are dropped as superseded (not queued for later), and every frame the node received is published or
    counted. Latency under load is measured by benchmarks/node_overload.py, not asserted here."""
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import Image

    node = start("depth_node", "max_age:=0.0", onnx=slow_graph)  # max_age 0: nothing is dropped for its age
    node.wait_for_node()
    images = node.probe.listen(f"{NS}/depth/image", Image)
    diagnostics = node.probe.listen("/diagnostics", DiagnosticArray)
    node.stream(images, 2)  # the graph is loaded and running
    burst = []
    for _ in range(BURST):  # ~300 Hz: the node's callbacks see most frames; its worker infers a few of them
        burst.append(stamp(node.send()))
        time.sleep(0.002)
    node.probe.spin_until(lambda: burst[-1] in {stamp(m) for m in images}, what="the burst's newest frame")
    node.stream(images, 1)  # a later camera_info: any image still waiting for its own is dropped and counted
    published_now = len(images)
    diagnostics.clear()

    def settled() -> bool:
        values = latest_depth_status(diagnostics)
        return values is not None and int(values["frames published"]) >= published_now and \
            int(values["frames received"]) == int(values["frames published"]) + int(values["frames dropped"])

    node.probe.spin_until(settled, timeout=5.0, what=lambda: str(latest_depth_status(diagnostics)))
    values = latest_depth_status(diagnostics)
    received, published = int(values["frames received"]), int(values["frames published"])
    superseded = int(values.get("dropped: superseded", 0))
    assert superseded > 0 and published < received, values  # outrun: frames were dropped...
    assert received == published + int(values["frames dropped"]), values  # ...none waits in a queue
    assert not [key for key in values if key.startswith("input errors")], values
    burst_published = [s for s in (stamp(m) for m in images) if s in set(burst)]
    assert burst_published == sorted(burst_published)  # in stamp order: never an older frame after a newer
    assert len(burst_published) < BURST, len(burst_published)


def test_da3_checkpoints_over_dds_focal_per_frame_and_relative_depth(ros, tmp_path):
    """DA3 metric: metres scaled by each frame's camera_info focal (no re-export, same process); DA3 relative:
    depth/relative (depth up to scale) and no depth/image until calibrated."""
    from sensor_msgs.msg import Image

    from depth_anything_ros.core.calibration_file import Calibration, save_calibration

    k = np.array([[30.0, 0, (W - 1) / 2], [0, 30.0, (H - 1) / 2], [0, 0, 1]])
    zoomed = k.copy()
    zoomed[0, 0] = zoomed[1, 1] = 60.0  # fx, fy doubled: the camera zoomed in
    bgr = render_sample_scene(H, W)[0]
    metric = Running("depth_node", None, f"checkpoint:={tiny_da3_checkpoint(tmp_path / 'metric', 'metric')}",
                     "image_width:=32", "image_height:=24")
    try:
        metric.wait_for_node()
        assert metric.probe.spin_until(lambda: metric.probe.node.count_publishers(f"{NS}/depth/image") == 1)
        assert metric.probe.node.count_publishers(f"{NS}/depth/relative") == 0  # a metric model: metres only
        depth = metric.probe.listen(f"{NS}/depth/image", Image)
        metric.stream(depth, 1, timeout=60.0, bgr=bgr, k=k)
        metric.stream(depth, 3, bgr=bgr, k=zoomed)  # frames of the first focal may still be in flight
        near, far = (np.frombuffer(bytes(m.data), np.float32).reshape(H, W) for m in (depth[0], depth[-1]))
        assert not np.isnan(near).any() and np.all((near > 0) | np.isinf(near))  # REP 117; sky +Inf
        finite = np.isfinite(near) & np.isfinite(far)
        assert finite.mean() > 0.3
        np.testing.assert_allclose(far[finite], 2 * near[finite], rtol=1e-4)
        code, err = metric.stop()
        assert code == 0 and err.count("exported the tiny-da3-metric graph") == 1 and "Traceback" not in err, err
    finally:
        metric.stop()
    folder = tiny_da3_checkpoint(tmp_path / "relative", "any-view")
    calibration = save_calibration(tmp_path / "cal.yaml", Calibration("relative-depth", 2.0, 0.0))
    relative = Running("depth_node", None, f"checkpoint:={folder}", "image_width:=32", "image_height:=24")
    try:
        relative.wait_for_node()
        assert relative.probe.spin_until(lambda: relative.probe.node.count_publishers(f"{NS}/depth/relative") == 1)
        raw = relative.probe.listen(f"{NS}/depth/relative", Image)
        depth = relative.probe.listen(f"{NS}/depth/image", Image)
        relative.stream(raw, 1, timeout=60.0, bgr=bgr, k=k)
        assert depth == [] and raw[-1].encoding == "32FC1"
        assert relative.set_parameter("calibration_file", str(calibration)).successful
        relative.stream(depth, 1, bgr=bgr, k=k)  # metres now: 2 x the relative depth, a linear head
        before = np.frombuffer(bytes(raw[-1].data), np.float32)
        after = np.frombuffer(bytes(depth[-1].data), np.float32)
        inside = np.isfinite(before) & np.isfinite(after)
        assert inside.mean() > 0.3
        np.testing.assert_allclose(after[inside], 2.0 * before[inside], rtol=1e-4)
    finally:
        relative.stop()
