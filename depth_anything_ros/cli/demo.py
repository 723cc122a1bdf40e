"""The main job on an embedded default: checkpoint -> fused ONNX graph -> CPU depth, checked against torch."""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from depth_anything_ros.core.files import save_array, save_image
from depth_anything_ros.core.visualize import preview_of
from depth_anything_ros.export.onnx_export import export_onnx
from depth_anything_ros.model.build import UNTRAINED_WARNING, build_model
from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from depth_anything_ros.runtime.torch_backend import TorchBackend
from depth_anything_ros.synthetic.scene import render_sample_scene


def _banner(text: str) -> None:
    line = "!" * 78
    print(f"\n{line}\n{text}\n{line}\n", flush=True)


def run_demo(args: argparse.Namespace) -> int:
    """Render (or read) an image, export its fused graph, run it on onnxruntime and torch, write outputs."""
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
    model, sha = build_model(args.checkpoint, args.encoder, args.version or 2, args.metric, args.max_depth)

    onnx_path = out / "model.onnx"
    started = time.monotonic()
    info = export_onnx(model, image.shape[:2], onnx_path, "bgr", args.input_size, sha)
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
