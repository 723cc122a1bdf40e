"""core.anchor_filter: the Kalman update equals the equations of its docstring, for every measured dimension."""

from __future__ import annotations

import numpy as np
import pytest

from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.anchor_filter import UNKNOWN_SHIFT, HeadFilter
from depth_anything_ros.core.anchor_fit import FrameFit
from depth_anything_ros.core.anchor_reasons import AnchorReason

CONFIG = AnchorConfig(scale_jitter=0.03, shift_jitter=0.04, scale_drift=0.1, shift_drift=0.2, measurement_floor=0.01)


def fit(theta, covariance, unit=2.0) -> FrameFit:
    return FrameFit(AnchorReason.OK, "", 100, 100, theta=np.asarray(theta, float),
                    covariance=np.asarray(covariance, float), raw_unit=unit)


def by_definition(mean, p, dt, measurement: FrameFit, dims: int):
    c, u, m = CONFIG, measurement.raw_unit, measurement.measured
    q = np.diag([c.scale_jitter ** 2 + c.scale_drift ** 2 * dt,
                 (c.shift_jitter ** 2 + c.shift_drift ** 2 * dt) * u * u][:dims])
    r = measurement.covariance + np.diag([c.measurement_floor ** 2, (c.measurement_floor * u) ** 2][:m])
    h = np.eye(dims)[:m]
    predicted = p + q
    gain = predicted @ h.T @ np.linalg.inv(h @ predicted @ h.T + r)
    return mean + gain @ (measurement.theta[:m] - h @ mean), (np.eye(dims) - gain @ h) @ predicted


@pytest.mark.parametrize(("dims", "second"), [(2, fit([0.3, 0.05], [[4e-4, 1e-5], [1e-5, 9e-4]])),
                                              (2, fit([0.25, 0.0], [[2e-4]])),  # scale only: shift kept
                                              (1, fit([0.2], [[1e-4]]))])  # metric
def test_the_update_is_the_kalman_filter_of_the_docstring(dims, second):
    first = fit([0.1, 0.02][:dims], np.diag([1e-4, 4e-4][:dims]))
    head = HeadFilter(CONFIG, dims)
    head.update(first, 0)
    mean, covariance = head.mean.copy(), head.covariance.copy()
    head.update(second, 500_000_000)
    expected_mean, expected_covariance = by_definition(mean, covariance, 0.5, second, dims)
    np.testing.assert_allclose(head.mean, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(head.covariance, expected_covariance, rtol=1e-12, atol=1e-18)


def test_a_scale_only_start_leaves_the_shift_unknown():
    head = HeadFilter(CONFIG, 2)
    head.update(fit([0.1, 0.3], [[1e-4]], unit=2.0), 0)
    assert head.mean[1] == 0.3 and head.covariance[1, 1] == pytest.approx((UNKNOWN_SHIFT * 2.0) ** 2)
    assert head.covariance[0, 0] == pytest.approx(1e-4 + CONFIG.measurement_floor ** 2)
