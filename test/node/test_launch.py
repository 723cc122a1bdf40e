"""Launch support without ROS: camera lists, overrides, remappings; the params file matches the node's parameters."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from depth_anything_ros.node import PipelineConfig, knobs, parse_cameras
from depth_anything_ros.node.config import load_parameters
from depth_anything_ros.node.launch_support import overrides_from, remappings
from depth_anything_ros.node.parameters import READ_ONLY, apply_changes, params_file_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "cameras"), [
    ("[/front, /rear]", ["/front", "/rear"]), ("front,rear/", ["/front", "/rear"]), ("[cam]", ["/cam"]),
])
def test_camera_lists(text, cameras):
    assert parse_cameras(text) == cameras


@pytest.mark.parametrize(("text", "message"), [
    ("[]", "no camera"), ("[/a, a]", "twice"), ("{a: 1}", "namespaces"), ("[/a b]", "namespaces"),
])
def test_bad_camera_lists_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_cameras(text)


def test_only_given_arguments_override_the_params_file():
    assert overrides_from({"checkpoint": "", "onnx": "/m.onnx", "use_compressed": ""}) == {"onnx": "/m.onnx"}
    assert overrides_from({"use_compressed": "True"}) == {"use_compressed": True}
    assert overrides_from({"model": "da3metric-large", "checkpoint": "/ckpt/da3metric-large"}) == \
        {"model": "da3metric-large", "checkpoint": "/ckpt/da3metric-large"}
    with pytest.raises(ValueError, match="model must be one of da3-small"):
        overrides_from({"model": "da3-huge"})
    with pytest.raises(ValueError, match="true or false"):
        overrides_from({"use_compressed": "yes"})
    assert remappings("image_raw", False) == [("image", "image_raw"), ("image/compressed", "image_raw/compressed")]
    assert remappings("image_raw", True) == [("image/compressed", "image_raw/compressed")]
    assert remappings("image_raw", True, "/scan") == [("image/compressed", "image_raw/compressed"),
                                                      ("anchor/points", "/scan"), ("anchor/scan", "/scan"),
                                                      ("anchor/range", "/scan")]
    assert overrides_from({"anchor_input": "scan", "anchor_extrinsic": "0 0 0 0 0 0 1 cam laser"}) == \
        {"anchor_input": "scan", "anchor_extrinsic": "0 0 0 0 0 0 1 cam laser"}


def test_multi_camera_launch_feeds_one_anchor_topic_to_every_camera():
    from depth_anything_ros.node.launch_support import multi_camera_settings

    overrides, remapped = multi_camera_settings(["/front", "/rear"], {"anchor_input": "points",
                                                                     "anchor_topic": "/lidar/points"})
    assert overrides == {"anchor_input": "points", "anchor_shared": True,
                         "cameras": "/front:/front/image_rect:/front/camera_info, "
                                    "/rear:/rear/image_rect:/rear/camera_info"}
    assert ("anchor/points", "/lidar/points") in remapped and len(remapped) == 3
    config = PipelineConfig(**overrides)  # a valid node configuration
    assert config.anchor_shared and config.cameras
    assert multi_camera_settings(["/front"], {"anchor_input": "points"}) == \
        ({"anchor_input": "points", "cameras": "/front:/front/image_rect:/front/camera_info"}, [])


def test_launch_arguments_include_model():
    from depth_anything_ros.node.launch_support import ARGUMENT_NAMES, OVERRIDABLE

    assert "model" in ARGUMENT_NAMES and "model" in OVERRIDABLE
    assert set(OVERRIDABLE) <= set(ARGUMENT_NAMES)
    assert set(OVERRIDABLE) <= {spec.name for spec in knobs()}  # each such launch argument sets a node parameter


def test_launch_files_define_generate_launch_description():
    for name in ("depth", "multi_camera", "demo"):
        tree = ast.parse((ROOT / "launch" / f"{name}.launch.py").read_text())
        assert "generate_launch_description" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_params_file_lists_every_node_parameter_with_its_default():
    values = load_parameters(ROOT / "config" / "depth.yaml")
    defaults = PipelineConfig()
    specs = {spec.name: spec for spec in knobs()}
    assert set(values) == set(specs)
    assert (ROOT / "config" / "depth.yaml").read_text() == params_file_text(), \
        "config/depth.yaml is generated: python -m depth_anything_ros.node.parameters > config/depth.yaml"
    for name, value in values.items():
        expected = getattr(defaults, name)
        assert value == expected or (value == ".inf" and expected == math.inf), name


def test_read_only_parameters_cannot_change_at_run_time():
    config = PipelineConfig()
    assert apply_changes(config, {"cloud_stride": 3, "use_sim_time": True}).cloud_stride == 3
    with pytest.raises(ValueError, match=r"backend.*restart"):
        apply_changes(config, {"backend": "torch"})
    with pytest.raises(ValueError, match="sync"):
        apply_changes(config, {"sync": "often"})
    assert {"checkpoint", "onnx", "use_compressed", "precision"} <= READ_ONLY
