"""Depth Anything 3 behind the family seam: hub folders (config.json + weights), ViT + DPT/DualDPT, metres from focal.

Relative DA3 networks become metric the DA3 way when trained on LiDAR: same architecture, depth * focal / 300 in
metres; their config.json then says ``"depth_anything_ros": {"metric": true}``, which the loader honours.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path

import numpy as np

from depth_anything_ros.core.camera import focal_at_network
from depth_anything_ros.model.da3.spec import (
    METRIC_FOCAL_DIVISOR,
    OUR_CONFIG,
    checkpoint_is_metric,
    da3_checkpoint_files,
    read_model_name,
    uses_da3,
)
from depth_anything_ros.model.family_base import CheckpointRequest, ModelFamily, TrainableParts

UNUSED_IN_TRAINING = ("cam_enc", "cam_dec", "gs_head")  # pose and Gaussian parts: never in a depth forward


class Da3Family(ModelFamily):
    name = "da3"
    checkpoint_layout = "a DA3 folder (config.json + model.safetensors) or weights file beside its config.json"
    metres_from_max_depth = False

    def claims(self, request: CheckpointRequest) -> bool:
        return uses_da3(request.checkpoint, request.model)

    def owns(self, network) -> bool:
        from depth_anything_ros.model.da3.network import Da3Model

        return isinstance(network, Da3Model)

    def check(self, request: CheckpointRequest) -> None:
        """DA3 checkpoints name their model in config.json: nothing a caller must add."""

    def weights_file(self, checkpoint: str | Path) -> Path:
        return da3_checkpoint_files(checkpoint)[0]

    def variant(self, request: CheckpointRequest) -> str:
        return (request.model or read_model_name(da3_checkpoint_files(request.checkpoint)[1])).lower()

    def gives_metres(self, request: CheckpointRequest) -> bool:
        return checkpoint_is_metric(request.checkpoint, request.model)

    def load(self, request: CheckpointRequest):
        from depth_anything_ros.model.da3.checkpoint import load_da3_with_sha

        if request.checkpoint is None:
            raise ValueError(f"{request.model}: give the DA3 checkpoint folder (depth-anything-ros download "
                             f"{request.model or 'da3-small'})")
        return load_da3_with_sha(request.checkpoint, request.model or None)

    def save(self, network, stem: Path, extra: dict) -> Path:
        """The folder ``stem/`` in the hub layout; ``extra`` goes under config.json's ``depth_anything_ros``."""
        from depth_anything_ros.model.da3.checkpoint import save_da3

        folder = Path(stem).with_suffix("")
        save_da3(network, folder, {OUR_CONFIG: {"metric": network.spec.metric, **extra}})
        return folder

    def graph_stem(self, request: CheckpointRequest, sha: str) -> tuple[str, int]:
        from depth_anything_ros.model.da3.preprocess import PROCESS_RES

        return f"{sha[:16]}-{self.variant(request)}", PROCESS_RES

    def fused(self, network, image_hw, input_order: str, input_size: int):
        from depth_anything_ros.model.da3.fused import Da3FusedModel

        return Da3FusedModel(network.eval(), image_hw, input_order)

    def metric_network(self, network, max_depth: float | None):
        from depth_anything_ros.model.da3.network import Da3Model

        if network.spec.metric:
            return network
        model = Da3Model(dataclasses.replace(network.spec, metric=True))  # same architecture, same weights
        model.load_state_dict(network.state_dict())
        return model

    def training_network(self, network, image_hw, input_order: str = "bgr", input_size: int = 0):
        from depth_anything_ros.model.da3.training import Da3TrainingNetwork

        return Da3TrainingNetwork(network, image_hw, input_order)

    def trainable_parts(self, network) -> TrainableParts:
        """Only depth trains: the camera encoder/decoder (and GIANT's Gaussian head), the DualDPT ray branch and
        the mono/metric sky branch never run in the training forward."""
        unused = [m for name in UNUSED_IN_TRAINING if (m := getattr(network, name, None)) is not None]
        unused += [m for name, m in network.head.scratch.named_children()
                   if name.endswith("_aux") or name == "sky_output_conv2"]
        return TrainableParts(network.backbone, network.head, unused, [])

    def output_kind(self, network) -> str:
        return "metric" if network.spec.metric else "relative-depth"

    def training_max_depth(self, network) -> float:
        return math.inf

    def frozen_encoder(self, network, device):
        encoder = copy.deepcopy(network.backbone).to(device).eval().requires_grad_(False)
        return lambda x: encoder(x)[-1]

    def lidar_student(self, network, max_depth: float | None):
        """A DA3 student keeps its own output (metres for a metric model, depth up to scale otherwise)."""
        return network

    def metric_gain(self, network, scale: float, k, image_hw) -> float | None:
        """A relative DA3 network's depth * focal / 300 matches ``scale * raw`` with this gain (the training
        frames' median focal at the network input)."""
        from depth_anything_ros.model.da3.fused import Da3Preprocess

        if network.spec.metric:
            return None
        focal = float(np.median(focal_at_network(np.asarray(k), image_hw, Da3Preprocess(image_hw, "bgr").net_hw)))
        if not focal > 0:
            raise ValueError(f"{network.spec.name} becomes metric through the focal length, but the stored camera K "
                             f"has focal {focal:g}: check camera_info")
        return scale * METRIC_FOCAL_DIVISOR / focal

    def apply_gain(self, network, gain: float) -> None:
        """depth = exp(last conv's first channel): log(gain) on its bias."""
        import torch

        last = network.head.scratch.output_conv2[-1]
        with torch.no_grad():
            last.bias[0] += float(np.log(gain))

    def description(self, network, image_hw, input_size: int) -> dict:
        from depth_anything_ros.model.da3.fused import Da3Preprocess

        return {"model": network.spec.name, "network_hw": list(Da3Preprocess(image_hw, "bgr").net_hw),
                "metres": f"depth * focal / {METRIC_FOCAL_DIVISOR:g} (focal: mean fx, fy at the network input)"}
