"""The teacher's labels for unlabeled frames: computed once per (bag, topic, stamp, teacher), kept on disk.

Labels are disparity (``core.head.disparity_from_raw``): a V1/V2 relative teacher's output already is one;
metric and DA3 relative-depth output (depth up to scale) is inverted. DA3 sky (+Inf depth) becomes disparity
0: "as far as it gets". It stays a valid label rather than a hole, as V2 relative teachers give the sky
(near-)zero disparity too: the student learns that sky is far, and the affine-invariant loss normalises
each region by its median and mean absolute deviation, which a share of zeros shifts but never makes
infinite (a NaN, where a teacher's output is invalid, is masked out instead).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.head import disparity_from_raw
from depth_anything_ros.runtime import DepthBackend
from depth_anything_ros.training.array_cache import ArrayCache
from depth_anything_ros.training.unlabeled_frames import FrameRef

LABEL_FORMAT = 2  # 2: DA3 teachers (sky as disparity 0) and the teacher's model name in the key


def nominal_k(image_hw: tuple[int, int]) -> np.ndarray:
    """A pinhole K for frames without camera_info: fx = fy = image width (about 53 degrees across), centred.

    A DA3 metric teacher needs a focal length; it only scales each frame's depth (metres = output *
    focal / 300), and a pseudo-label is compared after a per-image scale and shift, so any constant focal
    gives the same training signal as the camera's true one.
    """
    h, w = image_hw
    return CameraModel.pinhole(w, h, float(w)).k


class PseudoLabels:
    """Teacher disparity per frame, stored as float16 under a key that includes the teacher's model name
    and SHA-256, so another teacher never reuses these labels and reruns or later epochs never recompute them."""

    def __init__(self, cache: ArrayCache, teacher_sha256: str, teacher_model: str = "") -> None:
        self.cache, self.teacher, self.model = cache, teacher_sha256, teacher_model

    def key(self, ref: FrameRef) -> tuple:
        return (*ref.key(), self.model, self.teacher, LABEL_FORMAT)

    def label_all(self, refs: Sequence[FrameRef], image_of: Callable[[FrameRef], np.ndarray],
                  backend_for: Callable[[tuple[int, int]], DepthBackend], progress: Callable[[str], None] = print,
                  report_every_s: float = 10.0) -> tuple[int, int]:
        """Label every frame not labelled yet by this teacher (clean images); (reused, computed)."""
        missing = [r for r in refs if self.cache.get(self.key(r)) is None]  # a damaged file is a miss
        started = last = time.monotonic()
        for done, ref in enumerate(missing, 1):
            image = image_of(ref)
            backend = backend_for(image.shape[:2])
            k = nominal_k(image.shape[:2]) if backend.info.uses_focal else None
            raw = backend.infer_bgr(image, k=k).raw
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
                                    f"{self.model or self.teacher[:12]}; it is computed before training starts")
        return arrays["disparity"].astype(np.float32)
