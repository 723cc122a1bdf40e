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
    for tensor in (images, *maps):  # the width is dimension 2 of both (B,H,W,C) and (B,H,W)
        tensor = tensor.clone()
        tensor[index] = tensor[index].flip(2)
        out.append(tensor)
    return tuple(out)


def _uniform(generator: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def colour_jitter(images: torch.Tensor, generator: torch.Generator, strength: float = 0.4) -> torch.Tensor:
    """Random brightness, contrast and saturation per image, each a factor in [1 - s, 1 + s].

    ``images``: (B, H, W, 3) in 0-255 (any channel order: saturation mixes towards the grey mean).
    Returns float 0-255.
    """
    x = images.float()
    n = x.shape[0]
    shape = (n, 1, 1, 1)
    brightness, contrast, saturation = (_uniform(generator, n, 1 - strength, 1 + strength).view(shape).to(x.device)
                                        for _ in range(3))
    x = x * brightness
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * contrast + mean
    grey = x.mean(dim=3, keepdim=True)
    x = (x - grey) * saturation + grey
    return x.clamp(0.0, 255.0)


def gaussian_blur(images: torch.Tensor, generator: torch.Generator, p: float = 0.5,
                  sigma: tuple[float, float] = (0.1, 2.0)) -> torch.Tensor:
    """Blur each image with probability ``p`` by a Gaussian of random sigma (separable, reflect padding)."""
    x = images.float()
    chosen = torch.rand(x.shape[0], generator=generator) < p
    sigmas = _uniform(generator, x.shape[0], *sigma)
    out = x.clone()
    for i in chosen.nonzero().flatten().tolist():
        s = float(sigmas[i])
        radius = max(1, int(3 * s + 0.5))
        offsets = torch.arange(-radius, radius + 1, dtype=torch.float32, device=x.device)
        kernel = torch.exp(-0.5 * (offsets / s) ** 2)
        kernel = kernel / kernel.sum()
        img = x[i].permute(2, 0, 1).unsqueeze(1)  # (3, 1, H, W): channels as a batch
        img = torch.nn.functional.pad(img, (radius, radius, 0, 0), mode="replicate")
        img = torch.nn.functional.conv2d(img, kernel.view(1, 1, 1, -1))
        img = torch.nn.functional.pad(img, (0, 0, radius, radius), mode="replicate")
        img = torch.nn.functional.conv2d(img, kernel.view(1, 1, -1, 1))
        out[i] = img.squeeze(1).permute(1, 2, 0)
    return out


def cutmix_masks(n: int, height: int, width: int, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """(n, H, W) bool: True inside a random box that image i takes from its partner (none with 1 - p).

    CutMix's box: area fraction 1 - lambda with lambda ~ U(0, 1), aspect as the image, centre uniform,
    clipped to the image.
    """
    masks = torch.zeros((n, height, width), dtype=torch.bool)
    chosen = torch.rand(n, generator=generator) < p
    lam = torch.rand(n, generator=generator)
    centres = torch.rand(n, 2, generator=generator)
    for i in chosen.nonzero().flatten().tolist():
        ratio = float(torch.sqrt(1.0 - lam[i]))
        box_h, box_w = int(height * ratio), int(width * ratio)
        cy, cx = int(centres[i, 0] * height), int(centres[i, 1] * width)
        top, bottom = max(cy - box_h // 2, 0), min(cy + box_h - box_h // 2, height)
        left, right = max(cx - box_w // 2, 0), min(cx + box_w - box_w // 2, width)
        masks[i, top:bottom, left:right] = True
    return masks


def partners(n: int) -> torch.Tensor:
    """The image each one borrows its CutMix box from: the next in the batch (the last from the first)."""
    return torch.roll(torch.arange(n), -1)


def apply_cutmix(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Image i with its mask's box replaced by the same box of image ``partners(n)[i]``."""
    other = images[partners(images.shape[0]).to(images.device)]
    return torch.where(masks.to(images.device).unsqueeze(-1), other, images)
