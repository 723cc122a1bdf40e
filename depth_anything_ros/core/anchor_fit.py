"""One frame's robust fit of the head parameters against anchor points (LiDAR, 2D laser, depth sensor), with guards.

The fit works in the space of the head equation (core.head), per output kind, with the IRLS/Tukey line fit of
core.head_fit:

- ``relative`` (V1/V2 inverse depth): 1 / depth = scale * raw + shift, fitted in inverse depth (relative residuals);
- ``relative-depth`` (DA3): depth = scale * raw + shift, fitted in depth (relative residuals);
- ``metric``: depth = scale * raw, a scale correction only, fitted in log space: log depth - log raw = log scale
  (residuals in log space are relative errors).

The result is given in the temporal filter's coordinates ``theta`` = (log scale, shift / scale), metric
(log scale,). shift / scale is an offset in raw units (1 / depth = scale * (raw + theta_1), or depth =
scale * (raw + theta_1)): a network output raw' = a * raw + b moves log scale by -log a and theta_1 by b, two
independent numbers, as the network's per-frame scale and offset are. Its covariance comes from the weighted
least squares of the last iteration, inflated by points / ``effective_points`` (neighbouring points' errors are
alike, so they are not independent measurements).

Guards, each with its ``AnchorReason``: at least ``min_points`` pixels; the depth spread (90th / 10th percentile
- 1) at least ``min_depth_spread``, else one wall at one distance cannot fix a shift and the fit is scale-only
with the given shift (reason ``SMALL_SPREAD``, still used); a finite, positive scale; at least
``min_inlier_ratio`` of the points within ``inlier_error`` of the fitted depth (the robust weights alone cannot
tell: when most points disagree, their spread grows and they all keep weight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.depth_points import OcclusionFilter, nearest_per_pixel, zbuffer
from depth_anything_ros.core.head import is_inverse
from depth_anything_ros.core.head_fit import LineFit, median, robust_line
from depth_anything_ros.core.transforms import Transform

START_TRIALS = 64  # robust start: random two-point lines ...
START_SAMPLE = 256  # ... each scored on this many points
ITERATIONS = 10
TOLERANCE = 1e-4  # relative parameter change: metres to 0.01 %
MIN_SIGMA = 0.005  # relative residual spread floor: noise-free anchors keep their points
WARM_START = 0.1  # the live estimate starts the fit when its median relative residual is below this


def dimensions(kind: str) -> int:
    """Filter coordinates of a kind: 2 (log scale, shift / scale), metric 1 (log scale)."""
    is_inverse(kind)  # refuses kinds it does not know
    return 1 if kind == "metric" else 2


def theta_of(kind: str, scale: float, shift: float) -> np.ndarray:
    """The filter coordinates of a head (scale > 0)."""
    if dimensions(kind) == 1:
        return np.array([math.log(scale)])
    return np.array([math.log(scale), shift / scale])


def head_of(kind: str, theta: np.ndarray) -> tuple[float, float]:
    """(scale, shift) of the head equation from filter coordinates."""
    scale = math.exp(float(theta[0]))
    return scale, (scale * float(theta[1]) if theta.size > 1 else 0.0)


@dataclass(frozen=True)
class FrameFit:
    """What one frame's anchor says about the head; ``theta`` None when the fit was refused (see ``reason``)."""

    reason: AnchorReason
    detail: str
    received: int  # points given
    used: int = 0  # pixels fitted
    inliers: float = math.nan  # fraction within inlier_error of the fitted depth
    residual_absrel: float = math.nan  # mean |fitted depth / anchor depth - 1| where the robust weights are > 0
    spread: float = math.nan  # 90th / 10th percentile of the anchor depth, minus 1
    theta: np.ndarray | None = None  # filter coordinates; for a scale-only fit theta_1 is the given shift
    covariance: np.ndarray | None = None  # of the measured coordinates: (2, 2), or (1, 1) for log scale only
    raw_unit: float = math.nan  # median |raw| at the points: the unit the shift's noise terms are given in
    raw_quantiles: tuple[float, ...] = ()  # 10th, 50th, 90th percentile raw value at the points (max_change)

    @property
    def usable(self) -> bool:
        return self.theta is not None

    @property
    def measured(self) -> int:
        """How many filter coordinates this fit measured (scale-only: 1)."""
        return 0 if self.covariance is None else self.covariance.shape[0]


