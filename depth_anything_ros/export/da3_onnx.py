"""Export the DA3 fused graph of one camera resolution to ONNX, its variant recorded in the metadata.

The graph is ``(image uint8 HxWx3, focal float32[1]) -> depth float32 HxW``. Its metadata lives
under its own key (``DA3_METADATA_KEY``), not the V2 ``GraphInfo`` key: the V2 runtimes feed a
``head`` input that a DA3 graph does not have, so they refuse a DA3 graph as "not a fused graph"
until item 3 of issue 16 teaches them this one.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from depth_anything_ros.core.files import atomic_path
from depth_anything_ros.export.da3_fused import Da3FusedModel
from depth_anything_ros.export.fused import InputOrder
from depth_anything_ros.export.graph_info import DEPTH_OUTPUT, IMAGE_INPUT
from depth_anything_ros.export.onnx_export import OPSET
from depth_anything_ros.model.da3 import Da3Model
from depth_anything_ros.model.da3_preprocess import PROCESS_RES

LOG = logging.getLogger(__name__)
DA3_METADATA_KEY = "depth_anything_ros.da3"
FOCAL_INPUT = "focal"


@dataclass(frozen=True)
class Da3GraphInfo:
    """What a DA3 fused graph is: camera and network sizes, colour order, variant and output kind."""

    image_height: int
    image_width: int
    input_order: str
    network_height: int
    network_width: int
    process_res: int
    variant: str
    output: str  # "metric" (metres, uses focal) or "relative-depth" (depth up to scale, focal unused)
    sky: bool  # sky pixels are +Inf
    checkpoint_sha256: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Da3GraphInfo:
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError) as error:
            raise ValueError(f"graph metadata is not a depth_anything_ros DA3 graph info: {error}") from error


def da3_graph_info(fused: Da3FusedModel, checkpoint_sha256: str) -> Da3GraphInfo:
    spec = fused.model.spec
    return Da3GraphInfo(
        image_height=fused.image_hw[0], image_width=fused.image_hw[1], input_order=fused.input_order,
        network_height=fused.net_hw[0], network_width=fused.net_hw[1], process_res=fused.process_res,
        variant=spec.name, output="metric" if fused.metric else "relative-depth", sky=spec.has_sky,
        checkpoint_sha256=checkpoint_sha256,
    )


def export_da3_onnx(
    model: Da3Model,
    image_hw: tuple[int, int],
    output: str | Path,
    input_order: InputOrder = "bgr",
    process_res: int = PROCESS_RES,
    checkpoint_sha256: str = "untrained",
    metric: bool | None = None,
) -> Da3GraphInfo:
    """Write the DA3 fused graph ``(image, focal) -> depth`` atomically; return its info."""
    import onnx

    fused = Da3FusedModel(model.eval(), image_hw, input_order, process_res, metric).eval()
    info = da3_graph_info(fused, checkpoint_sha256)
    image = torch.zeros((*fused.image_hw, 3), dtype=torch.uint8)
    focal = torch.ones(1, dtype=torch.float32)
    started = time.monotonic()
    output = Path(output)
    with atomic_path(output) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about constant shapes are expected here
        torch.onnx.export(
            fused, (image, focal), str(tmp), input_names=[IMAGE_INPUT, FOCAL_INPUT],
            output_names=[DEPTH_OUTPUT], opset_version=OPSET, dynamo=False, do_constant_folding=True,
        )
        graph = onnx.load(str(tmp))
        if FOCAL_INPUT not in {i.name for i in graph.graph.input}:
            # A relative graph ignores focal and the tracer drops it; keep one interface for the node.
            graph.graph.input.append(onnx.helper.make_tensor_value_info(FOCAL_INPUT, onnx.TensorProto.FLOAT, [1]))
        entry = graph.metadata_props.add()
        entry.key, entry.value = DA3_METADATA_KEY, info.to_json()
        graph.producer_name = "depth_anything_ros"
        onnx.checker.check_model(graph)
        onnx.save(graph, str(tmp))
    LOG.info("exported DA3 %s %s (%dx%d -> network %dx%d) in %.1f s", info.variant, output, *fused.image_hw,
             *fused.net_hw, time.monotonic() - started)
    return info
