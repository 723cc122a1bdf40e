"""The offline LiDAR commands: ``lidar-depth``, ``calibrate`` (with ``--method finetune``) and ``evaluate``."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from depth_anything_ros.calibration import (
    ANCHOR_SPLITS,
    SplitAnchor,
    collect_samples,
    fit_calibration,
    lidar_overlay,
    measure,
    read_ground_truth,
    write_report,
)
from depth_anything_ros.cli.arguments import (
    add_backend_arguments,
    add_ground_truth_arguments,
    add_model_arguments,
    add_split_arguments,
    add_training_arguments,
    backend_cache,
    checkpoint_request,
    ground_truth_options,
    metric_text,
    training_options,
)
from depth_anything_ros.core.calibration_file import load_calibration, save_calibration
from depth_anything_ros.core.files import atomic_directory, write_image
from depth_anything_ros.model import family_of
from depth_anything_ros.node import PipelineConfig
from depth_anything_ros.training import FinetuneOptions


def cmd_lidar_depth(args: argparse.Namespace) -> int:
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


def _collect(args: argparse.Namespace, anchor: SplitAnchor | None = None):
    backends = backend_cache(args)
    return collect_samples(read_ground_truth(args.bags, ground_truth_options(args)), backends.get,
                           progress=lambda line: print(line, flush=True), anchor=anchor)


def _require_model(args: argparse.Namespace) -> None:
    if not (args.checkpoint or args.onnx):
        raise ValueError("give --checkpoint or --onnx: the graph whose head is calibrated or evaluated")


def cmd_calibrate(args: argparse.Namespace) -> int:
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
    from depth_anything_ros.training.finetune import FinetuneRequest, finetune  # torch

    if args.onnx or not args.checkpoint:
        raise ValueError("--method finetune trains weights: give --checkpoint (a V1/V2 .pth or a DA3 checkpoint "
                         "folder), not --onnx")
    start = checkpoint_request(args)
    family = family_of(start)
    family.check(start)
    if not args.max_depth and family.metres_from_max_depth:
        raise ValueError("--method finetune writes a metric head (Sigmoid x max depth): give --max-depth "
                         "(80 outdoor, 20 indoor; at least the farthest LiDAR range you want to keep)")
    work_dir = args.work_dir or args.output.with_name(f"{args.output.stem}.finetune")
    if args.restart:
        (work_dir / "last.pt").unlink(missing_ok=True)
    options = training_options(FinetuneOptions, args, unfreeze_encoder=args.unfreeze_encoder, flip=not args.no_flip,
                               workers=args.workers)
    request = FinetuneRequest(args.bags, ground_truth_options(args), start, args.max_depth,
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


def cmd_evaluate(args: argparse.Namespace) -> int:
    _require_model(args)
    calibration = load_calibration(args.calibration) if args.calibration else None
    anchor = None
    if args.anchor:  # the node's anchor_* parameters (from --params), the calibration as its fallback
        config = getattr(args, "pipeline_config", None) or PipelineConfig()
        fallback = calibration.head(0.0, float("inf")) if calibration is not None else None
        anchor = SplitAnchor(config.anchor_config(), args.anchor, fallback, args.anchor_band, args.anchor_every)
    collected = _collect(args, anchor)
    if calibration is not None:  # a calibration of another graph kind is refused (its head equation differs)
        warning = calibration.check_applies_to(collected.kind, collected.checkpoint_sha256)
        if warning:
            print(f"warning: {warning}", flush=True)
    measured = measure(collected.samples, collected.kind, calibration)
    write_report(args.output, measured, collected, calibration, [str(b) for b in args.bags])
    overall = {k: v["overall"] for k, v in measured.items()}
    text = ", ".join(f"{name} AbsRel {metric_text(m['abs_rel'])} RMSE {metric_text(m['rmse'])} m delta1 "
                     f"{metric_text(m['d1'])}" for name, m in overall.items())
    print(f"wrote {args.output} (metrics.json, report.md, plots) over {len(collected.samples)} frames: {text}")
    if anchor is not None:
        print(anchor.summary(len(collected.samples)) + "; scored on the LiDAR pixels the anchor did not see")
    return 0


def add_calibration_commands(commands) -> dict[str, argparse.ArgumentParser]:
    lidar = commands.add_parser("lidar-depth", help="LiDAR projected into the camera: sparse depth .npy + overlays")
    add_ground_truth_arguments(lidar)
    lidar.add_argument("--output", type=Path, required=True, help="directory to create")
    lidar.set_defaults(func=cmd_lidar_depth)
    parsers = {"lidar-depth": lidar}

    for name, helptext in (("calibrate", "fit the metric head to LiDAR depth; writes a calibration YAML"),
                           ("evaluate", "depth metrics against LiDAR, before and after a calibration")):
        parser = parsers[name] = commands.add_parser(name, help=helptext)
        add_ground_truth_arguments(parser)
        add_model_arguments(parser)
        parser.add_argument("--onnx", type=Path, help="fused graph (instead of a checkpoint)")
        add_backend_arguments(parser)
        if name == "calibrate":
            parser.add_argument("--method", choices=("scale", "affine", "finetune"), default="affine")
            add_split_arguments(parser)
            parser.add_argument("--output", type=Path, required=True, help="calibration YAML to write")
            _add_finetune_arguments(parser)
            parser.set_defaults(func=cmd_calibrate)
        else:
            parser.add_argument("--calibration", type=Path, help="calibration YAML to evaluate against no calibration")
            parser.add_argument("--output", type=Path, required=True, help="report directory to create")
            live = parser.add_argument_group("live anchor (the node's fitter; anchor_* parameters from --params)")
            live.add_argument("--anchor", choices=ANCHOR_SPLITS,
                              help="also run the live anchor per frame on part of the LiDAR, scored on the rest: band "
                                   "(the rows around the principal point: a 2D laser at the camera's height) or rows "
                                   "(every --anchor-every-th row scored, the others anchor)")
            live.add_argument("--anchor-band", type=int, default=2, help="band: rows either side (2)")
            live.add_argument("--anchor-every", type=int, default=4, help="rows: score every n-th row (4)")
            parser.set_defaults(func=cmd_evaluate)
    return parsers


def _add_finetune_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = FinetuneOptions()
    group = parser.add_argument_group("finetune (runs unchanged under torchrun for several GPUs)")
    add_training_arguments(group, defaults, "<output stem>.finetune beside the YAML")
    group.add_argument("--unfreeze-encoder", action="store_true", help="also train the encoder, at lr / 10")
    group.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    group.add_argument("--workers", type=int, default=defaults.workers,
                       help=f"data-loading processes ({defaults.workers}: in the trainer)")
