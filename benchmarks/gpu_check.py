"""One GPU check: the fused module (uint8 image in, metres out) on torch FP32/FP16 and TensorRT fp32/fp16.

    bash benchmarks/gpu_check.sh          # or: python benchmarks/gpu_check.py [--runs 30]

For vits and vitb (random weights of the real architecture; timing does not depend on weight values;
Depth Anything 3 names such as da3metric-large with --encoders, focal from a pinhole K per frame)
at 518x518 and 720x1280 camera images: median latency per frame, and for the FP16 variants the max
|raw - raw_fp32| as a fraction of the range. TensorRT rows appear where tensorrt and pycuda are
installed; the engines are built strongly typed from the fp32 and fp16 graphs. Prints the device.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.model import DA3_NAMES, model_spec
from depth_anything_ros.model.da3.spec import da3_spec
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.runtime import TorchBackend
from depth_anything_ros.synthetic import render_sample_scene

SIZES = ((518, 518), (720, 1280))


def network(name: str):
    """Random weights of the real architecture: a V2 encoder (vits, ...) or a DA3 model (da3metric-large, ...)."""
    if name in DA3_NAMES:
        from depth_anything_ros.model.da3.network import Da3Model

        torch.manual_seed(0)
        return Da3Model(da3_spec(name)).eval()
    return untrained_model(model_spec(name, 2), seed=0).eval()


def median_ms(backend, image: np.ndarray, runs: int, k: np.ndarray) -> float:
    for _ in range(3):
        backend.infer(image, k=k)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        backend.infer(image, k=k)  # infer returns host arrays: includes the device sync
        samples.append((time.perf_counter() - started) * 1e3)
    return statistics.median(samples)


def relative_error(raw: np.ndarray, reference: np.ndarray) -> float:
    """max |raw - reference| / range over pixels finite in both (DA3 sky is +Inf), NaN where sky differs."""
    both = np.isfinite(raw) & np.isfinite(reference)
    if not np.array_equal(both, np.isfinite(reference)):
        return float("nan")
    ref = reference[both].astype(np.float64)
    return float(np.abs(raw[both].astype(np.float64) - ref).max() / (np.ptp(ref) or 1.0))


def tensorrt_backends(model, hw, folder: Path):
    """{'tensorrt fp32': backend, 'tensorrt fp16': backend} where TensorRT is installed, else {}."""
    try:
        from depth_anything_ros.runtime import import_tensorrt

        trt = import_tensorrt()
    except ImportError as error:
        print(f"TensorRT rows skipped: {error}")
        return {}
    from depth_anything_ros.export.onnx_export import export_graph
    from depth_anything_ros.model.da3.network import Da3Model
    from depth_anything_ros.runtime import build_engine, engine_key, probe_gpu, save_engine
    from depth_anything_ros.runtime.tensorrt_backend import TensorRTBackend

    out = {}
    for precision in ("fp32", "fp16"):
        graph = folder / f"g-{hw[0]}x{hw[1]}-{precision}.onnx"
        if isinstance(model, Da3Model):
            export_graph(model, hw, graph, precision=precision)
        else:
            export_graph(model, hw, graph, precision=precision)
        started = time.monotonic()
        engine = build_engine(graph, precision, report=lambda _: None)
        path = folder / f"{graph.stem}.engine"
        save_engine(path, engine, graph, engine_key(graph, precision, probe_gpu(), trt.__version__),
                    time.monotonic() - started)
        out[f"tensorrt {precision}"] = TensorRTBackend(path)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--encoders", nargs="+", default=["vits", "vitb"],
                        help="V2 encoders and/or DA3 names (e.g. da3metric-large)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this check needs a GPU (torch.cuda.is_available() is False)")
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    print(f"{'encoder':<16} {'image':<10} {'backend':<14} {'ms/frame':>9} {'max|d|/range':>13}")
    with tempfile.TemporaryDirectory() as folder:
        for encoder in args.encoders:
            model = network(encoder)
            for hw in SIZES:
                image, _ = render_sample_scene(*hw)
                k = CameraModel.pinhole(hw[1], hw[0], 0.8 * hw[1]).k  # DA3 metric graphs need a focal length
                # Each backend gets its own copy: TorchBackend moves (and for FP16 halves) the model it is given.
                backends = {"torch fp32": TorchBackend(copy.deepcopy(model), hw, device="cuda"),
                            "torch fp16": TorchBackend(copy.deepcopy(model), hw, device="cuda", half=True)}
                backends.update(tensorrt_backends(model, hw, Path(folder)))
                reference = backends["torch fp32"].infer(image, k=k).raw
                for name, backend in backends.items():
                    ms = median_ms(backend, image, args.runs, k)
                    error = relative_error(backend.infer(image, k=k).raw, reference)
                    print(f"{encoder:<16} {hw[0]}x{hw[1]:<6} {name:<14} {ms:>9.2f} {error:>13.2e}", flush=True)
                    backend.close()


if __name__ == "__main__":
    main()
