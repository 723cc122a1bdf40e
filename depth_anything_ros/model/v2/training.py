"""The V1/V2 network as training sees it: camera uint8 batches in, output at camera resolution out."""

from __future__ import annotations

import torch
from torch import nn

from depth_anything_ros.model.v2.dpt import upsample
from depth_anything_ros.model.v2.fused import InputOrder, Preprocess
from depth_anything_ros.model.v2.network import DepthAnything
from depth_anything_ros.model.v2.preprocess import network_input_size
from depth_anything_ros.model.v2.spec import DEFAULT_INPUT_SIZE


class TrainingNetwork(nn.Module):
    """``(B, H, W, 3) uint8 or 0-255 float -> (B, H, W)``: the fused graph's own pre-processing, the network, and the
    graph's bilinear upsampling back to the camera, so what is trained is what gets exported.

    Unlike the exported graph, the positional embedding is interpolated on every call, so it
    trains with the encoder when the encoder is unfrozen. Camera intrinsics (``k``) are not needed.
    """

    needs_k = False

    def __init__(self, model: DepthAnything, image_hw: tuple[int, int], input_order: InputOrder = "bgr",
                 input_size: int = DEFAULT_INPUT_SIZE) -> None:
        super().__init__()
        self.model = model
        self.image_hw = tuple(image_hw)
        self.net_hw = network_input_size(*image_hw, input_size)
        self.preprocess = Preprocess(self.image_hw, self.net_hw, input_order)

    def network_input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (or 0-255 float) BGR batches -> the normalised network input."""
        return self.preprocess(images)

    def forward(self, images: torch.Tensor, features: bool = False, k: torch.Tensor | None = None):
        """(B, H, W) output at camera resolution; with ``features``, also the encoder's deepest tokens."""
        out, tokens = self.model.forward_with_features(self.preprocess(images))
        out = upsample(out.unsqueeze(1), self.image_hw).squeeze(1)
        return (out, tokens) if features else out
