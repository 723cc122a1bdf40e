"""GPU latency, throughput and memory of the torch backend (FP32/FP16) and the fused path.

    python benchmarks/gpu_torch.py [--runs 50] [--encoders vits vitb] [--device cuda]

Rows: the network alone at 518x518 for each encoder in FP32 and FP16 (batch 1 latency, batch 8
throughput), and the whole fused path (uint8 720x1280 in, metres out) through ``TorchBackend``.
Untrained weights of the real architecture; timings do not depend on weight values. TensorRT
timings are not measured by this script.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from depth_anything_ros.model import model_spec
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.runtime import TorchBackend
from depth_anything_ros.synthetic import render_sample_scene


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, runs: int, device: torch.device) -> float:
    """Median milliseconds of ``fn()`` after warm-up."""
    for _ in range(max(3, runs // 10)):
        fn()
    _sync(device)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        _sync(device)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def _peak_mib(device: torch.device) -> float:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else float("nan")


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def network_rows(encoder: str, device: torch.device, runs: int) -> list[tuple]:
    rows = []
    for precision in ("fp32", "fp16"):
        dtype = torch.float16 if precision == "fp16" else torch.float32
        model = untrained_model(model_spec(encoder, 2)).to(device, dtype).eval()
        for batch in (1, 8):
            x = torch.randn(batch, 3, 518, 518, device=device, dtype=dtype)
            _reset_peak(device)
            with torch.inference_mode():
                ms = _timed(lambda m=model, x=x: m(x), runs if batch == 1 else max(5, runs // 4), device)
            rows.append((f"{encoder} network 518x518", precision, batch, ms, batch * 1000 / ms, _peak_mib(device)))
        del model
    return rows


def fused_rows(encoder: str, device: torch.device, runs: int) -> list[tuple]:
    rows = []
    image, _ = render_sample_scene(720, 1280)
    for precision in ("fp32", "fp16"):
        _reset_peak(device)
        model = untrained_model(model_spec(encoder, 2))
        with TorchBackend(model, (720, 1280), device=str(device), half=precision == "fp16") as backend:
            ms = _timed(lambda b=backend: b.infer(image), runs, device)
            output = backend.infer(image)
        assert output.depth.shape == (720, 1280) and np.isfinite(output.raw).all()
        rows.append((f"{encoder} fused 720x1280 (uint8 in, metres out)", precision, 1, ms, 1000 / ms,
                     _peak_mib(device)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--encoders", nargs="+", default=["vits", "vitb"])
    parser.add_argument("--fused-encoder", default="vits")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU visible to PyTorch; run with --device cpu to check the script itself")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    torch.backends.cudnn.benchmark = True
    rows = [row for encoder in args.encoders for row in network_rows(encoder, device, args.runs)]
    rows += fused_rows(args.fused_encoder, device, args.runs)
    print(f"\n{name}, torch {torch.__version__}, median of {args.runs} runs; TensorRT not measured here\n")
    print("| what | precision | batch | latency ms | frames/s | peak MiB |")
    print("|---|---|---:|---:|---:|---:|")
    for what, precision, batch, ms, fps, mib in rows:
        print(f"| {what} | {precision} | {batch} | {ms:.2f} | {fps:.1f} | {mib:.0f} |")


if __name__ == "__main__":
    main()
