"""evaluate with the live anchor: the node's estimator fitted per frame on part of the LiDAR of a rig bag, scored on
the rest; a network whose affine changes every frame is followed by the anchor and not by one calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from depth_anything_ros.calibration.anchor_eval import SplitAnchor, split_pixels
from depth_anything_ros.calibration.fit import collect_samples, measure
from depth_anything_ros.calibration.ground_truth import GroundTruthOptions, read_ground_truth
from depth_anything_ros.cli.main import main
from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.calibration_file import Calibration, save_calibration
from depth_anything_ros.core.head_fit import fit_head
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.synthetic.distorted import frame_distortions
from depth_anything_ros.synthetic.rig import RIG_TOPICS, SyntheticRig, write_rig_bag

from anchor_cases import distorted_backend
from conftest import tiny_spec

OPTIONS = GroundTruthOptions(RIG_TOPICS["image"], RIG_TOPICS["camera_info"], RIG_TOPICS["lidar"])
TOPIC_ARGS = ["--image-topic", RIG_TOPICS["image"], "--camera-info-topic", RIG_TOPICS["camera_info"],
              "--lidar-topic", RIG_TOPICS["lidar"]]
FRAMES = 20


def test_the_splits_share_the_lidar_pixels_without_overlap():
    depth = np.full((10, 6), np.nan)
    depth[::2, ::3] = 5.0
    anchor, held = split_pixels(depth, "band", principal_row=4.5, band=1)
    assert set(np.nonzero(anchor)[0]) == {4} and not (anchor & held).any()
    assert (anchor | held).sum() == np.isfinite(depth).sum()
    anchor, held = split_pixels(depth, "rows", principal_row=4.5, every=4)
    assert set(np.nonzero(held)[0]) == {0, 4, 8} and set(np.nonzero(anchor)[0]) == {2, 6}
    with pytest.raises(ValueError, match="one of band, rows"):
        split_pixels(depth, "beams", 4.5)


@pytest.mark.parametrize("split", ["band", "rows"])
def test_the_live_anchor_follows_a_network_no_offline_calibration_can(tmp_path, split):
    rig = SyntheticRig()
    bag = write_rig_bag(tmp_path / "rig", rig, frames=FRAMES, rate_hz=10.0)
    distortions = frame_distortions(FRAMES, seed=3)
    truth = rig.true_depth()
    anchor = SplitAnchor(AnchorConfig(), split)
    backend = distorted_backend(truth, distortions, "relative")
    collected = collect_samples(read_ground_truth([bag], OPTIONS), lambda hw: backend, progress=lambda _: None,
                                anchor=anchor)
    assert len(collected.samples) == FRAMES and anchor.states["live"] >= FRAMES - 2, anchor.reasons
    pooled_raw = np.concatenate([s.raw for s in collected.samples])
    fit = fit_head(pooled_raw, np.concatenate([s.truth for s in collected.samples]), "relative", "affine")
    measured = measure(collected.samples, "relative", Calibration("relative", fit.scale, fit.shift))
    live, offline = measured["live anchor"]["overall"], measured["after"]["overall"]
    print(f"\n{split}: held-out AbsRel live {live['abs_rel']:.4f} (d1 {live['d1']:.3f}), best single calibration "
          f"{offline['abs_rel']:.4f} (d1 {offline['d1']:.3f}); {anchor.summary(FRAMES)}")
    assert live["abs_rel"] < 0.03 and offline["abs_rel"] > 5 * live["abs_rel"]
    assert live["points"] == offline["points"] > 0  # the same held-out pixels


def test_the_evaluate_command_reports_the_live_anchor_beside_the_calibration(tmp_path, capsys):
    rig = SyntheticRig()
    bag = write_rig_bag(tmp_path / "rig", rig, frames=6, rate_hz=10.0)
    graph = tmp_path / "tiny.onnx"
    export_graph(untrained_model(tiny_spec("relative"), seed=1), (rig.height, rig.width), graph, input_size=56)
    calibration = save_calibration(tmp_path / "c.yaml", Calibration("relative", 0.05, 0.01))
    params = tmp_path / "p.yaml"
    params.write_text("/**:\n  ros__parameters:\n    anchor_min_inlier_ratio: 0.05\n    anchor_inlier_error: 5.0\n")
    report = tmp_path / "report"
    assert main(["evaluate", str(bag), *TOPIC_ARGS, "--onnx", str(graph), "--backend", "onnxruntime", "--params",
                 str(params), "--calibration", str(calibration), "--anchor", "rows", "--output", str(report)]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert set(metrics) >= {"before", "after", "live anchor"}
    assert metrics["live anchor"]["overall"]["points"] == metrics["after"]["overall"]["points"] > 0
    out = capsys.readouterr().out
    assert "live anchor AbsRel" in out and "live anchor (rows:" in out and "frames " in out
    assert "| abs_rel |" in (report / "report.md").read_text()
