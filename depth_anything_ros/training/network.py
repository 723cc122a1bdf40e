"""The network as training sees it: camera uint8 batches in, output at camera resolution out.

``TrainingNetwork`` for V1/V2 ``DepthAnything``, ``Da3TrainingNetwork`` for ``Da3Model``; ``training_network``
picks the one for a model. Both run the fused graph's own pre-processing and upsampling.
"""

from __future__ import annotations

import torch
from torch import nn

from depth_anything_ros.export.da3_fused import Da3Preprocess
from depth_anything_ros.export.fused import InputOrder, Preprocess
from depth_anything_ros.export.graph_info import focal_at_network
from depth_anything_ros.export.preprocess import network_input_size
from depth_anything_ros.model import DepthAnything
from depth_anything_ros.model.da3 import Da3Model
from depth_anything_ros.model.da3_preprocess import metric_depth
from depth_anything_ros.model.dpt import upsample
from depth_anything_ros.model.spec import DEFAULT_INPUT_SIZE


class TrainingNetwork(nn.Module):
    """``(B, H, W, 3) uint8 or 0-255 float -> (B, H, W)``: the fused graph's own pre-processing, the network, and the
    graph's bilinear upsampling back to the camera, so what is trained is what gets exported.

    Unlike the exported graph, the positional embedding is interpolated on every call, so it
    trains with the encoder when the encoder is unfrozen.
    """

    def __init__(self, model: DepthAnything, image_hw: tuple[int, int], input_order: InputOrder = "bgr",
                 input_size: int = DEFAULT_INPUT_SIZE) -> None:
        super().__init__()
        self.model = model
        self.image_hw = tuple(image_hw)
        self.preprocess = Preprocess(self.image_hw, network_input_size(*image_hw, input_size), input_order)

    def network_input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (or 0-255 float) BGR batches -> the normalised network input."""
        return self.preprocess(images)

    def forward(self, images: torch.Tensor, features: bool = False):
        """(B, H, W) output at camera resolution; with ``features``, also the encoder's deepest tokens."""
        out, tokens = self.model.forward_with_features(self.preprocess(images))
        out = upsample(out.unsqueeze(1), self.image_hw).squeeze(1)
        return (out, tokens) if features else out


class Da3TrainingNetwork(nn.Module):
    """``(B, H, W, 3) uint8 or 0-255 float [, focal (B,)] -> (B, H, W)``: the DA3 fused graph's pre-processing
    (official two-step resize, normalisation), the network and the bilinear upsampling back to the camera.

    The output is what the graph's ``raw`` is without the sky step: metres for a metric model (``focal``,
    mean fx/fy at the network input, is then required), depth up to scale otherwise. The positional
    embedding is interpolated on every call, so it trains with the encoder.
    """

    def __init__(self, model: Da3Model, image_hw: tuple[int, int], input_order: InputOrder = "bgr") -> None:
        super().__init__()
        self.model = model
        self.image_hw = tuple(image_hw)
        self.preprocess = Da3Preprocess(self.image_hw, input_order)
        self.net_hw = self.preprocess.net_hw

    def network_input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (or 0-255 float) BGR batches -> the normalised network input."""
        return self.preprocess(images)

    def forward(self, images: torch.Tensor, features: bool = False, focal: torch.Tensor | None = None):
        """(B, H, W) output at camera resolution; with ``features``, also the deepest tapped tokens (B, N, C)."""
        x = self.preprocess(images)
        spec = self.model.spec
        p = spec.encoder.patch_size
        tokens = self.model.backbone(x)
        out = self.model.head(tokens, x.shape[-2] // p, x.shape[-1] // p, p)["depth"]
        if spec.metric:
            if focal is None:
                raise ValueError(f"{spec.name} gives metres only with each frame's focal length (focal=)")
            out = metric_depth(out, focal.to(out).view(-1, 1, 1), focal.to(out).view(-1, 1, 1))
        out = upsample(out.unsqueeze(1), self.image_hw).squeeze(1)
        return (out, tokens[-1]) if features else out


def network_focal(k, image_hw: tuple[int, int], net_hw: tuple[int, int]) -> torch.Tensor:
    """(B,) float32 tensor of ``export.graph_info.focal_at_network`` for training batches (numpy or torch K)."""
    k = k.detach().cpu().numpy() if isinstance(k, torch.Tensor) else k
    return torch.from_numpy(focal_at_network(k, image_hw, net_hw))


def training_network(model: DepthAnything | Da3Model, image_hw: tuple[int, int], input_order: InputOrder = "bgr",
                     input_size: int = DEFAULT_INPUT_SIZE) -> TrainingNetwork | Da3TrainingNetwork:
    """The training network of ``model``'s family (``input_size`` is V1/V2's; DA3 resizes to its process_res)."""
    if isinstance(model, Da3Model):
        return Da3TrainingNetwork(model, image_hw, input_order)
    return TrainingNetwork(model, image_hw, input_order, input_size)
