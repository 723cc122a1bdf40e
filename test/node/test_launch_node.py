"""launch_testing: the installed depth_node in a real ROS 2 graph (runs wherever ROS 2 is installed).

    colcon build && source install/setup.bash && python -m pytest test/node/test_launch_node.py

Without launch_testing (not on PyPI) the module is skipped; test_node_process.py starts the installed
console scripts over DDS instead.
"""

from __future__ import annotations

import tempfile
import time
import unittest
from pathlib import Path

import pytest

pytest.importorskip("launch_testing", reason="needs a ROS 2 installation (launch_testing)")
pytest.importorskip("launch_ros", reason="needs a ROS 2 installation (launch_ros)")

import launch_testing.actions
import launch_testing.asserts
import numpy as np
import rclpy
from launch_ros.actions import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from launch import LaunchDescription

H, W = 24, 32
pytestmark = pytest.mark.ros


def _tiny_graph() -> Path:
    from depth_anything_ros.export.onnx_export import export_graph
    from depth_anything_ros.model.v2.build import untrained_model

    from conftest import tiny_spec

    path = Path(tempfile.mkdtemp()) / "tiny_metric.onnx"
    export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), (H, W), path, input_size=56)
    return path


@pytest.mark.launch_test
def generate_test_description():
    node = Node(package="depth_anything_ros", executable="depth_node", namespace="/camera", output="screen",
                parameters=[{"onnx": str(_tiny_graph()), "backend": "onnxruntime"}],
                remappings=[("image", "image_rect")])
    return LaunchDescription([node, launch_testing.actions.ReadyToTest()]), {"depth_node": node}


class TestDepthNode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rclpy.init()
        cls.probe = rclpy.create_node("depth_probe")

    @classmethod
    def tearDownClass(cls):
        cls.probe.destroy_node()
        rclpy.shutdown()

    def test_image_in_depth_and_points_out_with_the_input_stamp(self):
        received = {"depth": [], "points": []}
        self.probe.create_subscription(Image, "/camera/depth/image", received["depth"].append, 1)
        self.probe.create_subscription(PointCloud2, "/camera/depth/points", received["points"].append, 1)
        images = self.probe.create_publisher(Image, "/camera/image_rect", qos_profile_sensor_data)
        infos = self.probe.create_publisher(CameraInfo, "/camera/camera_info", qos_profile_sensor_data)
        deadline = time.monotonic() + 60
        sent = None
        while time.monotonic() < deadline and not (received["depth"] and received["points"]):
            sent = self.probe.get_clock().now().to_msg()
            info = CameraInfo(width=W, height=H, distortion_model="plumb_bob")
            info.header.stamp, info.header.frame_id = sent, "camera_optical_frame"
            info.k = [25.6, 0.0, 15.5, 0.0, 25.6, 11.5, 0.0, 0.0, 1.0]
            info.p = [25.6, 0.0, 15.5, 0.0, 0.0, 25.6, 11.5, 0.0, 0.0, 0.0, 1.0, 0.0]
            info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
            image = Image(width=W, height=H, encoding="bgr8", step=W * 3,
                          data=np.full(H * W * 3, 128, np.uint8).tobytes())
            image.header = info.header
            infos.publish(info)
            images.publish(image)
            rclpy.spin_once(self.probe, timeout_sec=0.2)
        self.assertTrue(received["depth"], "no depth/image within 60 s")
        depth = received["depth"][-1]
        self.assertEqual((depth.encoding, depth.width, depth.height), ("32FC1", W, H))
        self.assertEqual(depth.header.frame_id, "camera_optical_frame")
        self.assertTrue(received["points"], "no depth/points within 60 s")


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    def test_node_exits_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[0, -2, -15])
