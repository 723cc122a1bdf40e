"""selftrain: frame selection, the pseudo-label cache, and end-to-end runs on synthetic rig bags."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from depth_anything_ros.calibration import GroundTruthOptions
from depth_anything_ros.cli.main import main
from depth_anything_ros.export import GraphInfo
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model import model_spec
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.model.v2.checkpoint import load_model, save_checkpoint
from depth_anything_ros.runtime import DepthBackend, DepthOutput, OnnxRuntimeBackend
from depth_anything_ros.synthetic import RIG_TOPICS, SyntheticRig, write_rig_bag
from depth_anything_ros.training import SelftrainOptions
from depth_anything_ros.training.array_cache import ArrayCache
from depth_anything_ros.training.pseudo_labels import PseudoLabels
from depth_anything_ros.training.selftrain import SelftrainRequest, selftrain
from depth_anything_ros.training.unlabeled_frames import UnlabeledStore

from conftest import checkpoint_request, tiny_spec
from png_checks import read_png

RIG = SyntheticRig()
GROUND_TRUTH = GroundTruthOptions(RIG_TOPICS["image"], RIG_TOPICS["camera_info"], RIG_TOPICS["lidar"])


class OracleTeacher(DepthBackend):
    """A perfect relative teacher for the rig: it reads disparity back out of the rig's shading
    (grey = checker / (1 + 0.08 depth)); the sky (no surface) gets disparity 0."""

    name = "oracle"

    def __init__(self, calls: list | None = None) -> None:
        super().__init__(GraphInfo(RIG.height, RIG.width, "bgr", 56, 70, "tiny", 2, "relative", None, "oracle"))
        self.calls = calls if calls is not None else []

    def _run(self, image, head, focal):
        self.calls.append(1)
        v, u = np.mgrid[0:RIG.height, 0:RIG.width]
        shade = np.clip(image[..., 0] / 255.0 / (0.8 + 0.2 * ((u // 8 + v // 8) % 2)), 1e-3, 1.0)
        depth = (1.0 / shade - 1.0) / 0.08
        raw = np.where(depth < 2.0, 0.0, 1.0 / np.maximum(depth, 0.1)).astype(np.float32)
        return DepthOutput(raw, raw)

    def close(self):
        pass


@pytest.fixture(scope="module")
def sparse_lidar_bag(tmp_path_factory):
    """36 frames at 3 Hz of the rig driving 1 m/s, a LiDAR scan with every third image."""
    return write_rig_bag(tmp_path_factory.mktemp("bags") / "drive", RIG, frames=36, rate_hz=3.0, speed_mps=1.0,
                         lidar_every=3)


def test_frame_selection_skips_a_robot_standing_still(tmp_path):
    still = write_rig_bag(tmp_path / "still", RIG, frames=10, rate_hz=5.0)
    driving = write_rig_bag(tmp_path / "driving", RIG, frames=10, rate_hz=5.0, speed_mps=2.0)
    topic = RIG_TOPICS["image"]
    assert len(UnlabeledStore(tmp_path / "a").select([still], topic, 2.0, progress=lambda _: None)) == 1
    assert len(UnlabeledStore(tmp_path / "b").select([still], topic, 0.0, progress=lambda _: None)) == 10
    assert len(UnlabeledStore(tmp_path / "c").select([driving], topic, 0.5, progress=lambda _: None)) == 10
    refs = UnlabeledStore(tmp_path / "d").select([still, driving], topic, 0.5, every=2, progress=lambda _: None)
    # still: 1 of its 5 candidates; driving: 4 of 5, its first view being the still rig's (a near-duplicate)
    assert [r.bag.endswith("still") for r in refs].count(True) == 1 and len(refs) == 1 + 4
    with pytest.raises(ValueError, match=r"no image topic '/nope'.*camera/image_rect"):
        UnlabeledStore(tmp_path / "e").select([still], "/nope", 2.0, progress=lambda _: None)


def test_pseudo_labels_are_computed_once_per_teacher_and_recomputed_when_damaged(tmp_path, sparse_lidar_bag):
    store = UnlabeledStore(tmp_path)
    refs = store.select([sparse_lidar_bag], RIG_TOPICS["image"], 0.5, progress=lambda _: None)[:5]
    calls: list = []
    cache = ArrayCache(tmp_path / "labels")
    teacher = OracleTeacher(calls)
    first = PseudoLabels(cache, "teacher-a")
    assert first.label_all(refs, store.image, lambda hw: teacher, progress=lambda _: None) == (0, 5)
    assert first.label_all(refs, store.image, lambda hw: teacher, progress=lambda _: None) == (5, 0)
    assert len(calls) == 5
    label = first.get(refs[0])
    expected = teacher.infer_bgr(store.image(refs[0])).raw
    assert label.dtype == np.float32 and np.allclose(label, expected, rtol=1e-3, atol=1e-6)  # stored as float16
    other = PseudoLabels(cache, "teacher-b")  # another teacher never reuses these labels
    assert other.label_all(refs, store.image, lambda hw: teacher, progress=lambda _: None) == (0, 5)
    damaged = cache.path_for(first.key(refs[2]))
    damaged.write_bytes(b"not a zip")
    assert first.label_all(refs, store.image, lambda hw: teacher, progress=lambda _: None) == (4, 1)


def _request(tmp_path, bag, **options) -> SelftrainRequest:
    spec = tiny_spec("metric", max_depth=80.0)
    checkpoint = tmp_path / "student_start.pth"
    if not checkpoint.exists():
        save_checkpoint(untrained_model(spec, seed=3), checkpoint)
    teacher = OracleTeacher()
    settings = {"epochs": 6, "batch_size": 2, "lr": 1e-3, "input_size": 56, "device": "cpu", "min_change": 0.5,
                **options}
    return SelftrainRequest([bag], RIG_TOPICS["image"], GROUND_TRUTH, lambda hw: teacher, "oracle-sha",
                            checkpoint_request(checkpoint, spec), 80.0, tmp_path / "out", tmp_path / "work",
                            SelftrainOptions(**settings), 3.0, 3)


def test_selftrain_end_to_end_losses_fall_and_the_student_exports_and_loads(tmp_path, sparse_lidar_bag):
    lines: list[str] = []
    summary = selftrain(_request(tmp_path, sparse_lidar_bag), progress=lines.append)
    assert summary["unlabeled_train_frames"] == 27 and summary["lidar_train_frames"] == 9
    assert summary["lidar_held_out_frames"] == 3
    history = summary["loss_by_epoch"]
    assert len(history) == 6 and set(history[0]) == {"silog", "pseudo", "feature"}
    assert history[-1]["silog"] < 0.8 * history[0]["silog"]
    assert history[-1]["pseudo"] < 0.8 * history[0]["pseudo"]
    assert any("student on LiDAR frames only" in line for line in lines)
    out = tmp_path / "out"
    spec = tiny_spec("metric", max_depth=80.0)
    load_model(out / "student.pth", spec)
    load_model(out / "student_lidar_only.pth", spec)
    with OnnxRuntimeBackend(out / "student_96x128.onnx") as backend:
        depth = backend.infer_bgr(RIG.image()).depth
        assert backend.info.kind == "metric" and np.isfinite(depth).mean() > 0.9
    held = summary["held_out"]
    assert list(held) == ["teacher + affine head", "student, LiDAR only", "student, self-trained"]
    assert held["teacher + affine head"]["silog"] < 0.2  # the oracle teacher is nearly perfect
    report = json.loads((out / "report" / "metrics.json").read_text())
    assert list(report["columns"]) == list(held) and "| metric | teacher + affine head |" in \
        (out / "report" / "report.md").read_text()
    assert json.loads((out / "selftrain.json").read_text())["steps"] == 6 * 7
    read_png(out / "report" / "predicted_vs_lidar.png", (540, 3 * 500 + 100))  # the three columns side by side
    read_png(out / "report" / "error_by_range.png", (460, 1280))

    again: list[str] = []
    selftrain(_request(tmp_path, sparse_lidar_bag), progress=again.append)
    assert any("27 reused" in line and "0 computed" in line for line in again)
    assert any(line.startswith("resuming after epoch 6 of 6") for line in again)


def test_selftrain_command_without_lidar_trains_on_pseudo_labels_only(tmp_path, sparse_lidar_bag, capsys):
    teacher = tmp_path / "teacher.onnx"
    export_graph(untrained_model(tiny_spec("relative"), seed=1), (RIG.height, RIG.width), teacher, input_size=56)
    student = tmp_path / "vits.pth"
    save_checkpoint(untrained_model(model_spec("vits", 2)), student)
    out = tmp_path / "student"
    args = ["selftrain", str(sparse_lidar_bag), "--image-topic", RIG_TOPICS["image"], "--teacher", str(teacher),
            "--student-checkpoint", str(student), "--version", "2", "--input-size", "56", "--epochs", "1",
            "--backend", "onnxruntime", "--device", "cpu", "--min-change", "0.5", "--block", "3",
            "--holdout-every", "3", "--output", str(out)]
    assert main([*args, "--lidar-topic", RIG_TOPICS["lidar"]]) == 1
    assert "together" in capsys.readouterr().err
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "nothing measured" in printed and "unlabeled and 0 LiDAR frames" in printed
    assert load_model(out / "student.pth", model_spec("vits", 2)).spec.kind == "relative"
    assert (out / "student_96x128.onnx").stat().st_size > 0 and not (out / "report").exists()


TORCHRUN = os.path.join(os.path.dirname(sys.executable), "torchrun")


@pytest.mark.skipif(not os.path.exists(TORCHRUN), reason="torchrun (installed with torch) not beside this python")
def test_selftrain_command_runs_unchanged_under_torchrun(tmp_path, sparse_lidar_bag):
    teacher = tmp_path / "teacher.onnx"
    export_graph(untrained_model(tiny_spec("relative"), seed=1), (RIG.height, RIG.width), teacher, input_size=56)
    student = tmp_path / "vits.pth"
    save_checkpoint(untrained_model(model_spec("vits", 2)), student)
    out = tmp_path / "student"
    done = subprocess.run(
        [TORCHRUN, "--standalone", "--nproc_per_node", "2", "-m", "depth_anything_ros.cli.main", "selftrain",
         str(sparse_lidar_bag), "--image-topic", RIG_TOPICS["image"], "--camera-info-topic",
         RIG_TOPICS["camera_info"], "--lidar-topic", RIG_TOPICS["lidar"], "--teacher", str(teacher),
         "--backend", "onnxruntime", "--student-checkpoint", str(student), "--version", "2", "--max-depth", "80",
         "--input-size", "56", "--epochs", "1", "--no-baseline", "--device", "cpu", "--min-change", "0.5",
         "--block", "3", "--holdout-every", "3", "--output", str(out)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("wrote ") == 1  # rank 0 alone writes and reports
    summary = json.loads((out / "selftrain.json").read_text())
    assert summary["steps"] == 4  # 27 unlabeled frames / (2 processes x 4 per step), rounded up
    state = torch.load(tmp_path / "student.work" / "selftrain.pt", weights_only=True)
    assert state["fingerprint"]["world_size"] == 2 and state["step"] == 4
    assert list(summary["held_out"]) == ["teacher + affine head", "student, self-trained"]
