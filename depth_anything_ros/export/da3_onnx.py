"""Export the DA3 fused graph of one camera resolution to ONNX, with its GraphInfo in the metadata.

The graph is ``(image uint8 HxWx3, head float32[4], focal float32[1]) -> (raw, depth) float32 HxW``:
V2's interface plus ``focal``, under the same metadata key, so every backend, the node and the offline
tools read DA3 graphs as they read V2's (``GraphInfo.version`` 3, ``model`` the variant).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from depth_anything_ros.export.da3_fused import Da3FusedModel
from depth_anything_ros.export.fused import InputOrder
from depth_anything_ros.export.graph_info import GraphInfo
from depth_anything_ros.export.onnx_export import model_for_precision, write_fused_graph
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
    model = model_for_precision(model, precision)
    fused = Da3FusedModel(model.eval(), image_hw, input_order, process_res, metric).eval()
    if precision == "fp16":
        fused.half_network()
    info = da3_graph_info(fused, checkpoint_sha256, precision)
    started = time.monotonic()
    write_fused_graph(fused, info, output)
    LOG.info("exported DA3 %s %s (%dx%d -> network %dx%d) in %.1f s", info.model, output, *fused.image_hw,
             *fused.net_hw, time.monotonic() - started)
    return info

