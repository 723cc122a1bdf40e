"""The node's added latency with the live anchor on: the frame path with and without it, and where the time goes.

    python benchmarks/anchor_node_latency.py [--runs 100]

What the node's inference worker runs per frame (``FramePath.process``: decode the rclpy Image, camera_info,
pipeline, anchor, output messages) with a backend that costs nothing (a fixed relative "network" output, so only
the host work is timed), on anchor_cost.py's KITTI-sized camera (375x1242) and yard scans, sent as the node receives
them: rclpy PointCloud2 (64 and 16 beams, in the LiDAR's frame) and LaserScan (720 beams), with the extrinsic as the
``anchor_extrinsic`` parameter. Baseline: the same frames with the offline calibration only (the same topics:
depth/image, camera_info; the cloud is not built in either, as when nobody subscribes to depth/points).

The anchor's head is this frame's own (a host pass after inference, then ``metres_from_raw`` over the frame);
a new scan costs its conversion once (a 10 Hz LiDAR beside a 30 Hz camera: one frame in three), later frames
reuse it. The subscription callback only files the message (``add``), so the image path never waits for it.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from anchor_cost import FOCAL, HEIGHT, SCANS, WIDTH, YARD, timed

from depth_anything_ros.core.anchor import AnchorEstimator
from depth_anything_ros.core.calibration_file import Calibration, save_calibration
from depth_anything_ros.core.head import metres_from_raw
from depth_anything_ros.core.transforms import Transform, matrix_to_quaternion
from depth_anything_ros.export.graph_info import GraphInfo
from depth_anything_ros.msgs.anchor_input import cloud_points, laser_scan_points
from depth_anything_ros.msgs.cloud import CloudPayload
from depth_anything_ros.msgs.messages import (
    bgr_image_msg,
    camera_info_msg,
    float64_array_msg,
    header_msg,
    point_cloud_msg,
    rclpy_kit,
)
from depth_anything_ros.msgs.point_cloud2 import XYZ, pack_float32
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_anchor import HEAD_LABEL, FrameAnchor
from depth_anything_ros.node.frame_path import FramePath
from depth_anything_ros.runtime.backend import DepthBackend, DepthOutput
from depth_anything_ros.synthetic.distorted import Distortion
from depth_anything_ros.synthetic.rig import LIDAR_TO_OPTICAL, SyntheticRig

FRAME_NS = 33_333_333  # a 30 Hz camera


class FixedRelative(DepthBackend):
    """A relative 'network' that costs nothing: the same raw output and depth every frame (a fused graph applies
    its head input on the GPU, so its depth costs the host nothing either)."""

    name = "fixed"

    def __init__(self, raw: np.ndarray, head: tuple[float, float]) -> None:
        super().__init__(GraphInfo(*raw.shape, "bgr", 518, 518, "vits", 2, "relative", None, "benchmark"))
        self.output = DepthOutput(raw, metres_from_raw(raw, *head, 0.1, np.inf, relative=True))

    def _run(self, image, head, focal):
        return self.output

    def close(self) -> None:
        pass


def scan_message(kit, name: str, sensor: SyntheticRig, stamp_ns: int):
    """The scan as the node receives it: a PointCloud2 (LiDAR) or a LaserScan (2D laser) in its own frame."""
    header = header_msg(kit, stamp_ns, "sensor")
    if not name.startswith("2D"):
        points = sensor.lidar_scan()
        return point_cloud_msg(kit, header, CloudPayload(1, len(points), XYZ, 16, pack_float32(points, 4), True))
    from sensor_msgs.msg import LaserScan

    low, high, count = sensor.azimuths_deg
    angles = np.radians(np.linspace(low, high, count))
    directions = np.stack([np.cos(angles), np.sin(angles), np.zeros(count)], axis=1)
    pose = sensor.lidar_in_camera
    ranges = sensor.scene.intersect(pose.translation, directions @ pose.rotation.T)
    return LaserScan(header=header, angle_min=float(angles[0]), angle_max=float(angles[-1]),
                     angle_increment=float(angles[1] - angles[0]), range_min=0.05, range_max=100.0,
                     ranges=[float(r) for r in ranges])


def extrinsic_args(transform: Transform) -> str:
    values = [*transform.translation, *matrix_to_quaternion(transform.rotation)]
    return " ".join(f"{v:.9g}" for v in values) + " camera_optical_frame sensor"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    import tempfile

    kit = rclpy_kit()
    view = SyntheticRig(HEIGHT, WIDTH, FOCAL, scene=YARD)
    camera = view.camera()
    raw = Distortion(10.0, 0.02).raw("relative", view.true_depth().astype(np.float64), noise=0.01)
    backend = FixedRelative(raw, (0.1, -0.002))
    workdir = tempfile.mkdtemp()
    calibration = str(save_calibration(f"{workdir}/c.yaml", Calibration("relative", 0.1, -0.002)))
    image = bgr_image_msg(kit, header_msg(kit, 0, "camera_optical_frame"), view.image())
    info = camera_info_msg(kit, header_msg(kit, 0, "camera_optical_frame"), camera)
    clock = [1_700_000_000_000_000_000]

    def frame(path: FramePath, feed=None):
        clock[0] += FRAME_NS
        sec, nanosec = divmod(clock[0], 10**9)
        image.header.stamp.sec = info.header.stamp.sec = sec
        image.header.stamp.nanosec = info.header.stamp.nanosec = nanosec
        if feed is not None:
            feed(clock[0] - 10_000_000)
        return path.process(image, info, want_cloud=False)

    base = PipelineConfig(calibration_file=calibration, max_age=0.0)
    plain = FramePath(base, lambda hw: backend, kit)
    baseline = timed(lambda: frame(plain), args.runs)
    print(f"\ncamera {HEIGHT}x{WIDTH}, relative graph (fixed output), rclpy messages, {args.runs} frames each; load "
          f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| frame path | median / p95 ms (CPU median) | added vs calibration only: median ms (CPU) |")
    print("|---|---:|---:|")
    print(f"| calibration only, no anchor | {baseline[0]:.2f} / {baseline[1]:.2f} ({baseline[2]:.2f}) | - |")
    parts = []
    for name, elevations, azimuths, origin, _ in SCANS:
        sensor = SyntheticRig(HEIGHT, WIDTH, FOCAL, Transform(LIDAR_TO_OPTICAL, np.array(origin)), YARD,
                              elevations, (-180.0, 180.0 - 360.0 / azimuths, azimuths))
        anchor_input = "scan" if name.startswith("2D") else "points"
        config = PipelineConfig(calibration_file=calibration, max_age=0.0, anchor_input=anchor_input,
                                anchor_extrinsic=extrinsic_args(sensor.lidar_in_camera))
        message = scan_message(kit, name, sensor, 0)
        for every in (1, 3):
            anchor = FrameAnchor(config)
            path = FramePath(config, lambda hw: backend, kit, anchor)
            count = [0]

            def feed(stamp_ns, a=anchor, m=message, n=every, c=count):
                if c[0] % n == 0:  # the callback files it; the worker converts it once, at its first frame
                    m.header.stamp.sec, m.header.stamp.nanosec = divmod(stamp_ns, 10**9)
                    a.add_message(m)
                c[0] += 1

            outcome = frame(path, feed)
            assert outcome.anchor.result.state.value == "live", outcome.anchor.result.stats.detail
            stats = timed(lambda p=path, f=feed: frame(p, f), args.runs)
            assert set(anchor.report().states) == {"live"}, anchor.report().reasons
            held = "a new scan every frame" if every == 1 else "a new scan every 3rd frame (10 Hz beside 30 Hz)"
            print(f"| {name}, {held} | {stats[0]:.2f} / {stats[1]:.2f} ({stats[2]:.2f}) | "
                  f"{stats[0] - baseline[0]:+.2f} ({stats[2] - baseline[2]:+.2f}) |")
            if every == 1:
                convert = (lambda m=message: cloud_points(m, 4096, 4_000_000)) if anchor_input == "points" else \
                    (lambda m=message: laser_scan_points(m))
                points = convert().points
                estimator = AnchorEstimator(config.anchor_config(), "relative")
                stamp = [0]

                def update(e=estimator, p=points, x=sensor.lidar_in_camera, s=stamp):
                    s[0] += FRAME_NS
                    return e.update(raw, camera, p, s[0], extrinsic=x)

                update()
                add = timed(lambda a=anchor, m=message: a.feed.add(m), args.runs)
                parts.append((name, add, timed(convert, args.runs), timed(update, args.runs)))
    rehead = timed(lambda: metres_from_raw(raw, 0.1, -0.002, 0.1, np.inf, True), args.runs)
    row = [1.0] * 9
    message = timed(lambda: float64_array_msg(kit, HEAD_LABEL, row), args.runs)
    print("\n| where it goes (median / p95 ms, CPU median) | callback: file the message | convert the message | "
          "estimator update (fit, guards, filter) |\n|---|---:|---:|---:|")
    for name, add, convert, update in parts:
        print(f"| {name} | {add[0]:.4f} / {add[1]:.4f} ({add[2]:.4f}) | {convert[0]:.3f} / {convert[1]:.3f} "
              f"({convert[2]:.3f}) | {update[0]:.3f} / {update[1]:.3f} ({update[2]:.3f}) |")
    print(f"\nper live frame also: host re-head of the frame (metres_from_raw, {HEIGHT}x{WIDTH}) {rehead[0]:.2f} / "
          f"{rehead[1]:.2f} ({rehead[2]:.2f}) ms; the depth/anchor message {message[0]:.3f} ms")


if __name__ == "__main__":
    main()
