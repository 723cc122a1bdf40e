"""``selftrain``: Depth Anything's student training on a robot's unlabeled frames.

Every selected camera frame is labelled once by the teacher (clean image, cached on disk). The student then
learns those labels under strong perturbations, together with the LiDAR frames (``student_loop``). Held-out
time blocks measure the teacher, a student trained on the LiDAR frames alone for the same number of steps,
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

from depth_anything_ros.calibration import Collected, GroundTruthOptions, collect_samples, time_block_split
from depth_anything_ros.core.files import atomic_path
from depth_anything_ros.model import CheckpointRequest, family_of, family_of_network
from depth_anything_ros.runtime import DepthBackend
from depth_anything_ros.training import distributed
from depth_anything_ros.training.array_cache import ArrayCache
from depth_anything_ros.training.comparison import Comparison, export_trained, graph_run, split
from depth_anything_ros.training.labeled_frames import FrameStore, source_fingerprint
from depth_anything_ros.training.metric_loop import train_on_frames
from depth_anything_ros.training.options import FinetuneOptions, SelftrainOptions
from depth_anything_ros.training.pseudo_labels import PseudoLabels
from depth_anything_ros.training.student_loop import StudentFrames, steps_per_epoch, train_student
from depth_anything_ros.training.unlabeled_frames import FrameRef, UnlabeledStore

REPORT_TITLE = "Self-training on unlabeled frames: teacher and students on held-out time blocks"


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

    def lidar_split(self) -> tuple[list[int], np.ndarray]:
        """Every LiDAR frame in time order, and which of them are held out."""
        everything = sorted(self.labeled + self.held_labeled)
        return everything, np.isin(np.array(everything), np.array(self.held_labeled))


def selftrain(request: SelftrainRequest, progress: Callable[[str], None] = print) -> dict | None:
    """Run everything; rank 0 returns the summary written to ``selftrain.json``, other ranks None."""
    dist = distributed.start(request.options.device)
    try:
        return _selftrain(request, dist, progress)
    finally:
        dist.close()


def _selftrain(request: SelftrainRequest, dist: distributed.Distributed,
               progress: Callable[[str], None]) -> dict | None:
    options = request.options
    labels = PseudoLabels(ArrayCache(request.work_dir / "labels"), request.teacher_sha256, request.teacher_model)
    images = UnlabeledStore(request.work_dir)
    # the frames: rank 0 selects, stores and labels them once; the others read the stored indices
    data = dist.on_main(lambda: _prepare_and_label(request, images, labels, progress)) or \
        _prepare(request, images, lambda _: None)
    torch.manual_seed(options.seed)  # a new metric head starts from the same weights on every run and rank
    initial, student_sha = _starting_student(request)
    steps = options.epochs * steps_per_epoch(len(data.unlabeled), options, dist.world_size)
    fingerprint = {"student_sha256": student_sha, **_fingerprint(request, data, dist)}
    # the comparison's LiDAR-only student, then the self-trained one
    baseline = _lidar_only_student(request, data, initial, fingerprint, steps, dist, progress)
    student = copy.deepcopy(initial)
    history = train_student(student, initial, StudentFrames(data.unlabeled, images, labels, data.labeled,
                                                            FrameStore(request.work_dir), data.image_hw),
                            options, request.work_dir / "selftrain.pt", {"role": "self-trained", **fingerprint},
                            dist, progress)
    # the students' weights and graphs, the side-by-side report and selftrain.json (rank 0)
    if not dist.is_main:
        return None
    return _write_outputs(request, data, student.cpu().eval(), baseline, student_sha, history, steps, progress)


def _prepare(request: SelftrainRequest, store: UnlabeledStore, progress: Callable[[str], None]) -> _Data:
    """Select and store the frames, and split them into the same held-out time blocks."""
    options = request.options
    unlabeled = store.select(request.bags, request.image_topic, options.min_change, options.every, progress)
    stamps, camera_frame = [], ""
    if request.ground_truth is not None:
        stamps, camera_frame = FrameStore(request.work_dir).extract(request.bags, request.ground_truth, progress)
    origin = min([r.stamp_ns for r in unlabeled] + stamps)
    held_u = time_block_split(np.array([r.stamp_ns for r in unlabeled]), request.block_s, request.holdout_every,
                              origin)
    held_l = time_block_split(np.array(stamps), request.block_s, request.holdout_every, origin) if stamps \
        else np.zeros(0, bool)
    labeled, held_labeled = split(stamps, held_l)
    return _Data(split(unlabeled, held_u)[0], labeled, held_labeled, camera_frame, store.image(unlabeled[0]).shape[:2],
                 int(held_u.sum()))


def _prepare_and_label(request: SelftrainRequest, images: UnlabeledStore, labels: PseudoLabels,
                       progress: Callable[[str], None]) -> _Data:
    """``_prepare``, then the teacher's label of every unlabeled training frame (computed once, then reused)."""
    data = _prepare(request, images, progress)
    reused, computed = labels.label_all(data.unlabeled, images.image, request.teacher_for, progress)
    teacher = f"{request.teacher_model} {request.teacher_sha256[:12]}".strip()
    progress(f"pseudo-labels from teacher {teacher}: {computed} computed, {reused} "
             f"reused; {len(data.unlabeled)} unlabeled and {len(data.labeled)} LiDAR training frames, "
             f"{data.held_unlabeled} unlabeled and {len(data.held_labeled)} LiDAR frames held out")
    return data


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


