"""``calibrate --method finetune``: the DPT head trained on the robot's LiDAR with the SiLog loss.

The recipe of Depth Anything's metric fine-tuning, applied to one robot's bags: SiLog (lambda 0.5)
on the pixels LiDAR measured, the encoder frozen (or trained at a tenth of the head's learning rate),
AdamW, a poly schedule and random flips. Held-out time blocks measure the start, the best affine and
scale heads of the starting network, and the exported fine-tuned graph, side by side.

V1/V2: a metric head (Sigmoid x max depth). A metric checkpoint is trained further; a relative one
lends its encoder to a new metric head, as the official recipe does.
Depth Anything 3: metres are the network's depth * focal / 300 (focal: mean fx, fy of each frame's K at
the network input). A metric checkpoint trains as it is; a relative-depth one (mono, any-view) keeps its
architecture and becomes metric the DA3 way: its depth is first scaled by the starting network's best
scale fit (folded into the exp head's last bias), then trained so that depth * focal / 300 is metres;
its config.json then says ``"depth_anything_ros": {"metric": true}``, which ``load_da3`` honours.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
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
from depth_anything_ros.model import CheckpointRequest, family_of, family_of_network
from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from depth_anything_ros.runtime.torch_backend import TorchBackend
from depth_anything_ros.training import distributed
from depth_anything_ros.training.augment import random_hflip
from depth_anything_ros.training.labeled_frames import FrameStore, LabeledFrames, source_fingerprint
from depth_anything_ros.training.loop import LoopSettings, run_epochs
from depth_anything_ros.training.losses import silog_loss
from depth_anything_ros.training.options import FinetuneOptions

ENCODER_LR_FACTOR = 0.1  # an unfrozen encoder learns at a tenth of the head's rate


@dataclass(frozen=True)
class FinetuneRequest:
    bags: Sequence[str | Path]
    ground_truth: GroundTruthOptions
    start: CheckpointRequest  # the starting checkpoint (V1/V2 .pth, or a DA3 folder) as its family reads it
    max_depth: float | None  # V1/V2: of the fine-tuned metric head; DA3: LiDAR beyond it is left out (None: none)
    output: Path  # calibration YAML; weights and graph are written beside it
    work_dir: Path  # stored frames and the per-epoch training checkpoint
    options: FinetuneOptions = field(default_factory=FinetuneOptions)
    block_s: float = 10.0
    holdout_every: int = 5


def load_start(start: CheckpointRequest):
    """The checkpoint as it is (the 'before' of the comparison)."""
    return family_of(start).load(start)[0]


def starting_model(start: CheckpointRequest, max_depth: float | None):
    """The metric network that training starts from (its family's ``metric_network``; module docstring)."""
    return family_of(start).metric_network(load_start(start), max_depth)


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
                    dist: distributed.Distributed, progress: Callable[[str], None] = print,
                    max_depth: float | None = None):
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


def _torch_backend(model, image_hw, options: FinetuneOptions, device: torch.device, sha: str):
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
    start_sha = file_sha256(family_of(request.start).weights_file(request.start.checkpoint))

    baseline, gain, error = None, None, ""
    if dist.is_main:
        try:
            baseline, gain = _measure_start(request, store, stamps, train, test, camera_frame, image_hw, start_sha,
                                            dist, progress)
        except (ValueError, OSError) as failure:  # every rank stops with rank 0's message, none waits forever
            error = str(failure)
    shared = json.loads(dist.broadcast_text(json.dumps({"gain": gain, "error": error})))
    if shared["error"]:
        raise ValueError(shared["error"])
    gain = shared["gain"]

    torch.manual_seed(options.seed)  # a new metric head starts from the same weights on every run and rank
    model = starting_model(request.start, request.max_depth)
    if gain is not None:
        family_of_network(model).apply_gain(model, float(gain))
    fingerprint = {"checkpoint_sha256": start_sha, "max_depth": request.max_depth, "train_frames": len(train),
                   "image_hw": list(image_hw), **dataclasses.asdict(options), "world_size": dist.world_size}
    for key in ("workers", "device"):
        fingerprint.pop(key)
    result = train_on_frames(model, store, train, image_hw, options, request.work_dir / "last.pt", fingerprint,
                             dist, progress, request.max_depth)
    if not dist.is_main:
        return None
    return _write_outputs(request, model.cpu().eval(), store, test, camera_frame, image_hw, baseline, result,
                          start_sha, len(train), progress)


