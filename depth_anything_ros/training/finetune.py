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
from depth_anything_ros.model import DepthAnything, ModelSpec
from depth_anything_ros.model.checkpoint import load_model, save_checkpoint
from depth_anything_ros.model.da3 import Da3Model
from depth_anything_ros.model.da3_checkpoint import load_da3, save_da3
from depth_anything_ros.model.da3_spec import (
    METRIC_FOCAL_DIVISOR,
    OUR_CONFIG,
    Da3Spec,
    da3_checkpoint_files,
    is_da3_checkpoint,
)
from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from depth_anything_ros.runtime.torch_backend import TorchBackend
from depth_anything_ros.training import distributed
from depth_anything_ros.training.augment import random_hflip
from depth_anything_ros.training.labeled_frames import FrameStore, LabeledFrames, source_fingerprint
from depth_anything_ros.training.loop import LoopSettings, run_epochs
from depth_anything_ros.training.losses import silog_loss
from depth_anything_ros.training.network import network_focal, training_network
from depth_anything_ros.training.options import FinetuneOptions

ENCODER_LR_FACTOR = 0.1  # an unfrozen encoder learns at a tenth of the head's rate


@dataclass(frozen=True)
class FinetuneRequest:
    bags: Sequence[str | Path]
    ground_truth: GroundTruthOptions
    checkpoint: Path  # V1/V2 .pth, or a DA3 checkpoint (folder with model.safetensors + config.json)
    start_spec: ModelSpec | Da3Spec | None  # the checkpoint's own architecture; None: a DA3 config.json names it
    max_depth: float | None  # V1/V2: of the fine-tuned metric head; DA3: LiDAR beyond it is left out (None: none)
    output: Path  # calibration YAML; weights and graph are written beside it
    work_dir: Path  # stored frames and the per-epoch training checkpoint
    options: FinetuneOptions = field(default_factory=FinetuneOptions)
    block_s: float = 10.0
    holdout_every: int = 5


Network = DepthAnything | Da3Model


def is_da3_request(request: FinetuneRequest) -> bool:
    return isinstance(request.start_spec, Da3Spec) or is_da3_checkpoint(request.checkpoint)


def load_start(checkpoint: Path, start_spec: ModelSpec | Da3Spec | None) -> Network:
    """The checkpoint as it is (the 'before' of the comparison)."""
    if is_da3_checkpoint(checkpoint):
        if start_spec is not None and not isinstance(start_spec, Da3Spec):
            raise ValueError(f"{checkpoint} is a Depth Anything 3 checkpoint, not a V{start_spec.version} one")
        return load_da3(checkpoint, start_spec)
    if not isinstance(start_spec, ModelSpec):
        raise ValueError(f"{checkpoint}: a V1/V2 checkpoint needs its model spec (--version, --encoder)")
    return load_model(checkpoint, start_spec)


def starting_model(checkpoint: Path, start_spec: ModelSpec | Da3Spec | None, max_depth: float | None) -> Network:
    """The metric network that training starts from (see the module docstring)."""
    if is_da3_checkpoint(checkpoint):
        source = load_start(checkpoint, start_spec)
        if source.spec.metric:
            return source
        model = Da3Model(dataclasses.replace(source.spec, metric=True))  # same architecture, same weights
        model.load_state_dict(source.state_dict())
        return model
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


def unused_in_training(model: Network) -> list[torch.nn.Module]:
    """Modules the training forward pass never runs: DDP would wait forever for their gradients.

    V1/V2: the first residual unit of the deepest fusion block (the official head has no skip input there;
    the encoder's mask token is frozen apart). DA3: the camera encoder/decoder and the DualDPT ray
    branch of any-view models, the sky branch of mono/metric ones (only depth is trained).
    """
    if isinstance(model, Da3Model):
        unused = [module for name in ("cam_enc", "cam_dec") if (module := getattr(model, name, None)) is not None]
        scratch = model.head.scratch
        return unused + [module for name, module in scratch.named_children()
                         if name.endswith("_aux") or name == "sky_output_conv2"]
    return [model.depth_head.scratch.refinenet4.resConfUnit1]


