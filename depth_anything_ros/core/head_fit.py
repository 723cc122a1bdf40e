"""Robust fits of the metric head against sparse depth: Tukey's biweight by iteratively reweighted least squares.

One implementation for the offline calibration (``fit_head``: one fit over many frames) and the live anchor
(``core.anchor_fit``: one fit per frame). Both solve a line ``y ~ slope * x (+ intercept)`` with residuals
``(slope * x + intercept - y) / sigma``:

- metric and relative-depth graphs (raw is depth: metres, or DA3's depth up to scale): depth = scale * raw + shift,
  fitted in depth (y = depth, x = raw, sigma = depth);
- relative graphs (raw is V1/V2 inverse depth): depth = 1 / (scale * raw + shift), fitted in inverse depth
  (y = 1 / depth, x = raw, sigma = 1 / depth).

With sigma = y the residuals are relative to the ground truth (near and far points weigh alike). Weights are
Tukey's biweight at 4.685 robust standard deviations (1.4826 MAD of the residuals), so points on the wrong
surface, sky and moving objects do not pull the fit. The start is the least median of residuals over random
two-point models, which outliers cannot drag. ``scale`` fixes the shift at 0.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from depth_anything_ros.core.head import is_inverse

METHODS = ("scale", "affine")
TUKEY_C = 4.685
MAD_TO_STD = 1.4826
_COST_ELEMENTS = 1 << 22  # residuals evaluated at once by the robust start (memory bound)


def median(values: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """np.median of finite values along ``axis`` by partition (the same numbers, a fraction of its overhead)."""
    n = values.shape[axis]
    half = n // 2
    if n % 2:
        out = np.partition(values, half, axis=axis).take(half, axis=axis)
    else:
        parts = np.partition(values, (half - 1, half), axis=axis)
        out = 0.5 * (parts.take(half - 1, axis=axis) + parts.take(half, axis=axis))
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class LineFit:
    """``y ~ slope * x + intercept`` (intercept 0 for slope-only fits) and what the fit saw."""

    slope: float
    intercept: float
    weights: np.ndarray  # final Tukey weight per point (0: outlier)
    sigma: float  # robust standard deviation of the normalised residuals
    covariance: np.ndarray  # of (slope, intercept) (2, 2); slope-only fits: (1, 1)
    iterations: int

    @property
    def inliers(self) -> float:
        """Fraction of points with a non-zero final weight."""
        return float(np.count_nonzero(self.weights)) / self.weights.size if self.weights.size else 0.0


@functools.lru_cache(maxsize=8)
def _uniform(trials: int, seed: int) -> np.ndarray:
    """(2, trials) uniform numbers in [0, 1), drawn once per (trials, seed): fits are reproducible and a
    per-frame fit does not pay for a new random generator."""
    values = np.random.default_rng(seed).random((2, trials))
    values.flags.writeable = False
    return values


def robust_start(x: np.ndarray, y: np.ndarray, sigma: np.ndarray, affine: bool, trials: int = 300,
                 sample: int | None = None, seed: int = 0, separation: float = 0.0) -> tuple[float, float]:
    """Least median of |normalised residuals| over ``trials`` random two-point lines (slope-only: the median
    ratio y / x). ``sample`` evaluates each candidate on that many evenly spaced points only (None: all).

    ``separation`` > 0 draws each pair from the lower and the upper half of y and keeps only pairs whose y differ
    by at least that fraction of the larger: when most points share one depth (a wall), two of them define a
    flat line through the majority, which least-median would otherwise prefer to the true one.
    """
    if not affine:
        nonzero = x != 0
        ratio = y[nonzero] / x[nonzero]
        return float(median(ratio[np.isfinite(ratio)])) if ratio.size else 1.0, 0.0
    n = x.size
    uniform = _uniform(trials, seed)
    if separation > 0:
        order = np.argsort(y)
        half = n // 2
        i = order[(uniform[0] * half).astype(np.int64)]
        j = order[n - half + (uniform[1] * half).astype(np.int64)]
        apart = np.abs(y[j] - y[i]) >= separation * np.maximum(np.abs(y[i]), np.abs(y[j]))
        i, j = i[apart], j[apart]
    else:
        i = (uniform[0] * n).astype(np.int64)
        j = (uniform[1] * (n - 1)).astype(np.int64)
        j += j >= i  # two distinct points per trial
    dx = x[i] - x[j]
    distinct = dx != 0
    i, dx = i[distinct], dx[distinct]
    slopes = (y[i] - y[j[distinct]]) / dx
    intercepts = y[i] - slopes * x[i]
    good = np.isfinite(slopes) & np.isfinite(intercepts)
    slopes, intercepts = slopes[good], intercepts[good]
    if slopes.size == 0:
        return robust_start(x, y, sigma, False)
    pick = slice(None) if sample is None or n <= sample else np.linspace(0, n - 1, sample).astype(np.int64)
    xs, ys, ss = x[pick], y[pick], sigma[pick]
    chunk = max(1, _COST_ELEMENTS // xs.size)
    costs = np.empty(slopes.size)
    for start in range(0, slopes.size, chunk):
        part = slice(start, start + chunk)
        residual = (slopes[part, None] * xs + intercepts[part, None] - ys) / ss
        costs[part] = median(np.abs(residual), axis=1)
    best = int(np.argmin(costs))
    return float(slopes[best]), float(intercepts[best])


def robust_line(x: np.ndarray, y: np.ndarray, sigma: np.ndarray, affine: bool, start: tuple[float, float] | None = None,
                iterations: int = 30, tolerance: float = 1e-10, min_sigma: float = 1e-9, trials: int = 300,
                sample: int | None = None, rescale: bool = True, separation: float = 0.0) -> LineFit:
    """Tukey IRLS of ``y ~ slope * x (+ intercept)`` with residuals divided by ``sigma``; see the module docstring.

    ``start`` (slope, intercept) skips the robust start; ``min_sigma`` floors the robust spread of the normalised
    residuals (noise-free data would otherwise weigh out points for rounding errors); ``tolerance`` is the
    relative parameter change that ends the iterations; ``trials``, ``sample`` and ``separation`` shape the robust
    start;
    ``rescale`` False measures the spread once, at the start (as MM-estimators do: fewer medians per frame).
    Each iteration is the weighted least squares of the normalised residuals, solved from its 2x2 normal
    equations; x is centred on its mean first so they stay well conditioned.
    """
    slope, intercept = start if start is not None else robust_start(x, y, sigma, affine, trials, sample,
                                                                     separation=separation)
    x0 = float(x.sum()) / x.size if affine else 0.0  # x.mean(), without its per-call overhead
    p1 = 1.0 / sigma  # normalised columns: residual = slope * px + (intercept + slope * x0) * p1 - py
    px, py = (x - x0) * p1, y * p1
    pxx, pxy = px * px, px * py
    if affine:
        px1, p11, p1y = px * p1, p1 * p1, p1 * py
    needed = 2 if affine else 1
    weights = np.ones_like(x)
    spread = min_sigma
    sums = None  # the normal equations of the last solve
    done = 0
    for done in range(1, iterations + 1):
        offset = intercept + slope * x0
        residual = slope * px + offset * p1 - py if affine else slope * px - py
        if rescale or done == 1:
            spread = max(MAD_TO_STD * median(np.abs(residual - median(residual))), min_sigma)
        u = residual * (1.0 / (TUKEY_C * spread))
        weights = np.maximum(1.0 - u * u, 0.0)
        weights *= weights  # Tukey: (1 - u^2)^2 inside |u| < 1, else 0
        sxx, sxy = float(weights @ pxx), float(weights @ pxy)
        if affine:
            sx1, s11, s1y = float(weights @ px1), float(weights @ p11), float(weights @ p1y)
            det = sxx * s11 - sx1 * sx1
            if not det > 0:
                break
            new_slope, new_offset = (sxy * s11 - sx1 * s1y) / det, (sxx * s1y - sx1 * sxy) / det
            new_intercept = new_offset - new_slope * x0
            sums = (sxx, sx1, s11, det)
        else:
            if not sxx > 0:
                break
            new_slope, new_intercept = sxy / sxx, 0.0
            sums = (sxx,)
        converged = abs(new_slope - slope) <= tolerance * abs(slope) and abs(new_intercept - intercept) <= \
            tolerance * max(abs(intercept), abs(slope))
        slope, intercept = new_slope, new_intercept
        if converged:
            break
    if sums is None:
        covariance = np.full((needed, needed), np.nan)
    elif affine:  # (A^T W A)^-1 of (slope, offset), then offset -> intercept = offset - slope * x0
        sxx, sx1, s11, det = sums
        inverse = np.array([[s11, -sx1], [-sx1, sxx]]) / det
        jacobian = np.array([[1.0, 0.0], [-x0, 1.0]])
        covariance = jacobian @ inverse @ jacobian.T
    else:
        covariance = np.array([[1.0 / sums[0]]])
    return LineFit(slope, intercept, weights, spread, covariance * spread * spread, done)


@dataclass(frozen=True)
class HeadFit:
    scale: float
    shift: float
    inliers: float  # fraction of points with non-zero final weight
    points: int
    iterations: int


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
    fit = robust_line(raw, target, target, method == "affine", iterations=iterations)
    if not np.isfinite(fit.slope) or fit.slope == 0 or not np.isfinite(fit.covariance).all():  # no LS solve
        raise ValueError("the fit is degenerate (no solution, or scale 0 or not finite): the predictions do not "
                         "vary with depth")
    return HeadFit(fit.slope, fit.intercept, fit.inliers, int(raw.size), fit.iterations)
