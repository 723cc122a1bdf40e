"""N cameras: N single-camera processes against one N-camera node (one batched engine), at nuScenes size.

    python benchmarks/multi_camera.py [--cameras 1 2 4 6] [--seconds 20] [--input-size 126]
                                      [--backend onnxruntime|tensorrt|torch|auto] [--encoder vits]

Each camera always has a frame waiting (a camera at least as fast as the node), 1600x900 bgr8 with its own
K; every frame goes through the node's own code below rclpy and DDS: ``FramePath`` (decode, camera,
graph, messages: depth, camera_info and cloud at output_downscale 4) in the single-camera processes, and
``MultiCameraWorker`` (the fair batcher, one batch per cycle, each camera's frame path) in the N-camera node.
The network is the real V2 architecture (``--encoder``) with random weights at a small network input
(``--input-size``, short side; 126 gives 126x224), so it runs on a few CPU cores; timings do not depend on
weight values. Printed per N and setup: total frames/s, per-camera latency (frame ready -> its depth image
published) median and p95, resident memory (sum over processes; GPU memory from nvidia-smi where present).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

H, W = 900, 1600
DOWNSCALE = 4
FOCALS = (1266.4, 1272.6, 1260.8, 809.2, 1256.7, 1259.5)  # the nuScenes cameras' fx (calib.json)


def kit():
    from rosbags.typesys import Stores, get_typestore

    from depth_anything_ros.msgs.messages import rosbags_kit

    return rosbags_kit(get_typestore(Stores.ROS2_HUMBLE))


def frames(camera: int, stamp_ns: int, kit_):
    """Camera ``camera``'s frame: the sample scene moved per camera, its own K and frame_id."""
    from depth_anything_ros.core.camera import CameraModel
    from depth_anything_ros.msgs.messages import bgr_image_msg, camera_info_msg, header_msg
    from depth_anything_ros.synthetic.scene import render_sample_scene

    header = header_msg(kit_, stamp_ns, f"cam{camera}_optical_frame")
    bgr = render_sample_scene(H, W, forward=0.5 * camera)[0]
    camera_model = CameraModel.pinhole(W, H, FOCALS[camera % len(FOCALS)])
    return bgr_image_msg(kit_, header, bgr), camera_info_msg(kit_, header, camera_model)


def config(args, graph: Path, cameras: int = 0):
    from depth_anything_ros.node.config import PipelineConfig

    names = ", ".join(f"/cam{i}" for i in range(cameras))
    return PipelineConfig(onnx=str(graph), backend=args.backend, output_downscale=DOWNSCALE, max_age=0.0,
                          cameras=names, batch_window_ms=args.window_ms, precision=args.precision)


def open_backend(backend_config, image_hw, max_batch=0):
    from depth_anything_ros.runtime.factory import open_backend as factory_open

    return factory_open(backend_config, image_hw, max_batch=max_batch)


class Publisher:
    """Records when each depth image went out."""

    def __init__(self, times: list[float] | None) -> None:
        self.times = times

    def publish(self, msg) -> None:
        if self.times is not None:
            self.times.append(time.perf_counter())

    def get_subscription_count(self) -> int:
        return 1


def summary(latencies: list[float], count: int, seconds: float) -> dict:
    return {"frames": count, "fps": count / seconds, "latencies": latencies}


def run_single(args, graph: Path, camera: int) -> dict:
    """One single-camera node process: its frame path, frames back to back."""
    from depth_anything_ros.node.frame_path import FramePath

    kit_ = kit()
    path = FramePath(config(args, graph), lambda hw: open_backend(config(args, graph).backend_config(), hw), kit_)
    image, info = frames(camera, 1, kit_)
    path.process(image, info)  # warm-up (engine load)
    latencies, count = [], 0
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        ready = time.perf_counter()
        outcome = path.process(image, info, want_cloud=True)
        assert outcome.published, outcome.detail
        latencies.append(time.perf_counter() - ready)
        count += 1
    return summary(latencies, count, time.perf_counter() - started)


