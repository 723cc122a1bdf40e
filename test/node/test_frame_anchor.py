"""The live anchor in the one frame path (ROS-free): a LiDAR or 2D laser fixes the head of a tiny real graph frame by
frame; every missing or bad anchor is a counted reason while depth keeps coming; states, fallback, the head message,
the diagnostics status, run-time changes. Tiny graphs on onnxruntime, rosbags message classes."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core.anchor import AnchorState
from depth_anything_ros.core.calibration_file import Calibration, save_calibration
from depth_anything_ros.core.head import metres_from_raw
from depth_anything_ros.core.transforms import Transform, matrix_to_quaternion
from depth_anything_ros.msgs.messages import header_msg, rosbags_kit
from depth_anything_ros.node.anchor_status import anchor_status
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_anchor import HEAD_FIELDS, STATE_CODES, FrameAnchor
from depth_anything_ros.node.frame_path import FramePath
from depth_anything_ros.node.stats import OK, WARN
from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
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
    range_msg,
    scan_of_depth,
    static_transform_args,
)
from frame_cases import FRAME_ID, START_NS, H, W, case_graphs, frame_pair

STORE = get_typestore(Stores.ROS2_HUMBLE)
KIT = rosbags_kit(STORE)
MS = 1_000_000
SCALE, SHIFT = 10.0, -3.3  # the head the anchor's "true" depth follows: 1 / depth = SCALE raw + SHIFT
LIDAR_ARGS = static_transform_args(LIDAR_IN_CAMERA, FRAME_ID, "lidar")


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    return case_graphs(tmp_path_factory.mktemp("frame_anchor"))


def path_for(graph, **values) -> tuple[FramePath, FrameAnchor]:
    config = PipelineConfig(onnx=str(graph), backend="onnxruntime", **values)
    anchor = FrameAnchor(config, log=lambda level, kind, text: LOGGED.append((level, kind, text)))
    return FramePath(config, lambda hw: OnnxRuntimeBackend(graph), KIT, anchor), anchor


LOGGED: list[tuple[str, str, str]] = []


def pair(index: int = 0, case: str = "good"):
    return frame_pair(KIT, case, START_NS + index * 100 * MS, 0)


def raw_of(graph) -> np.ndarray:
    """The graph's raw output for the frame cases' image (every index renders the same scene at forward 0)."""
    frames = FramePath(PipelineConfig(onnx=str(graph), backend="onnxruntime"), lambda hw: OnnxRuntimeBackend(graph),
                       KIT)
    result = frames.process(*pair()).result
    return result.relative if result.relative is not None else frames.pipeline.backend.infer_bgr(result.image).raw


def true_depth(raw: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        depth = 1.0 / (SCALE * raw.astype(np.float64) + SHIFT)
    return np.where((depth > 0) & (depth < 50), depth, np.nan)


def test_a_lidar_fixes_the_head_of_a_relative_graph_and_the_frame_publishes_metres_and_the_head(graphs):
    raw = raw_of(graphs["relative"])
    truth = true_depth(raw)
    frames, anchor = path_for(graphs["relative"], anchor_input="points", anchor_extrinsic=LIDAR_ARGS)
    anchor.add_message(lidar_cloud(KIT, START_NS - 20 * MS, points_from_depth(truth, sample_camera(H, W))))
    outcome = frames.process(*pair())
    step = outcome.anchor
    assert step.result.state is AnchorState.LIVE and step.result.reason.value == "ok", step.result.stats.detail
    assert step.extrinsic.startswith("anchor_extrinsic (camera_optical_frame <- lidar)")
    head = step.result.head
    assert head.scale == pytest.approx(SCALE, rel=1e-3) and head.shift == pytest.approx(SHIFT, rel=1e-3)
    assert set(outcome.messages) == {"image", "camera_info", "points", "anchor"}  # metres, though the graph is not
    np.testing.assert_array_equal(outcome.result.depth, metres_from_raw(raw, head.scale, head.shift, head.min_depth,
                                                                        head.max_depth, relative=True))
    valid = np.isfinite(truth)
    np.testing.assert_allclose(outcome.result.depth[valid], truth[valid], rtol=2e-3)
    row = dict(zip(HEAD_FIELDS, outcome.messages["anchor"].data, strict=True))
    assert outcome.messages["anchor"].layout.dim[0].label == ",".join(HEAD_FIELDS)
    assert (row["stamp_sec"], row["stamp_nanosec"]) == divmod(START_NS, 10**9)
    assert row["state"] == STATE_CODES[AnchorState.LIVE] and row["scale"] == pytest.approx(SCALE, rel=1e-3)
    assert row["residual_absrel"] < 1e-3 and row["points_used"] == step.result.stats.points_used > 20
    status = anchor_status(anchor.report(), 0)
    assert status.level == OK and status.message.startswith("live: scale")
    assert status.values["extrinsic source (last message)"].startswith("anchor_extrinsic")
    assert status.values["frames live"] == "1" and status.values["messages received"] == "1"


def test_every_missing_or_bad_anchor_is_counted_while_depth_keeps_coming(graphs, tmp_path):
    """One path, frame after frame: the reasons land in the counters; the calibration carries the metres when the
    anchor is lost, the filter's estimate while it is held."""
    LOGGED.clear()  # this test's log lines only
    raw = raw_of(graphs["relative"])
    points = points_from_depth(true_depth(raw), sample_camera(H, W))
    calibration = save_calibration(tmp_path / "c.yaml", Calibration("relative", 8.0, -2.5))
    frames, anchor = path_for(graphs["relative"], anchor_input="points", anchor_extrinsic=LIDAR_ARGS,
                              calibration_file=str(calibration), anchor_max_cloud_points=5000)
    behind = points * [1, 1, -1]
    sequence = [  # (anchor message before the frame, expected reason, expected state)
        (None, "no_scan", "fallback"),
        (lidar_cloud(KIT, START_NS + 100 * MS - 300 * MS, points), "scan_too_old", "fallback"),
        (lidar_cloud(KIT, START_NS + 200 * MS + 10 * MS, points), "scan_from_future", "fallback"),
        (cloud_msg(KIT, START_NS + 300 * MS, "lidar", np.zeros((0, 3))), "no_points", "fallback"),
        (cloud_msg(KIT, START_NS + 400 * MS, "lidar", inf_nan_points()), "no_points", "fallback"),
        (lidar_cloud(KIT, START_NS + 500 * MS, behind), "behind_camera", "fallback"),
        (lidar_cloud(KIT, START_NS + 600 * MS, points, frame_id="ghost"), "no_transform", "fallback"),
        (no_xyz_cloud(KIT, START_NS + 700 * MS), "bad_message", "fallback"),
        (lidar_cloud(KIT, START_NS + 800 * MS, np.repeat(points, 2, axis=0)), "too_large", "fallback"),
        (lidar_cloud(KIT, START_NS + 890 * MS, points), "ok", "live"),
        (None, "scan_too_old", "held"),  # 100 ms later the scan is too old: the estimate is held
        (cloud_msg(KIT, START_NS + 1100 * MS, FRAME_ID, points), "ok", "live"),  # in the camera's own frame
    ]
    assert len(points) < 5000 < 2 * len(points)
    for index, (message, reason, state) in enumerate(sequence):
        if message is not None:
            anchor.add_message(message)
        outcome = frames.process(*pair(index))
        result = outcome.anchor.result
        assert (result.reason.value, result.state.value) == (reason, state), (index, result.stats.detail)
        assert "image" in outcome.messages and np.isfinite(outcome.result.depth).any()  # depth keeps coming
        expected = (SCALE, SHIFT) if state in ("live", "held") else (8.0, -2.5)
        assert (result.stats.scale, result.stats.shift) == pytest.approx(expected, rel=1e-3)
    assert outcome.anchor.extrinsic == "same frame"
    uncalibrated = frames.process(*frame_pair(KIT, "uncalibrated", START_NS + 1150 * MS, 0))
    assert uncalibrated.anchor.result.reason.value == "no_camera" and uncalibrated.published
    late = frames.process(*pair(40))  # 2.8 s after the last live fit: anchor_hold_s 1 has run out
    assert late.anchor.result.state is AnchorState.FALLBACK
    report = anchor.report()
    assert report.messages == 10 and report.frames == 14
    assert report.message_problems == {"no_points": 2, "bad_message": 1, "too_large": 1}
    for reason in ("no_scan", "scan_too_old", "scan_from_future", "no_points", "behind_camera", "no_transform",
                   "bad_message", "too_large", "no_camera"):
        assert report.reasons[reason] >= 1, reason
    assert report.states == {"fallback": 10, "live": 2, "held": 2}
    status = anchor_status(report, 0)
    assert status.level == WARN and "offline calibration" in status.message
    assert status.values["frames by reason: behind_camera"] == "1"
    kinds = [kind for _, kind, _ in LOGGED]
    assert {"anchor_fallback", "anchor_live", "anchor_held"} <= set(kinds)


