"""`infer` runs the node's pipeline: for the same image, camera_info and settings (range limits, a
calibration from the params file, a DA3 focal) its depth .npy holds the bytes the real node publishes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from depth_anything_ros.cli.main import main
from depth_anything_ros.core.calibration_file import Calibration, save_calibration
from depth_anything_ros.msgs.messages import bgr_image_msg, camera_info_msg, rclpy_kit
from depth_anything_ros.synthetic import render_sample_scene, sample_camera

from frame_cases import case_graphs
from ros_graph import Probe, header

H, W = 48, 64


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    return case_graphs(tmp_path_factory.mktemp("graphs"))


def camera_yaml(path, camera) -> str:
    """The camera as camera_calibration writes its camera_info YAML."""
    def matrix(values, rows, cols):
        return f"{{rows: {rows}, cols: {cols}, data: {np.asarray(values, float).ravel().tolist()}}}"
    path.write_text(f"image_width: {camera.width}\nimage_height: {camera.height}\ncamera_name: front\n"
                    f"camera_matrix: {matrix(camera.k, 3, 3)}\ndistortion_model: {camera.distortion_model}\n"
                    f"distortion_coefficients: {matrix(camera.d, 1, len(camera.d))}\n"
                    f"rectification_matrix: {matrix(camera.r, 3, 3)}\nprojection_matrix: {matrix(camera.p, 3, 4)}\n")
    return str(path)


def node_depth(graph, bgr, camera, **params) -> np.ndarray:
    """depth/image of the real node for one frame, read back over DDS."""
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image

    from depth_anything_ros.node.ros_node import DepthNode

    values = {"onnx": str(graph), "backend": "onnxruntime", **params}
    node = DepthNode(parameter_overrides=[Parameter(name, value=value) for name, value in values.items()])
    node.core.stop()
    node.core.start(thread=False)
    probe = Probe(node)
    try:
        got = probe.listen("depth/image", Image)
        assert probe.spin_until(lambda: node.core.subscribed("image"))
        kit, hdr = rclpy_kit(), header(node)
        node.core.on_camera_info(camera_info_msg(kit, hdr, camera))
        node.core.on_image(bgr_image_msg(kit, hdr, bgr))
        assert node.core.process_next() and probe.spin_until(lambda: got)
        assert (got[0].encoding, got[0].height, got[0].width) == ("32FC1", H, W)
        return np.frombuffer(bytes(got[0].data), np.float32).reshape(H, W)
    finally:
        probe.close()
        node.destroy_node()


CASES = {
    # range limits beyond and within the graph's own range (max_depth 20)
    "metric": ({"min_depth": 9.5, "max_range": 50.0}, False),
    # a calibration (params file) makes a relative graph metric; max_range applies to its metres
    "relative": ({"max_range": 2.2}, True),
    # metres from the focal of the camera_info
    "da3-metric": ({"max_range": 1.44}, False),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_infer_writes_the_depth_the_node_publishes(ros, tmp_path, graphs, kind):
    limits, calibrated = CASES[kind]
    bgr = render_sample_scene(H, W, forward=0.5)[0]
    camera = sample_camera(H, W)
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), bgr)
    args = ["infer", str(image), "--onnx", str(graphs[kind]), "--backend", "onnxruntime",
            "--camera-info", camera_yaml(tmp_path / "camera.yaml", camera), "--output", str(tmp_path / "out")]
    for name, value in limits.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    params = dict(limits)
    if calibrated:
        calibration = save_calibration(tmp_path / "cal.yaml", Calibration("relative", 0.8, 0.1))
        (tmp_path / "p.yaml").write_text(f"depth_anything_ros:\n  ros__parameters:\n    calibration_file: "
                                         f"{calibration}\n")
        args += ["--params", str(tmp_path / "p.yaml")]
        params["calibration_file"] = str(calibration)
    assert main(args) == 0
    written = np.load(tmp_path / "out" / "frame_depth.npy")
    published = node_depth(graphs[kind], bgr, camera, **params)
    assert written.dtype == np.float32 and written.tobytes() == published.tobytes()
    assert np.isfinite(written).mean() > 0.05  # a real depth image, not all cut away
    cut = np.isneginf(written) if kind == "metric" else np.isposinf(written)
    assert 0 < cut.mean() < 0.95  # the limits cut some pixels, in infer as in the node
