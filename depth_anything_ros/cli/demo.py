"""``demo`` and ``sample-bag``: the embedded sample scene through the whole path, or into a bag.

``demo`` is the main job on an embedded default: checkpoint -> fused ONNX graph -> CPU depth, checked
against torch.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from depth_anything_ros.cli.arguments import UsageError, add_model_arguments, parse_image_size
from depth_anything_ros.core.files import save_array, save_image
from depth_anything_ros.model import UNTRAINED_WARNING, CheckpointRequest, family_of
from depth_anything_ros.preview import preview_of
from depth_anything_ros.runtime import OnnxRuntimeBackend, TorchBackend
from depth_anything_ros.synthetic import (
    IMAGE_TOPIC,
    RIG_TOPICS,
    SyntheticRig,
    render_sample_scene,
    write_rig_bag,
    write_sample_bag,
)


@dataclass(frozen=True)
class DemoOptions:
    """What the demo runs: a checkpoint (None: untrained) and an image (None: the embedded scene)."""

    output: Path
    checkpoint: Path | None  # None: an untrained model of the real architecture
    image: Path | None  # None: the embedded scene, with its true depth
    encoder: str
    version: int | None  # None: 2
    metric: bool
    max_depth: float | None
    input_size: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DemoOptions:
        return cls(args.output, args.checkpoint, args.image, args.encoder, args.version, args.metric,
                   args.max_depth, args.input_size)


def _banner(text: str) -> None:
    line = "!" * 78
    print(f"\n{line}\n{text}\n{line}\n", flush=True)


def run_demo(args: DemoOptions) -> int:
    """Render (or read) an image, export its fused graph, run it on onnxruntime and torch, write outputs."""
    from depth_anything_ros.export.onnx_export import export_graph  # torch.onnx

    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    if args.checkpoint is None:
        _banner(UNTRAINED_WARNING.format(encoder=args.encoder))
    truth = None
    if args.image:
        image = cv2.imread(str(args.image), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{args.image} is not a readable image")
    else:
        image, truth = render_sample_scene()
    request = CheckpointRequest(args.checkpoint, "", args.encoder, args.version or 2, args.metric, args.max_depth,
                                args.input_size)
    model, sha = family_of(request).load(request)

    onnx_path = out / "model.onnx"
    started = time.monotonic()
    info = export_graph(model, image.shape[:2], onnx_path, "bgr", args.input_size, sha)
    print(f"exported fused graph {onnx_path} ({info.image_height}x{info.image_width} uint8 -> network "
          f"{info.network_height}x{info.network_width}) in {time.monotonic() - started:.1f} s")

    with OnnxRuntimeBackend(onnx_path) as ort_backend, \
            TorchBackend(model, image.shape[:2], "bgr", args.input_size, checkpoint_sha256=sha) as torch_backend:
        ort_backend.infer(image)  # warm-up
        started = time.monotonic()
        fused = ort_backend.infer(image)
        ort_ms = (time.monotonic() - started) * 1000
        started = time.monotonic()
        eager = torch_backend.infer(image)
        torch_ms = (time.monotonic() - started) * 1000
    difference = float(np.abs(fused.raw - eager.raw).max() / max(np.abs(eager.raw).max(), 1e-12))

    kind = info.kind
    panels = [image, preview_of(fused.raw, fused.depth, kind)] + ([preview_of(truth, truth, "metric")]
                                                                 if truth is not None else [])
    save_array(out / "depth.npy", fused.depth if kind == "metric" else fused.raw)
    save_image(out / "preview.png", cv2.hconcat(panels))
    if truth is not None:
        save_array(out / "true_depth.npy", truth)

    print(f"onnxruntime fused graph: {ort_ms:.0f} ms/frame; torch eager: {torch_ms:.0f} ms/frame; "
          f"max relative difference of raw outputs: {difference:.2e}")
    print(f"wrote {out / 'depth.npy'} ({'metres' if kind == 'metric' else 'relative inverse depth'}), "
          f"{out / 'preview.png'} (input | prediction{' | true depth' if truth is not None else ''}, "
          "depths with colour bars)")
    if args.checkpoint is None:
        _banner("REMINDER: the model above was UNTRAINED; its depth means nothing.")
    return 0 if difference < 1e-3 else 1


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(DemoOptions.from_args(args))


def cmd_sample_bag(args: argparse.Namespace) -> int:
    if args.lidar:
        rig = SyntheticRig(height=args.size[0], width=args.size[1], focal=0.8 * args.size[1])
        path = write_rig_bag(args.output, rig, frames=args.frames, storage=args.storage, speed_mps=args.speed)
        print(f"wrote {path}: {args.frames} frames {args.size[0]}x{args.size[1]} of the camera + LiDAR rig "
              f"({'standing still' if not args.speed else f'driving {args.speed:g} m/s'}) on "
              f"{', '.join(RIG_TOPICS.values())} and /tf_static ({args.storage})")
        return 0
    if args.storage == "ros1":
        raise UsageError("sample-bag --storage ros1 writes the camera + LiDAR rig only: add --lidar, or use "
                         "--storage mcap or sqlite3")
    path = write_sample_bag(args.output, args.frames, args.size, storage=args.storage, compressed=args.compressed)
    print(f"wrote {path}: {args.frames} frames {args.size[0]}x{args.size[1]} on "
          f"{IMAGE_TOPIC}{'/compressed' if args.compressed else ''} and /camera/camera_info ({args.storage})")
    return 0


def add_sample_commands(commands) -> dict[str, argparse.ArgumentParser]:
    sample = commands.add_parser("sample-bag", help="write a small rosbag2 of the embedded sample scene")
    sample.add_argument("output", type=Path, help="bag directory to create")
    sample.add_argument("--frames", type=int, default=8)
    sample.add_argument("--size", type=parse_image_size, default=(240, 320), help="HxW (default 240x320)")
    sample.add_argument("--storage", choices=("mcap", "sqlite3", "ros1"), default="mcap",
                        help="rosbag2 storage, or ros1 (a .bag file; with --lidar only)")
    sample.add_argument("--lidar", action="store_true",
                        help="the camera + LiDAR rig (scene with analytic depth, tf_static) for lidar-depth/calibrate")
    sample.add_argument("--speed", type=float, default=0.0,
                        help="with --lidar: the rig drives forward at this many m/s (default 0: standing still)")
    sample.add_argument("--compressed", action="store_true", help="JPEG CompressedImage instead of bgr8 Image")
    sample.set_defaults(func=cmd_sample_bag)

    demo = commands.add_parser("demo", help="the whole path on an embedded sample scene (no data needed)")
    add_model_arguments(demo)
    demo.add_argument("--image", type=Path, help="use this image instead of the embedded scene")
    demo.add_argument("--output", type=Path, default=Path("demo_out"))
    demo.set_defaults(func=cmd_demo)
    return {"sample-bag": sample, "demo": demo}
