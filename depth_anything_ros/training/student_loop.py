"""The self-training loop: a student on pseudo-labelled frames under strong perturbations, plus LiDAR frames.

Each step mixes B LiDAR-labelled frames (SiLog when the student gives metres, else the affine-invariant loss in
disparity) with 2B pseudo-labelled frames that the student sees strongly perturbed (colour jitter, Gaussian
blur, CutMix) and learns with the affine-invariant loss per CutMix region, against the label of the image each
region came from. The student's deepest encoder tokens are pulled towards a frozen copy of its initial encoder
(1 - cosine per patch, patches above the margin alpha left free).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from depth_anything_ros.core.head import disparity_from_raw
from depth_anything_ros.model import family_of_network
from depth_anything_ros.training.augment import (
    apply_cutmix,
    colour_jitter,
    cutmix_masks,
    gaussian_blur,
    partners,
    random_hflip,
)
from depth_anything_ros.training.distributed import Distributed
from depth_anything_ros.training.labeled_frames import FrameStore
from depth_anything_ros.training.loop import LoopSettings, run_epochs
from depth_anything_ros.training.losses import affine_invariant_loss, feature_alignment_loss
from depth_anything_ros.training.metric_loop import epoch_generator, lidar_loss, make_optimizer
from depth_anything_ros.training.options import FinetuneOptions, SelftrainOptions
from depth_anything_ros.training.pseudo_labels import PseudoLabels, nominal_k
from depth_anything_ros.training.unlabeled_frames import FrameRef, UnlabeledStore


@dataclass(frozen=True)
class StudentFrames:
    """What a student learns from: unlabeled training frames with their teacher's labels, and LiDAR frames."""

    unlabeled: list[FrameRef]
    images: UnlabeledStore  # the unlabeled frames' images
    labels: PseudoLabels
    labeled: list[int]  # stamps of LiDAR training frames (none without LiDAR)
    lidar: FrameStore
    image_hw: tuple[int, int]


def steps_per_epoch(unlabeled: int, options: SelftrainOptions, world_size: int) -> int:
    """Optimizer steps per pass over the unlabeled frames: 2B of them per step and process."""
    return math.ceil(unlabeled / (2 * options.batch_size * world_size))


def make_student_optimizer(student, options: SelftrainOptions) -> torch.optim.Optimizer:
    """Finetune's optimizer with the encoder trained (at a tenth of the head's rate): one rule of which
    parameters train, for every family (``ModelFamily.trainable_parts``)."""
    return make_optimizer(student, FinetuneOptions(lr=options.lr, weight_decay=options.weight_decay,
                                                   unfreeze_encoder=True))


def lidar_term(pred: torch.Tensor, lidar: torch.Tensor, kind: str, min_depth: float,
               max_depth: float) -> tuple[torch.Tensor, str]:
    """(loss, its name) of the LiDAR frames: SiLog for metres; for depth up to scale, the affine-invariant
    loss in disparity against 1 / LiDAR depth (the same comparison as the pseudo-labels')."""
    if kind == "metric":
        return lidar_loss(pred, lidar, min_depth, max_depth), "silog"
    valid = torch.isfinite(lidar) & (lidar >= min_depth) & (lidar <= max_depth)
    target = 1.0 / torch.nan_to_num(lidar, nan=1.0).clamp_min(min_depth)
    disparity = disparity_from_raw(pred, kind, floor=1e-3, xp=torch)
    return affine_invariant_loss(disparity, target, valid).mean(), "lidar_affine"


