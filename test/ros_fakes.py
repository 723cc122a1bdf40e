"""Puts the ROS 2 stand-ins of test/fakes/ros2 on the import path for one test, and takes them off again."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

STAND_INS = Path(__file__).parent / "fakes" / "ros2"
PACKAGES = ("rclpy", "rcl_interfaces", "diagnostic_updater", "diagnostic_msgs", "sensor_msgs",
            "depth_anything_ros.node")


def _ours(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PACKAGES)


def stand_in_ros(monkeypatch: pytest.MonkeyPatch):
    """Generator for the ``ros`` fixture: the stand-in rclpy (imported fresh), removed afterwards."""
    try:
        import rclpy

        pytest.skip("a real ROS 2 is installed: the stand-ins would shadow it (launch_testing covers the node)")
    except ImportError:
        pass
    monkeypatch.syspath_prepend(str(STAND_INS))
    import rclpy

    yield rclpy
    for name in [n for n in sys.modules if _ours(n)]:
        del sys.modules[name]
