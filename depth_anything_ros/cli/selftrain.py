"""The ``selftrain`` command: a student trained on a teacher's labels for the bags' unlabeled frames."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from depth_anything_ros.cli.arguments import (
    add_backend_arguments,
    add_ground_truth_arguments,
    add_knob_arguments,
    add_split_arguments,
    add_training_arguments,
    backend_cache,
    choices_of,
    ground_truth_options,
    metric_text,
    training_options,
)
from depth_anything_ros.core.files import file_sha256
from depth_anything_ros.export import read_graph_info
from depth_anything_ros.model import ENCODERS, CheckpointRequest, family_of
from depth_anything_ros.node import PipelineConfig
from depth_anything_ros.training import SelftrainOptions


def _teacher(args: argparse.Namespace):
    """(backend factory for an image size, SHA-256 of the teacher's weights or graph, model name) from
    --teacher and the backend flags: a fused graph, a V1/V2 .pth or a DA3 checkpoint (folder or .safetensors)."""
    if not args.teacher.exists():
        raise ValueError(f"teacher {args.teacher} does not exist")
    if args.teacher.suffix == ".onnx":
        config = PipelineConfig(onnx=str(args.teacher))
        sha, model = file_sha256(args.teacher), read_graph_info(args.teacher).model_name
    else:
        teacher = CheckpointRequest(args.teacher, "", args.teacher_encoder, args.teacher_version, args.teacher_metric,
                                    args.teacher_max_depth or None)
        family = family_of(teacher)
        try:
            family.check(teacher)
        except ValueError as error:
            raise ValueError("--teacher-version {1,2} is required with a .pth teacher (V1 and V2 share their keys)") \
                from error
        config = PipelineConfig(checkpoint=str(args.teacher), encoder=args.teacher_encoder,
                                version=args.teacher_version or 2, metric=args.teacher_metric,
                                max_depth=args.teacher_max_depth or 0.0)
        sha, model = file_sha256(family.weights_file(args.teacher)), family.variant(teacher)
    config = dataclasses.replace(config, input_size=args.input_size, backend=args.backend,
                                 precision=args.precision, engine_cache_dir=str(args.engine_cache_dir or ""))
    return backend_cache(config).get, sha, model


def _student(args: argparse.Namespace) -> CheckpointRequest:
    """The student checkpoint as its family reads it (a .pth needs --version; a DA3 folder names its model)."""
    if not args.student_checkpoint.exists():
        raise ValueError(f"student checkpoint {args.student_checkpoint} does not exist")
    student = CheckpointRequest(args.student_checkpoint, "", args.encoder, args.version, args.metric, args.max_depth,
                                args.input_size)
    try:
        family_of(student).check(student)
    except ValueError as error:
        raise ValueError("--version {1,2} is required with a .pth student (V1 and V2 share their keys); "
                         "a DA3 student is its folder (model.safetensors + config.json)") from error
    return student


def cmd_selftrain(args: argparse.Namespace) -> int:
    from depth_anything_ros.training.selftrain import SelftrainRequest, selftrain  # torch

    lidar = bool(args.lidar_topic)
    if lidar != bool(args.camera_info_topic):
        raise ValueError("give --lidar-topic and --camera-info-topic together (LiDAR-labelled frames), or neither")
    student = _student(args)
    if lidar and family_of(student).metres_from_max_depth and not args.max_depth:
        raise ValueError("with LiDAR a V1/V2 student gets a metric head (Sigmoid x max depth): give --max-depth")
    work_dir = args.work_dir or args.output.with_name(f"{args.output.name}.work")
    if args.restart:
        for name in ("selftrain.pt", "lidar_only.pt"):
            (work_dir / name).unlink(missing_ok=True)
    teacher_for, teacher_sha, teacher_model = _teacher(args)
    options = training_options(SelftrainOptions, args, feature_weight=args.feature_weight, margin=args.margin,
                               cutmix=args.cutmix, min_change=args.min_change, every=args.every,
                               baseline=not args.no_baseline)
    request = SelftrainRequest(args.bags, args.image_topic, ground_truth_options(args) if lidar else None,
                               teacher_for, teacher_sha, student, args.max_depth,
                               args.output, work_dir, options, args.block, args.holdout_every, teacher_model)
    summary = selftrain(request, progress=lambda line: print(line, flush=True))
    if summary is None:  # a torchrun worker other than rank 0
        return 0
    outputs = summary["outputs"]["student"]
    print(f"wrote {args.output / outputs['checkpoint']}, {args.output / outputs['onnx']} and "
          f"{args.output / 'selftrain.json'} ({summary['steps']} steps over {summary['unlabeled_train_frames']} "
          f"unlabeled and {summary['lidar_train_frames']} LiDAR frames)")
    for title, metrics in summary.get("held_out", {}).items():
        print(f"  held out, {title}: AbsRel {metric_text(metrics['abs_rel'])} SiLog {metric_text(metrics['silog'])} "
              f"delta1 {metric_text(metrics['d1'])}")
    if "held_out" in summary:
        print(f"  report: {args.output / 'report' / 'report.md'}")
    else:
        print("  no LiDAR frames held out: nothing measured (give --lidar-topic to compare teacher and students)")
    return 0


def add_selftrain_command(commands) -> dict[str, argparse.ArgumentParser]:
    defaults = SelftrainOptions()
    parser = commands.add_parser("selftrain", help="train a student on a teacher's labels for the bags' unlabeled "
                                                   "frames (plus LiDAR frames), Depth Anything's recipe")
    add_ground_truth_arguments(parser, lidar_required=False)
    teacher = parser.add_argument_group("teacher (labels every selected frame once; labels are cached)")
    teacher.add_argument("--teacher", type=Path, required=True,
                         help="fused graph (.onnx), V1/V2 checkpoint (.pth) or DA3 checkpoint (folder with "
                              "model.safetensors + config.json); a DA3 metric teacher labels with a nominal focal")
    teacher.add_argument("--teacher-encoder", choices=ENCODERS, default="vitl", help="with a .pth (default vitl)")
    teacher.add_argument("--teacher-version", type=int, choices=choices_of("version"),
                         help="with a .pth: Depth Anything version")
    teacher.add_argument("--teacher-metric", action="store_true", help="with a .pth: metric head")
    teacher.add_argument("--teacher-max-depth", type=float, help="with a metric .pth: its range")
    student = parser.add_argument_group("student (--input-size: both models)")
    student.add_argument("--student-checkpoint", type=Path, required=True,
                         help="the student's starting weights: V1/V2 .pth (give --version), or a DA3 folder "
                              "(model.safetensors + config.json; the V1/V2 knobs are then ignored)")
    add_knob_arguments(student, ("encoder", "version", "metric", "max_depth", "input_size"),
                       unset={"max_depth": "needed with LiDAR for a V1/V2 student",
                              "version": "required with a .pth student"})
    add_backend_arguments(parser)
    training = parser.add_argument_group("training (runs unchanged under torchrun)")
    add_training_arguments(training, defaults, "<output>.work")
    training.add_argument("--feature-weight", type=float, default=defaults.feature_weight,
                          help=f"weight of feature alignment ({defaults.feature_weight:g})")
    training.add_argument("--margin", type=float, default=defaults.margin,
                          help=f"feature alignment tolerance alpha ({defaults.margin:g})")
    training.add_argument("--cutmix", type=float, default=defaults.cutmix,
                          help=f"CutMix probability per image ({defaults.cutmix:g})")
    training.add_argument("--min-change", type=float, default=defaults.min_change,
                          help="skip frames whose 32x24 grey thumbnail differs from the last kept one by less "
                               f"than this many grey levels on average ({defaults.min_change:g}; 0 keeps all)")
    training.add_argument("--no-baseline", action="store_true", help="skip the LiDAR-only student")
    add_split_arguments(parser)
    parser.add_argument("--output", type=Path, required=True, help="directory for the student, graph and report")
    parser.set_defaults(func=cmd_selftrain)
    return {"selftrain": parser}
