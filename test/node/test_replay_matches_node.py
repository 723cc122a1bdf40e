"""Replay and the node give the same answer, frame by frame, on one bag of good and bad frames (K = 0
included): the bag goes through ``replay``, and its very messages (the bag's CDR bytes, deserialized by
rclpy) through the real node's subscription callbacks, with its outputs read back over DDS by a probe."""

from __future__ import annotations

import numpy as np
import pytest

from depth_anything_ros.msgs import open_bags
from depth_anything_ros.node import PipelineConfig, replay
from depth_anything_ros.runtime import OnnxRuntimeBackend

from frame_cases import CASES, IMAGE_TOPIC, INFO_TOPIC, case_graphs, write_frames_bag
from ros_graph import Probe


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    return case_graphs(tmp_path_factory.mktemp("graphs"))


def stamp_of(msg) -> int:
    return int(msg.header.stamp.sec) * 10**9 + int(msg.header.stamp.nanosec)


def content(msg) -> tuple:
    """What a subscriber sees of an output message, comparable across rclpy and rosbags classes."""
    values = [msg.header.frame_id, int(msg.height), int(msg.width)]
    if hasattr(msg, "encoding"):  # Image
        values += [msg.encoding, int(msg.step), int(msg.is_bigendian), np.asarray(msg.data, np.uint8).tobytes()]
    elif hasattr(msg, "point_step"):  # PointCloud2
        values += [int(msg.point_step), int(msg.row_step), bool(msg.is_dense), bool(msg.is_bigendian),
                   [(f.name, int(f.offset), int(f.datatype), int(f.count)) for f in msg.fields],
                   np.asarray(msg.data, np.uint8).tobytes()]
    else:  # CameraInfo
        values += [msg.distortion_model] + [np.asarray(getattr(msg, m), np.float64).tobytes() for m in "dkrp"]
    return tuple(values)


def by_frame(messages: dict[str, list]) -> dict[int, dict[str, tuple]]:
    """{stamp: {topic name under depth/: content}}."""
    frames: dict[int, dict[str, tuple]] = {}
    for name, msgs in messages.items():
        for msg in msgs:
            assert name not in frames.setdefault(stamp_of(msg), {}), f"two {name} for one frame"
            frames[stamp_of(msg)][name] = content(msg)
    return frames


def replayed(bag, out, graph) -> tuple[dict, object]:
    config = PipelineConfig(onnx=str(graph), backend="onnxruntime")
    summary = replay(bag, out, IMAGE_TOPIC, config, lambda hw: OnnxRuntimeBackend(graph), progress=lambda _: None)
    messages: dict[str, list] = {}
    with open_bags([out]) as reader:
        for conn, _, raw in reader.messages():
            if "/depth/" in conn.topic:
                messages.setdefault(conn.topic.rsplit("/", 1)[1], []).append(reader.deserialize(raw, conn.msgtype))
    return by_frame(messages), summary


def published_by_node(bag, graph) -> tuple[dict, object]:
    """The bag's messages through the real node (max_age 0: the bag's stamps are old), frame by frame."""
    from rclpy.parameter import Parameter
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CameraInfo, Image

    from depth_anything_ros.node.ros_node import OUTPUTS, DepthNode

    node = DepthNode(parameter_overrides=[Parameter("onnx", value=str(graph)),
                                          Parameter("backend", value="onnxruntime"), Parameter("max_age", value=0.0)])
    node.core.stop()
    node.core.start(thread=False)
    probe = Probe(node)
    try:
        names = [name for name in ("image", "relative", "camera_info", "points") if name in node.core.publishers]
        got = {name: probe.listen(f"depth/{name}", OUTPUTS[name], depth=50) for name in names}
        assert probe.spin_until(lambda: all(node.core.subscribed(name) for name in names))
        depth = [got[name] for name in ("image", "relative") if name in got]  # one of them per published frame
        with open_bags([bag]) as reader:
            for conn, _, raw in reader.messages():
                if conn.topic == INFO_TOPIC:
                    node.core.on_camera_info(deserialize_message(raw, CameraInfo))
                    continue
                assert conn.topic == IMAGE_TOPIC
                before = node.core.stats.published
                node.core.on_image(deserialize_message(raw, Image))
                assert node.core.process_next()
                if node.core.stats.published > before:
                    assert probe.spin_until(lambda n=node.core.stats.published: sum(map(len, depth)) == n)
        probe.spin_for(0.5)  # camera_info and points of the last frames
        return by_frame(got), node.core.stats
    finally:
        probe.close()
        node.destroy_node()


@pytest.mark.parametrize("kind", ["metric", "relative", "da3-metric"])
def test_replay_and_the_node_agree_frame_by_frame(ros, tmp_path, graphs, kind):
    bag = write_frames_bag(tmp_path / "frames")
    from_replay, summary = replayed(bag, tmp_path / "out", graphs[kind])
    from_node, stats = published_by_node(bag, graphs[kind])
    assert sorted(from_replay) == sorted(from_node)
    for stamp in from_replay:
        assert from_replay[stamp] == from_node[stamp], stamp
    # the same frames skipped, under the same counters
    assert summary.reasons == dict(stats.input_errors) and summary.skipped == sum(stats.input_errors.values())
    published = {"metric": 3, "relative": 3, "da3-metric": 2}[kind]  # good, good_again, K = 0 (not for DA3 metric)
    assert summary.frames == stats.published == len(from_replay) == published
    assert summary.uncalibrated == 1 and summary.skipped == len(CASES) - published
    topics = {name for frame in from_replay.values() for name in frame}
    assert topics == ({"relative", "camera_info"} if kind == "relative" else {"image", "camera_info", "points"})
    calibrated = [stamp for stamp, frame in from_replay.items() if "camera_info" in frame]
    assert len(calibrated) == 2  # K = 0: depth without camera_info (and cloud)
