"""Our DA3 networks export to ONNX (as the fused graph will need) and run the same on onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from depth_anything_ros.model.da3.tiny import tiny_da3_model


class _Outputs(torch.nn.Module):
    """Tuple outputs, the positional embedding folded for one input size (as the V2 fused graph does)."""

    def __init__(self, model: torch.nn.Module, grid: tuple[int, int]) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("pos_embed", model.backbone.pretrained.pos_embed_for(*grid).detach())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.model(x, self.pos_embed).values())


@pytest.mark.parametrize("kind", ["any-view", "mono"])
def test_tiny_da3_exports_and_matches_on_onnxruntime(kind, tmp_path):
    model = _Outputs(tiny_da3_model(kind), (11, 36)).eval()
    x = torch.randn(1, 3, 154, 504, generator=torch.Generator().manual_seed(0))
    torch.onnx.export(model, (x,), str(tmp_path / "da3.onnx"), opset_version=17, dynamo=False)
    session = ort.InferenceSession(str(tmp_path / "da3.onnx"), providers=["CPUExecutionProvider"])
    actual = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected = [t.numpy() for t in model(x)]
    assert len(actual) == 2
    for a, e in zip(actual, expected, strict=True):
        assert a.shape == e.shape == (1, 154, 504)
        assert np.abs(a - e).max() <= 1e-4 * (e.max() - e.min())
