"""calibrate / evaluate / lidar-depth end to end on rig bags: known heads are recovered, reports are complete."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from depth_anything_ros.calibration import (
    GroundTruthOptions,
    collect_samples,
    fit_calibration,
    measure,
    read_ground_truth,
)
from depth_anything_ros.cli.main import main
from depth_anything_ros.core.calibration_file import load_calibration
from depth_anything_ros.core.head import MetricHead, depth_from_raw, is_inverse
from depth_anything_ros.export import GraphInfo
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.runtime import DepthBackend, DepthOutput, OnnxRuntimeBackend
from depth_anything_ros.synthetic import RIG_TOPICS, SyntheticRig, write_rig_bag

from conftest import tiny_spec
from png_checks import read_png

OPTIONS = GroundTruthOptions(RIG_TOPICS["image"], RIG_TOPICS["camera_info"], RIG_TOPICS["lidar"])
TOPIC_ARGS = ["--image-topic", RIG_TOPICS["image"], "--camera-info-topic", RIG_TOPICS["camera_info"],
              "--lidar-topic", RIG_TOPICS["lidar"]]


class TruthBackend(DepthBackend):
    """A 'network' whose raw output is a known function of the rig's true depth."""

    name = "truth"

    def __init__(self, rig: SyntheticRig, kind: str, scale: float, shift: float) -> None:
        super().__init__(GraphInfo(rig.height, rig.width, "bgr", 56, 70, "tiny", 2, kind,
                                   20.0 if kind == "metric" else None, "abc123"))
        depth = rig.true_depth().astype(np.float64)
        target = 1.0 / depth if is_inverse(kind) else depth
        self.raw = ((target - shift) / scale).astype(np.float32)

    def _run(self, image, head, focal):
        return DepthOutput(self.raw, self.raw)

    def close(self):
        pass


@pytest.mark.parametrize(("kind", "method", "scale", "shift"), [
    ("relative", "affine", 0.37, 0.012), ("relative", "scale", 0.37, 0.0), ("metric", "affine", 1.15, 0.4),
    ("relative-depth", "affine", 2.5, 0.3), ("relative-depth", "scale", 2.5, 0.0),
])
def test_calibration_recovers_a_known_head_from_a_rig_bag(tmp_path, kind, method, scale, shift):
    rig = SyntheticRig()
    bag = write_rig_bag(tmp_path / "rig", rig, frames=12, rate_hz=2.0)
    backend = TruthBackend(rig, kind, scale, shift)
    collected = collect_samples(read_ground_truth([bag], OPTIONS), lambda hw: backend, progress=lambda _: None)
    calibration, report = fit_calibration(collected, method, [str(bag)], block_s=1.0, holdout_every=3)
    assert math.isclose(calibration.scale, scale, rel_tol=0.005)
    assert abs(calibration.shift - shift) < 0.005 * max(abs(shift), 0.1)
    stats = report["statistics"]
    assert stats["frames_train"] == 8 and stats["frames_held_out"] == 4
    assert stats["held_out_after"]["abs_rel"] < 0.01  # LiDAR vs the true depth: occlusion-filtered, tiny errors
    assert calibration.checkpoint_sha256 == "abc123" and calibration.camera == "camera_optical_frame"
    assert calibration.bags == [str(bag)] and calibration.created


def test_head_formula_matches_the_fused_graph(tmp_path):
    for kind, model in (("metric", untrained_model(tiny_spec("metric", max_depth=20.0), seed=2)),
                        ("relative", untrained_model(tiny_spec("relative"), seed=1))):
        export_graph(model, (24, 32), tmp_path / f"{kind}.onnx", input_size=56)
        backend = OnnxRuntimeBackend(tmp_path / f"{kind}.onnx")
        image = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
        scale, shift = (0.9, 0.3) if kind == "metric" else (0.05, 0.01)
        out = backend.infer(image, MetricHead(scale, shift, 0.0, math.inf))
        np.testing.assert_allclose(depth_from_raw(out.raw, scale, shift, kind), out.depth, rtol=1e-5)


