"""The camera of a sensor_msgs/CameraInfo as image_geometry sees it: binning and ROI applied, validated.

One class for both directions, like image_geometry's PinholeCameraModel:
- back-projection (``pixel_rays``, per-pixel ray grids for building clouds from depth);
- projection (``project``: 3D points in the optical frame -> sub-pixel coordinates, e.g. LiDAR ground truth).

Rectified images use P, as depth_image_proc does: x = (u - cx) / fx, y = (v - cy) / fy (projection
rotates points by R into the rectified frame first). Raw images use K and D through the distortion
model, one table for both directions: plumb_bob and rational_polynomial (OpenCV's Brown-Conrady with
5 or 8 coefficients) and equidistant (OpenCV's fisheye, 4 coefficients).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from depth_anything_ros.core.errors import InputError

_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 1e-9)
_ZERO3 = np.zeros(3)


def _brown_coefficients(d: np.ndarray) -> np.ndarray:
    return d if d.size else np.zeros(5)


def _fisheye_coefficients(d: np.ndarray) -> np.ndarray:
    return np.r_[d, np.zeros(4)][:4]


def _brown_undistort(pixels: np.ndarray, k: np.ndarray, d: np.ndarray) -> np.ndarray:
    d = _brown_coefficients(d)
    if hasattr(cv2, "undistortPointsIter"):  # OpenCV 4 names the overload with criteria
        return cv2.undistortPointsIter(pixels, k, d, None, None, _CRITERIA)
    return cv2.undistortPoints(pixels, k, d, R=None, P=None, criteria=_CRITERIA)


def _brown_project(points: np.ndarray, k: np.ndarray, d: np.ndarray) -> np.ndarray:
    return cv2.projectPoints(points, _ZERO3, _ZERO3, k, _brown_coefficients(d))[0]


def _fisheye_undistort(pixels: np.ndarray, k: np.ndarray, d: np.ndarray) -> np.ndarray:
    return cv2.fisheye.undistortPoints(pixels, k, _fisheye_coefficients(d))


def _fisheye_project(points: np.ndarray, k: np.ndarray, d: np.ndarray) -> np.ndarray:
    return cv2.fisheye.projectPoints(points.reshape(-1, 1, 3), _ZERO3, _ZERO3, k, _fisheye_coefficients(d))[0]


# distortion model -> (pixels (N, 1, 2) -> normalized (N, 1, 2), points (N, 3) -> pixels (N, 1, 2)), given K and D
_DISTORTIONS = {"plumb_bob": (_brown_undistort, _brown_project),
                "rational_polynomial": (_brown_undistort, _brown_project),
                "equidistant": (_fisheye_undistort, _fisheye_project)}
DISTORTION_MODELS = tuple(_DISTORTIONS)


def _matrix(msg, name: str):
    """CameraInfo's k/d/r/p (ROS 2), or K/D/R/P as ROS 1 messages from .bag files name them."""
    return getattr(msg, name) if hasattr(msg, name) else getattr(msg, name.upper())


def info_k(msg) -> np.ndarray:
    """CameraInfo's K as given (3x3 float64; all zero for an uncalibrated camera), ROS 2 or ROS 1 names."""
    return np.asarray(_matrix(msg, "k"), np.float64).reshape(3, 3)


