"""calibrate --method finetune on Depth Anything 3: metric checkpoints train as they are, relative-depth ones
become metric the DA3 way (depth * focal / 300), weights + graph + calibration are written and load back."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from depth_anything_ros.calibration import GroundTruthOptions, read_ground_truth
from depth_anything_ros.cli.main import main
from depth_anything_ros.core.calibration_file import load_calibration
from depth_anything_ros.core.files import file_sha256
from depth_anything_ros.model import family_of_network
from depth_anything_ros.model.da3.checkpoint import load_da3
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import tiny_da3_spec
from depth_anything_ros.runtime import BackendConfig, TorchBackend, open_backend
from depth_anything_ros.synthetic import RIG_TOPICS, SyntheticRig, write_rig_bag
from depth_anything_ros.training import FinetuneOptions
from depth_anything_ros.training.finetune import FinetuneRequest, finetune
from depth_anything_ros.training.metric_loop import make_optimizer

from conftest import checkpoint_request, tiny_da3_checkpoint

TOPIC_ARGS = ["--image-topic", RIG_TOPICS["image"], "--camera-info-topic", RIG_TOPICS["camera_info"],
              "--lidar-topic", RIG_TOPICS["lidar"]]
GROUND_TRUTH = GroundTruthOptions(RIG_TOPICS["image"], RIG_TOPICS["camera_info"], RIG_TOPICS["lidar"])


@pytest.fixture(scope="module")
def driving_bag(tmp_path_factory):
    """24 frames at 2 Hz of a rig driving at 1 m/s (16 training, 8 held-out frames with 2 s blocks)."""
    return write_rig_bag(tmp_path_factory.mktemp("bags") / "drive", SyntheticRig(), frames=24, rate_hz=2.0,
                         speed_mps=1.0)


def _request(tmp_path, bag, checkpoint, **options) -> FinetuneRequest:
    settings = {"epochs": 2, "batch_size": 4, "lr": 1e-3, "device": "cpu", **options}
    return FinetuneRequest([bag], GROUND_TRUTH, checkpoint_request(checkpoint), None, tmp_path / "out" / "rig.yaml",
                           tmp_path / "work", FinetuneOptions(**settings), block_s=2.0, holdout_every=3)


def _encoder_unchanged(trained: Da3Model, start: Da3Model) -> bool:
    return torch.equal(trained.backbone.state_dict()["pretrained.patch_embed.proj.weight"],
                       start.backbone.state_dict()["pretrained.patch_embed.proj.weight"])


@pytest.mark.parametrize("kind", ["any-view", "mono", "metric"])
def test_every_trained_da3_parameter_gets_a_gradient(kind):
    """Parameters the forward pass never uses must not train, or DDP under torchrun waits forever."""
    model = Da3Model(tiny_da3_spec(kind))
    optimizer = make_optimizer(model, FinetuneOptions(unfreeze_encoder=True))
    assert [g["lr"] for g in optimizer.param_groups] == [5e-5, 5e-6]
    network = family_of_network(model).training_network(model, (48, 64))
    images = torch.randint(0, 256, (2, 48, 64, 3), dtype=torch.uint8)
    k = torch.tensor([[[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]]] * 2)
    network(images, k=k if kind == "metric" else None).mean().backward()
    trained = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trained and all(p.grad is not None for name, p in model.named_parameters() if name in trained)
    assert not any(name.startswith(("cam_enc", "cam_dec")) or "_aux" in name or "sky_" in name for name in trained)
    make_optimizer(model, FinetuneOptions())  # default: the encoder frozen
    assert not any(p.requires_grad for p in model.backbone.parameters())


def test_finetune_command_trains_a_da3_metric_checkpoint_with_each_frames_focal(tmp_path, driving_bag, capsys):
    start = tiny_da3_checkpoint(tmp_path / "start", "metric", seed=1)
    out = tmp_path / "cal" / "front.yaml"
    assert main(["calibrate", str(driving_bag), *TOPIC_ARGS, "--checkpoint", str(start), "--method", "finetune",
                 "--epochs", "2", "--lr", "1e-3", "--block", "2", "--holdout-every", "3", "--output", str(out),
                 "--device", "cpu"]) == 0  # no --max-depth: DA3 has no Sigmoid head
    assert "held-out SiLog" in capsys.readouterr().out
    calibration = load_calibration(out)
    stats = calibration.statistics
    assert calibration.model_kind == "metric" and (calibration.scale, calibration.shift) == (1.0, 0.0)
    assert calibration.weights == {"checkpoint": "front", "onnx": "front_96x128.onnx"}
    assert stats["model"] == "tiny-da3-metric" and stats["frames_train"] == 16 and stats["frames_held_out"] == 8
    assert stats["train_silog_by_epoch"][1] < stats["train_silog_by_epoch"][0]
    assert stats["held_out_finetuned"]["silog"] < stats["held_out_start"]["silog"]  # a metric start: own metres
    assert stats["held_out_affine"]["silog"] > 0 and stats["held_out_scale"]["silog"] > 0
    folder = tmp_path / "cal" / "front"
    assert calibration.checkpoint_sha256 == file_sha256(folder / "model.safetensors")
    assert stats["finetuned_from"] == file_sha256(start / "model.safetensors")
    trained, original = load_da3(folder), load_da3(start)
    assert trained.spec.metric and _encoder_unchanged(trained, original)
    assert not torch.equal(trained.head.scratch.output_conv2[2].weight, original.head.scratch.output_conv2[2].weight)
    frame = next(iter(read_ground_truth([driving_bag], GROUND_TRUTH)))
    graph = open_backend(BackendConfig(onnx=str(tmp_path / "cal" / calibration.weights["onnx"]),
                                       backend="onnxruntime"), frame.image.shape[:2])
    eager = open_backend(BackendConfig(checkpoint=str(folder), backend="torch"), frame.image.shape[:2])
    with graph, eager:
        assert graph.info.kind == "metric" and graph.info.uses_focal and graph.info.model == "tiny-da3-metric"
        assert calibration.check_applies_to(graph.info.kind, graph.info.checkpoint_sha256) is None
        assert eager.info.checkpoint_sha256 == graph.info.checkpoint_sha256
        metres = graph.infer_bgr(frame.image, k=frame.k).depth
        np.testing.assert_allclose(metres, eager.infer_bgr(frame.image, k=frame.k).depth, rtol=2e-3, atol=1e-3)
    assert np.isfinite(metres).mean() > 0.5 and np.nanmedian(metres[np.isfinite(metres)]) > 0


def test_finetune_turns_a_relative_da3_checkpoint_metric(tmp_path, driving_bag):
    start = tiny_da3_checkpoint(tmp_path / "start", "mono", seed=1)
    calibration = finetune(_request(tmp_path, driving_bag, start), progress=lambda _: None)
    stats = calibration.statistics
    assert stats["held_out_start"]["silog"] is None  # depth up to scale: no metres before
    # training starts from the best scale fit (folded into the depth head) and improves on it, held out
    assert stats["held_out_finetuned"]["silog"] < stats["held_out_scale"]["silog"]
    folder = tmp_path / "out" / "rig"
    config = json.loads((folder / "config.json").read_text())
    assert config["model_name"] == "tiny-da3-mono"  # the start's architecture: strict loading still works
    assert config["depth_anything_ros"]["metric"] is True
    assert config["depth_anything_ros"]["finetuned_from"] == file_sha256(start / "model.safetensors")
    trained = load_da3(folder)
    assert trained.spec.metric and trained.spec.name == "tiny-da3-mono"
    assert _encoder_unchanged(trained, load_da3(start))
    with open_backend(BackendConfig(onnx=str(tmp_path / "out" / "rig_96x128.onnx"), backend="onnxruntime"),
                      (96, 128)) as backend:
        assert backend.info.kind == "metric" and backend.info.sky and backend.info.uses_focal
        assert calibration.check_applies_to(backend.info.kind, backend.info.checkpoint_sha256) is None


def test_an_interrupted_da3_finetune_resumes_to_the_same_weights(tmp_path, driving_bag):
    start = tiny_da3_checkpoint(tmp_path / "start", "any-view", seed=2)
    whole = tmp_path / "whole"
    finetune(_request(whole, driving_bag, start), progress=lambda _: None)

    class StopTrainingError(Exception):
        pass

    def stop_after_epoch_1(line: str) -> None:
        if line.startswith("epoch 1/2 done"):
            raise StopTrainingError

    parts = tmp_path / "parts"
    with pytest.raises(StopTrainingError):
        finetune(_request(parts, driving_bag, start), progress=stop_after_epoch_1)
    lines: list[str] = []
    resumed = finetune(_request(parts, driving_bag, start), progress=lines.append)
    assert any(line.startswith("resuming after epoch 1 of 2") for line in lines)
    assert resumed.statistics["resumed_after_epoch"] == 1
    a, b = load_da3(whole / "out" / "rig"), load_da3(parts / "out" / "rig")
    assert a.spec.metric and b.spec.metric
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name
    with TorchBackend(a, (96, 128), device="cpu") as backend:  # a metric graph now: it needs the focal
        assert backend.info.uses_focal
        with pytest.raises(ValueError, match=re.escape("camera_info (K)")):
            backend.infer(np.zeros((96, 128, 3), np.uint8))
