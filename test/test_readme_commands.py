"""Every command README.md and docs/*.md show a newcomer names a subcommand, flag, choice, executable, launch
argument, node parameter, pip extra or script the package has: parsed with the package's own argparse parser
and read from setup.py, the launch files and the node's declared parameters, never run (test/doc_checks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from doc_checks import (
    ROOT,
    argument_variants,
    markdown_problems,
    node_parameters,
    package_facts,
    shell_commands,
)

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = "```bash\n"


@pytest.fixture(scope="module")
def package():
    pytest.importorskip("rclpy", reason="the node's declared parameters come from rclpy (the ros extra)")
    return package_facts(node_parameters())


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_documented_command_exists(path: Path, package):
    problems, _ = markdown_problems(path.read_text(), path.name, package)
    assert not problems, "\n".join(problems)


def test_the_readme_commands_are_read():
    commands, problems = shell_commands((ROOT / "README.md").read_text(), "README.md")
    texts = [command.text for command in commands]
    assert not problems
    assert sum(text.startswith("depth-anything-ros ") for text in texts) >= 20, texts
    assert "bash scripts/demo.sh" in texts and "bash scripts/test.sh" in texts
    assert any(text.startswith("depth_node --ros-args") for text in texts)
    assert any(text.startswith("ros2 launch depth_anything_ros depth.launch.py") for text in texts)


@pytest.fixture(scope="module")
def readme_problems(package) -> list[str]:
    return markdown_problems((ROOT / "README.md").read_text(), "README.md", package)[0]


def _planted(line: str) -> str:
    """A copy of the README with ``line`` as the first command of its first shell block."""
    text = (ROOT / "README.md").read_text()
    return text.replace(FENCE, FENCE + line + "\n", 1)


def _planted_line_number(text: str, line: str) -> int:
    return text.splitlines().index(line.splitlines()[0]) + 1


@pytest.mark.parametrize(("line", "reported"), [
    ("depth-anything-ros infer img.png --onnx m.onnx --output out/ --no-such-flag", "has no flag --no-such-flag"),
    ("depth-anything-ros frobnicate x", "no subcommand 'frobnicate'"),
    ("depth-anything-ros infer img.png --onnx m.onnx --output out/ [--backend auto|tensorflow]",
     "invalid choice: 'tensorflow'"),
    ("depth-anything-ros replay IN OUT", "required: --image-topic"),
    ("depth-anything-ros replay IN OUT --image-topic /i [--checkpoint P --version 2 | --onnx]",
     "--onnx: expected one argument"),
    ("depth-anything-ros export --checkpoint c.pth --version 2 --image-size 48x64 --output o.onnx --max-dep 80",
     "has no flag --max-dep"),
    ("depth-anything-ros sample-bag out --frames many", "--frames: invalid int value"),
    ("depth-anything-ros infer img.png --onnx m.onnx \\\n    --output out/ --bogus  # --also-bogus",
     "has no flag --bogus"),
    ("depth-anything-ros demo --nope \"$@\"", "has no flag --nope"),
    ("depth_node --ros-args -r __ns:=/camera -p no_such_param:=1", "declares no parameter 'no_such_param'"),
    ("ros2 run depth_anything_ros depth_node --ros-args -p onnxx:=m.onnx", "declares no parameter 'onnxx'"),
    ("ros2 launch depth_anything_ros depth.launch.py camera:=/c no_such_arg:=1",
     "declares no launch argument 'no_such_arg'"),
    ("ros2 launch depth_anything_ros nope.launch.py", "launch/ has no nope.launch.py"),
    ("ros2 run depth_anything_ros no_such_exe", "installs no executable 'no_such_exe'"),
    ("pip install -e \".[cpu,nosuch]\"", "no extra 'nosuch'"),
    ("bash scripts/nope.sh", "scripts/nope.sh does not exist"),
    ("cd somewhere && depth-anything-ros download vits --nope", "has no flag --nope"),
])
def test_a_planted_mistake_is_reported(line, reported, package, readme_problems):
    text = _planted(line)
    problems, _ = markdown_problems(text, "README.md", package)
    assert any(reported in p and p.startswith(f"README.md:{_planted_line_number(text, line)}:")
               for p in problems), problems
    assert not any(reported in p for p in readme_problems)


@pytest.mark.parametrize("line", [
    "depth-anything-ros demo --output demo_out \"$@\"",  # "$@": arguments not shown
    "depth-anything-ros infer <images> --onnx <graph.onnx> --output out/",  # <placeholders>
    "depth-anything-ros export ... --precision fp16 --output o.onnx",  # ...: arguments shown above
    "depth-anything-ros sample-bag b --lidar [--storage mcap|sqlite3|ros1]  # a comment --not-a-flag",
    "depth-anything-ros --help",
    "ros2 launch depth_anything_ros multi_camera.launch.py cameras:=\"[/front, /rear]\" checkpoint:=...",
    "depth_node --ros-args -p qos_overrides./camera/depth/image.publisher.depth:=1",
])
def test_what_the_docs_may_write_is_accepted(line, package):
    problems, _ = markdown_problems(f"{FENCE}{line}\n```\n", "doc.md", package)
    assert problems == []


def test_every_shape_of_a_line_is_parsed():
    commands, _ = shell_commands(f"{FENCE}x a [--b 1 | --c] [--d e|f]\n```\n", "doc.md")
    variants = argument_variants(commands[0].words)
    for expected in (["x", "a"], ["x", "a", "--b", "1"], ["x", "a", "--c"], ["x", "a", "--d", "e"],
                     ["x", "a", "--d", "f"], ["x", "a", "--b", "1", "--d", "e"]):
        assert expected in variants
