"""What the subcommands share: model, backend, knob, ground-truth and training flags, and their readers.

Flags that mirror a node parameter take their type, default, choices and help from the node's one
parameter table (``node.parameters``), so no default is written twice.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from depth_anything_ros.calibration import GroundTruthOptions
from depth_anything_ros.core.depth_points import OcclusionFilter
from depth_anything_ros.model import DEFAULT_INPUT_SIZE, CheckpointRequest, check_image_size, family_of
from depth_anything_ros.node import Knob, PipelineConfig, config_from_parameters, knobs
from depth_anything_ros.node.parameters import integer_range
from depth_anything_ros.runtime import BackendCache, DepthBackend, open_backend
from depth_anything_ros.training import DEVICES, TrainingOptions

FLAG_NAMES = {"engine_cache_dir": "--cache-dir"}  # knobs whose flag is not --<name with dashes>
PATH_KNOBS = frozenset({"checkpoint", "onnx", "engine_cache_dir", "calibration_file"})  # "" in ROS, None here
MODEL_KNOBS = ("model", "encoder", "version", "metric", "max_depth", "input_size")
BACKEND_KNOBS = ("backend", "precision", "engine_cache_dir")


class UsageError(ValueError):
    """A command line that cannot run: reported like argparse's own errors (exit status 2)."""


def parse_image_size(text: str) -> tuple[int, int]:
    """'375x1242' -> (375, 1242); the camera's height x width."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"image size must look like HxW (e.g. 480x640), got {text!r}") from None
    try:
        check_image_size(height, width)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return height, width


def knob_choices(spec: Knob) -> tuple | None:
    """A knob's choices: named in the table, or the few integers of a short range (version 1, 2)."""
    if spec.choices:
        return tuple(spec.choices)
    ranged = integer_range(spec)
    if ranged and (ranged[1] - ranged[0]) // ranged[2] < 8:
        low, high, step = ranged
        return tuple(range(low, high + 1, step))
    return None


def choices_of(name: str) -> tuple | None:
    """The choices of the node parameter ``name`` (for flags that mirror it under another name)."""
    return knob_choices(next(spec for spec in knobs() if spec.name == name))


def add_knob_arguments(parser, names: Iterable[str], unset: Mapping[str, str] | None = None,
                       required: Collection[str] = ()) -> None:
    """One flag per node parameter in ``names`` (on a parser or an argument group).

    ``unset`` maps knobs whose flag defaults to None to what leaving them out means (the node's
    default is then only named in the help); ``required`` knobs must be given.
    """
    specs = {spec.name: spec for spec in knobs()}
    unset = unset or {}
    for name in names:
        spec = specs[name]
        flag = FLAG_NAMES.get(name, "--" + name.replace("_", "-"))
        choices = knob_choices(spec)
        text = (spec.description if choices else spec.full_description).replace("%", "%%")
        if isinstance(spec.default, bool):
            action = "store_true" if not spec.default else argparse.BooleanOptionalAction
            parser.add_argument(flag, dest=name, action=action, default=spec.default, help=text)
            continue
        metavar = flag[2:].upper().replace("-", "_")
        if name in PATH_KNOBS:
            parser.add_argument(flag, dest=name, type=Path, metavar=metavar, help=text)
            continue
        if name in required:
            default, text = None, text
        elif name in unset:
            default, text = None, f"{text}; {unset[name]}"
        else:
            default, text = spec.default, f"{text} (default {spec.default})"
        parser.add_argument(flag, dest=name, type=type(spec.default), choices=choices, default=default,
                            required=name in required, metavar=None if choices else metavar, help=text)


def add_model_arguments(parser: argparse.ArgumentParser, params: bool = True) -> None:
    """--params, --checkpoint and the model knobs (encoder, version, metric, max depth, input size)."""
    if params:
        parser.add_argument("--params", type=Path,
                            help="ROS 2 params file (e.g. config/depth.yaml) giving defaults; flags override it")
    group = parser.add_argument_group("model")
    add_knob_arguments(group, ("checkpoint", *MODEL_KNOBS),
                       unset={"version": "required with --checkpoint: V1 and V2 files have identical keys",
                              "max_depth": "needed with --metric (20 indoor, 80 outdoor)"})


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    add_knob_arguments(parser.add_argument_group("backend"), BACKEND_KNOBS)


def checkpoint_request(args: argparse.Namespace) -> CheckpointRequest:
    """The model flags as the model family reads them."""
    return CheckpointRequest(args.checkpoint, getattr(args, "model", None) or "", args.encoder, args.version,
                             args.metric, args.max_depth or None, getattr(args, "input_size", DEFAULT_INPUT_SIZE))


def require_version(args: argparse.Namespace) -> None:
    """What the checkpoint's family needs from the flags (a V1/V2 checkpoint needs --version: their files cannot be
    told apart by their keys; DA3 ones name their model)."""
    request = checkpoint_request(args)
    family_of(request).check(request)


