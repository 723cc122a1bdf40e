"""The node in a real ROS 2 graph (rclpy Jazzy, FastDDS, on the session's private domain): parameters, QoS,
topics, callbacks, dropping, bad input, run-time calibration, diagnostics, the lifecycle variant, and the
failures real rclpy showed (logger severity per call site, worker death, resolution change).

Frames go in through the node's own subscription callbacks (so a test decides exactly when the worker
runs); outputs come back over DDS to a probe node. Inference is real (a tiny graph on onnxruntime).
test_node_process.py drives the installed console scripts over DDS only.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from depth_anything_ros.core.calibration_file import Calibration, save_calibration
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.node import PipelineConfig
from depth_anything_ros.node.parameters import READ_ONLY
from depth_anything_ros.preview import colour_bar
from depth_anything_ros.synthetic import render_sample_scene

from conftest import tiny_spec
from ros_graph import H, Probe, W, header, image_msg, info_msg


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """Tiny metric and relative fused graphs for 24x32 images."""
    root = tmp_path_factory.mktemp("graphs")
    export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), (H, W), root / "m.onnx", input_size=56)
    export_graph(untrained_model(tiny_spec("relative"), seed=1), (H, W), root / "r.onnx", input_size=56)
    return {"metric": root / "m.onnx", "relative": root / "r.onnx"}


@pytest.fixture
def nodes(ros):
    """Makes nodes under test (worker off unless asked) with a probe listening to them; cleans up after."""
    made = []

    def make(graph, lifecycle=False, thread=False, **params):
        from rclpy.parameter import Parameter

        from depth_anything_ros.node.ros_node import DepthLifecycleNode, DepthNode

        values = {"onnx": str(graph), "backend": "onnxruntime", **params}
        overrides = [Parameter(name, value=value) for name, value in values.items()]
        node = (DepthLifecycleNode if lifecycle else DepthNode)(parameter_overrides=overrides)
        if not lifecycle and not thread:
            node.core.stop()  # the test calls process_next itself, without the worker thread
            node.core.start(thread=False)
        probe = Probe(node)
        made.append((node, probe))
        return node, probe

    yield make
    for node, probe in made:
        probe.close()
        node.destroy_node()


def listen(node, probe, *names, reliable=True):
    """Subscribe the probe to depth/<name> and wait until the node sees each subscription."""
    from depth_anything_ros.node.ros_node import OUTPUTS

    got = {name: probe.listen(f"depth/{name}", OUTPUTS[name], reliable=reliable) for name in names}
    assert probe.spin_until(lambda: all(node.core.subscribed(name) for name in names))
    return got


def feed(node, seconds_ago=0.0, **image_kw):
    """One image and its camera_info through the node's subscription callbacks."""
    hdr = header(node, seconds_ago)
    node.core.on_camera_info(info_msg(hdr))
    node.core.on_image(image_msg(hdr, **image_kw))
    return hdr


def process(node, probe, got, count=1, topic="image"):
    """Run the pending frame and wait for ``count`` messages on ``topic``; fails if no frame was pending or
    the messages never come."""
    assert node.core.process_next(), "no frame was pending"
    probe.spin_until(lambda: len(got[topic]) >= count, timeout=5.0, what=f"{count} message(s) on depth/{topic}")


def logged(capfd) -> str:
    return capfd.readouterr().err


def test_every_pipeline_parameter_is_declared_with_description_range_and_mutability(nodes, graphs):
    node, _ = nodes(graphs["metric"])
    for name in PipelineConfig.__dataclass_fields__:
        described = node.describe_parameter(name)
        assert described.description, name
        assert described.read_only == (name in READ_ONLY), name
    assert node.describe_parameter("cloud_stride").integer_range[0].from_value == 1
    assert node.describe_parameter("sync_slop").floating_point_range[0].to_value == 1.0
    assert node.core.config.onnx == str(graphs["metric"]) and node.core.config.backend == "onnxruntime"


def test_parameter_of_the_wrong_type_fails_start_with_a_hint(nodes, graphs):
    with pytest.raises(ValueError, match=r"max_depth.*20.0 not 20"):
        nodes(graphs["metric"], max_depth=20)
    with pytest.raises(ValueError, match="cloud_stride"):
        nodes(graphs["metric"], cloud_stride=0)


