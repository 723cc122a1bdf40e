"""``selftrain``: Depth Anything's student training on a robot's unlabeled frames.

Every selected camera frame is labelled once by the teacher (clean image, cached on disk). Each
step mixes B LiDAR-labelled frames (SiLog, as in fine-tuning) with 2B pseudo-labelled frames that
the student sees strongly perturbed (colour jitter, Gaussian blur, CutMix) and learns with the
affine-invariant loss per CutMix region, against the label of the image each region came from.
The student's deepest encoder tokens are pulled towards a frozen copy of its initial encoder
(1 - cosine per patch, patches above the margin alpha left free). Held-out time blocks then
measure the teacher, a student trained on the LiDAR frames alone for the same number of steps,
and the self-trained student, side by side.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from depth_anything_ros.calibration.fit import collect_samples, fit_calibration, measure, rounded_metrics, stacked
from depth_anything_ros.calibration.ground_truth import GroundTruthOptions
from depth_anything_ros.calibration.head_fit import time_block_split
from depth_anything_ros.calibration.report import write_comparison_report
from depth_anything_ros.core.files import atomic_path, file_sha256
from depth_anything_ros.core.head import depth_from_raw, disparity_from_raw
from depth_anything_ros.model import DepthAnything, ModelSpec
from depth_anything_ros.model.checkpoint import load_model, save_checkpoint
from depth_anything_ros.runtime.backend import DepthBackend
from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from depth_anything_ros.training import distributed
from depth_anything_ros.training.array_cache import ArrayCache
from depth_anything_ros.training.augment import (
    apply_cutmix,
    colour_jitter,
    cutmix_masks,
    gaussian_blur,
    partners,
    random_hflip,
)
from depth_anything_ros.training.finetune import (
    epoch_generator,
    lidar_loss,
    make_optimizer,
    starting_model,
    train_on_frames,
)
from depth_anything_ros.training.labeled_frames import FrameStore, source_fingerprint
from depth_anything_ros.training.loop import LoopSettings, run_epochs
from depth_anything_ros.training.losses import affine_invariant_loss, feature_alignment_loss
from depth_anything_ros.training.network import TrainingNetwork
from depth_anything_ros.training.options import FinetuneOptions, SelftrainOptions
from depth_anything_ros.training.pseudo_labels import PseudoLabels
from depth_anything_ros.training.unlabeled_frames import FrameRef, UnlabeledStore


@dataclass(frozen=True)
class SelftrainRequest:
    bags: Sequence[str | Path]
    image_topic: str
    ground_truth: GroundTruthOptions | None  # None: no LiDAR, pseudo-labels only
    teacher_for: Callable[[tuple[int, int]], DepthBackend]  # the teacher's graph for an image size
    teacher_sha256: str
    student_checkpoint: Path
    student_spec: ModelSpec
    max_depth: float | None  # the student's metric head (needed with LiDAR)
    output: Path  # directory: student.pth, student_<H>x<W>.onnx, report/, selftrain.json
    work_dir: Path  # frames, pseudo-labels, per-epoch checkpoints
    options: SelftrainOptions = field(default_factory=SelftrainOptions)
    block_s: float = 10.0
    holdout_every: int = 5

    def __post_init__(self) -> None:
        if self.ground_truth is not None and self.max_depth is None:
            raise ValueError("with LiDAR the student gets a metric head: give its max depth")


@dataclass
class _Data:
    unlabeled: list[FrameRef]  # training frames only (held-out blocks removed)
    labeled: list[int]  # training LiDAR frames (stamps)
    held_labeled: list[int]
    camera_frame: str
    image_hw: tuple[int, int]
    held_unlabeled: int


def selftrain(request: SelftrainRequest, progress: Callable[[str], None] = print) -> dict | None:
    """Run everything; rank 0 returns the summary written to ``selftrain.json``, other ranks None."""
    dist = distributed.start(request.options.device)
    try:
        return _selftrain(request, dist, progress)
    finally:
        dist.close()


def _prepare(request: SelftrainRequest, store: UnlabeledStore, progress: Callable[[str], None]) -> _Data:
    """Select and store the frames, and split them into the same held-out time blocks."""
    options = request.options
    unlabeled = store.select(request.bags, request.image_topic, options.min_change,
                                                        options.every, progress)
    stamps, camera_frame = [], ""
    if request.ground_truth is not None:
        stamps, camera_frame = FrameStore(request.work_dir).extract(request.bags, request.ground_truth, progress)
    origin = min([r.stamp_ns for r in unlabeled] + stamps)
    held_u = time_block_split(np.array([r.stamp_ns for r in unlabeled]), request.block_s, request.holdout_every,
                              origin)
    held_l = time_block_split(np.array(stamps), request.block_s, request.holdout_every, origin) if stamps \
        else np.zeros(0, bool)
    train_u = [r for r, h in zip(unlabeled, held_u, strict=True) if not h]
    image_hw = store.image(unlabeled[0]).shape[:2]
    return _Data(train_u, [s for s, h in zip(stamps, held_l, strict=True) if not h],
                 [s for s, h in zip(stamps, held_l, strict=True) if h], camera_frame, image_hw, int(held_u.sum()))


def _selftrain(request: SelftrainRequest, dist: distributed.Distributed,
               progress: Callable[[str], None]) -> dict | None:
    options = request.options
    labels = PseudoLabels(ArrayCache(request.work_dir / "labels"), request.teacher_sha256)
    unlabeled_store = UnlabeledStore(request.work_dir)
    data, error = None, ""
    if dist.is_main:
        try:
            data = _prepare(request, unlabeled_store, progress)
            reused, computed = labels.label_all(data.unlabeled, unlabeled_store.image, request.teacher_for, progress)
            progress(f"pseudo-labels from teacher {request.teacher_sha256[:12]}: {computed} computed, {reused} "
                     f"reused; {len(data.unlabeled)} unlabeled and {len(data.labeled)} LiDAR training frames, "
                     f"{data.held_unlabeled} unlabeled and {len(data.held_labeled)} LiDAR frames held out")
        except (ValueError, OSError) as failure:
            error = str(failure)
    error = dist.broadcast_text(error)
    if error:
        raise ValueError(error)
    if not dist.is_main:
        data = _prepare(request, unlabeled_store, lambda _: None)  # frames stored by now: only indices are read
    torch.manual_seed(options.seed)  # a new metric head starts from the same weights on every run and rank
    initial = (starting_model(request.student_checkpoint, request.student_spec, request.max_depth)
               if request.ground_truth is not None else load_model(request.student_checkpoint, request.student_spec))
    student_sha = file_sha256(request.student_checkpoint)
    steps = options.epochs * _steps_per_epoch(data, options, dist)
    baseline = None
    if request.ground_truth is not None and options.baseline and data.labeled:
        baseline = copy.deepcopy(initial)
        per_epoch = math.ceil(len(data.labeled) / (options.batch_size * dist.world_size))
        epochs = max(1, round(steps / per_epoch))
        if dist.is_main:
            progress(f"student on LiDAR frames only: {epochs} epochs ({epochs * per_epoch} steps, as many as "
                     f"self-training's {steps})")
        finetune_options = FinetuneOptions(**{**options.shared(), "epochs": epochs}, unfreeze_encoder=True)
        fingerprint = {"student_sha256": student_sha, "role": "lidar only", "epochs": epochs,
                       **_fingerprint(request, data, dist)}
        train_on_frames(baseline, FrameStore(request.work_dir), data.labeled, data.image_hw, finetune_options,
                        request.work_dir / "lidar_only.pt", fingerprint, dist, progress)
    student = copy.deepcopy(initial)
    history = _train_student(student, initial, request, data, labels, unlabeled_store, student_sha, dist, progress)
    if not dist.is_main:
        return None
    return _write_outputs(request, data, student.cpu().eval(), baseline, student_sha, history, steps, progress)


def _fingerprint(request: SelftrainRequest, data: _Data, dist: distributed.Distributed) -> dict:
    options = dataclasses.asdict(request.options)
    for key in ("device", "baseline"):
        options.pop(key)
    return {**options, "teacher_sha256": request.teacher_sha256, "max_depth": request.max_depth,
            "unlabeled": len(data.unlabeled), "labeled": len(data.labeled), "world_size": dist.world_size,
            "ground_truth": source_fingerprint(request.bags, request.ground_truth) if request.ground_truth else None}


def _steps_per_epoch(data: _Data, options: SelftrainOptions, dist: distributed.Distributed) -> int:
    """Optimizer steps per pass over the unlabeled frames: 2B of them per step and process."""
    return math.ceil(len(data.unlabeled) / (2 * options.batch_size * dist.world_size))


def _train_student(student: DepthAnything, initial: DepthAnything, request: SelftrainRequest, data: _Data,
                   labels: PseudoLabels, unlabeled_store: UnlabeledStore, student_sha: str,
                   dist: distributed.Distributed, progress: Callable[[str], None]) -> list[dict[str, float]]:
    options = request.options
    device = dist.device
    student.to(device)
    network = TrainingNetwork(student, data.image_hw, "bgr", options.input_size).to(device)
    frozen = copy.deepcopy(initial.pretrained).to(device).eval().requires_grad_(False)
    taps = student.spec.taps
    optimizer = make_optimizer(student, FinetuneOptions(lr=options.lr, weight_decay=options.weight_decay,
                                                        unfreeze_encoder=True))
    trained = dist.wrap(network)
    frames = FrameStore(request.work_dir)
    kind, max_depth = student.spec.kind, float(student.spec.max_depth or 0.0)
    unlabeled_per_step = 2 * options.batch_size
    steps_per_epoch = _steps_per_epoch(data, options, dist)

    def batches(epoch: int):
        order = torch.randperm(len(data.unlabeled), generator=torch.Generator().manual_seed(options.seed + epoch))
        padded = [data.unlabeled[i] for i in order.tolist()]
        padded += padded[: steps_per_epoch * unlabeled_per_step * dist.world_size - len(padded)]
        mine = padded[dist.rank::dist.world_size]
        labeled = data.labeled
        if labeled:
            cycle = torch.randperm(len(labeled), generator=torch.Generator().manual_seed(options.seed + 7 * epoch))
            labeled = [labeled[i] for i in cycle.tolist()]
        generator = epoch_generator(options.seed, epoch, dist.rank)
        for step in range(steps_per_epoch):
            refs = mine[step * unlabeled_per_step:(step + 1) * unlabeled_per_step]
            u_images = torch.from_numpy(np.stack([unlabeled_store.image(r) for r in refs]))
            u_labels = torch.from_numpy(np.stack([labels.get(r) for r in refs]))
            lidar = None
            if labeled:
                first = ((step * dist.world_size + dist.rank) * options.batch_size) % len(labeled)
                chosen = [labeled[(first + k) % len(labeled)] for k in range(options.batch_size)]
                stored = [frames.frame(s) for s in chosen]
                lidar = (torch.from_numpy(np.stack([f.image for f in stored])),
                         torch.from_numpy(np.stack([f.depth for f in stored])))
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
        if lidar is not None:
            l_images, l_depth = random_hflip(lidar[0].to(device), lidar[1].to(device), generator=generator)
            inputs.insert(0, l_images.float())
        out, tokens = net(torch.cat(inputs), features=True)
        u_out, u_tokens = out[-n:], tokens[-n:]
        valid = torch.isfinite(target)
        target = torch.nan_to_num(target, nan=0.0)
        pred = disparity_from_raw(u_out, kind, floor=1e-3, xp=torch)
        area = masks.float().mean(dim=(1, 2))
        pseudo = (area * affine_invariant_loss(pred, target, valid & masks)
                  + (1 - area) * affine_invariant_loss(pred, target, valid & ~masks)).mean()
        with torch.no_grad():
            reference = frozen(network.network_input(perturbed), taps)[-1]
        feature = feature_alignment_loss(u_tokens, reference, options.margin)
        loss = pseudo + options.feature_weight * feature
        logged = {"pseudo": float(pseudo.detach()), "feature": float(feature.detach())}
        if lidar is not None:
            labeled = lidar_loss(out[: out.shape[0] - n], l_depth, options.min_depth, max_depth)
            loss = loss + labeled
            logged = {"silog": float(labeled.detach()), **logged}
        return loss, logged

    fingerprint = {"student_sha256": student_sha, "role": "self-trained", "epochs": options.epochs,
                   **_fingerprint(request, data, dist)}
    settings = LoopSettings(options.epochs, steps_per_epoch, request.work_dir / "selftrain.pt", fingerprint)
    return run_epochs(network, trained, optimizer, batches, step_loss, settings, dist, progress).history


def _export(model: DepthAnything, name: str, request: SelftrainRequest, image_hw, extra: dict) -> tuple[Path, Path]:
    from depth_anything_ros.export.onnx_export import export_onnx  # torch.onnx

    weights = save_checkpoint(model, request.output / f"{name}.pth", extra)
    graph = request.output / f"{name}_{image_hw[0]}x{image_hw[1]}.onnx"
    export_onnx(model, image_hw, graph, "bgr", request.options.input_size, file_sha256(weights))
    return weights, graph


def _write_outputs(request: SelftrainRequest, data: _Data, student: DepthAnything, baseline: DepthAnything | None,
                   student_sha: str, history: list[dict[str, float]], steps: int,
                   progress: Callable[[str], None]) -> dict:
    """Weights and graphs of the students, the side-by-side report, and ``selftrain.json``."""
    request.output.mkdir(parents=True, exist_ok=True)
    extra = {"teacher": request.teacher_sha256, "student_from": student_sha, "method": "selftrain"}
    weights, graph = _export(student, "student", request, data.image_hw, extra)
    summary = {"teacher_sha256": request.teacher_sha256, "student_from": student_sha,
               "unlabeled_train_frames": len(data.unlabeled), "lidar_train_frames": len(data.labeled),
               "lidar_held_out_frames": len(data.held_labeled), "steps": steps,
               "options": dataclasses.asdict(request.options), "loss_by_epoch": history,
               "outputs": {"student": {"checkpoint": weights.name, "onnx": graph.name}}}
    if data.held_labeled:
        store = FrameStore(request.work_dir)
        everything = sorted(data.labeled + data.held_labeled)
        held = np.isin(np.array(everything), np.array(data.held_labeled))
        teacher = collect_samples(store.frames(everything, data.camera_frame), request.teacher_for, progress=progress)
        affine, teacher_fit = fit_calibration(teacher, "affine", [str(b) for b in request.bags], held=held)
        columns = {}
        held_teacher = [s for s, h in zip(teacher.samples, held, strict=True) if h]
        truth = stacked(held_teacher, "truth")
        densities = []
        if teacher.kind == "metric":
            columns["teacher"] = teacher_fit["held_out"]["before"]
            densities.append(("teacher", truth, stacked(held_teacher, "graph_depth")))
        columns["teacher + affine head"] = teacher_fit["held_out"]["after"]
        densities.append(("teacher + affine head", truth, depth_from_raw(stacked(held_teacher, "raw"), affine.scale,
                                                                         affine.shift, teacher.kind)))
        students = [("student, LiDAR only", baseline, "student_lidar_only"), ("student, self-trained", student, "")]
        for title, model, name in students:
            if model is None:
                continue
            if name:
                _, path = _export(model.cpu().eval(), name, request, data.image_hw, {**extra, "method": "finetune"})
                summary["outputs"]["lidar_only"] = {"checkpoint": f"{name}.pth", "onnx": path.name}
            else:
                path = graph
            with OnnxRuntimeBackend(path) as backend:
                collected = collect_samples(store.frames(data.held_labeled, data.camera_frame), lambda hw: backend,
                                            progress=progress)
            columns[title] = measure(collected.samples, "metric", None)["before"]
            densities.append((title, stacked(collected.samples, "truth"), stacked(collected.samples, "graph_depth")))
        write_comparison_report(request.output / "report", columns, collected, [str(b) for b in request.bags],
                                "Self-training on unlabeled frames: teacher and students on held-out time blocks",
                                densities)
        summary["held_out"] = {title: rounded_metrics(m["overall"]) for title, m in columns.items()}
    with atomic_path(request.output / "selftrain.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return summary
