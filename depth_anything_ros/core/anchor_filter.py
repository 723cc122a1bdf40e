"""The temporal filter of the live anchor: a Kalman filter on the head's coordinates, a random walk.

State theta = (log scale, shift / scale) (metric: log scale; see core.anchor_fit), covariance P. Between two
accepted fits dt seconds apart the state may move by the process noise

    Q = diag(scale_jitter^2 + scale_drift^2 dt, (shift_jitter^2 + shift_drift^2 dt) u^2)

(jitter: what the network changes from one frame to the next; drift: slow change with time; u: the typical
|raw| at the anchor pixels, so the shift's noise is given as a fraction of the raw values). A fit measures
theta with covariance R (the fit's own, plus measurement_floor^2, shift term in units of u); a scale-only fit
measures log scale alone (H = [1, 0]) and the shift keeps its estimate. Update:

    S = H (P + Q) H^T + R,  K = (P + Q) H^T S^-1,  theta += K (z - H theta),  P = (I - K H) (P + Q).

Why a Kalman filter rather than a gated moving average: it weighs each frame by its evidence. A frame with
few points, or with depths too alike to fix a shift, gets a large R (or a scale-only H) and moves the estimate
little; a frame with many well-spread points moves it nearly all the way, which a relative network, whose scale
and offset change from frame to frame, needs. Gating (refusing one bad frame) is not left to the gain: the
estimator (core.anchor) refuses fits that would move the metres by more than max_change before they reach
the filter, and the filter only ever sees accepted fits.
"""

from __future__ import annotations

import math

import numpy as np

from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.anchor_fit import FrameFit

UNKNOWN_SHIFT = 1.0  # std of the shift (in units of u) when a scale-only fit starts the filter


def _inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 1x1 or 2x2 innovation covariance (positive definite), in closed form."""
    if matrix.shape == (1, 1):
        return 1.0 / matrix
    (a, b), (c, d) = matrix
    return np.array([[d, -b], [-c, a]]) / (a * d - b * c)


class HeadFilter:
    """Kalman filter of the head coordinates; ``mean`` None until the first accepted fit."""

    def __init__(self, config: AnchorConfig, dims: int) -> None:
        self.config = config
        self.dims = dims
        self.mean: np.ndarray | None = None
        self.covariance: np.ndarray | None = None
        self.stamp_ns: int | None = None  # of the last accepted fit

    @property
    def live(self) -> bool:
        return self.mean is not None

    def reset(self) -> None:
        self.mean = self.covariance = self.stamp_ns = None

    def update(self, fit: FrameFit, stamp_ns: int) -> None:
        """Take one accepted fit (``fit.usable``) of the frame stamped ``stamp_ns``."""
        c = self.config
        unit = fit.raw_unit if math.isfinite(fit.raw_unit) and fit.raw_unit > 0 else 1.0
        floor = np.array([c.measurement_floor ** 2, (c.measurement_floor * unit) ** 2])
        m = fit.measured
        r = fit.covariance + np.diag(floor[:m])
        z = fit.theta[:m]
        if not self.live:
            self.mean = fit.theta.astype(np.float64).copy()
            self.covariance = np.diag(np.r_[np.zeros(m), np.full(self.dims - m, (UNKNOWN_SHIFT * unit) ** 2)])
            self.covariance[:m, :m] = r
            self.stamp_ns = stamp_ns
            return
        dt = max(0.0, (stamp_ns - self.stamp_ns) / 1e9)
        q = np.array([c.scale_jitter ** 2 + c.scale_drift ** 2 * dt,
                      (c.shift_jitter ** 2 + c.shift_drift ** 2 * dt) * unit * unit])[: self.dims]
        predicted = self.covariance + np.diag(q)
        h = np.eye(self.dims)[:m]
        s = h @ predicted @ h.T + r
        gain = predicted @ h.T @ _inverse(s)
        self.mean = self.mean + gain @ (z - h @ self.mean)
        self.covariance = (np.eye(self.dims) - gain @ h) @ predicted
        self.stamp_ns = stamp_ns
