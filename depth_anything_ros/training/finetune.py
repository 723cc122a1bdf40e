"""``calibrate --method finetune``: the DPT head trained on the robot's LiDAR with the SiLog loss.

The recipe of Depth Anything's metric fine-tuning, applied to one robot's bags: a metric head
(Sigmoid x max depth), SiLog (lambda 0.5) on the pixels LiDAR measured, the encoder frozen (or
trained at a tenth of the head's learning rate), AdamW, a poly schedule and random flips. A metric
checkpoint is trained further; a relative one lends its encoder to a new metric head, as the
official recipe does. Held-out time blocks measure the start, the best affine head of the
starting network, and the exported fine-tuned graph, side by side.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from depth_anything_ros.calibration.fit import collect_samples, fit_calibration, measure, rounded_metrics
from depth_anything_ros.calibration.ground_truth import GroundTruthOptions
from depth_anything_ros.calibration.head_fit import time_block_split
from depth_anything_ros.core.calibration_file import Calibration, save_calibration
from depth_anything_ros.core.files import file_sha256
from depth_anything_ros.model import DepthAnything, ModelSpec
from depth_anything_ros.model.checkpoint import load_model, save_checkpoint
from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from depth_anything_ros.runtime.torch_backend import TorchBackend
from depth_anything_ros.training import distributed
from depth_anything_ros.training.augment import random_hflip
from depth_anything_ros.training.labeled_frames import FrameStore, LabeledFrames, source_fingerprint
from depth_anything_ros.training.loop import LoopSettings, run_epochs
from depth_anything_ros.training.losses import silog_loss
from depth_anything_ros.training.network import TrainingNetwork
from depth_anything_ros.training.options import FinetuneOptions

ENCODER_LR_FACTOR = 0.1  # an unfrozen encoder learns at a tenth of the head's rate


@dataclass(frozen=True)
class FinetuneRequest:
    bags: Sequence[str | Path]
    ground_truth: GroundTruthOptions
    checkpoint: Path
    start_spec: ModelSpec  # the checkpoint's own architecture (relative or metric)
    max_depth: float  # of the fine-tuned metric head
    output: Path  # calibration YAML; weights and graph are written beside it
    work_dir: Path  # stored frames and the per-epoch training checkpoint
    options: FinetuneOptions = field(default_factory=FinetuneOptions)
    block_s: float = 10.0
    holdout_every: int = 5


def starting_model(checkpoint: Path, start_spec: ModelSpec, max_depth: float) -> DepthAnything:
    """The metric network that training starts from (see the module docstring)."""
    if start_spec.kind == "metric" and start_spec.max_depth == max_depth:
        return load_model(checkpoint, start_spec)
    source = load_model(checkpoint, start_spec)
    model = DepthAnything(dataclasses.replace(start_spec, kind="metric", max_depth=max_depth))
    model.pretrained.load_state_dict(source.pretrained.state_dict())
    if start_spec.kind == "metric":  # same head, another range: keep the head's weights too
        model.depth_head.load_state_dict(source.depth_head.state_dict())
    return model


def epoch_generator(seed: int, epoch: int, rank: int) -> torch.Generator:
    """Augmentation randomness that depends only on (seed, epoch, rank): a resumed run repeats it exactly."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 7919 + rank)


def lidar_loss(depth_pred: torch.Tensor, lidar: torch.Tensor, min_depth: float, max_depth: float) -> torch.Tensor:
    """SiLog of metric predictions against LiDAR depth (NaN where no point) within [min_depth, max_depth]."""
    valid = torch.isfinite(lidar) & (lidar >= min_depth) & (lidar <= max_depth)
    return silog_loss(depth_pred, torch.nan_to_num(lidar, nan=1.0), valid)


