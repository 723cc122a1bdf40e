"""The teacher's labels for unlabeled frames: computed once per (bag, topic, stamp, teacher), kept on disk."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from depth_anything_ros.core.head import disparity_from_raw
from depth_anything_ros.runtime.backend import DepthBackend
from depth_anything_ros.training.array_cache import ArrayCache
from depth_anything_ros.training.unlabeled_frames import FrameRef


class PseudoLabels:
    """Teacher disparity per frame, stored as float16 under a key that includes the teacher's SHA-256,
    so another teacher never reuses these labels and reruns or later epochs never recompute them."""

    def __init__(self, cache: ArrayCache, teacher_sha256: str) -> None:
        self.cache, self.teacher = cache, teacher_sha256

    def key(self, ref: FrameRef) -> tuple:
        return (*ref.key(), self.teacher)

    def label_all(self, refs: Sequence[FrameRef], image_of: Callable[[FrameRef], np.ndarray],
                  backend_for: Callable[[tuple[int, int]], DepthBackend], progress: Callable[[str], None] = print,
                  report_every_s: float = 10.0) -> tuple[int, int]:
        """Label every frame not labelled yet by this teacher (clean images); (reused, computed)."""
        missing = [r for r in refs if self.cache.get(self.key(r)) is None]  # a damaged file is a miss
        started = last = time.monotonic()
        for done, ref in enumerate(missing, 1):
            image = image_of(ref)
            backend = backend_for(image.shape[:2])
            raw = backend.infer_bgr(image).raw
            self.cache.put(self.key(ref), disparity=disparity_from_raw(raw, backend.info.kind).astype(np.float16))
            now = time.monotonic()
            if now - last >= report_every_s:
                last = now
                progress(f"pseudo-labels: {done}/{len(missing)} ({done / (now - started):.2f} frames/s)")
        return len(refs) - len(missing), len(missing)

    def get(self, ref: FrameRef) -> np.ndarray:
        arrays = self.cache.get(self.key(ref))
        if arrays is None:
            raise FileNotFoundError(f"no pseudo-label for {ref.topic} at {ref.stamp_ns} from teacher "
                                    f"{self.teacher[:12]}; it is computed before training starts")
        return arrays["disparity"].astype(np.float32)
