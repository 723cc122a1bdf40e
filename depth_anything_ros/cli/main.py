"""``depth-anything-ros``: export fused graphs, run inference, fetch checkpoints, run the demo."""

from __future__ import annotations

import argparse
import errno
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from depth_anything_ros import __version__
from depth_anything_ros.node.config import BACKENDS, PRECISIONS

LOG = logging.getLogger("depth_anything_ros")
ENCODER_CHOICES = ("vits", "vitb", "vitl", "vitg")


def parse_image_size(text: str) -> tuple[int, int]:
    """'375x1242' -> (375, 1242); the camera's height x width."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"image size must look like HxW (e.g. 480x640), got {text!r}") from None
    from depth_anything_ros.export.fused import check_image_size

    try:
        check_image_size(height, width)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return height, width


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", type=Path,
                        help="ROS 2 params file (e.g. config/depth.yaml) giving defaults; flags override it")
    group = parser.add_argument_group("model")
    group.add_argument("--checkpoint", type=Path,
                       help="official or fine-tuned .pth checkpoint")
    group.add_argument("--encoder", choices=ENCODER_CHOICES, default="vits", help="ViT size (default vits)")
    group.add_argument("--version", type=int, choices=(1, 2),
                       help="Depth Anything version, required with a checkpoint: V1 and V2 files have "
                            "identical keys and the version decides which blocks feed the head")
    group.add_argument("--metric", action="store_true", help="metric head (Sigmoid x max depth)")
    group.add_argument("--max-depth", type=float, help="metric range of the checkpoint: 20 indoor, 80 outdoor")
    group.add_argument("--input-size", type=int, default=518, help="short side of the network input (default 518)")


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("backend")
    group.add_argument("--backend", choices=BACKENDS, default="auto",
                       help="auto: TensorRT with a GPU, else onnxruntime (default auto)")
    group.add_argument("--precision", choices=PRECISIONS, default="fp16", help="TensorRT engine precision")
    group.add_argument("--cache-dir", type=Path,
                       help="engines and exported graphs (default ~/.cache/depth_anything_ros/engines)")


def _require_version(args: argparse.Namespace) -> None:
    if args.checkpoint is not None and args.version is None:
        raise ValueError("--version {1,2} is required with --checkpoint: V1 and V2 checkpoints have identical "
                         "keys, and the version decides which encoder blocks feed the depth head")


def _load(args: argparse.Namespace):
    from depth_anything_ros.model.build import build_model

    _require_version(args)
    return build_model(args.checkpoint, args.encoder, args.version or 2, args.metric, args.max_depth)


def cmd_export(args: argparse.Namespace) -> int:
    from depth_anything_ros.export.onnx_export import export_onnx

    if args.checkpoint is None:
        raise ValueError("export needs --checkpoint (or 'checkpoint:' in the --params file)")
    model, sha = _load(args)
    started = time.monotonic()
    info = export_onnx(model, args.image_size, args.output, args.input_order, args.input_size, sha,
                       args.precision)
    print(f"wrote {args.output}: {info.image_height}x{info.image_width} {info.input_order} uint8 -> network "
          f"{info.network_height}x{info.network_width} -> raw, depth ({info.kind}, "
          f"{info.encoder} V{info.version}, {info.precision}) in {time.monotonic() - started:.1f} s")
    return 0


def _write_outputs(stem: Path, output, kind: str) -> list[Path]:
    from depth_anything_ros.core.files import save_array, save_image
    from depth_anything_ros.core.visualize import preview_of

    name, array = ("depth", output.depth) if kind == "metric" else ("relative", output.raw)
    return [save_array(stem.with_name(f"{stem.name}_{name}.npy"), array),
            save_image(stem.with_name(f"{stem.name}_preview.png"), preview_of(output.raw, output.depth, kind))]


class Backends:
    """One backend per camera resolution (a fused graph is resolution-specific), from the one factory.

    ``config`` is a PipelineConfig, or the parsed arguments of a command's model and backend flags.
    """

    def __init__(self, config) -> None:
        self.config = config
        self.by_size: dict = {}

    def get(self, image_hw: tuple[int, int]):
        if image_hw not in self.by_size:
            self.by_size[image_hw] = self._create(image_hw)
        return self.by_size[image_hw]

    def _create(self, image_hw: tuple[int, int]):
        from depth_anything_ros.runtime.factory import open_backend

        config = config_from_args(self.config) if isinstance(self.config, argparse.Namespace) else self.config
        return open_backend(config, image_hw)


def config_from_args(args: argparse.Namespace, **extra):
    """The PipelineConfig of a command's model and backend flags (params-file values already folded in)."""
    import dataclasses

    from depth_anything_ros.node.config import PipelineConfig

    _require_version(args)
    base = getattr(args, "pipeline_config", None) or PipelineConfig()
    return dataclasses.replace(
        base, checkpoint=str(args.checkpoint or ""), onnx=str(getattr(args, "onnx", None) or ""),
        encoder=args.encoder, version=args.version or 2, metric=args.metric, max_depth=args.max_depth or 0.0,
        input_size=args.input_size, backend=args.backend, precision=args.precision,
        engine_cache_dir=str(args.cache_dir or ""), **extra)


