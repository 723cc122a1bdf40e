"""The one camera model: back-projection (rays) and projection (points -> pixels) through one distortion table."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.core import InputError
from depth_anything_ros.core.camera import DISTORTION_MODELS, CameraModel
from depth_anything_ros.core.transforms import rpy_to_matrix
from depth_anything_ros.msgs.messages import camera_info_msg, header_msg, rosbags_kit

COEFFICIENTS = {"plumb_bob": [-0.2, 0.05, 0.001, -0.001, 0.0],
                "rational_polynomial": [-0.2, 0.05, 0.001, -0.001, 0.0, 0.01, 0.0, 0.0],
                "equidistant": [0.05, -0.01, 0.002, 0.0]}


def distorted_camera(model: str) -> CameraModel:
    k = np.array([[150.0, 0, 63.5], [0, 150, 47.5], [0, 0, 1]])
    return CameraModel(128, 96, k, np.c_[k, np.zeros(3)], np.array(COEFFICIENTS[model]), model)


def test_every_supported_distortion_model_is_tested():
    assert set(DISTORTION_MODELS) == set(COEFFICIENTS)


@pytest.mark.parametrize("model", DISTORTION_MODELS)
@pytest.mark.parametrize("rectified", [False, True])
def test_project_inverts_back_projection_for_every_distortion_model(model, rectified):
    """project(pixel_rays(pixel) * depth) == pixel, at sub-pixel positions across the image, corners included."""
    camera = distorted_camera(model)
    u = np.array([0.0, 7.25, 63.5, 100.8, 127.0, 127.0, 0.0])
    v = np.array([0.0, 5.5, 47.5, 80.1, 95.0, 0.0, 95.0])
    depth = np.array([1.0, 2.0, 5.0, 9.0, 30.0, 0.5, 3.0])
    x, y = camera.pixel_rays(u, v, rectified)
    if not rectified:  # the distortion really bends the rays (else this test would not test it)
        straight_x, _ = camera.pixel_rays(u, v, rectified=True)
        assert np.abs(x - straight_x).max() > 0.01
    pu, pv, z = camera.project(np.stack([x * depth, y * depth, depth], -1), rectified)
    np.testing.assert_allclose(pu, u, atol=1e-3)
    np.testing.assert_allclose(pv, v, atol=1e-3)
    np.testing.assert_allclose(z, depth)


@pytest.mark.parametrize("model", DISTORTION_MODELS)
def test_raw_projection_inverts_the_node_rays(model):
    """A point on a pixel's ray of the cached grids (what clouds are built from) projects back onto that pixel."""
    camera = distorted_camera(model)
    ray_x, ray_y = camera.raw_rays
    rows, cols = np.array([5, 40, 90]), np.array([7, 64, 120])
    depth = np.array([2.0, 5.0, 9.0])
    points = np.stack([ray_x[rows, cols] * depth, ray_y[rows, cols] * depth, depth], -1)
    u, v, z = camera.project(points, rectified=False)
    np.testing.assert_allclose(u, cols, atol=0.05)
    np.testing.assert_allclose(v, rows, atol=0.05)
    np.testing.assert_allclose(z, depth)


def test_ray_grids_are_the_pixel_rays_of_every_pixel():
    camera = distorted_camera("plumb_bob")
    v, u = np.mgrid[0:camera.height, 0:camera.width]
    for rectified, (grid_x, grid_y) in ((True, camera.ray_grids(True)), (False, camera.ray_grids(False))):
        x, y = camera.pixel_rays(u, v, rectified)
        np.testing.assert_allclose(grid_x, x, atol=1e-6)
        np.testing.assert_allclose(grid_y, y, atol=1e-6)


def test_rectified_projection_uses_r_and_p_like_image_geometry():
    k = np.array([[200.0, 0, 64], [0, 200, 48], [0, 0, 1]])
    r = rpy_to_matrix(0.0, 0.05, 0.0)
    p = np.array([[180.0, 0, 60, -18.0], [0, 180, 50, 0], [0, 0, 1, 0]])
    camera = CameraModel(128, 96, k, p, np.zeros(5), "plumb_bob", r)
    point = np.array([[0.5, -0.2, 4.0]])
    u, v, z = camera.project(point, rectified=True)
    rect = r @ point[0]
    assert math.isclose(z[0], rect[2])
    assert math.isclose(u[0], (180 * rect[0] + 60 * rect[2] - 18) / rect[2])
    assert math.isclose(v[0], (180 * rect[1] + 50 * rect[2]) / rect[2])