def test_qos_and_topics_as_the_graph_reports_them(nodes, graphs):
    from rclpy.qos import HistoryPolicy, ReliabilityPolicy

    from depth_anything_ros.node.ros_node import OUTPUT_DEPTH

    node, probe = nodes(graphs["metric"])
    assert probe.spin_until(lambda: "/depth/points" in dict(probe.node.get_topic_names_and_types()))
    topics = dict(probe.node.get_topic_names_and_types())
    assert topics["/image"] == ["sensor_msgs/msg/Image"] and topics["/camera_info"] == ["sensor_msgs/msg/CameraInfo"]
    for name in ("image", "camera_info"):
        (sub,) = probe.node.get_subscriptions_info_by_topic(f"/{name}")  # DDS reports reliability, not depth
        assert sub.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
        own = next(s for s in node.subscriptions if s.topic_name == f"/{name}").qos_profile
        assert (own.history, own.depth) == (HistoryPolicy.KEEP_LAST, 1)
    for name in ("image", "camera_info", "points"):
        (pub,) = probe.node.get_publishers_info_by_topic(f"/depth/{name}")
        assert pub.qos_profile.reliability == ReliabilityPolicy.RELIABLE
        own = node.core.publishers[name].qos_profile
        assert (own.history, own.depth) == (HistoryPolicy.KEEP_LAST, OUTPUT_DEPTH)
    _, probe = nodes(graphs["metric"], use_compressed=True)
    assert probe.spin_until(lambda: "/image/compressed" in dict(probe.node.get_topic_names_and_types()))
    assert dict(probe.node.get_topic_names_and_types())["/image/compressed"] == ["sensor_msgs/msg/CompressedImage"]


def test_output_qos_overrides_through_parameters(nodes, graphs):
    from rclpy.qos import ReliabilityPolicy

    node, probe = nodes(graphs["metric"], **{"qos_overrides./depth/image.publisher.depth": 2,
                                             "qos_overrides./depth/image.publisher.reliability": "best_effort"})
    assert probe.spin_until(lambda: probe.node.get_publishers_info_by_topic("/depth/image"))
    (pub,) = probe.node.get_publishers_info_by_topic("/depth/image")
    assert pub.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
    assert node.core.publishers["image"].qos_profile.depth == 2
    from depth_anything_ros.node.ros_node import OUTPUT_QOS

    assert OUTPUT_QOS.depth == 5 and OUTPUT_QOS.reliability == ReliabilityPolicy.RELIABLE  # not the next node's


def test_frame_in_depth_info_and_cloud_out_with_the_input_header(nodes, graphs):
    node, probe = nodes(graphs["metric"], image_width=W, image_height=H)
    assert node.core.pipeline.backend is not None  # loaded at start: the resolution was given
    got = listen(node, probe, "image", "camera_info", "points")
    hdr = feed(node)
    process(node, probe, got)
    assert probe.spin_until(lambda: got["camera_info"] and got["points"])
    depth, info, cloud = got["image"][-1], got["camera_info"][-1], got["points"][-1]
    assert depth.header == hdr and info.header == hdr and cloud.header == hdr
    assert (depth.encoding, depth.height, depth.width, depth.step) == ("32FC1", H, W, W * 4)
    values = np.frombuffer(depth.data, np.float32).reshape(H, W)
    assert np.isfinite(values).all() and (values > 0).all()
    assert (info.width, info.height) == (W, H)
    assert (cloud.height, cloud.width, cloud.point_step) == (H, W, 16)
    xyz = np.frombuffer(cloud.data, np.float32).reshape(H, W, 4)[..., :3]
    np.testing.assert_allclose(xyz[..., 2], values, rtol=1e-6)


def test_cloud_and_preview_are_only_computed_for_subscribers(nodes, graphs):
    node, probe = nodes(graphs["metric"])
    got = listen(node, probe, "image")
    feed(node)
    process(node, probe, got)
    assert not node.core.subscribed("points") and node.core.stats.published == 1
    got.update(listen(node, probe, "preview"))
    feed(node)
    process(node, probe, got, topic="preview")
    preview = got["preview"][-1]
    assert (preview.encoding, preview.height, preview.width) == ("bgr8", H, W + colour_bar(H, 1.0, 2.0).shape[1])


def test_newest_frame_replaces_the_pending_one_and_drops_are_counted(nodes, graphs):
    node, probe = nodes(graphs["metric"])
    got = listen(node, probe, "image")
    feed(node, seconds_ago=0.02)
    second = feed(node)
    process(node, probe, got)
    assert not node.core.process_next()
    probe.spin_for(0.1)
    assert len(got["image"]) == 1 and got["image"][0].header == second
    assert node.core.stats.drops["superseded"] == 1