@dataclass(frozen=True, eq=False)
class CameraModel:
    """Effective intrinsics of the image as published (binning and ROI folded in)."""

    width: int
    height: int
    k: np.ndarray  # (3, 3)
    p: np.ndarray  # (3, 4)
    d: np.ndarray = field(default_factory=lambda: np.zeros(0))
    distortion_model: str = "plumb_bob"
    r: np.ndarray = field(default_factory=lambda: np.eye(3))
    _ray_grids: dict = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_msg(cls, msg) -> CameraModel:
        """image_geometry's PinholeCameraModel rules: binning 0 = 1, all-zero ROI = full image."""
        k = info_k(msg).copy()
        p = np.asarray(_matrix(msg, "p"), np.float64).reshape(3, 4).copy()
        d = np.asarray(_matrix(msg, "d"), np.float64).copy()
        r = np.asarray(_matrix(msg, "r"), np.float64).reshape(3, 3).copy()
        for name, matrix in (("K", k), ("P", p), ("D", d), ("R", r)):
            if not np.isfinite(matrix).all():
                raise InputError("intrinsics", f"camera_info {name} has non-finite values: {matrix.ravel().tolist()}")
        bx, by = int(msg.binning_x) or 1, int(msg.binning_y) or 1
        roi = msg.roi
        if roi.x_offset or roi.y_offset:
            k[0, 2] -= roi.x_offset
            k[1, 2] -= roi.y_offset
            p[0, 2] -= roi.x_offset
            p[1, 2] -= roi.y_offset
        k[0, [0, 2]] /= bx
        k[1, [1, 2]] /= by
        p[0, [0, 2, 3]] /= bx
        p[1, [1, 2, 3]] /= by
        model = cls(int(msg.width), int(msg.height), k, p, d, str(msg.distortion_model) or "plumb_bob", r)
        model.validate()
        return model

    @classmethod
    def pinhole(cls, width: int, height: int, focal: float, cx: float | None = None,
                cy: float | None = None) -> CameraModel:
        """An ideal camera: no distortion, R = I, P = [K | 0]; the principal point defaults to the image centre."""
        cx = (width - 1) / 2 if cx is None else cx
        cy = (height - 1) / 2 if cy is None else cy
        k = np.array([[focal, 0, cx], [0, focal, cy], [0, 0, 1.0]])
        return cls(width, height, k, np.c_[k, np.zeros(3)], np.zeros(5), "plumb_bob")

    def validate(self) -> None:
        for name, (fx, fy) in (("P", (self.p[0, 0], self.p[1, 1])), ("K", (self.k[0, 0], self.k[1, 1]))):
            if not (fx > 0 and fy > 0):
                raise InputError("intrinsics", f"camera_info {name} has focal lengths fx={fx}, fy={fy}; both must "
                                               "be positive (is the camera calibrated?)")
        if self.width <= 0 or self.height <= 0:
            raise InputError("intrinsics", f"camera_info size {self.width}x{self.height} is empty")

    def scaled(self, factor: int) -> CameraModel:
        """The camera of the image decimated by ``factor`` (pixel u' = u / factor, centres on integers)."""
        if factor == 1:
            return self
        k, p = self.k.copy(), self.p.copy()
        k[:2, :] /= factor
        p[:2, :] /= factor
        return CameraModel(-(-self.width // factor), -(-self.height // factor), k, p, self.d, self.distortion_model,
                           self.r)

    def _distortion(self) -> tuple:
        """(undistort, project) of this camera's distortion model; InputError for one not supported."""
        if self.distortion_model not in _DISTORTIONS:
            raise InputError("intrinsics", f"distortion model {self.distortion_model!r} is not supported; use one "
                                           f"of {', '.join(DISTORTION_MODELS)}")
        return _DISTORTIONS[self.distortion_model]

    def check_distortion(self) -> None:
        """InputError unless raw pixels of this camera can be undistorted (its distortion model is supported)."""
        self._distortion()

    def image_k(self, rectified: bool = True) -> np.ndarray:
        """The 3x3 intrinsics of the image as published: P's left 3x3 for rectified images (when P is set), K
        for raw ones; what a DA3 metric graph's focal input is computed from (node, replay, calibration)."""
        if rectified and self.p[0, 0] > 0 and self.p[1, 1] > 0:
            return np.asarray(self.p[:, :3], np.float64).copy()
        return np.asarray(self.k, np.float64).copy()

    def pixel_rays(self, u: np.ndarray, v: np.ndarray, rectified: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """x/z and y/z (float64) of the rays through pixels (u, v): image_geometry's projectPixelTo3dRay.

        Rectified: from P, in the rectified frame. Raw: undistorted with K and D, in the optical frame.
        ``u`` and ``v`` have one shape (rectified: any two arrays, each mapped on its own).
        """
        u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
        if rectified:
            return (u - self.p[0, 2]) / self.p[0, 0], (v - self.p[1, 2]) / self.p[1, 1]
        undistort, _ = self._distortion()
        pixels = np.stack([u.ravel(), v.ravel()], axis=1)[:, None, :]
        normalized = undistort(pixels, self.k, self.d).reshape(-1, 2)
        return normalized[:, 0].reshape(u.shape), normalized[:, 1].reshape(u.shape)

    def project(self, points: np.ndarray, rectified: bool = True,
                min_depth: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(u, v) sub-pixel coordinates and depth z of the 3D points (optical frame) with z > ``min_depth``.

        image_geometry's project3dToPixel. Rectified: rotated by R into the rectified frame, then P
        (z is then the rectified depth). Raw: K and D through the distortion model. Points at or
        behind ``min_depth`` have no pixel and are left out.
        """
        points = np.asarray(points, np.float64).reshape(-1, 3)
        if rectified and self._rotates:
            points = points @ self.r.T  # into the rectified frame P is defined in
        else:
            _, to_pixels = self._distortion()
        ahead = points[:, 2] > min_depth
        if not ahead.all():
            points = points.compress(ahead, axis=0)
        if points.size == 0:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        z = points[:, 2]
        if rectified:
            uvw = points @ self.p[:, :3].T + self.p[:, 3]  # P [X; 1]
            return uvw[:, 0] / uvw[:, 2], uvw[:, 1] / uvw[:, 2], z
        uv = to_pixels(points, self.k, self.d).reshape(-1, 2)
        return uv[:, 0], uv[:, 1], z

    @cached_property
    def _rotates(self) -> bool:
        """R is not the identity (it is for monocular cameras: nothing to rotate into the rectified frame)."""
        return not np.array_equal(self.r, np.eye(3))

    @cached_property
    def rectified_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel x/z and y/z from P (float32 rows and columns, broadcastable to H x W)."""
        u, v = self.pixel_rays(np.arange(self.width), np.arange(self.height), rectified=True)
        return u.astype(np.float32)[None, :], v.astype(np.float32)[:, None]

    @cached_property
    def raw_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel x/z and y/z of the unrectified image, undistorted with K and D (H x W each)."""
        v, u = np.mgrid[0:self.height, 0:self.width].astype(np.float64)
        x, y = self.pixel_rays(u, v, rectified=False)
        return x.astype(np.float32), y.astype(np.float32)

    def rays(self, rectified: bool) -> tuple[np.ndarray, np.ndarray]:
        return self.rectified_rays if rectified else self.raw_rays

    def ray_grids(self, rectified: bool, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Contiguous full-size x/z and y/z of every ``stride``-th pixel, computed once per camera."""
        key = (rectified, stride)
        if key not in self._ray_grids:
            shape = (self.height, self.width)
            self._ray_grids[key] = tuple(np.ascontiguousarray(np.broadcast_to(ray, shape)[::stride, ::stride])
                                         for ray in self.rays(rectified))
        return self._ray_grids[key]


def focal_at_network(k, image_hw: tuple[int, int], network_hw: tuple[int, int]) -> np.ndarray:
    """float32 (B,): mean(fx, fy) of each camera K ((3, 3) or (B, 3, 3)) scaled from the image to the network
    input. Both DA3 resize steps scale the intrinsics by the same overall ratio per axis, so this equals the
    official intrinsics after its input processor; THE focal of DA3's metric scaling (graph, training)."""
    k = np.asarray(k, dtype=np.float64).reshape(-1, 3, 3)
    fx = k[:, 0, 0] * network_hw[1] / image_hw[1]
    fy = k[:, 1, 1] * network_hw[0] / image_hw[0]
    return ((fx + fy) / 2.0).astype(np.float32)
