"""The fused graphs' post-processing with networks of known output: upsampling, focal scaling, sky, head, range.

The networks here return fixed maps, so every published value can be written down from the equations:
bilinear with align_corners=True back to camera size (written out in numpy below), DA3's metric scaling
``depth * (fx + fy) / 2 / 300``, sky score >= 0.3 -> +Inf, then THE head with its REP 117 limits.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_anything_ros.core.head import metres_from_raw
from depth_anything_ros.model.da3.fused import Da3FusedModel
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.preprocess import metric_depth, sky_to_infinity
from depth_anything_ros.model.da3.spec import tiny_da3_spec
from depth_anything_ros.model.v2.dpt import upsample
from depth_anything_ros.model.v2.fused import FusedDepthModel, Postprocess
from depth_anything_ros.model.v2.network import DepthAnything

from conftest import tiny_spec


def bilinear_align_corners(values: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """(h, w) -> out_hw, float64: output pixel i samples input position i * (n_in - 1) / (n_out - 1)."""
    def axis(n_in: int, n_out: int) -> np.ndarray:
        position = np.arange(n_out) * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        low = np.minimum(np.floor(position).astype(int), n_in - 1)
        high = np.minimum(low + 1, n_in - 1)
        weights = np.zeros((n_out, n_in))
        np.add.at(weights, (np.arange(n_out), low), 1 - (position - low))
        np.add.at(weights, (np.arange(n_out), high), position - low)
        return weights

    return axis(values.shape[0], out_hw[0]) @ values.astype(np.float64) @ axis(values.shape[1], out_hw[1]).T


NET = np.array([[0.5, 1.0, 2.0, 4.0], [1.0, 0.25, 3.0, 0.0], [2.0, 6.0, 0.125, 8.0]], np.float32)


def test_metric_scaling_uses_the_mean_focal_over_300():
    output = torch.tensor([[1.0, 2.5]])
    np.testing.assert_allclose(metric_depth(output, 300.0, 600.0).numpy(), [[1.5, 3.75]])  # (300 + 600) / 2 / 300
    np.testing.assert_allclose(metric_depth(output, torch.tensor(150.0), torch.tensor(150.0)).numpy(), [[0.5, 1.25]])


def test_sky_from_score_0_3_up_is_infinity():
    depth = torch.tensor([1.0, 2.0, 3.0, 4.0])
    sky = torch.tensor([0.0, 0.2999, 0.3, 1.0])
    np.testing.assert_array_equal(sky_to_infinity(depth, sky).numpy(), [1.0, 2.0, np.inf, np.inf])
    np.testing.assert_array_equal(sky_to_infinity(depth, sky, threshold=0.1).numpy(), [1.0, np.inf, np.inf, np.inf])


def test_upsample_is_bilinear_with_align_corners():
    out = upsample(torch.from_numpy(NET)[None, None], (7, 10))[0, 0].numpy()
    np.testing.assert_allclose(out, bilinear_align_corners(NET, (7, 10)), rtol=1e-6, atol=1e-7)
    assert out[0, 0] == NET[0, 0] and out[-1, -1] == NET[-1, -1] and out[6, 0] == NET[2, 0]  # corners kept


@pytest.mark.parametrize("relative", [False, True])
def test_v2_postprocess_upsamples_then_applies_the_head(relative):
    post = Postprocess((7, 10), relative)
    head = torch.tensor([2.0, -0.5, 1.0, 6.0])
    raw, depth = post(torch.from_numpy(NET)[None], head)
    expected_raw = bilinear_align_corners(NET, (7, 10))
    assert raw.shape == depth.shape == (7, 10)
    np.testing.assert_allclose(raw.numpy(), expected_raw, rtol=1e-6, atol=1e-7)
    expected = metres_from_raw(raw.numpy().astype(np.float64), 2.0, -0.5, 1.0, 6.0, relative)
    np.testing.assert_allclose(depth.numpy(), expected, rtol=1e-6)
    # the head's special values all occur here: NaN invalid, -Inf too close, +Inf too far
    assert np.isnan(expected).any() and np.isneginf(expected).any() and np.isposinf(expected).any()


def test_v2_postprocess_at_network_size_is_the_network_output():
    raw, depth = Postprocess((3, 4), relative=False)(torch.from_numpy(NET)[None], torch.tensor([1.0, 0.0, 0.3, 5.0]))
    np.testing.assert_array_equal(raw.numpy(), NET)
    np.testing.assert_array_equal(depth.numpy()[0], [0.5, 1.0, 2.0, 4.0])
    np.testing.assert_array_equal(depth.numpy()[1], [1.0, -np.inf, 3.0, np.nan])  # 0.25 < 0.3; 0 is invalid
    np.testing.assert_array_equal(depth.numpy()[2], [2.0, np.inf, -np.inf, np.inf])


class FixedV2(DepthAnything):
    """A V2 network (tiny architecture) whose output is a fixed map; records the input it was given."""

    def __init__(self, kind: str, out: np.ndarray) -> None:
        super().__init__(tiny_spec(kind, max_depth=20.0))
        self.out = torch.from_numpy(out)
        self.seen: list[torch.Tensor] = []
        self.pos_embeds: list[torch.Tensor | None] = []

    def forward(self, x: torch.Tensor, pos_embed: torch.Tensor | None = None) -> torch.Tensor:
        self.seen.append(x)
        self.pos_embeds.append(pos_embed)
        return self.out.to(x.dtype).expand(x.shape[0], *self.out.shape).clone()


@pytest.mark.parametrize("kind", ["relative", "metric"])
def test_v2_graph_publishes_the_upsampled_network_output_through_the_head(kind):
    fused = FusedDepthModel(FixedV2(kind, NET), (9, 12), input_order="bgr").eval()
    image = torch.full((9, 12, 3), 128, dtype=torch.uint8)
    with torch.no_grad():
        raw, depth = fused(image, torch.tensor([1.5, 0.25, 0.5, 5.0]))
    net_in = fused.model.seen[0]
    assert net_in.dtype == torch.float32 and net_in.shape == (1, 3, *fused.net_hw)
    assert fused.model.pos_embeds[0] is fused.pos_embed  # the folded constant: no interpolation in the graph
    assert raw.dtype == depth.dtype == torch.float32 and raw.shape == (9, 12)
    np.testing.assert_allclose(raw.numpy(), bilinear_align_corners(NET, (9, 12)), rtol=1e-6, atol=1e-7)
    expected = metres_from_raw(raw.numpy().astype(np.float64), 1.5, 0.25, 0.5, 5.0, kind == "relative")
    np.testing.assert_allclose(depth.numpy(), expected, rtol=1e-6)


def test_v2_half_network_gets_float16_and_the_graph_still_publishes_float32():
    fused = FusedDepthModel(FixedV2("metric", NET), (9, 12)).eval().half_network()
    with torch.no_grad():
        raw, depth = fused(torch.zeros((9, 12, 3), dtype=torch.uint8), torch.tensor([1.0, 0.0, 0.1, 10.0]))
    assert fused.model.seen[0].dtype == torch.float16
    assert raw.dtype == depth.dtype == torch.float32
    np.testing.assert_allclose(raw.numpy(), bilinear_align_corners(NET, (9, 12)), rtol=1e-3)


def test_v2_graph_refuses_another_image_size_naming_both():
    fused = FusedDepthModel(FixedV2("metric", NET), (9, 12))
    with pytest.raises(ValueError, match=r"^expected a 9x12x3 image, got \(12, 9, 3\)$"):
        fused(torch.zeros((12, 9, 3), dtype=torch.uint8), torch.tensor([1.0, 0.0, 0.1, 10.0]))


DA3_NET_HW = (14, 28)  # a 28x56 camera image is resized to 252x504, not 14x28: the fixed network ignores that
DEPTH = (1.0 + np.arange(DA3_NET_HW[0] * DA3_NET_HW[1], dtype=np.float32).reshape(DA3_NET_HW) / 50).astype(np.float32)


class FixedDa3(Da3Model):
    """A tiny DA3 network whose depth (and sky score, for mono/metric) are fixed maps."""

    def __init__(self, kind: str, sky: np.ndarray | None) -> None:
        super().__init__(tiny_da3_spec(kind))
        self.out = {"depth": torch.from_numpy(DEPTH)}
        if sky is not None:
            self.out["sky"] = torch.from_numpy(sky.astype(np.float32))
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor, pos_embed: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        self.seen.append(x)
        return {name: value.to(x.dtype)[None].expand(x.shape[0], *value.shape).clone()
                for name, value in self.out.items()}


def run_da3(fused: Da3FusedModel, head=(1.0, 0.0, 0.0, np.inf), focal: float = 300.0):
    image = torch.zeros((*fused.image_hw, 3), dtype=torch.uint8)
    with torch.no_grad():
        raw, depth = fused(image, torch.tensor(head, dtype=torch.float32), torch.tensor([focal]))
    return raw.numpy(), depth.numpy()


def test_da3_metric_graph_scales_by_focal_then_upsamples_then_applies_the_head():
    fused = Da3FusedModel(FixedDa3("metric", np.zeros(DA3_NET_HW)), (28, 56), metric=True).eval()
    raw, depth = run_da3(fused, head=(2.0, -1.0, 3.0, 8.0), focal=450.0)  # metres = depth * 450 / 300
    expected_raw = bilinear_align_corners(DEPTH * 1.5, (28, 56))
    np.testing.assert_allclose(raw, expected_raw, rtol=1e-5)
    expected = metres_from_raw(raw.astype(np.float64), 2.0, -1.0, 3.0, 8.0, relative=False)  # linear head
    np.testing.assert_allclose(depth, expected, rtol=1e-6)
    assert np.isneginf(depth).any() and np.isposinf(depth).any() and np.isfinite(depth).any()


def test_da3_relative_graph_ignores_focal_and_keeps_the_network_depth():
    fused = Da3FusedModel(FixedDa3("any-view", None), (28, 56)).eval()
    assert not fused.metric
    for focal in (1.0, 900.0):
        raw, depth = run_da3(fused, focal=focal)
        np.testing.assert_allclose(raw, bilinear_align_corners(DEPTH, (28, 56)), rtol=1e-5)
        np.testing.assert_array_equal(depth, raw)


def test_da3_sky_score_at_the_threshold_is_infinity_below_it_depth():
    sky = np.zeros(DA3_NET_HW)
    sky[0, :] = 0.3  # exactly the official threshold: sky
    sky[1, :] = 0.29  # just below: ground
    fused = Da3FusedModel(FixedDa3("mono", sky), DA3_NET_HW, metric=True).eval()  # no resampling at this size
    raw, depth = run_da3(fused, focal=600.0)  # x2
    assert np.isposinf(raw[0]).all() and np.isposinf(depth[0]).all()
    np.testing.assert_allclose(raw[1:], DEPTH[1:] * 2.0, rtol=1e-6)
    np.testing.assert_array_equal(depth[1:], raw[1:])


def test_da3_sky_is_upsampled_before_the_threshold():
    sky = np.zeros(DA3_NET_HW)
    sky[:2] = 1.0  # network rows 0 and 1 are sky
    fused = Da3FusedModel(FixedDa3("mono", sky), (27, 28), metric=False).eval()  # rows only: 14 -> 27
    raw, _ = run_da3(fused)
    score = bilinear_align_corners(sky, (27, 28))[:, 0]  # camera row y samples network row y / 2
    assert np.isposinf(raw[score >= 0.3]).all() and np.isfinite(raw[score < 0.3]).all()
    np.testing.assert_array_equal(score[:5], [1.0, 1.0, 1.0, 0.5, 0.0])  # row 3 is half sky: still sky
    assert np.isposinf(raw[:4]).all() and np.isfinite(raw[4:]).all()


def test_da3_half_network_gets_float16_and_the_graph_still_publishes_float32():
    fused = Da3FusedModel(FixedDa3("metric", np.zeros(DA3_NET_HW)), DA3_NET_HW, metric=True).eval().half_network()
    raw, depth = run_da3(fused, focal=300.0)
    assert fused.model.seen[0].dtype == torch.float16
    assert raw.dtype == depth.dtype == np.float32
    np.testing.assert_allclose(raw, DEPTH, rtol=1e-3)
