"""ONNX graph -> serialized TensorRT engine (10.3 to 11.x), strongly typed, with parser errors per node.

Precision is decided by the ONNX graph, not the builder: an ``fp16`` graph (``export --precision fp16``)
computes its network in FP16 with FP32 casts around pre/post-processing, LayerNorm and attention
scores; an ``fp32`` graph is built with TF32 off. No weakly typed API (the FP16 builder flag, precision
constraints, per-layer precisions and output types) is used: TensorRT 11 removed it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from depth_anything_ros.core.files import atomic_path
from depth_anything_ros.export import read_graph_info
from depth_anything_ros.export.graph_info import GraphInfo
from depth_anything_ros.runtime.config import PRECISIONS
from depth_anything_ros.runtime.nvidia import import_tensorrt, reach_gpu

LOG = logging.getLogger(__name__)


class EngineBuildError(RuntimeError):
    """TensorRT could not parse the graph or build the engine; the message says where."""


def describe_parser_error(error) -> str:
    """One line per ONNX parser error: the node (index, name, operator), the code and the text."""
    node = error.node()
    where = "graph" if node < 0 else f"node {node} '{error.node_name()}' ({error.node_operator()})"
    return f"{where}: {error.code()}: {error.desc()}"


def network_flags(trt) -> int:
    """STRONGLY_TYPED where the bindings have the flag (10.x); 0 on 11.x, where every network is."""
    flag = getattr(getattr(trt, "NetworkDefinitionCreationFlag", None), "STRONGLY_TYPED", None)
    return 0 if flag is None else 1 << int(flag)


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


def batch_profile(builder, network, info: GraphInfo):
    """The optimization profile of a batched graph: every input from batch 1 (min) to ``max_batch`` (opt and max):
    kernels are tuned for the full rig, and a cycle with fewer cameras still runs."""
    profile = builder.create_optimization_profile()
    for index in range(network.num_inputs):
        tensor = network.get_input(index)
        rest = tuple(tensor.shape)[1:]
        profile.set_shape(tensor.name, (1, *rest), (info.max_batch, *rest), (info.max_batch, *rest))
    return profile


def build_engine(onnx_path: str | Path, precision: str = "fp16", workspace_gb: float = 2.0,
                 timing_cache: str | Path | None = None,
                 report: Callable[[str], None] = LOG.info) -> bytes:
    """Build a serialized engine for a fused graph of ``precision``; the timing cache is read and updated."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if workspace_gb <= 0:
        raise ValueError(f"workspace_gb must be positive, got {workspace_gb}")
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"ONNX graph {onnx_path} does not exist")
    info = read_graph_info(onnx_path)
    graph_precision = info.precision
    if graph_precision != precision:
        raise EngineBuildError(
            f"{onnx_path} is an {graph_precision} graph and TensorRT builds strongly typed networks, so it "
            f"cannot become an {precision} engine; export one with: depth-anything-ros export --precision {precision}")
    trt = import_tensorrt()
    started = time.monotonic()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = reach_gpu(trt.Builder, logger)
    network = builder.create_network(network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [describe_parser_error(parser.get_error(i)) for i in range(parser.num_errors)]
        raise EngineBuildError(f"TensorRT {trt.__version__} cannot parse {onnx_path}:\n  " + "\n  ".join(errors))
    config = builder.create_builder_config()
    if info.batched:
        config.add_optimization_profile(batch_profile(builder, network, info))
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    tf32 = getattr(trt.BuilderFlag, "TF32", None)
    if precision == "fp32" and tf32 is not None:
        config.clear_flag(tf32)  # fp32 means FP32: no TF32 matrix products
    cache_bytes = Path(timing_cache).read_bytes() if timing_cache and Path(timing_cache).is_file() else b""
    if not config.set_timing_cache(config.create_timing_cache(cache_bytes), False):
        raise EngineBuildError(f"TensorRT {trt.__version__} refused the timing cache {timing_cache}; delete it")
    monitor = _progress_monitor(trt, report)  # must outlive the build
    config.progress_monitor = monitor
    batch = f", batch 1..{info.max_batch}" if info.batched else ""
    report(f"building a strongly typed {precision} TensorRT {trt.__version__} engine from {onnx_path.name} "
           f"(workspace {workspace_gb:g} GiB{batch}); this takes minutes on a Jetson")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineBuildError(f"TensorRT failed to build an engine from {onnx_path}; its log above says why")
    if timing_cache:
        with atomic_path(timing_cache) as tmp:
            tmp.write_bytes(bytes(config.get_timing_cache().serialize()))
    engine = bytes(serialized)
    report(f"engine built in {time.monotonic() - started:.1f} s ({len(engine) / 1e6:.1f} MB)")
    return engine
