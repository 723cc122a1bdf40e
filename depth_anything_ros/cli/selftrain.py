"""The ``selftrain`` command: a student trained on a teacher's labels for the bags' unlabeled frames."""

from __future__ import annotations

import argparse
from pathlib import Path

ENCODERS = ("vits", "vitb", "vitl", "vitg")


def _teacher(args: argparse.Namespace):
    """(backend factory for an image size, SHA-256 of the teacher file) from --teacher and the backend flags."""
    import dataclasses

    from depth_anything_ros.cli.main import Backends
    from depth_anything_ros.core.files import file_sha256
    from depth_anything_ros.node.config import PipelineConfig

    if not args.teacher.is_file():
        raise ValueError(f"teacher {args.teacher} does not exist")
    if args.teacher.suffix == ".onnx":
        config = PipelineConfig(onnx=str(args.teacher))
    else:
        if args.teacher_version is None:
            raise ValueError("--teacher-version {1,2} is required with a .pth teacher (V1 and V2 share their keys)")
        config = PipelineConfig(checkpoint=str(args.teacher), encoder=args.teacher_encoder,
                                version=args.teacher_version, metric=args.teacher_metric,
                                max_depth=args.teacher_max_depth or 0.0)
    config = dataclasses.replace(config, input_size=args.input_size, backend=args.backend,
                                 precision=args.precision, engine_cache_dir=str(args.cache_dir or ""))
    return Backends(config).get, file_sha256(args.teacher)


def cmd_selftrain(args: argparse.Namespace) -> int:
    from depth_anything_ros.cli.calibration import ground_truth_options, metric_text
    from depth_anything_ros.model import model_spec
    from depth_anything_ros.training.selftrain import SelftrainOptions, SelftrainRequest, selftrain

    lidar = bool(args.lidar_topic)
    if lidar != bool(args.camera_info_topic):
        raise ValueError("give --lidar-topic and --camera-info-topic together (LiDAR-labelled frames), or neither")
    if lidar and not args.max_depth:
        raise ValueError("with LiDAR the student gets a metric head (Sigmoid x max depth): give --max-depth")
    work_dir = args.work_dir or args.output.with_name(f"{args.output.name}.work")
    if args.restart:
        for name in ("selftrain.pt", "lidar_only.pt"):
            (work_dir / name).unlink(missing_ok=True)
    teacher_for, teacher_sha = _teacher(args)
    options = SelftrainOptions(args.epochs, args.batch_size, args.lr, feature_weight=args.feature_weight,
                               margin=args.margin, cutmix=args.cutmix, min_change=args.min_change,
                               every=args.every, input_size=args.input_size, seed=args.seed, device=args.device,
                               baseline=not args.no_baseline)
    request = SelftrainRequest(args.bags, args.image_topic, ground_truth_options(args) if lidar else None,
                               teacher_for, teacher_sha, args.student_checkpoint,
                               model_spec(args.encoder, args.version, args.metric, args.max_depth),
                               args.max_depth, args.output, work_dir, options, args.block, args.holdout_every)
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


def add_selftrain_command(commands, add_backend_arguments) -> None:
    from depth_anything_ros.cli.calibration import add_ground_truth_arguments

    parser = commands.add_parser("selftrain", help="train a student on a teacher's labels for the bags' unlabeled "
                                                   "frames (plus LiDAR frames), Depth Anything's recipe")
    add_ground_truth_arguments(parser, lidar_required=False)
    teacher = parser.add_argument_group("teacher (labels every selected frame once; labels are cached)")
    teacher.add_argument("--teacher", type=Path, required=True, help="fused graph (.onnx) or checkpoint (.pth)")
    teacher.add_argument("--teacher-encoder", choices=ENCODERS, default="vitl", help="with a .pth (default vitl)")
    teacher.add_argument("--teacher-version", type=int, choices=(1, 2), help="with a .pth: Depth Anything version")
    teacher.add_argument("--teacher-metric", action="store_true", help="with a .pth: metric head")
    teacher.add_argument("--teacher-max-depth", type=float, help="with a metric .pth: its range")
    student = parser.add_argument_group("student")
    student.add_argument("--student-checkpoint", type=Path, required=True, help="the student's starting weights")
    student.add_argument("--encoder", choices=ENCODERS, default="vits", help="student ViT size (default vits)")
    student.add_argument("--version", type=int, choices=(1, 2), required=True, help="student's Depth Anything version")
    student.add_argument("--metric", action="store_true", help="the student checkpoint has a metric head")
    student.add_argument("--max-depth", type=float, help="metric range of the student (needed with LiDAR)")
    student.add_argument("--input-size", type=int, default=518, help="network input short side, both models (518)")
    add_backend_arguments(parser)
    training = parser.add_argument_group("training (runs unchanged under torchrun)")
    training.add_argument("--epochs", type=int, default=5, help="passes over the unlabeled frames (5)")
    training.add_argument("--batch-size", type=int, default=2, help="LiDAR frames per step; unlabeled: twice (2)")
    training.add_argument("--lr", type=float, default=5e-5, help="head learning rate; encoder at lr/10 (5e-5)")
    training.add_argument("--feature-weight", type=float, default=1.0, help="weight of feature alignment (1)")
    training.add_argument("--margin", type=float, default=0.85, help="feature alignment tolerance alpha (0.85)")
    training.add_argument("--cutmix", type=float, default=0.5, help="CutMix probability per image (0.5)")
    training.add_argument("--min-change", type=float, default=2.0,
                          help="skip frames whose 32x24 grey thumbnail differs from the last kept one by less "
                               "than this many grey levels on average (2; 0 keeps all)")
    training.add_argument("--no-baseline", action="store_true", help="skip the LiDAR-only student")
    training.add_argument("--seed", type=int, default=0)
    training.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    training.add_argument("--work-dir", type=Path, help="frames, pseudo-labels and checkpoints (default "
                                                        "<output>.work)")
    training.add_argument("--restart", action="store_true", help="discard training checkpoints (labels are kept)")
    parser.add_argument("--block", type=float, default=10.0, help="time-block length in s for the held-out split")
    parser.add_argument("--holdout-every", type=int, default=5, help="hold out every n-th block (5)")
    parser.add_argument("--output", type=Path, required=True, help="directory for the student, graph and report")
    parser.set_defaults(func=cmd_selftrain)
