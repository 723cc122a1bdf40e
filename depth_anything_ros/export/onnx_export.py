"""Export the fused graph of one camera resolution to ONNX."""

from __future__ import annotations

import copy
import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from depth_anything_ros.core.files import atomic_path, file_lock
from depth_anything_ros.export.fused import FusedDepthModel, InputOrder
from depth_anything_ros.export.graph_info import (
    DEPTH_OUTPUT,
    FOCAL_INPUT,
    HEAD_INPUT,
    IMAGE_INPUT,
    METADATA_KEY,
    RAW_OUTPUT,
    GraphInfo,
)
from depth_anything_ros.model import DepthAnything
from depth_anything_ros.model.spec import DEFAULT_INPUT_SIZE

LOG = logging.getLogger(__name__)
GRAPH_PRECISIONS = ("fp32", "fp16")
OPSET = 17  # TensorRT 10 parses up to opset 20; 17 brings LayerNormalization


def graph_info(fused: FusedDepthModel, checkpoint_sha256: str, precision: str = "fp32") -> GraphInfo:
    spec = fused.model.spec
    return GraphInfo(
        precision=precision,
        image_height=fused.image_hw[0],
        image_width=fused.image_hw[1],
        input_order=fused.input_order,
        network_height=fused.net_hw[0],
        network_width=fused.net_hw[1],
        encoder=spec.encoder.name,
        version=spec.version,
        kind=spec.kind,
        max_depth=spec.max_depth,
        checkpoint_sha256=checkpoint_sha256,
    )


def model_for_precision(model, precision: str):
    """The model to export: itself for fp32, a copy for fp16 (``half_network`` must not touch the caller's)."""
    if precision not in GRAPH_PRECISIONS:
        raise ValueError(f"precision must be one of {GRAPH_PRECISIONS}, got {precision!r}")
    return copy.deepcopy(model) if precision == "fp16" else model


def write_fused_graph(fused: torch.nn.Module, info: GraphInfo, output: str | Path) -> None:
    """THE writer of a fused graph (V1/V2 and DA3): traced with example inputs of ``info.input_names`` (a uint8
    image, the graph's default head, focal 1), checked to keep exactly those inputs, ``info`` in the metadata,
    written atomically."""
    import onnx

    examples = {IMAGE_INPUT: torch.zeros((*info.image_hw, 3), dtype=torch.uint8),
                HEAD_INPUT: torch.tensor(info.default_head().as_array()),
                FOCAL_INPUT: torch.ones(1, dtype=torch.float32)}
    names = list(info.input_names)
    with atomic_path(output) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about constant shapes are expected here
        torch.onnx.export(fused, tuple(examples[n] for n in names), str(tmp), input_names=names,
                          output_names=[RAW_OUTPUT, DEPTH_OUTPUT], opset_version=OPSET, dynamo=False,
                          do_constant_folding=True)
        graph = onnx.load(str(tmp))
        if [i.name for i in graph.graph.input] != names:
            raise RuntimeError(f"the exported graph has inputs {[i.name for i in graph.graph.input]}, expected {names}")
        entry = graph.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, info.to_json()
        graph.producer_name = "depth_anything_ros"
        onnx.checker.check_model(graph)
        onnx.save(graph, str(tmp))


def export_onnx(
    model: DepthAnything,
    image_hw: tuple[int, int],
    output: str | Path,
    input_order: InputOrder = "bgr",
    input_size: int = DEFAULT_INPUT_SIZE,
    checkpoint_sha256: str = "untrained",
    precision: str = "fp32",
) -> GraphInfo:
    """Write the fused graph ``(image uint8 HxWx3, head float32[4]) -> (raw, depth)``; return its info.

    ``precision`` "fp16" exports the network body in FP16 with FP32 islands (pre/post-processing,
    LayerNorm, attention scores and softmax) as explicit Casts: what a strongly typed TensorRT builds.
    The model itself is left as it was (the export runs on a copy).
    """
    model = model_for_precision(model, precision)
    fused = FusedDepthModel(model.eval(), image_hw, input_order, input_size).eval()
    if precision == "fp16":
        fused.half_network()
    info = graph_info(fused, checkpoint_sha256, precision)
    started = time.monotonic()
    write_fused_graph(fused, info, output)
    LOG.info("exported %s (%dx%d -> network %dx%d) in %.1f s", output, *info.image_hw, *fused.net_hw,
             time.monotonic() - started)
    return info


def export_for_resolution(make_model: Callable[[], tuple[Any, str]], image_hw: tuple[int, int],
                          directory: str | Path, stem: str, input_order: InputOrder = "bgr",
                          input_size: int = DEFAULT_INPUT_SIZE, precision: str = "fp32",
                          export: Callable[..., GraphInfo] | None = None) -> Path:
    """THE graph of one camera resolution: ``directory/{stem}-{H}x{W}-{order}-{size}[-fp16].onnx``.

    Exported once (under a lock shared by processes) and reused after; ``make_model`` -> (model, sha256)
    runs only when the file is missing. The factory (checkpoints) and the CLI (untrained demo models) use it.
    ``export`` (default ``export_onnx``; DA3: ``da3_onnx.export_da3_onnx``, ``input_size`` its process_res)
    is called as ``export(model, image_hw, path, input_order, input_size, sha256, precision)``.
    """
    suffix = "-fp16" if precision == "fp16" else ""
    path = Path(directory) / f"{stem}-{image_hw[0]}x{image_hw[1]}-{input_order}-{input_size}{suffix}.onnx"
    with file_lock(f"{path}.lock"):
        if not path.is_file():
            LOG.info("exporting the fused graph for %dx%d to %s", *image_hw, path)
            model, sha = make_model()
            (export or export_onnx)(model, image_hw, path, input_order, input_size, sha, precision)
    return path
