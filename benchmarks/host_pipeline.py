"""Host-side cost per frame outside the network, against plain copies of the frame's bytes.

    python benchmarks/host_pipeline.py [--runs 20]

What the node does on the host for one bgr8 frame, metric model, organized cloud without colour:
decode the Image message to a BGR array, ``DepthPipeline.process`` around a backend that costs
nothing (the metric head runs inside the fused graph on every backend, so it is part of the
network's time, not the host's), and the depth and cloud arrays to messages: rclpy's generated
classes hold uint8[] as array.array (one copy each, as the node's ``rclpy_kit`` does), rosbags'
classes take numpy views (no copy; bag replay).

Two yardsticks: one plain copy of the input frame's bytes (3 B/px, the issue's target: total at
most 3x that), and one plain copy of the bytes the node must write anyway (depth 4 B/px plus
cloud 16 B/px), the floor for any implementation. Cloud building is also timed against a
per-point implementation in the style of sensor_msgs_py.point_cloud2.create_cloud (struct.pack of
every point), on a 1/16 subsample because it is slow.
"""

from __future__ import annotations

import argparse
import dataclasses
import struct

import numpy as np
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.msgs.cloud import CloudOptions, build_cloud
from depth_anything_ros.msgs.images import decode_image
from depth_anything_ros.msgs.messages import float_image_msg, point_cloud_msg, rclpy_uint8, rosbags_kit
from depth_anything_ros.node import DepthPipeline, PipelineConfig

from bench_common import ConstantBackend, median_ms


def per_point_cloud(depth: np.ndarray, camera: CameraModel) -> bytes:
    """create_cloud style: one struct.pack per point (the straightforward implementation)."""
    fx, fy, cx, cy = camera.p[0, 0], camera.p[1, 1], camera.p[0, 2], camera.p[1, 2]
    pack = struct.Struct("<fff4x").pack
    out = bytearray()
    for v in range(depth.shape[0]):
        for u in range(depth.shape[1]):
            z = float(depth[v, u])
            out += pack((u - cx) * z / fx, (v - cy) * z / fy, z)
    return bytes(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    store = get_typestore(Stores.ROS2_HUMBLE)
    types, kit = store.types, rosbags_kit(store)
    rclpy_copies = dataclasses.replace(kit, uint8_sequence=rclpy_uint8)
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="c")
    print(f"\nmedian of {args.runs} runs, ms\n")
    print("| size | copy in (3 B/px) | copy out (20 B/px) | decode | process (cloud) | messages rclpy | "
          "messages rosbags | total (rclpy) | total / copy in | total / copy out | per-point cloud (est.) | "
          "speed-up |")
    print("|---|" + "---:|" * 11)
    for height, width in ((480, 640), (720, 1280)):
        rng = np.random.default_rng(0)
        bgr = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        msg = types["sensor_msgs/msg/Image"](header=header, height=height, width=width, encoding="bgr8",
                                             is_bigendian=0, step=width * 3, data=bgr.reshape(-1))
        depth = rng.uniform(0.5, 10, (height, width)).astype(np.float32)
        depth[rng.random(depth.shape) < 0.05] = np.nan
        camera = CameraModel(width, height, np.array([[500.0, 0, width / 2], [0, 500, height / 2], [0, 0, 1]]),
                             np.array([[500.0, 0, width / 2, 0], [0, 500, height / 2, 0], [0, 0, 1, 0]]))
        pipeline = DepthPipeline(PipelineConfig(metric=True, max_depth=20.0), lambda hw, d=depth: ConstantBackend(d))
        result = pipeline.process(bgr, camera)
        written = np.concatenate([result.depth.reshape(-1).view(np.uint8), result.cloud.data])
        copy_in = median_ms(lambda b=bgr: b.copy(), args.runs)
        copy_out = median_ms(lambda w=written: w.copy(), args.runs)
        decode = median_ms(lambda m=msg: decode_image(m), args.runs)
        process = median_ms(lambda b=bgr, c=camera, p=pipeline: p.process(b, c), args.runs)

        def to_messages(message_kit, r=result):
            return float_image_msg(message_kit, header, r.depth), point_cloud_msg(message_kit, header, r.cloud)

        rclpy_msgs = median_ms(lambda: to_messages(rclpy_copies), args.runs)
        rosbags_msgs = median_ms(lambda: to_messages(kit), args.runs)
        sub = depth[::4, ::4]
        sub_camera = camera.scaled(4)
        slow = median_ms(lambda: per_point_cloud(sub, sub_camera), max(3, args.runs // 5)) * 16  # noqa: B023
        build = median_ms(lambda d=depth, c=camera: build_cloud(d, c, CloudOptions()), args.runs)
        total = decode + process + rclpy_msgs
        print(f"| {height}x{width} | {copy_in:.2f} | {copy_out:.2f} | {decode:.2f} | {process:.2f} | "
              f"{rclpy_msgs:.2f} | {rosbags_msgs:.2f} | {total:.2f} | {total / copy_in:.1f}x | "
              f"{total / copy_out:.1f}x | {slow:.0f} | {slow / build:.0f}x |")


if __name__ == "__main__":
    main()
