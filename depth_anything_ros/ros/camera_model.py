"""The camera of a sensor_msgs/CameraInfo as image_geometry sees it: binning and ROI applied, validated.

Rays per pixel, for building clouds from depth:
- rectified images (the default): from P, as depth_image_proc does: x = (u - cx) / fx, y = (v - cy) / fy;
- raw images: from K and D through the distortion model (plumb_bob, rational_polynomial, equidistant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from ..core.errors import InputError

DISTORTION_MODELS = ("plumb_bob", "rational_polynomial", "equidistant")


def _matrix(msg, name: str):
    """CameraInfo's k/d/r/p (ROS 2), or K/D/R/P as ROS 1 messages from .bag files name them."""
    return getattr(msg, name) if hasattr(msg, name) else getattr(msg, name.upper())


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
        k = np.asarray(_matrix(msg, "k"), np.float64).reshape(3, 3).copy()
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

    @cached_property
    def rectified_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel x/z and y/z from P (float32 rows and columns, broadcastable to H x W)."""
        fx, fy, cx, cy = self.p[0, 0], self.p[1, 1], self.p[0, 2], self.p[1, 2]
        u = ((np.arange(self.width, dtype=np.float64) - cx) / fx).astype(np.float32)
        v = ((np.arange(self.height, dtype=np.float64) - cy) / fy).astype(np.float32)
        return u[None, :], v[:, None]

    @cached_property
    def raw_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel x/z and y/z of the unrectified image, undistorted with K and D (H x W each)."""
        if self.distortion_model not in DISTORTION_MODELS:
            raise InputError("intrinsics", f"distortion model {self.distortion_model!r} is not supported; use one "
                                           f"of {', '.join(DISTORTION_MODELS)}")
        u, v = np.meshgrid(np.arange(self.width, dtype=np.float64), np.arange(self.height, dtype=np.float64))
        pixels = np.stack([u.ravel(), v.ravel()], axis=1)[:, None, :]
        if self.distortion_model == "equidistant":
            coeffs = np.zeros(4) if self.d.size == 0 else self.d[:4]
            normalized = cv2.fisheye.undistortPoints(pixels, self.k, coeffs)
        else:
            criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 1e-9)
            if hasattr(cv2, "undistortPointsIter"):  # OpenCV 4 names the overload with criteria
                normalized = cv2.undistortPointsIter(pixels, self.k, self.d, None, None, criteria)
            else:
                normalized = cv2.undistortPoints(pixels, self.k, self.d, R=None, P=None, criteria=criteria)
        rays = normalized.reshape(self.height, self.width, 2).astype(np.float32)
        return rays[..., 0], rays[..., 1]

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