def _measure_start(request: FinetuneRequest, store: FrameStore, stamps: list[int], train: list[int],
                   test: list[int], camera_frame: str, image_hw, start_sha: str, dist: distributed.Distributed,
                   progress: Callable[[str], None]) -> tuple[dict, float | None]:
    """(held-out metrics of the start, its own and with its best affine and scale heads; for a relative DA3
    start, the factor that makes it metric) on rank 0."""
    options = request.options
    progress(f"{len(train)} training and {len(test)} held-out frames; measuring the starting network")
    start = load_start(request.start)
    collected = collect_samples(store.frames(stamps, camera_frame),
                                lambda hw: _torch_backend(start, hw, options, dist.device, start_sha),
                                progress=progress)
    bags = [str(b) for b in request.bags]
    _, baseline = fit_calibration(collected, "affine", bags, request.block_s, request.holdout_every)
    scale_fit, scaled = fit_calibration(collected, "scale", bags, request.block_s, request.holdout_every)
    baseline["held_out_scale"] = scaled["held_out"]["after"]
    k = np.stack([store.frame(s).k for s in train])
    return baseline, family_of_network(start).metric_gain(start, scale_fit.scale, k, image_hw)


def _save_and_export(model, output: Path, image_hw, options: FinetuneOptions,
                     start_sha: str) -> tuple[Path, str, Path]:
    """(weights as the user names them, their SHA-256, the fused graph) written beside ``output``, in the
    family's layout (V1/V2: ``<stem>.pth``; DA3: the hub folder ``<stem>/``)."""
    from depth_anything_ros.export.onnx_export import export_graph  # torch.onnx

    family = family_of_network(model)
    graph = output.with_name(f"{output.stem}_{image_hw[0]}x{image_hw[1]}.onnx")
    weights = family.save(model, output, {"finetuned_from": start_sha, "method": "finetune"})
    sha = file_sha256(family.weights_file(weights))
    export_graph(model, image_hw, graph, "bgr", options.input_size, sha)
    return weights, sha, graph


def _write_outputs(request: FinetuneRequest, model, store: FrameStore, test: list[int],
                   camera_frame: str, image_hw, baseline: dict, result, start_sha: str, train_frames: int,
                   progress: Callable[[str], None]) -> Calibration:
    """Weights, the re-exported graph (measured on the held-out frames), then the calibration YAML."""
    options = request.options
    output = Path(request.output)
    weights, sha, graph = _save_and_export(model, output, image_hw, options, start_sha)
    progress(f"wrote {weights} and {graph}; measuring the exported graph on the held-out frames")
    with OnnxRuntimeBackend(graph) as backend:
        collected = collect_samples(store.frames(test, camera_frame), lambda hw: backend, progress=progress)
    finetuned = measure(collected.samples, "metric", None)["before"]
    statistics = {
        "frames_train": train_frames, "frames_held_out": len(test), "epochs": options.epochs,
        "batch_size": options.batch_size, "lr": options.lr, "encoder": "trained at lr/10" if options.unfreeze_encoder
        else "frozen", "max_depth": request.max_depth,
        **family_of_network(model).description(model, image_hw, options.input_size),
        "train_silog_by_epoch": [round(h["silog"], 5) for h in result.history],
        "resumed_after_epoch": result.resumed_from_epoch,
        "block_s": request.block_s, "holdout_every": request.holdout_every,
        "finetuned_from": start_sha,
        "held_out_start": rounded_metrics(baseline["held_out"]["before"]["overall"]),
        "held_out_affine": rounded_metrics(baseline["held_out"]["after"]["overall"]),
        "held_out_scale": rounded_metrics(baseline["held_out_scale"]["overall"]),
        "held_out_finetuned": rounded_metrics(finetuned["overall"]),
        "held_out_finetuned_by_range": {band: rounded_metrics(m) for band, m in finetuned["by_range"].items()},
    }
    calibration = Calibration("metric", 1.0, 0.0, sha, camera_frame, statistics, "finetune",
                              [str(b) for b in request.bags],
                              dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                              {"checkpoint": weights.name, "onnx": graph.name})
    save_calibration(output, calibration)
    return calibration
