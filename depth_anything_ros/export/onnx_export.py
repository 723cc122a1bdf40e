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
from depth_anything_ros.export.graph_info import (
    DEPTH_OUTPUT,
    FOCAL_INPUT,
    HEAD_INPUT,
    IMAGE_INPUT,
    METADATA_KEY,
    RAW_OUTPUT,
    GraphInfo,
)
from depth_anything_ros.model import DEFAULT_INPUT_SIZE, family_of_network

LOG = logging.getLogger(__name__)
GRAPH_PRECISIONS = ("fp32", "fp16")
OPSET = 17  # TensorRT 10 parses up to opset 20; 17 brings LayerNormalization
BATCH_AXIS = "batch"  # the name of a batched graph's dynamic leading dimension


def graph_info(fused: torch.nn.Module, checkpoint_sha256: str, precision: str = "fp32") -> GraphInfo:
    """The GraphInfo of a fused module of any family (its ``graph_fields``) with the weights' hash and precision."""
    return GraphInfo(**fused.graph_fields(), checkpoint_sha256=checkpoint_sha256, precision=precision)


def model_for_precision(model, precision: str):
    """The model to export: itself for fp32, a copy for fp16 (``half_network`` must not touch the caller's)."""
    if precision not in GRAPH_PRECISIONS:
        raise ValueError(f"precision must be one of {GRAPH_PRECISIONS}, got {precision!r}")
    return copy.deepcopy(model) if precision == "fp16" else model


def fix_output_shapes(graph, info: GraphInfo) -> None:
    """Declare a batched graph's outputs as batch x H x W (the tracer leaves H and W symbolic after dynamic axes)."""
    for output in graph.graph.output:
        dims = output.type.tensor_type.shape.dim
        for dim, size in zip(dims[1:], info.image_hw, strict=True):
            dim.Clear()
            dim.dim_value = size


def write_fused_graph(fused: torch.nn.Module, info: GraphInfo, output: str | Path) -> None:
    """THE writer of a fused graph (V1/V2 and DA3): traced with example inputs of ``info.input_names`` (a uint8
    image, the graph's default head, focal 1), checked to keep exactly those inputs, ``info`` in the metadata,
    written atomically."""
    import onnx

    examples = {IMAGE_INPUT: torch.zeros((*info.image_hw, 3), dtype=torch.uint8),
                HEAD_INPUT: torch.tensor(info.default_head().as_array()),
                FOCAL_INPUT: torch.ones(1, dtype=torch.float32)}
    names = list(info.input_names)
    dynamic = None
    if info.batched:  # traced with two images so that no size-1 batch is folded into the graph
        examples = {name: torch.stack([value, value]) for name, value in examples.items()}
        dynamic = {name: {0: BATCH_AXIS} for name in (*names, RAW_OUTPUT, DEPTH_OUTPUT)}
    with atomic_path(output) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about constant shapes are expected here
        torch.onnx.export(fused, tuple(examples[n] for n in names), str(tmp), input_names=names,
                          output_names=[RAW_OUTPUT, DEPTH_OUTPUT], opset_version=OPSET, dynamo=False,
                          do_constant_folding=True, dynamic_axes=dynamic)
        graph = onnx.load(str(tmp))
        if [i.name for i in graph.graph.input] != names:
            raise RuntimeError(f"the exported graph has inputs {[i.name for i in graph.graph.input]}, expected {names}")
        if info.batched:
            fix_output_shapes(graph, info)
        entry = graph.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, info.to_json()
        graph.producer_name = "depth_anything_ros"
        onnx.checker.check_model(graph)
        onnx.save(graph, str(tmp))


def export_graph(
    network: Any,
    image_hw: tuple[int, int],
    output: str | Path,
    input_order: str = "bgr",
    input_size: int = DEFAULT_INPUT_SIZE,
    checkpoint_sha256: str = "untrained",
    precision: str = "fp32",
    max_batch: int = 0,
) -> GraphInfo:
    """THE export of a network of any family: its fused graph for one camera resolution, written atomically.

    V1/V2: ``(image uint8 HxWx3, head float32[4]) -> (raw, depth)``, ``input_size`` the network input's short
    side; DA3: the same plus ``focal`` float32[1], resized to its own process_res. ``precision`` "fp16" exports
    the network body in FP16 with FP32 islands (pre/post-processing, LayerNorm, attention scores and softmax) as
    explicit Casts: what a strongly typed TensorRT builds. The network is left as it was (fp16 runs on a copy).
    ``max_batch`` N >= 1 gives the batched graph: a dynamic leading dimension of 1..N on every input and output
    (image BxHxWx3, head Bx4, focal Bx1 -> BxHxW), each image with its own head and focal; 0 the one-image graph.
    """
    network = model_for_precision(network, precision)
    fused = family_of_network(network).fused(network.eval(), image_hw, input_order, input_size).eval()
    if precision == "fp16":
        fused.half_network()
    if max_batch:
        fused.batched(max_batch)
    info = graph_info(fused, checkpoint_sha256, precision)
    started = time.monotonic()
    write_fused_graph(fused, info, output)
    LOG.info("exported the %s graph %s (%s%dx%d -> network %dx%d) in %.1f s", info.model_name, output,
             f"1..{max_batch} x " if max_batch else "", *info.image_hw, *fused.net_hw, time.monotonic() - started)
    return info


def export_for_resolution(make_model: Callable[[], tuple[Any, str]], image_hw: tuple[int, int],
                          directory: str | Path, stem: str, input_order: str = "bgr",
                          input_size: int = DEFAULT_INPUT_SIZE, precision: str = "fp32",
                          max_batch: int = 0) -> Path:
    """THE graph of one camera resolution: ``directory/{stem}-{H}x{W}-{order}-{size}[-fp16][-bN].onnx``.

    Exported once (under a lock shared by processes) and reused after; ``make_model`` -> (model, sha256)
    runs only when the file is missing. The factory (checkpoints) and the CLI (untrained demo models) use it.
    ``input_size`` is the one the name records (the family's ``graph_stem`` gives it; DA3: its process_res).
    """
    suffix = ("-fp16" if precision == "fp16" else "") + (f"-b{max_batch}" if max_batch else "")
    path = Path(directory) / f"{stem}-{image_hw[0]}x{image_hw[1]}-{input_order}-{input_size}{suffix}.onnx"
    with file_lock(f"{path}.lock"):
        if not path.is_file():
            LOG.info("exporting the fused graph for %dx%d to %s", *image_hw, path)
            model, sha = make_model()
            export_graph(model, image_hw, path, input_order, input_size, sha, precision, max_batch)
    return path
