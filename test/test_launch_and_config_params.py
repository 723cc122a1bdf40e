"""The launch files and config/*.yaml name only what exists: each parameter they set is one the node declares,
each executable one setup.py installs, each launch argument they read one they declare, each share/ file one
setup.py installs, and the CLI arguments they pass parse. Launch files are read with ``ast`` (launch_ros is not
on PyPI, so they cannot be imported here); the node's parameters come from its own ``declare_parameters``."""

from __future__ import annotations

import ast

import pytest

from depth_anything_ros.node import launch_support
from depth_anything_ros.node.config import knobs

from doc_checks import (
    ROOT,
    launch_facts,
    launch_problems,
    node_parameters,
    override_problems,
    package_facts,
    params_problems,
)

LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))
CONFIG_FILES = sorted((ROOT / "config").glob("*.yaml"))


@pytest.fixture(scope="module")
def package():
    pytest.importorskip("rclpy", reason="the node's declared parameters come from rclpy (the ros extra)")
    return package_facts(node_parameters())


def test_the_node_declares_the_knob_table_and_rclpy_parameters(package):
    assert {spec.name for spec in knobs()} | {"use_sim_time"} <= package.parameters
    assert package.declares("qos_overrides./camera/depth/image.publisher.reliability")
    assert not package.declares("qos_overrides./camera/depth/image.publisher.reliabilty")


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_names_only_what_exists(path, package):
    problems = launch_problems(package.launch[path.name], package)
    assert not problems, "\n".join(problems)


def test_launch_files_are_read_through_their_helpers(package):
    """The reading is not vacuous: what each file starts and declares is found, helpers included."""
    depth, multi, demo = (package.launch[f"{n}.launch.py"] for n in ("depth", "multi_camera", "demo"))
    for facts in (depth, multi):
        assert {name for name, _ in facts.executables} == {"depth_node", "depth_lifecycle_node"}
        assert set(launch_support.ARGUMENT_NAMES) <= set(facts.arguments)
        assert ("config/depth.yaml" in {path for path, _ in facts.share_files})
    assert "camera" in depth.arguments and "cameras" in multi.arguments
    assert [args for args, _ in demo.cli_commands] == [["demo", "--params", "VALUE", "--output", "VALUE"]]
    assert {name for name, _ in demo.used} == {"params", "output"}


def test_launch_arguments_set_declared_parameters(package):
    assert override_problems(package) == []


def test_node_action_reads_only_forwarded_arguments():
    """depth_node_action reads its launch arguments from argument_values, which returns ARGUMENT_NAMES only."""
    tree = ast.parse((ROOT / "depth_anything_ros" / "node" / "launch_support.py").read_text())
    action = next(f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "depth_node_action")
    read = {node.slice.value for node in ast.walk(action) if isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name) and node.value.id == "arguments"}
    read |= {node.args[0].value for node in ast.walk(action) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
             and isinstance(node.func.value, ast.Name) and node.func.value.id == "arguments"}
    assert read and read <= set(launch_support.ARGUMENT_NAMES)


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_config_sets_only_declared_parameters(path, package):
    assert params_problems(path.read_text(), path.name, package) == []


# ---- each check can fail: a planted mistake in a copy is reported --------------------------------------------

@pytest.mark.parametrize(("old", "new", "reported"), [
    ('"--output", LaunchConfiguration', '"--no-such-flag", LaunchConfiguration', "has no flag --no-such-flag"),
    ('"depth-anything-ros"]', '"depth_anything_ros_cli"]', "installs no executable 'depth_anything_ros_cli'"),
    ('"config", "depth.yaml"]', '"config", "nope.yaml"]', "installs no share/depth_anything_ros/config/nope.yaml"),
    ('LaunchConfiguration("output")', 'LaunchConfiguration("out")', "launch argument 'out' is read but never declared"),
    ("output=\"screen\",\n        ),",
     "output=\"screen\",\n        ),\n        Node(package=\"depth_anything_ros\", executable=\"depth_node\", "
     "parameters=[{\"onnx\": \"m.onnx\", \"no_such_param\": 1}]),",
     "declares no parameter 'no_such_param'"),
])
def test_a_planted_launch_mistake_is_reported(old, new, reported, package):
    source = (ROOT / "launch" / "demo.launch.py").read_text()
    assert source.count(old) == 1
    problems = launch_problems(launch_facts(source.replace(old, new), "demo.launch.py"), package)
    assert any(reported in problem for problem in problems), problems
    assert [p for p in problems if "m.onnx" in p or "'onnx'" in p] == []


def test_a_planted_launch_mistake_in_a_helper_is_reported(package):
    source = (ROOT / "launch" / "depth.launch.py").read_text()
    planted = source.replace('context.launch_configurations["camera"]', 'context.launch_configurations["cam"]')
    problems = launch_problems(launch_facts(planted, "depth.launch.py"), package)
    assert any("'cam' is read but never declared" in problem for problem in problems), problems


def test_a_planted_override_is_reported(package, monkeypatch):
    monkeypatch.setattr(launch_support, "OVERRIDABLE", (*launch_support.OVERRIDABLE, "no_such_param"))
    problems = override_problems(package)
    assert any("declares no parameter 'no_such_param'" in p for p in problems), problems
    assert any("'no_such_param' is read but never declared" in p for p in problems), problems


@pytest.mark.parametrize(("planted", "reported"), [
    ("    no_such_param: 1\n", "declares no parameter 'no_such_param'"),
    ("    qos_overrides:\n      /camera/depth/image:\n        publisher:\n          reliabilty: best_effort\n",
     "'qos_overrides./camera/depth/image.publisher.reliabilty'"),
    ("/wrong_node:\n  ros__parameters:\n    onnx: m.onnx\n", "does not reach the node"),
])
def test_a_planted_parameter_is_reported(planted, reported, package):
    text = (ROOT / "config" / "depth.yaml").read_text() + planted
    problems = params_problems(text, "depth.yaml", package)
    assert any(reported in problem for problem in problems), problems


def test_a_nested_qos_override_is_a_declared_parameter(package):
    text = ("/**:\n  ros__parameters:\n    qos_overrides:\n      /camera/depth/image:\n        publisher:\n"
            "          reliability: best_effort\n          depth: 1\n")
    assert params_problems(text, "depth.yaml", package) == []
