"""The fused graph for Depth Anything 3: ``(image uint8, head, focal) -> (raw, depth)``, as V2's plus focal.

Everything of ``model/da3_preprocess`` inside the graph for one fixed camera size:

- colour order (BGR or RGB), cast to float straight from the uint8 input (TensorRT rule);
- the official two-step resize, folded into constant per-axis matrices at export time:
  INTER_AREA as exact box-overlap weights (``area_matrix``), INTER_CUBIC as OpenCV's 4-tap
  Keys cubic (``export.fused.cubic_taps``); each step is rounded and clamped to 0..255 as the
  official uint8 ``cv2.resize`` stores it. The remaining difference is OpenCV's fixed-point
  cubic arithmetic (measured in test/export/test_da3_fused.py and docs);
- ImageNet normalisation, the network with its positional embedding folded to a constant;
- ``raw``: metric models give metres, ``depth * focal / 300`` with ``focal`` a float32[1] graph
  input, the mean of fx and fy **at the network input** (``GraphInfo.focal_input`` computes it from
  camera_info's K), so a zoom change needs no re-export; relative models (DA3-SMALL/BASE,
  DA3MONO-LARGE) give depth up to scale (kind ``relative-depth``) and ignore ``focal``;
- sky (mono/metric DPT head): sky score >= 0.3 (the pixels the official code refills) is +Inf,
  REP 117 "no return", in ``raw`` and ``depth``;
- back to camera size by bilinear interpolation (align_corners=True, as every DPT stage and the
  V2 graph), depth and sky score separately, the sky threshold applied after upsampling so that
  no Inf enters an interpolation (Inf * 0 weights would give NaN);
- ``depth``: the one head equation (``core.head.metres_from_raw``, linear for both DA3 kinds) with
  the ``head`` input [scale, shift, min_depth, max_depth], so calibrations swap without re-export.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from depth_anything_ros.core.head import metres_from_raw
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.preprocess import (
    MEAN,
    PROCESS_RES,
    STD,
    da3_resize_steps,
    metric_depth,
    sky_to_infinity,
)
from depth_anything_ros.model.family_base import check_image_size
from depth_anything_ros.model.v2.dpt import upsample
from depth_anything_ros.model.v2.fused import CubicResize, InputOrder, check_batch, per_image_head

DA3_VERSION = 3  # GraphInfo.version of every DA3 graph


def area_matrix(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) weights of OpenCV's INTER_AREA shrink along one axis (box overlap / box size)."""
    if out_size > in_size:
        raise ValueError(f"INTER_AREA here only shrinks, got {in_size} -> {out_size}")
    scale = in_size / out_size
    edges = np.arange(in_size + 1, dtype=np.float64)
    out = np.zeros((out_size, in_size), dtype=np.float64)
    for i in range(out_size):
        lo, hi = i * scale, min((i + 1) * scale, in_size)
        overlap = np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0.0, None)
        overlap[overlap < 1e-3] = 0.0  # OpenCV drops slivers below 1e-3 of a pixel
        out[i] = overlap / overlap.sum()
    return out.astype(np.float32)


class AreaResize(nn.Module):
    """Fixed-size separable INTER_AREA shrink as two constant matrix products."""

    def __init__(self, in_hw: tuple[int, int], out_hw: tuple[int, int]) -> None:
        super().__init__()
        self.register_buffer("rows", torch.from_numpy(area_matrix(in_hw[0], out_hw[0])), persistent=False)
        self.register_buffer("cols_t", torch.from_numpy(area_matrix(in_hw[1], out_hw[1]).T.copy()),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.rows, torch.matmul(x, self.cols_t))


class AsUint8(nn.Module):
    """Round half away from zero and clamp to 0..255: what a uint8 ``cv2.resize`` stores."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.floor(x.clamp(0.0, 255.0) + 0.5)


def resize_step(in_hw: tuple[int, int], out_hw: tuple[int, int], grows: bool) -> nn.Module:
    """One official resize step (INTER_CUBIC when growing, else INTER_AREA), stored as uint8."""
    if tuple(in_hw) == tuple(out_hw):
        return nn.Identity()
    resize = CubicResize(in_hw, out_hw) if grows else AreaResize(in_hw, out_hw)
    return nn.Sequential(resize, AsUint8())


class Da3Preprocess(nn.Module):
    """uint8 HxWx3 (or BxHxWx3) -> normalised (B, 3, h, w) at DA3's processed size; the uint8 feeds a Cast first.

    The graph runs one image; training runs batches through the very same module."""

    def __init__(self, image_hw: tuple[int, int], input_order: InputOrder, process_res: int = PROCESS_RES) -> None:
        super().__init__()
        if input_order not in ("rgb", "bgr"):
            raise ValueError(f"input_order must be 'rgb' or 'bgr', got {input_order!r}")
        h, w = image_hw
        (h1, w1), (h2, w2) = da3_resize_steps(h, w, process_res)
        self.net_hw = (h2, w2)
        self.bgr = input_order == "bgr"
        self.step1 = resize_step((h, w), (h1, w1), grows=process_res > max(h, w))
        self.step2 = resize_step((h1, w1), (h2, w2), grows=h2 > h1 or w2 > w1)
        gain = 1.0 / (255.0 * STD)
        self.register_buffer("gain", torch.tensor(gain, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("offset", torch.tensor(-MEAN / STD, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)

    def resized(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) RGB float 0..255 at the network size, before normalisation (HxWx3 or BxHxWx3 in)."""
        x = image.float()  # Cast is the first op on the uint8 input
        x = (x.unsqueeze(0) if x.dim() == 3 else x).permute(0, 3, 1, 2)
        if self.bgr:
            x = x.flip(1)
        return self.step2(self.step1(x))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.resized(image) * self.gain + self.offset


