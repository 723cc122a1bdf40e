"""The node's wiring against the rclpy stand-in: parameters, QoS, topics, callbacks, dropping, bad input,
run-time calibration, diagnostics and the lifecycle variant. Inference is real (a tiny graph on onnxruntime)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.calibration import Calibration, save_calibration
from depth_anything_ros.config import PipelineConfig
from depth_anything_ros.export.onnx_export import export_onnx
from depth_anything_ros.model.build import untrained_model
from depth_anything_ros.parameters import READ_ONLY
from depth_anything_ros.sample_scene import render_sample_scene, sample_intrinsics
from depth_anything_ros.visualize import colour_bar

from conftest import tiny_spec

TYPES = get_typestore(Stores.ROS2_HUMBLE).types
H, W = 24, 32


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """Tiny metric and relative fused graphs for 24x32 images."""
    root = tmp_path_factory.mktemp("graphs")
    export_onnx(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), (H, W), root / "m.onnx", input_size=56)
    export_onnx(untrained_model(tiny_spec("relative"), seed=1), (H, W), root / "r.onnx", input_size=56)
    return {"metric": root / "m.onnx", "relative": root / "r.onnx"}


def make_node(ros, graph, lifecycle=False, **params):
    from rclpy.parameter import Parameter

    from depth_anything_ros.node import DepthLifecycleNode, DepthNode

    values = {"onnx": str(graph), "backend": "onnxruntime", **params}
    overrides = [Parameter(name, value=value) for name, value in values.items()]
    node = (DepthLifecycleNode if lifecycle else DepthNode)(parameter_overrides=overrides)
    if not lifecycle:
        node.core.stop()  # the tests call process_next themselves, without the worker thread
        node.core.start(thread=False)
    return node


def stamp(node, seconds_ago: float = 0.0):
    ns = node.get_clock().now().nanoseconds - round(seconds_ago * 1e9)
    return TYPES["builtin_interfaces/msg/Time"](sec=ns // 10**9, nanosec=ns % 10**9)


def header(node, seconds_ago: float = 0.0, when=None):
    return TYPES["std_msgs/msg/Header"](stamp=when or stamp(node, seconds_ago), frame_id="camera_optical_frame")


def image_msg(hdr, bgr=None, encoding="bgr8", height=H, width=W):
    bgr = render_sample_scene(height, width)[0] if bgr is None else bgr
    return TYPES["sensor_msgs/msg/Image"](header=hdr, height=bgr.shape[0], width=bgr.shape[1], encoding=encoding,
                                          is_bigendian=0, step=bgr.shape[1] * 3, data=bgr.reshape(-1).copy())


def info_msg(hdr, height=H, width=W, fx=None):
    focal, cx, cy = sample_intrinsics(height, width)
    k = np.array([[focal if fx is None else fx, 0, cx], [0, focal, cy], [0, 0, 1]])
    p = np.zeros((3, 4))
    p[:, :3] = k
    roi = TYPES["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    return TYPES["sensor_msgs/msg/CameraInfo"](
        header=hdr, height=height, width=width, distortion_model="plumb_bob", d=np.zeros(5), k=k.reshape(9),
        r=np.eye(3).reshape(9), p=p.reshape(12), binning_x=0, binning_y=0, roi=roi)


def publishers(node):
    return {p.topic: p for p in node.publishers}


def subscriptions(node):
    return {s.topic: s for s in node.subscriptions}


def feed(node, seconds_ago=0.0, **image_kw):
    """One image and its camera_info through the subscription callbacks."""
    hdr = header(node, seconds_ago)
    subs = subscriptions(node)
    subs["camera_info"].callback(info_msg(hdr))
    subs["image"].callback(image_msg(hdr, **image_kw))
    return hdr


def warnings(node):
    return [text for level, text in node.get_logger().records if level in ("WARN", "ERROR")]


def test_every_pipeline_parameter_is_declared_with_description_range_and_mutability(ros, graphs):
    node = make_node(ros, graphs["metric"])
    for name in PipelineConfig.__dataclass_fields__:
        described = node.describe_parameter(name)
        assert described.description, name
        assert described.read_only == (name in READ_ONLY), name
    assert node.describe_parameter("cloud_stride").integer_range[0].from_value == 1
    assert node.describe_parameter("sync_slop").floating_point_range[0].to_value == 1.0
    assert node.core.config.onnx == str(graphs["metric"]) and node.core.config.backend == "onnxruntime"
    node.destroy_node()


def test_parameter_of_the_wrong_type_fails_start_with_a_hint(ros, graphs):
    with pytest.raises(ValueError, match=r"max_depth.*20.0 not 20"):
        make_node(ros, graphs["metric"], max_depth=20)
    with pytest.raises(ValueError, match="cloud_stride"):
        make_node(ros, graphs["metric"], cloud_stride=0)


def test_qos_and_topics(ros, graphs):
    from rclpy.qos import HistoryPolicy, ReliabilityPolicy

    node = make_node(ros, graphs["metric"])
    subs, pubs = subscriptions(node), publishers(node)
    assert set(subs) == {"image", "camera_info"}
    assert {f"depth/{n}" for n in ("image", "camera_info", "points", "relative", "preview")} <= set(pubs)
    for sub in subs.values():
        assert (sub.qos_profile.reliability, sub.qos_profile.history, sub.qos_profile.depth) == \
            (ReliabilityPolicy.BEST_EFFORT, HistoryPolicy.KEEP_LAST, 1)
        assert sub.qos_overriding_options is not None
    for topic in ("depth/image", "depth/points"):
        qos = pubs[topic].qos_profile
        assert (qos.reliability, qos.history, qos.depth) == (ReliabilityPolicy.RELIABLE, HistoryPolicy.KEEP_LAST, 1)
        assert pubs[topic].qos_overriding_options is not None
    node.destroy_node()
    compressed = make_node(ros, graphs["metric"], use_compressed=True)
    assert subscriptions(compressed)["image/compressed"].msg_type.__name__.endswith("CompressedImage")
    compressed.destroy_node()


def test_frame_in_depth_info_and_cloud_out_with_the_input_header(ros, graphs):
    node = make_node(ros, graphs["metric"], image_width=W, image_height=H)
    assert node.core.pipeline.backend is not None  # loaded at start: the resolution was given
    pubs = publishers(node)
    pubs["depth/points"].subscription_count = 1
    hdr = feed(node)
    assert node.core.process_next()
    depth = pubs["depth/image"].published[-1]
    info = pubs["depth/camera_info"].published[-1]
    cloud = pubs["depth/points"].published[-1]
    assert depth.header is hdr and info.header is hdr and cloud.header is hdr
    assert (depth.encoding, depth.height, depth.width, depth.step) == ("32FC1", H, W, W * 4)
    values = np.frombuffer(depth.data, np.float32).reshape(H, W)
    assert np.isfinite(values).all() and (values > 0).all()
    assert (info.width, info.height) == (W, H)
    assert (cloud.height, cloud.width, cloud.point_step) == (H, W, 16)
    xyz = np.frombuffer(cloud.data, np.float32).reshape(H, W, 4)[..., :3]
    np.testing.assert_allclose(xyz[..., 2], values, rtol=1e-6)
    assert not pubs["depth/relative"].published and not pubs["depth/preview"].published
    node.destroy_node()


def test_cloud_and_preview_are_only_computed_for_subscribers(ros, graphs):
    node = make_node(ros, graphs["metric"])
    pubs = publishers(node)
    feed(node)
    node.core.process_next()
    assert pubs["depth/image"].published and not pubs["depth/points"].published
    pubs["depth/preview"].subscription_count = 1
    feed(node)
    node.core.process_next()
    preview = pubs["depth/preview"].published[-1]
    assert (preview.encoding, preview.height, preview.width) == ("bgr8", H, W + colour_bar(H, 1.0, 2.0).shape[1])
    node.destroy_node()


def test_newest_frame_replaces_the_pending_one_and_drops_are_counted(ros, graphs):
    node = make_node(ros, graphs["metric"])
    first = feed(node, seconds_ago=0.02)
    second = feed(node)
    assert node.core.process_next() and not node.core.process_next()
    published = publishers(node)["depth/image"].published
    assert len(published) == 1 and published[0].header is second and published[0].header is not first
    assert node.core.stats.drops["superseded"] == 1


def test_frames_older_than_max_age_are_dropped(ros, graphs):
    node = make_node(ros, graphs["metric"], max_age=0.2)
    feed(node, seconds_ago=1.0)
    node.core.process_next()
    assert not publishers(node)["depth/image"].published
    assert node.core.stats.drops["stale"] == 1
    assert any("max_age 0.2" in w for w in warnings(node))


def test_approximate_sync_pairs_within_the_slop_and_exact_does_not(ros, graphs):
    for sync, expected in (("exact", 0), ("approximate", 1)):
        node = make_node(ros, graphs["metric"], sync=sync, sync_slop=0.01)
        subs = subscriptions(node)
        now = node.get_clock().now().nanoseconds
        info_stamp = TYPES["builtin_interfaces/msg/Time"](sec=now // 10**9, nanosec=now % 10**9)
        later = now + 5_000_000
        image_stamp = TYPES["builtin_interfaces/msg/Time"](sec=later // 10**9, nanosec=later % 10**9)
        subs["camera_info"].callback(info_msg(header(node, when=info_stamp)))
        subs["image"].callback(image_msg(header(node, when=image_stamp)))
        node.core.process_next()
        assert len(publishers(node)["depth/image"].published) == expected, sync
        node.destroy_node()


def corrupt_inputs():
    good = render_sample_scene(H, W)[0]
    return [
        ("encoding", lambda n, h: image_msg(h, encoding="weird16")),
        ("size", lambda n, h: TYPES["sensor_msgs/msg/Image"](header=h, height=H, width=W, encoding="bgr8",
                                                              is_bigendian=0, step=W * 3,
                                                              data=good.reshape(-1)[:100].copy())),
        ("size", lambda n, h: TYPES["sensor_msgs/msg/Image"](header=h, height=0, width=0, encoding="bgr8",
                                                              is_bigendian=0, step=0, data=np.zeros(0, np.uint8))),
    ]


@pytest.mark.parametrize(("kind", "make"), corrupt_inputs())
def test_bad_images_are_counted_warned_once_and_the_node_goes_on(ros, graphs, kind, make):
    node = make_node(ros, graphs["metric"])
    subs = subscriptions(node)
    for _ in range(3):
        hdr = header(node)
        subs["camera_info"].callback(info_msg(hdr))
        subs["image"].callback(make(node, hdr))
        node.core.process_next()
    assert node.core.stats.input_errors[kind] == 3
    assert sum(kind in w or "image" in w for w in warnings(node)) == 1  # throttled: one line for three
    feed(node)
    assert node.core.process_next() and publishers(node)["depth/image"].published


def test_bad_camera_info_and_corrupt_jpeg_and_backwards_stamps(ros, graphs):
    node = make_node(ros, graphs["metric"])
    subs = subscriptions(node)
    hdr = header(node)
    subs["camera_info"].callback(info_msg(hdr, height=H * 2, width=W * 2))
    subs["image"].callback(image_msg(hdr))
    node.core.process_next()
    hdr = header(node)
    subs["camera_info"].callback(info_msg(hdr, fx=math.nan))
    subs["image"].callback(image_msg(hdr))
    node.core.process_next()
    assert node.core.stats.input_errors["camera_info"] == 1 and node.core.stats.input_errors["intrinsics"] == 1
    feed(node)
    feed(node, seconds_ago=0.3)  # earlier than the previous image: a bag loop
    assert node.core.stats.input_errors["stamp"] == 1
    node.core.process_next()
    assert publishers(node)["depth/image"].published  # the looped frame is processed
    node.destroy_node()

    jpeg = make_node(ros, graphs["metric"], use_compressed=True)
    subs = subscriptions(jpeg)
    _, encoded = cv2.imencode(".jpg", render_sample_scene(H, W)[0])
    for data in (encoded.reshape(-1)[: encoded.size // 3].copy(), encoded.reshape(-1).copy()):
        hdr = header(jpeg)
        subs["camera_info"].callback(info_msg(hdr))
        subs["image/compressed"].callback(TYPES["sensor_msgs/msg/CompressedImage"](header=hdr, format="jpeg",
                                                                                  data=data))
        jpeg.core.process_next()
    assert jpeg.core.stats.input_errors["decode"] == 1
    assert len(publishers(jpeg)["depth/image"].published) == 1
    jpeg.destroy_node()


def test_resolution_change_mid_stream_switches_graphs_and_is_reported(ros, graphs, tmp_path):
    from rclpy.parameter import Parameter

    from depth_anything_ros.node import DepthNode

    checkpoint = tmp_path / "tiny.pth"
    import torch

    torch.save(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2).state_dict(), checkpoint)
    opened = []

    def open_backend(config, image_hw):
        from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend

        opened.append(image_hw)
        model = untrained_model(tiny_spec("metric", max_depth=20.0), seed=2)
        path = tmp_path / f"{image_hw[0]}x{image_hw[1]}.onnx"
        export_onnx(model, image_hw, path, input_size=56)
        return OnnxRuntimeBackend(path)

    from depth_anything_ros import node as node_module

    class Node(DepthNode):
        def __init__(self, **kwargs):
            node_module.Node.__init__(self, "depth_anything_ros", **kwargs)
            self.core = node_module.DepthNodeCore(self, open_backend=open_backend)
            self.core.open_pipeline()
            self.core.create_endpoints(self.create_publisher)
            self.core.start(thread=False)

    node = Node(parameter_overrides=[Parameter("checkpoint", value=str(checkpoint)),
                                     Parameter("metric", value=True), Parameter("max_depth", value=20.0)])
    subs = subscriptions(node)
    for height, width in ((H, W), (2 * H, 2 * W)):
        hdr = header(node)
        subs["camera_info"].callback(info_msg(hdr, height, width))
        subs["image"].callback(image_msg(hdr, render_sample_scene(height, width)[0]))
        node.core.process_next()
    assert opened == [(H, W), (2 * H, 2 * W)]
    assert node.core.stats.input_errors["resolution"] == 1
    assert publishers(node)["depth/image"].published[-1].width == 2 * W
    node.destroy_node()


def test_relative_graph_publishes_relative_only_and_says_how_to_calibrate(ros, graphs, tmp_path):
    node = make_node(ros, graphs["relative"])
    pubs = publishers(node)
    feed(node)
    node.core.process_next()
    assert pubs["depth/relative"].published and not pubs["depth/image"].published
    assert not pubs["depth/points"].published
    assert any("calibration_file" in w for w in warnings(node))  # pipeline logging reaches the node's logger

    calibration = tmp_path / "cal.yaml"
    save_calibration(calibration, Calibration("relative", scale=0.05, shift=0.01, checkpoint_sha256=""))
    from rclpy.parameter import Parameter

    result = node.set_parameters([Parameter("calibration_file", value=str(calibration))])[0]
    assert result.successful, result.reason
    feed(node)
    node.core.process_next()
    assert pubs["depth/image"].published  # metric now, same graph: no engine rebuild
    assert node.core.pipeline.calibration.scale == 0.05
    node.destroy_node()


def test_run_time_parameters_are_validated_and_applied(ros, graphs, tmp_path):
    from rclpy.parameter import Parameter

    node = make_node(ros, graphs["metric"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("not: a calibration\n")
    refused = {
        "calibration_file": str(bad), "sync": "sometimes", "cloud_max_depth": -1.0, "min_depth": 5000.0,
        "onnx": "/other.onnx",
    }
    for name, value in refused.items():
        result = node.set_parameters([Parameter(name, value=value)])[0]
        assert not result.successful and result.reason, name
    assert "read-only" in node.set_parameters([Parameter("backend", value="torch")])[0].reason
    assert "must be" in node.set_parameters([Parameter("sync", value="sometimes")])[0].reason
    assert node.core.config == node.core.pipeline.config  # nothing half-applied

    assert node.set_parameters([Parameter("cloud_stride", value=2), Parameter("cloud_organized", value=False),
                                Parameter("output_downscale", value=2)])[0].successful
    publishers(node)["depth/points"].subscription_count = 1
    feed(node)
    node.core.process_next()
    depth = publishers(node)["depth/image"].published[-1]
    info = publishers(node)["depth/camera_info"].published[-1]
    cloud = publishers(node)["depth/points"].published[-1]
    assert (depth.width, depth.height, info.width, info.height) == (W // 2, H // 2, W // 2, H // 2)
    assert cloud.height == 1 and cloud.is_dense and cloud.width <= (W // 4) * (H // 4)
    node.destroy_node()


def test_parameters_declared_by_others_pass_the_set_callback(ros, graphs):
    """rclpy runs on-set callbacks on every declare: diagnostic_updater's period (declared after ours is
    registered) and any parameter a user's subclass declares must pass and leave the pipeline alone."""
    node = make_node(ros, graphs["metric"])
    before = node.core.config
    assert node.get_parameter("diagnostic_updater.period").value == 1.0
    assert node.declare_parameter("extension.gain", 2.5).value == 2.5
    assert node.core.config == before
    node.destroy_node()


