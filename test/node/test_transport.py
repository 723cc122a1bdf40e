"""The FastDDS shared-memory profile and the node's startup check: the shipped file, real FastDDS loading it,
the check's verdicts, and the node logging it once at start."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from depth_anything_ros.node import PipelineConfig
from depth_anything_ros.node.transport import (
    DEFAULT_SEGMENT,
    FASTDDS_VAR,
    FASTRTPS_VAR,
    PROFILE_FILE,
    SHIPPED_SEGMENT,
    check_transport,
    fastdds_major,
    largest_output_bytes,
    profile_variables,
    read_profile,
    segment_needed,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / PROFILE_FILE
JAZZY = {"ROS_DISTRO": "jazzy"}
ROOMY = 1 << 34  # a /dev/shm that holds any segment
SHM_PROFILE = """<?xml version="1.0"?>
<{root}>
  <transport_descriptors>
    <transport_descriptor><transport_id>shm</transport_id><type>SHM</type>{size}</transport_descriptor>
    <transport_descriptor><transport_id>udp</transport_id><type>UDPv4</type></transport_descriptor>
  </transport_descriptors>
  <participant profile_name="p"{default}>
    <rtps><userTransports><transport_id>shm</transport_id><transport_id>udp</transport_id></userTransports>
    <useBuiltinTransports>{builtin}</useBuiltinTransports></rtps>
  </participant>
