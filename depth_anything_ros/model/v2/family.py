"""Depth Anything V1 and V2 behind the family seam: ``.pth`` state dicts, DINOv2 + DPT, Sigmoid x max_depth heads."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from depth_anything_ros.core.files import file_sha256
from depth_anything_ros.model.family_base import CheckpointRequest, ModelFamily, TrainableParts
from depth_anything_ros.model.v2.spec import DEFAULT_INPUT_SIZE


class V2Family(ModelFamily):
    name = "v2"
    checkpoint_layout = "a V1/V2 .pth state dict (with --version)"
    metres_from_max_depth = True

    def claims(self, request: CheckpointRequest) -> bool:
        return not request.model  # DA3 claims its files first; every other checkpoint (or none) is a .pth

    def owns(self, network) -> bool:
        from depth_anything_ros.model.v2.network import DepthAnything

        return isinstance(network, DepthAnything)

    def check(self, request: CheckpointRequest) -> None:
        if request.checkpoint is not None and request.version is None:
            raise ValueError("--version {1,2} is required with --checkpoint: V1 and V2 checkpoints have identical "
                             "keys, and the version decides which encoder blocks feed the depth head")

    def weights_file(self, checkpoint: str | Path) -> Path:
        return Path(checkpoint)

    def variant(self, request: CheckpointRequest) -> str:
        return f"v{request.version or 2}-{request.encoder}"  # as GraphInfo.model_name names V1/V2 graphs

    def gives_metres(self, request: CheckpointRequest) -> bool:
        return request.metric

    def load(self, request: CheckpointRequest):
        from depth_anything_ros.model.v2.build import build_model

        self.check(request)
        if request.spec is not None:  # an architecture of its own (the tests' tiny networks)
            from depth_anything_ros.model.v2.build import untrained_model
            from depth_anything_ros.model.v2.checkpoint import load_model

            if request.checkpoint is None:
                return untrained_model(request.spec), "untrained"
            return load_model(request.checkpoint, request.spec), file_sha256(request.checkpoint)
        return build_model(request.checkpoint, request.encoder, request.version or 2, request.metric,
                           request.max_depth or None)

    def save(self, network, stem: Path, extra: dict) -> Path:
        from depth_anything_ros.model.v2.checkpoint import save_checkpoint

        return save_checkpoint(network, Path(stem).with_suffix(".pth"), extra)

    def graph_stem(self, request: CheckpointRequest, sha: str) -> tuple[str, int]:
        kind = f"metric{request.max_depth:g}" if request.metric else "relative"
        return f"{sha[:16]}-{request.encoder}-v{request.version}-{kind}", request.input_size

    def fused(self, network, image_hw, input_order: str, input_size: int):
        from depth_anything_ros.model.v2.fused import FusedDepthModel

        return FusedDepthModel(network.eval(), image_hw, input_order, input_size)

    def metric_network(self, network, max_depth: float | None):
        """A metric start with this range trains as it is; otherwise a new metric head on the start's encoder
        (the official recipe), keeping the head's weights when only the range changes."""
        from depth_anything_ros.model.v2.network import DepthAnything

        spec = network.spec
        if spec.kind == "metric" and spec.max_depth == max_depth:
            return network
        model = DepthAnything(dataclasses.replace(spec, kind="metric", max_depth=max_depth))
        model.pretrained.load_state_dict(network.pretrained.state_dict())
        if spec.kind == "metric":
            model.depth_head.load_state_dict(network.depth_head.state_dict())
        return model

    def training_network(self, network, image_hw, input_order: str = "bgr", input_size: int = DEFAULT_INPUT_SIZE):
        from depth_anything_ros.model.v2.training import TrainingNetwork

        return TrainingNetwork(network, image_hw, input_order, input_size)

    def trainable_parts(self, network) -> TrainableParts:
        """The official head has no skip input at the deepest fusion block: its first residual unit never runs;
        the encoder's mask token is never used either."""
        return TrainableParts(network.pretrained, network.depth_head,
                              [network.depth_head.scratch.refinenet4.resConfUnit1], [network.pretrained.mask_token])

    def output_kind(self, network) -> str:
        return network.spec.kind

    def training_max_depth(self, network) -> float:
        return float(network.spec.max_depth or 0.0)

    def frozen_encoder(self, network, device):
        import copy

        encoder, taps = copy.deepcopy(network.pretrained).to(device).eval().requires_grad_(False), network.spec.taps
        return lambda x: encoder(x, taps)[-1]

    def lidar_student(self, network, max_depth: float | None):
        """LiDAR frames train a metric head (Sigmoid x max_depth) on the student's encoder."""
        return self.metric_network(network, max_depth)

    def metric_gain(self, network, scale: float, k, image_hw) -> float | None:
        return None  # a new metric head learns its range from max_depth

    def apply_gain(self, network, gain: float) -> None:
        raise ValueError("V1/V2 metric heads are scaled by max_depth, not by a gain")

    def description(self, network, image_hw, input_size: int) -> dict:
        return {"input_size": input_size}

