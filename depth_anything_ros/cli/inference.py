"""The graph commands: ``export``, ``infer``, ``build-engine``, ``replay`` and ``download``."""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import cv2

from depth_anything_ros.cli.arguments import (
    UsageError,
    add_backend_arguments,
    add_knob_arguments,
    add_model_arguments,
    checkpoint_request,
    choices_of,
    config_from_args,
    parse_image_size,
)
from depth_anything_ros.core import InputError
from depth_anything_ros.core.anchor_reasons import counts_text
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.camera_info_file import load_camera_info
from depth_anything_ros.core.files import file_sha256, save_array, save_image
from depth_anything_ros.model import DA3_NAMES, UNTRAINED_WARNING, CheckpointRequest, family_of
from depth_anything_ros.model.download import (
    HUB_SIZES,
    METRIC_DATASETS,
    download_checkpoint,
    download_da3,
    hub_location,
)
from depth_anything_ros.node import DepthPipeline, FrameResult, replay
from depth_anything_ros.preview import preview_of
from depth_anything_ros.runtime import (
    OnnxRuntimeBackend,
    build_engine,
    engine_key,
    import_tensorrt,
    open_backend,
    probe_gpu,
    save_engine,
)

LOG = logging.getLogger("depth_anything_ros")


def cmd_export(args: argparse.Namespace) -> int:
    """The fused graph of any model family for one camera resolution."""
    from depth_anything_ros.export.onnx_export import export_graph  # torch.onnx

    if args.checkpoint is None:
        raise ValueError("export needs --checkpoint (or 'checkpoint:' in the --params file)")
    request = checkpoint_request(args)
    family = family_of(request)
    family.check(request)
    network, sha = family.load(request)
    started = time.monotonic()
    info = export_graph(network, args.image_size, args.output, args.input_order, args.input_size, sha,
                        args.graph_precision, args.max_batch)
    extra = "".join(f" + {name}" for name in info.input_names[1:])
    extra += f", batch 1..{info.max_batch}" if info.batched else ""
    sky = f", sky +Inf: {info.sky}" if info.model else ""
    print(f"wrote {args.output}: {info.image_height}x{info.image_width} {info.input_order} uint8{extra} -> network "
          f"{info.network_height}x{info.network_width} -> raw, depth ({info.model_name}, {info.kind}, "
          f"{info.precision}{sky}) in {time.monotonic() - started:.1f} s")
    return 0


def _write_outputs(stem: Path, result: FrameResult) -> list[Path]:
    name, array = ("depth", result.depth) if result.metric else ("relative", result.relative)
    return [save_array(stem.with_name(f"{stem.name}_{name}.npy"), array),
            save_image(stem.with_name(f"{stem.name}_preview.png"),
                       preview_of(result.relative, result.depth, result.preview_kind))]


def _camera_usage(error: InputError, args: argparse.Namespace, image_path: Path, image_hw: tuple[int, int],
                  camera: CameraModel | None) -> Exception:
    """The pipeline's verdict on the camera of an image, in terms of the --camera-info flag."""
    if error.kind == "camera_info" and camera is not None:
        return UsageError(f"--camera-info {args.camera_info} is for {camera.width}x{camera.height} images, "
                          f"{image_path.name} is {image_hw[1]}x{image_hw[0]}; give the camera_info of that size")
    if error.kind == "intrinsics" and camera is None:
        return UsageError(f"{error}: give --camera-info FILE (the camera_info YAML of camera_calibration / "
                          f"camera_info_manager)")
    return error


