"""Previews, atomic writes, the embedded sample scene and the download helper (offline)."""

from __future__ import annotations

import numpy as np
import pytest

from depth_anything_ros.core.files import atomic_path
from depth_anything_ros.model import download
from depth_anything_ros.preview import colorize_depth
from depth_anything_ros.preview.colour import INVALID_BGR, TOO_CLOSE_BGR, TOO_FAR_BGR
from depth_anything_ros.synthetic import render_sample_scene
from depth_anything_ros.synthetic.scene import CAMERA_HEIGHT


def test_preview_marks_special_values_and_orders_colours():
    depth = np.array([[1.0, 10.0, np.nan, -np.inf, np.inf]], np.float32)
    preview = colorize_depth(depth, near=1.0, far=10.0)
    assert preview.shape == (1, 5, 3) and preview.dtype == np.uint8
    assert tuple(preview[0, 2]) == INVALID_BGR
    assert tuple(preview[0, 3]) == TOO_CLOSE_BGR
    assert tuple(preview[0, 4]) == TOO_FAR_BGR
    assert preview[0, 0, 2] > preview[0, 0, 0]  # near is red-ish (turbo's warm end)
    assert preview[0, 1, 0] > preview[0, 1, 2]  # far is blue-ish


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.npy"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        np.save(tmp, np.zeros(3))
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".npy"
        np.save(tmp, np.ones(3))
    assert np.load(target).tolist() == [1.0, 1.0, 1.0]


def test_sample_scene_depth_is_the_analytic_ground_plane():
    image, depth = render_sample_scene(480, 640)
    assert image.shape == (480, 640, 3) and image.dtype == np.uint8
    focal, cy = 0.8 * 640, (480 - 1) / 2
    row = 470  # bottom rows see the ground in front of every box
    assert depth[row, 5] == pytest.approx(CAMERA_HEIGHT * focal / (row - cy), rel=1e-5)
    assert np.isinf(depth[0]).all()  # the top row is sky


def test_hub_locations_of_official_checkpoints():
    assert download.hub_location("vits") == ("depth-anything/Depth-Anything-V2-Small", "depth_anything_v2_vits.pth")
    assert download.hub_location("vitl", "vkitti") == (
        "depth-anything/Depth-Anything-V2-Metric-VKITTI-Large", "depth_anything_v2_metric_vkitti_vitl.pth")
    with pytest.raises(ValueError, match="vits, vitb, vitl"):
        download.hub_location("vitg")


def test_download_without_internet_says_so(tmp_path, monkeypatch):
    import huggingface_hub

    def offline(**kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(ConnectionError, match="Is the internet reachable"):
        download.download_checkpoint("vits", None, tmp_path)
