"""Depth Anything 3 graphs in the node's pipeline (ROS-free): focal from camera_info K per frame, the
InputError without a calibrated camera, relative-depth output and its calibrations, the parameters a
DA3 graph reports. Tiny random DA3 networks of the official architecture on onnxruntime."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from depth_anything_ros.core import InputError
from depth_anything_ros.core.calibration_file import Calibration, load_calibration, save_calibration
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.head import metres_from_raw
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import tiny_da3_spec
from depth_anything_ros.node import DepthPipeline, PipelineConfig
from depth_anything_ros.node.pipeline import CALIBRATE_HINT_DA3, calibrate_hint
from depth_anything_ros.runtime import OnnxRuntimeBackend

H, W = 48, 64


@pytest.fixture(scope="module")
def da3_graphs(tmp_path_factory):
    root = tmp_path_factory.mktemp("da3")
    for kind, name in (("metric", "metric"), ("mono", "mono")):
        torch.manual_seed(3)  # the same weights: DA3METRIC-LARGE is DA3MONO-LARGE's network, metric-scaled
        export_graph(Da3Model(tiny_da3_spec(kind)), (H, W), root / f"{name}.onnx")
    torch.manual_seed(4)
    export_graph(Da3Model(tiny_da3_spec("any-view")), (H, W), root / "relative.onnx")
    return {"metric": root / "metric.onnx", "mono": root / "mono.onnx", "relative-depth": root / "relative.onnx"}


def pipeline(graph, **values) -> DepthPipeline:
    config = PipelineConfig(onnx=str(graph), backend="onnxruntime", **values)
    return DepthPipeline(config, lambda hw: OnnxRuntimeBackend(graph))


def frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def test_metric_depth_is_the_official_focal_scaling_of_each_frame(da3_graphs):
    """Each frame's metres are the official ``apply_metric_scaling`` of the network's depth: depth * focal / 300,
    the focal (mean of fx and fy) at the network input, then the head's range rule (REP 117 -Inf / +Inf)."""
    from depth_anything_ros.core.camera import focal_at_network

    bgr = frame()
    depth = pipeline(da3_graphs["mono"]).process(bgr, None).relative  # the same network's depth
    info = OnnxRuntimeBackend(da3_graphs["metric"]).info
    scale = {focal: float(focal_at_network(CameraModel.pinhole(W, H, focal).k, (H, W),
                                           (info.network_height, info.network_width))[0]) / 300.0
             for focal in (40.0, 80.0)}  # zoomed in: twice the focal, same graph
    finite = depth[np.isfinite(depth)]
    low, high = float(np.quantile(finite, 0.2) * scale[40.0]), float(np.quantile(finite, 0.8) * scale[80.0])
    pipe = pipeline(da3_graphs["metric"], min_depth=low, max_range=high)  # limits that some pixels cross
    limits = set()
    for focal, factor in scale.items():
        result = pipe.process(bgr, CameraModel.pinhole(W, H, focal))
        assert result.metric and result.relative is None and result.cloud is not None
        expected = metres_from_raw(depth * factor, 1.0, 0.0, low, high, relative=False)
        np.testing.assert_allclose(result.depth, expected, rtol=1e-5)  # every pixel, the -Inf and +Inf too
        assert not np.isnan(result.depth).any()
        limits |= set(result.depth[~np.isfinite(result.depth)].tolist())
    assert limits == {-np.inf, np.inf}  # near pixels at 40 px under min_depth, far ones at 80 px over max_range
    pipe.close()


