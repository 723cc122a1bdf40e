"""Official Depth Anything pre-processing in numpy/OpenCV (the reference for the fused graph)."""

from __future__ import annotations

import cv2
import numpy as np

from depth_anything_ros.model.v2.spec import DEFAULT_INPUT_SIZE

PATCH_MULTIPLE = 14
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


def _multiple_at_least(value: float, minimum: int, multiple: int) -> int:
    """Round to the nearest multiple (half to even, like numpy), or up if that falls below minimum."""
    rounded = int(np.round(value / multiple) * multiple)
    if rounded < minimum:
        rounded = int(np.ceil(value / multiple) * multiple)
    return rounded


def network_input_size(height: int, width: int, input_size: int = DEFAULT_INPUT_SIZE) -> tuple[int, int]:
    """The official lower-bound resize: keep aspect, short side >= input_size, multiples of 14.

    >>> network_input_size(480, 640)
    (518, 686)
    """
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if input_size < PATCH_MULTIPLE or input_size % PATCH_MULTIPLE:
        raise ValueError(f"input_size must be a positive multiple of {PATCH_MULTIPLE}, got {input_size}")
    scale = max(input_size / height, input_size / width)
    return (
        _multiple_at_least(scale * height, input_size, PATCH_MULTIPLE),
        _multiple_at_least(scale * width, input_size, PATCH_MULTIPLE),
    )


def prepare_input(bgr: np.ndarray, input_size: int = DEFAULT_INPUT_SIZE) -> np.ndarray:
    """BGR uint8 HxWx3 -> float32 (1, 3, h, w) network input, as the official ``image2tensor``."""
    if bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 image, got shape {bgr.shape}")
    net_h, net_w = network_input_size(bgr.shape[0], bgr.shape[1], input_size)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) / 255.0
    rgb = cv2.resize(rgb, (net_w, net_h), interpolation=cv2.INTER_CUBIC)
    normalised = (rgb - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None]).astype(np.float32)
