"""LiDAR points -> a sparse depth map in the camera: the ground truth of calibration and evaluation.

Points already in the camera's optical frame are projected with the camera model the node uses
(P after R for rectified images; K and D through the distortion model for raw images), a z-buffer
keeps the nearest point per pixel, and points the camera cannot see (hidden behind a nearer
surface, visible to the LiDAR only because it looks from elsewhere) are removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .ros.camera_model import CameraModel

FLOAT32, FLOAT64 = 7, 8  # sensor_msgs/PointField datatypes


def scan_points(msg) -> np.ndarray:
    """x, y, z of a sensor_msgs/PointCloud2 (float32 or float64 fields, any layout) as (N, 3) float64.

    Non-finite points are dropped; an empty scan gives shape (0, 3).
    """
    fields = {f.name: f for f in msg.fields}
    missing = [name for name in "xyz" if name not in fields]
    if missing:
        raise ValueError(f"point cloud has no {', '.join(missing)} field(s); fields: {', '.join(fields) or 'none'}")
    count = int(msg.width) * int(msg.height)
    if count == 0:
        return np.zeros((0, 3))
    step, row_step = int(msg.point_step), int(msg.row_step)
    raw = np.frombuffer(bytes(msg.data) if not isinstance(msg.data, np.ndarray) else msg.data, np.uint8)
    if raw.size < row_step * (int(msg.height) - 1) + step * int(msg.width):
        raise ValueError(f"point cloud data has {raw.size} bytes, fewer than its {msg.height}x{msg.width} points "
                         f"of {step} bytes need")
    rows = np.lib.stride_tricks.as_strided(raw, (int(msg.height), int(msg.width), step), (row_step, step, 1))
    order = ">" if msg.is_bigendian else "<"
    columns = []
    for name in "xyz":
        field = fields[name]
        if field.datatype not in (FLOAT32, FLOAT64):
            raise ValueError(f"point cloud field {name} has datatype {field.datatype}; float32 (7) or float64 (8) "
                             f"expected")
        size = 4 if field.datatype == FLOAT32 else 8
        chunk = np.ascontiguousarray(rows[..., field.offset: field.offset + size]).reshape(-1)
        columns.append(chunk.view(f"{order}f{size}").astype(np.float64))
    points = np.stack(columns, axis=-1)
    return points[np.isfinite(points).all(axis=1)]


def project(points: np.ndarray, camera: CameraModel, rectified: bool,
            min_depth: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v) sub-pixel coordinates and depth z of the points in front of the camera (optical frame)."""
    points = np.asarray(points, np.float64).reshape(-1, 3)
    if rectified:
        points = points @ camera.r.T  # into the rectified frame P is defined in
    points = points[points[:, 2] > min_depth]
    if points.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    z = points[:, 2]
    if rectified:
        uvw = np.c_[points, np.ones(len(points))] @ camera.p.T
        return uvw[:, 0] / uvw[:, 2], uvw[:, 1] / uvw[:, 2], z
    zero = np.zeros(3)
    if camera.distortion_model == "equidistant":
        uv, _ = cv2.fisheye.projectPoints(points.reshape(-1, 1, 3), zero, zero, camera.k, camera.d[:4])
    elif camera.distortion_model in ("plumb_bob", "rational_polynomial"):
        uv, _ = cv2.projectPoints(points, zero, zero, camera.k, camera.d)
    else:
        raise ValueError(f"distortion model {camera.distortion_model!r} is not supported; use plumb_bob, "
                         f"rational_polynomial or equidistant")
    uv = uv.reshape(-1, 2)
    return uv[:, 0], uv[:, 1], z


def zbuffer(u: np.ndarray, v: np.ndarray, z: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest depth per pixel (pixel centres at integer coordinates, as in ROS); NaN where none."""
    col, row = np.rint(u).astype(np.int64), np.rint(v).astype(np.int64)
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    index, z = row[inside] * width + col[inside], z[inside]
    order = np.lexsort((z, index))  # by pixel, nearest first
    index, z = index[order], z[order]
    first = np.r_[True, index[1:] != index[:-1]]
    depth = np.full(height * width, np.nan, np.float32)
    depth[index[first]] = z[first]
    return depth.reshape(height, width)


@dataclass(frozen=True)
class OcclusionFilter:
    """Drops a point when most of its neighbours within ``window`` pixels are nearer by more than ``margin``.

    Points hidden from the camera project inside the image of the nearer surface that hides them,
    so they are surrounded by nearer points; visible points on slanted surfaces or beside an edge
    have at most about half their neighbours nearer.
    """

    window: int = 7
    margin: float = 0.1
    fraction: float = 0.5
    min_neighbours: int = 2

    def __post_init__(self) -> None:
        if self.window < 3 or self.window % 2 == 0:
            raise ValueError(f"occlusion window must be an odd number >= 3, got {self.window}")

    def apply(self, depth: np.ndarray) -> np.ndarray:
        valid = np.isfinite(depth)
        filled = np.where(valid, depth, np.inf).astype(np.float32)
        half = self.window // 2
        padded = np.pad(filled, half, constant_values=np.inf)
        neighbours = np.zeros(depth.shape, np.int32)
        nearer = np.zeros(depth.shape, np.int32)
        threshold = filled * np.float32(1 - self.margin)
        height, width = depth.shape
        for dy in range(self.window):
            for dx in range(self.window):
                if dy == half and dx == half:
                    continue
                shifted = padded[dy: dy + height, dx: dx + width]
                neighbours += np.isfinite(shifted)
                nearer += shifted < threshold
        hidden = valid & (nearer >= self.min_neighbours) & (nearer > self.fraction * neighbours)
        return np.where(hidden, np.float32(np.nan), depth).astype(np.float32)


def sparse_depth(points_camera: np.ndarray, camera: CameraModel, rectified: bool = True,
                 occlusion: OcclusionFilter | None = OcclusionFilter(), min_depth: float = 0.1) -> np.ndarray:
    """(H, W) float32 metres at the camera's resolution from points in its optical frame; NaN where none."""
    u, v, z = project(points_camera, camera, rectified, min_depth)
    depth = zbuffer(u, v, z, camera.height, camera.width)
    return occlusion.apply(depth) if occlusion is not None else depth
