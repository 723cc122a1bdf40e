"""DINOv2 vision transformer encoder, with the official parameter names."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from depth_anything_ros.model.v2.spec import EncoderSpec

LAYER_NORM_EPS = 1e-6
LAYERSCALE_INIT = 1.0
POS_EMBED_OFFSET = 0.1  # DINOv2's interpolation offset, part of the trained model's behaviour


class PatchEmbed(nn.Module):
    """Non-overlapping patch projection: (B, 3, H, W) -> (B, H/p * W/p, C)."""

    def __init__(self, patch_size: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class LayerNorm32(nn.LayerNorm):
    """LayerNorm that computes in FP32 whatever the input's dtype (the FP16 graph keeps it FP32)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32:
            return super().forward(x)
        out = F.layer_norm(x.float(), self.normalized_shape, self.weight.float(), self.bias.float(), self.eps)
        return out.to(x.dtype)


class Attention(nn.Module):
    """Multi-head self-attention with a fused qkv projection."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        if x.dtype == torch.float16:
            # FP16 network: scores and softmax in FP32 (explicit casts the ONNX graph keeps), values in FP16.
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q.float() * self.scale) @ k.float().transpose(-2, -1)
            out = scores.softmax(dim=-1).to(v.dtype) @ v
        else:
            out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    """Two-layer GELU feed-forward (vits, vitb, vitl)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class SwiGLU(nn.Module):
    """SwiGLU feed-forward of the giant model; hidden width rounded as DINOv2 does."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        hidden = (int(hidden * 2 / 3) + 7) // 8 * 8
        self.w12 = nn.Linear(dim, 2 * hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(gate) * value)


class LayerScale(nn.Module):
    """Per-channel learned residual scaling."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), LAYERSCALE_INIT))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Block(nn.Module):
    """Pre-norm transformer block with LayerScale on both residual branches."""

    def __init__(self, spec: EncoderSpec) -> None:
        super().__init__()
        dim = spec.embed_dim
        hidden = int(dim * spec.mlp_ratio)
        self.norm1 = LayerNorm32(dim, eps=LAYER_NORM_EPS)
        self.attn = Attention(dim, spec.num_heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = LayerNorm32(dim, eps=LAYER_NORM_EPS)
        self.mlp = SwiGLU(dim, hidden) if spec.ffn == "swiglu" else Mlp(dim, hidden)
        self.ls2 = LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class DinoVisionTransformer(nn.Module):
    """The DINOv2 encoder; returns final-normed patch tokens of selected blocks."""

    def __init__(self, spec: EncoderSpec) -> None:
        super().__init__()
        self.spec = spec
        dim = spec.embed_dim
        grid = spec.pretrain_grid
        self.patch_embed = PatchEmbed(spec.patch_size, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        self.blocks = nn.ModuleList(Block(spec) for _ in range(spec.depth))
        self.norm = LayerNorm32(dim, eps=LAYER_NORM_EPS)
        self.mask_token = nn.Parameter(torch.zeros(1, dim))  # unused at inference, kept for strict loading
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)

    def pos_embed_for(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """Positional embedding for a grid_h x grid_w patch grid, as DINOv2 interpolates it.

        Bicubic, no antialias, driven by ``scale_factor=(grid+0.1)/37``: computing it
        with ``size=`` instead gives different values than the trained model saw.
        """
        n = self.spec.pretrain_grid
        if (grid_h, grid_w) == (n, n):
            return self.pos_embed
        pos = self.pos_embed.float()
        dim = pos.shape[-1]
        patch_pos = pos[:, 1:].reshape(1, n, n, dim).permute(0, 3, 1, 2)
        scale = ((grid_h + POS_EMBED_OFFSET) / math.sqrt(n * n), (grid_w + POS_EMBED_OFFSET) / math.sqrt(n * n))
        patch_pos = F.interpolate(patch_pos, scale_factor=scale, mode="bicubic", antialias=False)
        if patch_pos.shape[-2:] != (grid_h, grid_w):
            raise RuntimeError(f"positional embedding interpolated to {tuple(patch_pos.shape[-2:])}, "
                               f"expected {(grid_h, grid_w)}")
        patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(1, grid_h * grid_w, dim)
        return torch.cat((pos[:, :1], patch_pos), dim=1).to(self.pos_embed.dtype)

    def forward(
        self, x: torch.Tensor, taps: tuple[int, ...], pos_embed: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Patch tokens (B, N, C) after the final norm, for each tapped block.

        ``pos_embed`` may be a precomputed embedding for this grid (the fused graph
        folds it to a constant); otherwise it is interpolated here.
        """
        p = self.spec.patch_size
        grid_h, grid_w = x.shape[-2] // p, x.shape[-1] // p
        tokens = self.patch_embed(x)
        tokens = torch.cat((self.cls_token.expand(tokens.shape[0], -1, -1), tokens), dim=1)
        tokens = tokens + (pos_embed if pos_embed is not None else self.pos_embed_for(grid_h, grid_w))
        outputs = []
        for index, block in enumerate(self.blocks):
            tokens = block(tokens)
            if index in taps:
                outputs.append(self.norm(tokens)[:, 1:])
            if index >= taps[-1]:
                break
        return outputs
