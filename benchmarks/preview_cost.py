"""What the ``depth/preview`` topic costs per frame while someone subscribes (nothing otherwise).

    python benchmarks/preview_cost.py [--runs 20]

The node builds the preview only when the topic has a subscriber (``output_messages(...,
preview=False)`` never calls ``preview_of``). Timed here, per frame, for a metric depth map
(5 % NaN) and a relative output: the colour range (2nd/98th percentiles, on a subsampled grid,
against the full-frame percentiles used before), the colour map, the colour bar (OpenCV text, no
matplotlib), the whole ``preview_of``, and the bgr8 message (rclpy's one copy of the bytes). The
last columns compare the preview with the frame's other host work, as ``host_pipeline.py`` times
it: ``DepthPipeline.process`` around a backend that costs nothing (metric, organized cloud) plus
the depth image and cloud messages (rclpy copies).
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.msgs.messages import bgr_image_msg, float_image_msg, point_cloud_msg, rclpy_uint8, rosbags_kit
from depth_anything_ros.node import DepthPipeline, PipelineConfig
from depth_anything_ros.preview import colorize_depth, colorize_relative, colour_bar, depth_range, preview_of

from bench_common import ConstantBackend, median_ms


def full_frame_range(depth: np.ndarray) -> tuple[float, float]:
    """The colour range as computed before: percentiles of every finite pixel."""
    values = depth[np.isfinite(depth) & (depth > 0)]
    return float(np.percentile(values, 2)), float(np.percentile(values, 98))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    store = get_typestore(Stores.ROS2_HUMBLE)
    types = store.types
    kit = dataclasses.replace(rosbags_kit(store), uint8_sequence=rclpy_uint8)  # rclpy's copy semantics
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="c")
    print(f"\nmedian of {args.runs} runs, ms\n")
    print("| size | kind | range (subsampled) | range (full frame) | colour map | colour bar | preview_of | "
          "message | preview total | host work without preview | preview / host work |")
    print("|---|---|" + "---:|" * 9)
    for height, width in ((480, 640), (720, 1280)):
        rng = np.random.default_rng(0)
        depth = rng.uniform(0.5, 10, (height, width)).astype(np.float32)
        depth[rng.random(depth.shape) < 0.05] = np.nan
        raw = np.nan_to_num(1 / depth).astype(np.float32)
        camera = CameraModel(width, height, np.array([[500.0, 0, width / 2], [0, 500, height / 2], [0, 0, 1]]),
                             np.array([[500.0, 0, width / 2, 0], [0, 500, height / 2, 0], [0, 0, 1, 0]]))
        bgr = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        pipeline = DepthPipeline(PipelineConfig(metric=True, max_depth=20.0), lambda hw, d=depth: ConstantBackend(d))

        def host_work(p=pipeline, b=bgr, c=camera):
            result = p.process(b, c)
            return float_image_msg(kit, header, result.depth), point_cloud_msg(kit, header, result.cloud)

        messages = median_ms(host_work, args.runs)
        near, far = depth_range(depth)
        for kind in ("metric", "relative"):
            if kind == "metric":
                rng_sub = median_ms(lambda d=depth: depth_range(d), args.runs)
                rng_full = median_ms(lambda d=depth: full_frame_range(d), args.runs)
                cmap = median_ms(lambda d=depth: colorize_depth(d, near, far), args.runs)  # noqa: B023
                bar = median_ms(lambda: colour_bar(height, near, far, "metric"), args.runs)  # noqa: B023
            else:
                rng_sub = rng_full = float("nan")
                cmap = median_ms(lambda r=raw: colorize_relative(r), args.runs)
                bar = median_ms(lambda: colour_bar(height, None, None, "relative"), args.runs)  # noqa: B023
            preview = preview_of(raw, depth, kind)
            total_preview = median_ms(lambda r=raw, d=depth, k=kind: preview_of(r, d, k), args.runs)
            message = median_ms(lambda p=preview: bgr_image_msg(kit, header, p), args.runs)
            total = total_preview + message
            cells = [f"{v:.2f}" if v == v else "-" for v in (rng_sub, rng_full, cmap, bar, total_preview, message,
                                                               total, messages)]
            print(f"| {height}x{width} | {kind} | " + " | ".join(cells) + f" | {total / messages:.2f}x |")


if __name__ == "__main__":
    main()
