"""The metric training loop: SiLog against stored LiDAR frames (finetune, and selftrain's LiDAR-only student).

Depth Anything's metric fine-tuning: SiLog (lambda 0.5) on the pixels LiDAR measured, AdamW on the head (the
encoder frozen, or trained at a tenth of the head's rate), a poly schedule and random flips; per-epoch
checkpoints a rerun resumes from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader, DistributedSampler

from depth_anything_ros.model import family_of_network
from depth_anything_ros.training.augment import random_hflip
from depth_anything_ros.training.distributed import Distributed
from depth_anything_ros.training.labeled_frames import FrameStore, LabeledFrames
from depth_anything_ros.training.loop import LoopResult, LoopSettings, run_epochs
from depth_anything_ros.training.losses import silog_loss
from depth_anything_ros.training.options import FinetuneOptions

ENCODER_LR_FACTOR = 0.1  # an unfrozen encoder learns at a tenth of the head's rate


def epoch_generator(seed: int, epoch: int, rank: int) -> torch.Generator:
    """Augmentation randomness that depends only on (seed, epoch, rank): a resumed run repeats it exactly."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 7919 + rank)


def lidar_loss(depth_pred: torch.Tensor, lidar: torch.Tensor, min_depth: float, max_depth: float) -> torch.Tensor:
    """SiLog of metric predictions against LiDAR depth (NaN where no point) within [min_depth, max_depth]."""
    valid = torch.isfinite(lidar) & (lidar >= min_depth) & (lidar <= max_depth)
    return silog_loss(depth_pred, torch.nan_to_num(lidar, nan=1.0), valid)


def make_optimizer(model, options: FinetuneOptions) -> torch.optim.Optimizer:
    """AdamW on the head (and the encoder at a tenth of its rate when unfrozen). What never runs in the training
    forward stays frozen (the family says what), or DDP under torchrun would wait forever for its gradients."""
    parts = family_of_network(model).trainable_parts(model)
    model.requires_grad_(False)
    parts.encoder.requires_grad_(options.unfreeze_encoder)
    parts.head.requires_grad_(True)
    for parameter in parts.frozen_parameters:
        parameter.requires_grad_(False)
    for module in parts.unused:
        module.requires_grad_(False)
    groups = [{"params": [p for p in parts.head.parameters() if p.requires_grad], "lr": options.lr}]
    if options.unfreeze_encoder:
        groups.append({"params": [p for p in parts.encoder.parameters() if p.requires_grad],
                       "lr": options.lr * ENCODER_LR_FACTOR})
    return torch.optim.AdamW(groups, lr=options.lr, betas=(0.9, 0.999), weight_decay=options.weight_decay)


def train_on_frames(model, store: FrameStore, stamps: Sequence[int], image_hw: tuple[int, int],
                    options: FinetuneOptions, checkpoint: Path, fingerprint: dict,
                    dist: Distributed, progress: Callable[[str], None] = print,
                    max_depth: float | None = None) -> LoopResult:
    """SiLog training of ``model`` (in place) on the stored frames; resumes from ``checkpoint``.

    LiDAR beyond ``max_depth`` is left out (default: the family's ``training_max_depth``); a network that needs
    the camera (DA3 metric: metres from focal) gets each frame's stored K.
    """
    family = family_of_network(model)
    model.to(dist.device)
    network = family.training_network(model, image_hw, "bgr", options.input_size).to(dist.device)
    optimizer = make_optimizer(model, options)
    trained = dist.wrap(network)
    needs_k = network.needs_k
    sampler = DistributedSampler(LabeledFrames(store, stamps, with_k=needs_k), num_replicas=dist.world_size,
                                 rank=dist.rank, shuffle=True, seed=options.seed)
    loader = DataLoader(sampler.dataset, batch_size=options.batch_size, sampler=sampler,
                        num_workers=options.workers)
    if max_depth is None:
        max_depth = family.training_max_depth(model)

    def batches(epoch: int):
        sampler.set_epoch(epoch)
        generator = epoch_generator(options.seed, epoch, dist.rank)  # one stream per epoch, not per step
        return ((*tensors, generator) for tensors in loader)

    def step_loss(net, batch, epoch: int):
        images, depth, *k, generator = batch
        images, depth = images.to(dist.device, non_blocking=True), depth.to(dist.device, non_blocking=True)
        if options.flip:  # a mirrored image keeps its fx and fy
            images, depth = random_hflip(images, depth, generator=generator)
        loss = lidar_loss(net(images, k=k[0] if needs_k else None), depth, options.min_depth, max_depth)
        return loss, {"silog": float(loss.detach())}

    settings = LoopSettings(options.epochs, len(loader), checkpoint, fingerprint)
    return run_epochs(network, trained, optimizer, batches, step_loss, settings, dist, progress)
