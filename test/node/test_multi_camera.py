"""The multi-camera worker and its fair batcher, without ROS (issue 26): no cross-talk, no stalls.

Three cameras, each with its own image, K, frame_id and stamp, go through one batched graph; each camera's
messages must equal a single-camera run of the same frame on the same graph, bit for bit. A camera that
sends a bad frame or stops costs only its own slot and says why in its own counters.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.msgs.messages import bgr_image_msg, camera_info_msg, header_msg, rosbags_kit
from depth_anything_ros.node.batcher import FairBatcher
from depth_anything_ros.node.cameras import parse_cameras
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_path import FramePath
from depth_anything_ros.node.multi_worker import MultiCameraWorker
from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from depth_anything_ros.synthetic.scene import render_sample_scene

KIT = rosbags_kit(get_typestore(Stores.ROS2_HUMBLE))
H, W = 48, 64
CAMERAS = {"front": (40.0, 0.0), "left": (55.0, 1.0), "rear": (70.0, 2.5)}  # name -> (focal, forward)
START = 1_700_000_000_000_000_000


class Publisher:
    def __init__(self) -> None:
        self.sent: list = []

    def publish(self, msg) -> None:
        self.sent.append(msg)

    def get_subscription_count(self) -> int:
        return 1


def frame(name: str, stamp: int, bad: bool = False):
    focal, forward = CAMERAS[name]
    header = header_msg(KIT, stamp, f"{name}_optical_frame")
    bgr = render_sample_scene(H, W, forward=forward)[0]
    if name == "left":
        bgr = np.ascontiguousarray(bgr[:, ::-1])
    k = np.array([[focal, 0, W / 2], [0, focal, H / 2], [0, 0, 1]])
    camera = CameraModel.pinhole(W, H, focal, W / 2, H / 2)
    assert np.allclose(camera.k, k)
    image = bgr_image_msg(KIT, header, bgr)
    if bad:
        image = KIT.image(header=header, height=H, width=W, encoding="bgr8", is_bigendian=0, step=W * 3,
                          data=KIT.uint8_sequence(bgr.reshape(-1)[:100]))
    return image, camera_info_msg(KIT, header, camera)


@pytest.fixture(scope="module")
def graph(tmp_path_factory, request):
    from depth_anything_ros.model.v2.build import untrained_model

    from conftest import tiny_spec

    path = tmp_path_factory.mktemp("multi") / "batch.onnx"
    export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), (H, W), path, input_size=56,
                 max_batch=3)
    return path


def worker_for(graph, **values) -> tuple[MultiCameraWorker, list]:
    opened = []

    def open_backend(config, image_hw, max_batch=0):
        opened.append((image_hw, max_batch))
        return OnnxRuntimeBackend(graph)

    config = PipelineConfig(onnx=str(graph), backend="onnxruntime", max_age=0.0,
                            cameras="/front, /left, /rear", **values)
    worker = MultiCameraWorker(config, logging.getLogger("multi"), open_backend, KIT)
    for camera in worker.cameras:
        camera.publishers = {name: Publisher() for name in ("image", "camera_info", "points", "preview")}
    worker.open_pipeline()
    worker.start(thread=False)
    return worker, opened


def send(worker, name: str, stamp: int, bad: bool = False) -> None:
    camera = worker.by_name[name]
    image, info = frame(name, stamp, bad)
    worker.on_camera_image(camera, image)
    worker.on_camera_info_of(camera, info)


def single_camera_run(graph, name: str, stamp: int) -> dict:
    path = FramePath(PipelineConfig(onnx=str(graph), backend="onnxruntime"), lambda hw: OnnxRuntimeBackend(graph), KIT)
    outcome = path.process(*frame(name, stamp), want_cloud=True, want_preview=True)
    assert outcome.published
    return outcome.messages


def test_each_camera_gets_what_a_single_camera_run_gives_and_its_own_header(graph):
    worker, opened = worker_for(graph)
    stamps = {name: START + 1000 * i for i, name in enumerate(CAMERAS)}
    for name in ("rear", "front", "left"):  # arrival order is not camera order
        send(worker, name, stamps[name])
    assert worker.process_next(timeout=1.0) and worker.batches == 1
    assert opened == [((H, W), 3)]  # one engine, batched for the three cameras
    depths = []
    for name in CAMERAS:
        camera = worker.by_name[name]
        alone = single_camera_run(graph, name, stamps[name])
        for topic, msg in alone.items():
            (sent,) = camera.publishers[topic].sent
            assert sent.header.frame_id == f"{name}_optical_frame"
            assert sent.header.stamp.sec * 10**9 + sent.header.stamp.nanosec == stamps[name]
            for field in ("data", "k", "p"):
                if hasattr(msg, field):
                    np.testing.assert_array_equal(np.asarray(getattr(sent, field)), np.asarray(getattr(msg, field)))
        info = camera.publishers["camera_info"].sent[0]
        assert info.k[0] == CAMERAS[name][0]  # each camera's own K
        assert camera.stats.published == 1 and not camera.stats.input_errors
        depths.append(np.asarray(camera.publishers["image"].sent[0].data))
    assert not np.array_equal(depths[0], depths[1]) and not np.array_equal(depths[1], depths[2])
    worker.shutdown()


def test_a_bad_frame_costs_only_its_slot_and_its_diagnostics_say_why(graph):
    worker, _ = worker_for(graph)
    send(worker, "front", START)
    send(worker, "left", START, bad=True)
    send(worker, "rear", START)
    assert worker.process_next(timeout=1.0)
    left = worker.by_name["left"]
    assert left.stats.input_errors == {"size": 1} and not left.publishers["image"].sent
    for name in ("front", "rear"):
        (sent,) = worker.by_name[name].publishers["image"].sent
        expected = single_camera_run(graph, name, START)["image"]
        np.testing.assert_array_equal(np.asarray(sent.data), np.asarray(expected.data))
    statuses = left.stats.report(time.monotonic_ns(), worker.health())
    assert any("size" in str(status.values) or "size" in status.message for status in statuses)
    worker.shutdown()


def test_a_stopped_camera_is_waited_for_no_longer_than_the_window(graph):
    worker, _ = worker_for(graph, batch_window_ms=50.0)
    send(worker, "front", START)
    send(worker, "rear", START)
    started = time.monotonic()
    assert worker.process_next(timeout=5.0)
    waited = time.monotonic() - started
    assert 0.04 <= waited < 5.0  # the window was given to the stalled camera, and the batch ran without it
    assert worker.by_name["front"].stats.published == 1 and worker.by_name["rear"].stats.published == 1
    assert worker.by_name["left"].stats.published == 0
    worker.shutdown()


def test_fair_batcher_takes_the_newest_frame_of_each_camera_once_per_cycle():
    batcher = FairBatcher(["a", "b", "c"], window_s=5.0)
    assert not batcher.offer("a", 1) and batcher.offer("a", 2)  # a faster camera replaces its own frame only
    batcher.offer("b", 10)
    threading.Timer(0.01, batcher.offer, ("c", 20)).start()
    started = time.monotonic()
    assert batcher.take(timeout=10.0) == {"a": 2, "b": 10, "c": 20}
    assert time.monotonic() - started < 5.0  # every camera came: the 5 s window was not waited out
    batcher.close()
    batcher = FairBatcher(["a", "b", "c"], window_s=0.05)
    assert batcher.take(timeout=0.02) == {}
    batcher.offer("c", 21)
    assert batcher.take(timeout=1.0) == {"c": 21}  # the others stopped: the cycle ends with the window
    batcher.close()
    assert batcher.take(timeout=None) == {}


def test_cameras_parameter_and_per_camera_calibrations():
    specs = parse_cameras("[/cam_front, /cam_back:/cam_back/image_rect:/cam_back/info]", "/cam_back=back.yaml")
    assert [s.namespace for s in specs] == ["/cam_front", "/cam_back"]
    assert specs[0].image_topic == "/cam_front/image" and specs[0].info_topic == "/cam_front/camera_info"
    assert specs[1].image_topic == "/cam_back/image_rect" and specs[1].calibration_file == "back.yaml"
    assert specs[1].topic("depth/image") == "/cam_back/depth/image" and specs[1].name == "cam_back"
    for bad, match in (("", "no camera"), ("/a, /a", "twice"), ("/a:/b", "NS or NS:IMAGE"), ("/a b", "ROS name")):
        with pytest.raises(ValueError, match=match):
            parse_cameras(bad)
    with pytest.raises(ValueError, match="NS=FILE"):
        parse_cameras("/a", "/b=x.yaml")


def test_six_camera_config_example_is_a_valid_params_file():
    from pathlib import Path

    from depth_anything_ros.node.config import config_from_parameters

    config = config_from_parameters(Path(__file__).parents[2] / "config" / "six_cameras.yaml")
    specs = parse_cameras(config.cameras, config.camera_calibrations)
    assert [s.namespace for s in specs] == ["/cam_front", "/cam_front_left", "/cam_front_right", "/cam_back",
                                            "/cam_back_left", "/cam_back_right"]
    assert config.expected_image_hw() == (900, 1600) and config.batch_window_ms == 15.0


def test_lifecycle_node_with_cameras_publishes_per_namespace_and_frees_the_shared_engine(ros, graph):
    """The managed node with ``cameras`` over real rclpy: per-camera topics and diagnostics, and deactivate frees
    the one shared engine that activate reloads."""
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image

    from depth_anything_ros.node.ros_node import DepthLifecycleNode, MultiCameraNodeCore

    from ros_graph import Probe, header, image_msg, info_msg

    values = {"onnx": str(graph), "backend": "onnxruntime", "cameras": "/front, /rear", "max_age": 0.0}
    node = DepthLifecycleNode(parameter_overrides=[Parameter(k, value=v) for k, v in values.items()])
    probe = Probe(node)
    try:
        assert isinstance(node.core, MultiCameraNodeCore)
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert len(node.core.backends.opened()) == 1  # one engine for both cameras, loaded at configure
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        node.core.stop()
        node.core.start(thread=False)
        got = {ns: probe.listen(f"{ns}/depth/image", Image) for ns in ("/front", "/rear")}
        probe.spin_until(lambda: all(c.subscribed("image") for c in node.core.cameras))
        for camera, frame_id in zip(node.core.cameras, ("front_optical", "rear_optical"), strict=True):
            hdr = header(node)
            hdr.frame_id = frame_id
            node.core.on_camera_info_of(camera, info_msg(hdr, H, W))
            node.core.on_camera_image(camera, image_msg(hdr, height=H, width=W))
        assert node.core.process_next(timeout=1.0)
        probe.spin_until(lambda: all(got.values()), timeout=5.0)
        assert got["/front"][0].header.frame_id == "front_optical" and got["/rear"][0].header.frame_id == "rear_optical"
        names = {s.name for s in node.core.diagnostics().status}
        assert {"depth_anything_ros: front: depth", "depth_anything_ros: rear: stamp delay"} <= names
        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert not node.core.backends.opened() and node.core.pipeline.backend is None
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert len(node.core.backends.opened()) == 1
        node.trigger_deactivate()
        assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        assert not node.core.subscriptions and all(not c.publishers for c in node.core.cameras)
    finally:
        probe.close()
        node.destroy_node()