def cmd_infer(args: argparse.Namespace) -> int:
    """Image files through the node's DepthPipeline: for the same image, camera_info and settings, the node's
    depth, byte for byte (range limits included)."""
    if not (args.checkpoint or args.onnx):
        raise UsageError("give --checkpoint or --onnx")
    camera = load_camera_info(args.camera_info) if args.camera_info else None
    limits = {name: getattr(args, name) for name in ("min_depth", "max_range") if getattr(args, name) is not None}
    config = config_from_args(args, **limits)
    pipeline = DepthPipeline(config, lambda image_hw: open_backend(config.backend_config(), image_hw), keep=None)
    failures, relative_kinds = 0, set()
    try:
        for index, image_path in enumerate(args.images, start=1):
            image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
            if image is None:
                LOG.error("%s: not a readable image, skipped", image_path)
                failures += 1
                continue
            try:
                result = pipeline.process(image, camera, want_cloud=False)
            except InputError as error:
                raise _camera_usage(error, args, image_path, image.shape[:2], camera) from error
            written = _write_outputs(args.output / image_path.stem, result)
            if not result.metric:
                relative_kinds.add(result.kind)
            print(f"[{index}/{len(args.images)}] {image_path.name} {image.shape[0]}x{image.shape[1]} "
                  f"{pipeline.backend.name} {result.inference_s * 1000:.0f} ms -> {', '.join(p.name for p in written)}")
    finally:
        pipeline.close()
    if "relative" in relative_kinds:
        LOG.warning("relative checkpoint: *_relative.npy is inverse depth up to scale and shift, not metres; "
                    "a metric calibration (or a metric checkpoint with --metric) gives metres")
    if "relative-depth" in relative_kinds:
        LOG.warning("relative DA3 model: *_relative.npy is depth up to scale (not inverse depth; DA3MONO-LARGE's "
                    "sky +Inf), not metres; da3metric-large with --camera-info gives metres")
    return 1 if failures else 0


def cmd_build_engine(args: argparse.Namespace) -> int:
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
    """Backends for an untrained model of the real architecture (replay without a checkpoint)."""
    def open_untrained(image_hw: tuple[int, int]):
        from depth_anything_ros.export.onnx_export import export_for_resolution  # torch.onnx

        kind = "metric" if args.metric else "relative"
        request = CheckpointRequest(None, "", args.encoder, 2, args.metric, args.max_depth, args.input_size)
        path = export_for_resolution(lambda: family_of(request).load(request), image_hw, workdir,
                                     f"untrained-{args.encoder}-{kind}", input_size=args.input_size)
        return OnnxRuntimeBackend(path)
    return open_untrained


def cmd_replay(args: argparse.Namespace) -> int:
    extra = {"calibration_file": str(args.calibration)} if args.calibration else {}
    extra.update({name: str(getattr(args, name)) for name in ("anchor_extrinsic", "anchor_extrinsics_file")
                  if getattr(args, name)})
    config = config_from_args(args, **extra)
    with tempfile.TemporaryDirectory() as workdir:
        if not (config.checkpoint or config.onnx):
            print(f"\n{'!' * 78}\n{UNTRAINED_WARNING.format(encoder=args.encoder)}\n{'!' * 78}\n", flush=True)
            opener = _untrained_opener(args, Path(workdir))
        else:
            def opener(image_hw):
                return open_backend(config.backend_config(), image_hw)
        started = time.monotonic()
        summary = replay(args.in_bag, args.out_bag, args.image_topic, config, opener, args.camera_info_topic,
                         args.previews, args.preview_every, progress=lambda line: print(line, flush=True),
                         anchor_topic=args.anchor_topic)
    elapsed = time.monotonic() - started
    state = "INTERRUPTED; readable bag with the frames done so far:" if summary.interrupted else "wrote"
    reasons = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.reasons.items()))
    print(f"{state} {summary.output}: {summary.frames} frames in {elapsed:.1f} s, {summary.skipped} skipped "
          f"(bad input{': ' + reasons if reasons else ''}), {summary.unmatched} without camera_info"
          + (f", {summary.uncalibrated} with K = 0 (no depth/camera_info, points)" if summary.uncalibrated else "")
          + (f"; previews in {args.previews}" if args.previews else ""))
    if summary.anchor is not None:
        print(anchor_summary(summary.anchor))
    return 130 if summary.interrupted else 0


def anchor_summary(report) -> str:
    """One line on the live anchor of a replay: frames per state, reasons, and the last head."""
    states = counts_text(report.states) or "no frames"
    reasons = counts_text(report.reasons)
    problems = counts_text(report.message_problems)
    last = report.last.result.stats if report.last is not None else None
    head = f"; last head scale {last.scale:.6g} shift {last.shift:.6g}" if last is not None else ""
    return (f"anchor on {report.messages} messages ({report.extrinsics}): frames {states}; reasons {reasons}"
            + (f"; message problems {problems}" if problems else "") + head + "; the head per frame is on "
            "<camera ns>/depth/anchor")