def test_sky_is_infinite_in_depth_and_left_out_of_the_cloud(tmp_path):
    """A tiny metric network whose sky branch is shifted to call about half of this frame sky."""
    from depth_anything_ros.model.da3.fused import Da3FusedModel
    from depth_anything_ros.model.da3.preprocess import SKY_THRESHOLD
    from depth_anything_ros.model.v2.dpt import upsample

    torch.manual_seed(3)
    net = Da3Model(tiny_da3_spec("metric")).eval()
    bgr = frame(2)
    last = net.head.scratch.sky_output_conv2[-1]
    fused = Da3FusedModel(net, (H, W), "bgr").eval()
    with torch.no_grad():
        last.weight.mul_(1000.0)
        last.bias.zero_()
        sky = net(fused.preprocess(torch.from_numpy(bgr)), fused.pos_embed)["sky"]
        last.bias.fill_(SKY_THRESHOLD - float(sky.median()))
    export_graph(net, (H, W), tmp_path / "sky.onnx")
    with torch.no_grad():  # the shifted branch's score at camera size, as the graph upsamples it
        score = upsample(net(fused.preprocess(torch.from_numpy(bgr)), fused.pos_embed)["sky"][:, None], (H, W))
    expected = score[0, 0].numpy() >= SKY_THRESHOLD  # the pixels the official sky fill replaces
    assert 0 < expected.mean() < 1  # the shifted branch calls part of the frame sky
    pipe = pipeline(tmp_path / "sky.onnx", cloud_organized=False)
    result = pipe.process(bgr, CameraModel.pinhole(W, H, 40.0))
    np.testing.assert_array_equal(np.isposinf(result.depth), expected)
    assert result.cloud.width == np.isfinite(result.depth).sum()  # +Inf (sky) pixels have no point
    points = result.cloud.data.view(np.float32).reshape(-1, 4)
    assert np.isfinite(points[:, :3]).all()
    pipe.close()


def test_metric_graph_without_a_camera_is_an_input_error(da3_graphs):
    pipe = pipeline(da3_graphs["metric"])
    with pytest.raises(InputError, match="focal length") as error:
        pipe.process(frame(), None)
    assert error.value.kind == "intrinsics"
    assert pipe.process(frame(), CameraModel.pinhole(W, H, 50.0)).depth is not None  # still serving
    pipe.close()


def test_relative_depth_graph_publishes_relative_until_calibrated(da3_graphs, tmp_path, caplog):
    graph = da3_graphs["relative-depth"]
    pipe = pipeline(graph)
    bgr = frame(1)
    with caplog.at_level("WARNING"):
        result = pipe.process(bgr, None)  # no camera needed: depth up to scale ignores focal
    assert not result.metric and result.depth is None and result.relative.shape == (H, W)
    assert result.preview_kind == "relative-depth"  # the preview inverts depth up to scale (near warm)
    assert CALIBRATE_HINT_DA3 in caplog.text and "not inverse depth" in calibrate_hint("relative-depth")
    assert "inverse depth up to scale and shift" in calibrate_hint("relative")
    path = tmp_path / "cal.yaml"
    path.write_text("depth_anything_ros_calibration: 1\nmodel_kind: relative-depth\nscale: 2.5\nshift: 0.5\n")
    pipe.load_calibration(path)
    calibrated = pipe.process(bgr, None)
    assert calibrated.metric and calibrated.preview_kind == "metric"
    config = pipe.config  # linear head: DA3 relative output is depth, not inverse depth
    expected = metres_from_raw(result.relative, 2.5, 0.5, config.min_depth, config.max_range, relative=False)
    np.testing.assert_allclose(calibrated.depth, expected, rtol=1e-5)  # every pixel
    np.testing.assert_allclose(calibrated.depth, 2.5 * result.relative + 0.5, rtol=1e-5)  # all within the range
    pipe.close()


def test_calibrations_of_another_kind_are_refused(da3_graphs, tmp_path):
    inverse = save_calibration(tmp_path / "v2.yaml", Calibration("relative", 0.05, 0.01))
    linear = save_calibration(tmp_path / "da3.yaml", Calibration("relative-depth", 1.5, 0.0))
    assert load_calibration(linear).model_kind == "relative-depth"
    pipe = pipeline(da3_graphs["relative-depth"])
    pipe.process(frame(), None)
    with pytest.raises(ValueError, match="relative model, the graph is relative-depth"):
        pipe.load_calibration(inverse)
    pipe.close()
    with pytest.raises(ValueError, match="relative-depth model, the graph is relative"):
        load_calibration(linear).check_applies_to("relative", "")
    (tmp_path / "bad.yaml").write_text("depth_anything_ros_calibration: 1\nmodel_kind: disparity\nscale: 1\nshift: 0\n")
    with pytest.raises(ValueError, match="model_kind must be one of metric, relative, relative-depth"):
        load_calibration(tmp_path / "bad.yaml")


