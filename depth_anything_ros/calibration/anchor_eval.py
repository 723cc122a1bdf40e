"""The live anchor measured on recorded LiDAR: fitted per frame on part of the LiDAR pixels, scored on the rest.

``evaluate --anchor`` runs the node's estimator (``core.anchor.AnchorEstimator``: the per-frame fit, its guards,
the Kalman filter and the states the node's ``FrameAnchor`` wraps) over the ground-truth frames, one frame after
another in stamp order. The LiDAR pixels of each frame are split:

- ``band``: the rows within ``band`` of the principal point's row anchor, all other rows are scored. A 2D laser at
  the camera's height, looking level, sees exactly that row (its points have y = 0 in the optical frame);
- ``rows``: every ``every``-th pixel row is scored, the others anchor (like holding out every few beams).

The frames' held-out pixels are what ``measure`` scores: the graph's own head, the calibration (if given) and the
live anchor's head of each frame. Frames the anchor could not fit use what the node would: the held estimate,
then the calibration's head, then the graph's own (a relative graph: no metres, NaN, counted as missing).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from depth_anything_ros.core.anchor import AnchorEstimator
from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.anchor_reasons import counts_text
from depth_anything_ros.core.head import MetricHead, depth_from_raw

ANCHOR_SPLITS = ("band", "rows")


def split_pixels(depth: np.ndarray, split: str, principal_row: float, band: int = 2,
                 every: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(anchor mask, held-out mask) of the LiDAR pixels (finite ``depth``) of one frame."""
    rows = np.arange(depth.shape[0])[:, None]
    if split == "band":
        anchor_rows = np.abs(rows - principal_row) <= band
    elif split == "rows":
        anchor_rows = rows % every != 0
    else:
        raise ValueError(f"anchor split must be one of {', '.join(ANCHOR_SPLITS)}, got {split!r}")
    measured = np.isfinite(depth)
    return measured & anchor_rows, measured & ~anchor_rows


class SplitAnchor:
    """A ``calibration.fit.FrameAnchoring``: the live anchor on one share of each frame's LiDAR pixels."""

    def __init__(self, config: AnchorConfig, split: str, fallback: MetricHead | None = None, band: int = 2,
                 every: int = 4) -> None:
        if split not in ANCHOR_SPLITS or band < 0 or every < 2:
            raise ValueError(f"anchor split must be one of {', '.join(ANCHOR_SPLITS)} with band >= 0 and every >= 2, "
                             f"got {split!r}, {band}, {every}")
        self.config, self.split, self.fallback, self.band, self.every = config, split, fallback, band, every
        self.estimator: AnchorEstimator | None = None
        self.states: Counter = Counter()
        self.reasons: Counter = Counter()
        self.anchor_pixels = 0

    def __call__(self, frame, raw: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
        if self.estimator is None or self.estimator.kind != kind:
            self.estimator = AnchorEstimator(self.config, kind, self.fallback)
        depth = np.asarray(frame.depth)
        principal_row = float(frame.k[1, 2]) if frame.k is not None else (depth.shape[0] - 1) / 2
        anchor, held = split_pixels(depth, self.split, principal_row, self.band, self.every)
        v, u = np.nonzero(anchor)
        self.anchor_pixels += v.size
        result = self.estimator.update_uvz(raw, u, v, depth[anchor], frame.stamp_ns)
        self.states[result.state.value] += 1
        self.reasons[result.reason.value] += 1
        head = result.head
        if head is None and kind == "metric":
            head = MetricHead()  # the graph's own metres
        live = depth_from_raw(raw, head.scale, head.shift, kind) if head is not None else np.full(raw.shape, np.nan)
        return held, live

    def summary(self, frames: int) -> str:
        return (f"live anchor ({self.split}: {self.anchor_pixels / max(frames, 1):.0f} anchor pixels per frame): "
                f"frames {counts_text(self.states)}; reasons {counts_text(self.reasons)}")