</{root}>
"""


def profile(tmp_path, size: int | None = 32 << 20, default: bool = True, builtin: str = "false",
            root: str = "profiles") -> str:
    path = tmp_path / "profile.xml"
    path.write_text(SHM_PROFILE.format(root=root, size=f"<segment_size>{size}</segment_size>" if size else "",
                                       default=' is_default_profile="true"' if default else "", builtin=builtin))
    return str(path)


def check(env: dict, hw=(720, 1280), shm_total=ROOMY, **config):
    return check_transport(PipelineConfig(**config), {**JAZZY, **env}, hw, shm_total)


def test_the_shipped_profile_gives_the_default_participant_one_64_mib_segment_holding_two_720p_clouds():
    shipped = read_profile(SHIPPED)
    assert shipped.has_default_participant and not shipped.builtin_transports
    assert shipped.segment_size == SHIPPED_SEGMENT
    assert 2 * largest_output_bytes((720, 1280)) <= SHIPPED_SEGMENT  # the organized cloud with colour, 29.5 MB
    assert 2 * largest_output_bytes((900, 1600)) > SHIPPED_SEGMENT  # larger cameras need a copy (README)
    assert "config/*.xml" in (ROOT / "setup.py").read_text()  # installed to share/depth_anything_ros/config


def shm_segment_sizes(env: dict) -> list[int]:
    """The FastDDS segment files a fresh rclpy process maps, under ``env``."""
    code = ("import os, rclpy; rclpy.init(); node = rclpy.create_node('segment_probe'); "
            "paths = {line.split()[-1] for line in open('/proc/self/maps') if '/dev/shm/fastrtps_' in line}; "
            "print([os.stat(p).st_size for p in paths if 'port' not in p and not p.endswith('_el')]); "
            "node.destroy_node(); rclpy.shutdown()")
    clean = {name: value for name, value in os.environ.items() if name not in (FASTRTPS_VAR, FASTDDS_VAR)}
    done = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_real_fastdds_loads_the_shipped_profile_through_the_variable_this_version_reads():
    pytest.importorskip("rclpy", reason="needs the ros extra (pip install -e .[ros])")
    variable = profile_variables(fastdds_major(os.environ))[0]
    assert max(shm_segment_sizes({})) < 1 << 20  # FastDDS alone: the 512 KiB segment
    assert max(shm_segment_sizes({variable: str(SHIPPED)})) >= SHIPPED_SEGMENT


def test_these_wheels_are_fast_dds_2_and_ros_distro_decides_when_set():
    pytest.importorskip("rclpy", reason="needs the ros extra (pip install -e .[ros])")
    assert fastdds_major({}) == 2  # the ros-fastrtps 2.14 wheel
    assert fastdds_major({"ROS_DISTRO": "humble"}) == 2 and fastdds_major({"ROS_DISTRO": "kilted"}) == 3
    assert profile_variables(2) == (FASTRTPS_VAR,) and profile_variables(3) == (FASTDDS_VAR,)
    assert profile_variables(None) == (FASTRTPS_VAR, FASTDDS_VAR)


def test_without_a_profile_a_720p_node_warns_with_the_variable_the_file_and_the_size():
    verdict = check({})
    assert verdict.warn
    assert FASTRTPS_VAR in verdict.text and PROFILE_FILE in verdict.text and "512 KiB" in verdict.text
    assert f">= {segment_needed(largest_output_bytes((720, 1280)))} (64 MiB)" in verdict.text
    assert not check({}, hw=(24, 32)).warn  # two 24.6 kB clouds fit FastDDS's own segment


def test_the_shipped_profile_passes_at_720p_and_names_the_size_for_larger_cameras():
    verdict = check({FASTRTPS_VAR: str(SHIPPED)})
    assert not verdict.warn and "64 MiB" in verdict.text
    big = check({FASTRTPS_VAR: str(SHIPPED)}, hw=(1080, 1920))
    assert big.warn and str(SHIPPED) in big.text and FASTRTPS_VAR in big.text
    assert "segment_size >= 134217728 (128 MiB)" in big.text and "a copy of" in big.text


def test_a_segment_between_one_and_two_clouds_warns(tmp_path):
    one_and_a_half = 3 * largest_output_bytes((720, 1280)) // 2
    assert check({FASTRTPS_VAR: profile(tmp_path, size=one_and_a_half)}).warn
    assert not check({FASTRTPS_VAR: profile(tmp_path, size=2 * largest_output_bytes((720, 1280)))}).warn


def test_only_the_variable_this_fast_dds_reads_counts():
    wrong = check({FASTDDS_VAR: str(SHIPPED)})  # Jazzy's Fast DDS 2 ignores FASTDDS_DEFAULT_PROFILES_FILE
    assert wrong.warn and f"{FASTDDS_VAR} is set, but Fast DDS 2 reads {FASTRTPS_VAR}" in wrong.text
    assert not check({FASTDDS_VAR: str(SHIPPED), "ROS_DISTRO": "kilted"}).warn


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"default": False}, 'is_default_profile="true"'),
    ({"builtin": "true"}, "useBuiltinTransports"),
    ({"root": "dds"}, "not a FastDDS profile"),  # <dds> without <profiles>
])
def test_profiles_that_leave_the_default_segment_warn_with_why(tmp_path, kwargs, text):
    verdict = check({FASTRTPS_VAR: profile(tmp_path, **kwargs)})
    assert verdict.warn and text in verdict.text and str(tmp_path) in verdict.text


def test_an_shm_descriptor_without_segment_size_is_fastdds_default(tmp_path):
    path = profile(tmp_path, size=None)
    assert read_profile(path).segment_size == DEFAULT_SEGMENT and check({FASTRTPS_VAR: path}).warn


def test_missing_broken_and_unparsable_profiles_warn(tmp_path):
    missing = check({FASTRTPS_VAR: str(tmp_path / "nowhere.xml")})
    assert missing.warn and "nowhere.xml" in missing.text
    (tmp_path / "broken.xml").write_text("<dds><profiles>")
    assert check({FASTRTPS_VAR: str(tmp_path / "broken.xml")}).warn
    (tmp_path / "size.xml").write_text(Path(profile(tmp_path)).read_text().replace("33554432", "64MB"))
    bad_size = check({FASTRTPS_VAR: str(tmp_path / "size.xml")})
    assert bad_size.warn and "'64MB'" in bad_size.text


def test_a_dev_shm_smaller_than_one_segment_warns_about_the_container():
    verdict = check({FASTRTPS_VAR: str(SHIPPED)}, shm_total=64 << 20)  # Docker's default --shm-size
    assert verdict.warn and "--shm-size" in verdict.text and "ipc: host" in verdict.text


def test_the_resolution_comes_from_the_parameters_and_is_assumed_720p_when_unknown():
    known = check_transport(PipelineConfig(image_width=1920, image_height=1080), {**JAZZY, FASTRTPS_VAR: str(SHIPPED)},
                            shm_total=ROOMY)
    assert known.warn and "1920x1080" in known.text
    unknown = check_transport(PipelineConfig(), JAZZY, shm_total=ROOMY)
    assert unknown.warn and "unknown until the first frame" in unknown.text


@pytest.mark.parametrize("rmw", ["rmw_cyclonedds_cpp", "rmw_zenoh_cpp"])
def test_other_middlewares_are_told_the_check_does_not_apply(rmw):
    verdict = check({"RMW_IMPLEMENTATION": rmw})
    assert not verdict.warn and "does not apply" in verdict.text and rmw in verdict.text
    assert check({"RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}).warn  # FastDDS named explicitly: checked


def test_the_launch_files_set_the_profile_for_the_nodes_they_start():
    for name in ("depth", "multi_camera"):
        tree = ast.parse((ROOT / "launch" / f"{name}.launch.py").read_text())
        assert "shm_profile_actions" in {n.func.id for n in ast.walk(tree)
                                         if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}, name


def test_the_node_logs_the_check_once_at_start_naming_file_variable_and_size(ros, tmp_path, monkeypatch, capfd):
    from depth_anything_ros.node.ros_node import DepthNode

    warm = ros.create_node("transport_warm_up")  # FastDDS reads its profile once, before the variable below
    path = profile(tmp_path, size=16 << 10)  # 16 KiB
    monkeypatch.setenv(FASTRTPS_VAR, path)
    monkeypatch.delenv("RMW_IMPLEMENTATION", raising=False)
    capfd.readouterr()
    node = DepthNode()  # no resolution yet: the check sizes for 720p, and no backend loads
    try:
        warnings = [line for line in capfd.readouterr().err.splitlines() if "[WARN]" in line and path in line]
        assert len(warnings) == 1
        assert FASTRTPS_VAR in warnings[0] and "segment_size >=" in warnings[0] and "16 KiB" in warnings[0]
    finally:
        node.destroy_node()
        warm.destroy_node()