def test_parameters_report_the_da3_model_and_kind(da3_graphs):
    from depth_anything_ros.export import read_graph_info
    from depth_anything_ros.node.parameters import expects_metric, info_values

    info = read_graph_info(da3_graphs["metric"])
    values = info_values(dataclasses.replace(info, model="da3metric-large"))
    assert values["model"] == "da3metric-large" and values["metric"] is True and "max_depth" not in values
    PipelineConfig(**values)  # valid parameter values
    relative = info_values(dataclasses.replace(read_graph_info(da3_graphs["relative-depth"]), model="da3-small"))
    assert relative["model"] == "da3-small" and relative["metric"] is False
    assert "model" not in info_values(info)  # tiny test networks have no parameter value
    assert expects_metric(PipelineConfig(model="da3metric-large", checkpoint="x"))
    assert not expects_metric(PipelineConfig(model="da3-base", checkpoint="x"))


def test_metric_metres_are_the_network_depth_times_focal_over_300(tmp_path):
    """Absolute, not only proportional: the same weights as mono (relative-depth) and metric graphs."""
    from depth_anything_ros.core.camera import focal_at_network

    graphs = {}
    for kind in ("mono", "metric"):
        torch.manual_seed(5)  # identical weights: DA3METRIC-LARGE is DA3MONO-LARGE's network
        graphs[kind] = tmp_path / f"{kind}.onnx"
        export_graph(Da3Model(tiny_da3_spec(kind)), (H, W), graphs[kind])
    camera = CameraModel.pinhole(W, H, 37.0)
    p = camera.p.copy()
    p[0, 0] = p[1, 1] = 41.0  # a rectified camera: P's focal differs from K's, and P's is the image's
    camera = dataclasses.replace(camera, p=p)
    image = frame(7)
    relative = pipeline(graphs["mono"]).process(image, camera).relative
    metric = pipeline(graphs["metric"]).process(image, camera)
    info = OnnxRuntimeBackend(graphs["metric"]).info
    net_focal = focal_at_network(p[:, :3], (H, W), (info.network_height, info.network_width))[0]
    assert net_focal == pytest.approx((41.0 * info.network_width / W + 41.0 * info.network_height / H) / 2)
    finite = np.isfinite(relative) & np.isfinite(metric.depth)
    assert finite.mean() > 0.5
    np.testing.assert_allclose(metric.depth[finite], relative[finite] * net_focal / 300.0, rtol=1e-4)
    raw_k = pipeline(graphs["metric"], rectified=False).process(image, camera).depth  # K's focal for raw images
    np.testing.assert_allclose(raw_k[finite], metric.depth[finite] * 37.0 / 41.0, rtol=1e-4)


def test_a_da3_checkpoint_fine_tuned_to_metres_is_expected_metric_before_it_loads(tmp_path):
    from depth_anything_ros.model.da3.checkpoint import save_da3
    from depth_anything_ros.model.da3.spec import OUR_CONFIG
    from depth_anything_ros.node.parameters import expects_metric

    torch.manual_seed(6)
    model = Da3Model(tiny_da3_spec("mono"))
    save_da3(model, tmp_path / "mono")
    assert not expects_metric(PipelineConfig(checkpoint=str(tmp_path / "mono")))
    save_da3(model, tmp_path / "tuned", {OUR_CONFIG: {"metric": True, "finetuned_from": "x"}})
    assert expects_metric(PipelineConfig(checkpoint=str(tmp_path / "tuned")))
