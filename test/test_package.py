"""The package as ROS builds it: package.xml, setup files, and a real colcon build."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_package_xml_is_format_3_ament_python_with_dependencies():
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.tag == "package" and root.get("format") == "3"
    assert root.findtext("name") == "depth_anything_ros"
    assert root.find("export/build_type").text == "ament_python"
    exec_deps = {e.text for e in root.findall("exec_depend")}
    assert {"rclpy", "sensor_msgs", "python3-numpy", "python3-opencv", "python3-yaml",
            "python3-onnxruntime-pip", "python3-tensorrt-pip", "python3-pycuda", "python3-torch"} <= exec_deps
    assert {"diagnostic_msgs", "rcl_interfaces", "lifecycle_msgs"} <= exec_deps
    assert "diagnostic_updater" not in exec_deps  # /diagnostics is published directly
    assert {"python3-pytest", "launch_testing"} <= {e.text for e in root.findall("test_depend")}
    assert root.findtext("version") == __import__("depth_anything_ros").__version__


def test_layout_and_ament_marker_exist():
    for path in ("depth_anything_ros", "launch", "config", "calibration", "test", "resource/depth_anything_ros",
                 "setup.py", "setup.cfg", "package.xml"):
        assert (ROOT / path).exists(), path
    assert "install_scripts=$base/lib/depth_anything_ros" in (ROOT / "setup.cfg").read_text()


@pytest.mark.slow
def test_colcon_build_installs_executables_and_share_files(tmp_path):
    colcon = shutil.which("colcon") or str(Path(sys.executable).with_name("colcon"))
    if not Path(colcon).exists():
        pytest.skip("colcon is not installed (pip install colcon-core colcon-ros)")
    source = tmp_path / "src" / "depth_anything_ros"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "install", "log",
                                                                 "*.egg-info", "__pycache__", "demo_out", "checkpoints",
                                                                 "mutants", "*.pth", "*.onnx", "*.engine"))
    result = subprocess.run([colcon, "build", "--event-handlers", "console_direct-"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    prefix = tmp_path / "install" / "depth_anything_ros"
    script = prefix / "lib" / "depth_anything_ros" / "depth-anything-ros"
    assert script.is_file()
    for node in ("depth_node", "depth_lifecycle_node"):  # what `ros2 run depth_anything_ros <node>` runs
        assert (prefix / "lib" / "depth_anything_ros" / node).is_file(), node
    share = prefix / "share" / "depth_anything_ros"
    assert (share / "package.xml").is_file()
    assert (share / "config" / "depth.yaml").is_file()
    assert (share / "config" / "fastdds_shm.xml").is_file()  # what the launch files point FastDDS at
    for launch in ("demo", "depth", "multi_camera"):
        assert (share / "launch" / f"{launch}.launch.py").is_file(), launch
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "depth_anything_ros").is_file()
    site = next((prefix / "lib").glob("python3*/site-packages"))
    env = {"PYTHONPATH": str(site), "PATH": str(Path(sys.executable).parent)}
    ran = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, env=env)
    assert ran.returncode == 0 and "export" in ran.stdout, ran.stderr