def config_from_args(args: argparse.Namespace, **extra) -> PipelineConfig:
    """The PipelineConfig of a command's model and backend flags (params-file values already folded in)."""
    require_version(args)
    base = getattr(args, "pipeline_config", None) or PipelineConfig()
    return dataclasses.replace(
        base, checkpoint=str(args.checkpoint or ""), onnx=str(getattr(args, "onnx", None) or ""),
        model=getattr(args, "model", None) or "",
        encoder=args.encoder, version=args.version or base.version, metric=args.metric,
        max_depth=args.max_depth or 0.0, input_size=args.input_size, backend=args.backend,
        precision=args.precision, engine_cache_dir=str(args.engine_cache_dir or ""), **extra)


def defaults_from_params(path: Path) -> dict:
    """Flag defaults from a params file, by the flags' own names; 'pipeline_config' holds the whole config."""
    config = config_from_parameters(path)
    values = {}
    for spec in knobs():
        value = getattr(config, spec.name)
        if spec.name in PATH_KNOBS:
            value = Path(value) if value else None
        elif spec.name == "max_depth":
            value = value or None
        elif spec.name == "max_range" and value == float("inf"):
            value = None
        values[spec.name] = value
    return {**values, "pipeline_config": config}


def backend_cache(config: PipelineConfig | argparse.Namespace) -> BackendCache:
    """One backend per camera resolution from the one factory; offline tools keep every size open.

    ``config`` is a PipelineConfig, or the parsed arguments of a command's model and backend flags.
    """
    def open_for(image_hw: tuple[int, int]) -> DepthBackend:
        pipeline = config_from_args(config) if isinstance(config, argparse.Namespace) else config
        return open_backend(pipeline.backend_config(), image_hw)
    return BackendCache(open_for)


def add_ground_truth_arguments(parser: argparse.ArgumentParser, lidar_required: bool = True) -> None:
    parser.add_argument("bags", type=Path, nargs="+", help="rosbag2 directories (MCAP or sqlite3) or ROS 1 .bag files")
    group = parser.add_argument_group("ground truth")
    group.add_argument("--image-topic", required=True, help="sensor_msgs/Image or CompressedImage topic")
    group.add_argument("--camera-info-topic", required=lidar_required, help="sensor_msgs/CameraInfo topic")
    group.add_argument("--lidar-topic", required=lidar_required, help="sensor_msgs/PointCloud2 topic")
    group.add_argument("--max-gap", type=float, default=0.05, help="largest image-to-scan time gap in s (0.05)")
    group.add_argument("--merge", type=int, default=0, help="also merge this many scans either side (needs "
                                                            "--fixed-frame)")
    group.add_argument("--fixed-frame", default="", help="world-fixed frame (odom, map) to undo robot motion")
    group.add_argument("--extrinsics", type=Path, help="YAML of static transforms (instead of / besides /tf_static)")
    group.add_argument("--raw-images", action="store_true", help="images are not rectified: project with K and D")
    group.add_argument("--every", type=int, default=1, help="use every n-th image (default 1)")
    group.add_argument("--no-occlusion-filter", action="store_true", help="keep LiDAR points hidden from the camera")


def ground_truth_options(args: argparse.Namespace) -> GroundTruthOptions:
    return GroundTruthOptions(args.image_topic, args.camera_info_topic, args.lidar_topic, max_gap_s=args.max_gap,
                              merge=args.merge, fixed_frame=args.fixed_frame,
                              extrinsics=str(args.extrinsics or ""), rectified=not args.raw_images,
                              occlusion=None if args.no_occlusion_filter else OcclusionFilter(), every=args.every)


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    """The time-block split into training and held-out frames."""
    parser.add_argument("--block", type=float, default=10.0, help="time-block length in s for the held-out split")
    parser.add_argument("--holdout-every", type=int, default=5, help="hold out every n-th block (5)")


def add_training_arguments(group, defaults: TrainingOptions, work_dir: str) -> None:
    """The flags of the shared training options (epochs, batch, lr, seed, device) plus work dir and restart."""
    group.add_argument("--epochs", type=int, default=defaults.epochs,
                       help=f"passes over the training frames ({defaults.epochs})")
    group.add_argument("--batch-size", type=int, default=defaults.batch_size,
                       help=f"LiDAR frames per step and process ({defaults.batch_size})")
    group.add_argument("--lr", type=float, default=defaults.lr,
                       help=f"head learning rate, AdamW with poly decay; an unfrozen encoder at lr/10 ({defaults.lr})")
    group.add_argument("--seed", type=int, default=defaults.seed, help=f"shuffling and augmentation seed "
                                                                         f"({defaults.seed})")
    group.add_argument("--device", choices=DEVICES, default=defaults.device,
                       help="auto: CUDA when PyTorch sees a GPU (default)")
    group.add_argument("--work-dir", type=Path, help=f"stored frames, labels and the per-epoch checkpoints "
                                                     f"(default {work_dir})")
    group.add_argument("--restart", action="store_true", help="discard the training checkpoints in the work dir "
                                                              "instead of resuming them (stored frames are kept)")


def training_options(cls: type[TrainingOptions], args: argparse.Namespace, **extra) -> TrainingOptions:
    """``cls`` from the shared training flags (and --input-size) plus its own ``extra`` fields."""
    return cls(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, input_size=args.input_size,
               seed=args.seed, device=args.device, **extra)


def metric_text(value) -> str:
    """A metric for a summary line; 'n/a' where there is none (a relative graph has no metres)."""
    return "n/a" if value is None or value != value else f"{value:.4f}"
