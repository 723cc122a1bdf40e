"""Depth Anything 3's input processing and output conversion, as pure functions.

Pre-processing follows the official InputProcessor (``process_res`` 504, ``upper_bound_resize``):
1. longest side to ``process_res`` (Python ``round``; INTER_AREA when shrinking, INTER_CUBIC when
   growing; skipped when the longest side already equals it);
2. each side to the nearest multiple of 14 (ties up) by a second uint8 resize, INTER_CUBIC if any
   side grows, else INTER_AREA; skipped when both already are;
3. /255, minus ImageNet mean, over ImageNet std.
Intrinsics follow both resizes (fx, cx by the width ratio; fy, cy by the height ratio).

Outputs: the metric model's depth in metres is ``output * (fx' + fy') / 2 / 300`` with the
intrinsics of the image the network saw; sky is +Inf (REP 117: no return) instead of the official
99th-percentile fill. These two are torch functions so the fused graph can reuse them.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from depth_anything_ros.model.da3.spec import METRIC_FOCAL_DIVISOR, PATCH_SIZE

PROCESS_RES = 504
SKY_THRESHOLD = 0.3  # the official sky fill replaces depth where sky >= 0.3 (utils/alignment.py)
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _nearest_multiple(x: int, p: int = PATCH_SIZE) -> int:
    down = (x // p) * p
    up = down + p
    return max(1, up if abs(up - x) <= abs(x - down) else down)


def da3_resize_steps(
    height: int, width: int, process_res: int = PROCESS_RES
) -> tuple[tuple[int, int], tuple[int, int]]:
    """((h1, w1) after the longest-side resize, (h2, w2) the network input), as the official processor."""
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    h1, w1 = height, width
    if max(width, height) != process_res:
        scale = process_res / float(max(width, height))
        w1, h1 = max(1, round(width * scale)), max(1, round(height * scale))
    return (h1, w1), (_nearest_multiple(h1), _nearest_multiple(w1))


def da3_input_size(height: int, width: int, process_res: int = PROCESS_RES) -> tuple[int, int]:
    """The (height, width) the network sees for a height x width camera image."""
    return da3_resize_steps(height, width, process_res)[1]


def scale_intrinsics(k: np.ndarray, from_hw: tuple[int, int], to_hw: tuple[int, int]) -> np.ndarray:
    """3x3 intrinsics of an image resized from ``from_hw`` to ``to_hw`` (row 0 by width, row 1 by height)."""
    out = np.array(k, dtype=np.float64, copy=True)
    out[0] *= to_hw[1] / float(from_hw[1])
    out[1] *= to_hw[0] / float(from_hw[0])
    return out


def da3_resize(rgb: np.ndarray, process_res: int = PROCESS_RES) -> np.ndarray:
    """uint8 HxWx3 image -> uint8 image at the network input size, by the official two resizes."""
    h, w = rgb.shape[:2]
    (h1, w1), (h2, w2) = da3_resize_steps(h, w, process_res)
    if (h1, w1) != (h, w):
        step1 = cv2.INTER_CUBIC if process_res > max(h, w) else cv2.INTER_AREA
        rgb = cv2.resize(rgb, (w1, h1), interpolation=step1)
    if (h2, w2) != (h1, w1):
        step2 = cv2.INTER_CUBIC if (h2 > h1 or w2 > w1) else cv2.INTER_AREA
        rgb = cv2.resize(rgb, (w2, h2), interpolation=step2)
    return rgb


def da3_preprocess(
    bgr: np.ndarray, intrinsics: np.ndarray | None = None, process_res: int = PROCESS_RES
) -> tuple[np.ndarray, np.ndarray | None]:
    """BGR uint8 camera image (+ optional 3x3 K) -> (1, 3, H, W) float32 network input and K at that size."""
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 BGR image, got {bgr.dtype} {bgr.shape}")
    rgb = da3_resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), process_res)
    x = (rgb.astype(np.float32) / np.float32(255.0) - MEAN) / STD
    k = None if intrinsics is None else scale_intrinsics(intrinsics, bgr.shape[:2], rgb.shape[:2])
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), k


def metric_depth(output: torch.Tensor, fx: torch.Tensor | float, fy: torch.Tensor | float) -> torch.Tensor:
    """DA3METRIC-LARGE output -> metres: ``output * (fx + fy) / 2 / 300``, focal of the network input."""
    return output * ((fx + fy) * 0.5 / METRIC_FOCAL_DIVISOR)


def sky_to_infinity(depth: torch.Tensor, sky: torch.Tensor, threshold: float = SKY_THRESHOLD) -> torch.Tensor:
    """Depth with sky pixels (score >= threshold, the pixels the official code refills) set to +Inf."""
    return torch.where(sky >= threshold, torch.full_like(depth, float("inf")), depth)