def cmd_infer(args: argparse.Namespace) -> int:
    import cv2

    from depth_anything_ros.core.head import MetricHead

    backends = Backends(args)
    failures = 0
    for index, image_path in enumerate(args.images, start=1):
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        if image is None:
            LOG.error("%s: not a readable image, skipped", image_path)
            failures += 1
            continue
        backend = backends.get(image.shape[:2])
        head = backend.info.default_head()
        if args.min_depth is not None or args.max_range is not None:
            head = MetricHead(head.scale, head.shift,
                              head.min_depth if args.min_depth is None else args.min_depth,
                              head.max_depth if args.max_range is None else args.max_range)
        started = time.monotonic()
        output = backend.infer(image, head)
        elapsed = time.monotonic() - started
        written = _write_outputs(args.output / image_path.stem, output, backend.info.kind)
        print(f"[{index}/{len(args.images)}] {image_path.name} {image.shape[0]}x{image.shape[1]} "
              f"{backend.name} {elapsed * 1000:.0f} ms -> {', '.join(p.name for p in written)}")
    if any(b.info.kind == "relative" for b in backends.by_size.values()):
        LOG.warning("relative checkpoint: *_relative.npy is inverse depth up to scale and shift, not metres; "
                    "a metric calibration (or a metric checkpoint with --metric) gives metres")
    return 1 if failures else 0


def cmd_build_engine(args: argparse.Namespace) -> int:
    from depth_anything_ros.runtime.engine_build import build_engine
    from depth_anything_ros.runtime.engine_cache import engine_key, save_engine
    from depth_anything_ros.runtime.nvidia import import_tensorrt, probe_gpu

    version = import_tensorrt().__version__
    gpu = probe_gpu(args.device_index)
    key = engine_key(args.onnx, args.precision, gpu, version)
    started = time.monotonic()
    engine = build_engine(args.onnx, args.precision, args.workspace_gb, args.timing_cache,
                          report=lambda line: print(line, flush=True))
    record = save_engine(args.output, engine, args.onnx, key, time.monotonic() - started)
    print(f"wrote {args.output} and {args.output.name}.json: {args.precision}, TensorRT {version}, {gpu}, "
          f"{record.engine_bytes / 1e6:.1f} MB in {record.build_seconds:.0f} s")
    return 0


def _untrained_opener(args: argparse.Namespace, workdir: Path):
    """Backends for an untrained model of the real architecture (the demo without a checkpoint)."""
    def open_untrained(image_hw: tuple[int, int]):
        from depth_anything_ros.export.onnx_export import export_onnx
        from depth_anything_ros.model.build import build_model
        from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend

        model, sha = build_model(None, args.encoder, 2, args.metric, args.max_depth)
        path = workdir / f"untrained_{image_hw[0]}x{image_hw[1]}.onnx"
        export_onnx(model, image_hw, path, "bgr", args.input_size, sha)
        return OnnxRuntimeBackend(path)
    return open_untrained


