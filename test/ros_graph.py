"""Real rclpy for the node tests: a probe node on a private domain, real messages, waiting on DDS.

conftest.py gives every test session its own ROS_DOMAIN_ID (random) with discovery kept on this host,
so parallel sessions and other robots never see each other's topics.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from depth_anything_ros.synthetic import render_sample_scene
from depth_anything_ros.synthetic.scene import sample_intrinsics

H, W = 24, 32


def now_stamp(node, seconds_ago: float = 0.0):
    from builtin_interfaces.msg import Time

    ns = node.get_clock().now().nanoseconds - round(seconds_ago * 1e9)
    return Time(sec=ns // 10**9, nanosec=ns % 10**9)


def header(node, seconds_ago: float = 0.0, when=None):
    from std_msgs.msg import Header

    return Header(stamp=when or now_stamp(node, seconds_ago), frame_id="camera_optical_frame")


def image_msg(hdr, bgr: np.ndarray | None = None, encoding: str = "bgr8", height: int = H, width: int = W):
    from sensor_msgs.msg import Image

    bgr = render_sample_scene(height, width)[0] if bgr is None else bgr
    return Image(header=hdr, height=bgr.shape[0], width=bgr.shape[1], encoding=encoding, is_bigendian=0,
                 step=bgr.shape[1] * 3, data=bgr.tobytes())


def info_msg(hdr, height: int = H, width: int = W, fx: float | None = None, k: np.ndarray | None = None):
    from sensor_msgs.msg import CameraInfo

    focal, cx, cy = sample_intrinsics(height, width)
    if k is None:
        k = np.array([[focal if fx is None else fx, 0, cx], [0, focal, cy], [0, 0, 1]], float)
    p = np.zeros((3, 4))
    p[:, :3] = k
    return CameraInfo(header=hdr, height=height, width=width, distortion_model="plumb_bob", d=[0.0] * 5,
                      k=k.reshape(9).tolist(), r=np.eye(3).reshape(9).tolist(), p=p.reshape(12).tolist())


class Probe:
    """A node of the test's own that listens to the node under test over real DDS."""

    def __init__(self, *nodes) -> None:
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node

        self.node = Node("probe")
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        for node in nodes:
            self.executor.add_node(node)
        self.received: dict[str, list] = {}

    def listen(self, topic: str, msg_type, reliable: bool = True, depth: int = 10) -> list:
        """Messages of ``topic`` as they arrive (spin to receive them)."""
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        qos = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE if reliable else
                         ReliabilityPolicy.BEST_EFFORT)
        got = self.received.setdefault(topic, [])
        self.node.create_subscription(msg_type, topic, got.append, qos)
        return got

    def spin_until(self, done: Callable[[], bool], timeout: float = 10.0,
                   what: str | Callable[[], str] = "") -> bool:
        """Spin until ``done()``; True, or AssertionError on timeout (a condition never met fails, never passes).

        ``what`` (a string, or a callable evaluated only on timeout) says what was awaited.
        """
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                detail = what() if callable(what) else what
                raise AssertionError(f"not met within {timeout:g} s: {getattr(done, '__name__', done)}"
                                     + (f" ({detail})" if detail else ""))
            self.executor.spin_once(timeout_sec=0.02)
        return True

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