def train_student(student, initial, data: StudentFrames, options: SelftrainOptions, checkpoint: Path,
                  fingerprint: dict, dist: Distributed,
                  progress: Callable[[str], None] = print) -> list[dict[str, float]]:
    """Self-train ``student`` (in place; ``initial`` gives the frozen encoder); resumes from ``checkpoint``.
    Returns each epoch's mean losses."""
    device = dist.device
    student.to(device)
    family = family_of_network(student)
    network = family.training_network(student, data.image_hw, "bgr", options.input_size).to(device)
    frozen = family.frozen_encoder(initial, device)
    optimizer = make_student_optimizer(student, options)
    trained = dist.wrap(network)
    kind = family.output_kind(student)
    max_depth = family.training_max_depth(student)
    # a student that needs the camera (DA3 metric: metres from focal): a nominal K for unlabeled frames (the
    # pseudo-label loss ignores their scale), each LiDAR frame's own (stored with it) for metres
    needs_k = network.needs_k
    nominal = torch.from_numpy(np.asarray(nominal_k(data.image_hw), dtype=np.float64).reshape(3, 3))
    unlabeled_per_step = 2 * options.batch_size
    per_epoch = steps_per_epoch(len(data.unlabeled), options, dist.world_size)

    def batches(epoch: int):
        order = torch.randperm(len(data.unlabeled), generator=torch.Generator().manual_seed(options.seed + epoch))
        padded = [data.unlabeled[i] for i in order.tolist()]
        padded += padded[: per_epoch * unlabeled_per_step * dist.world_size - len(padded)]
        mine = padded[dist.rank::dist.world_size]
        labeled = data.labeled
        if labeled:
            cycle = torch.randperm(len(labeled), generator=torch.Generator().manual_seed(options.seed + 7 * epoch))
            labeled = [labeled[i] for i in cycle.tolist()]
        generator = epoch_generator(options.seed, epoch, dist.rank)
        for step in range(per_epoch):
            refs = mine[step * unlabeled_per_step:(step + 1) * unlabeled_per_step]
            u_images = torch.from_numpy(np.stack([data.images.image(r) for r in refs]))
            u_labels = torch.from_numpy(np.stack([data.labels.get(r) for r in refs]))
            lidar = None
            if labeled:
                first = ((step * dist.world_size + dist.rank) * options.batch_size) % len(labeled)
                chosen = [labeled[(first + k) % len(labeled)] for k in range(options.batch_size)]
                stored = [data.lidar.frame(s) for s in chosen]
                k = torch.from_numpy(np.stack([np.asarray(f.k, np.float64).reshape(3, 3) for f in stored])) \
                    if needs_k else torch.zeros(len(stored), 3, 3, dtype=torch.float64)
                lidar = (torch.from_numpy(np.stack([f.image for f in stored])),
                         torch.from_numpy(np.stack([f.depth for f in stored])), k)
            yield u_images, u_labels, lidar, generator

    def step_loss(net, batch, epoch: int):
        u_images, u_labels, lidar, generator = batch
        u_images, u_labels = random_hflip(u_images.to(device), u_labels.to(device), generator=generator)
        n = u_images.shape[0]
        perturbed = gaussian_blur(colour_jitter(u_images, generator), generator)
        masks = cutmix_masks(n, *data.image_hw, generator=generator, p=options.cutmix).to(device)
        perturbed = apply_cutmix(perturbed, masks)
        target = torch.where(masks, u_labels[partners(n).to(device)], u_labels)  # each region's own teacher label
        inputs = [perturbed]
        cameras = [nominal.expand(n, 3, 3)]
        if lidar is not None:
            l_images, l_depth = random_hflip(lidar[0].to(device), lidar[1].to(device), generator=generator)
            inputs.insert(0, l_images.float())
            cameras.insert(0, lidar[2])
        images = torch.cat(inputs)
        out, tokens = net(images, features=True, k=torch.cat(cameras) if needs_k else None)
        u_out, u_tokens = out[-n:], tokens[-n:]
        valid = torch.isfinite(target)
        target = torch.nan_to_num(target, nan=0.0)
        pred = disparity_from_raw(u_out, kind, floor=1e-3, xp=torch)
        area = masks.float().mean(dim=(1, 2))
        pseudo = (area * affine_invariant_loss(pred, target, valid & masks)
                  + (1 - area) * affine_invariant_loss(pred, target, valid & ~masks)).mean()
        with torch.no_grad():
            reference = frozen(network.network_input(perturbed))
        feature = feature_alignment_loss(u_tokens, reference, options.margin)
        loss = pseudo + options.feature_weight * feature
        logged = {"pseudo": float(pseudo.detach()), "feature": float(feature.detach())}
        if lidar is not None:
            labeled, name = lidar_term(out[: out.shape[0] - n], l_depth, kind, options.min_depth, max_depth)
            loss = loss + labeled
            logged = {name: float(labeled.detach()), **logged}
        return loss, logged

    settings = LoopSettings(options.epochs, per_epoch, checkpoint, fingerprint)
    return run_epochs(network, trained, optimizer, batches, step_loss, settings, dist, progress).history
