"""Depth Anything 3 heads: DPT (depth + sky, mono/metric) and DualDPT (depth branch, any-view).

Built from our DPT pieces (model/dpt.py). DA3 differs from V2 in: no residual unit in ``refinenet4``,
``exp`` depth, a ReLU sky branch (DPT), and for DualDPT a token LayerNorm, UV sin-cos position
embeddings and a 2-channel (depth, confidence) output. The DualDPT auxiliary "ray" branch exists
only so that official checkpoints load strictly; it never affects depth and is not run.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from depth_anything_ros.model.da3.spec import Da3Spec
from depth_anything_ros.model.v2.dpt import HEAD_HIDDEN, FeatureFusionBlock, upsample

POS_EMBED_RATIO = 0.1
POS_EMBED_OMEGA = 100.0
AUX_LEVELS = 4
AUX_CHANNELS = 7
GS_CHANNELS = 38  # DA3-GIANT's Gaussian head: its gs_adapter's parameter count (sh_degree 2, offsets)


class TopFusionBlock(FeatureFusionBlock):
    """``refinenet4``: DA3 builds it without the lateral residual unit (no parameters for it)."""

    def __init__(self, features: int) -> None:
        super().__init__(features)
        del self.resConfUnit1

    def forward(self, path: torch.Tensor, skip: None = None, size: tuple[int, int] | None = None) -> torch.Tensor:
        return super().forward(path, None, size)


def _sincos(dim: int, pos: np.ndarray) -> np.ndarray:
    omega = 1.0 / POS_EMBED_OMEGA ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))
    out = pos.reshape(-1)[:, None] * omega[None, :]
    return np.concatenate((np.sin(out), np.cos(out)), axis=1)


def uv_position_embedding(channels: int, height: int, width: int, aspect: float,
                          device: torch.device | None = None) -> torch.Tensor:
    """(channels, height, width) sin-cos embedding of a UV grid spanning the image diagonal (DA3 head_utils).

    It depends only on the grid, so it is computed in numpy (float64, stored float32): an exported graph
    holds it as a constant instead of Range/Sin/Cos in float64, which TensorRT refuses.
    """
    diag = math.sqrt(aspect**2 + 1.0)
    span_x, span_y = aspect / diag, 1.0 / diag
    xs = np.linspace(-span_x * (width - 1) / width, span_x * (width - 1) / width, width)
    ys = np.linspace(-span_y * (height - 1) / height, span_y * (height - 1) / height, height)
    uu, vv = np.meshgrid(xs, ys, indexing="xy")
    emb = np.concatenate((_sincos(channels // 2, uu), _sincos(channels // 2, vv)), axis=-1)
    emb = emb.reshape(height, width, channels).transpose(2, 0, 1)
    return torch.from_numpy(emb.astype(np.float32)).to(device)


def _reassemble(dim_in: int, out_channels: tuple[int, ...]) -> tuple[nn.ModuleList, nn.ModuleList]:
    projects = nn.ModuleList(nn.Conv2d(dim_in, c, 1) for c in out_channels)
    resize = nn.ModuleList([
        nn.ConvTranspose2d(out_channels[0], out_channels[0], kernel_size=4, stride=4),
        nn.ConvTranspose2d(out_channels[1], out_channels[1], kernel_size=2, stride=2),
        nn.Identity(),
        nn.Conv2d(out_channels[3], out_channels[3], kernel_size=3, stride=2, padding=1),
    ])
    return projects, resize


def _output_conv2(features: int, channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(features // 2, HEAD_HIDDEN, 3, padding=1), nn.ReLU(), nn.Conv2d(HEAD_HIDDEN, channels, 1)
    )


def _fusion_set(scratch: nn.Module, features: int, suffix: str = "") -> None:
    for index in range(1, 4):
        setattr(scratch, f"refinenet{index}{suffix}", FeatureFusionBlock(features))
    setattr(scratch, f"refinenet4{suffix}", TopFusionBlock(features))


def _aux_parameters(scratch: nn.Module, features: int) -> None:
    """The ray branch's modules, with the official indices (Permute/ReLU slots hold no parameters).

    As in the official ``DualDPT``, ONE LayerNorm serves all four ``output_conv2_aux`` levels: its state dict
    holds four equal copies, and the hub files (``safetensors.torch.save_model``) store level 0's only.
    """
    _fusion_set(scratch, features, "_aux")
    half = features // 2
    scratch.output_conv1_aux = nn.ModuleList(
        nn.Sequential(*(nn.Conv2d(features if i % 2 == 0 else half, half if i % 2 == 0 else features, 3, padding=1)
                        for i in range(5)))
        for _ in range(AUX_LEVELS))
    shared_norm = nn.LayerNorm(HEAD_HIDDEN)
    scratch.output_conv2_aux = nn.ModuleList(
        nn.Sequential(nn.Conv2d(half, HEAD_HIDDEN, 3, padding=1), nn.Identity(), shared_norm,
                      nn.Identity(), nn.ReLU(), nn.Conv2d(HEAD_HIDDEN, AUX_CHANNELS, 1))
        for _ in range(AUX_LEVELS))


def _dpt_trunk(head: nn.Module, dim_in: int, features: int, out_channels: tuple[int, ...]) -> nn.Module:
    """projects, resize_layers and the scratch's layerN_rn, refinenet1..4 and output_conv1; returns the scratch."""
    head.projects, head.resize_layers = _reassemble(dim_in, out_channels)
    scratch = nn.Module()
    for index, channels in enumerate(out_channels, start=1):
        setattr(scratch, f"layer{index}_rn", nn.Conv2d(channels, features, 3, padding=1, bias=False))
    _fusion_set(scratch, features)
    scratch.output_conv1 = nn.Conv2d(features, features // 2, 3, padding=1)
    head.scratch = scratch
    return scratch


class GaussianHeadParameters(nn.Module):
    """Parameters of DA3-GIANT's ``gs_head`` (official ``GSDPT``: 3D-Gaussian parameters for novel views).

    Held so that the official checkpoint loads strictly and a fine-tuned one is written whole; never run.
    """

    def __init__(self, spec: Da3Spec) -> None:
        super().__init__()
        features = spec.features
        scratch = _dpt_trunk(self, spec.head_dim_in, features, spec.out_channels)
        scratch.output_conv2 = _output_conv2(features, GS_CHANNELS)
        merged = features // 2
        self.images_merger = nn.Sequential(
            nn.Conv2d(3, merged // 4, 3, padding=1), nn.GELU(), nn.Conv2d(merged // 4, merged // 2, 3, padding=1),
            nn.GELU(), nn.Conv2d(merged // 2, merged, 3, padding=1), nn.GELU())


class Da3Head(nn.Module):
    """DA3 ``DPT`` (``dual`` False: depth + sky) or ``DualDPT`` (``dual`` True: depth + confidence)."""

    def __init__(self, spec: Da3Spec) -> None:
        super().__init__()
        self.dual = spec.head == "dualdpt"
        features = spec.features
        if self.dual:
            self.norm = nn.LayerNorm(spec.head_dim_in)
        _dpt_trunk(self, spec.head_dim_in, features, spec.out_channels)
        self.scratch.output_conv2 = _output_conv2(features, 2 if self.dual else 1)
        if self.dual:
            _aux_parameters(self.scratch, features)
        else:
            self.scratch.sky_output_conv2 = _output_conv2(features, 1)

    def _pos(self, x: torch.Tensor, aspect: float) -> torch.Tensor:
        pe = uv_position_embedding(int(x.shape[1]), int(x.shape[-2]), int(x.shape[-1]), float(aspect), x.device)
        return x + (pe * POS_EMBED_RATIO).to(x.dtype)[None]

    def forward(self, tokens: list[torch.Tensor], grid_h: int, grid_w: int, patch_size: int) -> dict[str, torch.Tensor]:
        """Four (B, N, C) token maps -> ``depth`` (B, H, W) and ``sky`` (DPT) or ``depth_conf`` (DualDPT)."""
        s = self.scratch
        height, width = grid_h * patch_size, grid_w * patch_size
        aspect = width / height
        layers = []
        for index, x in enumerate(tokens):
            if self.dual:
                x = self.norm(x)
            x = self.projects[index](x.transpose(1, 2).reshape(x.shape[0], x.shape[-1], grid_h, grid_w))
            if self.dual:
                x = self._pos(x, aspect)
            layers.append(getattr(s, f"layer{index + 1}_rn")(self.resize_layers[index](x)))
        l1, l2, l3, l4 = layers
        path = s.refinenet4(l4, size=l3.shape[-2:])
        path = s.refinenet3(path, l3, size=l2.shape[-2:])
        path = s.refinenet2(path, l2, size=l1.shape[-2:])
        path = s.refinenet1(path, l1)
        feat = upsample(s.output_conv1(path), (height, width))
        if self.dual:
            feat = self._pos(feat, aspect)
        logits = s.output_conv2(feat)
        out = {"depth": torch.exp(logits[:, 0])}
        if self.dual:
            out["depth_conf"] = torch.exp(logits[:, 1]) + 1
        else:
            out["sky"] = torch.relu(s.sky_output_conv2(feat)[:, 0])
        return out