def _warm_start(prior: np.ndarray | None, kind: str, affine: bool, x: np.ndarray, y: np.ndarray,
                sigma: np.ndarray) -> tuple[float, float] | None:
    """The live estimate, rescaled to this frame's median, as the fit's start (slope, intercept) when three quarters
    of the points lie within WARM_START of it: the random two-point start is skipped. (A median test would pass a
    start that fits only the majority at one depth, a wall, and the fit would keep the wall alone.)

    Residuals are relative (sigma = y; metric: log), so scaling slope and intercept by 1 / (1 + median residual)
    (metric: subtracting it from log scale) centres them: a frame whose scale moved keeps the start's shape.
    """
    if prior is None:
        return None
    scale, shift = head_of(kind, prior)
    if kind == "metric":
        residual = float(prior[0]) - y
        centre = median(residual)
        guess = (float(prior[0]) - centre, 0.0)
    else:
        residual = ((scale * x + shift) if affine else scale * x) / sigma - 1
        centre = median(residual)
        if not centre > -1:
            return None
        guess = (scale / (1 + centre), (shift if affine else 0.0) / (1 + centre))
    deviation = np.abs(residual - centre)
    k75 = (3 * deviation.size) // 4  # a quarter may be outliers; a minority at other depths must still fit
    return guess if np.partition(deviation, k75)[k75] < WARM_START else None


def _errors(fit: LineFit, x: np.ndarray, y: np.ndarray, sigma: np.ndarray, kind: str) -> np.ndarray:
    """|fitted depth / anchor depth - 1| per point (inf where the fitted depth is not valid), from the fit-space
    residuals r: relative r = d / d_fit - 1, relative-depth r = d_fit / d - 1, metric r = log(d_fit / d)."""
    r = (fit.slope * x + fit.intercept - y) / sigma
    if kind == "metric":
        return np.abs(np.expm1(r))
    ratio = 1 + r  # relative: d / d_fit, relative-depth: d_fit / d; not positive: no valid fitted depth
    error = np.abs(r) / np.maximum(ratio, 1e-300) if is_inverse(kind) else np.abs(r)
    return np.where(ratio > 0, error, np.inf)


def camera_for(raw: np.ndarray, camera: CameraModel | np.ndarray) -> CameraModel:
    """A CameraModel as given, or a rectified pinhole one from 3x3 intrinsics at the raw output's size."""
    if isinstance(camera, CameraModel):
        return camera
    k = np.asarray(camera, np.float64).reshape(3, 3)
    height, width = raw.shape[:2]
    return CameraModel(width, height, k, np.c_[k, np.zeros(3)], np.zeros(5), "plumb_bob")


def _refused(reason: AnchorReason, detail: str, received: int, **values) -> FrameFit:
    return FrameFit(reason, detail, received, **values)


