"""Bag replay through the shared DepthPipeline; the synchronizer; calibrations; bad frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rosbags.highlevel import AnyReader

from depth_anything_ros.cli.main import main
from depth_anything_ros.core import InputError
from depth_anything_ros.core.calibration_file import Calibration, load_calibration, save_calibration
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.node import DepthPipeline, PipelineConfig, replay
from depth_anything_ros.node.replay import camera_namespace
from depth_anything_ros.node.sync import StampSynchronizer
from depth_anything_ros.preview import colour_bar
from depth_anything_ros.runtime import OnnxRuntimeBackend
from depth_anything_ros.synthetic import write_sample_bag

from png_checks import read_png

SIZE = (24, 32)


@pytest.fixture
def metric_opener(tmp_path, tiny_metric):
    opened = []

    def open_backend(image_hw):
        path = tmp_path / f"g_{image_hw[0]}x{image_hw[1]}.onnx"
        export_graph(tiny_metric, image_hw, path, input_size=56)
        opened.append(image_hw)
        return OnnxRuntimeBackend(path)
    open_backend.opened = opened
    return open_backend


def read_bag(path: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    with AnyReader([path]) as reader:
        for conn, timestamp, raw in reader.messages():
            out.setdefault(conn.topic, []).append((timestamp, reader.deserialize(raw, conn.msgtype)))
    return out


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_replay_writes_depth_info_and_points_with_input_stamps(tmp_path, metric_opener, storage):
    bag = write_sample_bag(tmp_path / "in", frames=3, size=SIZE, storage=storage)
    config = PipelineConfig(metric=True, max_depth=20.0, cloud_organized=False)
    summary = replay(bag, tmp_path / "out", "/camera/image_rect", config, metric_opener, preview_dir=tmp_path / "p",
                     progress=lambda _: None)
    assert (summary.frames, summary.skipped, summary.unmatched, summary.interrupted) == (3, 0, 0, False)
    topics = read_bag(tmp_path / "out")
    assert set(topics) == {"/camera/image_rect", "/camera/camera_info", "/camera/depth/image",
                           "/camera/depth/camera_info", "/camera/depth/points"}
    for (t_in, image), (t_out, depth), (_, info), (_, cloud) in zip(
            topics["/camera/image_rect"], topics["/camera/depth/image"], topics["/camera/depth/camera_info"],
            topics["/camera/depth/points"], strict=True):
        assert t_in == t_out and depth.header.stamp == image.header.stamp == cloud.header.stamp
        assert depth.header.frame_id == "camera_optical_frame" and depth.encoding == "32FC1"
        assert (info.width, info.height) == (depth.width, depth.height) == (SIZE[1], SIZE[0])
        values = np.frombuffer(depth.data, np.float32)
        assert np.isfinite(values).all() and values.min() > 0 and values.max() <= 20
        assert cloud.is_dense and cloud.width == SIZE[0] * SIZE[1] and cloud.point_step == 16
    assert len(list((tmp_path / "p").glob("frame_*.png"))) == 3
    # input | depth | colour bar
    read_png(tmp_path / "p" / "frame_00001.png", (SIZE[0], 2 * SIZE[1] + colour_bar(SIZE[0], 1.0, 2.0).shape[1]))
    assert metric_opener.opened == [SIZE]  # one backend for the whole bag
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_relative_without_calibration_publishes_relative_only(tmp_path, tiny_relative):
    bag = write_sample_bag(tmp_path / "in", frames=2, size=SIZE)

    def opener(image_hw):
        export_graph(tiny_relative, image_hw, tmp_path / "r.onnx", input_size=56)
        return OnnxRuntimeBackend(tmp_path / "r.onnx")
    replay(bag, tmp_path / "out", "/camera/image_rect", PipelineConfig(), opener, progress=lambda _: None)
    topics = read_bag(tmp_path / "out")
    assert "/camera/depth/relative" in topics and "/camera/depth/image" not in topics
    assert "/camera/depth/points" not in topics

    calibration = save_calibration(tmp_path / "cal.yaml", Calibration("relative", 0.05, 0.01))
    config = PipelineConfig(calibration_file=str(calibration))
    replay(bag, tmp_path / "out2", "/camera/image_rect", config, opener, progress=lambda _: None)
    calibrated = read_bag(tmp_path / "out2")
    relative = np.frombuffer(topics["/camera/depth/relative"][0][1].data, np.float32)
    depth = np.frombuffer(calibrated["/camera/depth/image"][0][1].data, np.float32)
    expected = 1.0 / (0.05 * relative + 0.01)
    np.testing.assert_allclose(depth[np.isfinite(depth)], expected[np.isfinite(depth)], rtol=1e-5)


def test_missing_topics_are_named(tmp_path, metric_opener):
    bag = write_sample_bag(tmp_path / "in", frames=1, size=SIZE)
    with pytest.raises(ValueError, match=r"no image topic '/cam/image'.*/camera/image_rect \(sensor_msgs/msg/Image\)"):
        replay(bag, tmp_path / "out", "/cam/image", PipelineConfig(), metric_opener)
    with pytest.raises(ValueError, match="no camera_info topic '/x/info'"):
        replay(bag, tmp_path / "out", "/camera/image_rect", PipelineConfig(), metric_opener, "/x/info")
    assert not (tmp_path / "out").exists()


def test_interrupted_replay_leaves_a_readable_bag(tmp_path, metric_opener, monkeypatch):
    bag = write_sample_bag(tmp_path / "in", frames=4, size=SIZE)
    calls = {"n": 0}
    original = DepthPipeline.prepare

    def interrupt_on_third(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)
    monkeypatch.setattr(DepthPipeline, "prepare", interrupt_on_third)
    config = PipelineConfig(metric=True, max_depth=20.0)
    summary = replay(bag, tmp_path / "out", "/camera/image_rect", config, metric_opener, progress=lambda _: None)
    assert summary.interrupted and summary.frames == 2
    assert len(read_bag(tmp_path / "out")["/camera/depth/image"]) == 2


def test_failed_replay_leaves_no_bag(tmp_path):
    bag = write_sample_bag(tmp_path / "in", frames=1, size=SIZE)

    def broken(image_hw):
        raise RuntimeError("engine exploded")
    with pytest.raises(RuntimeError, match="engine exploded"):
        replay(bag, tmp_path / "out", "/camera/image_rect", PipelineConfig(), broken, progress=lambda _: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_compressed_input_and_cli(tmp_path, tiny_metric, capsys):
    bag = write_sample_bag(tmp_path / "in", frames=2, size=SIZE, compressed=True)
    export_graph(tiny_metric, SIZE, tmp_path / "g.onnx", input_size=56)
    code = main(["replay", str(bag), str(tmp_path / "out"), "--image-topic", "/camera/image_rect/compressed",
                 "--onnx", str(tmp_path / "g.onnx"), "--metric", "--max-depth", "20", "--backend", "onnxruntime"])
    assert code == 0
    assert "2 frames" in capsys.readouterr().out
    assert len(read_bag(tmp_path / "out")["/camera/depth/points"]) == 2


def test_pipeline_refuses_mismatched_camera_info_and_switches_resolution(tmp_path, metric_opener):
    from depth_anything_ros.core.camera import CameraModel

    pipeline = DepthPipeline(PipelineConfig(metric=True, max_depth=20.0, output_downscale=2), metric_opener)
    camera = CameraModel(32, 24, np.array([[20.0, 0, 15.5], [0, 20, 11.5], [0, 0, 1]]),
                         np.array([[20.0, 0, 15.5, 0], [0, 20, 11.5, 0], [0, 0, 1, 0]]))
    with pytest.raises(InputError, match="camera_info is 32x24, the image 30x20"):
        pipeline.process(np.zeros((20, 30, 3), np.uint8), camera)
    result = pipeline.process(np.zeros((24, 32, 3), np.uint8), camera)
    assert result.depth.shape == (12, 16) and (result.camera.width, result.camera.height) == (16, 12)
    assert result.camera.p[0, 0] == 10.0 and result.cloud.height == 12
    pipeline.process(np.zeros((20, 30, 3), np.uint8), None)
    assert metric_opener.opened == [(24, 32), (20, 30)]
    pipeline.close()


def test_synchronizer_exact_and_approximate():
    sync = StampSynchronizer()
    assert sync.add_image(100, "a") == []
    assert sync.add_info(100, "i100") == [(100, "a", "i100")]
    assert sync.add_image(100, "b") == [(100, "b", "i100")]
    assert sync.add_image(105, "c") == [] and sync.pending() == 1
    loose = StampSynchronizer(slop_s=10e-9)
    loose.add_info(100, "i100")
    loose.add_info(112, "i112")
    assert loose.add_image(109, "x") == [(109, "x", "i112")]  # the nearest within the slop
    small = StampSynchronizer(queue_size=2)
    for stamp in (1, 2, 3):
        small.add_image(stamp, stamp)
    assert small.dropped == 1 and small.pending() == 2


def test_calibration_files(tmp_path):
    path = save_calibration(tmp_path / "c.yaml", Calibration("metric", 1.1, -0.2, "ab" * 32, "/front",
                                                             {"abs_rel_after": 0.07}))
    loaded = load_calibration(path)
    assert loaded.scale == 1.1 and loaded.statistics == {"abs_rel_after": 0.07}
    assert loaded.check_applies_to("metric", "cd" * 32).startswith("calibration was fitted on weights abababab")
    with pytest.raises(ValueError, match="fitted for a metric model, the graph is relative"):
        loaded.check_applies_to("relative", "ab" * 32)
    (tmp_path / "bad.yaml").write_text("scale: 1\n")
    with pytest.raises(ValueError, match="not a depth_anything_ros calibration"):
        load_calibration(tmp_path / "bad.yaml")
    (tmp_path / "zero.yaml").write_text("depth_anything_ros_calibration: 1\nmodel_kind: metric\nscale: 0\nshift: 0\n")
    with pytest.raises(ValueError, match="scale must be non-zero"):
        load_calibration(tmp_path / "zero.yaml")


def test_camera_namespace():
    assert camera_namespace("/front/image_rect") == "/front"
    assert camera_namespace("/front/image_raw/compressed") == "/front"
    assert camera_namespace("/image") == ""


def test_da3_metric_replay_takes_the_focal_from_the_bags_camera_info(tmp_path, capsys):
    from depth_anything_ros.runtime import BackendConfig, open_backend

    from conftest import tiny_da3_checkpoint

    folder = tiny_da3_checkpoint(tmp_path / "da3", "metric", seed=1)
    bag = write_sample_bag(tmp_path / "in", frames=2, size=SIZE)
    code = main(["replay", str(bag), str(tmp_path / "out"), "--image-topic", "/camera/image_rect",
                 "--checkpoint", str(folder), "--backend", "onnxruntime"])
    assert code == 0 and "2 frames" in capsys.readouterr().out
    topics = read_bag(tmp_path / "out")
    assert "/camera/depth/relative" not in topics and len(topics["/camera/depth/points"]) == 2
    (_, image), (_, info), (_, depth) = (topics[t][0] for t in ("/camera/image_rect", "/camera/camera_info",
                                                                   "/camera/depth/image"))
    bgr = np.frombuffer(image.data, np.uint8).reshape(*SIZE, 3)
    k = np.asarray(info.k, np.float64).reshape(3, 3)
    with open_backend(BackendConfig(checkpoint=str(folder), backend="onnxruntime"), SIZE) as backend:
        assert backend.info.uses_focal
        expected = backend.infer_bgr(bgr, k=k).depth  # the bag's K, no other focal
        doubled = backend.infer_bgr(bgr, k=k * [[2], [2], [1]]).depth
    got = np.frombuffer(depth.data, np.float32).reshape(SIZE)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
    finite = np.isfinite(got) & np.isfinite(doubled)
    assert finite.mean() > 0.3 and not np.isnan(got).any()
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-5)
    assert not np.allclose(got[finite], doubled[finite], rtol=1e-2)  # the focal matters