def make_optimizer(model: DepthAnything, options: FinetuneOptions) -> torch.optim.Optimizer:
    model.pretrained.requires_grad_(options.unfreeze_encoder)
    # Never used in the forward pass, so DDP would wait forever for their gradients: the mask token,
    # and the first residual unit of the deepest fusion block (the official head has no skip input there).
    model.pretrained.mask_token.requires_grad_(False)
    model.depth_head.scratch.refinenet4.resConfUnit1.requires_grad_(False)
    groups = [{"params": [p for p in model.depth_head.parameters() if p.requires_grad], "lr": options.lr}]
    if options.unfreeze_encoder:
        groups.append({"params": [p for p in model.pretrained.parameters() if p.requires_grad],
                       "lr": options.lr * ENCODER_LR_FACTOR})
    return torch.optim.AdamW(groups, lr=options.lr, betas=(0.9, 0.999), weight_decay=options.weight_decay)


def train_on_frames(model: DepthAnything, store: FrameStore, stamps: Sequence[int], image_hw: tuple[int, int],
                    options: FinetuneOptions, checkpoint: Path, fingerprint: dict,
                    dist: distributed.Distributed, progress: Callable[[str], None] = print):
    """SiLog training of ``model`` (in place) on the stored frames; resumes from ``checkpoint``."""
    model.to(dist.device)
    network = TrainingNetwork(model, image_hw, "bgr", options.input_size).to(dist.device)
    optimizer = make_optimizer(model, options)
    trained = dist.wrap(network)
    sampler = DistributedSampler(LabeledFrames(store, stamps), num_replicas=dist.world_size, rank=dist.rank,
                                 shuffle=True, seed=options.seed)
    loader = DataLoader(sampler.dataset, batch_size=options.batch_size, sampler=sampler,
                        num_workers=options.workers)
    max_depth = float(model.spec.max_depth)

    def batches(epoch: int):
        sampler.set_epoch(epoch)
        generator = epoch_generator(options.seed, epoch, dist.rank)  # one stream per epoch, not per step
        return ((images, depth, generator) for images, depth in loader)

    def step_loss(net, batch, epoch: int):
        images, depth, generator = batch
        images, depth = images.to(dist.device, non_blocking=True), depth.to(dist.device, non_blocking=True)
        if options.flip:
            images, depth = random_hflip(images, depth, generator=generator)
        loss = lidar_loss(net(images), depth, options.min_depth, max_depth)
        return loss, {"silog": float(loss.detach())}

    settings = LoopSettings(options.epochs, len(loader), checkpoint, fingerprint)
    return run_epochs(network, trained, optimizer, batches, step_loss, settings, dist, progress)


def _torch_backend(model: DepthAnything, image_hw, options: FinetuneOptions, device: torch.device, sha: str):
    return TorchBackend(model, image_hw, "bgr", options.input_size, str(device), checkpoint_sha256=sha)


def finetune(request: FinetuneRequest, progress: Callable[[str], None] = print) -> Calibration | None:
    """Run the whole recipe; rank 0 returns the written calibration, other ranks None."""
    options = request.options
    dist = distributed.start(options.device)
    try:
        return _finetune(request, dist, progress)
    finally:
        dist.close()


