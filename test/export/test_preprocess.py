"""The official lower-bound resize rule and normalisation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from depth_anything_ros.model.v2.preprocess import network_input_size, prepare_input


@pytest.mark.parametrize(("hw", "expected"), [
    ((480, 640), (518, 686)), ((375, 1242), (518, 1722)), ((1080, 1920), (518, 924)),
    ((640, 480), (686, 518)), ((100, 100), (518, 518)), ((720, 1280), (518, 924)),
    ((518, 518), (518, 518)), ((2, 3), (518, 784)),
])
def test_resize_rule(hw, expected):
    assert network_input_size(*hw) == expected


def test_resize_rule_with_another_input_size():
    assert network_input_size(480, 640, 364) == (364, 490)


@pytest.mark.parametrize("bad", [(0, 10), (10, 0), (-1, 5)])
def test_non_positive_sizes_are_refused(bad):
    with pytest.raises(ValueError, match="must be positive"):
        network_input_size(*bad)


def test_input_size_must_be_multiple_of_14():
    with pytest.raises(ValueError, match="multiple of 14"):
        network_input_size(100, 100, 500)


def test_prepare_input_is_rgb_resized_then_imagenet_normalised():
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    x = prepare_input(bgr)
    assert x.shape == (1, 3, 518, 784) and x.dtype == np.float32
    rgb = cv2.resize(bgr[..., ::-1] / 255.0, (x.shape[3], x.shape[2]), interpolation=cv2.INTER_CUBIC)
    expected = (rgb[..., 0] - 0.485) / 0.229  # the red channel comes first
    np.testing.assert_allclose(x[0, 0], expected, rtol=1e-5, atol=1e-5)


def test_prepare_input_refuses_non_colour_images():
    with pytest.raises(ValueError, match="HxWx3"):
        prepare_input(np.zeros((10, 10), np.uint8))


@pytest.mark.parametrize("hw", [(480, 640), (1080, 1920), (375, 1242), (3, 5), (700, 300)])
def test_graph_preprocessing_equals_opencv_on_noise(hw):
    """Pure noise is the worst case for resize differences; up- and down-scaling both covered."""
    import torch

    from depth_anything_ros.model.v2.fused import Preprocess

    bgr = np.random.default_rng(hw[0]).integers(0, 256, (*hw, 3), dtype=np.uint8)
    graph = Preprocess(hw, network_input_size(*hw), "bgr")
    with torch.no_grad():
        ours = graph(torch.from_numpy(bgr)).numpy()
    np.testing.assert_allclose(ours, prepare_input(bgr), rtol=0, atol=1e-5)
