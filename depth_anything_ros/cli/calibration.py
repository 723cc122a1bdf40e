"""The offline LiDAR commands: ``lidar-depth``, ``calibrate`` and ``evaluate`` (registered by cli.py)."""

from __future__ import annotations

import argparse
from pathlib import Path


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


def ground_truth_options(args: argparse.Namespace):
    from depth_anything_ros.calibration.ground_truth import GroundTruthOptions

    return GroundTruthOptions(args.image_topic, args.camera_info_topic, args.lidar_topic, max_gap_s=args.max_gap,
                              merge=args.merge, fixed_frame=args.fixed_frame,
                              extrinsics=str(args.extrinsics or ""), rectified=not args.raw_images,
                              occlusion=None if args.no_occlusion_filter else _occlusion(), every=args.every)


def _occlusion():
    from depth_anything_ros.calibration.lidar import OcclusionFilter

    return OcclusionFilter()


def cmd_lidar_depth(args: argparse.Namespace) -> int:
    import numpy as np

    from depth_anything_ros.calibration.ground_truth import read_ground_truth
    from depth_anything_ros.calibration.report import lidar_overlay
    from depth_anything_ros.core.files import atomic_directory, write_image

    count, points = 0, 0
    with atomic_directory(args.output) as tmp:
        tmp.mkdir(parents=True)
        for frame in read_ground_truth(args.bags, ground_truth_options(args)):
            np.save(tmp / f"{frame.stamp_ns}.npy", frame.depth)
            write_image(tmp / f"{frame.stamp_ns}_overlay.png", lidar_overlay(frame.image, frame.depth))
            count += 1
            points += int(np.isfinite(frame.depth).sum())
    print(f"wrote {count} sparse depth maps to {args.output} ({points / max(count, 1):.0f} LiDAR pixels per frame; "
          f"<stamp ns>.npy float32 metres, NaN where no point, and <stamp ns>_overlay.png)")
    return 0


def _collect(args: argparse.Namespace):
    from depth_anything_ros.calibration.fit import collect_samples
    from depth_anything_ros.calibration.ground_truth import read_ground_truth
    from depth_anything_ros.cli.main import Backends

    backends = Backends(args)
    return collect_samples(read_ground_truth(args.bags, ground_truth_options(args)), backends.get,
                           progress=lambda line: print(line, flush=True))


def _require_model(args: argparse.Namespace) -> None:
    if not (args.checkpoint or args.onnx):
        raise ValueError("give --checkpoint or --onnx: the graph whose head is calibrated or evaluated")


def cmd_calibrate(args: argparse.Namespace) -> int:
    from depth_anything_ros.calibration.fit import fit_calibration
    from depth_anything_ros.core.calibration_file import save_calibration

    if args.method == "finetune":
        return _finetune(args)
    _require_model(args)
    collected = _collect(args)
    bags = [str(b) for b in args.bags]
    calibration, report = fit_calibration(collected, args.method, bags, args.block, args.holdout_every)
    save_calibration(args.output, calibration)
    before, after = report["statistics"]["held_out_before"], report["statistics"]["held_out_after"]
    print(f"wrote {args.output}: {calibration.model_kind} head, {args.method}, scale {calibration.scale:.6g} shift "
          f"{calibration.shift:.6g}; {report['statistics']['frames_train']} training frames, "
          f"{report['statistics']['frames_held_out']} held out; held-out AbsRel {metric_text(before['abs_rel'])} -> "
          f"{metric_text(after['abs_rel'])}, delta1 {metric_text(before['d1'])} -> {metric_text(after['d1'])}")
    return 0


def _finetune(args: argparse.Namespace) -> int:
    from depth_anything_ros.cli.main import _require_version
    from depth_anything_ros.model import model_spec
    from depth_anything_ros.training.finetune import FinetuneOptions, FinetuneRequest, finetune

    if args.onnx or not args.checkpoint:
        raise ValueError("--method finetune trains weights: give --checkpoint (a .pth), not --onnx")
    _require_version(args)
    if not args.max_depth:
        raise ValueError("--method finetune writes a metric head (Sigmoid x max depth): give --max-depth "
                         "(80 outdoor, 20 indoor; at least the farthest LiDAR range you want to keep)")
    work_dir = args.work_dir or args.output.with_name(f"{args.output.stem}.finetune")
    if args.restart:
        (work_dir / "last.pt").unlink(missing_ok=True)
    options = FinetuneOptions(args.epochs, args.batch_size, args.lr, unfreeze_encoder=args.unfreeze_encoder,
                              flip=not args.no_flip, input_size=args.input_size, seed=args.seed,
                              workers=args.workers, device=args.device)
    request = FinetuneRequest(args.bags, ground_truth_options(args), args.checkpoint,
                              model_spec(args.encoder, args.version, args.metric, args.max_depth), args.max_depth,
                              args.output, work_dir, options, args.block, args.holdout_every)
    calibration = finetune(request, progress=lambda line: print(line, flush=True))
    if calibration is None:  # a torchrun worker other than rank 0
        return 0
    stats = calibration.statistics
    start, affine, tuned = (stats[k] for k in ("held_out_start", "held_out_affine", "held_out_finetuned"))
    folder = args.output.parent
    print(f"wrote {args.output} with {folder / calibration.weights['checkpoint']} and "
          f"{folder / calibration.weights['onnx']}; {stats['frames_train']} training frames, "
          f"{stats['frames_held_out']} held out; held-out SiLog {metric_text(start['silog'])} (start), "
          f"{metric_text(affine['silog'])} (affine head), {metric_text(tuned['silog'])} (fine-tuned); AbsRel "
          f"{metric_text(start['abs_rel'])} / {metric_text(affine['abs_rel'])} / {metric_text(tuned['abs_rel'])}")
    print(f"run it: ros2 launch depth_anything_ros depth.launch.py camera:=<ns> "
          f"onnx:={folder / calibration.weights['onnx']} calibration_file:={args.output}")
    return 0


