"""The fused graph: camera uint8 image in, official raw output and REP 117 metric depth out."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from depth_anything_ros.core.head import metres_from_raw
from depth_anything_ros.model.family_base import check_image_size
from depth_anything_ros.model.v2.dpt import upsample
from depth_anything_ros.model.v2.network import DepthAnything
from depth_anything_ros.model.v2.preprocess import DEFAULT_INPUT_SIZE, IMAGENET_MEAN, IMAGENET_STD, network_input_size

InputOrder = Literal["rgb", "bgr"]


CUBIC_A = -0.75  # OpenCV's (and PyTorch's) Keys cubic coefficient


def cubic_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Source indices and weights, (out_size, 4) each, of OpenCV's INTER_CUBIC along one axis.

    Half-pixel centres, a = -0.75, taps clamped to the edge (replicate), no antialias.
    """
    # OpenCV rounds the source coordinate to float32 before splitting it; so do we.
    centre = ((np.arange(out_size) + 0.5) * (1.0 / (out_size / in_size)) - 0.5).astype(np.float32)
    left = np.floor(centre)
    t = centre - left
    a = np.float32(CUBIC_A)
    one = np.float32(1)
    w0 = ((a * (t + one) - 5 * a) * (t + one) + 8 * a) * (t + one) - 4 * a
    w1 = ((a + 2) * t - (a + 3)) * t * t + one
    w2 = ((a + 2) * (one - t) - (a + 3)) * (one - t) * (one - t) + one
    weights = np.stack([w0, w1, w2, one - w0 - w1 - w2], axis=1)
    indices = np.clip(left[:, None].astype(np.int64) + np.arange(-1, 3), 0, in_size - 1)
    return indices, weights


