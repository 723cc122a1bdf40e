"""CPU per-stage times: the fused ONNX graph on onnxruntime against torch eager with numpy/OpenCV pre/post.

    python benchmarks/cpu_pipeline.py [--runs 5] [--encoder vits] [--sizes 480x640 720x1280]

Untrained weights of the real architecture (timings do not depend on weight values).
Fused stages come from onnxruntime's node profiler (nodes under /preprocess and
/postprocess); the fused total is timed on a separate, unprofiled session.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F

from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model import model_spec
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.model.v2.preprocess import prepare_input
from depth_anything_ros.runtime import OnnxRuntimeBackend
from depth_anything_ros.synthetic import render_sample_scene

STAGES = ("preprocess", "network", "postprocess")


def time_eager(model, image: np.ndarray, runs: int) -> dict[str, float]:
    """Official-style path: OpenCV pre-processing, torch network, torch upsample + numpy head."""
    samples: dict[str, list[float]] = defaultdict(list)
    for run in range(runs + 1):
        t0 = time.perf_counter()
        x = torch.from_numpy(prepare_input(image))
        t1 = time.perf_counter()
        with torch.inference_mode():
            net = model(x)
        t2 = time.perf_counter()
        with torch.inference_mode():
            raw = F.interpolate(net[:, None], image.shape[:2], mode="bilinear", align_corners=True)[0, 0].numpy()
        depth = 1.0 / np.maximum(raw, 1e-6)
        t3 = time.perf_counter()
        if run:  # the first run is warm-up
            for stage, seconds in zip((*STAGES, "total"), (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                samples[stage].append(seconds)
        assert depth.shape == image.shape[:2]
    return {stage: statistics.median(values) * 1000 for stage, values in samples.items()}


def fused_stage_times(onnx_path: Path, image: np.ndarray, head: np.ndarray, runs: int) -> dict[str, float]:
    """Median per-run milliseconds of graph nodes under /preprocess, /postprocess and the rest."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = os.cpu_count() or 1
    options.enable_profiling = True
    options.profile_file_prefix = str(onnx_path.with_suffix(""))
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    for _ in range(runs + 1):
        session.run(None, {"image": image, "head": head})
    events = json.loads(Path(session.end_profiling()).read_text())
    per_run: dict[str, list[float]] = defaultdict(list)
    run_index = -1
    totals: dict[str, float] = {}
    for event in events:
        if event.get("cat") == "Session" and event.get("name") == "model_run":
            if run_index >= 1:
                for stage, value in totals.items():
                    per_run[stage].append(value)
            run_index += 1
            totals = dict.fromkeys(STAGES, 0.0)
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        name = event["name"]
        stage = "preprocess" if name.startswith("/preprocess") else \
            "postprocess" if name.startswith("/postprocess") else "network"
        totals.setdefault(stage, 0.0)
        totals[stage] += event["dur"] / 1000
    if run_index >= 1:
        for stage, value in totals.items():
            per_run[stage].append(value)
    return {stage: statistics.median(values) for stage, values in per_run.items()}


def time_fused(onnx_path: Path, image: np.ndarray, runs: int) -> dict[str, float]:
    with OnnxRuntimeBackend(onnx_path) as backend:
        head = backend.info.default_head()
        backend.infer(image, head)
        totals = []
        for _ in range(runs):
            t0 = time.perf_counter()
            backend.infer(image, head)
            totals.append(time.perf_counter() - t0)
    stages = fused_stage_times(onnx_path, image, head.as_array(), runs)
    return {**stages, "total": statistics.median(totals) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--encoder", default="vits")
    parser.add_argument("--sizes", nargs="+", default=["480x640", "720x1280"])
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    model = untrained_model(model_spec(args.encoder, 2))
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for size in args.sizes:
            height, width = (int(v) for v in size.split("x"))
            image, _ = render_sample_scene(height, width)
            onnx_path = Path(workdir) / f"{args.encoder}_{size}.onnx"
            info = export_graph(model, (height, width), onnx_path)
            eager = time_eager(model, image, args.runs)
            fused = time_fused(onnx_path, image, args.runs)
            rows.append((size, f"{info.network_height}x{info.network_width}", eager, fused))
    print(f"\n{args.encoder}, {os.cpu_count()} CPU threads, torch {torch.__version__}, onnxruntime "
          f"{ort.__version__}, median of {args.runs} runs (ms)\n")
    print("| camera | network | path | preprocess | network | postprocess | total | speed-up | pre+post / net |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for size, net, eager, fused in rows:
        for label, times in (("torch eager + OpenCV", eager), ("fused onnxruntime", fused)):
            speedup = eager["total"] / times["total"]
            share = (times["preprocess"] + times["postprocess"]) / times["network"] * 100
            print(f"| {size} | {net} | {label} | {times['preprocess']:.1f} | {times['network']:.1f} | "
                  f"{times['postprocess']:.1f} | {times['total']:.1f} | {speedup:.2f}x | {share:.1f}% |")


if __name__ == "__main__":
    main()