def _finetune(request: FinetuneRequest, dist: distributed.Distributed,
              progress: Callable[[str], None]) -> Calibration | None:
    options = request.options
    store = FrameStore(request.work_dir)
    error, stamps, camera_frame = "", [], ""
    if dist.is_main:
        try:
            stamps, camera_frame = store.extract(request.bags, request.ground_truth, progress)
            time_block_split(np.array(stamps), request.block_s, request.holdout_every)  # fails early if no block
        except (ValueError, OSError) as failure:
            error = str(failure)
    error = dist.broadcast_text(error)
    if error:
        raise ValueError(error)
    if not dist.is_main:  # rank 0 has stored the frames by now: read its index
        stamps, camera_frame = store.load_index(source_fingerprint(request.bags, request.ground_truth))
    held = time_block_split(np.array(stamps), request.block_s, request.holdout_every)
    train = [s for s, h in zip(stamps, held, strict=True) if not h]
    test = [s for s, h in zip(stamps, held, strict=True) if h]
    image_hw = store.frame(stamps[0]).image.shape[:2]
    start_sha = file_sha256(request.checkpoint)

    baseline = None
    if dist.is_main:
        progress(f"{len(train)} training and {len(test)} held-out frames; measuring the starting network")
        start = load_model(request.checkpoint, request.start_spec)
        collected = collect_samples(store.frames(stamps, camera_frame),
                                    lambda hw: _torch_backend(start, hw, options, dist.device, start_sha),
                                    progress=progress)
        _, baseline = fit_calibration(collected, "affine", [str(b) for b in request.bags], request.block_s,
                                      request.holdout_every)
        del start, collected

    torch.manual_seed(options.seed)  # a new metric head starts from the same weights on every run and rank
    model = starting_model(request.checkpoint, request.start_spec, request.max_depth)
    fingerprint = {"checkpoint_sha256": start_sha, "max_depth": request.max_depth, "train_frames": len(train),
                   "image_hw": list(image_hw), **dataclasses.asdict(options), "world_size": dist.world_size}
    for key in ("workers", "device"):
        fingerprint.pop(key)
    result = train_on_frames(model, store, train, image_hw, options, request.work_dir / "last.pt", fingerprint,
                             dist, progress)
    if not dist.is_main:
        return None
    return _write_outputs(request, model.cpu().eval(), store, test, camera_frame, image_hw, baseline, result,
                          start_sha, len(train), progress)


def _write_outputs(request: FinetuneRequest, model: DepthAnything, store: FrameStore, test: list[int],
                   camera_frame: str, image_hw, baseline: dict, result, start_sha: str, train_frames: int,
                   progress: Callable[[str], None]) -> Calibration:
    """Weights, the re-exported graph (measured on the held-out frames), then the calibration YAML."""
    from depth_anything_ros.export.onnx_export import export_onnx  # torch.onnx

    options = request.options
    output = Path(request.output)
    weights = output.with_suffix(".pth")
    graph = output.with_name(f"{output.stem}_{image_hw[0]}x{image_hw[1]}.onnx")
    save_checkpoint(model, weights, {"finetuned_from": start_sha, "method": "finetune"})
    sha = file_sha256(weights)
    export_onnx(model, image_hw, graph, "bgr", options.input_size, sha)
    progress(f"wrote {weights} and {graph}; measuring the exported graph on the held-out frames")
    with OnnxRuntimeBackend(graph) as backend:
        collected = collect_samples(store.frames(test, camera_frame), lambda hw: backend, progress=progress)
    finetuned = measure(collected.samples, "metric", None)["before"]
    statistics = {
        "frames_train": train_frames, "frames_held_out": len(test), "epochs": options.epochs,
        "batch_size": options.batch_size, "lr": options.lr, "encoder": "trained at lr/10" if options.unfreeze_encoder
        else "frozen", "input_size": options.input_size, "max_depth": request.max_depth,
        "train_silog_by_epoch": [round(h["silog"], 5) for h in result.history],
        "resumed_after_epoch": result.resumed_from_epoch,
        "block_s": request.block_s, "holdout_every": request.holdout_every,
        "finetuned_from": start_sha,
        "held_out_start": rounded_metrics(baseline["held_out"]["before"]["overall"]),
        "held_out_affine": rounded_metrics(baseline["held_out"]["after"]["overall"]),
        "held_out_finetuned": rounded_metrics(finetuned["overall"]),
        "held_out_finetuned_by_range": {band: rounded_metrics(m) for band, m in finetuned["by_range"].items()},
    }
    calibration = Calibration("metric", 1.0, 0.0, sha, camera_frame, statistics, "finetune",
                              [str(b) for b in request.bags],
                              dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                              {"checkpoint": weights.name, "onnx": graph.name})
    save_calibration(output, calibration)
    return calibration