class Da3FusedModel(nn.Module):
    """One camera resolution, one DA3 variant: ``(image uint8 HxWx3, head float32[4], focal float32[1])
    -> (raw HxW, depth HxW)``."""

    def __init__(
        self,
        model: Da3Model,
        image_hw: tuple[int, int],
        input_order: InputOrder = "bgr",
        process_res: int = PROCESS_RES,
        metric: bool | None = None,
    ) -> None:
        super().__init__()
        check_image_size(*image_hw)
        self.image_hw = (int(image_hw[0]), int(image_hw[1]))
        self.input_order = input_order
        self.process_res = process_res
        self.model = model
        self.max_batch = 0  # batched(): a graph of 1..N images
        self.metric = model.spec.metric if metric is None else metric
        self.preprocess = Da3Preprocess(self.image_hw, input_order, process_res)
        self.net_hw = self.preprocess.net_hw
        patch = model.spec.encoder.patch_size
        with torch.no_grad():
            pos = model.backbone.pretrained.pos_embed_for(self.net_hw[0] // patch, self.net_hw[1] // patch)
        self.register_buffer("pos_embed", pos.detach().clone(), persistent=False)

    def batched(self, max_batch: int) -> Da3FusedModel:
        """Take a batch: image BxHxWx3, head Bx4, focal Bx1 -> raw, depth BxHxW, each image with its own."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.max_batch = int(max_batch)
        return self

    def forward(self, image: torch.Tensor, head: torch.Tensor,
                focal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.max_batch:
            check_batch(image, self.image_hw)
            raw = self._metric_raw(image, focal)
            return raw[:, 0], metres_from_raw(raw[:, 0], *per_image_head(head), relative=False, xp=torch)
        if tuple(image.shape) != (*self.image_hw, 3):
            raise ValueError(f"expected a {self.image_hw[0]}x{self.image_hw[1]}x3 image, got {tuple(image.shape)}")
        raw = self._metric_raw(image, focal)[0, 0]
        depth = metres_from_raw(raw, head[0], head[1], head[2], head[3], relative=False, xp=torch)
        return raw, depth

    def _metric_raw(self, image: torch.Tensor, focal: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) ``raw`` at camera size (sky +Inf) for an image or a batch (focal [1] or Bx1, per image)."""
        out = self.model(self.preprocess(image).to(self.pos_embed.dtype), self.pos_embed)  # fp16 network if half
        raw = out["depth"].float().unsqueeze(1)
        focal = focal.view(-1, 1, 1, 1) if self.max_batch else focal[0]
        # relative graphs consume focal (x 0) so the input survives export and TensorRT, which drop unused inputs
        raw = metric_depth(raw, focal, focal) if self.metric else raw + focal * 0.0
        if tuple(raw.shape[-2:]) != self.image_hw:
            raw = upsample(raw, self.image_hw)
        if "sky" in out:
            sky = out["sky"].float().unsqueeze(1)
            if tuple(sky.shape[-2:]) != self.image_hw:
                sky = upsample(sky, self.image_hw)
            raw = sky_to_infinity(raw, sky)
        return raw

    def graph_fields(self) -> dict:
        """The GraphInfo fields this module fixes: metric graphs give metres, the others depth up to scale."""
        spec = self.model.spec
        return {"image_height": self.image_hw[0], "image_width": self.image_hw[1], "input_order": self.input_order,
                "network_height": self.net_hw[0], "network_width": self.net_hw[1], "encoder": spec.encoder.name,
                "version": DA3_VERSION, "kind": "metric" if self.metric else "relative-depth", "max_depth": None,
                "model": spec.name, "process_res": self.process_res, "sky": spec.has_sky,
                "max_batch": self.max_batch}

    def half_network(self) -> Da3FusedModel:
        """Run the network in float16; resize, normalisation, metric scaling and sky stay float32."""
        self.model.half()
        self.pos_embed = self.pos_embed.half()
        return self

