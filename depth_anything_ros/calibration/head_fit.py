"""Robust fits of the metric head against sparse ground truth, and time-block splits.

metric and relative-depth graphs (raw is depth: metres, or DA3's depth up to scale):
depth = scale * raw + shift, fitted in depth;
relative graphs (raw is V1/V2 inverse depth): depth = 1 / (scale * raw + shift), fitted in inverse depth.
Residuals are relative to the ground truth (so near and far points weigh alike), and iteratively
reweighted with Tukey's biweight at 4.685 robust standard deviations (MAD), so LiDAR points on the
wrong surface, sky and moving objects do not pull the fit. ``scale`` fixes shift at 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_anything_ros.core.head import is_inverse

METHODS = ("scale", "affine")
TUKEY_C = 4.685


@dataclass(frozen=True)
class HeadFit:
    scale: float
    shift: float
    inliers: float  # fraction of points with non-zero final weight
    points: int
    iterations: int


def _solve(raw: np.ndarray, target: np.ndarray, weights: np.ndarray, affine: bool) -> tuple[float, float]:
    """Weighted least squares of target ~ scale * raw (+ shift), residuals relative to target."""
    w = weights / target ** 2
    if affine:
        a = np.stack([raw, np.ones_like(raw)], axis=1) * np.sqrt(w)[:, None]
        (scale, shift), *_ = np.linalg.lstsq(a, target * np.sqrt(w), rcond=None)
        return float(scale), float(shift)
    return float(np.sum(w * raw * target) / np.sum(w * raw * raw)), 0.0


def _robust_start(raw: np.ndarray, target: np.ndarray, affine: bool, trials: int = 300) -> tuple[float, float]:
    """A starting model the outliers cannot drag: least median of relative residuals over minimal samples."""
    if not affine:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = target / raw
        return float(np.median(ratio[np.isfinite(ratio)])), 0.0
    rng = np.random.default_rng(0)
    best, best_cost = (0.0, 0.0), np.inf
    for _ in range(trials):
        i, j = rng.choice(raw.size, 2, replace=False)
        if raw[i] == raw[j]:
            continue
        scale = (target[i] - target[j]) / (raw[i] - raw[j])
        shift = target[i] - scale * raw[i]
        cost = np.median(np.abs((scale * raw + shift - target) / target))
        if cost < best_cost:
            best, best_cost = (float(scale), float(shift)), cost
    return best


def fit_head(raw: np.ndarray, depth: np.ndarray, kind: str, method: str = "affine",
             iterations: int = 30) -> HeadFit:
    """Scale (and shift) mapping the graph's raw output to the ground-truth depth; see the module docstring."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    inverse = is_inverse(kind)  # refuses kinds it does not know
    raw, depth = np.asarray(raw, np.float64).ravel(), np.asarray(depth, np.float64).ravel()
    valid = np.isfinite(raw) & np.isfinite(depth) & (depth > 0)
    raw, depth = raw[valid], depth[valid]
    needed = 2 if method == "affine" else 1
    if raw.size < max(10, needed):
        raise ValueError(f"only {raw.size} valid ground-truth points; a fit needs at least 10 (check the LiDAR "
                         f"topic, extrinsics and time overlap)")
    target = 1.0 / depth if inverse else depth
    scale, shift = _robust_start(raw, target, method == "affine")
    weights = np.ones_like(raw)
    done = 0
    for done in range(1, iterations + 1):  # noqa: B007 - the count is reported
        residual = (scale * raw + shift - target) / target
        spread = max(1.4826 * np.median(np.abs(residual - np.median(residual))), 1e-9)
        u = residual / (TUKEY_C * spread)
        weights = np.where(np.abs(u) < 1, (1 - u ** 2) ** 2, 0.0)
        if weights.sum() < needed:
            break
        new_scale, new_shift = _solve(raw, target, weights, method == "affine")
        converged = abs(new_scale - scale) <= 1e-10 * abs(scale) and abs(new_shift - shift) <= 1e-10 * max(
            abs(shift), abs(scale))
        scale, shift = new_scale, new_shift
        if converged:
            break
    if not np.isfinite(scale) or scale == 0:
        raise ValueError("the fit is degenerate (scale 0 or not finite): the predictions do not vary with depth")
    return HeadFit(scale, shift, float(np.mean(weights > 0)), int(raw.size), done)


def time_block_split(stamps_ns: np.ndarray, block_s: float = 10.0, holdout_every: int = 5,
                     origin_ns: int | None = None) -> np.ndarray:
    """True for held-out frames: every ``holdout_every``-th block of ``block_s`` seconds, whole blocks only.

    Neighbouring frames are nearly identical, so interleaved splits would test on training data.
    Blocks start at ``origin_ns`` (default: the first stamp); give one origin to split several
    streams of the same recording (labeled and unlabeled frames) into the same blocks.
    """
    stamps = np.asarray(stamps_ns, np.int64)
    if stamps.size == 0:
        raise ValueError("no frames to split")
    block = (stamps - (stamps.min() if origin_ns is None else origin_ns)) // int(block_s * 1e9)
    held = block % holdout_every == holdout_every - 1
    if not held.any() or held.all():
        span = (stamps.max() - stamps.min()) / 1e9
        raise ValueError(f"the frames span {span:.1f} s: {block_s:g} s blocks give no held-out block every "
                         f"{holdout_every}; use a shorter --block or longer recordings")
    return held
