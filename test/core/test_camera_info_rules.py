"""CameraModel from CameraInfo, decimated, validated: each matrix entry checked against image_geometry's rules.

A wrong principal point or focal length moves every cloud point and every LiDAR pixel, so these tests spell out
the expected K, P, R and D numbers instead of only round-tripping them.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from depth_anything_ros.core.camera import CameraModel, focal_at_network, info_k
from depth_anything_ros.core.errors import InputError
from depth_anything_ros.core.transforms import rpy_to_matrix

K = [[600, 0, 330], [0, 610, 250], [0, 0, 1]]
P = [[580, 0, 320, -58], [0, 580, 240, 0], [0, 0, 1, 0]]
R = rpy_to_matrix(0.01, -0.02, 0.03)
D = [-0.2, 0.05, 0.001, -0.001, 0.0]


def info(width=640, height=480, k=K, p=P, r=None, d=D, model="plumb_bob", binning=(0, 0), roi=(0, 0), **names):
    """A CameraInfo-like message with plain (integer-valued where possible) lists, as YAML files give them."""
    fields = {"k": np.ravel(k).tolist(), "p": np.ravel(p).tolist(), "d": list(d),
              "r": np.ravel(np.eye(3, dtype=int) if r is None else r).tolist()}
    fields.update(names)
    return SimpleNamespace(width=width, height=height, distortion_model=model, binning_x=binning[0],
                           binning_y=binning[1], roi=SimpleNamespace(x_offset=roi[0], y_offset=roi[1]), **fields)


def test_integer_valued_camera_info_gives_float64_matrices():
    camera = CameraModel.from_msg(info(binning=(2, 2), d=[0, 0, 0, 0, 0]))
    for name in ("k", "p", "r", "d"):
        assert getattr(camera, name).dtype == np.float64, name
    np.testing.assert_array_equal(camera.k, [[300, 0, 165], [0, 305, 125], [0, 0, 1]])
    assert info_k(info()).dtype == np.float64
    np.testing.assert_array_equal(info_k(info()), K)


def test_ros1_upper_case_names_are_read():
    msg = info()
    for name in ("k", "p", "r", "d"):
        setattr(msg, name.upper(), getattr(msg, name))
        delattr(msg, name)
    camera = CameraModel.from_msg(msg)
    np.testing.assert_array_equal(camera.k, K)
    np.testing.assert_array_equal(camera.p, P)


@pytest.mark.parametrize(("binning", "k", "p"), [
    ((2, 1), [[300, 0, 165], [0, 610, 250], [0, 0, 1]], [[290, 0, 160, -29], [0, 580, 240, 0], [0, 0, 1, 0]]),
    ((1, 4), [[600, 0, 330], [0, 152.5, 62.5], [0, 0, 1]], [[580, 0, 320, -58], [0, 145, 60, 0], [0, 0, 1, 0]]),
    ((0, 0), K, P),  # 0 means 1
])
def test_binning_divides_each_axis_of_k_and_p(binning, k, p):
    camera = CameraModel.from_msg(info(binning=binning))
    np.testing.assert_array_equal(camera.k, k)
    np.testing.assert_array_equal(camera.p, p)


@pytest.mark.parametrize("roi", [(10, 0), (0, 20), (10, 20)])
def test_roi_offset_moves_the_principal_point_of_k_and_p(roi):
    camera = CameraModel.from_msg(info(roi=roi, binning=(2, 2)))
    np.testing.assert_array_equal(camera.k, [[300, 0, (330 - roi[0]) / 2], [0, 305, (250 - roi[1]) / 2], [0, 0, 1]])
    np.testing.assert_array_equal(camera.p, [[290, 0, (320 - roi[0]) / 2, -29], [0, 290, (240 - roi[1]) / 2, 0],
                                             [0, 0, 1, 0]])


def test_r_and_d_and_distortion_model_are_kept():
    camera = CameraModel.from_msg(info(r=R, model="rational_polynomial", d=[*D, 0.01, 0.0, 0.0]))
    np.testing.assert_array_equal(camera.r, R)
    np.testing.assert_array_equal(camera.d, [*D, 0.01, 0.0, 0.0])
    assert camera.distortion_model == "rational_polynomial"
    point = np.array([[0.5, -0.2, 4.0]])  # rectified projection rotates by R first
    rect = R @ point[0]
    u, v, _ = camera.project(point)
    np.testing.assert_allclose([u[0], v[0]], [(580 * rect[0] - 58) / rect[2] + 320, 580 * rect[1] / rect[2] + 240])


def test_empty_distortion_model_is_plumb_bob_and_empty_d_is_no_distortion():
    camera = CameraModel.from_msg(info(model="", d=[]))
    assert camera.distortion_model == "plumb_bob"
    x, y = camera.pixel_rays(np.array([0.0, 330.0, 639.0]), np.array([0.0, 250.0, 479.0]), rectified=False)
    np.testing.assert_allclose(x, [-330 / 600, 0.0, 309 / 600], atol=1e-12)
    np.testing.assert_allclose(y, [-250 / 610, 0.0, 229 / 610], atol=1e-12)
    u, v, _ = camera.project(np.array([[1.0, 1.0, 2.0]]), rectified=False)
    np.testing.assert_allclose([u[0], v[0]], [630.0, 555.0])


@pytest.mark.parametrize("name", ["k", "p", "d", "r"])
def test_non_finite_matrix_is_named_in_the_error(name):
    msg = info()
    values = getattr(msg, name)
    values[1] = float("nan")
    with pytest.raises(InputError, match=rf"^camera_info {name.upper()} has non-finite values: \[") as caught:
        CameraModel.from_msg(msg)
    assert caught.value.kind == "intrinsics"


@pytest.mark.parametrize(("change", "text"), [
    ({"k": [[600, 0, 330], [0, 0, 250], [0, 0, 1]]}, "camera_info K has focal lengths fx=600.0, fy=0.0"),
    ({"p": [[580, 0, 320, 0], [0, -1, 240, 0], [0, 0, 1, 0]]}, "camera_info P has focal lengths fx=580.0, fy=-1.0"),
    ({"p": [[0, 0, 320, 0], [0, 580, 240, 0], [0, 0, 1, 0]]}, "camera_info P has focal lengths fx=0.0, fy=580.0"),
])
def test_non_positive_focal_lengths_are_refused_naming_the_matrix(change, text):
    with pytest.raises(InputError, match=rf"^{text}; both must be positive") as caught:
        CameraModel.from_msg(info(**change))
    assert caught.value.kind == "intrinsics"


def test_small_positive_focal_lengths_are_valid():
    """Normalised cameras (focal length 1 or less, in image units) are calibrated cameras too."""
    k = [[0.95, 0, 0.5], [0, 0.85, 0.5], [0, 0, 1]]
    camera = CameraModel.from_msg(info(width=2, height=2, k=k, p=[[0.9, 0, 0.5, 0], [0, 0.8, 0.5, 0], [0, 0, 1, 0]]))
    np.testing.assert_array_equal(camera.image_k(), [[0.9, 0, 0.5], [0, 0.8, 0.5], [0, 0, 1]])


@pytest.mark.parametrize(("width", "height"), [(640, 0), (0, 480), (-1, 480)])
def test_empty_image_is_refused(width, height):
    with pytest.raises(InputError, match=rf"^camera_info size {width}x{height} is empty$") as caught:
        CameraModel.from_msg(info(width=width, height=height))
    assert caught.value.kind == "intrinsics"


def test_a_one_pixel_image_is_an_image():
    camera = CameraModel.from_msg(info(width=1, height=1))
    assert (camera.width, camera.height) == (1, 1)


def test_unsupported_distortion_model_names_the_supported_ones():
    camera = CameraModel.from_msg(info(model="fov"))
    with pytest.raises(InputError, match=r"^distortion model 'fov' is not supported; use one of plumb_bob, "
                                         r"rational_polynomial, equidistant$") as caught:
        camera.check_distortion()
    assert caught.value.kind == "intrinsics"


def test_image_k_is_p_when_its_focal_lengths_are_set_else_k():
    camera = CameraModel(640, 480, np.array(K), np.array(P))
    assert camera.image_k().dtype == np.float64  # integer matrices in, float64 out
    np.testing.assert_array_equal(camera.image_k(), np.array(P)[:, :3])
    half_set = np.array([[580.0, 0, 320, 0], [0, 0, 240, 0], [0, 0, 1, 0]])  # fy missing: P is not usable
    np.testing.assert_array_equal(CameraModel(640, 480, np.array(K), half_set).image_k(), K)
    no_fx = np.array([[0.0, 0, 320, 0], [0, 580, 240, 0], [0, 0, 1, 0]])
    np.testing.assert_array_equal(CameraModel(640, 480, np.array(K), no_fx).image_k(), K)
    no_centre = np.array([[580.0, 0, 320, 0], [0, 580, 0, 0], [0, 0, 1, 0]])  # cy 0 is a legal principal point
    np.testing.assert_array_equal(CameraModel(640, 480, np.array(K), no_centre).image_k(), no_centre[:, :3])
    assert CameraModel(640, 480, np.array(K), np.array(P)).image_k(rectified=False).dtype == np.float64


def test_pinhole_takes_the_principal_point_given_and_has_no_distortion():
    camera = CameraModel.pinhole(64, 48, 40.0, cx=10.0, cy=20.0)
    np.testing.assert_array_equal(camera.k, [[40, 0, 10], [0, 40, 20], [0, 0, 1]])
    np.testing.assert_array_equal(camera.p, [[40, 0, 10, 0], [0, 40, 20, 0], [0, 0, 1, 0]])
    assert camera.distortion_model == "plumb_bob"
    u = np.array([0.0, 10.0, 63.0])
    v = np.array([0.0, 20.0, 47.0])
    raw = camera.pixel_rays(u, v, rectified=False)
    np.testing.assert_allclose(raw, camera.pixel_rays(u, v), atol=1e-12)
    pu, pv, _ = camera.project(np.array([[0.5, 0.25, 2.0]]), rectified=False)
    np.testing.assert_allclose([pu[0], pv[0]], [20.0, 25.0])


def test_rays_and_projections_are_float64_for_float32_input():
    """float32 pixels or points (as clouds carry them) still go through the distortion model in float64."""
    camera = CameraModel.pinhole(64, 48, 40.0)
    u = np.array([0.1, 33.3], np.float32)
    for rectified in (True, False):
        x, y = camera.pixel_rays(u, u[::-1].copy(), rectified)
        assert x.dtype == y.dtype == np.float64
        np.testing.assert_allclose(x, (u.astype(np.float64) - 31.5) / 40.0, rtol=1e-12)
        np.testing.assert_allclose(y, (u[::-1].astype(np.float64) - 23.5) / 40.0, rtol=1e-12)
    points = np.array([[0.1, 0.2, 3.0], [1.0 / 3.0, -0.7, 7.0]], np.float32)
    exact = points.astype(np.float64)
    for rectified in (True, False):
        pu, pv, z = camera.project(points, rectified)
        assert pu.dtype == pv.dtype == z.dtype == np.float64
        np.testing.assert_allclose(pu, 40.0 * exact[:, 0] / exact[:, 2] + 31.5, rtol=1e-12)
        np.testing.assert_allclose(pv, 40.0 * exact[:, 1] / exact[:, 2] + 23.5, rtol=1e-12)


def test_decimated_camera_sees_each_point_at_a_factor_smaller_pixel_coordinates():
    camera = CameraModel.from_msg(info(r=R))
    half = camera.scaled(2)
    assert (half.width, half.height, half.distortion_model) == (320, 240, "plumb_bob")
    np.testing.assert_array_equal(half.k, [[300, 0, 165], [0, 305, 125], [0, 0, 1]])
    np.testing.assert_array_equal(half.p, [[290, 0, 160, -29], [0, 290, 120, 0], [0, 0, 1, 0]])
    np.testing.assert_array_equal(half.r, R)
    np.testing.assert_array_equal(half.d, D)
    points = np.array([[0.5, -0.2, 4.0], [-1.0, 0.4, 9.0]])
    for rectified in (True, False):
        u, v, z = camera.project(points, rectified)
        hu, hv, hz = half.project(points, rectified)
        np.testing.assert_allclose(hu, u / 2, rtol=1e-12)
        np.testing.assert_allclose(hv, v / 2, rtol=1e-12)
        np.testing.assert_array_equal(hz, z)
    assert camera.scaled(1) is camera


def test_focal_at_network_scales_each_axis_then_averages_for_every_camera():
    ks = np.array([[[500, 0, 320], [0, 520, 240], [0, 0, 1]], [[1000, 0, 640], [0, 1000, 360], [0, 0, 1]]])
    focal = focal_at_network(ks, (480, 640), (240, 320))
    assert focal.dtype == np.float32 and focal.shape == (2,)
    np.testing.assert_array_equal(focal, [255.0, 500.0])  # (500 / 2 + 520 / 2) / 2
    np.testing.assert_array_equal(focal_at_network(ks[0], (480, 640), (480, 320)), [385.0])  # (250 + 520) / 2
    k32 = np.diag([1486.3453, 433.74567, 1.0]).astype(np.float32)  # a float32 K is scaled in float64 too
    assert focal_at_network(k32, (180, 1740), (111, 504)) == focal_at_network(k32.astype(np.float64), (180, 1740),
                                                                              (111, 504))
