"""End-to-end latency of the node in a real ROS 2 graph, with a network that costs nothing.

    python benchmarks/ros_graph_latency.py [--frames 40] [--rate 5] [--memory-frames 3000]

The node runs in its own process (the real ``DepthNode`` wiring: subscriptions, sync, the worker,
``DepthPipeline``, message building, rclpy publishing) around a constant "network" whose inference
time is ~0, so publish-to-receive latency here is the host cost: Python, rclpy serialisation and DDS
(FastDDS, this host). A probe node in this process publishes bgr8 image + camera_info at ``--rate`` Hz
(stamp = send time) and receives depth/image, depth/camera_info and the organized depth/points with
RELIABLE or BEST_EFFORT readers. The node process times each ``publish`` call per output.
``--memory-frames`` tiny frames measure the node's RSS before and after (a leak shows as growth).
Needs the ``ros`` extra; runs on a private ROS_DOMAIN_ID, discovery on localhost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIZES = ((480, 640), (720, 1280))


def run_node(height: int, width: int) -> None:
    """Child process: the depth node with a zero-cost backend; prints per-output publish times at exit."""
    import rclpy
    from rclpy.parameter import Parameter

    sys.path.insert(0, str(HERE))
    from host_pipeline import ConstantBackend

    from depth_anything_ros.node import ros_node as node_module

    depth = np.full((height, width), 2.0, np.float32)
    publish_s: dict[str, list[float]] = {}
    made: list = []

    class BenchNode(node_module.DepthNode):
        def __init__(self) -> None:
            node_module.Node.__init__(self, "depth_anything_ros", parameter_overrides=[
                Parameter("image_width", value=width), Parameter("image_height", value=height),
                Parameter("max_age", value=0.0)])
            self.core = node_module.DepthNodeCore(self, open_backend=lambda config, hw: ConstantBackend(depth))
            self.core.open_pipeline()
            self.core.create_endpoints(self.create_publisher)
            for name, publisher in self.core.publishers.items():
                publisher.publish = timed(name, publisher.publish)
            self.core.start()
            made.append(self)

    def timed(name, publish):
        def wrapper(msg):
            started = time.perf_counter()
            publish(msg)
            publish_s.setdefault(name, []).append(time.perf_counter() - started)
        return wrapper

    try:
        node_module._spin(BenchNode, None)
    finally:
        result = {name: statistics.median(v) for name, v in publish_s.items()}
        result["received"] = made[0].core.stats.received if made else 0
        print(json.dumps(result), flush=True)
    rclpy.try_shutdown()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Probe:
    def __init__(self, height: int, width: int, reliable: bool) -> None:
        from rclpy.node import Node
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, Image, PointCloud2

        from depth_anything_ros.node.ros_node import INPUT_QOS

        self.node = Node("bench_probe")
        self.height, self.width = height, width
        self.image_pub = self.node.create_publisher(Image, "image", INPUT_QOS)
        self.info_pub = self.node.create_publisher(CameraInfo, "camera_info", INPUT_QOS)
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE if reliable else
                         ReliabilityPolicy.BEST_EFFORT)
        self.latency: dict[str, list[float]] = {"image": [], "camera_info": [], "points": []}
        for name, msg_type in (("image", Image), ("camera_info", CameraInfo), ("points", PointCloud2)):
            self.node.create_subscription(msg_type, f"depth/{name}", self._receiver(name), qos)
        bgr = np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8)
        self.image = Image(height=height, width=width, encoding="bgr8", step=width * 3, data=bgr.tobytes())
        focal = 0.8 * width
        self.info = CameraInfo(height=height, width=width, distortion_model="plumb_bob", d=[0.0] * 5,
                               k=[focal, 0.0, width / 2, 0.0, focal, height / 2, 0.0, 0.0, 1.0],
                               r=[1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0],
                               p=[focal, 0.0, width / 2, 0.0, 0.0, focal, height / 2, 0.0, 0.0, 0.0, 1.0, 0.0])

    def _receiver(self, name: str):
        def receive(msg) -> None:
            sent = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            self.latency[name].append((self.node.get_clock().now().nanoseconds - sent) / 1e9)
        return receive

    def send(self) -> None:
        stamp = self.node.get_clock().now().to_msg()
        for msg in (self.info, self.image):
            msg.header.stamp, msg.header.frame_id = stamp, "camera_optical_frame"
        self.info_pub.publish(self.info)
        self.image_pub.publish(self.image)

    def spin(self, executor, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=max(0.0, end - time.monotonic()))


def measure(height: int, width: int, reliable: bool, frames: int, rate: float, memory_frames: int = 0) -> dict:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    child = subprocess.Popen([sys.executable, __file__, "--node", str(height), str(width)],
                             stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    rclpy.init()
    probe = Probe(height, width, reliable)
    executor = SingleThreadedExecutor()
    executor.add_node(probe.node)
    try:
        deadline = time.monotonic() + 60
        while probe.image_pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            probe.spin(executor, 0.1)
        while probe.node.count_publishers("depth/points") == 0 and time.monotonic() < deadline:
            probe.spin(executor, 0.1)
        probe.spin(executor, 1.0)  # matching settles
        for _ in range(3):  # warm-up frames
            probe.send()
            probe.spin(executor, 1 / rate)
        for values in probe.latency.values():
            values.clear()
        rss = [rss_mb(child.pid)]
        for _ in range(frames):
            probe.send()
            probe.spin(executor, 1 / rate)
        probe.spin(executor, 1.0)
        for _ in range(memory_frames):
            probe.send()
            probe.spin(executor, 0.002)
        rss.append(rss_mb(child.pid))
    finally:
        child.send_signal(2)
        out, _ = child.communicate(timeout=30)
        executor.shutdown()
        probe.node.destroy_node()
        rclpy.try_shutdown()
    publish = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    return {"latency": probe.latency, "publish": publish, "rss": rss, "frames": frames}


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:.1f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--rate", type=float, default=5.0, help="camera rate in Hz")
    parser.add_argument("--memory-frames", type=int, default=3000)
    args = parser.parse_args()
    if args.node:
        run_node(*args.node)
        return
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randrange(1, 200)))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    print("| camera | reader | node got | received image/info/points | latency image (ms) | camera_info (ms) "
          "| points (ms) | publish image (ms) | publish camera_info (ms) | publish points (ms) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for height, width in SIZES:
        for reliable in (True, False):
            result = measure(height, width, reliable, args.frames, args.rate)
            lat, pub = result["latency"], result["publish"]
            counts = "/".join(str(len(lat[n])) for n in ("image", "camera_info", "points"))
            print(f"| {height}x{width} | {'RELIABLE' if reliable else 'BEST_EFFORT'} | {pub.get('received', 0)} | "
                  f"{counts} of {args.frames} | "
                  f"{median_ms(lat['image'])} | {median_ms(lat['camera_info'])} | {median_ms(lat['points'])} | "
                  + " | ".join(f"{pub[n] * 1e3:.2f}" if n in pub else "-" for n in ("image", "camera_info", "points"))
                  + " |", flush=True)
    if args.memory_frames:
        result = measure(24, 32, True, 10, args.rate, args.memory_frames)
        before, after = result["rss"]
        print(f"\nnode RSS over {args.memory_frames} 24x32 frames: {before:.1f} MB -> {after:.1f} MB "
              f"({len(result['latency']['image'])} depth images received)")


if __name__ == "__main__":
    main()
