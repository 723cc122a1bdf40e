"""Depth image -> PointCloud2 payload in depth_image_proc's layout, vectorised.

Layout (little-endian): x, y, z float32 at 0/4/8, point_step 16; with colour, ``rgb`` float32 at 16
(bytes b, g, r, 0 as depth_image_proc's iterators write them), point_step 32. Organized clouds keep
height x width with NaN points and is_dense false; unorganized clouds drop invalid points and are dense.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.msgs.point_cloud2 import RGB, XYZ, Field

FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class CloudOptions:
    organized: bool = True
    stride: int = 1
    min_depth: float = 0.0
    max_depth: float = math.inf
    colour: bool = False
    rectified: bool = True

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise ValueError(f"cloud stride must be >= 1, got {self.stride}")
        if not 0 <= self.min_depth < self.max_depth:
            raise ValueError(f"need 0 <= cloud min depth < max depth, got {self.min_depth}, {self.max_depth}")


@dataclass(frozen=True)
class CloudPayload:
    """Everything of a PointCloud2 except its header."""

    height: int
    width: int
    fields: tuple[Field, ...]  # all float32, count 1
    point_step: int
    data: np.ndarray  # uint8, height * width * point_step
    is_dense: bool

    @property
    def row_step(self) -> int:
        return self.width * self.point_step

    def points(self) -> np.ndarray:
        """The payload as (N, point_step // 4) float32, for inspection."""
        return self.data.view(np.float32).reshape(-1, self.point_step // 4)


def point_step(colour: bool) -> int:
    """Bytes per point of this layout: 16 (x, y, z, pad), 32 with colour (x, y, z, pad, rgb, 3 pads)."""
    return 32 if colour else 16


def organized_cloud_bytes(height: int, width: int, options: CloudOptions) -> int:
    """Payload bytes of the organized cloud of a height x width depth image (an unorganized one has at most this)."""
    return -(-height // options.stride) * -(-width // options.stride) * point_step(options.colour)


def pack_rgb(bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 (..., 3) -> float32 whose bytes are b, g, r, 0 (PCL's packed rgb)."""
    packed = np.zeros((*bgr.shape[:-1], 4), np.uint8)
    packed[..., :3] = bgr
    return packed.view(np.float32)[..., 0]


def valid_depth(depth: np.ndarray, min_depth: float, max_depth: float, valid: np.ndarray | None = None,
                mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Depth with NaN wherever it is non-finite or outside [min_depth, max_depth], and the bool mask of the rest.

    Limits compare in float32, the depth's type. ``valid`` and ``mask`` are filled in place when given.
    """
    upper = max_depth if math.isfinite(max_depth) else FLOAT32_MAX  # +Inf (too far) stays invalid
    if valid is None:
        valid = np.empty(depth.shape, np.float32)
    np.clip(depth, min_depth, upper, out=valid)  # in range <=> unchanged by clipping; NaN != NaN: invalid
    mask = np.equal(valid, depth, out=mask)
    valid.fill(np.nan)
    cv2.copyTo(depth, mask.view(np.uint8), valid)
    return valid, mask


class CloudBuilder:
    """Builds the clouds of a stream of frames, reusing its scratch planes between frames.

    Fresh scratch arrays would page-fault on every frame, so they are kept; each returned payload is
    still a new array. Use one builder per thread.
    """

    def __init__(self) -> None:
        self._scratch: dict[str, np.ndarray] = {}

    def _plane(self, name: str, shape: tuple[int, int], dtype: type = np.float32) -> np.ndarray:
        plane = self._scratch.get(name)
        if plane is None or plane.shape != shape:
            plane = self._scratch[name] = np.zeros(shape, dtype)  # the "zero" plane is never written
        return plane

    def build(self, depth: np.ndarray, camera: CameraModel, options: CloudOptions,
              bgr: np.ndarray | None = None) -> CloudPayload:
        """Points x = ray_x * z, y = ray_y * z, z = depth; non-finite or out-of-range depth is invalid.

        The organized cloud is written by one interleaving pass (``cv2.merge``) of the per-field planes.
        """
        if depth.shape != (camera.height, camera.width):
            raise ValueError(f"depth {depth.shape[1]}x{depth.shape[0]} does not match the camera "
                             f"{camera.width}x{camera.height}")
        if options.colour and (bgr is None or bgr.shape[:2] != depth.shape):
            raise ValueError("a coloured cloud needs the BGR image at the depth's resolution")
        s = options.stride
        z = np.ascontiguousarray(depth[::s, ::s], np.float32)
        shape = z.shape
        ray_x, ray_y = camera.ray_grids(options.rectified, s)
        z_valid, mask = valid_depth(z, options.min_depth, options.max_depth, self._plane("z", shape),
                                    self._plane("mask", shape, bool))
        fields = XYZ + ((RGB,) if options.colour else ())
        floats = point_step(options.colour) // 4
        if options.organized:
            height, width = shape
            zero = self._plane("zero", shape)
            planes = [cv2.multiply(ray_x, z_valid, self._plane("x", shape)),
                      cv2.multiply(ray_y, z_valid, self._plane("y", shape)), z_valid, zero]
            if options.colour:
                planes += [np.ascontiguousarray(pack_rgb(bgr[::s, ::s])), zero, zero, zero]
            cloud = cv2.merge(planes, np.empty((height, width, floats), np.float32))
            dense = False
        else:
            zv = z[mask]
            height, width = 1, int(zv.size)
            cloud = np.zeros((width, floats), np.float32)
            cloud[:, 0] = ray_x[mask] * zv
            cloud[:, 1] = ray_y[mask] * zv
            cloud[:, 2] = zv
            if options.colour:
                cloud[:, 4] = pack_rgb(bgr[::s, ::s][mask])
            dense = True
        data = cloud.reshape(-1).view(np.uint8)
        return CloudPayload(height, width, fields, floats * 4, data, dense)


def build_cloud(depth: np.ndarray, camera: CameraModel, options: CloudOptions,
                bgr: np.ndarray | None = None) -> CloudPayload:
    """One cloud with a builder of its own (streams keep a CloudBuilder)."""
    return CloudBuilder().build(depth, camera, options, bgr)
