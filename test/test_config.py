"""The params file shared by the CLI and (later) the node."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from depth_anything_ros.node.config import PipelineConfig, config_from_parameters

ROOT = Path(__file__).resolve().parents[1]


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
