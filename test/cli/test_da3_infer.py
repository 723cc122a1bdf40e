"""`infer` with Depth Anything 3: the focal length of image files from a camera_info YAML (--camera-info)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from depth_anything_ros.cli.main import main
from depth_anything_ros.core.camera_info_file import load_camera_info

from conftest import tiny_da3_checkpoint

H, W = 36, 48


def camera_yaml(path, fx: float, fy: float, width: int = W, height: int = H):
    """A camera_info YAML as camera_calibration writes it."""
    path.write_text(f"""image_width: {width}
image_height: {height}
camera_name: front
camera_matrix:
  rows: 3
  cols: 3
  data: [{fx}, 0, {width / 2}, 0, {fy}, {height / 2}, 0, 0, 1]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [0, 0, 0, 0, 0]
rectification_matrix:
  rows: 3
  cols: 3
  data: [1, 0, 0, 0, 1, 0, 0, 0, 1]
projection_matrix:
  rows: 3
  cols: 4
  data: [{fx}, 0, {width / 2}, 0, 0, {fy}, {height / 2}, 0, 0, 0, 1, 0]
""")
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("da3_infer")
    image = root / "frame.png"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8))
    return root, image, tiny_da3_checkpoint(root / "metric", "metric", seed=2)


def test_camera_info_yaml_is_read_and_validated(tmp_path):
    camera = load_camera_info(camera_yaml(tmp_path / "c.yaml", 40.0, 42.0))
    assert (camera.width, camera.height) == (W, H) and camera.k[0, 0] == 40.0 and camera.k[1, 1] == 42.0
    with pytest.raises(ValueError, match=r"focal lengths fx=0\.0"):
        load_camera_info(camera_yaml(tmp_path / "zero.yaml", 0.0, 0.0))
    (tmp_path / "other.yaml").write_text("scale: 1\n")
    with pytest.raises(ValueError, match="not a camera_info YAML"):
        load_camera_info(tmp_path / "other.yaml")


def test_da3_metric_infer_scales_with_the_given_focal(setup, tmp_path, capsys):
    _, image, folder = setup
    outputs = {}
    for fx in (40.0, 80.0):
        out = tmp_path / f"f{fx:g}"
        code = main(["infer", str(image), "--checkpoint", str(folder), "--backend", "onnxruntime",
                     "--camera-info", str(camera_yaml(tmp_path / f"c{fx:g}.yaml", fx, fx)), "--output", str(out)])
        assert code == 0, capsys.readouterr().err
        outputs[fx] = np.load(out / "frame_depth.npy")
    near, far = outputs[40.0], outputs[80.0]
    finite = np.isfinite(near) & np.isfinite(far)
    assert finite.mean() > 0.3 and not np.isnan(near).any()
    np.testing.assert_allclose(far[finite], 2 * near[finite], rtol=1e-4)


def test_da3_metric_infer_without_or_with_a_mismatched_camera_info_is_refused(setup, tmp_path, capsys):
    _, image, folder = setup
    args = ["infer", str(image), "--checkpoint", str(folder), "--backend", "onnxruntime", "--output", str(tmp_path)]
    assert main(args) == 2
    assert "--camera-info FILE" in capsys.readouterr().err
    assert main([*args, "--camera-info", str(camera_yaml(tmp_path / "c.yaml", 40.0, 40.0, 64, 48))]) == 2
    assert "is for 64x48 images, frame.png is 48x36" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.npy"))


def test_relative_da3_infer_needs_no_camera(tmp_path, caplog):
    folder = tiny_da3_checkpoint(tmp_path / "rel", "any-view", seed=3)
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8))
    assert main(["infer", str(image), "--checkpoint", str(folder), "--backend", "onnxruntime",
                 "--output", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "frame_relative.npy").exists()
    assert "depth up to scale (not inverse depth" in caplog.text
