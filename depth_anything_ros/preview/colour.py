"""Colourised depth previews with a colour bar (near = warm, far = cool; REP 117 special values marked).

OpenCV and numpy only: the node's ``depth/preview`` topic uses this, and the node must not need
matplotlib (the offline reports draw with it, in ``calibration.plots``).
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from depth_anything_ros.core.head import disparity_from_raw

INVALID_BGR = (0, 0, 0)  # NaN: no estimate
TOO_CLOSE_BGR = (255, 255, 255)  # -Inf: below min_depth
TOO_FAR_BGR = (64, 64, 64)  # +Inf: beyond max_depth
BAR_BACKGROUND = 40  # grey level of the colour-bar strip
MAX_RANGE_SAMPLES = 1 << 16  # percentiles for the colour range come from at most about this many pixels


def _subsample(array: np.ndarray) -> np.ndarray:
    """A regular grid of at most about MAX_RANGE_SAMPLES pixels (percentiles of a full frame cost ms)."""
    step = max(1, math.isqrt(array.size // MAX_RANGE_SAMPLES))
    return array[::step, ::step] if array.ndim == 2 else array


def depth_range(depth: np.ndarray) -> tuple[float, float] | None:
    """(near, far): the 2nd and 98th percentiles of the finite positive depths, or None without any."""
    sample = _subsample(np.asarray(depth, dtype=np.float32))
    values = sample[np.isfinite(sample) & (sample > 0)]
    if values.size == 0:
        return None
    near, far = np.percentile(values, (2, 98))
    return float(near), float(max(far, near * (1 + 1e-6) + 1e-9))


def colorize_depth(depth: np.ndarray, near: float | None = None, far: float | None = None) -> np.ndarray:
    """float HxW depth (metres) -> BGR uint8 preview, coloured by inverse depth with the turbo map.

    ``near``/``far`` default to ``depth_range`` (2nd/98th percentiles of the finite values). In-place
    float32 passes; the special values are painted on the few pixels that have them.
    """
    depth = np.asarray(depth, dtype=np.float32)
    if near is None or far is None:
        auto_near, auto_far = depth_range(depth) or (1.0, 2.0)
        near = auto_near if near is None else near
        far = auto_far if far is None else far
    far = max(far, near * (1 + 1e-6) + 1e-9)
    gain = 255.0 / (1.0 / near - 1.0 / far)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.divide(np.float32(gain), depth)  # NaN stays NaN, +Inf -> 0, 0 -> Inf
    level -= np.float32(gain / far)
    np.clip(level, 0, 255, out=level)
    np.nan_to_num(level, copy=False, nan=0.0)
    out = cv2.applyColorMap(level.astype(np.uint8), cv2.COLORMAP_TURBO)
    special = ~(depth > 0) | (depth == np.inf)  # NaN, -Inf, +Inf, zero or negative
    if special.any():
        values = depth[special]
        colours = np.empty((values.size, 3), np.uint8)
        colours[:] = INVALID_BGR
        colours[values == -np.inf] = TOO_CLOSE_BGR
        colours[values == np.inf] = TOO_FAR_BGR
        out[special] = colours
    return out


def colorize_relative(raw: np.ndarray) -> np.ndarray:
    """Relative output (inverse depth up to scale and shift) -> BGR preview, high = near = warm."""
    raw = np.asarray(raw, dtype=np.float32)
    low, high = np.percentile(_subsample(raw), (2, 98))
    level = (raw - low) / max(high - low, 1e-12)
    return cv2.applyColorMap(np.clip(level * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO)


@functools.lru_cache(maxsize=8)
def _gradient(height: int, width: int) -> np.ndarray:
    """Turbo from warm (top, level 1) to cool (bottom, level 0), height x width BGR; read-only, cached."""
    level = np.linspace(255, 0, max(height, 1)).astype(np.uint8)[:, None].repeat(width, axis=1)
    gradient = cv2.applyColorMap(level, cv2.COLORMAP_TURBO)
    gradient.flags.writeable = False
    return gradient


def _nice_ticks(near: float, far: float, count: int) -> list[float]:
    """Up to ``count`` round metre values (1, 2, 5 x 10^k) strictly inside (near, far)."""
    if count <= 0 or not far > near > 0:
        return []
    ticks: list[float] = []
    for exponent in range(math.floor(math.log10(near)) - 1, math.ceil(math.log10(far)) + 1):
        ticks += [m * 10.0 ** exponent for m in (1, 2, 5) if near < m * 10.0 ** exponent < far]
    while len(ticks) > count:
        ticks = ticks[::2]
    return ticks


def _metres(value: float) -> str:
    return f"{value:.1f} m" if value < 10 else f"{value:.0f} m"


def colour_bar(height: int, near: float | None, far: float | None, kind: str = "metric") -> np.ndarray:
    """A BGR strip ``height`` rows tall explaining ``colorize_depth`` / ``colorize_relative`` colours.

    Metric: ticks in metres placed by inverse depth, as the preview colours them (``near`` at the
    top). Relative (or no range): the words 'relative', 'near' and 'far'. Drawn with OpenCV only.
    """
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, float(np.clip(height / 1000, 0.3, 0.6))
    thick = 1 if scale < 0.5 else 2
    text_h = cv2.getTextSize("0", font, scale, thick)[0][1]
    metric = kind == "metric" and near is not None and far is not None and far > near > 0
    header = "depth" if kind == "metric" else "relative"
    labels_w = max(cv2.getTextSize(t, font, scale, thick)[0][0] for t in ("88.8 m", "depth", "relative"))
    bar_w, margin = max(6, int(text_h * 1.2)), max(2, text_h // 2)
    strip = np.full((height, margin * 3 + bar_w + labels_w, 3), BAR_BACKGROUND, np.uint8)
    top = min(text_h + 2 * margin, height // 3)
    bottom = height - max(margin, text_h // 2 + 1)
    if bottom - top < 2:
        return strip
    strip[top:bottom, margin:margin + bar_w] = _gradient(bottom - top, bar_w)
    white = (255, 255, 255)
    if top >= text_h + margin:
        cv2.putText(strip, header, (margin, top - margin), font, scale, white, thick, cv2.LINE_AA)
    x = 2 * margin + bar_w

    def label(text: str, y: int) -> None:
        y = int(np.clip(y + text_h // 2, text_h, height - 1))
        cv2.putText(strip, text, (x, y), font, scale, white, thick, cv2.LINE_AA)
        cv2.line(strip, (margin + bar_w - 3, y - text_h // 2), (margin + bar_w + 1, y - text_h // 2), white, 1)

    span = bottom - 1 - top
    if not metric:
        label("near", top)
        label("far", bottom - 1)
        return strip
    label(_metres(near), top)
    label(_metres(far), bottom - 1)
    gap = 2 * text_h + 2
    for tick in _nice_ticks(near, far, max(0, span // gap - 1)):
        level = (1 / tick - 1 / far) / (1 / near - 1 / far)
        y = top + round((1 - level) * span)
        if y - top >= gap and bottom - 1 - y >= gap:
            label(_metres(tick), y)
    return strip


def preview_of(raw: np.ndarray, depth: np.ndarray, kind: str) -> np.ndarray:
    """The preview of one output with its colour bar on the right (metres for metric graphs, relative
    inverse depth otherwise; DA3's depth up to scale is inverted first, sky +Inf becoming the far end): the one
    preview of the node topic, ``replay --previews``, ``infer`` and ``demo``."""
    if kind == "metric":
        limits = depth_range(depth)
        near, far = limits if limits is not None else (None, None)
        panel = colorize_depth(depth, near, far)
        return cv2.hconcat([panel, colour_bar(panel.shape[0], near, far, "metric")])
    panel = colorize_relative(disparity_from_raw(raw, kind))
    return cv2.hconcat([panel, colour_bar(panel.shape[0], None, None, "relative")])