def test_frames_older_than_max_age_are_dropped(nodes, graphs, capfd):
    node, probe = nodes(graphs["metric"], max_age=0.2)
    got = listen(node, probe, "image")
    feed(node, seconds_ago=1.0)
    node.core.process_next()
    probe.spin_for(0.1)
    assert not got["image"] and node.core.stats.drops["stale"] == 1
    assert "max_age 0.2" in logged(capfd)


def test_approximate_sync_pairs_within_the_slop_and_exact_does_not(nodes, graphs):
    from builtin_interfaces.msg import Time

    for sync, expected in (("exact", 0), ("approximate", 1)):
        node, _ = nodes(graphs["metric"], sync=sync, sync_slop=0.01)
        now = node.get_clock().now().nanoseconds
        later = now + 5_000_000
        node.core.on_camera_info(info_msg(header(node, when=Time(sec=now // 10**9, nanosec=now % 10**9))))
        node.core.on_image(image_msg(header(node, when=Time(sec=later // 10**9, nanosec=later % 10**9))))
        assert node.core.process_next() == bool(expected), sync


def test_images_whose_camera_info_never_comes_are_dropped_when_a_later_one_arrives(nodes, graphs, capfd):
    node, _ = nodes(graphs["metric"])
    orphan = header(node, seconds_ago=0.05)
    node.core.on_image(image_msg(orphan))
    assert node.core.sync.pending() == 1
    feed(node)  # a later stamp's camera_info: the orphan's will not come any more
    assert node.core.sync.pending() == 0 and node.core.stats.drops["no_camera_info"] == 1
    assert "stamp_reset" not in node.core.stats.drops
    text = logged(capfd)
    assert "sync exact" in text and "slop" not in text  # exact mode quotes no slop


def corrupt_inputs():
    good = render_sample_scene(H, W)[0]

    def image(h, height, width, data):
        from sensor_msgs.msg import Image

        return Image(header=h, height=height, width=width, encoding="bgr8", is_bigendian=0, step=width * 3,
                     data=data)

    return [
        ("encoding", lambda h: image_msg(h, encoding="weird16")),
        ("size", lambda h: image(h, H, W, good.reshape(-1)[:100].tobytes())),
        ("size", lambda h: image(h, 0, 0, b"")),
    ]


@pytest.mark.parametrize(("kind", "make"), corrupt_inputs())
def test_bad_images_are_counted_warned_once_and_the_node_goes_on(nodes, graphs, kind, make, capfd):
    node, probe = nodes(graphs["metric"])
    got = listen(node, probe, "image")
    for _ in range(3):
        hdr = header(node)
        node.core.on_camera_info(info_msg(hdr))
        node.core.on_image(make(hdr))
        node.core.process_next()
    assert node.core.stats.input_errors[kind] == 3
    assert logged(capfd).count("[WARN]") == 1  # throttled: one line for three
    feed(node)
    process(node, probe, got)


def test_bad_camera_info_and_corrupt_jpeg_and_backwards_stamps(nodes, graphs):
    from sensor_msgs.msg import CompressedImage

    node, probe = nodes(graphs["metric"])
    got = listen(node, probe, "image")
    hdr = header(node)
    node.core.on_camera_info(info_msg(hdr, height=H * 2, width=W * 2))
    node.core.on_image(image_msg(hdr))
    node.core.process_next()
    hdr = header(node)
    node.core.on_camera_info(info_msg(hdr, fx=math.nan))
    node.core.on_image(image_msg(hdr))
    node.core.process_next()
    assert node.core.stats.input_errors["camera_info"] == 1 and node.core.stats.input_errors["intrinsics"] == 1
    feed(node)
    feed(node, seconds_ago=0.3)  # earlier than the previous image: a bag loop
    assert node.core.stats.input_errors["stamp"] == 1
    process(node, probe, got)  # the looped frame is processed

    jpeg, probe = nodes(graphs["metric"], use_compressed=True)
    got = listen(jpeg, probe, "image")
    _, encoded = cv2.imencode(".jpg", render_sample_scene(H, W)[0])
    for data in (encoded.tobytes()[: encoded.size // 3], encoded.tobytes()):
        hdr = header(jpeg)
        jpeg.core.on_camera_info(info_msg(hdr))
        jpeg.core.on_image(CompressedImage(header=hdr, format="jpeg", data=data))
        jpeg.core.process_next()
    assert probe.spin_until(lambda: got["image"])
    assert jpeg.core.stats.input_errors["decode"] == 1 and len(got["image"]) == 1


def test_a_frame_of_another_size_is_refused_and_the_loaded_graph_kept(nodes, graphs, capfd):
    node, probe = nodes(graphs["metric"])
    got = listen(node, probe, "image")
    backend = node.core.pipeline.backend
    hdr = header(node)
    node.core.on_camera_info(info_msg(hdr, 2 * H, 2 * W))
    node.core.on_image(image_msg(hdr, render_sample_scene(2 * H, 2 * W)[0]))
    assert node.core.process_next()
    assert node.core.pipeline.backend is backend and backend.session is not None
    assert node.core.stats.input_errors["resolution"] == 1
    text = logged(capfd)
    assert text.count("[WARN]") == 1 and "switching" not in text and "64x48" in text
    feed(node)
    process(node, probe, got)  # the loaded graph still works


def test_resolution_change_with_a_checkpoint_loads_a_graph_for_it(ros, tmp_path):
    from rclpy.parameter import Parameter

    from depth_anything_ros.node import ros_node as node_module
    from depth_anything_ros.runtime import OnnxRuntimeBackend

    opened, closed = [], []

    class Closing(OnnxRuntimeBackend):
        def close(self):
            closed.append(self.info.image_hw)
            super().close()

    def open_backend(config, image_hw):
        opened.append(image_hw)
        path = tmp_path / f"{image_hw[0]}x{image_hw[1]}.onnx"
        export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), image_hw, path, input_size=56)
        return Closing(path)

    class Node(node_module.DepthNode):
        def __init__(self, **kwargs):
            node_module.Node.__init__(self, "depth_anything_ros", **kwargs)
            self.core = node_module.DepthNodeCore(self, open_backend=open_backend)
            self.core.open_pipeline()
            self.core.create_endpoints(self.create_publisher)
            self.core.start(thread=False)

    checkpoint = tmp_path / "tiny.pth"
    checkpoint.write_bytes(b"unused: open_backend exports the graphs")
    node = Node(parameter_overrides=[Parameter("checkpoint", value=str(checkpoint)),
                                     Parameter("metric", value=True), Parameter("max_depth", value=20.0)])
    probe = Probe(node)
    try:
        got = listen(node, probe, "image")
        for height, width in ((H, W), (2 * H, 2 * W)):
            hdr = header(node)
            node.core.on_camera_info(info_msg(hdr, height, width))
            node.core.on_image(image_msg(hdr, render_sample_scene(height, width)[0]))
            node.core.process_next()
        assert probe.spin_until(lambda: len(got["image"]) == 2)
        assert opened == [(H, W), (2 * H, 2 * W)] and closed == [(H, W)]  # new one opened, then the old closed
        assert got["image"][-1].width == 2 * W
    finally:
        probe.close()
        node.destroy_node()


def test_relative_graph_publishes_relative_only_and_says_how_to_calibrate(nodes, graphs, tmp_path, capfd):
    from rclpy.parameter import Parameter

    node, probe = nodes(graphs["relative"])
    got = listen(node, probe, "image", "relative", "points")
    feed(node)
    process(node, probe, got, topic="relative")
    assert not got["image"] and not got["points"]
    assert "calibration_file" in logged(capfd)  # pipeline logging reaches the node's logger

    calibration = tmp_path / "cal.yaml"
    save_calibration(calibration, Calibration("relative", scale=0.05, shift=0.01, checkpoint_sha256=""))
    result = node.set_parameters([Parameter("calibration_file", value=str(calibration))])[0]
    assert result.successful, result.reason
    feed(node)
    process(node, probe, got)  # metric now, same graph: no engine rebuild
    assert node.core.pipeline.calibration.scale == 0.05


def test_run_time_parameters_are_validated_and_applied(nodes, graphs, tmp_path):
    from rclpy.parameter import Parameter

    node, probe = nodes(graphs["metric"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("not: a calibration\n")
    refused = {"calibration_file": str(bad), "sync": "sometimes", "cloud_max_depth": -1.0, "min_depth": 5000.0,
               "onnx": "/other.onnx", "diag_stale_input_s": 0.0}
    for name, value in refused.items():
        result = node.set_parameters([Parameter(name, value=value)])[0]
        assert not result.successful and result.reason, name
    assert "read-only" in node.set_parameters([Parameter("backend", value="torch")])[0].reason
    assert "must be" in node.set_parameters([Parameter("sync", value="sometimes")])[0].reason
    assert node.core.config == node.core.pipeline.config  # nothing half-applied

    assert node.set_parameters([Parameter("cloud_stride", value=2), Parameter("cloud_organized", value=False),
                                Parameter("output_downscale", value=2)])[0].successful
    got = listen(node, probe, "image", "camera_info", "points")
    feed(node)
    process(node, probe, got)
    assert probe.spin_until(lambda: got["camera_info"] and got["points"])
    depth, info, cloud = got["image"][-1], got["camera_info"][-1], got["points"][-1]
    assert (depth.width, depth.height, info.width, info.height) == (W // 2, H // 2, W // 2, H // 2)
    assert cloud.height == 1 and cloud.is_dense and cloud.width <= (W // 4) * (H // 4)


def test_parameters_declared_by_others_pass_the_set_callback(nodes, graphs):
    """rclpy runs on-set callbacks on every declare: a parameter a user's subclass declares must pass
    and leave the pipeline alone."""
    node, _ = nodes(graphs["metric"])
    before = node.core.config
    assert node.declare_parameter("extension.gain", 2.5).value == 2.5
    assert node.core.config == before


def test_warnings_then_errors_from_the_same_node_do_not_break_its_logger(nodes, graphs, capfd):
    """Real rclpy binds one severity to a call site: a warning then a failed inference (and the other
    order) used to raise 'Logger severity cannot be changed between calls'."""
    node, probe = nodes(graphs["metric"])
    got = listen(node, probe, "image")
    node.core.warn("a", "first a warning")
    node.core.report_error("b", "then an error")
    node.core.warn("c", "and a warning again")
    backend = node.core.pipeline.backend

    def broken(*_):
        raise RuntimeError("CUDA error: an illegal memory access")

    good = backend.infer
    backend.infer = broken
    feed(node)
    assert node.core.process_next()
    backend.infer = good
    feed(node)
    process(node, probe, got)
    text = logged(capfd)
    assert "[ERROR]" in text and "illegal memory access" in text and "severity" not in text
    assert node.core.stats.drops["failed"] == 1


def test_the_worker_survives_any_exception_and_processes_the_next_frame(nodes, graphs, capfd):
    node, probe = nodes(graphs["metric"], thread=True)
    got = listen(node, probe, "image")
    real = node.core.handle
    calls = []

    def flaky(*item):
        calls.append(1)
        if len(calls) == 1:
            raise AttributeError("'NoneType' object has no attribute 'publish'")  # outside handle()'s try
        real(*item)

    node.core.handle = flaky
    feed(node)
    assert probe.spin_until(lambda: node.core.worker_failures == 1)
    feed(node)
    assert probe.spin_until(lambda: got["image"])
    assert node.core.worker_alive and node.core.stats.drops["failed"] == 1
    assert "processing the next frame" in logged(capfd)


def test_diagnostics_report_rates_latency_backend_and_drops(nodes, graphs):
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    node, probe = nodes(graphs["metric"])
    arrays = probe.listen("/diagnostics", DiagnosticArray)
    assert probe.spin_until(lambda: arrays, timeout=5.0)  # the node's 1 Hz timer, over DDS
    first = {s.name: s for s in arrays[-1].status}
    overall = first["depth_anything_ros: depth"]
    assert overall.level == DiagnosticStatus.WARN and overall.message == "waiting for images"
    assert set(first) == {"depth_anything_ros: depth", "depth_anything_ros: depth/image rate",
                          "depth_anything_ros: stamp delay"}
    got = listen(node, probe, "image")
    for count in range(1, 4):
        feed(node)
        process(node, probe, got, count)
    feed(node)
    feed(node)  # replaces the pending one
    node.core.process_next()
    statuses = {s.name: s for s in node.core.diagnostics().status}
    status = statuses["depth_anything_ros: depth"]
    values = {kv.key: kv.value for kv in status.values}
    assert status.level == DiagnosticStatus.OK, status.message
    assert values["frames published"] == "4" and values["dropped: superseded"] == "1"
    assert values["lifecycle state"] == "active" and values["inference worker"] == "running"
    assert values["backend"].startswith("onnxruntime") and "32x24" in status.hardware_id
    assert float(values["inference (ms)"]) > 0 and float(values["latency stamp to publish (ms)"]) > 0
    assert float(values["input rate (Hz)"]) > 0
    rate = {kv.key: kv.value for kv in statuses["depth_anything_ros: depth/image rate"].values}
    assert rate["Events since startup"] == "4" and float(rate["Actual frequency (Hz)"]) > 0
    delay = {kv.key: kv.value for kv in statuses["depth_anything_ros: stamp delay"].values}
    assert 0 < float(delay["Latest timestamp delay:"]) < 5


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the worker is killed on purpose
def test_diagnostics_error_on_a_dead_worker_and_stale_input(nodes, graphs):
    from diagnostic_msgs.msg import DiagnosticStatus

    node, probe = nodes(graphs["metric"], thread=True, diag_stale_input_s=0.3)

    def overall():
        return next(s for s in node.core.diagnostics().status if s.name.endswith(": depth"))

    probe.spin_for(0.5)
    status = overall()
    assert status.level == DiagnosticStatus.ERROR and "no image for" in status.message

    def die(timeout=0.0):
        raise SystemExit  # not an Exception: what would still end the thread
    node.core.process_next = die
    assert probe.spin_until(lambda: not node.core.worker_alive, timeout=5.0)
    status = overall()
    assert status.level == DiagnosticStatus.ERROR and "worker stopped" in status.message


def test_lifecycle_configure_loads_activate_processes_deactivate_and_cleanup_free(nodes, graphs):
    from rclpy.lifecycle import TransitionCallbackReturn

    node, probe = nodes(graphs["metric"], lifecycle=True)
    assert node.core.pipeline is None and node.core.state == "unconfigured"
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.core.pipeline.backend is not None  # the onnx graph's resolution is known: loaded now
    assert node.core.state == "inactive"
    assert "inactive" in next(s for s in node.core.diagnostics().status if s.name.endswith(": depth")).message
    feed(node)
    assert not node.core.process_next()  # inactive: frames are ignored
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    node.core.stop()
    node.core.start(thread=False)
    got = listen(node, probe, "image")
    feed(node)
    process(node, probe, got)
    assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    assert node.core.pipeline.backend is None  # GPU memory freed
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    assert node.core.pipeline.backend is not None  # reloaded
    node.trigger_deactivate()
    assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
    assert node.core.pipeline is None and not node.core.subscriptions and not node.core.publishers


def test_lifecycle_configure_fails_cleanly_on_a_missing_model(nodes, tmp_path, capfd):
    from rclpy.lifecycle import TransitionCallbackReturn

    node, _ = nodes(tmp_path / "missing.onnx", lifecycle=True)
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert node.core.state == "unconfigured"
    assert "configure failed" in logged(capfd)


def test_worker_thread_processes_frames_off_the_callbacks(nodes, graphs):
    node, probe = nodes(graphs["metric"], thread=True)
    got = listen(node, probe, "image")
    feed(node)
    assert probe.spin_until(lambda: got["image"], timeout=30)
    node.core.stop()
    assert node.core._worker is None


def test_read_only_parameters_describe_the_loaded_graph_and_metric_graphs_advertise_no_relative(nodes, graphs):
    node, probe = nodes(graphs["metric"])
    assert node.get_parameter("metric").value is True and node.get_parameter("max_depth").value == 20.0
    assert node.get_parameter("input_size").value == 56
    assert probe.spin_until(lambda: "/depth/image" in dict(probe.node.get_topic_names_and_types()))
    topics = dict(probe.node.get_topic_names_and_types())
    assert "/depth/relative" not in topics and "/depth/preview" in topics
    relative, probe = nodes(graphs["relative"])
    assert relative.get_parameter("metric").value is False
    assert probe.spin_until(lambda: "/depth/relative" in dict(probe.node.get_topic_names_and_types()))


def test_uncalibrated_camera_info_still_gives_depth(nodes, graphs, capfd):
    node, probe = nodes(graphs["metric"])
    got = listen(node, probe, "image", "camera_info", "points")
    hdr = header(node)
    node.core.on_camera_info(info_msg(hdr, k=np.zeros((3, 3))))
    node.core.on_image(image_msg(hdr))
    process(node, probe, got)
    probe.spin_for(0.1)
    assert got["image"] and not got["camera_info"] and not got["points"]
    assert "K = 0" in logged(capfd)
