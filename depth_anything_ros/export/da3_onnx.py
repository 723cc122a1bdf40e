"""Export the DA3 fused graph of one camera resolution to ONNX, with its GraphInfo in the metadata.

The graph is ``(image uint8 HxWx3, head float32[4], focal float32[1]) -> (raw, depth) float32 HxW``:
V2's interface plus ``focal``, under the same metadata key, so every backend, the node and the offline
tools read DA3 graphs as they read V2's (``GraphInfo.version`` 3, ``model`` the variant).
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from pathlib import Path

import torch

from depth_anything_ros.core.files import atomic_path
from depth_anything_ros.export.da3_fused import Da3FusedModel
from depth_anything_ros.export.fused import InputOrder
from depth_anything_ros.export.graph_info import (
    DEPTH_OUTPUT,
    METADATA_KEY,
    RAW_OUTPUT,
    GraphInfo,
)
from depth_anything_ros.export.onnx_export import GRAPH_PRECISIONS, OPSET
from depth_anything_ros.model.da3 import Da3Model
from depth_anything_ros.model.da3_preprocess import PROCESS_RES

LOG = logging.getLogger(__name__)
DA3_VERSION = 3


def da3_graph_info(fused: Da3FusedModel, checkpoint_sha256: str, precision: str = "fp32") -> GraphInfo:
    """The GraphInfo of a DA3 fused model: metric graphs give metres, the others depth up to scale."""
    spec = fused.model.spec
    return GraphInfo(
        image_height=fused.image_hw[0], image_width=fused.image_hw[1], input_order=fused.input_order,
        network_height=fused.net_hw[0], network_width=fused.net_hw[1], encoder=spec.encoder.name,
        version=DA3_VERSION, kind="metric" if fused.metric else "relative-depth", max_depth=None,
        checkpoint_sha256=checkpoint_sha256, precision=precision, model=spec.name,
        process_res=fused.process_res, sky=spec.has_sky,
    )


def export_da3_onnx(
    model: Da3Model,
    image_hw: tuple[int, int],
    output: str | Path,
    input_order: InputOrder = "bgr",
    process_res: int = PROCESS_RES,
    checkpoint_sha256: str = "untrained",
    precision: str = "fp32",
    metric: bool | None = None,
) -> GraphInfo:
    """Write the DA3 fused graph atomically; return its info.

    ``precision`` "fp16" runs the network in FP16 with V2's FP32 islands (LayerNorm, attention scores,
    softmax; pre/post-processing, metric scaling and sky stay FP32): what a strongly typed TensorRT builds.
    The model itself is left as it was (an fp16 export runs on a copy).
    """
    import onnx

    if precision not in GRAPH_PRECISIONS:
        raise ValueError(f"precision must be one of {GRAPH_PRECISIONS}, got {precision!r}")
    if precision == "fp16":
        model = copy.deepcopy(model)
    fused = Da3FusedModel(model.eval(), image_hw, input_order, process_res, metric).eval()
    if precision == "fp16":
        fused.half_network()
    info = da3_graph_info(fused, checkpoint_sha256, precision)
    image = torch.zeros((*fused.image_hw, 3), dtype=torch.uint8)
    head = torch.tensor(info.default_head().as_array())
    focal = torch.ones(1, dtype=torch.float32)
    started = time.monotonic()
    output = Path(output)
    with atomic_path(output) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about constant shapes are expected here
        torch.onnx.export(
            fused, (image, head, focal), str(tmp), input_names=list(info.input_names),
            output_names=[RAW_OUTPUT, DEPTH_OUTPUT], opset_version=OPSET, dynamo=False, do_constant_folding=True,
        )
        graph = onnx.load(str(tmp))
        if [i.name for i in graph.graph.input] != list(info.input_names):
            raise RuntimeError(f"the exported DA3 graph has inputs {[i.name for i in graph.graph.input]}, expected "
                               f"{list(info.input_names)}")
        entry = graph.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, info.to_json()
        graph.producer_name = "depth_anything_ros"
        onnx.checker.check_model(graph)
        onnx.save(graph, str(tmp))
    LOG.info("exported DA3 %s %s (%dx%d -> network %dx%d) in %.1f s", info.model, output, *fused.image_hw,
             *fused.net_hw, time.monotonic() - started)
    return info

