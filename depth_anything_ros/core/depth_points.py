"""Range-sensor points -> depth at camera pixels: the ground truth of calibration and the node's live anchor.

Points already in the camera's optical frame are projected by the one camera model (``CameraModel.project``:
P after R for rectified images, K and D for raw ones); here is only what is LiDAR-specific: a z-buffer keeps
the nearest point per pixel (``nearest_per_pixel`` as a list, ``zbuffer`` as an image), and points the camera
cannot see (hidden behind a nearer surface, visible to the LiDAR only because it looks from elsewhere) are
removed (``OcclusionFilter``, a pass over the whole image).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_anything_ros.core.camera import CameraModel


def nearest_per_pixel(u: np.ndarray, v: np.ndarray, z: np.ndarray, height: int,
                      width: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat pixel index row * width + col, depth) of the nearest point per pixel, by pixel index.

    Pixel centres are at integer coordinates, as in ROS; points outside the image are left out.
    """
    col, row = np.rint(u).astype(np.int64), np.rint(v).astype(np.int64)
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    index, z = row[inside] * width + col[inside], z[inside]
    order = np.lexsort((z, index))  # by pixel, nearest first
    index, z = index[order], z[order]
    first = np.empty(index.size, bool)
    first[:1] = True
    np.not_equal(index[1:], index[:-1], out=first[1:])
    return index[first], z[first]


def zbuffer(u: np.ndarray, v: np.ndarray, z: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest depth per pixel as an (H, W) float32 image; NaN where none."""
    index, nearest = nearest_per_pixel(u, v, z, height, width)
    depth = np.full(height * width, np.nan, np.float32)
    depth[index] = nearest
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
    u, v, z = camera.project(points_camera, rectified, min_depth)
    depth = zbuffer(u, v, z, camera.height, camera.width)
    return occlusion.apply(depth) if occlusion is not None else depth
