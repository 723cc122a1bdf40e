"""DPT decoder head of Depth Anything, with the official parameter names."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

HEAD_HIDDEN = 32  # channels of the last 3x3 convolution, fixed in the official head


def upsample(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Bilinear, align_corners=True: the interpolation of every DPT stage."""
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=True)


class ResidualConvUnit(nn.Module):
    """relu -> conv3x3 -> relu -> conv3x3, plus the input."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FeatureFusionBlock(nn.Module):
    """Fuses a coarser path with a skip feature, upsamples, and projects."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.out_conv = nn.Conv2d(features, features, 1)
        self.resConfUnit1 = ResidualConvUnit(features)
        self.resConfUnit2 = ResidualConvUnit(features)

    def forward(
        self, path: torch.Tensor, skip: torch.Tensor | None = None, size: tuple[int, int] | None = None
    ) -> torch.Tensor:
        if skip is not None:
            path = path + self.resConfUnit1(skip)
        path = self.resConfUnit2(path)
        target = size if size is not None else (path.shape[-2] * 2, path.shape[-1] * 2)
        return self.out_conv(upsample(path, target))


class Scratch(nn.Module):
    """Container that reproduces the official ``scratch`` naming."""

    def __init__(self, out_channels: tuple[int, ...], features: int, metric: bool) -> None:
        super().__init__()
        for index, channels in enumerate(out_channels, start=1):
            setattr(self, f"layer{index}_rn", nn.Conv2d(channels, features, 3, padding=1, bias=False))
        for index in range(1, 5):
            setattr(self, f"refinenet{index}", FeatureFusionBlock(features))
        self.output_conv1 = nn.Conv2d(features, features // 2, 3, padding=1)
        self.output_conv2 = nn.Sequential(
            nn.Conv2d(features // 2, HEAD_HIDDEN, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(HEAD_HIDDEN, 1, 1),
            nn.Sigmoid() if metric else nn.ReLU(),
        )


class DPTHead(nn.Module):
    """Reassembles four token maps at 1/4..1/32 scale and fuses them into one depth map."""

    def __init__(self, in_channels: int, features: int, out_channels: tuple[int, ...], metric: bool) -> None:
        super().__init__()
        self.projects = nn.ModuleList(nn.Conv2d(in_channels, c, 1) for c in out_channels)
        self.resize_layers = nn.ModuleList([
            nn.ConvTranspose2d(out_channels[0], out_channels[0], kernel_size=4, stride=4),
            nn.ConvTranspose2d(out_channels[1], out_channels[1], kernel_size=2, stride=2),
            nn.Identity(),
            nn.Conv2d(out_channels[3], out_channels[3], kernel_size=3, stride=2, padding=1),
        ])
        self.scratch = Scratch(out_channels, features, metric)

    def forward(self, tokens: list[torch.Tensor], grid_h: int, grid_w: int, patch_size: int) -> torch.Tensor:
        """(B, N, C) token maps -> (B, 1, grid_h*patch, grid_w*patch) head output."""
        s = self.scratch
        layers = []
        for index, x in enumerate(tokens):
            x = x.transpose(1, 2).reshape(x.shape[0], x.shape[-1], grid_h, grid_w)
            x = self.resize_layers[index](self.projects[index](x))
            layers.append(getattr(s, f"layer{index + 1}_rn")(x))
        l1, l2, l3, l4 = layers
        path = s.refinenet4(l4, size=l3.shape[-2:])
        path = s.refinenet3(path, l3, size=l2.shape[-2:])
        path = s.refinenet2(path, l2, size=l1.shape[-2:])
        path = s.refinenet1(path, l1)
        out = upsample(s.output_conv1(path), (grid_h * patch_size, grid_w * patch_size))
        return s.output_conv2(out)
