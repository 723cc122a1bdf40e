"""State-dict names, shapes and parameter counts against the official model; taps by version."""

from __future__ import annotations

import json

import pytest
import torch

from depth_anything_ros.model import ModelSpec, model_spec
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.model.v2.network import DepthAnything

from conftest import REFERENCE, require, tiny_spec


def reference():
    return json.loads(require(REFERENCE / "depth_anything_v2_vits_state_dict.json").read_text())


def meta_model(encoder: str, version: int = 2) -> DepthAnything:
    with torch.device("meta"):
        return DepthAnything(model_spec(encoder, version))


@pytest.mark.parametrize("metric", [False, True])
def test_vits_state_dict_names_and_shapes_equal_official(metric):
    expected = [(name, list(shape)) for name, shape in reference()["keys_in_order"]]
    spec = model_spec("vits", 2, metric, 20.0 if metric else None)
    with torch.device("meta"):
        actual = [(name, list(t.shape)) for name, t in DepthAnything(spec).state_dict().items()]
    assert actual == expected


@pytest.mark.parametrize("encoder", ["vits", "vitb", "vitl", "vitg"])
def test_parameter_counts_equal_official(encoder):
    counts = reference()["num_params_by_size"][encoder]
    model = meta_model(encoder)
    assert sum(p.numel() for p in model.pretrained.parameters()) == counts["encoder"]
    assert sum(p.numel() for p in model.depth_head.parameters()) == counts["head"]
    assert len(model.state_dict()) == counts["state_dict_entries"]


@pytest.mark.parametrize(("encoder", "v2_taps"), [("vits", (2, 5, 8, 11)), ("vitb", (2, 5, 8, 11)),
                                                  ("vitl", (4, 11, 17, 23)), ("vitg", (9, 19, 29, 39))])
def test_version_decides_taps(encoder, v2_taps):
    assert model_spec(encoder, 2).taps == v2_taps
    depth = model_spec(encoder, 1).encoder.depth
    assert model_spec(encoder, 1).taps == (depth - 4, depth - 3, depth - 2, depth - 1)


def test_v1_and_v2_taps_give_different_outputs_from_the_same_weights():
    v2 = untrained_model(tiny_spec(version=2), seed=3)
    v1 = DepthAnything(tiny_spec(version=1))
    v1.load_state_dict(v2.state_dict(), strict=True)
    x = torch.randn(1, 3, 70, 84)
    with torch.no_grad():
        assert not torch.allclose(v1.eval()(x), v2(x))


def test_metric_head_is_sigmoid_times_max_depth(tiny_metric):
    x = torch.randn(1, 3, 56, 70)
    with torch.no_grad():
        out = tiny_metric(x)
        assert out.shape == (1, 56, 70)
        assert float(out.min()) > 0 and float(out.max()) < 20.0
        head = tiny_metric.depth_head
        tokens = tiny_metric.pretrained(x, tiny_metric.spec.taps)
        assert torch.allclose(out, head(tokens, 4, 5, 14).squeeze(1) * 20.0)


def test_relative_head_is_non_negative_and_varies(tiny_relative):
    with torch.no_grad():
        out = tiny_relative(torch.randn(1, 3, 56, 70))
    assert float(out.min()) >= 0 and float(out.std()) > 0


def test_positional_embedding_uses_scale_factor_not_size():
    model = untrained_model(tiny_spec(), seed=4)
    pos = model.pretrained.pos_embed_for(37, 49)
    assert pos.shape == (1, 37 * 49 + 1, 48)
    grid = model.pretrained.pos_embed[:, 1:].reshape(1, 37, 37, 48).permute(0, 3, 1, 2)
    by_size = torch.nn.functional.interpolate(grid, size=(37, 49), mode="bicubic")
    assert not torch.allclose(pos[:, 1:], by_size.permute(0, 2, 3, 1).reshape(1, -1, 48))
    assert torch.equal(model.pretrained.pos_embed_for(37, 37), model.pretrained.pos_embed)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"version": 3}, "version must be 1 or 2"),
    ({"kind": "metric"}, "positive max_depth"),
    ({"kind": "relative", "max_depth": 10.0}, "only applies to metric"),
    ({"taps": (2, 5, 8, 12)}, "do not fit"),
])
def test_bad_specs_are_refused(kwargs, message):
    base = dict(encoder=tiny_spec().encoder, features=16, out_channels=(8, 16, 32, 48), version=2,
                taps=(2, 5, 8, 11))
    with pytest.raises(ValueError, match=message):
        ModelSpec(**{**base, **kwargs})


def test_unknown_encoder_is_refused():
    with pytest.raises(ValueError, match="expected one of vits, vitb, vitl, vitg"):
        model_spec("vith", 2)
