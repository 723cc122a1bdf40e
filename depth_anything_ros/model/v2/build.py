"""From command-line choices to a loaded model: one place that decides what to build."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from depth_anything_ros.core.files import file_sha256
from depth_anything_ros.model.family_base import UNTRAINED_WARNING
from depth_anything_ros.model.v2.checkpoint import load_model
from depth_anything_ros.model.v2.network import DepthAnything
from depth_anything_ros.model.v2.spec import ModelSpec, model_spec

LOG = logging.getLogger(__name__)


def untrained_model(spec: ModelSpec, seed: int = 0) -> DepthAnything:
    """A randomly initialised model whose output varies across the image.

    PyTorch's default init leaves the last convolution negative almost everywhere,
    so the final ReLU would output zeros and every comparison would be vacuous; a
    positive output bias keeps the head in its active range (and mid-sigmoid for
    metric heads).
    """
    torch.manual_seed(seed)
    model = DepthAnything(spec)
    last_conv = model.depth_head.scratch.output_conv2[2]
    with torch.no_grad():
        last_conv.bias.fill_(0.5 if spec.kind == "relative" else 0.0)
        last_conv.weight.mul_(4.0)
    return model.eval()


def build_model(
    checkpoint: str | Path | None, encoder: str, version: int, metric: bool = False,
    max_depth: float | None = None, seed: int = 0,
) -> tuple[DepthAnything, str]:
    """The model and the SHA-256 of its weights ('untrained' without a checkpoint)."""
    if metric and max_depth is None:
        raise ValueError("--metric needs --max-depth (20 for indoor/Hypersim, 80 for outdoor/VKITTI)")
    spec: ModelSpec = model_spec(encoder, version, metric, max_depth)
    if checkpoint is None:
        LOG.warning(UNTRAINED_WARNING.format(encoder=encoder))
        return untrained_model(spec, seed), "untrained"
    return load_model(checkpoint, spec), file_sha256(checkpoint)