class CubicResize(nn.Module):
    """Fixed-size separable bicubic resize as 4-tap gathers per axis.

    Equal to OpenCV's INTER_CUBIC, and several times cheaper than a generic cubic
    Resize node on CPU runtimes because the geometry is folded into constants.
    """

    def __init__(self, in_hw: tuple[int, int], out_hw: tuple[int, int]) -> None:
        super().__init__()
        for axis, n_in, n_out in zip(("y", "x"), in_hw, out_hw, strict=True):
            indices, weights = cubic_taps(n_in, n_out)
            self.register_buffer(f"index_{axis}", torch.from_numpy(indices.T.copy()), persistent=False)
            self.register_buffer(f"weight_{axis}", torch.from_numpy(weights.T.astype(np.float32).copy()),
                                 persistent=False)

    @staticmethod
    def _along(x: torch.Tensor, dim: int, index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        shape = [1] * x.dim()
        shape[dim] = -1
        out = x.index_select(dim, index[0]) * weight[0].view(shape)
        for k in range(1, 4):
            out = out + x.index_select(dim, index[k]) * weight[k].view(shape)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._along(x, x.dim() - 1, self.index_x, self.weight_x)
        return self._along(x, x.dim() - 2, self.index_y, self.weight_y)


class Preprocess(nn.Module):
    """uint8 HxWx3 (or BxHxWx3) -> normalised (B, 3, h, w): colour order, bicubic resize, ImageNet mean/std.

    The graph runs one image; training runs batches through the very same module.
    """

    def __init__(self, image_hw: tuple[int, int], net_hw: tuple[int, int], input_order: InputOrder) -> None:
        super().__init__()
        if input_order not in ("rgb", "bgr"):
            raise ValueError(f"input_order must be 'rgb' or 'bgr', got {input_order!r}")
        self.net_hw = net_hw
        self.bgr = input_order == "bgr"
        # (x / 255 - mean) / std folded into one multiply-add on 0..255 values.
        gain = 1.0 / (255.0 * IMAGENET_STD)
        offset = -IMAGENET_MEAN / IMAGENET_STD
        self.register_buffer("gain", torch.tensor(gain, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("offset", torch.tensor(offset, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.resize = CubicResize(image_hw, net_hw) if tuple(image_hw) != tuple(net_hw) else nn.Identity()

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        # Cast first: TensorRT accepts a uint8 graph input only where it feeds a Cast directly.
        x = image.float()
        x = (x.unsqueeze(0) if x.dim() == 3 else x).permute(0, 3, 1, 2)
        if self.bgr:
            x = x.flip(1)
        return self.resize(x) * self.gain + self.offset


class Postprocess(nn.Module):
    """Network output -> camera resolution ``raw`` and REP 117 ``depth`` through the metric head."""

    def __init__(self, image_hw: tuple[int, int], relative: bool) -> None:
        super().__init__()
        self.image_hw = image_hw
        self.relative = relative

    def forward(self, net_out: torch.Tensor, head: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw = net_out.unsqueeze(1)
        if tuple(raw.shape[-2:]) != self.image_hw:
            raw = upsample(raw, self.image_hw)
        raw = raw[0, 0]
        depth = metres_from_raw(raw, head[0], head[1], head[2], head[3], self.relative, xp=torch)
        return raw, depth

    def batch(self, net_out: torch.Tensor, head: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward`` for a batch: (B, h, w) network output, (B, 4) heads -> (B, H, W) ``raw`` and ``depth``."""
        raw = net_out.unsqueeze(1)
        if tuple(raw.shape[-2:]) != self.image_hw:
            raw = upsample(raw, self.image_hw)
        raw = raw[:, 0]
        return raw, metres_from_raw(raw, *per_image_head(head), self.relative, xp=torch)


def per_image_head(head: torch.Tensor) -> list[torch.Tensor]:
    """A batch's ``head`` (B, 4) as four (B, 1, 1) columns [scale, shift, min_depth, max_depth], one row per image."""
    columns = head.unsqueeze(-1).unsqueeze(-1)
    return [columns[:, i] for i in range(4)]


def check_batch(image: torch.Tensor, image_hw: tuple[int, int]) -> None:
    """ValueError unless ``image`` is a BxHxWx3 batch of the graph's resolution."""
    if image.dim() != 4 or tuple(image.shape[1:]) != (*image_hw, 3):
        raise ValueError(f"expected a Bx{image_hw[0]}x{image_hw[1]}x3 batch, got {tuple(image.shape)}")


class FusedDepthModel(nn.Module):
    """One camera resolution, everything inside: ``(image, head) -> (raw, depth)``.

    ``raw`` equals the official ``infer_image`` output; ``depth`` is metres with
    NaN invalid, -Inf below min_depth and +Inf above max_depth (REP 117).
    """

    def __init__(
        self,
        model: DepthAnything,
        image_hw: tuple[int, int],
        input_order: InputOrder = "bgr",
        input_size: int = DEFAULT_INPUT_SIZE,
    ) -> None:
        super().__init__()
        check_image_size(*image_hw)
        self.image_hw = tuple(image_hw)
        self.net_hw = network_input_size(image_hw[0], image_hw[1], input_size)
        self.input_order = input_order
        self.max_batch = 0  # batched(): a graph of 1..N images
        self.model = model
        patch = model.spec.encoder.patch_size
        with torch.no_grad():
            pos = model.pretrained.pos_embed_for(self.net_hw[0] // patch, self.net_hw[1] // patch)
        # Folded to a constant: the graph carries no positional-embedding interpolation.
        self.register_buffer("pos_embed", pos.detach().clone(), persistent=False)
        self.preprocess = Preprocess(self.image_hw, self.net_hw, input_order)
        self.postprocess = Postprocess(self.image_hw, model.spec.kind == "relative")

    def batched(self, max_batch: int) -> FusedDepthModel:
        """Take a batch: image BxHxWx3, head Bx4 -> raw, depth BxHxW, each image with its own head."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.max_batch = int(max_batch)
        return self

    def forward(self, image: torch.Tensor, head: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.max_batch:
            check_batch(image, self.image_hw)
            net_out = self.model(self.preprocess(image).to(self.pos_embed.dtype), pos_embed=self.pos_embed).float()
            return self.postprocess.batch(net_out, head)
        if tuple(image.shape) != (*self.image_hw, 3):
            raise ValueError(f"expected a {self.image_hw[0]}x{self.image_hw[1]}x3 image, got {tuple(image.shape)}")
        net_in = self.preprocess(image).to(self.pos_embed.dtype)  # fp16 network when the model is half
        net_out = self.model(net_in, pos_embed=self.pos_embed).float()
        return self.postprocess(net_out, head)

    def graph_fields(self) -> dict:
        """The GraphInfo fields this module fixes (the exporter adds precision and checkpoint_sha256)."""
        spec = self.model.spec
        return {"image_height": self.image_hw[0], "image_width": self.image_hw[1], "input_order": self.input_order,
                "network_height": self.net_hw[0], "network_width": self.net_hw[1], "encoder": spec.encoder.name,
                "version": spec.version, "kind": spec.kind, "max_depth": spec.max_depth, "max_batch": self.max_batch}

    def half_network(self) -> FusedDepthModel:
        """Run the network in float16; pre-processing and the metric head stay float32."""
        self.model.half()
        self.pos_embed = self.pos_embed.half()
        return self
