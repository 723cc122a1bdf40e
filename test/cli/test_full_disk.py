"""A disk that fills up mid-run (ENOSPC simulated at the write calls): exit 1, a clear message, nothing half-written."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
import torch

from depth_anything_ros.calibration import GroundTruthOptions
from depth_anything_ros.cli.main import main
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.model.v2.checkpoint import save_checkpoint
from depth_anything_ros.synthetic import RIG_TOPICS, SyntheticRig, write_rig_bag
from depth_anything_ros.training import FinetuneOptions
from depth_anything_ros.training.finetune import FinetuneRequest, finetune

from conftest import checkpoint_request, tiny_spec

TOPIC_ARGS = ["--image-topic", RIG_TOPICS["image"], "--camera-info-topic", RIG_TOPICS["camera_info"],
              "--lidar-topic", RIG_TOPICS["lidar"]]


def _no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture(scope="module")
def rig_bag_and_graph(tmp_path_factory):
    root = tmp_path_factory.mktemp("rig")
    rig = SyntheticRig()
    graph = root / "tiny.onnx"
    export_graph(untrained_model(tiny_spec("relative"), seed=1), (rig.height, rig.width), graph, input_size=56)
    return write_rig_bag(root / "rig", rig, frames=12, rate_hz=2.0), graph


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_lidar_depth_on_a_full_disk_leaves_no_output(tmp_path, monkeypatch, capsys, rig_bag_and_graph):
    bag, _ = rig_bag_and_graph
    monkeypatch.setattr(np, "save", _no_space)
    assert main(["lidar-depth", str(bag), *TOPIC_ARGS, "--output", str(tmp_path / "gt")]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "no half-written output was kept" in err
    assert _leftovers(tmp_path) == []


def test_calibrate_on_a_full_disk_keeps_the_previous_calibration(tmp_path, monkeypatch, capsys, rig_bag_and_graph):
    bag, graph = rig_bag_and_graph
    out = tmp_path / "cal.yaml"
    out.write_text("previous calibration\n")
    monkeypatch.setattr(Path, "write_text", _no_space)
    assert main(["calibrate", str(bag), *TOPIC_ARGS, "--onnx", str(graph), "--backend", "onnxruntime",
                 "--block", "1", "--holdout-every", "3", "--output", str(out)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    monkeypatch.undo()
    assert out.read_text() == "previous calibration\n" and _leftovers(tmp_path) == ["cal.yaml"]


def test_evaluate_on_a_full_disk_leaves_no_report(tmp_path, monkeypatch, capsys, rig_bag_and_graph):
    from matplotlib.figure import Figure

    bag, graph = rig_bag_and_graph
    monkeypatch.setattr(Figure, "savefig", _no_space)  # the report's plots are matplotlib figures
    assert main(["evaluate", str(bag), *TOPIC_ARGS, "--onnx", str(graph), "--backend", "onnxruntime",
                 "--output", str(tmp_path / "report")]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert _leftovers(tmp_path) == []


def test_finetune_on_a_full_disk_writes_no_calibration(tmp_path, monkeypatch, capsys, rig_bag_and_graph):
    bag, _ = rig_bag_and_graph
    spec = tiny_spec("metric", max_depth=80.0)
    checkpoint = save_checkpoint(untrained_model(spec, seed=3), tmp_path / "start" / "tiny.pth")
    monkeypatch.setattr(torch, "save", _no_space)  # the first per-epoch checkpoint cannot be written

    out = tmp_path / "cal" / "rig.yaml"
    request = FinetuneRequest([bag], GroundTruthOptions(*RIG_TOPICS.values()), checkpoint_request(checkpoint, spec),
                              80.0, out, tmp_path / "work", FinetuneOptions(epochs=1, input_size=56, device="cpu"),
                              1.0, 3)
    with pytest.raises(OSError, match="No space left"):
        finetune(request, progress=lambda _: None)
    assert not out.parent.exists() and not (tmp_path / "work" / "last.pt").exists()
    assert not [p for p in (tmp_path / "work").rglob("*") if ".tmp" in p.name]