def test_diagnostics_report_rates_latency_backend_and_drops(ros, graphs):
    from diagnostic_msgs.msg import DiagnosticStatus

    node = make_node(ros, graphs["metric"])
    node.core.diagnostics.force_update()
    first = publishers(node)["/diagnostics"].published[-1].status[0]
    assert first.level == DiagnosticStatus.WARN and first.message == "waiting for images"
    for _ in range(3):
        feed(node)
        node.core.process_next()
    feed(node)
    feed(node)  # replaces the pending one
    node.core.process_next()
    node.core.diagnostics.force_update()
    status = publishers(node)["/diagnostics"].published[-1].status[0]
    values = {kv.key: kv.value for kv in status.values}
    assert status.level == DiagnosticStatus.OK, status.message
    assert values["frames published"] == "4" and values["dropped: superseded"] == "1"
    assert values["backend"].startswith("onnxruntime") and "32x24" in status.hardware_id
    assert float(values["inference (ms)"]) > 0 and float(values["latency stamp to publish (ms)"]) > 0
    assert float(values["input rate (Hz)"]) > 0


def test_lifecycle_configure_loads_activate_processes_deactivate_and_cleanup_free(ros, graphs):
    from rclpy.lifecycle import TransitionCallbackReturn

    node = make_node(ros, graphs["metric"], lifecycle=True)
    assert not list(node.subscriptions) and node.core.pipeline is None
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.core.pipeline.backend is not None  # the onnx graph's resolution is known: loaded now
    assert set(subscriptions(node)) == {"image", "camera_info"}
    feed(node)
    assert not node.core.process_next()  # inactive: frames are ignored
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    node.core.stop()
    node.core.start(thread=False)
    feed(node)
    assert node.core.process_next()
    assert publishers(node)["depth/image"].published
    assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    assert node.core.pipeline.backend is None  # GPU memory freed
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    assert node.core.pipeline.backend is not None  # reloaded
    node.trigger_deactivate()
    assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
    assert node.core.pipeline is None and not list(node.subscriptions)
    assert "depth/image" not in publishers(node)


def test_lifecycle_configure_fails_cleanly_on_a_missing_model(ros, tmp_path):
    from rclpy.lifecycle import TransitionCallbackReturn

    node = make_node(ros, tmp_path / "missing.onnx", lifecycle=True)
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert node.current_state_label == "unconfigured"
    assert any("configure failed" in w for w in warnings(node))


def test_worker_thread_processes_frames_off_the_callbacks(ros, graphs):
    import time

    from rclpy.parameter import Parameter

    from depth_anything_ros.node import DepthNode

    node = DepthNode(parameter_overrides=[Parameter("onnx", value=str(graphs["metric"])),
                                          Parameter("backend", value="onnxruntime")])
    try:
        feed(node)
        deadline = time.monotonic() + 30
        while not publishers(node)["depth/image"].published and time.monotonic() < deadline:
            time.sleep(0.01)
        assert publishers(node)["depth/image"].published
    finally:
        node.destroy_node()
    assert node.core._worker is None
