"""The DA3 network as training sees it: camera uint8 batches (and their K) in, output at camera resolution out."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from depth_anything_ros.core.camera import focal_at_network
from depth_anything_ros.model.da3.fused import Da3Preprocess
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.preprocess import metric_depth
from depth_anything_ros.model.v2.dpt import upsample
from depth_anything_ros.model.v2.fused import InputOrder


class Da3TrainingNetwork(nn.Module):
    """``(B, H, W, 3) uint8 or 0-255 float [, k (B, 3, 3)] -> (B, H, W)``: the DA3 fused graph's pre-processing
    (official two-step resize, normalisation), the network and the bilinear upsampling back to the camera.

    The output is what the graph's ``raw`` is without the sky step: metres for a metric model (each image's K is
    then required: metres = depth * focal / 300 with ``focal_at_network``), depth up to scale otherwise. The
    positional embedding is interpolated on every call, so it trains with the encoder.
    """

    def __init__(self, model: Da3Model, image_hw: tuple[int, int], input_order: InputOrder = "bgr") -> None:
        super().__init__()
        self.model = model
        self.image_hw = tuple(image_hw)
        self.preprocess = Da3Preprocess(self.image_hw, input_order)
        self.net_hw = self.preprocess.net_hw

    @property
    def needs_k(self) -> bool:
        """Metric DA3 scales its depth by each image's focal length."""
        return self.model.spec.metric

    def network_input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (or 0-255 float) BGR batches -> the normalised network input."""
        return self.preprocess(images)

    def forward(self, images: torch.Tensor, features: bool = False, k: torch.Tensor | np.ndarray | None = None):
        """(B, H, W) output at camera resolution; with ``features``, also the deepest tapped tokens (B, N, C)."""
        x = self.preprocess(images)
        spec = self.model.spec
        p = spec.encoder.patch_size
        tokens = self.model.backbone(x)
        out = self.model.head(tokens, x.shape[-2] // p, x.shape[-1] // p, p)["depth"]
        if spec.metric:
            if k is None:
                raise ValueError(f"{spec.name} gives metres only with each frame's camera K (k=)")
            k = k.detach().cpu().numpy() if isinstance(k, torch.Tensor) else np.asarray(k)
            focal = torch.from_numpy(focal_at_network(k, self.image_hw, self.net_hw)).to(out).view(-1, 1, 1)
            out = metric_depth(out, focal, focal)
        out = upsample(out.unsqueeze(1), self.image_hw).squeeze(1)
        return (out, tokens[-1]) if features else out
