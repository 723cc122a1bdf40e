"""The live anchor through replay, the node's own frame path, on bags: a "network" whose output is the rig's true
depth under a different affine every frame (and a slow drift) is anchored by a simulated 2D laser alone, scored
on the rig's 48-beam LiDAR it never saw; one offline calibration cannot follow it. And replay and the real node
give the same anchored depth and head, frame by frame, bad scans included."""

from __future__ import annotations

import numpy as np
import pytest

from depth_anything_ros.calibration.metrics import depth_metrics
from depth_anything_ros.core.anchor import AnchorState
from depth_anything_ros.core.calibration_file import Calibration, save_calibration
from depth_anything_ros.core.head_fit import fit_head
from depth_anything_ros.msgs.bags import open_bags
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_anchor import HEAD_FIELDS, STATE_CODES
from depth_anything_ros.node.replay import replay
from depth_anything_ros.synthetic.distorted import frame_distortions, laser_scene
from depth_anything_ros.synthetic.rig import SyntheticRig

from anchor_cases import (
    LASER_IN_CAMERA,
    LASER_TOPIC,
    RIG_IMAGE_TOPIC,
    distorted_backend,
    static_transform_args,
    write_laser_rig_bag,
)
from ros_graph import Probe

FRAMES = 30
LIVE_TOLERANCE = 0.03  # held-out AbsRel the live anchor must reach from the 2D laser alone (as in test_anchor)


def outputs(bag) -> dict[str, dict[int, object]]:
    """{name under depth/: {stamp ns: message}} of a replayed bag."""
    out: dict[str, dict[int, object]] = {}
    with open_bags([bag]) as reader:
        for conn, _, raw in reader.messages():
            if "/depth/" in conn.topic:
                msg = reader.deserialize(raw, conn.msgtype)
                stamp = int(msg.header.stamp.sec) * 10**9 + int(msg.header.stamp.nanosec) if hasattr(msg, "header") \
                    else int(msg.data[0]) * 10**9 + int(msg.data[1])
                out.setdefault(conn.topic.rsplit("/", 1)[1], {})[stamp] = msg
    return out


def depth_of(msg) -> np.ndarray:
    return np.frombuffer(np.asarray(msg.data, np.uint8).tobytes(), np.float32).reshape(msg.height, msg.width)


def held_out_absrel(images: dict[int, object]) -> float:
    """AbsRel of the published depth on the 48-beam LiDAR pixels, pooled over every frame."""
    held = laser_scene().held_out
    valid = np.isfinite(held)
    predicted = np.concatenate([depth_of(msg)[valid] for msg in images.values()])
    return depth_metrics(predicted, np.tile(held[valid], len(images)))["abs_rel"]


def test_replay_with_a_2d_laser_recovers_metres_that_no_offline_calibration_can(tmp_path):
    truth = SyntheticRig().true_depth()
    distortions = frame_distortions(FRAMES, seed=3)
    bag = write_laser_rig_bag(tmp_path / "rig", FRAMES)
    config = PipelineConfig(max_age=0.0)
    live = replay(bag, tmp_path / "live", RIG_IMAGE_TOPIC, config,
                  lambda hw: distorted_backend(truth, distortions, "relative"), progress=lambda _: None,
                  anchor_topic=LASER_TOPIC)  # the extrinsic from the bag's /tf_static, as tf would give it
    # a frame whose shift jumps (frame 4: 3.3 sigma) can pull the fit onto the wall most laser points hit: the
    # guards refuse it and the estimate is held for that frame
    assert live.frames == FRAMES and live.anchor.states["live"] >= FRAMES - 2, live.anchor.reasons
    assert set(live.anchor.states) <= {"live", "held"}
    assert set(live.anchor.reasons) <= {"ok", "max_change", "degenerate", "low_inliers"}
    assert live.anchor.extrinsics == "the bag's /tf_static and /tf"
    assert live.anchor.last.extrinsic == "the bag's /tf_static and /tf"
    anchored = outputs(tmp_path / "live")
    assert set(anchored) == {"image", "camera_info", "points", "anchor"}  # metres from a relative "network"
    heads = [dict(zip(HEAD_FIELDS, msg.data, strict=True)) for msg in anchored["anchor"].values()]
    # each live frame's head is the inverse of its own distortion (up to the pixel noise)
    live_heads = [(head, d) for head, d in zip(heads, distortions, strict=True)
                  if head["state"] == STATE_CODES[AnchorState.LIVE]]
    assert len(live_heads) == live.anchor.states["live"]
    for head, distortion in live_heads:
        assert head["scale"] == pytest.approx(distortion.head()[0], rel=0.05)
    live_error = held_out_absrel(anchored["image"])

    # the best one offline calibration: fitted on the held-out LiDAR of every frame itself (its lower bound)
    held = laser_scene().held_out
    valid = np.isfinite(held)
    pooled = np.concatenate([d.raw("relative", truth, noise=0.01, seed=k)[valid] for k, d in enumerate(distortions)])
    fit = fit_head(pooled, np.tile(held[valid], FRAMES), "relative", "affine")
    calibration = save_calibration(tmp_path / "c.yaml", Calibration("relative", fit.scale, fit.shift))
    replay(bag, tmp_path / "offline", RIG_IMAGE_TOPIC, PipelineConfig(max_age=0.0, calibration_file=str(calibration)),
           lambda hw: distorted_backend(truth, distortions, "relative"), progress=lambda _: None)
    offline_error = held_out_absrel(outputs(tmp_path / "offline")["image"])
    print(f"\nheld-out AbsRel through replay: live anchor (2D laser) {live_error:.4f}, best offline calibration "
          f"{offline_error:.4f}")
    assert live_error < LIVE_TOLERANCE
    assert offline_error > 0.1 and offline_error > 5 * live_error


