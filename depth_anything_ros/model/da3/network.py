"""Depth Anything 3 for one image per frame: ViT backbone + DPT/DualDPT head, official parameter names.

``Da3Model.forward`` maps normalised (B, 3, H, W) images (H, W multiples of 14; see da3_preprocess)
to a dict: ``depth`` (B, H, W) always; ``sky`` (ReLU score, mono/metric models) or ``depth_conf``
(any-view models). Depth is the network's raw output: relative depth up to scale for DA3-SMALL/BASE
and DA3MONO-LARGE, and for DA3METRIC-LARGE metres only after ``da3_preprocess.metric_depth``.
The camera encoder/decoder of the any-view models (and DA3-GIANT's Gaussian head) are held for strict
checkpoint loading and saving only; for a single image without a given pose they never affect depth.
"""

from __future__ import annotations

import torch
from torch import nn

from depth_anything_ros.model.da3.backbone import Da3Backbone
from depth_anything_ros.model.da3.head import Da3Head, GaussianHeadParameters
from depth_anything_ros.model.da3.spec import Da3Spec
from depth_anything_ros.model.v2.dinov2 import Block
from depth_anything_ros.model.v2.spec import EncoderSpec

POSE_ENCODING_SIZE = 9  # translation 3 + quaternion 4 + field of view 2


class _PoseMlp(nn.Module):
    def __init__(self, dim_in: int, hidden: int, dim_out: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim_in, hidden)
        self.fc2 = nn.Linear(hidden, dim_out)


class CameraEncoderParameters(nn.Module):
    """Parameters of the official ``cam_enc`` (pose -> camera token); not run for single images."""

    def __init__(self, spec: Da3Spec) -> None:
        super().__init__()
        dim = spec.encoder.embed_dim
        trunk_spec = EncoderSpec("cam_enc", dim, spec.cam_enc_depth, spec.cam_enc_heads)
        self.trunk = nn.Sequential(*(Block(trunk_spec) for _ in range(spec.cam_enc_depth)))
        self.token_norm = nn.LayerNorm(dim)
        self.trunk_norm = nn.LayerNorm(dim)
        self.pose_branch = _PoseMlp(POSE_ENCODING_SIZE, dim // 2, dim)


class CameraDecoderParameters(nn.Module):
    """Parameters of the official ``cam_dec`` (tokens -> pose); not run for single images."""

    def __init__(self, spec: Da3Spec) -> None:
        super().__init__()
        dim = spec.head_dim_in
        self.backbone = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU())
        self.fc_t = nn.Linear(dim, 3)
        self.fc_qvec = nn.Linear(dim, 4)
        self.fc_fov = nn.Sequential(nn.Linear(dim, 2), nn.ReLU())


class Da3Model(nn.Module):
    """One DA3 variant (see da3_spec); the state dict is the official one without its ``model.`` prefix."""

    def __init__(self, spec: Da3Spec) -> None:
        super().__init__()
        self.spec = spec
        self.backbone = Da3Backbone(spec)
        self.head = Da3Head(spec)
        if spec.any_view:
            self.cam_enc = CameraEncoderParameters(spec)
            self.cam_dec = CameraDecoderParameters(spec)
        if spec.gs_head:
            self.gs_head = GaussianHeadParameters(spec)

    def forward(self, x: torch.Tensor, pos_embed: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        p = self.spec.encoder.patch_size
        if x.shape[-2] % p or x.shape[-1] % p:
            raise ValueError(f"input {tuple(x.shape[-2:])} is not a multiple of the patch size {p}")
        tokens = self.backbone(x, pos_embed)
        return self.head(tokens, x.shape[-2] // p, x.shape[-1] // p, p)
