"""Offline calibration and evaluation of the metric head against LiDAR ground truth.

``collect_samples`` runs the graph over ground-truth frames and keeps, per frame, the raw output
and the graph's own depth at the pixels LiDAR measured. ``fit_calibration`` fits the head on a
training split of whole time blocks and measures the held-out blocks before and after;
``evaluate`` measures any set of frames with and without a calibration, and with the live anchor
(``calibration.anchor_eval``: fitted per frame on part of the LiDAR, measured on the rest).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from depth_anything_ros.calibration.head_fit import time_block_split
from depth_anything_ros.calibration.metrics import by_range, depth_metrics
from depth_anything_ros.core.calibration_file import Calibration
from depth_anything_ros.core.head import depth_from_raw
from depth_anything_ros.core.head_fit import fit_head
from depth_anything_ros.runtime import DepthBackend


class DepthFrame(Protocol):
    """A camera frame with LiDAR depth: a GroundTruthFrame, or one stored for training."""

    stamp_ns: int
    image: np.ndarray
    depth: np.ndarray
    camera_frame: str
    k: np.ndarray | None  # (3, 3) intrinsics of ``image``: DA3 metric graphs need it (their focal input)


@dataclass
class FrameSamples:
    stamp_ns: int
    raw: np.ndarray  # the graph's raw output at the LiDAR pixels
    truth: np.ndarray  # LiDAR metres at those pixels
    graph_depth: np.ndarray  # the graph's own head without range limits (NaN for relative / relative-depth)
    live_depth: np.ndarray | None = None  # the live anchor's metres there (with an anchor split; NaN: no metres)


class FrameAnchoring(Protocol):
    """A live anchor run over ground-truth frames: (frame, raw output, graph kind) -> (held-out mask, metres at
    every pixel with the frame's live head); the mask's LiDAR pixels were not given to the anchor."""

    def __call__(self, frame: DepthFrame, raw: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class Collected:
    samples: list[FrameSamples]
    kind: str
    checkpoint_sha256: str
    camera: str
    examples: list[tuple[DepthFrame, np.ndarray]]  # a few frames with their raw output, for pictures


def collect_samples(frames: Iterable[DepthFrame], backend_for: Callable[[tuple[int, int]], DepthBackend],
                    progress: Callable[[str], None] = print, examples: int = 3,
                    report_every_s: float = 2.0, anchor: FrameAnchoring | None = None) -> Collected:
    """Run the graph on every frame; keep raw and graph depth where LiDAR has a value (with ``anchor``: where it
    is held out from the anchor, with the live anchor's depth there too)."""
    samples: list[FrameSamples] = []
    kept: list[tuple[DepthFrame, np.ndarray]] = []
    info = None
    camera = ""
    started = last = time.monotonic()
    for frame in frames:
        backend = backend_for(frame.image.shape[:2])
        info, camera = backend.info, frame.camera_frame
        raw = backend.infer_bgr(frame.image, k=frame.k).raw
        valid, live = np.isfinite(frame.depth), None
        if anchor is not None:
            held, live = anchor(frame, raw, info.kind)
            valid &= held
        default = info.default_head()  # metric graphs (V2 metric heads, DA3 metric) give metres; others none
        graph_depth = depth_from_raw(raw[valid], default.scale, default.shift, "metric") if info.kind == "metric" \
            else np.full(int(valid.sum()), np.nan)
        samples.append(FrameSamples(frame.stamp_ns, raw[valid].astype(np.float64),
                                    frame.depth[valid].astype(np.float64), graph_depth,
                                    live[valid].astype(np.float64) if live is not None else None))
        if len(kept) < examples:
            kept.append((frame, raw))
        now = time.monotonic()
        if now - last >= report_every_s:
            last = now
            progress(f"[{len(samples)} frames] {len(samples) / (now - started):.2f} frames/s")
    if info is None:
        raise ValueError("no frames with ground truth: nothing to calibrate or evaluate")
    return Collected(samples, info.kind, info.checkpoint_sha256, camera, kept)


def stacked(samples: list[FrameSamples], field: str) -> np.ndarray:
    return np.concatenate([getattr(s, field) for s in samples]) if samples else np.zeros(0)


def measure(samples: list[FrameSamples], kind: str, calibration: Calibration | None) -> dict:
    """{'before': ..., 'after': ..., 'live anchor': ...}: metrics overall and by range; before is the graph's own
    head, after the calibration's (when given), live anchor each frame's live head (when collected with one)."""
    truth = stacked(samples, "truth")
    before = stacked(samples, "graph_depth")
    out = {"before": {"overall": depth_metrics(before, truth), "by_range": by_range(before, truth)}}
    if calibration is not None:
        after = depth_from_raw(stacked(samples, "raw"), calibration.scale, calibration.shift, kind)
        out["after"] = {"overall": depth_metrics(after, truth), "by_range": by_range(after, truth)}
    if samples and all(s.live_depth is not None for s in samples):
        live = stacked(samples, "live_depth")
        out["live anchor"] = {"overall": depth_metrics(live, truth), "by_range": by_range(live, truth)}
    return out


def fit_calibration(collected: Collected, method: str, bags: list[str], block_s: float = 10.0,
                    holdout_every: int = 5, held: np.ndarray | None = None) -> tuple[Calibration, dict]:
    """Fit on the training blocks, measure the held-out blocks; (calibration, report).

    ``held`` (one bool per sample) gives the split directly, for runs that split more than these frames.
    """
    samples = collected.samples
    if held is None:
        held = time_block_split(np.array([s.stamp_ns for s in samples]), block_s, holdout_every)
    train = [s for s, h in zip(samples, held, strict=True) if not h]
    test = [s for s, h in zip(samples, held, strict=True) if h]
    fit = fit_head(stacked(train, "raw"), stacked(train, "truth"), collected.kind, method)
    draft = Calibration(collected.kind, fit.scale, fit.shift)
    held_out = measure(test, collected.kind, draft)
    statistics = {
        "frames_train": len(train), "frames_held_out": len(test),
        "points_train": fit.points, "inlier_fraction": round(fit.inliers, 4), "iterations": fit.iterations,
        "block_s": block_s, "holdout_every": holdout_every,
        "held_out_before": rounded_metrics(held_out["before"]["overall"]),
        "held_out_after": rounded_metrics(held_out["after"]["overall"]),
    }
    calibration = Calibration(collected.kind, fit.scale, fit.shift, collected.checkpoint_sha256, collected.camera,
                              statistics, method, [str(b) for b in bags],
                              dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    return calibration, {"held_out": held_out, "statistics": statistics}


def rounded_metrics(metrics: dict) -> dict:
    """Metrics rounded to 5 digits for files; NaN (no metres to measure) becomes None."""
    return {k: ((round(v, 5) if math.isfinite(v) else None) if isinstance(v, float) else v)
            for k, v in metrics.items()}
