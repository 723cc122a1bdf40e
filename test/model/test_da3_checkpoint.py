"""DA3 variants' parameter names and strict loading of official-format checkpoints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from depth_anything_ros.model import DA3_NAMES
from depth_anything_ros.model.da3.checkpoint import load_da3, shared_groups
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import da3_spec, tiny_da3_spec
from depth_anything_ros.model.v2.checkpoint import CheckpointError

# state_dict() keys / tensors of a hub file (safetensors.torch.save_model stores the shared aux LayerNorm once),
# read off the official networks at 2c21ea8 (configs/*.yaml built with depth_anything_3.cfg.create_object)
OFFICIAL_KEY_COUNTS = {"da3-small": 443, "da3-base": 443, "da3-large": 643, "da3-giant": 977, "da3mono-large": 406,
                       "da3metric-large": 406}
OFFICIAL_HUB_TENSORS = {"da3-small": 437, "da3-base": 437, "da3-large": 637, "da3-giant": 971, "da3mono-large": 406,
                        "da3metric-large": 406}


def state_of(name: str) -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        return Da3Model(da3_spec(name)).state_dict()


@pytest.mark.parametrize("name", DA3_NAMES)
def test_variants_have_the_official_tensor_count_and_shapes(name):
    state = state_of(name)
    spec = da3_spec(name)
    assert len(state) == OFFICIAL_KEY_COUNTS[name]
    with torch.device("meta"):
        shared = shared_groups(Da3Model(spec))
    assert len(state) - sum(len(keys) - 1 for keys in shared) == OFFICIAL_HUB_TENSORS[name]
    aux_norm = [[f"head.scratch.output_conv2_aux.{level}.2.{p}" for level in range(4)] for p in ("weight", "bias")]
    assert shared == (aux_norm if spec.any_view else [])
    assert ("gs_head.images_merger.4.weight" in state) == (name == "da3-giant")
    dim = spec.encoder.embed_dim
    assert state["backbone.pretrained.pos_embed"].shape == (1, 37 * 37 + 1, dim)
    assert state["head.projects.0.weight"].shape == (spec.out_channels[0], spec.head_dim_in, 1, 1)
    assert ("backbone.pretrained.camera_token" in state) == spec.any_view
    assert ("head.scratch.sky_output_conv2.2.weight" in state) == (not spec.any_view)
    assert "head.scratch.refinenet4.resConfUnit1.conv1.weight" not in state
    assert "backbone.pretrained.mask_token" not in state
    if spec.any_view:
        head_width = spec.encoder.embed_dim // spec.encoder.num_heads
        assert state[f"backbone.pretrained.blocks.{spec.qknorm_start}.attn.q_norm.weight"].shape == (head_width,)
        assert f"backbone.pretrained.blocks.{spec.qknorm_start - 1}.attn.q_norm.weight" not in state
        assert state["cam_dec.backbone.0.weight"].shape == (2 * dim, 2 * dim)
        assert state["cam_enc.trunk.3.attn.qkv.weight"].shape == (3 * dim, dim)
    if spec.encoder.ffn == "swiglu":  # DA3-GIANT's vitg: DINOv2's SwiGLU, hidden 4096
        assert state["backbone.pretrained.blocks.0.mlp.w12.weight"].shape == (8192, 1536)


def test_nested_models_are_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"nested model: an any-view DA3-GIANT .* not supported"):
        da3_spec("da3nested-giant-large")


@pytest.fixture
def copy_checkpoint(tmp_path, tiny_da3_checkpoints):
    """A private copy of a tiny DA3 checkpoint folder (the tests below change it)."""
    def copy(kind: str = "any-view") -> Path:
        return Path(shutil.copytree(tiny_da3_checkpoints[kind], tmp_path / kind))
    return copy


def test_official_layout_loads_by_folder_or_file(copy_checkpoint):
    folder = copy_checkpoint()
    spec = tiny_da3_spec("any-view")
    a, b = load_da3(folder, spec), load_da3(folder / "model.safetensors", spec)
    assert not a.training
    torch.testing.assert_close(a.state_dict(), b.state_dict())
    stored = load_file(str(folder / "model.safetensors"))
    assert torch.equal(a.state_dict()["head.norm.weight"], stored["model.head.norm.weight"].float())


def test_wrong_model_name_is_refused(copy_checkpoint):
    folder = copy_checkpoint()
    with pytest.raises(CheckpointError, match="names model 'tiny-da3-any-view', expected 'tiny-da3-mono'"):
        load_da3(folder, tiny_da3_spec("mono"))
    (folder / "config.json").write_text(json.dumps({"model_name": "da3-huge"}))
    with pytest.raises(CheckpointError, match=r"unknown Depth Anything 3 model 'da3-huge'.*da3metric-large"):
        load_da3(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not readable JSON"):
        load_da3(folder)
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match=r"config\.json does not exist"):
        load_da3(folder)


def test_other_variant_weights_are_refused_with_missing_and_unexpected(copy_checkpoint):
    folder = copy_checkpoint("mono")
    (folder / "config.json").write_text(json.dumps({"model_name": "tiny-da3-any-view"}))
    with pytest.raises(CheckpointError) as error:
        load_da3(folder, tiny_da3_spec("any-view"))
    message = str(error.value)
    assert "does not fit tiny-da3-any-view" in message
    assert "missing" in message and "model.cam_enc" in message
    assert "unexpected" in message and "model.head.scratch.sky_output_conv2" in message
    assert "holds a mono/metric" in message


def test_shape_mismatch_is_named(copy_checkpoint):
    folder = copy_checkpoint()
    state = load_file(str(folder / "model.safetensors"))
    state["model.head.norm.weight"] = torch.zeros(3)
    save_file(state, str(folder / "model.safetensors"))
    expected = r"1 shape mismatches .*model\.head\.norm\.weight: expected \(64,\), found \(3,\)"
    with pytest.raises(CheckpointError, match=expected):
        load_da3(folder, tiny_da3_spec("any-view"))


def test_foreign_files_are_refused(copy_checkpoint):
    folder = copy_checkpoint()
    save_file({"pretrained.cls_token": torch.zeros(1, 1, 32), "depth_head.projects.0.weight": torch.zeros(1)},
              str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match="Depth Anything V1/V2 checkpoint"):
        load_da3(folder, tiny_da3_spec("any-view"))
    (folder / "model.safetensors").write_bytes(b"PK\x03\x04 this is a zip, not safetensors")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_da3(folder, tiny_da3_spec("any-view"))
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="does not exist"):
        load_da3(folder, tiny_da3_spec("any-view"))
