"""`infer` on DA3 checkpoints: focal length from a camera_info YAML; relative DA3 writes depth up to scale."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from depth_anything_ros.cli.main import main
from depth_anything_ros.core.camera import CameraModel

from conftest import tiny_da3_checkpoint

HW = (30, 40)


def camera_yaml(path, fx: float, width: int = HW[1], height: int = HW[0]):
    """The camera_info YAML camera_calibration writes."""
    k = [fx, 0.0, width / 2, 0.0, fx, height / 2, 0.0, 0.0, 1.0]
    path.write_text(yaml.safe_dump({
        "image_width": width, "image_height": height, "camera_name": "front",
        "camera_matrix": {"rows": 3, "cols": 3, "data": k},
        "distortion_model": "plumb_bob", "distortion_coefficients": {"rows": 1, "cols": 5, "data": [0.0] * 5},
        "rectification_matrix": {"rows": 3, "cols": 3, "data": np.eye(3).ravel().tolist()},
        "projection_matrix": {"rows": 3, "cols": 4, "data": [*k[:3], 0.0, *k[3:6], 0.0, *k[6:], 0.0]},
    }))
    return path


def test_camera_info_yaml_reads_and_refuses_clearly(tmp_path):
    camera = CameraModel.from_yaml(camera_yaml(tmp_path / "c.yaml", 55.0))
    assert (camera.width, camera.height, camera.k[0, 0], camera.k[1, 1]) == (40, 30, 55.0, 55.0)
    assert camera.p.shape == (3, 4) and camera.d.shape == (5,)
    (tmp_path / "bad.yaml").write_text("image_width: 40\n")
    with pytest.raises(ValueError, match="not a camera_info YAML"):
        CameraModel.from_yaml(tmp_path / "bad.yaml")
    with pytest.raises(ValueError, match="positive"):
        CameraModel.from_yaml(camera_yaml(tmp_path / "zero.yaml", 0.0))


def test_infer_da3_metric_needs_and_uses_the_camera_focal(tmp_path, capsys, caplog):
    folder = tiny_da3_checkpoint(tmp_path / "da3", "metric", seed=11)
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (*HW, 3), dtype=np.uint8))
    base = ["infer", str(image), "--checkpoint", str(folder), "--backend", "onnxruntime"]
    assert main([*base, "--output", str(tmp_path / "none")]) == 2  # no focal length: a clear usage error
    assert "--camera-info" in capsys.readouterr().err
    depth = {}
    for fx in (40.0, 80.0):
        out = tmp_path / f"out{fx:g}"
        assert main([*base, "--camera-info", str(camera_yaml(tmp_path / f"c{fx:g}.yaml", fx)),
                     "--output", str(out)]) == 0
        depth[fx] = np.load(out / "frame_depth.npy")
        assert (out / "frame_preview.png").is_file()
    finite = np.isfinite(depth[40.0])
    assert finite.mean() > 0.5
    np.testing.assert_allclose(depth[80.0][finite], 2 * depth[40.0][finite], rtol=1e-5)
    wrong = camera_yaml(tmp_path / "wrong.yaml", 40.0, width=64, height=48)
    assert main([*base, "--camera-info", str(wrong), "--output", str(tmp_path / "w")]) == 1  # size mismatch: skipped
    assert "describes 64x48 images" in caplog.text


def test_infer_relative_da3_writes_depth_up_to_scale(tmp_path, caplog):
    folder = tiny_da3_checkpoint(tmp_path / "da3", "any-view", seed=12)
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), np.random.default_rng(1).integers(0, 256, (*HW, 3), dtype=np.uint8))
    assert main(["infer", str(image), "--checkpoint", str(folder), "--backend", "onnxruntime",
                 "--output", str(tmp_path / "out")]) == 0
    relative = np.load(tmp_path / "out" / "frame_relative.npy")
    assert relative.shape == HW and np.all(relative > 0)
    assert "depth up to scale" in caplog.text