def cmd_replay(args: argparse.Namespace) -> int:
    import tempfile

    from depth_anything_ros.model.build import UNTRAINED_WARNING
    from depth_anything_ros.node.replay import replay
    from depth_anything_ros.runtime.factory import open_backend

    extra = {"calibration_file": str(args.calibration)} if args.calibration else {}
    config = config_from_args(args, **extra)
    with tempfile.TemporaryDirectory() as workdir:
        if not (config.checkpoint or config.onnx):
            print(f"\n{'!' * 78}\n{UNTRAINED_WARNING.format(encoder=args.encoder)}\n{'!' * 78}\n", flush=True)
            opener = _untrained_opener(args, Path(workdir))
        else:
            def opener(image_hw):
                return open_backend(config, image_hw)
        started = time.monotonic()
        summary = replay(args.in_bag, args.out_bag, args.image_topic, config, opener, args.camera_info_topic,
                         args.previews, args.preview_every, progress=lambda line: print(line, flush=True))
    elapsed = time.monotonic() - started
    state = "INTERRUPTED; readable bag with the frames done so far:" if summary.interrupted else "wrote"
    print(f"{state} {summary.output}: {summary.frames} frames in {elapsed:.1f} s, {summary.skipped} skipped "
          f"(bad input), {summary.unmatched} without camera_info"
          + (f"; previews in {args.previews}" if args.previews else ""))
    return 130 if summary.interrupted else 0


