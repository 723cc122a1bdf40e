"""What the DA3 graph publishes at a sky edge (the project's choice, README "Depth Anything 3" section).

The official code replaces sky depth at network size by the 99th percentile of the non-sky depth, then (in its
benchmarks) resizes. Our graph upsamples the network's depth and sky score separately (bilinear,
align_corners=True) and marks camera pixels whose upsampled score is >= 0.3 as +Inf. So:

- pixels whose bilinear footprint holds no network-size sky pixel: the official value, exactly;
- sky pixels: +Inf (REP 117 "no return"), not a percentile distance;
- the edge pixels between (footprint touches sky, upsampled score < 0.3): a bilinear mix of the network's own
  depth on both sides, where the official mixes in the percentile fill instead.
"""

from __future__ import annotations

import numpy as np
import torch

from depth_anything_ros.model.da3.fused import Da3FusedModel
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import tiny_da3_spec

IMAGE_HW = (308, 1008)  # network input 154x504: the camera image is exactly twice the network size
NET_HW = (154, 504)
SKY_ROWS = 40  # network rows 0..39 are sky
GROUND, SKY_DEPTH = 5.0, 100.0


class SkyStepNetwork(Da3Model):
    """A mono DA3 network whose output is fixed: depth 5 below row 40 and 100 above, sky score 1 above."""

    def forward(self, x: torch.Tensor, pos_embed: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        assert tuple(x.shape[-2:]) == NET_HW
        sky = torch.zeros(x.shape[0], *NET_HW)
        sky[:, :SKY_ROWS] = 1.0
        return {"depth": torch.where(sky > 0, SKY_DEPTH, GROUND), "sky": sky}


def _rows(values: np.ndarray) -> np.ndarray:
    assert np.all(values == values[:, :1]) or np.all(np.isposinf(values) == np.isposinf(values[:, :1]))
    return values[:, 0]


def test_sky_edge_is_infinity_then_a_bilinear_mix_then_the_official_depth():
    fused = Da3FusedModel(SkyStepNetwork(tiny_da3_spec("mono")), IMAGE_HW).eval()
    image = torch.zeros((*IMAGE_HW, 3), dtype=torch.uint8)
    head = torch.tensor([1.0, 0.0, 0.0, 1e4])
    with torch.no_grad():
        raw, _ = fused(image, head, torch.ones(1))
    rows = _rows(raw.numpy())
    # camera row y samples network row y * 153 / 307 (align_corners=True); its weight on the sky rows:
    position = np.arange(IMAGE_HW[0]) * (NET_HW[0] - 1) / (IMAGE_HW[0] - 1)
    sky_weight = np.clip(SKY_ROWS - position, 0.0, 1.0)
    sky = sky_weight >= 0.3
    edge = (sky_weight > 0) & ~sky
    clear = sky_weight == 0
    assert sky.sum() > 70 and edge.sum() == 1 and clear.sum() > 200
    assert np.all(np.isposinf(rows[sky]))
    np.testing.assert_allclose(rows[edge], GROUND + (SKY_DEPTH - GROUND) * sky_weight[edge], rtol=1e-5)
    # the official fill (99th percentile of non-sky depth = 5 here) would give exactly 5 on the edge row too
    assert np.all(rows[edge] > GROUND)
    np.testing.assert_array_equal(rows[clear], np.float32(GROUND))
