"""Checkpoint loading: strict keys, and clear errors for wrong size, version, truncated or foreign files."""

from __future__ import annotations

import pytest
import torch

from depth_anything_ros.core.files import file_sha256
from depth_anything_ros.model import model_spec
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.model.v2.checkpoint import CheckpointError, load_model, save_checkpoint
from depth_anything_ros.model.v2.network import DepthAnything

from conftest import tiny_spec


def test_round_trip_with_metadata(tmp_path, tiny_metric):
    path = save_checkpoint(tiny_metric, tmp_path / "tiny.pth")
    loaded = load_model(path, tiny_spec("metric", max_depth=20.0))
    for name, tensor in tiny_metric.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary left behind
    assert len(file_sha256(path)) == 64


def assert_same_weights(loaded: DepthAnything, saved: dict[str, torch.Tensor]) -> None:
    """Every saved tensor is in the loaded model under its official name, bit for bit, and nothing else."""
    state = loaded.state_dict()
    assert set(state) == set(saved)
    for name, tensor in saved.items():
        assert torch.equal(state[name], tensor), name


def test_plain_official_style_state_dict_loads(tmp_path, tiny_relative):
    torch.save(tiny_relative.state_dict(), tmp_path / "plain.pth")
    loaded = load_model(tmp_path / "plain.pth", tiny_spec())
    assert_same_weights(loaded, tiny_relative.state_dict())
    assert not loaded.training  # ready for inference
    image = torch.rand(1, 3, 56, 56)
    with torch.no_grad():
        assert torch.equal(loaded(image), tiny_relative.eval()(image))


def test_ddp_prefixed_state_dict_loads(tmp_path, tiny_relative):
    """A DistributedDataParallel save ("module." before every key) loads with the prefix removed."""
    torch.save({f"module.{k}": v for k, v in tiny_relative.state_dict().items()}, tmp_path / "ddp.pth")
    assert_same_weights(load_model(tmp_path / "ddp.pth", tiny_spec()), tiny_relative.state_dict())


def test_wrong_size_names_expected_and_found(tmp_path):
    with torch.device("meta"):
        vitb_shapes = DepthAnything(model_spec("vitb", 2)).state_dict()
    # vitb's keys and shapes, cheaply: zero-stride tensors of the right shapes
    state = {k: torch.zeros(1).expand(*v.shape) if v.dim() else torch.zeros(()) for k, v in vitb_shapes.items()}
    torch.save(state, tmp_path / "model.pth")
    with pytest.raises(CheckpointError) as error:
        load_model(tmp_path / "model.pth", model_spec("vits", 2))
    message = str(error.value)
    assert "expected vits (embed_dim 384, 12 blocks)" in message
    assert "found vitb (embed_dim 768, 12 blocks)" in message
    assert "shape mismatches" in message


def test_official_file_name_of_other_version_is_refused(tmp_path, tiny_relative):
    torch.save(tiny_relative.state_dict(), tmp_path / "depth_anything_v2_vits.pth")
    with pytest.raises(CheckpointError, match=r"Depth Anything V2 \(requested --version 1\)"):
        load_model(tmp_path / "depth_anything_v2_vits.pth", model_spec("vits", 1))


def test_official_metric_file_as_relative_is_refused(tmp_path):
    path = tmp_path / "depth_anything_v2_metric_vkitti_vits.pth"
    path.write_bytes(b"")  # the name is checked before anything is built
    torch.save({}, path)
    with pytest.raises(CheckpointError, match=r"a metric head \(requested relative\)"):
        load_model(path, model_spec("vits", 2))


def test_our_metadata_of_other_version_is_refused(tmp_path):
    v1 = untrained_model(tiny_spec(version=1), seed=0)
    save_checkpoint(v1, tmp_path / "finetuned.pth")
    with pytest.raises(CheckpointError, match=r"version 1 \(requested 2\)"):
        load_model(tmp_path / "finetuned.pth", tiny_spec(version=2))


def test_truncated_file_is_reported(tmp_path, tiny_relative):
    save_checkpoint(tiny_relative, tmp_path / "full.pth")
    data = (tmp_path / "full.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"not a readable PyTorch checkpoint: truncated"):
        load_model(tmp_path / "cut.pth", tiny_spec())


def test_foreign_checkpoint_is_reported(tmp_path):
    torch.save({"backbone.conv1.weight": torch.zeros(3)}, tmp_path / "resnet.pth")
    with pytest.raises(CheckpointError, match=r"not a Depth Anything checkpoint.*backbone.conv1.weight"):
        load_model(tmp_path / "resnet.pth", tiny_spec())


def test_missing_keys_are_listed(tmp_path, tiny_relative):
    state = tiny_relative.state_dict()
    del state["depth_head.scratch.output_conv1.bias"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match=r"1 missing keys.*output_conv1.bias"):
        load_model(tmp_path / "partial.pth", tiny_spec())


def test_non_dict_and_missing_files(tmp_path):
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    with pytest.raises(CheckpointError, match="holds a Tensor"):
        load_model(tmp_path / "tensor.pth", tiny_spec())
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nope.pth", tiny_spec())
    (tmp_path / "text.pth").write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_model(tmp_path / "text.pth", tiny_spec())
