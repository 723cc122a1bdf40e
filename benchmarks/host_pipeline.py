"""Host-side cost per frame outside the network, against one plain copy of the frame's bytes.

    python benchmarks/host_pipeline.py [--runs 20]

Stages: Image message -> BGR array, metric head on the raw output (numpy, as the CPU fallback does),
organized cloud, depth/cloud arrays -> messages (rosbags classes). Cloud building is also timed
against a per-point implementation in the style of sensor_msgs_py.point_cloud2.create_cloud
(struct.pack of every point), on a 1/16 subsample for that one because it is slow.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import time

import numpy as np
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.ros.camera_model import CameraModel
from depth_anything_ros.ros.image_decoding import decode_image
from depth_anything_ros.ros.messages import float_image_msg, point_cloud_msg, rosbags_kit
from depth_anything_ros.ros.point_cloud import CloudOptions, build_cloud


def median_ms(fn, runs: int) -> float:
    fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


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
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="c")
    print(f"\nmedian of {args.runs} runs, ms\n")
    print("| size | plain copy | decode | head | cloud | to messages | total | total / copy | "
          "per-point cloud (est.) | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for height, width in ((480, 640), (720, 1280)):
        rng = np.random.default_rng(0)
        bgr = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        msg = types["sensor_msgs/msg/Image"](header=header, height=height, width=width, encoding="bgr8",
                                             is_bigendian=0, step=width * 3, data=bgr.reshape(-1))
        raw = rng.uniform(0.5, 10, (height, width)).astype(np.float32)
        camera = CameraModel(width, height, np.array([[500.0, 0, width / 2], [0, 500, height / 2], [0, 0, 1]]),
                             np.array([[500.0, 0, width / 2, 0], [0, 500, height / 2, 0], [0, 0, 1, 0]]))
        camera.rectified_rays  # noqa: B018 - computed once per camera_info, not per frame
        options = CloudOptions()
        depth = raw.copy()
        cloud = build_cloud(depth, camera, options)
        copy = median_ms(lambda b=bgr: b.copy(), args.runs)
        decode = median_ms(lambda m=msg: decode_image(m), args.runs)
        head = median_ms(lambda r=raw: np.where(r > 0, 1.0 / (1.0 * r + 0.0), np.nan), args.runs)
        build = median_ms(lambda d=depth, c=camera: build_cloud(d, c, options), args.runs)  # noqa: B023 - called within this iteration
        to_msgs = median_ms(lambda: (float_image_msg(kit, header, depth), point_cloud_msg(kit, header, cloud)),  # noqa: B023
                            args.runs)
        sub = depth[::4, ::4]
        sub_camera = camera.scaled(4)
        slow = median_ms(lambda: per_point_cloud(sub, sub_camera), max(3, args.runs // 5)) * 16  # noqa: B023
        total = decode + head + build + to_msgs
        print(f"| {height}x{width} | {copy:.2f} | {decode:.2f} | {head:.2f} | {build:.2f} | {to_msgs:.2f} | "
              f"{total:.2f} | {total / copy:.1f}x | {slow:.0f} | {slow / build:.0f}x |")


if __name__ == "__main__":
    main()