def _fingerprint(request: SelftrainRequest, data: _Data, dist: distributed.Distributed) -> dict:
    """What must match for a training checkpoint to be resumed (both students; options.epochs included)."""
    options = dataclasses.asdict(request.options)
    for key in ("device", "baseline"):
        options.pop(key)
    return {**options, "teacher_sha256": request.teacher_sha256, "teacher_model": request.teacher_model,
            "max_depth": request.max_depth,
            "unlabeled": len(data.unlabeled), "labeled": len(data.labeled), "world_size": dist.world_size,
            "ground_truth": source_fingerprint(request.bags, request.ground_truth) if request.ground_truth else None}


def _lidar_only_student(request: SelftrainRequest, data: _Data, initial, fingerprint: dict, steps: int,
                        dist: distributed.Distributed, progress: Callable[[str], None]):
    """The start trained on the LiDAR frames alone, with the metric training loop, for as many steps as
    self-training takes; None without LiDAR frames, without ``options.baseline``, or for a DA3 student."""
    options = request.options
    if request.ground_truth is None or not options.baseline or not data.labeled:
        return None
    if not family_of_network(initial).metres_from_max_depth:  # the baseline trains a Sigmoid head
        if dist.is_main:
            progress("no LiDAR-only baseline for a DA3 student here (calibrate --method finetune trains one)")
        return None
    baseline = copy.deepcopy(initial)
    per_epoch = math.ceil(len(data.labeled) / (options.batch_size * dist.world_size))
    epochs = max(1, round(steps / per_epoch))
    if dist.is_main:
        progress(f"student on LiDAR frames only: {epochs} epochs ({epochs * per_epoch} steps, as many as "
                 f"self-training's {steps})")
    finetune_options = FinetuneOptions(**{**options.shared(), "epochs": epochs}, unfreeze_encoder=True)
    train_on_frames(baseline, FrameStore(request.work_dir), data.labeled, data.image_hw, finetune_options,
                    request.work_dir / "lidar_only.pt", {"role": "lidar only", **fingerprint}, dist, progress)
    return baseline


def _write_outputs(request: SelftrainRequest, data: _Data, student, baseline,
                   student_sha: str, history: list[dict[str, float]], steps: int,
                   progress: Callable[[str], None]) -> dict:
    """Weights and graphs of the students, the side-by-side report, and ``selftrain.json``."""
    request.output.mkdir(parents=True, exist_ok=True)
    extra = {"teacher": request.teacher_sha256, "teacher_model": request.teacher_model, "student_from": student_sha,
             "method": "selftrain"}
    exported = export_trained(student, request.output / "student", data.image_hw, request.options.input_size, extra)
    summary = {"teacher_sha256": request.teacher_sha256, "teacher_model": request.teacher_model,
               "student_from": student_sha, "student_kind": output_kind(student),
               "unlabeled_train_frames": len(data.unlabeled), "lidar_train_frames": len(data.labeled),
               "lidar_held_out_frames": len(data.held_labeled), "steps": steps,
               "options": dataclasses.asdict(request.options), "loss_by_epoch": history,
               "outputs": {"student": {"checkpoint": exported.weights.name, "onnx": exported.graph.name}}}
    if data.held_labeled:
        store = FrameStore(request.work_dir)
        everything, held = data.lidar_split()
        comparison = Comparison([str(b) for b in request.bags])
        teacher = collect_samples(store.frames(everything, data.camera_frame), request.teacher_for, progress=progress)
        if teacher.kind == "metric":
            comparison.add_own("teacher", teacher, held)
        comparison.add_head("teacher + affine head", teacher, held)
        if baseline is not None:
            lidar_only = export_trained(baseline.cpu().eval(), request.output / "student_lidar_only", data.image_hw,
                                        request.options.input_size, {**extra, "method": "finetune"})
            summary["outputs"]["lidar_only"] = {"checkpoint": lidar_only.weights.name, "onnx": lidar_only.graph.name}
            _measure_student(comparison, "student, LiDAR only", baseline, lidar_only.graph, store, data, progress)
        run = _measure_student(comparison, "student, self-trained", student, exported.graph, store, data, progress)
        comparison.write_report(request.output / "report", run, REPORT_TITLE)
        summary["held_out"] = comparison.rounded()
    with atomic_path(request.output / "selftrain.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return summary


def _measure_student(comparison: Comparison, title: str, model, graph: Path, store: FrameStore, data: _Data,
                     progress: Callable[[str], None]) -> Collected:
    """A student's column: its own metres on the held-out frames, or without metres of its own, its best affine
    head fitted on the training frames. Returns its held-out run (the report's frames and examples)."""
    if output_kind(model) == "metric":
        run = graph_run(graph, store.frames(data.held_labeled, data.camera_frame), progress)
        comparison.add_own(title, run)
        return run
    everything, held = data.lidar_split()
    run = graph_run(graph, store.frames(everything, data.camera_frame), progress)
    comparison.add_head(f"{title} + affine head", run, held)
    return dataclasses.replace(run, samples=split(run.samples, held)[1])
