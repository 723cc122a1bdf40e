"""selftrain with Depth Anything 3: DA3 teachers' labels, DA3 students' training parts, and end-to-end runs."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from test_selftrain import GROUND_TRUTH, RIG, OracleTeacher

from depth_anything_ros.cli.main import main
from depth_anything_ros.export import GraphInfo
from depth_anything_ros.model import family_of_network, model_spec
from depth_anything_ros.model.da3.checkpoint import load_da3
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import tiny_da3_spec
from depth_anything_ros.model.da3.training import Da3TrainingNetwork
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.model.v2.checkpoint import load_model, save_checkpoint
from depth_anything_ros.node import PipelineConfig
from depth_anything_ros.runtime import DepthBackend, DepthOutput, open_backend
from depth_anything_ros.synthetic import RIG_TOPICS, write_rig_bag
from depth_anything_ros.training import SelftrainOptions
from depth_anything_ros.training.array_cache import ArrayCache
from depth_anything_ros.training.pseudo_labels import PseudoLabels, nominal_k
from depth_anything_ros.training.selftrain import SelftrainRequest, selftrain
from depth_anything_ros.training.student_loop import lidar_term, make_student_optimizer
from depth_anything_ros.training.unlabeled_frames import UnlabeledStore

from conftest import checkpoint_request, tiny_da3_checkpoint

QUIET = {"progress": lambda _: None}


@pytest.fixture(scope="module")
def short_bag(tmp_path_factory):
    """12 frames at 3 Hz of the rig driving 1 m/s, a LiDAR scan with every third image."""
    return write_rig_bag(tmp_path_factory.mktemp("bags") / "drive", RIG, frames=12, rate_hz=3.0, speed_mps=1.0,
                         lidar_every=3)


class SkyMetricTeacher(DepthBackend):
    """A DA3 metric graph stand-in: depth 2 m + row index, sky (+Inf) in the top 10 rows; records its focal."""

    name = "da3-stand-in"

    def __init__(self) -> None:
        super().__init__(GraphInfo(RIG.height, RIG.width, "bgr", 378, 504, "tiny", 3, "metric", None, "sky",
                                   model="tiny-da3-metric", process_res=504, sky=True))
        self.focals: list[float] = []

    def _run(self, image, head, focal):
        self.focals.append(float(focal[0]))
        raw = np.repeat(2.0 + np.arange(RIG.height, dtype=np.float32)[:, None], RIG.width, axis=1)
        raw[:10] = np.inf
        return DepthOutput(raw, raw)

    def close(self):
        pass


def test_da3_metric_teacher_labels_with_a_nominal_focal_and_sky_as_zero_disparity(tmp_path, short_bag):
    store = UnlabeledStore(tmp_path)
    refs = store.select([short_bag], RIG_TOPICS["image"], 0.5, **QUIET)[:2]
    teacher = SkyMetricTeacher()
    labels = PseudoLabels(ArrayCache(tmp_path / "labels"), "sha", "tiny-da3-metric")
    assert labels.label_all(refs, store.image, lambda hw: teacher, **QUIET) == (0, 2)
    assert teacher.focals == pytest.approx([teacher.info.focal_input(nominal_k((RIG.height, RIG.width)))[0]] * 2)
    label = labels.get(refs[0])
    assert np.all(label[:10] == 0.0) and np.all(np.isfinite(label))  # sky: as far as it gets, not a hole
    assert label[10:, 0] == pytest.approx(1.0 / (12.0 + np.arange(RIG.height - 10)), rel=1e-3)
    other = PseudoLabels(labels.cache, "sha", "another-model")  # the model name is part of the key
    assert other.label_all(refs, store.image, lambda hw: teacher, **QUIET) == (0, 2)


@pytest.mark.parametrize("kind", ["any-view", "mono"])
def test_da3_student_optimizer_holds_only_what_the_loss_reaches_and_frozen_tokens_match(kind):
    torch.manual_seed(0)
    student = Da3Model(tiny_da3_spec(kind)).train()
    network = Da3TrainingNetwork(student, (28, 42))
    optimizer = make_student_optimizer(student, SelftrainOptions(lr=1e-3))
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    names = {n for n, p in student.named_parameters() if id(p) in held}
    left_out = {n for n, p in student.named_parameters() if id(p) not in held}
    assert any(n.startswith("backbone.") for n in names) and any(n.startswith("head.") for n in names)
    if kind == "any-view":  # camera encoder/decoder never run for one image
        assert {n.split(".")[0] for n in left_out} >= {"cam_enc", "cam_dec"}
    else:
        assert left_out and all("sky" in n for n in left_out)  # the sky branch does not feed depth
    images = torch.randint(0, 255, (2, 28, 42, 3), dtype=torch.uint8)
    out, tokens = network(images, features=True)
    frozen = family_of_network(student).frozen_encoder(student, torch.device("cpu"))
    reference = frozen(network.network_input(images))
    assert torch.equal(tokens, reference)  # the same tokens: feature alignment starts at zero
    (out.mean() + tokens.mean()).backward()
    assert all(p.grad is not None for group in optimizer.param_groups for p in group["params"])  # DDP-safe


def test_v2_teacher_to_da3_metric_student_with_lidar(tmp_path, short_bag):
    start = tiny_da3_checkpoint(tmp_path / "start", "metric", seed=2)
    options = SelftrainOptions(epochs=1, batch_size=2, lr=1e-3, device="cpu", min_change=0.5)
    teacher = OracleTeacher()
    request = SelftrainRequest([short_bag], RIG_TOPICS["image"], GROUND_TRUTH, lambda hw: teacher, "oracle-sha",
                               checkpoint_request(start), None, tmp_path / "out", tmp_path / "work", options, 1.5, 2,
                               "oracle")
    lines: list[str] = []
    summary = selftrain(request, progress=lines.append)
    assert summary["student_kind"] == "metric" and summary["lidar_train_frames"] >= 1
    assert set(summary["loss_by_epoch"][0]) == {"silog", "pseudo", "feature"}
    assert all(np.isfinite(v) for v in summary["loss_by_epoch"][0].values())
    assert any("no LiDAR-only baseline for a DA3 student" in line for line in lines)
    out = tmp_path / "out"
    config = json.loads((out / "student" / "config.json").read_text())
    ours = config["depth_anything_ros"]  # our fields, beside the official model_name
    assert config["model_name"] == "tiny-da3-metric" and ours["teacher_model"] == "oracle" and ours["metric"]
    assert ours["method"] == "selftrain" and ours["student_from"] == summary["student_from"]
    trained, initial = load_da3(out / "student").state_dict(), load_da3(start).state_dict()  # strict
    assert any(not torch.equal(trained[k], initial[k]) for k in initial)  # it trained
    assert list(summary["held_out"]) == ["teacher + affine head", "student, self-trained"]
    assert summary["held_out"]["student, self-trained"]["abs_rel"] is not None  # metres with the camera's K


def test_da3_teachers_and_students_through_the_command(tmp_path, short_bag, capsys):
    mono = tiny_da3_checkpoint(tmp_path / "mono", "mono", seed=1)
    metric = tiny_da3_checkpoint(tmp_path / "metric", "metric", seed=4)
    any_view = tiny_da3_checkpoint(tmp_path / "any-view", "any-view", seed=3)
    v2 = tmp_path / "vits.pth"
    save_checkpoint(untrained_model(model_spec("vits", 2)), v2)
    common = ["selftrain", str(short_bag), "--image-topic", RIG_TOPICS["image"], "--input-size", "56",
              "--epochs", "1", "--backend", "onnxruntime", "--device", "cpu", "--min-change", "0.5", "--block", "1.5",
              "--holdout-every", "2"]

    # a DA3 metric teacher (no camera_info: nominal focal) -> a V2 student
    assert main([*common, "--teacher", str(metric), "--student-checkpoint", str(v2), "--output",
                 str(tmp_path / "v2")]) == 1
    assert "--version {1,2} is required with a .pth student" in capsys.readouterr().err
    assert main([*common, "--teacher", str(metric), "--student-checkpoint", str(v2), "--version", "2",
                 "--output", str(tmp_path / "v2")]) == 0
    assert "pseudo-labels from teacher tiny-da3-metric" in capsys.readouterr().out
    assert load_model(tmp_path / "v2" / "student.pth", model_spec("vits", 2)).spec.kind == "relative"

    # a DA3 mono teacher -> a DA3 any-view student: no --version; written in the hub layout, its graph loads
    da3 = [*common, "--teacher", str(mono), "--student-checkpoint", str(any_view), "--output", str(tmp_path / "da3")]
    assert main(da3) == 0
    printed = capsys.readouterr().out
    assert "pseudo-labels from teacher tiny-da3-mono" in printed
    student = load_da3(tmp_path / "da3" / "student")
    assert student.spec.name == "tiny-da3-any-view"
    config = PipelineConfig(onnx=str(tmp_path / "da3" / "student_96x128.onnx"), backend="onnxruntime")
    with open_backend(config, (RIG.height, RIG.width)) as backend:
        assert backend.info.model == "tiny-da3-any-view" and backend.info.kind == "relative-depth"
        assert np.isfinite(backend.infer_bgr(RIG.image()).depth).mean() > 0.9
    summary = json.loads((tmp_path / "da3" / "selftrain.json").read_text())
    assert summary["teacher_model"] == "tiny-da3-mono" and summary["student_kind"] == "relative-depth"

    assert main(da3) == 0  # a rerun reuses the labels and the finished epoch
    again = capsys.readouterr().out
    assert " 0 computed" in again and "resuming after epoch 1 of 1" in again

    # relative-depth teacher and student with LiDAR frames: measured after an affine head fitted in depth
    lidar = [*common, "--teacher", str(mono), "--student-checkpoint", str(any_view), "--camera-info-topic",
             RIG_TOPICS["camera_info"], "--lidar-topic", RIG_TOPICS["lidar"], "--output", str(tmp_path / "lidar")]
    assert main(lidar) == 0
    capsys.readouterr()
    measured = json.loads((tmp_path / "lidar" / "selftrain.json").read_text())
    assert measured["student_kind"] == "relative-depth" and measured["lidar_held_out_frames"] >= 1
    columns = measured["held_out"]
    assert set(columns) == {"teacher + affine head", "student, self-trained + affine head"}
    for metrics in columns.values():  # an affine head fitted in depth gives real metres on the held-out frames
        assert metrics["points"] > 1000 and 0 < metrics["abs_rel"] < 1 and 0 < metrics["d1"] <= 1


def test_relative_depth_students_learn_lidar_frames_up_to_scale():
    lidar = torch.full((1, 6, 8), float("nan"))
    lidar[0, ::2, ::2] = torch.linspace(1.0, 9.0, 12).view(3, 4)
    for kind in ("relative-depth", "metric"):
        exact, name = lidar_term(torch.nan_to_num(lidar, nan=5.0) * 3.0, lidar, kind, 0.1, math.inf)
        assert name == ("silog" if kind == "metric" else "lidar_affine")
        if kind == "relative-depth":  # depth up to scale: three times the LiDAR depth is a perfect prediction
            assert float(exact) < 1e-4
    wrong, _ = lidar_term(torch.nan_to_num(lidar, nan=5.0).flip(-1), lidar, "relative-depth", 0.1, math.inf)
    assert float(wrong) > 0.1


TORCHRUN = os.path.join(os.path.dirname(sys.executable), "torchrun")


@pytest.mark.skipif(not os.path.exists(TORCHRUN), reason="torchrun (installed with torch) not beside this python")
def test_da3_metric_teacher_and_student_with_lidar_under_torchrun(tmp_path, short_bag):
    """Two processes: DDP gets gradients for every optimised DA3 parameter (no wait), focal comes from K."""
    metric = tiny_da3_checkpoint(tmp_path / "metric", "metric", seed=4)
    out = tmp_path / "student"
    done = subprocess.run(
        [TORCHRUN, "--standalone", "--nproc_per_node", "2", "-m", "depth_anything_ros.cli.main", "selftrain",
         str(short_bag), "--image-topic", RIG_TOPICS["image"], "--camera-info-topic", RIG_TOPICS["camera_info"],
         "--lidar-topic", RIG_TOPICS["lidar"], "--teacher", str(metric), "--backend", "onnxruntime",
         "--student-checkpoint", str(metric), "--epochs", "1", "--device", "cpu", "--min-change", "0.5",
         "--block", "1.5", "--holdout-every", "2", "--output", str(out)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("wrote ") == 1  # rank 0 alone writes and reports
    summary = json.loads((out / "selftrain.json").read_text())
    assert list(summary["held_out"]) == ["teacher", "teacher + affine head", "student, self-trained"]
    assert summary["held_out"]["teacher"]["abs_rel"] is not None  # the DA3 metric teacher got the camera's K
    state = torch.load(tmp_path / "student.work" / "selftrain.pt", weights_only=True)
    assert state["fingerprint"]["world_size"] == 2 and set(state["history"][0]) == {"silog", "pseudo", "feature"}
