"""ONNX graph -> serialized TensorRT 10 engine, with parser errors per node, FP16 guards and progress."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from depth_anything_ros.core.files import atomic_path
from depth_anything_ros.runtime.config import PRECISIONS
from depth_anything_ros.runtime.nvidia import import_tensorrt

LOG = logging.getLogger(__name__)
# Stages whose arithmetic must stay FP32 under FP16: the cubic resize and normalisation of the
# input, and the metric head (1 / (scale * raw + shift) loses metres in half precision).
FP32_NAME_PREFIXES = ("/preprocess", "/postprocess")


class EngineBuildError(RuntimeError):
    """TensorRT could not parse the graph or build the engine; the message says where."""


def describe_parser_error(error) -> str:
    """One line per ONNX parser error: the node (index, name, operator), the code and the text."""
    node = error.node()
    where = "graph" if node < 0 else f"node {node} '{error.node_name()}' ({error.node_operator()})"
    return f"{where}: {error.code()}: {error.desc()}"


def keep_fp32_layers(network, trt) -> list[str]:
    """Pin normalisation layers (ViT LayerNorm overflows in FP16) and pre/post stages to FP32.

    Only layers whose outputs are all float32 tensors are pinned; shape and index layers are left alone.
    Returns the names of the pinned layers.
    """
    pinned = []
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        sensitive = layer.type == trt.LayerType.NORMALIZATION or layer.name.startswith(FP32_NAME_PREFIXES)
        outputs = [layer.get_output(i) for i in range(layer.num_outputs)]
        if not sensitive or not outputs or any(t.dtype != trt.float32 for t in outputs):
            continue
        layer.precision = trt.float32
        for i in range(layer.num_outputs):
            layer.set_output_type(i, trt.float32)
        pinned.append(layer.name)
    return pinned


def _progress_monitor(trt, report: Callable[[str], None], every_s: float = 10.0):
    """An IProgressMonitor that reports top-level phases and, at most every ``every_s``, step counts."""

    class BuildProgress(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self.started: dict[str, tuple[float, int, bool]] = {}
            self.last_report = 0.0

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            top = parent_phase is None
            self.started[phase_name] = (time.monotonic(), num_steps, top)
            if top:
                report(f"TensorRT: {phase_name} ({num_steps} steps)")

        def step_complete(self, phase_name: str, step: int) -> bool:
            now = time.monotonic()
            if now - self.last_report >= every_s:
                self.last_report = now
                _, steps, _ = self.started.get(phase_name, (now, 0, False))
                report(f"TensorRT: {phase_name} step {step + 1}/{steps}")
            return True  # never cancel

        def phase_finish(self, phase_name: str) -> None:
            began, _, top = self.started.pop(phase_name, (time.monotonic(), 0, False))
            if top:
                report(f"TensorRT: {phase_name} done in {time.monotonic() - began:.1f} s")

    return BuildProgress()


def build_engine(onnx_path: str | Path, precision: str = "fp16", workspace_gb: float = 2.0,
                 timing_cache: str | Path | None = None,
                 report: Callable[[str], None] = LOG.info) -> bytes:
    """Build a serialized engine for a fused graph; the timing cache, if given, is read and updated."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if workspace_gb <= 0:
        raise ValueError(f"workspace_gb must be positive, got {workspace_gb}")
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"ONNX graph {onnx_path} does not exist")
    trt = import_tensorrt()
    started = time.monotonic()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [describe_parser_error(parser.get_error(i)) for i in range(parser.num_errors)]
        raise EngineBuildError(f"TensorRT {trt.__version__} cannot parse {onnx_path}:\n  " + "\n  ".join(errors))
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if precision == "fp16":
        if builder.platform_has_fast_fp16:
            config.set_flag(trt.BuilderFlag.FP16)
            config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
            pinned = keep_fp32_layers(network, trt)
            report(f"FP16 build; {len(pinned)} normalisation and pre/post layers kept in FP32")
        else:
            report("this GPU has no fast FP16; building FP32")
    cache_bytes = Path(timing_cache).read_bytes() if timing_cache and Path(timing_cache).is_file() else b""
    config.set_timing_cache(config.create_timing_cache(cache_bytes), False)
    monitor = _progress_monitor(trt, report)  # must outlive the build
    config.progress_monitor = monitor
    report(f"building a {precision} TensorRT {trt.__version__} engine from {onnx_path.name} "
           f"(workspace {workspace_gb:g} GiB); this takes minutes on a Jetson")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineBuildError(f"TensorRT failed to build an engine from {onnx_path}; its log above says why")
    if timing_cache:
        with atomic_path(timing_cache) as tmp:
            tmp.write_bytes(bytes(config.get_timing_cache().serialize()))
    engine = bytes(serialized)
    report(f"engine built in {time.monotonic() - started:.1f} s ({len(engine) / 1e6:.1f} MB)")
    return engine
