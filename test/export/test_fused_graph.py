"""The fused ONNX graph against the torch path: raw, metric head and REP 117 special values."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from depth_anything_ros.core.head import MetricHead, metres_from_raw
from depth_anything_ros.export import GraphInfo, read_graph_info
from depth_anything_ros.export.graph_info import METADATA_KEY
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model import check_image_size
from depth_anything_ros.model.v2.fused import FusedDepthModel
from depth_anything_ros.runtime import OnnxRuntimeBackend, TorchBackend


def random_image(hw, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (max(hw[0] // 8, 1), max(hw[1] // 8, 1), 3), dtype=np.uint8)
    import cv2

    return np.ascontiguousarray(cv2.resize(base, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR))


def heads_with_every_special_value(raw: np.ndarray, relative: bool) -> MetricHead:
    """A head that makes some pixels invalid, some too close and some too far."""
    q10, q40, q70 = np.quantile(raw, [0.1, 0.4, 0.7])
    if relative:  # depth = 1 / (raw - q10): negative below q10, largest just above it
        return MetricHead(1.0, -float(q10), 1 / float(q70 - q10), 1 / float(q40 - q10))
    return MetricHead(1.0, -float(q10), float(q40 - q10), float(q70 - q10))


@pytest.mark.parametrize("kind", ["relative", "metric"])
@pytest.mark.parametrize("hw", [(31, 45), (64, 48)])
def test_onnx_equals_torch_on_raw_and_depth_with_special_values(kind, hw, tmp_path, tiny_relative, tiny_metric):
    model = tiny_relative if kind == "relative" else tiny_metric
    image = random_image(hw, seed=hw[0])
    export_graph(model, hw, tmp_path / "g.onnx")
    with OnnxRuntimeBackend(tmp_path / "g.onnx") as onnx_backend, TorchBackend(model, hw) as torch_backend:
        reference = torch_backend.infer(image)
        head = heads_with_every_special_value(reference.raw, kind == "relative")
        fused, eager = onnx_backend.infer(image, head), torch_backend.infer(image, head)
    assert fused.raw.shape == hw and fused.depth.shape == hw
    np.testing.assert_allclose(fused.raw, eager.raw, rtol=1e-4, atol=1e-6)
    expected = metres_from_raw(eager.raw.astype(np.float64), head.scale, head.shift, head.min_depth, head.max_depth,
                               kind == "relative")  # THE head equation the graph must equal
    for depth in (eager.depth, fused.depth):
        assert np.isnan(depth).any() and np.isneginf(depth).any() and np.isposinf(depth).any()
        near_edge = np.isclose(eager.raw, np.quantile(eager.raw, [0.1, 0.4, 0.7])[:, None, None], rtol=1e-4).any(0)
        same = np.isclose(depth, expected, rtol=1e-4, equal_nan=True) | (depth == expected) | near_edge
        assert same.all()


def test_relative_zero_disparity_is_too_far_not_invalid(tiny_relative):
    fused = FusedDepthModel(tiny_relative, (2, 2)).eval()
    raw = torch.tensor([[[0.5, 1.0], [0.4, 2.5]]])
    _, depth = fused.postprocess(raw, torch.tensor([1.0, -0.5, 0.1, 100.0]))
    assert torch.isposinf(depth[0, 0]) and depth[0, 1] == pytest.approx(2.0)
    assert torch.isnan(depth[1, 0]) and depth[1, 1] == pytest.approx(0.5)


def test_camera_size_is_kept_for_large_odd_resolution(tmp_path, tiny_metric):
    info = export_graph(tiny_metric, (375, 1242), tmp_path / "kitti.onnx", input_order="rgb")
    assert (info.network_height, info.network_width) == (518, 1722)
    graph = onnx.load(str(tmp_path / "kitti.onnx"))
    inputs = {i.name: i for i in graph.graph.input}
    assert [d.dim_value for d in inputs["image"].type.tensor_type.shape.dim] == [375, 1242, 3]
    assert inputs["image"].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert [d.dim_value for d in inputs["head"].type.tensor_type.shape.dim] == [4]
    assert [o.name for o in graph.graph.output] == ["raw", "depth"]
    ops = {n.op_type for n in graph.graph.node}
    assert "Resize" in ops  # the camera-to-network resize lives inside the graph
    stored = GraphInfo.from_json({p.key: p.value for p in graph.metadata_props}[METADATA_KEY])
    assert stored == info == read_graph_info(tmp_path / "kitti.onnx")


def test_rgb_graph_on_rgb_equals_bgr_graph_on_bgr(tmp_path, tiny_relative):
    image = random_image((30, 40), seed=5)
    export_graph(tiny_relative, (30, 40), tmp_path / "rgb.onnx", input_order="rgb")
    export_graph(tiny_relative, (30, 40), tmp_path / "bgr.onnx", input_order="bgr")
    with OnnxRuntimeBackend(tmp_path / "rgb.onnx") as rgb, OnnxRuntimeBackend(tmp_path / "bgr.onnx") as bgr:
        np.testing.assert_allclose(rgb.infer(image[..., ::-1]).raw, bgr.infer(image).raw, rtol=1e-5)
        assert not np.allclose(rgb.infer(image).raw, bgr.infer(image).raw, rtol=1e-5)


@pytest.mark.parametrize("hw", [(1, 1), (1, 640), (480, 1), (0, 5)])
def test_degenerate_camera_sizes_are_refused(hw):
    with pytest.raises(ValueError, match="too small"):
        check_image_size(*hw)


def test_metric_head_validation():
    with pytest.raises(ValueError, match="min_depth < max_depth"):
        MetricHead(1.0, 0.0, 5.0, 1.0)
    with pytest.raises(ValueError, match="non-zero"):
        MetricHead(0.0, 0.0)
    assert MetricHead(2.0, 1.0, 0.5, 10.0).as_array().tolist() == [2.0, 1.0, 0.5, 10.0]
