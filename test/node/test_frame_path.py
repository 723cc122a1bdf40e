"""The one frame path (ROS-free): message pair -> outcome, with rosbags' message classes. K = 0 decided once,
the camera judged once, bad frames as counted reasons (the live anchor in it: test_frame_anchor.py). Tiny graphs on
onnxruntime."""

from __future__ import annotations

import dataclasses

import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.msgs.messages import camera_info_msg, header_msg, rosbags_kit
from depth_anything_ros.node import FramePath, PipelineConfig
from depth_anything_ros.node.frame_path import camera_of
from depth_anything_ros.runtime import OnnxRuntimeBackend
from depth_anything_ros.synthetic import sample_camera

from frame_cases import CASES, START_NS, H, W, case_graphs, frame_pair

KIT = rosbags_kit(get_typestore(Stores.ROS2_HUMBLE))


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    return case_graphs(tmp_path_factory.mktemp("frame_path"))


def path_for(graph, anchor=None, **values) -> FramePath:
    config = PipelineConfig(onnx=str(graph), backend="onnxruntime", **values)
    return FramePath(config, lambda hw: OnnxRuntimeBackend(graph), KIT, anchor)


def pair(case: str, index: int = 0):
    return frame_pair(KIT, case, START_NS + index, index)


@pytest.mark.parametrize("case", list(CASES))
def test_each_case_gives_its_outcome_for_a_v2_metric_graph(graphs, case):
    frames = path_for(graphs["metric"])
    outcome = frames.process(*pair(case))
    skipped = CASES[case] not in ("", "K=0")
    assert outcome.published != skipped and outcome.reason == (CASES[case] if skipped else "")
    assert outcome.uncalibrated == (case == "uncalibrated")
    if skipped:
        assert not outcome.messages and outcome.result is None and outcome.detail
    elif case == "uncalibrated":  # depth, without camera_info and cloud
        assert set(outcome.messages) == {"image"} and outcome.result.camera is None
    else:
        assert set(outcome.messages) == {"image", "camera_info", "points"}
    frames.close()


def test_uncalibrated_camera_skips_a_focal_graph_and_relative_graphs_publish_relative(graphs):
    da3 = path_for(graphs["da3-metric"])
    outcome = da3.process(*pair("uncalibrated"))
    assert not outcome.published and outcome.reason == "intrinsics" and outcome.uncalibrated
    assert "focal length" in outcome.detail
    assert set(da3.process(*pair("good")).messages) == {"image", "camera_info", "points"}
    da3.close()
    relative = path_for(graphs["relative"])
    assert set(relative.process(*pair("uncalibrated")).messages) == {"relative"}
    assert set(relative.process(*pair("good")).messages) == {"relative", "camera_info"}  # no metres, no cloud
    relative.close()


def test_camera_of_reads_k_zero_as_no_camera_and_refuses_bad_intrinsics():
    _, good = pair("good")
    _, zero = pair("uncalibrated")
    _, nan = pair("nan_fx")
    camera, uncalibrated = camera_of(good)
    assert isinstance(camera, CameraModel) and not uncalibrated
    assert camera_of(zero) == (None, True) and camera_of(None) == (None, False)
    with pytest.raises(ValueError, match="non-finite"):
        camera_of(nan)


def test_raw_ray_clouds_need_a_supported_distortion_model_whoever_subscribes(graphs):
    image, _ = pair("good")
    fisheye = dataclasses.replace(sample_camera(H, W), distortion_model="fov")
    info = camera_info_msg(KIT, header_msg(KIT, START_NS, "camera_optical_frame"), fisheye)
    raw = path_for(graphs["metric"], rectified=False)
    for want_cloud in (True, False):  # the verdict does not depend on subscribers
        outcome = raw.process(image, info, want_cloud=want_cloud)
        assert outcome.reason == "intrinsics" and "'fov' is not supported" in outcome.detail
    assert path_for(graphs["metric"], rectified=False, publish_cloud=False).process(image, info).published
    assert path_for(graphs["metric"]).process(image, info).published  # rectified: rays from P


def test_cloud_and_preview_only_when_wanted(graphs):
    frames = path_for(graphs["metric"])
    assert set(frames.process(*pair("good"), want_cloud=False, want_preview=True).messages) == \
        {"image", "camera_info", "preview"}
