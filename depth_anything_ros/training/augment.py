"""Image augmentations applied to batches on the training device."""

from __future__ import annotations

import torch


def random_hflip(images: torch.Tensor, *maps: torch.Tensor, generator: torch.Generator,
                 p: float = 0.5) -> tuple[torch.Tensor, ...]:
    """Mirror each sample left-right with probability ``p``: images (B,H,W,C) and maps (B,H,W) alike."""
    flip = torch.rand(images.shape[0], generator=generator) < p
    if not bool(flip.any()):
        return (images, *maps)
    index = flip.nonzero().squeeze(1).to(images.device)
    out = []
    for tensor, width_dim in ((images, 2), *((m, 2) for m in maps)):
        tensor = tensor.clone()
        tensor[index] = tensor[index].flip(width_dim)
        out.append(tensor)
    return tuple(out)
