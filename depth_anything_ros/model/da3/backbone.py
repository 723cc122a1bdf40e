"""The DINOv2 encoder of Depth Anything 3: QK-norm, 2D RoPE, alternating attention, camera token.

Reuses our DINOv2 blocks (model/dinov2.py); only what DA3 changes is new here. For a single view
per image, "global" blocks attend over the same tokens as "local" ones but with RoPE positions that
carry no spatial difference (cls (0, 0), every patch (1, 1)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from depth_anything_ros.model.da3.spec import Da3Spec
from depth_anything_ros.model.v2.dinov2 import Attention, Block, DinoVisionTransformer, PatchEmbed

ROPE_BASE = 100.0
DEFAULT_LAYER_NORM_EPS = 1e-5  # DA3's final norm and QK-norm use PyTorch's default, unlike the blocks' 1e-6


def rope_positions(grid_h: int, grid_w: int, differentiate: bool, device: torch.device | None = None) -> torch.Tensor:
    """(1 + grid_h*grid_w, 2) integer (y, x) RoPE positions: cls (0, 0), then patches row-major.

    Local blocks see (row + 1, col + 1); global blocks (``differentiate`` False) see (1, 1) everywhere.
    """
    ys = torch.arange(grid_h, device=device).repeat_interleave(grid_w)
    xs = torch.arange(grid_w, device=device).repeat(grid_h)
    patches = torch.stack((ys, xs), dim=-1) + 1 if differentiate else torch.ones(grid_h * grid_w, 2, device=device)
    return torch.cat((torch.zeros(1, 2, device=device), patches.to(torch.float32)), dim=0)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _rope_1d(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Rotate (B, heads, N, d) features by angles positions * 100^(-2i/d), angles duplicated [a, a]."""
    d = x.shape[-1]
    inv_freq = 1.0 / (ROPE_BASE ** (torch.arange(0, d, 2, device=x.device).float() / d))
    angles = positions[:, None] * inv_freq[None, :]
    angles = torch.cat((angles, angles), dim=-1).to(x.dtype)
    return x * angles.cos() + _rotate_half(x) * angles.sin()


def apply_rope_2d(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """2D RoPE: the first half of each head's channels rotated by y, the second half by x."""
    y_part, x_part = x.chunk(2, dim=-1)
    return torch.cat((_rope_1d(y_part, positions[:, 0]), _rope_1d(x_part, positions[:, 1])), dim=-1)


class Da3Attention(Attention):
    """Our DINOv2 attention plus optional per-head LayerNorm on q and k, then optional 2D RoPE."""

    def __init__(self, dim: int, num_heads: int, qk_norm: bool) -> None:
        super().__init__(dim, num_heads)
        head_dim = dim // num_heads
        self.q_norm = nn.LayerNorm(head_dim, eps=DEFAULT_LAYER_NORM_EPS) if qk_norm else nn.Identity()
        self.k_norm = nn.LayerNorm(head_dim, eps=DEFAULT_LAYER_NORM_EPS) if qk_norm else nn.Identity()

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k = self.q_norm(qkv[0]), self.k_norm(qkv[1])
        if positions is not None:
            q, k = apply_rope_2d(q, positions), apply_rope_2d(k, positions)
        out = F.scaled_dot_product_attention(q, k, qkv[2])
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Da3Block(Block):
    """Our DINOv2 block whose attention takes RoPE positions (None: no RoPE in this block)."""

    def __init__(self, spec: Da3Spec, qk_norm: bool) -> None:
        super().__init__(spec.encoder)
        self.attn = Da3Attention(spec.encoder.embed_dim, spec.encoder.num_heads, qk_norm)

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        x = x + self.ls1(self.attn(self.norm1(x), positions))
        return x + self.ls2(self.mlp(self.norm2(x)))


class Da3VisionTransformer(nn.Module):
    """DA3's ViT (official name ``backbone.pretrained``): returns the tapped patch-token maps."""

    def __init__(self, spec: Da3Spec) -> None:
        super().__init__()
        self.spec = spec.encoder  # pos_embed_for reads spec.pretrain_grid
        self.da3 = spec
        dim, grid = spec.encoder.embed_dim, spec.encoder.pretrain_grid
        self.patch_embed = PatchEmbed(spec.encoder.patch_size, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        if spec.any_view:
            self.camera_token = nn.Parameter(torch.randn(1, 2, dim))  # [reference view, other views]
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        self.blocks = nn.ModuleList(
            Da3Block(spec, qk_norm=0 <= spec.qknorm_start <= i) for i in range(spec.encoder.depth)
        )
        self.norm = nn.LayerNorm(dim, eps=DEFAULT_LAYER_NORM_EPS)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    # DINOv2's bicubic, scale_factor-driven interpolation is the same in DA3: reuse ours.
    pos_embed_for = DinoVisionTransformer.pos_embed_for

    def _is_global(self, index: int) -> bool:
        return self.da3.any_view and index >= self.da3.alt_start and index % 2 == 1

    def forward(self, x: torch.Tensor, pos_embed: torch.Tensor | None = None) -> list[torch.Tensor]:
        """(B, 3, H, W) normalised images, one view each -> four (B, N, C or 2C) tapped token maps."""
        spec = self.da3
        p = spec.encoder.patch_size
        grid_h, grid_w = x.shape[-2] // p, x.shape[-1] // p
        tokens = self.patch_embed(x)
        tokens = torch.cat((self.cls_token.expand(tokens.shape[0], -1, -1), tokens), dim=1)
        tokens = tokens + (pos_embed if pos_embed is not None else self.pos_embed_for(grid_h, grid_w))
        local_pos = global_pos = None
        if spec.rope_start >= 0:
            local_pos = rope_positions(grid_h, grid_w, True, x.device)
            global_pos = rope_positions(grid_h, grid_w, False, x.device)
        outputs, local = [], tokens
        for index, block in enumerate(self.blocks):
            if spec.any_view and index == spec.alt_start:  # one view per image: the reference camera token
                tokens = torch.cat((self.camera_token[:, :1].expand(tokens.shape[0], -1, -1), tokens[:, 1:]), dim=1)
            use_rope = 0 <= spec.rope_start <= index
            if self._is_global(index):
                tokens = block(tokens, global_pos if use_rope else None)
            else:
                tokens = block(tokens, local_pos if use_rope else None)
                local = tokens
            if index in spec.taps:
                normed = self.norm(tokens)
                tap = torch.cat((local, normed), dim=-1) if spec.cat_token else normed
                outputs.append(tap[:, 1:])
            if index >= spec.taps[-1]:
                break
        return outputs


class Da3Backbone(nn.Module):
    """Holder giving the official ``backbone.pretrained`` parameter names."""

    def __init__(self, spec: Da3Spec) -> None:
        super().__init__()
        self.pretrained = Da3VisionTransformer(spec)

    def forward(self, x: torch.Tensor, pos_embed: torch.Tensor | None = None) -> list[torch.Tensor]:
        return self.pretrained(x, pos_embed)
