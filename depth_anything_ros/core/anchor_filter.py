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
        floor = (c.measurement_floor ** 2, (c.measurement_floor * unit) ** 2)
        m = fit.measured
        if not self.live:
            self.mean = fit.theta.astype(np.float64).copy()
            self.covariance = np.diag(np.r_[np.zeros(m), np.full(self.dims - m, (UNKNOWN_SHIFT * unit) ** 2)])
            self.covariance[:m, :m] = fit.covariance + np.diag(floor[:m])
            self.stamp_ns = stamp_ns
            return
        dt = max(0.0, (stamp_ns - self.stamp_ns) / 1e9)
        q = (c.scale_jitter ** 2 + c.scale_drift ** 2 * dt,
             (c.shift_jitter ** 2 + c.shift_drift ** 2 * dt) * unit * unit)
        # the update of the module docstring written out for 1 or 2 coordinates in Python floats (numpy's per-call
        # cost would be most of it for 2x2 matrices): H selects the first m coordinates
        p = self.covariance.tolist()
        for i in range(self.dims):
            p[i][i] += q[i]
        rm = fit.covariance.tolist()  # R: the fit's covariance plus the floor on its diagonal
        for i in range(m):
            rm[i][i] += floor[i]
        mean, measured = self.mean.tolist(), fit.theta.tolist()
        innovation = [measured[i] - mean[i] for i in range(m)]
        if m == 1:
            gains = [[p[i][0] / (p[0][0] + rm[0][0])] for i in range(self.dims)]
        else:
            s00, s01, s10, s11 = p[0][0] + rm[0][0], p[0][1] + rm[0][1], p[1][0] + rm[1][0], p[1][1] + rm[1][1]
            det = s00 * s11 - s01 * s10
            inverse = ((s11 / det, -s01 / det), (-s10 / det, s00 / det))
            gains = [[p[i][0] * inverse[0][j] + p[i][1] * inverse[1][j] for j in range(2)] for i in range(2)]
        self.mean = np.array([mean[i] + sum(g * v for g, v in zip(row, innovation, strict=True))
                              for i, row in enumerate(gains)])
        self.covariance = np.array([[p[i][j] - sum(gains[i][k] * p[k][j] for k in range(m)) for j in range(self.dims)]
                                    for i in range(self.dims)])
        self.stamp_ns = stamp_ns
