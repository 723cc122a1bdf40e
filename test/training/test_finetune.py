"""calibrate --method finetune: SiLog training of the head on rig bags, resume, export, DDP under torchrun."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys

import pytest
import torch

from depth_anything_ros.calibration import GroundTruthOptions
from depth_anything_ros.cli.main import main
from depth_anything_ros.core.calibration_file import load_calibration
from depth_anything_ros.core.files import file_sha256
from depth_anything_ros.model import model_spec
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.model.v2.checkpoint import load_model, save_checkpoint
from depth_anything_ros.runtime import OnnxRuntimeBackend
from depth_anything_ros.synthetic import RIG_TOPICS, SyntheticRig, write_rig_bag
from depth_anything_ros.training import FinetuneOptions
from depth_anything_ros.training.finetune import FinetuneRequest, finetune
from depth_anything_ros.training.loop import ResumeMismatchError

from conftest import checkpoint_request, tiny_da3_checkpoint, tiny_spec

TOPIC_ARGS = ["--image-topic", RIG_TOPICS["image"], "--camera-info-topic", RIG_TOPICS["camera_info"],
              "--lidar-topic", RIG_TOPICS["lidar"]]
GROUND_TRUTH = GroundTruthOptions(RIG_TOPICS["image"], RIG_TOPICS["camera_info"], RIG_TOPICS["lidar"])
SPLIT = ["--block", "2", "--holdout-every", "3"]
TORCHRUN_SCRIPT = """
import json, sys, pathlib, torch
sys.path.insert(0, {test_dir!r})
from conftest import checkpoint_request, tiny_spec
from depth_anything_ros.calibration.ground_truth import GroundTruthOptions
from depth_anything_ros.synthetic.rig import RIG_TOPICS
from depth_anything_ros.training.finetune import FinetuneOptions, FinetuneRequest, finetune
s = json.loads(pathlib.Path({settings!r}).read_text())
topics = GroundTruthOptions(RIG_TOPICS["image"], RIG_TOPICS["camera_info"], RIG_TOPICS["lidar"])
spec, max_depth = (None, None) if s["da3"] else (tiny_spec("metric", max_depth=80.0), 80.0)  # DA3: its config
request = FinetuneRequest([pathlib.Path(s["bag"])], topics, checkpoint_request(pathlib.Path(s["checkpoint"]), spec),
                          max_depth,
                          pathlib.Path(s["output"]),
                          pathlib.Path(s["work_dir"]), FinetuneOptions(**s["options"]), 2.0, 3)
