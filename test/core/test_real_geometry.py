"""Projection conventions on real recordings (../shared/data: KITTI, nuScenes); skipped when absent."""

from __future__ import annotations

import json

import numpy as np
import pytest

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.depth_points import sparse_depth
from depth_anything_ros.core.transforms import Transform

from conftest import DATA, require


def kitti(frame: str):
    root = require(DATA / "kitti_object")
    rows = {}
    for line in (root / "calib" / f"{frame}.txt").read_text().splitlines():
        if ":" in line:
            key, values = line.split(":", 1)
            rows[key] = np.array(values.split(), np.float64)
    import cv2

    height, width = cv2.imread(str(root / "image_2" / f"{frame}.png")).shape[:2]
    points = np.fromfile(root / "velodyne" / f"{frame}.bin", np.float32).reshape(-1, 4)[:, :3].astype(np.float64)
    velo_to_cam = rows["Tr_velo_to_cam"].reshape(3, 4)
    p2, r0 = rows["P2"].reshape(3, 4), rows["R0_rect"].reshape(3, 3)
    return points, Transform(velo_to_cam[:, :3], velo_to_cam[:, 3]), p2, r0, height, width


@pytest.mark.parametrize("frame", ["000000", "000001", "000002"])
def test_kitti_projection_equals_the_devkit_formula(frame):
    points, velo_to_cam, p2, r0, height, width = kitti(frame)
    # camera_info of the rectified left colour camera: R = R0_rect, P = P2 (K is P's left 3x3)
    camera = CameraModel(width, height, p2[:, :3], p2, np.zeros(5), "plumb_bob", r0)
    u, v, z = camera.project(velo_to_cam.apply(points), rectified=True, min_depth=0.1)
    rectified = r0 @ (velo_to_cam.rotation @ points.T + velo_to_cam.translation[:, None])  # devkit: R0 * Tr * X
    x = p2 @ np.r_[rectified, np.ones((1, len(points)))]
    keep = rectified[2] > 0.1  # the min_depth cut of sparse_depth()
    np.testing.assert_allclose(z, rectified[2, keep])
    np.testing.assert_allclose(u, x[0, keep] / x[2, keep], atol=1e-6)
    np.testing.assert_allclose(v, x[1, keep] / x[2, keep], atol=1e-6)
    inside = (np.rint(u) >= 0) & (np.rint(u) < width) & (np.rint(v) >= 0) & (np.rint(v) < height)
    assert 17_000 <= inside.sum() <= 21_000  # the README's 18-20k points land in the image
    depth = sparse_depth(velo_to_cam.apply(points), camera)
    kept = np.isfinite(depth).sum()
    assert 0.85 * inside.sum() <= kept <= inside.sum()  # z-buffer merges and occlusion removal take a few
    assert np.nanmin(depth) > 1.0 and np.nanmax(depth) < 120.0


def test_nuscenes_front_camera_projection():
    root = require(DATA / "nuscenes_mini_sample")
    calib = json.loads((root / "calib.json").read_text())
    front = calib["cameras"]["CAM_FRONT"]
    scan = np.fromfile(root / calib["lidar_file"], np.float32).reshape(-1, 5)[:, :3].astype(np.float64)
    lidar2cam = np.array(front["lidar2cam"])
    k = np.array(front["K"])
    camera = CameraModel(front["width"], front["height"], k, np.c_[k, np.zeros(3)], np.zeros(5), "plumb_bob")
    points = Transform(lidar2cam[:3, :3], lidar2cam[:3, 3]).apply(scan)
    depth = sparse_depth(points, camera)
    valid = np.isfinite(depth)
    assert 2_000 < valid.sum() < 12_000  # a 32-beam scan covers a few thousand pixels of one camera
    rows = np.nonzero(valid)[0]
    assert rows.mean() > front["height"] * 0.35  # LiDAR returns sit on the road and objects, not the sky