def fit_points(raw: np.ndarray, camera: CameraModel | np.ndarray, points: np.ndarray, kind: str,
               config: AnchorConfig, prior: np.ndarray | None = None, extrinsic: Transform | None = None) -> FrameFit:
    """Fit the head of one frame's ``raw`` output (H, W) to anchor ``points`` (N, 3) in the camera's optical frame,
    or in the sensor's frame with ``extrinsic`` (sensor -> camera optical frame), applied after decimation.

    Clouds above ``max_input_points`` are decimated evenly, projected by the camera model, and the nearest point
    per pixel kept. ``prior`` (filter coordinates of the live estimate, or None): a scale-only fit keeps its shift,
    and the fit starts from it when it already fits the points. Never raises for bad input.
    """
    raw = np.asarray(raw)
    try:
        points = np.asarray(points, np.float64)
    except (TypeError, ValueError) as error:
        return _refused(AnchorReason.BAD_INPUT, f"anchor points are not numbers: {error}", 0)
    if points.ndim != 2 or points.shape[1] != 3:
        return _refused(AnchorReason.BAD_INPUT, f"anchor points must be (N, 3), got {points.shape}", 0)
    received = len(points)
    if raw.ndim != 2:
        return _refused(AnchorReason.BAD_INPUT, f"raw output must be (H, W), got {raw.shape}", received)
    camera = camera_for(raw, camera)
    if raw.shape != (camera.height, camera.width):
        return _refused(AnchorReason.BAD_INPUT, f"raw output {raw.shape[1]}x{raw.shape[0]} is not the camera's "
                                                f"{camera.width}x{camera.height}", received)
    if received == 0:
        return _refused(AnchorReason.NO_POINTS, "the anchor message has no points", 0)
    step = -(-received // config.max_input_points)  # even decimation of clouds above max_input_points
    decimated = points[::step]
    # behind the camera's image plane nothing projects into the image: cut there first (half of a 360-degree scan);
    # the rows kept are gathered from the whole cloud at once (row masks on a strided view copy row by row)
    ahead = decimated[:, 2] > 0 if extrinsic is None else \
        decimated @ extrinsic.rotation[2] > -extrinsic.translation[2]
    front = points.take(np.flatnonzero(ahead) * step, axis=0)
    if not np.isfinite(front).all():
        front = front[np.isfinite(front).all(axis=1)]
    if len(front) == 0:
        if not np.isfinite(decimated).all(axis=1).any():
            return _refused(AnchorReason.NO_POINTS, "every anchor point is NaN or infinite", received)
        return _refused(AnchorReason.BEHIND_CAMERA, "every anchor point is behind the camera (wrong extrinsic or "
                                                    "frame?)", received)
    points = front
    if extrinsic is not None:
        points = extrinsic.apply(points)
    u, v, z = camera.project(points, config.rectified, config.min_depth)
    if z.size == 0:
        return _refused(AnchorReason.BEHIND_CAMERA, f"no anchor point is more than {config.min_depth} m in front "
                                                    f"of the camera (wrong extrinsic or frame?)", received)
    return _fit_projected(raw, u, v, z, kind, config, prior, received)


def fit_uvz(raw: np.ndarray, u: np.ndarray, v: np.ndarray, z: np.ndarray, kind: str, config: AnchorConfig,
            prior: np.ndarray | None = None, received: int | None = None) -> FrameFit:
    """Fit the head of ``raw`` (H, W) to anchor samples at sub-pixel (u, v) with depth z (metres).

    The nearest sample per pixel is kept (and, with ``config.occlusion``, hidden ones removed).
    """
    raw = np.asarray(raw)
    u, v, z = (np.asarray(a, np.float64).ravel() for a in (u, v, z))
    received = z.size if received is None else received
    if raw.ndim != 2 or not u.size == v.size == z.size:
        return _refused(AnchorReason.BAD_INPUT, f"raw output must be (H, W) and u, v, z of one length, got "
                                                f"{raw.shape}, {u.size}, {v.size}, {z.size}", received)
    good = np.isfinite(u) & np.isfinite(v) & np.isfinite(z) & (z > config.min_depth)
    if not good.all():
        u, v, z = u[good], v[good], z[good]
    if z.size == 0:
        return _refused(AnchorReason.NO_POINTS, f"no anchor sample with a finite depth above {config.min_depth} m",
                        received)
    return _fit_projected(raw, u, v, z, kind, config, prior, received)


def _fit_projected(raw: np.ndarray, u: np.ndarray, v: np.ndarray, z: np.ndarray, kind: str, config: AnchorConfig,
                   prior: np.ndarray | None, received: int) -> FrameFit:
    """The z-buffer (and occlusion filter) and the fit of finite samples with z > min_depth."""
    height, width = raw.shape
    if config.occlusion:
        depth = OcclusionFilter().apply(zbuffer(u, v, z, height, width)).ravel()
        index = np.flatnonzero(np.isfinite(depth))
        z = depth[index].astype(np.float64)
    else:
        index, z = nearest_per_pixel(u, v, z, height, width)
    if index.size == 0:
        return _refused(AnchorReason.OUTSIDE_IMAGE, f"{len(u)} anchor points are in front of the camera, none "
                                                    f"inside its {width}x{height} image", received)
    rows, cols = np.divmod(index, width)  # no full-image copy, whatever raw's memory layout
    return fit_pixels(raw[rows, cols], z, kind, config, prior, received)


def fit_pixels(values: np.ndarray, depth: np.ndarray, kind: str, config: AnchorConfig, prior: np.ndarray | None = None,
               received: int | None = None) -> FrameFit:
    """Fit the head to raw ``values`` at anchor pixels and the anchor ``depth`` (metres) there; see the module."""
    values, depth = np.asarray(values, np.float64).ravel(), np.asarray(depth, np.float64).ravel()
    received = values.size if received is None else received
    if values.shape != depth.shape:
        return _refused(AnchorReason.BAD_INPUT, f"{values.size} raw values for {depth.size} depths", received)
    metric = kind == "metric"
    inverse = is_inverse(kind)
    ok = np.isfinite(values) & np.isfinite(depth) & (depth > 0)
    if metric:
        ok &= values > 0
    if not ok.all():
        values, depth = values[ok], depth[ok]
    if values.size > config.max_fit_points:
        pick = np.linspace(0, values.size - 1, config.max_fit_points).astype(np.int64)
        values, depth = values[pick], depth[pick]
    n = values.size
    if n < config.min_points:
        return _refused(AnchorReason.TOO_FEW_POINTS, f"{n} anchor pixels with a valid raw value, "
                                                     f"min_points is {config.min_points}", received, used=n)
    k10, k50, k90 = int(0.1 * (n - 1)), (n - 1) // 2, int(0.9 * (n - 1))
    low, high = np.partition(depth, (k10, k90))[[k10, k90]]
    spread = float(high / low - 1)
    quantiles = tuple(float(q) for q in np.partition(values, (k10, k50, k90))[[k10, k50, k90]])
    affine = not metric and spread >= config.min_depth_spread
    common = {"used": n, "spread": spread, "raw_unit": abs(quantiles[1]), "raw_quantiles": quantiles}
    shift_prior = float(prior[1]) if prior is not None and prior.size > 1 else 0.0
    if metric:
        x, y, sigma = np.ones(n), np.log(depth / values), np.ones(n)
    else:
        y = 1.0 / depth if inverse else depth
        x, sigma = (values if affine else values + shift_prior), y
    separation = config.min_depth_spread / (1 + config.min_depth_spread)
    start = _warm_start(prior, kind, affine, x, y, sigma)
    fit = robust_line(x, y, sigma, affine, start, ITERATIONS, TOLERANCE, MIN_SIGMA, START_TRIALS, START_SAMPLE,
                      rescale=False, separation=separation)
    solved = bool(np.isfinite(fit.covariance).all())
    if start is not None and not solved:  # the warm start led nowhere: start afresh
        fit = robust_line(x, y, sigma, affine, None, ITERATIONS, TOLERANCE, MIN_SIGMA, START_TRIALS, START_SAMPLE,
                          rescale=False, separation=separation)
        solved = bool(np.isfinite(fit.covariance).all())
    scale = math.exp(fit.slope) if metric else fit.slope
    shift = fit.intercept if affine else (0.0 if metric else shift_prior * fit.slope)
    if not (math.isfinite(scale) and math.isfinite(shift) and scale > 0):
        return _refused(AnchorReason.DEGENERATE, f"the fit gives scale {scale:.6g}, shift {shift:.6g}: the raw "
                                                 f"output does not follow the anchor's depth", received, **common)
    errors = _errors(fit, x, y, sigma, kind)
    kept = errors[fit.weights > 0]
    inliers = float(np.count_nonzero(errors < config.inlier_error)) / n
    common.update(inliers=inliers, residual_absrel=float(kept.sum()) / kept.size if kept.size else math.inf)
    if inliers < config.min_inlier_ratio:
        return _refused(AnchorReason.LOW_INLIERS, f"{inliers:.0%} of {n} anchor pixels are within "
                                                  f"{config.inlier_error:.0%} of the fit, min_inlier_ratio is "
                                                  f"{config.min_inlier_ratio:.0%}", received, **common)
    if not solved:
        return _refused(AnchorReason.DEGENERATE, "the robust weights left too few points for a fit", received,
                        **common)
    theta = theta_of(kind, scale, shift)
    covariance = fit.covariance * max(1.0, n / config.effective_points)
    if metric:
        pass  # the slope is log scale already
    elif affine:  # (scale, shift) -> (log scale, shift / scale)
        jacobian = np.array([[1.0 / scale, 0.0], [-shift / scale ** 2, 1.0 / scale]])
        covariance = jacobian @ covariance @ jacobian.T
    else:
        covariance = covariance / scale ** 2
    if not (np.isfinite(theta).all() and np.isfinite(covariance).all()):
        return _refused(AnchorReason.DEGENERATE, f"the fit gives scale {scale:.6g}, shift {shift:.6g}: too close to "
                                                 f"a flat line", received, **common)
    if affine or metric:
        reason, detail = AnchorReason.OK, ""
    else:
        reason = AnchorReason.SMALL_SPREAD
        detail = (f"anchor depths {low:.2f}-{high:.2f} m spread {spread:.0%} < min_depth_spread "
                  f"{config.min_depth_spread:.0%}: scale-only fit, shift kept")
    return FrameFit(reason, detail, received, theta=theta, covariance=covariance, **common)
