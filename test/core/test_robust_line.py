"""core.head_fit's robust line: the median, the least-median start and the Tukey IRLS against their definitions.

The calibration and the live anchor both stand on these; a wrong weight or normal equation moves every metre.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from depth_anything_ros.core.head_fit import MAD_TO_STD, TUKEY_C, median, robust_line, robust_start

RNG = np.random.default_rng(42)


@pytest.mark.parametrize("n", [1, 2, 5, 6, 11, 12])
def test_median_is_numpys_median_along_any_axis(n):
    values = RNG.normal(size=(4, n))
    np.testing.assert_array_equal(median(values, axis=1), np.median(values, axis=1))
    np.testing.assert_array_equal(median(values.T, axis=0), np.median(values, axis=1))
    one = median(values[0])
    assert isinstance(one, float) and one == np.median(values[0])


def line_with_outliers(n: int = 60, slope: float = 2.0, intercept: float = -3.0, outliers=(0, 1, 7, 12, 20, 33)):
    """Noise-free points on a line but for gross outliers, the first two points among them."""
    x = np.linspace(0.5, 10.0, n)
    y = slope * x + intercept
    y[list(outliers)] += np.array([40.0, -35.0, 25.0, 60.0, -20.0, 30.0])[: len(outliers)]
    return x, y


def test_start_of_a_line_through_outliers_is_the_line():
    x, y = line_with_outliers()
    slope, intercept = robust_start(x, y, np.ones_like(y), affine=True)
    assert slope == pytest.approx(2.0, rel=1e-12) and intercept == pytest.approx(-3.0, rel=1e-12)


def test_scale_only_start_is_the_median_ratio_over_non_zero_x():
    x = np.array([0.0, 1.0, 2.0, 4.0, 0.0, 5.0])
    y = np.array([3.0, 2.0, 3.0, 12.0, 0.0, 100.0])
    assert robust_start(x, y, np.ones(6), affine=False) == (np.median([2.0, 1.5, 3.0, 20.0]), 0.0)
    assert robust_start(np.zeros(4), np.ones(4), np.ones(4), affine=False) == (1.0, 0.0)


def test_affine_start_of_constant_x_falls_back_to_the_ratio():
    x = np.full(20, 2.0)
    y = np.linspace(1.0, 3.0, 20)
    assert robust_start(x, y, y, affine=True) == (np.median(y / 2.0), 0.0)


def test_sample_judges_each_candidate_on_evenly_spaced_points_only():
    n = 100
    x = np.linspace(1.0, 10.0, n)
    on_a = np.zeros(n, bool)
    on_a[np.linspace(0, n - 1, 5).astype(int)] = True  # the 5 judged points: 0, 24, 49, 74, 99
    on_a[2:80:2] = True  # and more A points to draw pairs from: 44 in all, B has the majority
    on_a[[48, 73, 98, 1, 25, 50, 75]] = False  # neighbours of the judged points are B points
    y = np.where(on_a, 1.0 * x + 5.0, 3.0 * x - 2.0)
    assert on_a.sum() < n / 2
    assert robust_start(x, y, np.ones(n), affine=True) == pytest.approx((3.0, -2.0))  # all points: B wins
    assert robust_start(x, y, np.ones(n), affine=True, sample=5) == pytest.approx((1.0, 5.0))
    assert robust_start(x, y, np.ones(n), affine=True, sample=n) == pytest.approx((3.0, -2.0))


def test_separation_pairs_a_near_and_a_far_point():
    """Most points on one wall (one depth, raw varying a little): pairs on the wall give a flat line through the
    majority, which least-median prefers; only pairs spanning depths find the line through all the others."""
    x = np.r_[4.0 + RNG.normal(0, 1e-3, 70), np.linspace(1.0, 9.0, 30), 6.0]
    y = np.r_[np.full(70, 10.0), 2.5 * np.linspace(1.0, 9.0, 30), 0.5]  # the nearest point is an outlier
    slope, intercept = robust_start(x, y, y, affine=True, separation=0.5)
    assert slope == pytest.approx(2.5, rel=1e-2) and intercept == pytest.approx(0.0, abs=0.05)
    assert robust_start(x, y, y, affine=True)[0] == pytest.approx(0.0, abs=1e-6)  # without: the wall wins


def test_start_is_the_same_in_every_process():
    """Calibrations are reproducible: the random pairs come from a fixed seed, not from the process."""
    x = np.linspace(1, 5, 40)
    y = 2 * x + np.sin(7 * x)
    here = robust_start(x, y, y, True, trials=3)
    code = ("import numpy as np; from depth_anything_ros.core.head_fit import robust_start; "
            "x = np.linspace(1, 5, 40); y = 2 * x + np.sin(7 * x); print(repr(robust_start(x, y, y, True, trials=3)))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert there.strip() == repr(here)


def noisy_line(n: int = 400, slope: float = 0.8, intercept: float = 0.3, sigma_scale: float = 1.0):
    rng = np.random.default_rng(5)
    x = rng.uniform(1.0, 5.0, n)
    sigma = sigma_scale * (0.5 + 0.1 * x)
    y = slope * x + intercept + rng.normal(0.0, 0.02, n) * sigma
    y[:40] += rng.uniform(1.0, 3.0, 40) * sigma_scale  # 10 % gross outliers
    return x, y, sigma


def tukey(residual: np.ndarray, spread: float) -> np.ndarray:
    u = residual / (TUKEY_C * spread)
    return np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("units", [1.0, 1e-4])  # 1e-4: inverse depth of a raw output in the thousands
def test_irls_result_is_a_fixed_point_of_tukey_weighted_least_squares(affine, units):
    """At the returned line: the spread is 1.4826 MAD of its residuals, the weights are Tukey's at 4.685 spreads,
    and the weighted least squares with those weights gives the line back."""
    x, y, sigma = noisy_line(slope=0.8 * units, intercept=0.3 * units if affine else 0.0, sigma_scale=units)
    fit = robust_line(x, y, sigma, affine)
    assert 1 < fit.iterations < 30
    residual = (fit.slope * x + fit.intercept - y) / sigma
    spread = MAD_TO_STD * np.median(np.abs(residual - np.median(residual)))
    assert fit.sigma == pytest.approx(spread, rel=1e-6)
    np.testing.assert_allclose(fit.weights, tukey(residual, spread), atol=1e-6)
    assert (fit.weights[:40] == 0).all() and fit.inliers == pytest.approx(np.count_nonzero(fit.weights) / 400)
    w = fit.weights / sigma**2
    if affine:
        design = np.stack([x, np.ones_like(x)], axis=1)
        solved = np.linalg.solve(design.T @ (w[:, None] * design), design.T @ (w * y))
        np.testing.assert_allclose([fit.slope, fit.intercept], solved, rtol=1e-8)
        expected_cov = np.linalg.inv(design.T @ (w[:, None] * design)) * fit.sigma**2
    else:
        assert fit.intercept == 0.0
        assert fit.slope == pytest.approx(np.sum(w * x * y) / np.sum(w * x * x), rel=1e-8)
        expected_cov = np.array([[fit.sigma**2 / np.sum(w * x * x)]])
    np.testing.assert_allclose(fit.covariance, expected_cov, rtol=1e-6)


@pytest.mark.parametrize("affine", [True, False])
def test_irls_does_not_depend_on_the_units_of_sigma(affine):
    x, y, sigma = noisy_line(intercept=0.3 if affine else 0.0)
    one, ten = robust_line(x, y, sigma, affine), robust_line(x, y, 1000 * sigma, affine)  # small normal equations
    assert one.slope == pytest.approx(ten.slope, rel=1e-9) and one.intercept == pytest.approx(ten.intercept, rel=1e-9)
    assert ten.sigma == pytest.approx(one.sigma / 1000, rel=1e-9)
    np.testing.assert_allclose(ten.covariance, one.covariance, rtol=1e-9)
    np.testing.assert_allclose(ten.weights, one.weights, atol=1e-9)


def test_a_start_at_the_solution_is_done_in_one_iteration():
    x, y, sigma = noisy_line()
    fit = robust_line(x, y, sigma, True)
    again = robust_line(x, y, sigma, True, start=(fit.slope, fit.intercept))
    assert again.iterations == 1
    assert again.slope == pytest.approx(fit.slope, rel=1e-9)


def test_iterations_cap_the_loop_and_zero_iterations_return_the_start():
    x, y, sigma = noisy_line()
    assert robust_line(x, y, sigma, True, tolerance=0.0).iterations == 30  # the default cap
    assert robust_line(x, y, sigma, True, tolerance=0.0, iterations=4).iterations == 4
    for affine, shape in ((True, (2, 2)), (False, (1, 1))):
        fit = robust_line(x, y, sigma, affine, start=(0.5, 0.25 if affine else 0.0), iterations=0)
        assert (fit.slope, fit.intercept, fit.iterations, fit.sigma) == (0.5, 0.25 if affine else 0.0, 0, 1e-9)
        assert fit.covariance.shape == shape and np.isnan(fit.covariance).all()
        assert fit.weights.shape == x.shape and (fit.weights == 1.0).all()


def test_without_rescale_the_spread_is_measured_once_at_the_start():
    x, y, sigma = noisy_line()
    start = (0.7, 0.5)
    fit = robust_line(x, y, sigma, True, start=start, rescale=False)
    residual = (start[0] * x + start[1] - y) / sigma
    assert fit.sigma == pytest.approx(MAD_TO_STD * np.median(np.abs(residual - np.median(residual))), rel=1e-9)
    assert robust_line(x, y, sigma, True, start=start).sigma != pytest.approx(fit.sigma, rel=1e-3)


def test_x_far_from_zero_stays_well_conditioned():
    x = 1e6 + np.linspace(0.0, 1.0, 50)
    y = 2.0 * x + 3.0
    fit = robust_line(x, y, np.ones_like(y), True)
    assert fit.slope == pytest.approx(2.0, rel=1e-9)
    assert fit.slope * 1e6 + fit.intercept == pytest.approx(2e6 + 3.0, rel=1e-12)


def test_tolerance_zero_stops_at_an_exact_fixed_point():
    """y = 2 x exactly: from the answer the slope-only solve returns exactly 2, which converges even at tolerance 0."""
    x = np.arange(1.0, 21.0)
    fit = robust_line(x, 2 * x, np.ones(20), False, start=(2.0, 0.0), tolerance=0.0)
    assert (fit.slope, fit.intercept, fit.iterations) == (2.0, 0.0, 1)
