"""Training losses of the Depth Anything recipe, each written from its definition."""

from __future__ import annotations

import torch

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
