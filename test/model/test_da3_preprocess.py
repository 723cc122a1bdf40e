"""DA3's official resize rules, intrinsics, normalisation, metric scaling and sky handling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from depth_anything_ros.model import EncoderSpec
from depth_anything_ros.model.da3.preprocess import (
    MEAN,
    STD,
    da3_input_size,
    da3_preprocess,
    da3_resize_steps,
    metric_depth,
    sky_to_infinity,
)
from depth_anything_ros.model.da3.spec import DA3_SPECS, Da3Spec, da3_spec, tiny_da3_spec


@pytest.mark.parametrize(("hw", "steps"), [
    ((375, 1242), ((152, 504), (154, 504))),  # KITTI: AREA down, then CUBIC up to a multiple of 14
    ((900, 1600), ((284, 504), (280, 504))),  # nuScenes: AREA twice
    ((224, 224), ((504, 504), (504, 504))),  # upscaled, already a multiple of 14
    ((373, 1008), ((186, 504), (182, 504))),  # 186.5 rounds half to even, as Python's round
    ((161, 504), ((161, 504), (168, 504))),  # longest side already 504: no first resize; 161 ties up
])
def test_resize_steps_follow_the_official_processor(hw, steps):
    assert da3_resize_steps(*hw) == steps
    assert da3_input_size(*hw) == steps[1]


def test_preprocess_converts_bgr_normalises_and_scales_intrinsics():
    blue = np.zeros((375, 1242, 3), np.uint8)
    blue[..., 0] = 255
    k = np.array([[721.5377, 0, 609.5593], [0, 721.5377, 172.854], [0, 0, 1]])
    x, k2 = da3_preprocess(blue, k)
    assert x.shape == (1, 3, 154, 504) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 77, 250], (np.array([0, 0, 1], np.float32) - MEAN) / STD, rtol=1e-6)
    np.testing.assert_allclose(k2[0], k[0] * 504 / 1242)
    np.testing.assert_allclose(k2[1], k[1] * 154 / 375)
    assert da3_preprocess(blue)[1] is None
    with pytest.raises(ValueError, match="HxWx3 uint8 BGR"):
        da3_preprocess(blue.astype(np.float32))


def test_metric_depth_uses_the_mean_focal_over_300():
    out = torch.tensor([[2.0, 3.0]])
    torch.testing.assert_close(metric_depth(out, 600.0, 900.0), torch.tensor([[5.0, 7.5]]))
    torch.testing.assert_close(metric_depth(out, torch.tensor(300.0), torch.tensor(300.0)), out)


def test_sky_becomes_positive_infinity():
    depth = torch.tensor([1.0, 2.0, 3.0])
    result = sky_to_infinity(depth, torch.tensor([0.0, 0.29, 0.3]))
    assert result[:2].tolist() == [1.0, 2.0] and math.isinf(result[2]) and result[2] > 0


def test_variant_table_matches_the_official_configs():
    small, base = da3_spec("DA3-SMALL"), da3_spec("da3-base")
    metric, mono = da3_spec("da3metric-large"), da3_spec("da3mono-large")
    assert small.taps == base.taps == (5, 7, 9, 11) and metric.taps == mono.taps == (4, 11, 17, 23)
    assert (small.head_dim_in, base.head_dim_in, metric.head_dim_in) == (768, 1536, 1024)
    assert small.any_view and small.cat_token and (small.alt_start, small.rope_start, small.qknorm_start) == (4, 4, 4)
    assert not metric.any_view and metric.has_sky and metric.metric and not mono.metric and not small.has_sky
    assert {n: s.licence for n, s in DA3_SPECS.items()} == {  # official README's weight licences
        "da3-small": "Apache-2.0", "da3-base": "Apache-2.0", "da3-large": "CC-BY-NC-4.0",
        "da3-giant": "CC-BY-NC-4.0", "da3mono-large": "Apache-2.0", "da3metric-large": "Apache-2.0"}
    with pytest.raises(ValueError, match="unknown Depth Anything 3 model 'da3-huge'"):
        da3_spec("da3-huge")
    with pytest.raises(ValueError, match="tiny DA3 kind"):
        tiny_da3_spec("big")
    with pytest.raises(ValueError, match="any-view models"):
        Da3Spec("bad", EncoderSpec("t", 32, 4, 2), (0, 1, 2, 3), "dpt", 16, (8, 16, 32, 32), alt_start=2)
    for taps in ((0, 1, 2, 4), (0, 2, 1, 3)):
        with pytest.raises(ValueError, match="taps"):
            Da3Spec("bad", EncoderSpec("t", 32, 4, 2), taps, "dpt", 16, (8, 16, 32, 32))
