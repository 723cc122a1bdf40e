"""THE head equation (core.head) against its definition, pixel by pixel, in numpy and in torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from depth_anything_ros.core.head import (
    OUTPUT_KINDS,
    MetricHead,
    depth_from_raw,
    disparity_from_raw,
    is_inverse,
    metres_from_raw,
)


def by_definition(affine: float, relative: bool, min_depth: float, max_depth: float) -> float:
    """REP 117 depth of one pixel, written from the README's words."""
    if (relative and affine < 0) or (not relative and affine <= 0):
        return np.nan
    depth = np.inf if (relative and affine == 0) else (1 / affine if relative else affine)
    return -np.inf if depth < min_depth else np.inf if depth > max_depth else depth


RAW = np.array([-1.0, -0.25, 0.0, 0.05, 0.25, 0.5, 1.0, 2.0, 10.0, 400.0])


@pytest.mark.parametrize("relative", [False, True])
@pytest.mark.parametrize(("scale", "shift", "min_depth", "max_depth"),
                         [(1.0, 0.0, 0.1, 80.0), (2.0, -0.5, 0.5, 3.0), (-1.0, 1.0, 0.0, np.inf)])
def test_numpy_and_torch_equal_the_definition(relative, scale, shift, min_depth, max_depth):
    expected = [by_definition(r * scale + shift, relative, min_depth, max_depth) for r in RAW]
    numpy_depth = metres_from_raw(RAW, scale, shift, min_depth, max_depth, relative)
    head = torch.tensor([scale, shift, min_depth, max_depth], dtype=torch.float64)  # as the graph's head input
    torch_depth = metres_from_raw(torch.tensor(RAW), head[0], head[1], head[2], head[3], relative, xp=torch).numpy()
    np.testing.assert_array_equal(numpy_depth, expected)
    np.testing.assert_array_equal(torch_depth, expected)


def test_depth_from_raw_has_no_range_limits():
    depth = depth_from_raw(RAW, 1.0, 0.0, "relative")
    np.testing.assert_array_equal(depth, [np.nan, np.nan, np.inf, 20.0, 4.0, 2.0, 1.0, 0.5, 0.1, 0.0025])
    np.testing.assert_array_equal(depth_from_raw(RAW, 2.0, 0.0, "metric")[3:], 2 * RAW[3:])


def test_disparity_from_raw():
    np.testing.assert_array_equal(disparity_from_raw(RAW, "relative"), RAW)
    np.testing.assert_array_equal(disparity_from_raw(RAW, "metric")[:3], [np.nan] * 3)
    assert disparity_from_raw(RAW, "metric")[6] == 1.0
    clamped = disparity_from_raw(torch.tensor(RAW), "metric", floor=0.1, xp=torch)
    assert torch.isfinite(clamped).all() and clamped[0] == 10.0 and clamped[8] == pytest.approx(0.1)


def test_depth_exactly_at_a_limit_is_valid_and_just_outside_is_an_infinity():
    """REP 117 range is inclusive: min_depth and max_depth themselves are measurements."""
    raw = np.array([0.5, 0.4999, 8.0, 8.0001])
    np.testing.assert_array_equal(metres_from_raw(raw, 1.0, 0.0, 0.5, 8.0, relative=False),
                                  [0.5, -np.inf, 8.0, np.inf])
    disparity = np.array([2.0, 2.0001, 0.125, 0.1249])  # 1 / raw: 0.5, below 0.5, 8, beyond 8
    depth = metres_from_raw(disparity, 1.0, 0.0, 0.5, 8.0, relative=True)
    np.testing.assert_array_equal(depth, [0.5, -np.inf, 8.0, np.inf])


@pytest.mark.parametrize("relative", [False, True])
def test_invalid_and_zero_pixels_raise_no_numpy_warnings(relative):
    """The node runs the numpy head on every frame: zero and negative raw must not flood the log with warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        depth = metres_from_raw(np.array([-1.0, 0.0, np.nan, 2.0]), 1.0, 0.0, 0.1, 80.0, relative)
        disparity = disparity_from_raw(np.array([-1.0, 0.0, np.nan, 2.0]), "metric")
    # zero disparity is too far (+Inf); zero metric depth is invalid (NaN); NaN raw stays NaN
    np.testing.assert_array_equal(depth, [np.nan, np.inf, np.nan, 0.5] if relative else [np.nan, np.nan, np.nan, 2.0])
    np.testing.assert_array_equal(disparity, [np.nan, np.nan, np.nan, 0.5])


def test_depth_from_raw_is_float64_whatever_the_raw_type():
    raw = np.array([3.0, 7.0], np.float32)
    depth = depth_from_raw(raw, 1.0, 0.0, "relative")
    assert depth.dtype == np.float64
    np.testing.assert_array_equal(depth, [1 / 3, 1 / 7])  # float32 arithmetic would round 1/3 differently


def test_disparity_inverts_depth_in_numpy_and_torch():
    raw = np.array([-2.0, 0.0, 0.5, 2.0, 4.0])
    np.testing.assert_array_equal(disparity_from_raw(raw, "relative-depth"), [np.nan, np.nan, 2.0, 0.5, 0.25])
    in_torch = disparity_from_raw(torch.tensor(raw), "metric", xp=torch).numpy()
    np.testing.assert_array_equal(in_torch, [np.nan, np.nan, 2.0, 0.5, 0.25])
    floored = disparity_from_raw(torch.tensor(raw), "relative-depth", floor=0.5, xp=torch).numpy()
    np.testing.assert_array_equal(floored, [2.0, 2.0, 2.0, 0.5, 0.25])


def test_unknown_output_kind_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"output kind must be one of metric, relative, relative-depth, got 'disp'"):
        is_inverse("disp")
    assert [is_inverse(kind) for kind in OUTPUT_KINDS] == [False, True, False]


def test_metric_head_limits_and_messages():
    assert MetricHead(1.0, 0.0, 0.0, 1.0).min_depth == 0.0  # min_depth 0 (no lower limit) is allowed
    with pytest.raises(ValueError, match=r"need 0 <= min_depth < max_depth, got 5.0 and 5.0"):
        MetricHead(1.0, 0.0, 5.0, 5.0)
    with pytest.raises(ValueError, match=r"need 0 <= min_depth < max_depth, got -0.5 and inf"):
        MetricHead(1.0, 0.0, -0.5)
    with pytest.raises(ValueError, match=r"^metric head scale must be non-zero$"):
        MetricHead(0.0, 1.0)
    for bad in ({"scale": np.nan}, {"shift": np.inf}, {"min_depth": np.nan}):
        with pytest.raises(ValueError, match=r"scale, shift and min_depth must be finite, got MetricHead\("):
            MetricHead(**bad)


def test_head_array_is_the_float32_graph_input():
    head = MetricHead(0.5, -0.25, 0.2, np.inf).as_array()
    assert head.dtype == np.float32 and head.shape == (4,)
    np.testing.assert_array_equal(head, np.array([0.5, -0.25, 0.2, np.inf], np.float32))