def test_a_2d_laser_scan_and_a_rangefinder_anchor_a_metric_graph(graphs):
    """A LaserScan in its own frame (REP 103 axes) and a Range (scale only) correct a metric graph's scale."""
    raw = raw_of(graphs["metric"])
    truth = 1.3 * raw.astype(np.float64)  # the graph reads 30 % short
    camera = sample_camera(H, W)
    laser = Transform(LIDAR_TO_OPTICAL, np.array([0.0, 0.001, 0.0]))
    ranges, angle_min, increment = scan_of_depth(truth, camera, laser, beams=64, fov=1.2)
    assert np.isfinite(ranges).sum() > 40
    frames, anchor = path_for(graphs["metric"], anchor_input="scan",
                              anchor_extrinsic=static_transform_args(laser, FRAME_ID, "laser"))
    scan_type = STORE.types["sensor_msgs/msg/LaserScan"]
    anchor.add_message(laser_scan_msg(scan_type, header_msg(KIT, START_NS - 5 * MS, "laser"), ranges, angle_min,
                                      increment, range_max=0.0))  # a driver that leaves range_max unset
    outcome = frames.process(*pair())
    result = outcome.anchor.result
    assert result.state is AnchorState.LIVE and result.stats.source == "fit-scale"
    assert result.head.scale == pytest.approx(1.3, rel=1e-4) and result.stats.points_used >= 20
    assert anchor.report().message_problems == {"range_max_invalid": 1}  # a note; the scan was still used
    finite = np.isfinite(outcome.result.depth)
    np.testing.assert_allclose(outcome.result.depth[finite], truth[finite], rtol=1e-4)

    ranged, range_anchor = path_for(graphs["metric"], anchor_input="range",
                                    anchor_extrinsic=static_transform_args(Transform(LIDAR_TO_OPTICAL), FRAME_ID,
                                                                           "tof"), anchor_min_points=10)
    centre = truth[H // 2 - 2: H // 2 + 2, W // 2 - 2: W // 2 + 2].mean()
    range_type = STORE.types["sensor_msgs/msg/Range"]
    range_anchor.add_message(range_msg(range_type, header_msg(KIT, START_NS - 5 * MS, "tof"), centre, 0.4))
    result = ranged.process(*pair()).anchor.result
    assert result.state is AnchorState.LIVE and result.stats.source == "fit-scale", result.stats.detail
    assert result.head.scale == pytest.approx(1.3, rel=0.03)  # a disc at one depth: the cone's pixels vary a little
    range_anchor.add_message(range_msg(range_type, header_msg(KIT, START_NS + 95 * MS, "tof"), math.inf))
    assert ranged.process(*pair(1)).anchor.result.reason.value == "no_points"


def test_a_parameter_change_takes_a_new_extrinsic_and_a_bad_one_changes_nothing(graphs, tmp_path):
    raw = raw_of(graphs["relative"])
    points = points_from_depth(true_depth(raw), sample_camera(H, W))
    config = PipelineConfig(onnx=str(graphs["relative"]), backend="onnxruntime", anchor_input="points",
                            anchor_extrinsic=static_transform_args(LIDAR_IN_CAMERA, FRAME_ID, "velodyne"))
    anchor = FrameAnchor(config)
    frames = FramePath(config, lambda hw: OnnxRuntimeBackend(graphs["relative"]), KIT, anchor)
    anchor.add_message(lidar_cloud(KIT, START_NS - 5 * MS, points))
    assert frames.process(*pair()).anchor.result.reason.value == "no_transform"
    missing = dataclasses.replace(config, anchor_extrinsic="", anchor_extrinsics_file=str(tmp_path / "none.yaml"))
    with pytest.raises(ValueError, match="cannot read extrinsics"):
        anchor.prepare(missing)
    assert anchor.extrinsics.source.startswith("anchor_extrinsic (camera_optical_frame <- velodyne)")
    base_from_camera = Transform(LIDAR_TO_OPTICAL.T)  # base_link (REP 103) at the camera
    base_from_lidar = base_from_camera @ LIDAR_IN_CAMERA
    (tmp_path / "rig.yaml").write_text("extrinsics:\n" + "".join(
        f"  - {{parent: base_link, child: {child}, translation: {list(map(float, t.translation))}, "
        f"rotation: {list(map(float, matrix_to_quaternion(t.rotation)))}}}\n"
        for child, t in (("camera_optical_frame", base_from_camera), ("lidar", base_from_lidar))))
    anchor.commit(anchor.prepare(dataclasses.replace(config, anchor_extrinsic="",
                                                     anchor_extrinsics_file=str(tmp_path / "rig.yaml"))))
    anchor.add_message(lidar_cloud(KIT, START_NS + 95 * MS, points))
    step = frames.process(*pair(1)).anchor
    assert step.result.state is AnchorState.LIVE, step.result.stats.detail
    assert step.extrinsic.startswith("anchor_extrinsics_file") and "2 transforms" in step.extrinsic


def test_a_failing_anchor_step_costs_the_anchor_not_the_depth(graphs):
    """Failure injection: an extrinsic source that raises (a bug, not bad input) must not lose the frame."""
    raw = raw_of(graphs["relative"])
    frames, anchor = path_for(graphs["relative"], anchor_input="points", anchor_extrinsic=LIDAR_ARGS)

    class Broken:
        source = "broken"

        def lookup(self, camera_frame, sensor_frame, stamp_ns):
            raise RuntimeError("boom")

    anchor.extrinsics = Broken()
    anchor.add_message(lidar_cloud(KIT, START_NS - 5 * MS, points_from_depth(true_depth(raw), sample_camera(H, W))))
    LOGGED.clear()
    outcome = frames.process(*pair())
    assert outcome.published and outcome.anchor is None and "anchor" not in outcome.messages
    assert set(outcome.messages) == {"relative", "camera_info"}  # the graph's own output, as without an anchor
    assert anchor.report().reasons == {"error": 1}
    assert LOGGED == [("error", "anchor_error", "anchor step failed (RuntimeError: boom); the frame keeps the "
                                                "calibration's (or the graph's) head")]


def test_the_callback_only_files_a_message_and_keeps_no_oversized_cloud():
    from depth_anything_ros.node.anchor_feed import AnchorFeed

    config = PipelineConfig(anchor_input="points", anchor_max_cloud_points=100)
    feed = AnchorFeed("points", config.anchor_config(), config.anchor_max_cloud_points)
    small, big = (cloud_msg(KIT, START_NS + i * MS, "lidar", np.ones((n, 3))) for i, n in ((0, 50), (1, 500)))
    feed.add(small)
    feed.add(big)
    assert feed.counts() == (2, {"too_large": 1})  # judged from its size in the callback, never read or kept
    _, message = feed.pick(START_NS + 2 * MS)
    assert message.stamp_ns == START_NS + MS and message.msg is None and feed.points(message).reason.value == \
        "too_large"
    _, message = feed.pick(START_NS)
    assert message.converted is None and message.msg is small  # converted on first use only
    assert len(feed.points(message).points) == 50 and message.msg is None and feed.counts() == (2, {"too_large": 1})