result = finetune(request)
print("RESULT", torch.distributed.is_initialized(), result is None)
"""


@pytest.fixture(scope="module")
def driving_bag(tmp_path_factory):
    """24 frames at 2 Hz of a rig driving at 1 m/s: held-out blocks see views training never saw."""
    return write_rig_bag(tmp_path_factory.mktemp("bags") / "drive", SyntheticRig(), frames=24, rate_hz=2.0,
                         speed_mps=1.0)


def _request(tmp_path, bag, checkpoint, spec, **options) -> FinetuneRequest:
    settings = {"epochs": 8, "batch_size": 4, "lr": 1e-3, "input_size": 56, "device": "cpu", **options}
    return FinetuneRequest([bag], GROUND_TRUTH, checkpoint_request(checkpoint, spec), 80.0,
                           tmp_path / "out" / "rig.yaml", tmp_path / "work", FinetuneOptions(**settings),
                           block_s=2.0, holdout_every=3)


def test_finetune_lowers_held_out_silog_by_30_percent_and_exports_a_graph_the_node_accepts(tmp_path, driving_bag):
    spec = tiny_spec("metric", max_depth=80.0)
    checkpoint = save_checkpoint(untrained_model(spec, seed=3), tmp_path / "tiny.pth")
    lines: list[str] = []
    calibration = finetune(_request(tmp_path, driving_bag, checkpoint, spec), progress=lines.append)
    stats = calibration.statistics
    assert stats["frames_train"] == 16 and stats["frames_held_out"] == 8
    start, tuned = stats["held_out_start"]["silog"], stats["held_out_finetuned"]["silog"]
    assert tuned <= 0.7 * start, (start, tuned)
    assert stats["train_silog_by_epoch"][-1] < stats["train_silog_by_epoch"][0]
    out = tmp_path / "out"
    saved = load_calibration(out / "rig.yaml")
    assert saved.method == "finetune" and saved.model_kind == "metric" and (saved.scale, saved.shift) == (1.0, 0.0)
    assert saved.weights == {"checkpoint": "rig.pth", "onnx": "rig_96x128.onnx"}
    assert saved.checkpoint_sha256 == file_sha256(out / "rig.pth") and saved.statistics["finetuned_from"] == \
        file_sha256(checkpoint)
    trained = load_model(out / "rig.pth", spec)  # the weights load strictly into the real architecture
    assert not torch.equal(trained.depth_head.scratch.output_conv2[2].weight,
                           untrained_model(spec, seed=3).depth_head.scratch.output_conv2[2].weight)
    assert torch.equal(trained.pretrained.blocks[0].attn.qkv.weight,  # the encoder stayed frozen
                       untrained_model(spec, seed=3).pretrained.blocks[0].attn.qkv.weight)
    with OnnxRuntimeBackend(out / "rig_96x128.onnx") as backend:
        assert backend.info.checkpoint_sha256 == saved.checkpoint_sha256 and backend.info.kind == "metric"
        assert saved.check_applies_to(backend.info.kind, backend.info.checkpoint_sha256) is None
    warning = saved.check_applies_to("metric", "0" * 64)
    assert "fine-tuned weights" in warning and "rig_96x128.onnx" in warning


def test_an_interrupted_finetune_resumes_to_the_same_weights(tmp_path, driving_bag):
    spec = tiny_spec("metric", max_depth=80.0)
    checkpoint = save_checkpoint(untrained_model(spec, seed=4), tmp_path / "tiny.pth")
    whole = tmp_path / "whole"
    finetune(_request(whole, driving_bag, checkpoint, spec, epochs=4), progress=lambda _: None)

    class StopTrainingError(Exception):
        pass

    def stop_after_epoch_2(line: str) -> None:
        if line.startswith("epoch 2/4 done"):
            raise StopTrainingError

    parts = tmp_path / "parts"
    with pytest.raises(StopTrainingError):
        finetune(_request(parts, driving_bag, checkpoint, spec, epochs=4), progress=stop_after_epoch_2)
    assert (parts / "work" / "last.pt").is_file() and not (parts / "out").exists()
    lines: list[str] = []
    resumed = finetune(_request(parts, driving_bag, checkpoint, spec, epochs=4), progress=lines.append)
    assert any(line.startswith("resuming after epoch 2 of 4") for line in lines)
    assert any(line.startswith("reusing 24 frames") for line in lines)
    assert resumed.statistics["resumed_after_epoch"] == 2
    a, b = load_model(whole / "out" / "rig.pth", spec), load_model(parts / "out" / "rig.pth", spec)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name
    with pytest.raises(ResumeMismatchError, match=re.escape("lr: 0.001 then, 0.002 now")):
        finetune(_request(parts, driving_bag, checkpoint, spec, epochs=4, lr=2e-3), progress=lambda _: None)


def test_unfrozen_encoder_trains_at_a_tenth_of_the_head_rate(tmp_path, driving_bag):
    spec = tiny_spec("metric", max_depth=80.0)
    checkpoint = save_checkpoint(untrained_model(spec, seed=3), tmp_path / "tiny.pth")
    calibration = finetune(_request(tmp_path, driving_bag, checkpoint, spec, epochs=1, unfreeze_encoder=True),
                           progress=lambda _: None)
    assert calibration.statistics["encoder"] == "trained at lr/10"
    trained = load_model(tmp_path / "out" / "rig.pth", spec)
    assert not torch.equal(trained.pretrained.blocks[0].attn.qkv.weight,
                           untrained_model(spec, seed=3).pretrained.blocks[0].attn.qkv.weight)


@pytest.fixture(scope="module")
def relative_vits(tmp_path_factory):
    path = tmp_path_factory.mktemp("vits") / "depth_anything_v2_vits.pth"
    torch.save(untrained_model(model_spec("vits", 2)).state_dict(), path)  # the official file layout
    return path


def test_finetune_command_turns_a_relative_checkpoint_into_a_metric_head(tmp_path, driving_bag, relative_vits,
                                                                         capsys):
    out = tmp_path / "cal" / "front.yaml"
    args = ["calibrate", str(driving_bag), *TOPIC_ARGS, "--checkpoint", str(relative_vits), "--version", "2",
            "--input-size", "56", "--method", "finetune", "--epochs", "2", "--lr", "1e-3", *SPLIT,
            "--output", str(out), "--device", "cpu"]
    assert main(args) == 1
    assert "give --max-depth" in capsys.readouterr().err and not out.exists()
    assert main([*args, "--max-depth", "80"]) == 0
    printed = capsys.readouterr().out
    assert "held-out SiLog n/a (start)" in printed and "onnx:=" in printed
    calibration = load_calibration(out)
    assert calibration.statistics["held_out_start"]["silog"] is None  # a relative network has no metres
    assert calibration.statistics["held_out_affine"]["silog"] > 0
    model = load_model(tmp_path / "cal" / "front.pth", model_spec("vits", 2, metric=True, max_depth=80.0))
    source = torch.load(relative_vits, weights_only=True)
    assert torch.equal(model.pretrained.patch_embed.proj.weight, source["pretrained.patch_embed.proj.weight"])
    assert (tmp_path / "cal" / "front.finetune" / "last.pt").is_file()


TORCHRUN = os.path.join(os.path.dirname(sys.executable), "torchrun")


@pytest.mark.skipif(not os.path.exists(TORCHRUN), reason="torchrun (installed with torch) not beside this python")
@pytest.mark.parametrize(("family", "epochs"), [("v2", 3), ("da3", 2)])
def test_finetune_runs_unchanged_under_torchrun_with_two_processes(tmp_path, driving_bag, family, epochs):
    """V2, and a relative any-view DA3 (camera encoder/decoder and ray branch unused: DDP must not wait)."""
    spec = tiny_spec("metric", max_depth=80.0)
    if family == "da3":
        checkpoint = tiny_da3_checkpoint(tmp_path / "tiny_da3", "any-view", seed=2)
    else:
        checkpoint = save_checkpoint(untrained_model(spec, seed=3), tmp_path / "tiny.pth")
    request = _request(tmp_path, driving_bag, checkpoint, spec, epochs=epochs, batch_size=2)
    settings = tmp_path / "request.json"
    settings.write_text(json.dumps({"bag": str(driving_bag), "checkpoint": str(checkpoint), "da3": family == "da3",
                                    "output": str(request.output), "work_dir": str(request.work_dir),
                                    "options": dataclasses.asdict(request.options)}))
    script = tmp_path / "run.py"
    test_dir = os.path.dirname(os.path.dirname(__file__))  # test/, where conftest lives
    script.write_text(TORCHRUN_SCRIPT.format(test_dir=test_dir, settings=str(settings)))
    done = subprocess.run([TORCHRUN, "--standalone", "--nproc_per_node", "2", str(script)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    results = sorted(line for line in done.stdout.splitlines() if line.startswith("RESULT"))
    assert results == ["RESULT False False", "RESULT False True"]  # rank 0 wrote, rank 1 returned None
    state = torch.load(request.work_dir / "last.pt", weights_only=True)
    assert state["fingerprint"]["world_size"] == 2 and state["epoch"] == epochs
    assert state["step"] == epochs * 4  # 16 training frames / (2 processes x batch 2) = 4 steps per epoch
    assert load_calibration(request.output).statistics["frames_train"] == 16


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_finetune_on_cuda_lowers_held_out_silog_too(tmp_path, driving_bag):  # pragma: no cover - needs a GPU
    spec = tiny_spec("metric", max_depth=80.0)
    checkpoint = save_checkpoint(untrained_model(spec, seed=3), tmp_path / "tiny.pth")
    calibration = finetune(_request(tmp_path, driving_bag, checkpoint, spec, device="cuda"), progress=lambda _: None)
    stats = calibration.statistics
    assert stats["held_out_finetuned"]["silog"] <= 0.7 * stats["held_out_start"]["silog"]
    assert load_model(tmp_path / "out" / "rig.pth", spec)  # saved from the GPU, loads on the CPU
