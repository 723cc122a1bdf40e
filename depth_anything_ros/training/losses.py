"""Training losses of the Depth Anything recipe, each written from its definition."""

from __future__ import annotations

import torch

from depth_anything_ros.training.options import FEATURE_MARGIN

SILOG_LAMBDA = 0.5


def silog_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, lambd: float = SILOG_LAMBDA,
               eps: float = 1e-6) -> torch.Tensor:
    """sqrt(mean(d^2) - lambda * mean(d)^2), d = log(target) - log(pred), over ``valid`` pixels of the batch.

    The official metric-depth loss (lambda 0.5, natural log). With no valid pixel it is a zero that
    still carries a graph, so every process of a distributed run takes the same backward pass.
    """
    valid = valid.detach()
    if not bool(valid.any()):
        return pred.sum() * 0.0
    d = torch.log(target[valid]) - torch.log(pred[valid].clamp_min(eps))
    return torch.sqrt((d.pow(2).mean() - lambd * d.mean().pow(2)).clamp_min(1e-12))


def affine_invariant_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                          eps: float = 1e-6) -> torch.Tensor:
    """Per image: both maps shifted by their median and scaled by their mean absolute deviation over
    ``mask``, then the mean absolute difference over ``mask``. (B,) losses; 0 for an empty mask.

    Depth Anything's loss for pseudo-labels (after MiDaS): insensitive to each image's unknown
    scale and shift, which a relative teacher's disparity leaves open.
    """
    losses = []
    for p, t, m in zip(pred, target, mask, strict=True):
        if not bool(m.any()):
            losses.append(p.sum() * 0.0)
            continue
        losses.append((_normalised(p[m], eps) - _normalised(t[m], eps)).abs().mean())
    return torch.stack(losses)


def _normalised(values: torch.Tensor, eps: float) -> torch.Tensor:
    shift = values.median()
    scale = (values - shift).abs().mean()
    return (values - shift) / (scale + eps)




def feature_alignment_loss(student: torch.Tensor, frozen: torch.Tensor, margin: float = FEATURE_MARGIN
                           ) -> torch.Tensor:
    """Mean of 1 - cos(student, frozen) over patches (B, N, C) whose similarity is still below ``margin``.

    Patches already closer than the tolerance margin (alpha 0.85) are left free, so the student keeps
    DINOv2's semantics without being forced to copy its features exactly. 0 when every patch is free.
    """
    cosine = torch.nn.functional.cosine_similarity(student, frozen.detach(), dim=-1)
    considered = cosine < margin
    if not bool(considered.any()):
        return student.sum() * 0.0
    return (1.0 - cosine[considered]).mean()