def metric_text(value) -> str:
    """A metric for a summary line; 'n/a' where there is none (a relative graph has no metres)."""
    return "n/a" if value is None or value != value else f"{value:.4f}"


def cmd_evaluate(args: argparse.Namespace) -> int:
    from depth_anything_ros.calibration.fit import measure
    from depth_anything_ros.calibration.report import write_report
    from depth_anything_ros.core.calibration_file import load_calibration

    _require_model(args)
    calibration = load_calibration(args.calibration) if args.calibration else None
    collected = _collect(args)
    measured = measure(collected.samples, collected.kind, calibration)
    write_report(args.output, measured, collected, calibration, [str(b) for b in args.bags])
    overall = {k: v["overall"] for k, v in measured.items()}
    text = ", ".join(f"{name} AbsRel {metric_text(m['abs_rel'])} RMSE {metric_text(m['rmse'])} m delta1 "
                     f"{metric_text(m['d1'])}" for name, m in overall.items())
    print(f"wrote {args.output} (metrics.json, report.md, plots) over {len(collected.samples)} frames: {text}")
    return 0


def add_calibration_commands(commands, add_model_arguments, add_backend_arguments) -> None:
    lidar = commands.add_parser("lidar-depth", help="LiDAR projected into the camera: sparse depth .npy + overlays")
    add_ground_truth_arguments(lidar)
    lidar.add_argument("--output", type=Path, required=True, help="directory to create")
    lidar.set_defaults(func=cmd_lidar_depth)

    for name, helptext in (("calibrate", "fit the metric head to LiDAR depth; writes a calibration YAML"),
                           ("evaluate", "depth metrics against LiDAR, before and after a calibration")):
        parser = commands.add_parser(name, help=helptext)
        add_ground_truth_arguments(parser)
        add_model_arguments(parser)
        parser.add_argument("--onnx", type=Path, help="fused graph (instead of a checkpoint)")
        add_backend_arguments(parser)
        if name == "calibrate":
            parser.add_argument("--method", choices=("scale", "affine", "finetune"), default="affine")
            parser.add_argument("--block", type=float, default=10.0, help="time-block length in s for the split")
            parser.add_argument("--holdout-every", type=int, default=5, help="hold out every n-th block (5)")
            parser.add_argument("--output", type=Path, required=True, help="calibration YAML to write")
            _add_finetune_arguments(parser)
            parser.set_defaults(func=cmd_calibrate)
        else:
            parser.add_argument("--calibration", type=Path, help="calibration YAML to evaluate against no calibration")
            parser.add_argument("--output", type=Path, required=True, help="report directory to create")
            parser.set_defaults(func=cmd_evaluate)


def _add_finetune_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("finetune (runs unchanged under torchrun for several GPUs)")
    group.add_argument("--epochs", type=int, default=5, help="passes over the training frames (5)")
    group.add_argument("--batch-size", type=int, default=4, help="frames per step and process (4)")
    group.add_argument("--lr", type=float, default=5e-5, help="head learning rate, AdamW with poly decay (5e-5)")
    group.add_argument("--unfreeze-encoder", action="store_true", help="also train the encoder, at lr / 10")
    group.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    group.add_argument("--seed", type=int, default=0, help="shuffling and flip seed (0)")
    group.add_argument("--workers", type=int, default=0, help="data-loading processes (0: in the trainer)")
    group.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="auto: CUDA when PyTorch sees a GPU (default)")
    group.add_argument("--work-dir", type=Path, help="stored frames and the per-epoch checkpoint "
                                                     "(default <output stem>.finetune beside the YAML)")
    group.add_argument("--restart", action="store_true", help="discard the checkpoint in the work dir instead "
                                                              "of resuming it")
