"""Depth Anything: DINOv2 encoder + DPT head, relative (ReLU) or metric (Sigmoid x max_depth)."""

from __future__ import annotations

import torch
from torch import nn

from depth_anything_ros.model.v2.dinov2 import DinoVisionTransformer
from depth_anything_ros.model.v2.dpt import DPTHead
from depth_anything_ros.model.v2.spec import ModelSpec


class DepthAnything(nn.Module):
    """The network of Depth Anything V1/V2; state-dict keys ``pretrained.*`` and ``depth_head.*``."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        if list(spec.taps) != sorted(spec.taps):
            raise ValueError(f"taps must be increasing, got {spec.taps}")
        self.spec = spec
        self.pretrained = DinoVisionTransformer(spec.encoder)
        self.depth_head = DPTHead(spec.encoder.embed_dim, spec.features, spec.out_channels, spec.kind == "metric")

    def forward(self, x: torch.Tensor, pos_embed: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised (B, 3, h, w) image, h and w multiples of 14 -> (B, h, w) network output.

        Relative models return affine-invariant inverse depth; metric models metres.
        """
        return self.forward_with_features(x, pos_embed)[0]

    def forward_with_features(self, x: torch.Tensor, pos_embed: torch.Tensor | None = None
                              ) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward``'s output and the encoder's deepest tapped patch tokens (B, N, C), final norm applied."""
        p = self.spec.encoder.patch_size
        grid_h, grid_w = x.shape[-2] // p, x.shape[-1] // p
        tokens = self.pretrained(x, self.spec.taps, pos_embed)
        out = self.depth_head(tokens, grid_h, grid_w, p)
        if self.spec.kind == "metric":
            out = out * self.spec.max_depth
        return out.squeeze(1), tokens[-1]