def cmd_sample_bag(args: argparse.Namespace) -> int:
    from depth_anything_ros.synthetic.sample_bag import IMAGE_TOPIC, write_sample_bag

    if args.lidar:
        from depth_anything_ros.synthetic.rig import RIG_TOPICS, SyntheticRig, write_rig_bag

        rig = SyntheticRig(height=args.size[0], width=args.size[1], focal=0.8 * args.size[1])
        path = write_rig_bag(args.output, rig, frames=args.frames, storage=args.storage, speed_mps=args.speed)
        print(f"wrote {path}: {args.frames} frames {args.size[0]}x{args.size[1]} of the camera + LiDAR rig "
              f"({'standing still' if not args.speed else f'driving {args.speed:g} m/s'}) on "
              f"{', '.join(RIG_TOPICS.values())} and /tf_static ({args.storage})")
        return 0
    path = write_sample_bag(args.output, args.frames, args.size, storage=args.storage, compressed=args.compressed)
    print(f"wrote {path}: {args.frames} frames {args.size[0]}x{args.size[1]} on "
          f"{IMAGE_TOPIC}{'/compressed' if args.compressed else ''} and /camera/camera_info ({args.storage})")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from depth_anything_ros.core.files import file_sha256
    from depth_anything_ros.model.download import download_checkpoint

    path = download_checkpoint(args.encoder, args.metric, args.output_dir)
    print(f"downloaded and verified {path} (sha256 {file_sha256(path)})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from depth_anything_ros.cli.demo import run_demo

    return run_demo(args)


def defaults_from_params(path: Path) -> dict:
    """Command-line defaults from a params file (unset values left to the flags' own defaults)."""
    from depth_anything_ros.node.config import config_from_parameters

    config = config_from_parameters(path)
    values = {
        "checkpoint": Path(config.checkpoint) if config.checkpoint else None,
        "onnx": Path(config.onnx) if config.onnx else None,
        "encoder": config.encoder, "version": config.version, "metric": config.metric,
        "max_depth": config.max_depth or None, "input_size": config.input_size,
        "input_order": config.input_order, "min_depth": config.min_depth,
        "max_range": None if config.max_range == float("inf") else config.max_range,
        "backend": config.backend, "precision": config.precision, "workspace_gb": config.workspace_gb,
        "cache_dir": Path(config.engine_cache_dir) if config.engine_cache_dir else None,
        "device_index": config.device_index, "pipeline_config": config,
    }
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="depth-anything-ros", description=__doc__)
    parser.add_argument("--version-info", action="version", version=f"depth_anything_ros {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="write the fused ONNX graph for one camera resolution")
    add_model_arguments(export)
    export.add_argument("--image-size", type=parse_image_size, required=True, help="camera HxW, e.g. 375x1242")
    export.add_argument("--input-order", choices=("rgb", "bgr"), default="bgr", help="channel order of `image`")
    export.add_argument("--output", type=Path, required=True, help="model.onnx to write")
    export.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="graph variant: fp32, or fp16 (FP16 network, FP32 pre/post, LayerNorm and "
                             "attention scores) for a strongly typed fp16 TensorRT engine")
    export.set_defaults(func=cmd_export)

    infer = commands.add_parser("infer", help="depth for image files: .npy and a colourised PNG each")
    infer.add_argument("images", type=Path, nargs="+", help="image files (any OpenCV format)")
    add_model_arguments(infer)
    infer.add_argument("--onnx", type=Path, help="fused graph to run with onnxruntime instead of a checkpoint")
    add_backend_arguments(infer)
    infer.add_argument("--min-depth", type=float, help="below this, depth is -Inf (REP 117)")
    infer.add_argument("--max-range", type=float, help="beyond this, depth is +Inf (REP 117)")
    infer.add_argument("--output", type=Path, required=True, help="output directory")
    infer.set_defaults(func=cmd_infer)

    engine = commands.add_parser("build-engine", help="compile a fused ONNX graph into a TensorRT 10 engine")
    engine.add_argument("--onnx", type=Path, required=True, help="fused graph from `export`")
    engine.add_argument("--precision", choices=PRECISIONS, default="fp16",
                        help="fp16 keeps LayerNorm and pre/post layers in FP32 (default fp16)")
    engine.add_argument("--workspace-gb", type=float, default=2.0, help="builder memory-pool limit (default 2)")
    engine.add_argument("--timing-cache", type=Path, help="timing cache to read and update (speeds up rebuilds)")
    engine.add_argument("--device-index", type=int, default=0, help="CUDA device (default 0)")
    engine.add_argument("--output", type=Path, required=True, help="model.engine to write (plus model.engine.json)")
    engine.set_defaults(func=cmd_build_engine)

    play = commands.add_parser("replay", help="run the node's pipeline over a rosbag2 into an MCAP bag")
    play.add_argument("in_bag", type=Path, help="rosbag2 directory (MCAP or sqlite3)")
    play.add_argument("out_bag", type=Path, help="output MCAP bag directory (must not exist)")
    play.add_argument("--image-topic", required=True, help="sensor_msgs/Image or CompressedImage topic")
    play.add_argument("--camera-info-topic", help="default: <camera namespace>/camera_info")
    add_model_arguments(play)
    add_backend_arguments(play)
    play.add_argument("--onnx", type=Path, help="fused graph (instead of a checkpoint)")
    play.add_argument("--calibration", type=Path, help="metric-head calibration YAML")
    play.add_argument("--previews", type=Path, help="write input | depth preview PNGs here")
    play.add_argument("--preview-every", type=int, default=1, help="preview every n-th frame (default 1)")
    play.set_defaults(func=cmd_replay)

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

    download = commands.add_parser("download", help="fetch an official V2 checkpoint from Hugging Face")
    download.add_argument("encoder", choices=("vits", "vitb", "vitl"))
    download.add_argument("--metric", choices=("hypersim", "vkitti"), help="metric checkpoint (indoor/outdoor)")
    download.add_argument("--output-dir", type=Path, default=Path("checkpoints"))
    download.set_defaults(func=cmd_download)

    from depth_anything_ros.cli.calibration import add_calibration_commands

    add_calibration_commands(commands, add_model_arguments, add_backend_arguments)
    from depth_anything_ros.cli.selftrain import add_selftrain_command

    add_selftrain_command(commands, add_backend_arguments)

    demo = commands.add_parser("demo", help="the whole path on an embedded sample scene (no data needed)")
    add_model_arguments(demo)
    demo.add_argument("--image", type=Path, help="use this image instead of the embedded scene")
    demo.add_argument("--output", type=Path, default=Path("demo_out"))
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "params", None):
        try:
            defaults = defaults_from_params(args.params)
        except ValueError as error:
            print(f"depth-anything-ros: error: {error}", file=sys.stderr)
            return 2
        subparser = parser._subparsers._group_actions[0].choices[args.command]
        known = {action.dest for action in subparser._actions}
        subparser.set_defaults(pipeline_config=defaults.pop("pipeline_config"),
                               **{k: v for k, v in defaults.items() if k in known})
        args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="[%(levelname)s] %(name)s: %(message)s")
    if getattr(args, "command", None) == "infer" and not (args.checkpoint or args.onnx):
        print("depth-anything-ros infer: error: give --checkpoint or --onnx", file=sys.stderr)
        return 2
    from depth_anything_ros.model.checkpoint import CheckpointError

    try:
        return args.func(args)
    except (CheckpointError, ValueError, LookupError, FileNotFoundError, ImportError, ConnectionError, OSError,
            RuntimeError) as error:
        hint = " (free some space or write elsewhere; no half-written output was kept)" \
            if isinstance(error, OSError) and error.errno == errno.ENOSPC else ""
        print(f"depth-anything-ros {args.command}: error: {error}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
