"""The params file shared by the CLI and (later) the node."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from depth_anything_ros.node import PipelineConfig, config_from_parameters

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_config_is_valid_and_matches_defaults():
    assert config_from_parameters(ROOT / "config" / "depth.yaml") == PipelineConfig()


def test_values_are_typed(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("/**:\n  ros__parameters:\n    encoder: vitl\n    max_depth: 80\n    metric: true\n"
                    "    max_range: .inf\n")
    config = config_from_parameters(path)
    assert config.encoder == "vitl" and config.max_depth == 80.0 and config.metric and math.isinf(config.max_range)


@pytest.mark.parametrize(("body", "message"), [
    ("encodr: vits", "unknown parameter 'encodr'"),
    ("version: '2'", "'version' must be int"),
    ("metric: 1", "'metric' must be bool"),
    ("encoder: vith", "encoder must be"),
    ("metric: true", "needs max_depth > 0"),
    ("input_size: 500", "multiple of 14"),
])
def test_bad_values_are_refused_with_the_name(tmp_path, body, message):
    path = tmp_path / "p.yaml"
    path.write_text(f"depth_anything_ros:\n  ros__parameters:\n    {body}\n")
    with pytest.raises(ValueError, match=message):
        config_from_parameters(path)


def test_file_without_section_is_refused(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("other_node:\n  ros__parameters: {}\n")
    with pytest.raises(ValueError, match="no '<node>: ros__parameters:' section"):
        config_from_parameters(path)


@pytest.mark.parametrize(("values", "message"), [
    ({"encoder": "vith"}, "encoder must be vits | vitb | vitl | vitg"),
    ({"version": 3}, r"version must be within \[1, 2\]"),
    ({"input_size": 20}, "multiple of 14"),
    ({"sync_slop": 2.0}, r"sync_slop must be within \[0, 1\]"),
    ({"min_depth": math.nan}, "min_depth must be within"),
    ({"backend": "cuda"}, "backend must be auto | tensorrt | onnxruntime | torch"),
    ({"diag_min_rate": 5.0, "diag_max_rate": 2.0}, "diag_min_rate <= diag_max_rate"),
])
def test_the_knob_table_refuses_values_outside_its_choices_and_ranges(values, message):
    with pytest.raises(ValueError, match=message):
        PipelineConfig(**values)


def test_every_knob_is_described_typed_and_ranged_consistently():
    from depth_anything_ros.node import knobs
    from depth_anything_ros.node.parameters import float_range, integer_range

    for spec in knobs():
        assert spec.description and isinstance(spec.default, spec.type), spec.name
        spec.check(spec.default)  # every default passes its own row
        if spec.low is not None:
            assert (integer_range(spec) or float_range(spec)) is not None, spec.name


def test_backend_config_carries_what_runtime_needs_and_nothing_else():
    config = PipelineConfig(encoder="vitb", precision="fp32", cloud_stride=4)
    backend = config.backend_config()
    assert (backend.encoder, backend.precision) == ("vitb", "fp32") and not hasattr(backend, "cloud_stride")


def test_the_anchor_knobs_are_anchor_config_field_for_field_with_its_defaults():
    """One home for the anchor's defaults: AnchorConfig; the knob table maps every field (rectified is the node's)."""
    import dataclasses

    from depth_anything_ros.core.anchor_config import AnchorConfig
    from depth_anything_ros.node.config import knobs

    table = {spec.name: spec for spec in knobs()}
    engine = AnchorConfig()
    for item in dataclasses.fields(AnchorConfig):
        if item.name == "rectified":
            assert f"anchor_{item.name}" not in table
            continue
        spec = table[f"anchor_{item.name}"]
        assert spec.default == getattr(engine, item.name) and spec.type is type(getattr(engine, item.name)), item.name
    assert PipelineConfig().anchor_config() == engine and PipelineConfig().anchor_input == "none"
    changed = PipelineConfig(anchor_hold_s=2.5, anchor_min_points=30, rectified=False).anchor_config()
    assert (changed.hold_s, changed.min_points, changed.rectified) == (2.5, 30, False)
    assert table["anchor_input"].read_only and not table["anchor_extrinsic"].read_only


@pytest.mark.parametrize(("values", "message"), [
    ({"anchor_input": "lidar"}, "anchor_input must be none | points | scan | range"),
    ({"anchor_min_inlier_ratio": 0.0}, r"anchor_min_inlier_ratio must be within"),
    ({"anchor_min_points": 40, "anchor_max_fit_points": 30}, "must be >= min_points"),
    ({"anchor_extrinsic": "1 2 3"}, "cannot read static transform '1 2 3'"),
    ({"anchor_input": "points", "anchor_shared": True}, "for the multi-camera node"),
    ({"anchor_input": "points", "camera_anchor_extrinsics": "/front=0 0 0 0 0 0 1"}, "for the multi-camera node"),
])
def test_bad_anchor_values_are_refused_with_the_name(values, message):
    with pytest.raises(ValueError, match=message):
        PipelineConfig(**values)