def cmd_download(args: argparse.Namespace) -> int:
    if args.encoder in DA3_NAMES:
        if args.metric:
            raise ValueError("--metric is for V2 checkpoints; DA3 names say it (da3metric-large)")
        folder, licence = download_da3(args.encoder, args.output_dir)
        print(f"downloaded and verified {folder} (model.safetensors sha256 "
              f"{file_sha256(folder / 'model.safetensors')}); weights licence: {licence}")
        return 0
    path = download_checkpoint(args.encoder, args.metric, args.output_dir)
    if args.metric:  # hub cards say apache-2.0, the V2 README says Base/Large are CC-BY-NC-4.0
        print(f"weights licence: see huggingface.co/{hub_location(args.encoder, args.metric)[0]}")
    else:
        print("weights licence: " + ("Apache-2.0" if args.encoder == "vits" else "CC-BY-NC-4.0"))
    print(f"downloaded and verified {path} (sha256 {file_sha256(path)})")
    return 0


def add_inference_commands(commands) -> dict[str, argparse.ArgumentParser]:
    export = commands.add_parser("export", help="write the fused ONNX graph for one camera resolution")
    add_model_arguments(export)
    export.add_argument("--image-size", type=parse_image_size, required=True, help="camera HxW, e.g. 375x1242")
    add_knob_arguments(export, ("input_order",))
    export.add_argument("--output", type=Path, required=True, help="model.onnx to write")
    export.add_argument("--precision", dest="graph_precision", choices=choices_of("precision"), default="fp32",
                        help="graph variant: fp32, or fp16 (FP16 network, FP32 pre/post, LayerNorm and attention "
                             "scores) for a strongly typed fp16 TensorRT engine (default fp32)")
    export.add_argument("--max-batch", type=int, default=0,
                        help="N >= 1: the batched graph of a multi-camera node, 1..N images per run, each with its "
                             "own head and focal (the node's cameras parameter); 0: one image (default)")
    export.set_defaults(func=cmd_export)

    infer = commands.add_parser("infer", help="depth for image files: .npy and a colourised PNG each")
    infer.add_argument("images", type=Path, nargs="+", help="image files (any OpenCV format)")
    add_model_arguments(infer)
    infer.add_argument("--onnx", type=Path, help="fused graph to run with onnxruntime instead of a checkpoint")
    add_backend_arguments(infer)
    add_knob_arguments(infer, ("min_depth", "max_range"),
                       unset={"min_depth": "not given: the graph's own", "max_range": "not given: the graph's own"})
    infer.add_argument("--camera-info", type=Path, help="camera_info YAML (camera_calibration's image_width, "
                       "image_height, camera_matrix) of the images: the focal length DA3 metric models need")
    infer.add_argument("--output", type=Path, required=True, help="output directory")
    infer.set_defaults(func=cmd_infer)

    engine = commands.add_parser("build-engine", help="compile a fused ONNX graph into a TensorRT 10 engine")
    engine.add_argument("--onnx", type=Path, required=True, help="fused graph from `export`")
    add_knob_arguments(engine, ("precision", "workspace_gb"))
    engine.add_argument("--timing-cache", type=Path, help="timing cache to read and update (speeds up rebuilds)")
    add_knob_arguments(engine, ("device_index",))
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
    anchor = play.add_argument_group("live anchor (the node's anchor_* parameters come from --params)")
    anchor.add_argument("--anchor-topic", help="PointCloud2, LaserScan or Range topic to anchor every frame to")
    add_knob_arguments(anchor, ("anchor_extrinsic", "anchor_extrinsics_file"),
                       unset={"anchor_extrinsic": "not given: --params, else the bag's /tf_static and /tf",
                              "anchor_extrinsics_file": "not given: --params, else the bag's /tf_static and /tf"})
    play.add_argument("--previews", type=Path, help="write input | depth preview PNGs here")
    play.add_argument("--preview-every", type=int, default=1, help="preview every n-th frame (default 1)")
    play.set_defaults(func=cmd_replay)

    download = commands.add_parser("download", help="fetch an official V2 or DA3 checkpoint from Hugging Face")
    download.add_argument("encoder", choices=tuple(HUB_SIZES) + DA3_NAMES,
                          help="V2 encoder or DA3 name; the weights licence is printed")
    download.add_argument("--metric", choices=tuple(METRIC_DATASETS), help="metric checkpoint (indoor/outdoor)")
    download.add_argument("--output-dir", type=Path, default=Path("checkpoints"))
    download.set_defaults(func=cmd_download)
    return {"export": export, "infer": infer, "build-engine": engine, "replay": play, "download": download}