def make_optimizer(model: Network, options: FinetuneOptions) -> torch.optim.Optimizer:
    encoder, head = (model.backbone, model.head) if isinstance(model, Da3Model) else (model.pretrained,
                                                                                       model.depth_head)
    model.requires_grad_(False)
    encoder.requires_grad_(options.unfreeze_encoder)
    head.requires_grad_(True)
    if isinstance(model, DepthAnything):
        model.pretrained.mask_token.requires_grad_(False)  # never used in the forward pass
    for module in unused_in_training(model):
        module.requires_grad_(False)
    groups = [{"params": [p for p in head.parameters() if p.requires_grad], "lr": options.lr}]
    if options.unfreeze_encoder:
        groups.append({"params": [p for p in encoder.parameters() if p.requires_grad],
                       "lr": options.lr * ENCODER_LR_FACTOR})
    return torch.optim.AdamW(groups, lr=options.lr, betas=(0.9, 0.999), weight_decay=options.weight_decay)


def train_on_frames(model: Network, store: FrameStore, stamps: Sequence[int], image_hw: tuple[int, int],
                    options: FinetuneOptions, checkpoint: Path, fingerprint: dict,
                    dist: distributed.Distributed, progress: Callable[[str], None] = print,
                    max_depth: float | None = None):
    """SiLog training of ``model`` (in place) on the stored frames; resumes from ``checkpoint``.

    LiDAR beyond ``max_depth`` is left out (default: a V1/V2 metric head's own range, none for DA3); a DA3
    metric network gets each frame's focal length at its input from the stored K.
    """
    model.to(dist.device)
    network = training_network(model, image_hw, "bgr", options.input_size).to(dist.device)
    optimizer = make_optimizer(model, options)
    trained = dist.wrap(network)
    focal_needed = isinstance(model, Da3Model) and model.spec.metric
    sampler = DistributedSampler(LabeledFrames(store, stamps, with_k=focal_needed), num_replicas=dist.world_size,
                                 rank=dist.rank, shuffle=True, seed=options.seed)
    loader = DataLoader(sampler.dataset, batch_size=options.batch_size, sampler=sampler,
                        num_workers=options.workers)
    if max_depth is None:
        max_depth = float("inf") if isinstance(model, Da3Model) else float(model.spec.max_depth)

    def batches(epoch: int):
        sampler.set_epoch(epoch)
        generator = epoch_generator(options.seed, epoch, dist.rank)  # one stream per epoch, not per step
        return ((*tensors, generator) for tensors in loader)

    def step_loss(net, batch, epoch: int):
        images, depth, *k, generator = batch
        images, depth = images.to(dist.device, non_blocking=True), depth.to(dist.device, non_blocking=True)
        if options.flip:  # a mirrored image keeps its fx and fy
            images, depth = random_hflip(images, depth, generator=generator)
        extra = {"focal": network_focal(k[0], image_hw, network.net_hw).to(dist.device)} if focal_needed else {}
        loss = lidar_loss(net(images, **extra), depth, options.min_depth, max_depth)
        return loss, {"silog": float(loss.detach())}

    settings = LoopSettings(options.epochs, len(loader), checkpoint, fingerprint)
    return run_epochs(network, trained, optimizer, batches, step_loss, settings, dist, progress)