@pytest.mark.parametrize("rectified", [False, True])
def test_points_at_or_behind_min_depth_have_no_pixel(rectified):
    camera = distorted_camera("plumb_bob")
    points = np.array([[0.1, 0.0, -2.0], [0.0, 0.0, 0.0], [0.2, 0.1, 0.05], [0.2, 0.1, 3.0]])
    u, v, z = camera.project(points, rectified, min_depth=0.1)
    assert z.tolist() == [3.0] and u.shape == v.shape == (1,)
    assert [a.shape for a in camera.project(points[:2], rectified)] == [(0,)] * 3


def test_unsupported_distortion_model_is_an_input_error_both_ways():
    k = np.array([[150.0, 0, 63.5], [0, 150, 47.5], [0, 0, 1]])
    camera = CameraModel(128, 96, k, np.c_[k, np.zeros(3)], np.zeros(5), "fov")
    with pytest.raises(InputError, match="'fov' is not supported"):
        camera.pixel_rays(np.array([1.0]), np.array([2.0]), rectified=False)
    with pytest.raises(InputError, match="'fov' is not supported"):
        camera.project(np.array([[0.0, 0.0, 1.0]]), rectified=False)


def test_pinhole_camera_centres_the_principal_point_and_round_trips_through_camera_info():
    camera = CameraModel.pinhole(128, 96, 100.0)
    assert (camera.k[0, 2], camera.k[1, 2], camera.p[0, 3]) == (63.5, 47.5, 0.0)
    kit = rosbags_kit(get_typestore(Stores.ROS2_HUMBLE))
    back = CameraModel.from_msg(camera_info_msg(kit, header_msg(kit, 0, "c"), camera))
    np.testing.assert_array_equal(back.k, camera.k)
    np.testing.assert_array_equal(back.p, camera.p)
    u, v, _ = camera.project(np.array([[1.0, -0.5, 4.0]]))
    assert (u[0], v[0]) == (63.5 + 25.0, 47.5 - 12.5)


def test_rectified_rays_live_in_the_rectified_frame_that_projection_rotates_into():
    """With R != I: pixel_rays(rectified) is in the rectified frame, project() takes optical-frame points."""
    k = np.array([[200.0, 0, 64], [0, 200, 48], [0, 0, 1]])
    r = rpy_to_matrix(0.02, 0.05, -0.01)
    p = np.array([[180.0, 0, 60, 0.0], [0, 180, 50, 0], [0, 0, 1, 0]])
    camera = CameraModel(128, 96, k, p, np.zeros(5), "plumb_bob", r)
    u, v = np.array([3.0, 60.0, 120.5]), np.array([90.0, 50.0, 2.25])
    x, y = camera.pixel_rays(u, v)
    rectified_points = np.stack([x, y, np.ones(3)], -1) * 6.0
    pu, pv, _ = camera.project(rectified_points @ r)  # R^T: back into the optical frame
    np.testing.assert_allclose(pu, u, atol=1e-9)
    np.testing.assert_allclose(pv, v, atol=1e-9)


def test_image_k_is_p_for_rectified_images_and_k_for_raw_ones():
    k = np.array([[500.0, 0, 320], [0, 510.0, 240], [0, 0, 1]])
    p = np.array([[450.0, 0, 330, 0], [0, 450.0, 235, 0], [0, 0, 1, 0]])
    camera = CameraModel(640, 480, k, p)
    np.testing.assert_array_equal(camera.image_k(rectified=True), p[:, :3])
    np.testing.assert_array_equal(camera.image_k(rectified=False), k)
    unset = CameraModel(640, 480, k, np.zeros((3, 4)))  # P not given: K is all there is
    np.testing.assert_array_equal(unset.image_k(rectified=True), k)
