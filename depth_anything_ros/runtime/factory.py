"""From a BackendConfig and a camera resolution to a running backend: the one place that decides."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from depth_anything_ros.core.files import file_lock, file_sha256
from depth_anything_ros.export import GraphInfo, read_graph_info
from depth_anything_ros.runtime.backend import DepthBackend
from depth_anything_ros.runtime.config import BackendConfig
from depth_anything_ros.runtime.engine_build import build_engine
from depth_anything_ros.runtime.engine_cache import (
    default_cache_dir,
    discard_engine,
    engine_key,
    find_or_build_engine,
    read_record,
    update_record,
)
from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from depth_anything_ros.runtime.selection import Platform, choose_backend, probe_platform
from depth_anything_ros.runtime.self_check import self_check
from depth_anything_ros.runtime.tensorrt_backend import EngineLoadError, TensorRTBackend
from depth_anything_ros.runtime.torch_backend import TorchBackend

LOG = logging.getLogger(__name__)


def cache_dir(config: BackendConfig) -> Path:
    return Path(config.engine_cache_dir) if config.engine_cache_dir else default_cache_dir()


def timing_cache_name(gpu_name: str, compute_capability: str, tensorrt_version: str) -> str:
    """Per GPU model and TensorRT version: Orin Nano and AGX Orin share sm_87 but not their timings."""
    safe = re.sub(r"[^A-Za-z0-9.]+", "_", gpu_name).strip("_") or "gpu"
    return f"timing-{safe}-sm{compute_capability}-trt{tensorrt_version}.cache"


def check_graph_model(info: GraphInfo, config: BackendConfig, source: str | Path) -> None:
    """ValueError when the ``model`` knob names another network than the graph runs."""
    if config.model and info.model != config.model.lower():
        raise ValueError(f"{source} runs {info.model_name}, but model is {config.model!r}; set model to "
                         f"{info.model!r} or use the graph of {config.model}")


def load_network(config: BackendConfig) -> tuple[Any, str]:
    """The torch network of ``config.checkpoint`` (its family decides how) and the SHA-256 of its weights."""
    return config.family.load(config.checkpoint_request())


def graph_for(config: BackendConfig, image_hw: tuple[int, int], precision: str = "fp32",
              max_batch: int = 0) -> Path:
    """The fused graph for this resolution: ``onnx`` when it matches, else exported once from ``checkpoint``.

    ``precision`` picks the exported variant (fp16: the strongly typed FP16 graph TensorRT builds), ``max_batch``
    the batched graph (1..N images; 0: one image); a given ``onnx`` is used as it is.
    """
    if config.onnx:
        info = read_graph_info(config.onnx)
        check_graph_model(info, config, config.onnx)
        if info.image_hw != tuple(image_hw):
            raise ValueError(
                f"{config.onnx} serves {info.image_height}x{info.image_width} images, the camera gives "
                f"{image_hw[0]}x{image_hw[1]}; export a graph for it (depth-anything-ros export --image-size "
                f"{image_hw[0]}x{image_hw[1]}) or set checkpoint so graphs are exported per resolution")
        return Path(config.onnx)
    if not config.checkpoint:
        raise ValueError("set onnx (a fused graph from depth-anything-ros export) or checkpoint (a .pth file, or a "
                         "DA3 folder with model.safetensors and config.json)")
    from depth_anything_ros.export.onnx_export import export_for_resolution  # torch.onnx

    request = config.checkpoint_request()
    stem, input_size = config.family.graph_stem(request, file_sha256(config.weights_path))
    return export_for_resolution(lambda: load_network(config), image_hw, cache_dir(config) / "graphs", stem,
                                 config.input_order, input_size, precision, max_batch)


def open_tensorrt_backend(onnx_path: Path, config: BackendConfig, platform: Platform,
                          reference: Path | None = None) -> DepthBackend:
    """Find or build the engine of ``onnx_path``, load it (rebuilding once if it will not deserialize),
    self-check it against ``reference`` (default: the same graph) on onnxruntime."""

    gpu, version = platform.gpu, platform.tensorrt_version
    assert gpu is not None and version is not None, "choose_backend only picks tensorrt with both present"
    precision = read_graph_info(onnx_path).precision
    if precision != config.precision:
        LOG.warning("%s is an %s graph: building an %s engine although precision is %s (TensorRT builds "
                    "strongly typed networks; export the graph with --precision %s)", onnx_path, precision,
                    precision, config.precision, config.precision)
    key = engine_key(onnx_path, precision, gpu, version)
    cache = cache_dir(config)
    timing_cache = cache / timing_cache_name(gpu.name, gpu.compute_capability, version)

    def build() -> bytes:
        return build_engine(onnx_path, precision, config.workspace_gb, timing_cache)

    for attempt in (1, 2):
        engine_path = find_or_build_engine(onnx_path, key, cache, build)
        try:
            backend = TensorRTBackend(engine_path, gpu.index)
            break
        except EngineLoadError as error:
            if attempt == 2:
                raise
            LOG.warning("%s; discarding it and rebuilding", error)
            with file_lock(f"{engine_path}.lock"):
                discard_engine(engine_path)
    recorded = read_record(engine_path).self_check_error
    if recorded is None:
        result = self_check(backend, reference or onnx_path, config.self_check_threshold)
        if result is not None:
            update_record(engine_path, self_check_error=result.relative_error)
    elif recorded > config.self_check_threshold:
        LOG.warning("this engine's first-load self-check differed from onnxruntime by %.2e of the output range "
                    "(threshold %.0e); consider precision fp32", recorded, config.self_check_threshold)
    else:
        LOG.info("engine self-check at first load: %.2e of the output range", recorded)
    return backend


def open_backend(config: BackendConfig, image_hw: tuple[int, int],
                 platform: Platform | None = None, max_batch: int = 0) -> DepthBackend:
    """The backend ``config.backend`` names (or ``auto`` picks) for images of ``image_hw``; logs why.

    ``max_batch`` N > 0: a batched graph of 1..N images (several cameras of this resolution in one run; TensorRT
    builds it with the profile min 1 / opt N / max N); a fixed ``onnx`` graph serves as it was exported.
    """
    platform = platform or probe_platform(config.device_index)
    choice = choose_backend(config.backend, platform, bool(config.checkpoint))
    LOG.info("backend %s: %s", choice.name, choice.reason)
    if choice.name == "torch":
        model, sha = load_network(config)
        device = f"cuda:{config.device_index}" if platform.torch_cuda else "cpu"
        return TorchBackend(model, image_hw, config.input_order, config.input_size, device,
                            half=platform.torch_cuda and config.precision == "fp16", checkpoint_sha256=sha,
                            max_batch=max_batch)
    onnx_path = graph_for(config, image_hw, max_batch=max_batch)
    if choice.name == "onnxruntime":

        return OnnxRuntimeBackend(onnx_path, choice.providers)
    if config.onnx or config.precision == "fp32":
        return open_tensorrt_backend(onnx_path, config, platform)
    return open_tensorrt_backend(graph_for(config, image_hw, "fp16", max_batch), config, platform,
                                 reference=onnx_path)
