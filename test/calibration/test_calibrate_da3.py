"""calibrate / evaluate on Depth Anything 3: each frame's K feeds the metric graph's focal, relative-depth
output is fitted and applied in depth, and calibrations of one graph kind are refused on another."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from depth_anything_ros.calibration import GroundTruthOptions, collect_samples, measure, read_ground_truth
from depth_anything_ros.cli.main import main
from depth_anything_ros.core.calibration_file import Calibration, load_calibration, save_calibration
from depth_anything_ros.core.head import depth_from_raw
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.da3.checkpoint import load_da3
from depth_anything_ros.runtime import OnnxRuntimeBackend, TorchBackend
from depth_anything_ros.synthetic import RIG_TOPICS, SyntheticRig, write_rig_bag

from conftest import tiny_da3_checkpoint

OPTIONS = GroundTruthOptions(RIG_TOPICS["image"], RIG_TOPICS["camera_info"], RIG_TOPICS["lidar"])
TOPIC_ARGS = ["--image-topic", RIG_TOPICS["image"], "--camera-info-topic", RIG_TOPICS["camera_info"],
              "--lidar-topic", RIG_TOPICS["lidar"]]
SPLIT = ["--block", "1", "--holdout-every", "3"]


@pytest.fixture(scope="module")
def rig_bag(tmp_path_factory):
    return write_rig_bag(tmp_path_factory.mktemp("bags") / "rig", SyntheticRig(), frames=12, rate_hz=2.0)


@pytest.fixture(scope="module")
def da3(tmp_path_factory):
    root = tmp_path_factory.mktemp("da3")
    return {kind: tiny_da3_checkpoint(root / kind, kind, seed=1) for kind in ("metric", "mono")}


def test_collect_samples_gives_a_da3_metric_graph_each_frames_k(rig_bag, da3):
    frames = list(read_ground_truth([rig_bag], OPTIONS))[:2]
    rig = SyntheticRig()
    np.testing.assert_allclose(frames[0].k, rig.camera().p[:, :3])  # rectified images: P's intrinsics
    backend = TorchBackend(load_da3(da3["metric"]), (rig.height, rig.width), device="cpu")
    collected = collect_samples(frames, lambda hw: backend, progress=lambda _: None)
    assert collected.kind == "metric"
    for frame, samples in zip(frames, collected.samples, strict=True):
        own = backend.infer_bgr(frame.image, k=frame.k).raw[np.isfinite(frame.depth)]
        np.testing.assert_allclose(samples.graph_depth, own, rtol=1e-6)  # "before" is the graph's own metres
        assert np.isfinite(samples.graph_depth).mean() > 0.5
    zoomed = [dataclasses.replace(f, k=f.k * np.array([[2.0, 1, 1], [1, 2.0, 1], [1, 1, 1]])) for f in frames]
    twice = collect_samples(zoomed, lambda hw: backend, progress=lambda _: None)
    np.testing.assert_allclose(twice.samples[0].graph_depth, 2 * collected.samples[0].graph_depth, rtol=1e-4)
    with pytest.raises(ValueError, match=r"camera_info \(K\)"):
        collect_samples([dataclasses.replace(frames[0], k=None)], lambda hw: backend, progress=lambda _: None)


def test_evaluate_command_measures_a_da3_metric_checkpoint_in_metres(tmp_path, rig_bag, da3, capsys):
    report = tmp_path / "report"
    assert main(["evaluate", str(rig_bag), *TOPIC_ARGS, "--checkpoint", str(da3["metric"]), "--backend",
                 "onnxruntime", "--output", str(report)]) == 0
    assert "before AbsRel" in capsys.readouterr().out
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["frames"] == 12 and metrics["graph_kind"] == "metric" and set(metrics) >= {"before"}
    before = metrics["before"]["overall"]
    assert before["points"] > 1000 and before["abs_rel"] > 0  # the graph's own metres, no calibration needed
    rig = SyntheticRig()  # the same numbers as the eager model fed each frame's K
    backend = TorchBackend(load_da3(da3["metric"]), (rig.height, rig.width), device="cpu")
    eager = measure(collect_samples(read_ground_truth([rig_bag], OPTIONS), lambda hw: backend,
                                    progress=lambda _: None).samples, "metric", None)["before"]["overall"]
    assert math.isclose(before["abs_rel"], eager["abs_rel"], rel_tol=1e-3) and before["points"] == eager["points"]
    for name in ("report.md", "error_by_range.png", "predicted_vs_lidar.png", "example_0.png"):
        assert (report / name).stat().st_size > 0, name


def test_relative_depth_checkpoint_calibrates_and_evaluates_in_depth(tmp_path, rig_bag, da3, capsys):
    cal = tmp_path / "cal.yaml"
    model = ["--checkpoint", str(da3["mono"]), "--backend", "torch"]
    assert main(["calibrate", str(rig_bag), *TOPIC_ARGS, *model, "--method", "scale", *SPLIT,
                 "--output", str(cal)]) == 0
    calibration = load_calibration(cal)
    assert calibration.model_kind == "relative-depth" and calibration.method == "scale" and calibration.shift == 0
    assert "relative-depth head, scale" in capsys.readouterr().out
    report = tmp_path / "report"
    assert main(["evaluate", str(rig_bag), *TOPIC_ARGS, *model, "--calibration", str(cal),
                 "--output", str(report)]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["graph_kind"] == "relative-depth"
    assert metrics["before"]["overall"]["abs_rel"] is None  # depth up to scale: no metres of its own
    assert metrics["after"]["overall"]["points"] > 1000 and metrics["after"]["overall"]["abs_rel"] > 0
    v2 = save_calibration(tmp_path / "v2.yaml", Calibration("relative", 0.37, 0.01))  # inverse depth: refused
    assert main(["evaluate", str(rig_bag), *TOPIC_ARGS, *model, "--calibration", str(v2),
                 "--output", str(tmp_path / "wrong")]) == 1
    assert "fitted for a relative model, the graph is relative-depth" in capsys.readouterr().err
    assert not (tmp_path / "wrong").exists()


def test_a_relative_depth_calibration_loads_applies_linearly_and_never_mixes_kinds(tmp_path, da3):
    path = save_calibration(tmp_path / "cal.yaml", Calibration("relative-depth", 2.5, 0.3, "abc", method="affine"))
    calibration = load_calibration(path)
    assert (calibration.model_kind, calibration.scale, calibration.shift) == ("relative-depth", 2.5, 0.3)
    graph = tmp_path / "mono.onnx"
    info = export_graph(load_da3(da3["mono"]), (48, 64), graph, checkpoint_sha256="abc")
    assert info.kind == "relative-depth" and calibration.check_applies_to(info.kind, "abc") is None
    with OnnxRuntimeBackend(graph) as backend:
        image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
        out = backend.infer(image, calibration.head(0.0, math.inf))
    finite = np.isfinite(out.raw)
    np.testing.assert_allclose(out.depth[finite], 2.5 * out.raw[finite] + 0.3, rtol=1e-5)  # linear, not 1/x
    np.testing.assert_allclose(depth_from_raw(out.raw[finite], 2.5, 0.3, "relative-depth"), out.depth[finite],
                               rtol=1e-5)
    for kind in ("relative", "metric"):
        with pytest.raises(ValueError, match=f"fitted for a relative-depth model, the graph is {kind}"):
            calibration.check_applies_to(kind, "abc")
    with pytest.raises(ValueError, match="fitted for a relative model, the graph is relative-depth"):
        Calibration("relative", 0.37, 0.01).check_applies_to("relative-depth", "abc")
    (tmp_path / "bad.yaml").write_text(path.read_text().replace("relative-depth", "inverse"))
    with pytest.raises(ValueError, match="model_kind must be one of metric, relative, relative-depth"):
        load_calibration(tmp_path / "bad.yaml")