def node_outputs(bag, truth, distortions, config_values: dict) -> dict[str, dict[int, object]]:
    """The bag's messages (CDR bytes deserialized by rclpy) through the real node's callbacks, outputs over DDS."""
    from rclpy.parameter import Parameter
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CameraInfo, Image, LaserScan
    from std_msgs.msg import Float64MultiArray

    from depth_anything_ros.node.ros_node import DepthNode

    overrides = [Parameter(name, value=value) for name, value in config_values.items()]
    node = DepthNode(parameter_overrides=overrides)
    core = node.core
    core.stop()
    core._open_backend = lambda backend_config, hw: distorted_backend(truth, distortions, "relative")  # loads lazily
    core.start(thread=False)
    probe = Probe(node)
    types = {"image": Image, "anchor": Float64MultiArray}
    got = {name: probe.listen(f"depth/{name}", msg_type, depth=50) for name, msg_type in types.items()}
    try:
        assert probe.spin_until(lambda: all(core.subscribed(name) for name in types))
        classes = {RIG_IMAGE_TOPIC: Image, "/camera/camera_info": CameraInfo, LASER_TOPIC: LaserScan}
        with open_bags([bag]) as reader:
            for conn, _, raw in reader.messages():
                if conn.topic not in classes:
                    continue
                msg = deserialize_message(raw, classes[conn.topic])
                if conn.topic == LASER_TOPIC:
                    core.on_anchor(msg)
                elif conn.topic == RIG_IMAGE_TOPIC:
                    core.on_image(msg)
                    assert core.process_next()
                    assert probe.spin_until(lambda n=core.stats.published: len(got["image"]) == n)
                else:
                    core.on_camera_info(msg)
        probe.spin_until(lambda: len(got["anchor"]) == core.stats.published)
        out = {"image": {}, "anchor": {}}
        for msg in got["image"]:
            out["image"][int(msg.header.stamp.sec) * 10**9 + int(msg.header.stamp.nanosec)] = msg
        for msg in got["anchor"]:
            out["anchor"][int(msg.data[0]) * 10**9 + int(msg.data[1])] = msg
        return out, core.anchor.report()
    finally:
        probe.close()
        node.destroy_node()


def test_replay_and_the_node_agree_on_the_anchored_depth_and_head_frame_by_frame(ros, tmp_path):
    truth = SyntheticRig().true_depth()
    frames = 12
    distortions = frame_distortions(frames, seed=5)
    bad = {3: "ghost", 4: "absurd", 7: "none", 8: "none"}  # an unknown frame, no usable range, two frames unanchored
    bag = write_laser_rig_bag(tmp_path / "rig", frames, bad=bad)
    extrinsic = static_transform_args(LASER_IN_CAMERA, "camera_optical_frame", "laser")  # the node has no tf here
    values = {"max_age": 0.0, "anchor_input": "scan", "anchor_extrinsic": extrinsic}
    summary = replay(bag, tmp_path / "out", RIG_IMAGE_TOPIC, PipelineConfig(**values),
                     lambda hw: distorted_backend(truth, distortions, "relative"), progress=lambda _: None,
                     anchor_topic=LASER_TOPIC)
    from_replay = outputs(tmp_path / "out")
    from_node, report = node_outputs(bag, truth, distortions, values)
    assert sorted(from_replay["image"]) == sorted(from_node["image"]) and len(from_node["image"]) == frames
    for stamp, msg in from_replay["image"].items():
        np.testing.assert_array_equal(depth_of(msg), depth_of(from_node["image"][stamp]))
        np.testing.assert_array_equal(np.asarray(from_replay["anchor"][stamp].data),
                                      np.asarray(from_node["anchor"][stamp].data))
    assert summary.anchor.reasons == report.reasons and summary.anchor.states == report.states
    assert report.reasons["no_transform"] == 1 and report.reasons["no_points"] == 1
    assert report.reasons["scan_too_old"] == 2 and report.states["held"] == 4
    assert report.message_problems == {"no_points": 1}
