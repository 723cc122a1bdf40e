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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from depth_anything_ros.calibration import GroundTruthOptions, collect_samples, time_block_split
from depth_anything_ros.core.calibration_file import Calibration, save_calibration
from depth_anything_ros.core.files import file_sha256
from depth_anything_ros.model import CheckpointRequest, family_of, family_of_network
from depth_anything_ros.runtime import TorchBackend
from depth_anything_ros.training import distributed
from depth_anything_ros.training.comparison import Comparison, export_trained, graph_run, split
from depth_anything_ros.training.labeled_frames import FrameStore, source_fingerprint
from depth_anything_ros.training.loop import LoopResult
from depth_anything_ros.training.metric_loop import train_on_frames
from depth_anything_ros.training.options import FinetuneOptions


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


@dataclass(frozen=True)
class _Frames:
    """The stored LiDAR frames, split into whole time blocks for training and for the held-out measurement."""

    stamps: list[int]
    held: np.ndarray  # one bool per stamp
    camera_frame: str
    image_hw: tuple[int, int]

    @property
    def train(self) -> list[int]:
        return split(self.stamps, self.held)[0]

    @property
    def test(self) -> list[int]:
        return split(self.stamps, self.held)[1]


def finetune(request: FinetuneRequest, progress: Callable[[str], None] = print) -> Calibration | None:
    """Run the whole recipe; rank 0 returns the written calibration, other ranks None."""
    dist = distributed.start(request.options.device)
    try:
        return _finetune(request, dist, progress)
    finally:
        dist.close()


def _finetune(request: FinetuneRequest, dist: distributed.Distributed,
              progress: Callable[[str], None]) -> Calibration | None:
    options = request.options
    store = FrameStore(request.work_dir)
    # the LiDAR frames: rank 0 reads the bags once; the others read its index
    stamps, camera_frame = dist.on_main(lambda: _extract(request, store, progress)) or \
        store.load_index(source_fingerprint(request.bags, request.ground_truth))
    frames = _Frames(stamps, time_block_split(np.array(stamps), request.block_s, request.holdout_every),
                     camera_frame, store.frame(stamps[0]).image.shape[:2])
    start_sha = file_sha256(family_of(request.start).weights_file(request.start.checkpoint))
    # before: the start on the held-out frames (rank 0); every rank gets the gain that makes a relative DA3 metric
    comparison, gain = dist.on_main(lambda: _measure_start(request, store, frames, start_sha, dist.device,
                                                           progress)) or (None, None)
    gain = dist.share(gain)
    # training
    torch.manual_seed(options.seed)  # a new metric head starts from the same weights on every run and rank
    model = starting_model(request.start, request.max_depth)
    if gain is not None:
        family_of_network(model).apply_gain(model, float(gain))
    result = train_on_frames(model, store, frames.train, frames.image_hw, options, request.work_dir / "last.pt",
                             _fingerprint(request, frames, start_sha, dist), dist, progress, request.max_depth)
    # after: the fine-tuned graph beside the start, and the calibration that names it (rank 0)
    if not dist.is_main:
        return None
    return _write_outputs(request, model.cpu().eval(), store, frames, comparison, result, start_sha, progress)


def load_start(start: CheckpointRequest):
    """The checkpoint as it is (the 'before' of the comparison)."""
    return family_of(start).load(start)[0]


def starting_model(start: CheckpointRequest, max_depth: float | None):
    """The metric network that training starts from (its family's ``metric_network``; module docstring)."""
    return family_of(start).metric_network(load_start(start), max_depth)


def _extract(request: FinetuneRequest, store: FrameStore, progress: Callable[[str], None]) -> tuple[list[int], str]:
    """(stamps, camera frame) of the frames stored from the bags; fails early when no time block is held out."""
    stamps, camera_frame = store.extract(request.bags, request.ground_truth, progress)
    time_block_split(np.array(stamps), request.block_s, request.holdout_every)
    return stamps, camera_frame


def _fingerprint(request: FinetuneRequest, frames: _Frames, start_sha: str, dist: distributed.Distributed) -> dict:
    """What must match for a training checkpoint to be resumed."""
    fingerprint = {"checkpoint_sha256": start_sha, "max_depth": request.max_depth,
                   "train_frames": len(frames.train), "image_hw": list(frames.image_hw),
                   **dataclasses.asdict(request.options), "world_size": dist.world_size}
    for key in ("workers", "device"):
        fingerprint.pop(key)
    return fingerprint


def _measure_start(request: FinetuneRequest, store: FrameStore, frames: _Frames, start_sha: str,
                   device: torch.device, progress: Callable[[str], None]) -> tuple[Comparison, float | None]:
    """(the start on the held-out frames, its own and with its best affine and scale heads; for a relative DA3
    start, the factor that makes it metric)."""
    options = request.options
    progress(f"{len(frames.train)} training and {len(frames.test)} held-out frames; measuring the starting network")
    start = load_start(request.start)
    run = collect_samples(store.frames(frames.stamps, frames.camera_frame),
                          lambda hw: TorchBackend(start, hw, "bgr", options.input_size, str(device),
                                                  checkpoint_sha256=start_sha), progress=progress)
    comparison = Comparison([str(b) for b in request.bags])
    comparison.add_own("start", run, frames.held)
    comparison.add_head("affine", run, frames.held)
    scale = comparison.add_head("scale", run, frames.held, "scale")
    k = np.stack([store.frame(s).k for s in frames.train])
    return comparison, family_of_network(start).metric_gain(start, scale.scale, k, frames.image_hw)


def _write_outputs(request: FinetuneRequest, model, store: FrameStore, frames: _Frames, comparison: Comparison,
                   result: LoopResult, start_sha: str, progress: Callable[[str], None]) -> Calibration:
    """Weights, the re-exported graph (measured on the held-out frames), then the calibration YAML."""
    options = request.options
    output = Path(request.output)
    exported = export_trained(model, output, frames.image_hw, options.input_size,
                              {"finetuned_from": start_sha, "method": "finetune"})
    progress(f"wrote {exported.weights} and {exported.graph}; measuring the exported graph on the held-out frames")
    finetuned = graph_run(exported.graph, store.frames(frames.test, frames.camera_frame), progress)
    comparison.add_own("finetuned", finetuned)
    statistics = {
        "frames_train": len(frames.train), "frames_held_out": len(frames.test), "epochs": options.epochs,
        "batch_size": options.batch_size, "lr": options.lr, "encoder": "trained at lr/10" if options.unfreeze_encoder
        else "frozen", "max_depth": request.max_depth,
        **family_of_network(model).description(model, frames.image_hw, options.input_size),
        "train_silog_by_epoch": [round(h["silog"], 5) for h in result.history],
        "resumed_after_epoch": result.resumed_from_epoch,
        "block_s": request.block_s, "holdout_every": request.holdout_every,
        "finetuned_from": start_sha,
        **{f"held_out_{title}": metrics for title, metrics in comparison.rounded().items()},
        "held_out_finetuned_by_range": comparison.rounded_by_range("finetuned"),
    }
    calibration = Calibration("metric", 1.0, 0.0, exported.sha256, frames.camera_frame, statistics, "finetune",
                              [str(b) for b in request.bags],
                              dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                              {"checkpoint": exported.weights.name, "onnx": exported.graph.name})
    save_calibration(output, calibration)
    return calibration
