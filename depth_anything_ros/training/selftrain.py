"""``selftrain``: Depth Anything's student training on a robot's unlabeled frames.

Every selected camera frame is labelled once by the teacher (clean image, cached on disk). Each
step mixes B LiDAR-labelled frames (SiLog, as in fine-tuning) with 2B pseudo-labelled frames that
the student sees strongly perturbed (colour jitter, Gaussian blur, CutMix) and learns with the
affine-invariant loss per CutMix region, against the label of the image each region came from.
The student's deepest encoder tokens are pulled towards a frozen copy of its initial encoder
(1 - cosine per patch, patches above the margin alpha left free). Held-out time blocks then
measure the teacher, a student trained on the LiDAR frames alone for the same number of steps,
and the self-trained student, side by side.

Teachers and students are V1/V2 or Depth Anything 3 (DA3): a DA3 student trains through
``Da3TrainingNetwork`` and is written in the hub layout with its own fused graph. Its LiDAR frames
train with SiLog when it is metric (each frame's focal from the camera_info K), and with the
affine-invariant loss in disparity when it gives depth up to scale (DA3-SMALL/BASE, DA3MONO-LARGE).
Students without metres of their own are measured after an affine head fitted on the training frames.
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
from depth_anything_ros.model import CheckpointRequest, family_of, family_of_network
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
    train_on_frames,
)
from depth_anything_ros.training.labeled_frames import FrameStore, source_fingerprint
from depth_anything_ros.training.loop import LoopSettings, run_epochs
from depth_anything_ros.training.losses import affine_invariant_loss, feature_alignment_loss
from depth_anything_ros.training.options import FinetuneOptions, SelftrainOptions
from depth_anything_ros.training.pseudo_labels import PseudoLabels, nominal_k
from depth_anything_ros.training.unlabeled_frames import FrameRef, UnlabeledStore


@dataclass(frozen=True)
class SelftrainRequest:
    bags: Sequence[str | Path]
    image_topic: str
    ground_truth: GroundTruthOptions | None  # None: no LiDAR, pseudo-labels only
    teacher_for: Callable[[tuple[int, int]], DepthBackend]  # the teacher's graph for an image size
    teacher_sha256: str
    student: CheckpointRequest  # V1/V2 .pth (with its spec's choices), or a DA3 folder / model.safetensors
    max_depth: float | None  # a V1/V2 student's metric head (needed with LiDAR)
    output: Path  # directory: student.pth (DA3: student/), student_<H>x<W>.onnx, report/, selftrain.json
    work_dir: Path  # frames, pseudo-labels, per-epoch checkpoints
    options: SelftrainOptions = field(default_factory=SelftrainOptions)
    block_s: float = 10.0
    holdout_every: int = 5
    teacher_model: str = ""  # the teacher's model name (e.g. da3metric-large, v2-vitl): part of the label key

    def __post_init__(self) -> None:
        if self.ground_truth is not None and self.max_depth is None and family_of(self.student).metres_from_max_depth:
            raise ValueError("with LiDAR a V1/V2 student gets a metric head: give its max depth")


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
    labels = PseudoLabels(ArrayCache(request.work_dir / "labels"), request.teacher_sha256, request.teacher_model)
    unlabeled_store = UnlabeledStore(request.work_dir)
    data, error = None, ""
    if dist.is_main:
        try:
            data = _prepare(request, unlabeled_store, progress)
            reused, computed = labels.label_all(data.unlabeled, unlabeled_store.image, request.teacher_for, progress)
            teacher = f"{request.teacher_model} {request.teacher_sha256[:12]}".strip()
            progress(f"pseudo-labels from teacher {teacher}: {computed} computed, {reused} "
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
    initial, student_sha = _starting_student(request)
    steps = options.epochs * _steps_per_epoch(data, options, dist)
    baseline = None
    lidar_baseline = family_of_network(initial).metres_from_max_depth  # the baseline trains a Sigmoid head
    if request.ground_truth is not None and options.baseline and data.labeled and not lidar_baseline:
        if dist.is_main:
            progress("no LiDAR-only baseline for a DA3 student here (calibrate --method finetune trains one)")
    elif request.ground_truth is not None and options.baseline and data.labeled:
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


def _starting_student(request: SelftrainRequest):
    """The student's starting network and the SHA-256 of its weights file; with LiDAR frames, its family's
    ``lidar_student`` (V1/V2: a metric head; DA3 keeps its own output)."""
    family = family_of(request.student)
    network, sha = family.load(request.student)
    if request.ground_truth is not None:
        network = family.lidar_student(network, request.max_depth)
    return network, sha


def output_kind(model) -> str:
    """What the network's output (and its graph's ``raw``) is: a ``core.head.OUTPUT_KINDS`` value."""
    return family_of_network(model).output_kind(model)


def make_student_optimizer(student, options: SelftrainOptions) -> torch.optim.Optimizer:
    """Finetune's optimizer with the encoder trained (at a tenth of the head's rate): one rule of which
    parameters train, for every family (``ModelFamily.trainable_parts``)."""
    return make_optimizer(student, FinetuneOptions(lr=options.lr, weight_decay=options.weight_decay,
                                                   unfreeze_encoder=True))


def _lidar_term(pred: torch.Tensor, lidar: torch.Tensor, kind: str, min_depth: float,
                max_depth: float) -> tuple[torch.Tensor, str]:
    """(loss, its name) of the LiDAR frames: SiLog for metres; for depth up to scale, the affine-invariant
    loss in disparity against 1 / LiDAR depth (the same comparison as the pseudo-labels')."""
    if kind == "metric":
        return lidar_loss(pred, lidar, min_depth, max_depth), "silog"
    valid = torch.isfinite(lidar) & (lidar >= min_depth) & (lidar <= max_depth)
    target = 1.0 / torch.nan_to_num(lidar, nan=1.0).clamp_min(min_depth)
    disparity = disparity_from_raw(pred, kind, floor=1e-3, xp=torch)
    return affine_invariant_loss(disparity, target, valid).mean(), "lidar_affine"


def _fingerprint(request: SelftrainRequest, data: _Data, dist: distributed.Distributed) -> dict:
    options = dataclasses.asdict(request.options)
    for key in ("device", "baseline"):
        options.pop(key)
    return {**options, "teacher_sha256": request.teacher_sha256, "teacher_model": request.teacher_model,
            "max_depth": request.max_depth,
            "unlabeled": len(data.unlabeled), "labeled": len(data.labeled), "world_size": dist.world_size,
            "ground_truth": source_fingerprint(request.bags, request.ground_truth) if request.ground_truth else None}


def _steps_per_epoch(data: _Data, options: SelftrainOptions, dist: distributed.Distributed) -> int:
    """Optimizer steps per pass over the unlabeled frames: 2B of them per step and process."""
    return math.ceil(len(data.unlabeled) / (2 * options.batch_size * dist.world_size))


def _train_student(student, initial, request: SelftrainRequest, data: _Data,
                   labels: PseudoLabels, unlabeled_store: UnlabeledStore, student_sha: str,
                   dist: distributed.Distributed, progress: Callable[[str], None]) -> list[dict[str, float]]:
    options = request.options
    device = dist.device
    student.to(device)
    family = family_of_network(student)
    network = family.training_network(student, data.image_hw, "bgr", options.input_size).to(device)
    frozen = family.frozen_encoder(initial, device)
    optimizer = make_student_optimizer(student, options)
    trained = dist.wrap(network)
    frames = FrameStore(request.work_dir)
    kind = output_kind(student)
    max_depth = family.training_max_depth(student)
    # a student that needs the camera (DA3 metric: metres from focal): a nominal K for unlabeled frames (the
    # pseudo-label loss ignores their scale), each LiDAR frame's own (stored with it) for metres
    needs_k = network.needs_k
    nominal = torch.from_numpy(np.asarray(nominal_k(data.image_hw), dtype=np.float64).reshape(3, 3))
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
            labeled, name = _lidar_term(out[: out.shape[0] - n], l_depth, kind, options.min_depth, max_depth)
            loss = loss + labeled
            logged = {name: float(labeled.detach()), **logged}
        return loss, logged

    fingerprint = {"student_sha256": student_sha, "role": "self-trained", "epochs": options.epochs,
                   **_fingerprint(request, data, dist)}
    settings = LoopSettings(options.epochs, steps_per_epoch, request.work_dir / "selftrain.pt", fingerprint)
    return run_epochs(network, trained, optimizer, batches, step_loss, settings, dist, progress).history


def _export(model, name: str, request: SelftrainRequest, image_hw, extra: dict) -> tuple[Path, Path]:
    """(checkpoint, fused graph) in the family's layout (``<name>.pth`` for V1/V2, the DA3 hub folder ``<name>/``,
    ``extra`` in its metadata), the graph ``<name>_<H>x<W>.onnx`` either way."""
    from depth_anything_ros.export.onnx_export import export_graph  # torch.onnx

    family = family_of_network(model)
    graph = request.output / f"{name}_{image_hw[0]}x{image_hw[1]}.onnx"
    weights = family.save(model, request.output / name, extra)
    export_graph(model, image_hw, graph, "bgr", request.options.input_size, file_sha256(family.weights_file(weights)))
    return weights, graph


def _write_outputs(request: SelftrainRequest, data: _Data, student, baseline,
                   student_sha: str, history: list[dict[str, float]], steps: int,
                   progress: Callable[[str], None]) -> dict:
    """Weights and graphs of the students, the side-by-side report, and ``selftrain.json``."""
    request.output.mkdir(parents=True, exist_ok=True)
    extra = {"teacher": request.teacher_sha256, "teacher_model": request.teacher_model, "student_from": student_sha,
             "method": "selftrain"}
    weights, graph = _export(student, "student", request, data.image_hw, extra)
    summary = {"teacher_sha256": request.teacher_sha256, "teacher_model": request.teacher_model,
               "student_from": student_sha, "student_kind": output_kind(student),
               "unlabeled_train_frames": len(data.unlabeled), "lidar_train_frames": len(data.labeled),
               "lidar_held_out_frames": len(data.held_labeled), "steps": steps,
               "options": dataclasses.asdict(request.options), "loss_by_epoch": history,
               "outputs": {"student": {"checkpoint": weights.name, "onnx": graph.name}}}
    if data.held_labeled:
        store = FrameStore(request.work_dir)
        everything = sorted(data.labeled + data.held_labeled)
        held = np.isin(np.array(everything), np.array(data.held_labeled))
        teacher = collect_samples(store.frames(everything, data.camera_frame),
                                  request.teacher_for, progress=progress)
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
        report_run = None  # the self-trained student's held-out run: the report's frames and examples
        students = [("student, LiDAR only", baseline, "student_lidar_only"), ("student, self-trained", student, "")]
        for title, model, name in students:
            if model is None:
                continue
            if name:
                weights_of, path = _export(model.cpu().eval(), name, request, data.image_hw,
                                           {**extra, "method": "finetune"})
                summary["outputs"]["lidar_only"] = {"checkpoint": weights_of.name, "onnx": path.name}
            else:
                path = graph
            kind = output_kind(model)
            with OnnxRuntimeBackend(path) as backend:
                measured = everything if kind != "metric" else data.held_labeled
                collected = collect_samples(store.frames(measured, data.camera_frame),
                                            lambda hw: backend, progress=progress)
            if kind == "metric":
                columns[title] = measure(collected.samples, "metric", None)["before"]
                densities.append((title, stacked(collected.samples, "truth"),
                                  stacked(collected.samples, "graph_depth")))
                report_run = collected if not name else report_run
                continue
            # depth up to scale: its best affine head, fitted on the training frames like the teacher's
            head, fitted = fit_calibration(collected, "affine", [str(b) for b in request.bags], held=held)
            held_student = [s for s, h in zip(collected.samples, held, strict=True) if h]
            columns[f"{title} + affine head"] = fitted["held_out"]["after"]
            if not name:  # the report shows the self-trained student on the held-out frames only
                report_run = dataclasses.replace(collected, samples=held_student)
            densities.append((f"{title} + affine head", stacked(held_student, "truth"),
                              depth_from_raw(stacked(held_student, "raw"), head.scale, head.shift, kind)))
        write_comparison_report(request.output / "report", columns, report_run, [str(b) for b in request.bags],
                                "Self-training on unlabeled frames: teacher and students on held-out time blocks",
                                densities)
        summary["held_out"] = {title: rounded_metrics(m["overall"]) for title, m in columns.items()}
    with atomic_path(request.output / "selftrain.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return summary
