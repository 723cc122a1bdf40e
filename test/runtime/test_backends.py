"""The one backend interface: input checks, errors, and onnxruntime == torch."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from depth_anything_ros.core.head import MetricHead
from depth_anything_ros.export import GraphInfo
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.runtime import DepthBackend, OnnxRuntimeBackend, TorchBackend


@pytest.fixture
def metric_graph(tmp_path, tiny_metric):
    export_graph(tiny_metric, (40, 56), tmp_path / "m.onnx", checkpoint_sha256="abc")
    return tmp_path / "m.onnx"


def test_backends_share_the_interface_and_agree(metric_graph, tiny_metric):
    image = np.random.default_rng(1).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    with OnnxRuntimeBackend(metric_graph) as fused, TorchBackend(tiny_metric, (40, 56)) as eager:
        assert isinstance(fused, DepthBackend) and isinstance(eager, DepthBackend)
        assert fused.info.kind == eager.info.kind == "metric"
        assert fused.info.default_head() == MetricHead(1.0, 0.0, 0.1, 20.0)
        a, b = fused.infer(image), eager.infer(image)
    np.testing.assert_allclose(a.raw, b.raw, rtol=1e-4)
    np.testing.assert_allclose(a.depth, b.depth, rtol=1e-4)
    assert np.isfinite(a.depth).all()  # an uncalibrated metric head keeps the model's own range


def test_calibrated_head_is_an_input_not_a_rebuild(metric_graph):
    image = np.full((40, 56, 3), 90, np.uint8)
    with OnnxRuntimeBackend(metric_graph) as backend:
        base = backend.infer(image, MetricHead(1.0, 0.0, 0.0, 100.0))
        scaled = backend.infer(image, MetricHead(1.1, 0.5, 0.0, 100.0))
    np.testing.assert_allclose(scaled.depth, base.raw * 1.1 + 0.5, rtol=1e-5)
    np.testing.assert_array_equal(scaled.raw, base.raw)


@pytest.mark.parametrize(("image", "message"), [
    (np.zeros((40, 56, 3), np.float32), "expected a uint8 image"),
    (np.zeros((56, 40, 3), np.uint8), "serves 40x56x3 images, got 56x40x3"),
    (np.zeros((40, 56), np.uint8), "got 40x56"),
])
def test_bad_images_are_refused(metric_graph, image, message):
    with OnnxRuntimeBackend(metric_graph) as backend, pytest.raises(ValueError, match=message):
        backend.infer(image)


def test_non_fused_onnx_and_missing_files_are_refused(tmp_path):
    node = onnx.helper.make_node("Identity", ["x"], ["y"])
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    graph = onnx.helper.make_graph([node], "g", [x], [y])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="not a depth_anything_ros fused graph"):
        OnnxRuntimeBackend(tmp_path / "x.onnx")
    with pytest.raises(FileNotFoundError):
        OnnxRuntimeBackend(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="onnxruntime cannot load"):
        OnnxRuntimeBackend(tmp_path / "junk.onnx")


def test_graph_info_round_trip_and_bad_json():
    info = GraphInfo(375, 1242, "bgr", 518, 1722, "vits", 2, "relative", None, "x")
    assert GraphInfo.from_json(info.to_json()) == info
    assert info.default_head() == MetricHead()
    with pytest.raises(ValueError, match="not a depth_anything_ros GraphInfo"):
        GraphInfo.from_json('{"foo": 1}')


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_available(), reason="no CUDA GPU here")
def test_torch_backend_on_cuda_matches_cpu_in_fp32_and_fp16(tiny_metric):  # pragma: no cover - needs a GPU
    image = np.random.default_rng(3).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    with TorchBackend(tiny_metric, (40, 56), device="cpu") as cpu:
        expected = cpu.infer(image).raw
    with TorchBackend(tiny_metric, (40, 56), device="cuda") as gpu:
        assert gpu.device.type == "cuda"
        np.testing.assert_allclose(gpu.infer(image).raw, expected, rtol=1e-3, atol=1e-4)
    with TorchBackend(tiny_metric, (40, 56), device="cuda", half=True) as half:
        error = np.abs(half.infer(image).raw - expected).max() / np.ptp(expected)
    assert error < 2e-2


def test_infer_bgr_reorders_for_rgb_graphs(tmp_path, tiny_metric, metric_graph):
    export_graph(tiny_metric, (40, 56), tmp_path / "rgb.onnx", input_order="rgb")
    bgr = np.random.default_rng(3).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    with OnnxRuntimeBackend(metric_graph) as bgr_graph, OnnxRuntimeBackend(tmp_path / "rgb.onnx") as rgb_graph:
        expected = bgr_graph.infer_bgr(bgr).raw
        np.testing.assert_allclose(rgb_graph.infer_bgr(bgr).raw, expected, rtol=1e-5)
        assert not np.allclose(rgb_graph.infer(bgr).raw, expected, rtol=1e-5)  # the swap is what makes them equal