def _torch_backend(model: Network, image_hw, options: FinetuneOptions, device: torch.device, sha: str):
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
    weights_file = da3_checkpoint_files(request.checkpoint)[0] if is_da3_request(request) else request.checkpoint
    start_sha = file_sha256(weights_file)

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
    model = starting_model(request.checkpoint, request.start_spec, request.max_depth)
    if gain is not None:
        scale_depth_output(model, float(gain))
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
    start = load_start(request.checkpoint, request.start_spec)
    collected = collect_samples(store.frames(stamps, camera_frame),
                                lambda hw: _torch_backend(start, hw, options, dist.device, start_sha),
                                progress=progress)
    bags = [str(b) for b in request.bags]
    _, baseline = fit_calibration(collected, "affine", bags, request.block_s, request.holdout_every)
    scale_fit, scaled = fit_calibration(collected, "scale", bags, request.block_s, request.holdout_every)
    baseline["held_out_scale"] = scaled["held_out"]["after"]
    if isinstance(start, Da3Model) and not start.spec.metric:
        return baseline, metric_gain(scale_fit.scale, store, train, image_hw, start)
    return baseline, None


def metric_gain(scale: float, store: FrameStore, train: Sequence[int], image_hw: tuple[int, int],
                start: Da3Model) -> float:
    """The factor that makes a relative DA3 network's depth * focal / 300 match its best scale fit to LiDAR
    (``scale`` maps its raw depth to metres), with the training frames' median focal at the network input."""
    from depth_anything_ros.export.da3_fused import Da3Preprocess

    net_hw = Da3Preprocess(image_hw, "bgr").net_hw
    k = torch.from_numpy(np.stack([store.frame(s).k for s in train]))
    focal = float(network_focal(k, image_hw, net_hw).median())
    if not focal > 0:
        raise ValueError(f"{start.spec.name} becomes metric through the focal length, but the stored camera K "
                         f"has focal {focal:g}: check camera_info")
    return scale * METRIC_FOCAL_DIVISOR / focal


def scale_depth_output(model: Da3Model, gain: float) -> None:
    """Multiply the network's depth (exp of the last conv's first channel) by ``gain``: log(gain) on its bias."""
    last = model.head.scratch.output_conv2[-1]
    with torch.no_grad():
        last.bias[0] += float(np.log(gain))


def _save_and_export(model: Network, output: Path, image_hw, options: FinetuneOptions,
                     start_sha: str) -> tuple[Path, str, Path]:
    """(weights as the user names them, their SHA-256, the fused graph) written beside ``output``.

    V1/V2: ``<stem>.pth``; DA3: the folder ``<stem>/`` in the hub layout (model.safetensors + config.json).
    """
    graph = output.with_name(f"{output.stem}_{image_hw[0]}x{image_hw[1]}.onnx")
    if isinstance(model, Da3Model):
        from depth_anything_ros.export.da3_onnx import export_da3_onnx  # torch.onnx

        folder = output.with_suffix("")
        weights = save_da3(model, folder, {OUR_CONFIG: {"metric": True, "finetuned_from": start_sha,
                                                        "method": "finetune"}})
        sha = file_sha256(weights)
        export_da3_onnx(model, image_hw, graph, "bgr", checkpoint_sha256=sha)
        return folder, sha, graph
    from depth_anything_ros.export.onnx_export import export_onnx  # torch.onnx

    weights = output.with_suffix(".pth")
    save_checkpoint(model, weights, {"finetuned_from": start_sha, "method": "finetune"})
    sha = file_sha256(weights)
    export_onnx(model, image_hw, graph, "bgr", options.input_size, sha)
    return weights, sha, graph


def _write_outputs(request: FinetuneRequest, model: Network, store: FrameStore, test: list[int],
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
        else "frozen", "max_depth": request.max_depth, **network_statistics(model, image_hw, options),
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


def network_statistics(model: Network, image_hw, options: FinetuneOptions) -> dict:
    """What the network was (its input size; for DA3 the model and how it got its metres)."""
    if not isinstance(model, Da3Model):
        return {"input_size": options.input_size}
    from depth_anything_ros.export.da3_fused import Da3Preprocess

    return {"model": model.spec.name, "network_hw": list(Da3Preprocess(image_hw, "bgr").net_hw),
            "metres": f"depth * focal / {METRIC_FOCAL_DIVISOR:g} (focal: mean fx, fy at the network input)"}