def run_multi(args, graph: Path, cameras: int) -> dict:
    """One N-camera node: every camera's frame offered, one cycle of the worker, published per camera."""
    from depth_anything_ros.node.multi_worker import MultiCameraWorker

    kit_ = kit()
    worker = MultiCameraWorker(config(args, graph, cameras), logging.getLogger("bench"), open_backend, kit_)
    published: list[list[float]] = [[] for _ in range(cameras)]
    for index, camera in enumerate(worker.cameras):
        camera.publishers = {name: Publisher(published[index] if name == "image" else None)
                             for name in ("image", "camera_info", "points")}
    worker.open_pipeline()
    worker.start(thread=False)
    msgs = [frames(i, 1, kit_) for i in range(cameras)]
    stamp = 1

    def cycle() -> list[float]:
        nonlocal stamp
        stamp += 1
        ready = []
        for camera, (image, info) in zip(worker.cameras, msgs, strict=True):
            image.header.stamp.nanosec = info.header.stamp.nanosec = stamp  # a new frame, same pixels
            ready.append(time.perf_counter())
            worker.on_camera_image(camera, image)
            worker.on_camera_info_of(camera, info)
        assert worker.process_next(timeout=5.0)
        return ready

    cycle()  # warm-up (engine load)
    for times in published:
        times.clear()
    latencies, count = [], 0
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        ready = cycle()
        for index in range(cameras):
            latencies.append(published[index][-1] - ready[index])
        count += cameras
    result = summary(latencies, count, time.perf_counter() - started)
    assert all(len(times) == count // cameras for times in published), "a camera missed a cycle"
    worker.shutdown()
    return result


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """Resident memory now (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def gpu_mib(pids: list[int]) -> float | None:
    """Device memory of these processes from nvidia-smi (None without it)."""
    if shutil.which("nvidia-smi") is None:
        return None
    out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True).stdout
    used = [float(m) for p, m in (line.split(",") for line in out.strip().splitlines() if "," in line)
            if int(p) in pids]
    return sum(used) if used else 0.0


def child(args) -> None:
    """A worker process: run one setup, print its JSON (peak RSS included) on the last line."""
    graph = Path(args.graph)
    result = run_multi(args, graph, args.child_cameras) if args.child_mode == "multi" else \
        run_single(args, graph, args.child_camera)
    result["rss_mib"] = rss_mib()
    print(json.dumps(result))


def spawn(args, graph: Path, mode: str, cameras: int, camera: int = 0) -> subprocess.Popen:
    command = [sys.executable, __file__, "--child-mode", mode, "--graph", str(graph), "--child-cameras", str(cameras),
               "--child-camera", str(camera), "--seconds", str(args.seconds), "--backend", args.backend,
               "--window-ms", str(args.window_ms), "--precision", args.precision]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def collect(processes: list[subprocess.Popen], gpu: float | None) -> dict:
    results = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode:
            raise RuntimeError(f"benchmark worker failed: {err[-2000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    latencies = [x for r in results for x in r["latencies"]]
    return {"fps": sum(r["fps"] for r in results), "p50": statistics.median(latencies) * 1000,
            "p95": float(np.percentile(latencies, 95)) * 1000, "rss": sum(r["rss_mib"] for r in results), "gpu": gpu}


def measure(args, graphs: dict[str, Path], mode: str, cameras: int) -> dict:
    if mode == "multi":
        processes = [spawn(args, graphs["batch"], "multi", cameras)]
    else:
        processes = [spawn(args, graphs["single"], "single", 1, i) for i in range(cameras)]
    gpu = None
    if args.backend != "onnxruntime":
        time.sleep(min(args.seconds / 2, 30))  # mid-run
        gpu = gpu_mib([p.pid for p in processes])
    return collect(processes, gpu)


def export_graphs(args, folder: Path) -> dict[str, Path]:
    from depth_anything_ros.export.onnx_export import export_graph
    from depth_anything_ros.model import model_spec
    from depth_anything_ros.model.v2.build import untrained_model

    model = untrained_model(model_spec(args.encoder, 2, metric=True, max_depth=80.0), seed=0)
    precision = "fp16" if args.precision == "fp16" and args.backend == "tensorrt" else "fp32"
    graphs = {"single": folder / "single.onnx", "batch": folder / f"batch{max(args.cameras)}.onnx"}
    export_graph(model, (H, W), graphs["single"], input_size=args.input_size, precision=precision)
    export_graph(model, (H, W), graphs["batch"], input_size=args.input_size, precision=precision,
                 max_batch=max(args.cameras))
    return graphs


def resolution_cost(args) -> None:
    """What a second camera resolution costs: one batched onnxruntime session per resolution (no shared weights)."""
    from depth_anything_ros.export.onnx_export import export_graph
    from depth_anything_ros.model import model_spec
    from depth_anything_ros.model.v2.build import untrained_model
    from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend

    model = untrained_model(model_spec(args.encoder, 2, metric=True, max_depth=80.0), seed=0)
    weights = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    print(f"| sessions open | resident MiB | (V2 {args.encoder}: weights {weights:.0f} MiB fp32) |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for hw in ((H, W), (720, 1280)):
            paths.append(Path(folder) / f"{hw[0]}x{hw[1]}.onnx")
            export_graph(model, hw, paths[-1], input_size=args.input_size, max_batch=max(args.cameras))
        del model
        base = current_rss_mib()
        print(f"| none | {base:.0f} | |")
        sessions = []
        for path in paths:
            sessions.append(OnnxRuntimeBackend(path))
            rss = current_rss_mib()
            print(f"| + {path.stem} | {rss:.0f} | +{rss - base:.0f} |")
            base = rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4, 6])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--input-size", type=int, default=126)
    parser.add_argument("--encoder", default="vits")
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "fp16"))
    parser.add_argument("--window-ms", type=float, default=10.0)
    parser.add_argument("--resolution-cost", action="store_true",
                        help="print what a second camera resolution costs (one more batched session) and exit")
    parser.add_argument("--child-mode", choices=("single", "multi"), help=argparse.SUPPRESS)
    parser.add_argument("--child-cameras", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--child-camera", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--graph", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_mode:
        child(args)
        return
    if args.resolution_cost:
        resolution_cost(args)
        return
    with tempfile.TemporaryDirectory() as folder:
        graphs = export_graphs(args, Path(folder))
        print(f"{H}x{W} bgr8 cameras, V2 {args.encoder} (random weights) at network input "
              f"{args.input_size} px short side, backend {args.backend}, {args.seconds:g} s per row, "
              f"{os.cpu_count()} CPUs visible, output_downscale {DOWNSCALE}, batched graph max {max(args.cameras)}")
        print("| N | setup | total frames/s | latency median ms | latency p95 ms | resident MiB | GPU MiB |")
        print("|---|---|---|---|---|---|---|")
        for n in args.cameras:
            for mode, label in (("single", f"{n} single-camera processes"), ("multi", f"one {n}-camera node")):
                row = measure(args, graphs, mode, n)
                gpu = "-" if row["gpu"] is None else f"{row['gpu']:.0f}"
                print(f"| {n} | {label} | {row['fps']:.2f} | {row['p50']:.0f} | {row['p95']:.0f} | "
                      f"{row['rss']:.0f} | {gpu} |", flush=True)


if __name__ == "__main__":
    main()
