"""Colourised depth previews (near = warm, far = cool; REP 117 special values marked)."""

from __future__ import annotations

import cv2
import numpy as np

INVALID_BGR = (0, 0, 0)  # NaN: no estimate
TOO_CLOSE_BGR = (255, 255, 255)  # -Inf: below min_depth
TOO_FAR_BGR = (64, 64, 64)  # +Inf: beyond max_depth


def colorize_depth(depth: np.ndarray, near: float | None = None, far: float | None = None) -> np.ndarray:
    """float HxW depth (metres) -> BGR uint8 preview, coloured by inverse depth with the turbo map.

    ``near``/``far`` default to the 2nd/98th percentiles of the finite values.
    """
    depth = np.asarray(depth, dtype=np.float32)
    finite = np.isfinite(depth) & (depth > 0)
    out = np.zeros((*depth.shape, 3), np.uint8)
    if finite.any():
        values = depth[finite]
        near = float(np.percentile(values, 2)) if near is None else near
        far = float(np.percentile(values, 98)) if far is None else far
        far = max(far, near * (1 + 1e-6) + 1e-9)
        inverse = 1.0 / np.clip(depth, near, far, where=finite, out=np.full_like(depth, far))
        level = (inverse - 1.0 / far) / (1.0 / near - 1.0 / far)
        out = cv2.applyColorMap(np.clip(level * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    out[np.isnan(depth)] = INVALID_BGR
    out[np.isneginf(depth)] = TOO_CLOSE_BGR
    out[np.isposinf(depth)] = TOO_FAR_BGR
    out[~finite & np.isfinite(depth)] = INVALID_BGR
    return out


def colorize_relative(raw: np.ndarray) -> np.ndarray:
    """Relative output (inverse depth up to scale and shift) -> BGR preview, high = near = warm."""
    raw = np.asarray(raw, dtype=np.float32)
    low, high = np.percentile(raw, 2), np.percentile(raw, 98)
    level = (raw - low) / max(high - low, 1e-12)
    return cv2.applyColorMap(np.clip(level * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO)


def preview_of(raw: np.ndarray, depth: np.ndarray, kind: str) -> np.ndarray:
    """The preview of one output: metres for metric graphs, relative inverse depth otherwise."""
    return colorize_depth(depth) if kind == "metric" else colorize_relative(raw)
