"""THE head equation (core.head) against its definition, pixel by pixel, in numpy and in torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_anything_ros.core.head import depth_from_raw, disparity_from_raw, metres_from_raw


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
