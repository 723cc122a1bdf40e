"""The seeded weight rule of the tiny DA3 networks (model/da3_tiny.py) and the hub-layout writer."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from depth_anything_ros.model.da3.checkpoint import load_da3, save_da3
from depth_anything_ros.model.da3.spec import tiny_da3_spec
from depth_anything_ros.model.da3.tiny import (
    DEPTH_CONV,
    SKY_CONV,
    key_seed,
    seeded_state,
    seeded_tensor,
    state_digest,
    tiny_da3_model,
    tiny_da3_state,
)


def test_a_tensor_depends_only_on_its_name_shape_and_seed():
    shapes = {"a.bias": torch.Size([7]), "b.weight": torch.Size([4, 3]), "c.gamma": torch.Size([5])}
    alone = seeded_state({"b.weight": shapes["b.weight"]}, 3)
    together = seeded_state(dict(reversed(shapes.items())), 3)
    assert torch.equal(alone["b.weight"], together["b.weight"])
    assert not torch.equal(together["b.weight"], seeded_state(shapes, 4)["b.weight"])
    assert not torch.equal(seeded_tensor("x.bias", (7,), 3), seeded_tensor("y.bias", (7,), 3))
    assert key_seed(3, "a") != key_seed(4, "a") and key_seed(3, "a") < 2**32


def test_distribution_follows_the_key_kind():
    n = 20000
    token, gamma = seeded_tensor("p.cls_token", (1, 1, n), 0), seeded_tensor("blocks.0.ls1.gamma", (n,), 0)
    norm, bias = seeded_tensor("blocks.0.norm1.weight", (n,), 0), seeded_tensor("head.bias", (n,), 0)
    conv = seeded_tensor("head.conv.weight", (n // 200, 8, 5, 5), 0)
    assert abs(token.mean()) < 0.05 and abs(token.std() - 1) < 0.05
    assert gamma.min() >= 0.5 and gamma.max() <= 1.5
    assert abs(norm.mean() - 1) < 0.01 and abs(norm.std() - 0.2) < 0.01
    assert bias.min() >= -0.1 and bias.max() <= 0.1
    assert conv.abs().max() <= 1 / (8 * 25) ** 0.5 and conv.abs().max() > 0.9 / (8 * 25) ** 0.5
    with pytest.raises(ValueError, match=r"no weight rule for state-dict key 'x\.running_mean'"):
        seeded_tensor("x.running_mean", (3,), 0)


@pytest.mark.parametrize("kind", ["any-view", "mono"])
def test_tiny_state_is_float16_exact_and_the_affine_reaches_channel_0_only(kind):
    state = tiny_da3_state(kind)
    assert all(torch.equal(v, v.half().float()) for v in state.values())
    plain = tiny_da3_state(kind, affine={})
    convs = [DEPTH_CONV] + ([SKY_CONV] if kind == "mono" else [])
    for conv in convs:
        assert not torch.equal(state[f"{conv}.weight"][0], plain[f"{conv}.weight"][0])
        torch.testing.assert_close(state[f"{conv}.weight"][1:], plain[f"{conv}.weight"][1:])
    changed = {k for k in state if not torch.equal(state[k], plain[k])}
    assert changed == {f"{c}.{p}" for c in convs for p in ("weight", "bias")}
    assert state_digest(state) == state_digest(tiny_da3_state(kind)) != state_digest(plain)


def test_metric_is_the_mono_network_renamed():
    mono, metric = tiny_da3_model("mono"), tiny_da3_model("metric")
    assert metric.spec.name == "tiny-da3-metric" and metric.spec.metric
    torch.testing.assert_close(mono.state_dict(), metric.state_dict(), rtol=0, atol=0)


def test_save_da3_writes_the_official_hub_layout(tmp_path):
    model = tiny_da3_model("any-view")
    weights = save_da3(model, tmp_path / "ckpt")
    folder = weights.parent
    assert weights == folder / "model.safetensors"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((folder / "config.json").read_text()) == {"model_name": "tiny-da3-any-view"}
    stored = load_file(str(folder / "model.safetensors"))
    shared_copies = {f"model.head.scratch.output_conv2_aux.{level}.2.{p}"
                     for level in (1, 2, 3) for p in ("weight", "bias")}
    assert set(stored) == {f"model.{k}" for k in model.state_dict()} - shared_copies  # the hub's dedup
    loaded = load_da3(folder, tiny_da3_spec("any-view"))
    torch.testing.assert_close(loaded.state_dict(), model.state_dict(), rtol=0, atol=0)
    save_da3(model, folder)  # rewriting replaces the files and leaves no temporary beside them
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    by_name = load_da3(folder)  # config.json names the tiny network; da3_spec knows the tiny test networks
    torch.testing.assert_close(by_name.state_dict(), model.state_dict(), rtol=0, atol=0)
    save_da3(model, folder, {"depth_anything_ros": {"method": "test"}})
    assert json.loads((folder / "config.json").read_text())["depth_anything_ros"] == {"method": "test"}
