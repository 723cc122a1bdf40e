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

from dataclasses import dataclass

import numpy as np

from depth_anything_ros.core.head import is_inverse

METHODS = ("scale", "affine")
TUKEY_C = 4.685
MAD_TO_STD = 1.4826
_COST_ELEMENTS = 1 << 22  # residuals evaluated at once by the robust start (memory bound)


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
        return float(np.mean(self.weights > 0)) if self.weights.size else 0.0


def _solve(x: np.ndarray, y: np.ndarray, w: np.ndarray, affine: bool) -> tuple[float, float, np.ndarray]:
    """Weighted least squares (weights ``w`` on the absolute residuals), centred so it stays well conditioned.

    Returns slope, intercept and (A^T W A)^-1, the covariance of the parameters per unit residual variance.
    """
    total = float(w.sum())
    if not affine:
        sxx = float(np.dot(w * x, x))
        return float(np.dot(w * x, y)) / sxx, 0.0, np.array([[1.0 / sxx]])
    mx, my = float(np.dot(w, x)) / total, float(np.dot(w, y)) / total
    xc = x - mx
    sxx = float(np.dot(w * xc, xc))
    slope = float(np.dot(w * xc, y - my)) / sxx
    inverse = np.array([[1.0 / sxx, -mx / sxx], [-mx / sxx, 1.0 / total + mx * mx / sxx]])
    return slope, my - slope * mx, inverse


def robust_start(x: np.ndarray, y: np.ndarray, sigma: np.ndarray, affine: bool, trials: int = 300,
                 sample: int | None = None, seed: int = 0) -> tuple[float, float]:
    """Least median of |normalised residuals| over ``trials`` random two-point lines (slope-only: the median
    ratio y / x). ``sample`` evaluates each candidate on that many evenly spaced points only (None: all)."""
    if not affine:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = y / x
        return float(np.median(ratio[np.isfinite(ratio)])), 0.0
    n = x.size
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, trials)
    j = rng.integers(0, n - 1, trials)
    j += j >= i  # two distinct points per trial
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = (y[i] - y[j]) / (x[i] - x[j])
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
        costs[part] = np.median(np.abs(residual), axis=1)
    best = int(np.argmin(costs))
    return float(slopes[best]), float(intercepts[best])


def robust_line(x: np.ndarray, y: np.ndarray, sigma: np.ndarray, affine: bool, start: tuple[float, float] | None = None,
                iterations: int = 30, tolerance: float = 1e-10, min_sigma: float = 1e-9, trials: int = 300,
                sample: int | None = None) -> LineFit:
    """Tukey IRLS of ``y ~ slope * x (+ intercept)`` with residuals divided by ``sigma``; see the module docstring.

    ``start`` (slope, intercept) skips the robust start; ``min_sigma`` floors the robust spread of the normalised
    residuals (noise-free data would otherwise weigh out points for rounding errors); ``tolerance`` is the
    relative parameter change that ends the iterations; ``trials`` and ``sample`` size the robust start.
    """
    slope, intercept = start if start is not None else robust_start(x, y, sigma, affine, trials, sample)
    needed = 2 if affine else 1
    inverse_sigma2 = 1.0 / (sigma * sigma)
    weights = np.ones_like(x)
    spread = min_sigma
    covariance = np.full((needed, needed), np.nan)
    done = 0
    for done in range(1, iterations + 1):  # noqa: B007 - the count is reported
        residual = (slope * x + intercept - y) / sigma
        spread = max(MAD_TO_STD * float(np.median(np.abs(residual - np.median(residual)))), min_sigma)
        u = residual / (TUKEY_C * spread)
        weights = np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
        if weights.sum() < needed:
            break
        new_slope, new_intercept, covariance = _solve(x, y, weights * inverse_sigma2, affine)
        converged = abs(new_slope - slope) <= tolerance * abs(slope) and abs(new_intercept - intercept) <= \
            tolerance * max(abs(intercept), abs(slope))
        slope, intercept = new_slope, new_intercept
        if converged:
            break
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
    if not np.isfinite(fit.slope) or fit.slope == 0:
        raise ValueError("the fit is degenerate (scale 0 or not finite): the predictions do not vary with depth")
    return HeadFit(fit.slope, fit.intercept, fit.inliers, int(raw.size), fit.iterations)