@pytest.fixture(scope="module")
def tiny_graph(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "tiny.onnx"
    rig = SyntheticRig()
    export_graph(untrained_model(tiny_spec("relative"), seed=1), (rig.height, rig.width), path, input_size=56)
    return path


def test_calibrate_and_evaluate_commands_write_loadable_files(tmp_path, tiny_graph, capsys):
    bag = write_rig_bag(tmp_path / "rig", frames=12, rate_hz=2.0)
    cal = tmp_path / "cal.yaml"
    assert main(["calibrate", str(bag), *TOPIC_ARGS, "--onnx", str(tiny_graph), "--backend", "onnxruntime",
                 "--method", "affine", "--block", "1", "--holdout-every", "3", "--output", str(cal)]) == 0
    calibration = load_calibration(cal)
    assert calibration.model_kind == "relative" and calibration.method == "affine"
    assert "held-out AbsRel" in capsys.readouterr().out
    report = tmp_path / "report"
    assert main(["evaluate", str(bag), *TOPIC_ARGS, "--onnx", str(tiny_graph), "--backend", "onnxruntime",
                 "--calibration", str(cal), "--output", str(report)]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["frames"] == 12 and set(metrics) >= {"before", "after"}
    assert metrics["before"]["overall"]["abs_rel"] is None  # a relative graph has no metres of its own
    assert metrics["after"]["by_range"]["0-10"]["points"] > 0
    for name in ("report.md", "error_by_range.png", "predicted_vs_lidar.png", "example_0.png"):
        assert (report / name).stat().st_size > 0, name
    read_png(report / "predicted_vs_lidar.png", (540, 1100))  # before | after
    read_png(report / "error_by_range.png", (460, 1000))
    example = cv2.imread(str(report / "example_0.png"))
    read_png(report / "example_0.png", example.shape[:2])
    assert "| abs_rel |" in (report / "report.md").read_text()


@pytest.mark.parametrize(("storage", "name"), [("sqlite3", "rig"), ("ros1", "rig.bag")])
def test_lidar_depth_command_writes_npy_and_overlays(tmp_path, capsys, storage, name):
    bag = tmp_path / name
    assert main(["sample-bag", str(bag), "--lidar", "--frames", "3", "--size", "48x64", "--storage", storage]) == 0
    out = tmp_path / "gt"
    assert main(["lidar-depth", str(bag), *TOPIC_ARGS, "--output", str(out)]) == 0
    arrays = sorted(out.glob("*.npy"))
    assert len(arrays) == 3 and len(list(out.glob("*_overlay.png"))) == 3
    depth = np.load(arrays[0])
    assert depth.dtype == np.float32 and depth.shape == (48, 64) and np.isfinite(depth).sum() > 500
    assert "LiDAR pixels per frame" in capsys.readouterr().out


def test_bad_runs_exit_non_zero_and_leave_nothing(tmp_path, tiny_graph, capsys):
    bag = write_rig_bag(tmp_path / "rig", frames=4)
    out = tmp_path / "cal.yaml"
    wrong = ["--image-topic", "/nope", "--camera-info-topic", RIG_TOPICS["camera_info"], "--lidar-topic",
             RIG_TOPICS["lidar"]]
    assert main(["calibrate", str(bag), *wrong, "--onnx", str(tiny_graph), "--output", str(out)]) == 1
    assert "no image topic '/nope'" in capsys.readouterr().err and not out.exists()
    assert main(["calibrate", str(bag), *TOPIC_ARGS, "--onnx", str(tiny_graph), "--method", "finetune",
                 "--output", str(out)]) == 1
    assert "trains weights: give --checkpoint" in capsys.readouterr().err
    # 4 frames at 10 Hz span 0.3 s: one 10 s block, nothing to hold out
    assert main(["calibrate", str(bag), *TOPIC_ARGS, "--onnx", str(tiny_graph), "--backend", "onnxruntime",
                 "--output", str(out)]) == 1
    assert "held-out block" in capsys.readouterr().err and not out.exists()
    assert main(["lidar-depth", str(tmp_path / "missing"), *TOPIC_ARGS, "--output", str(tmp_path / "gt")]) == 1
    assert not (tmp_path / "gt").exists()


def test_measure_without_calibration_reports_before_only():
    from depth_anything_ros.calibration import FrameSamples

    samples = [FrameSamples(0, np.array([1.0, 2.0]), np.array([2.0, 4.0]), np.array([2.2, 4.4]))]
    measured = measure(samples, "metric", None)
    assert set(measured) == {"before"} and math.isclose(measured["before"]["overall"]["abs_rel"], 0.1)
