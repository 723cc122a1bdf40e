"""A procedurally rendered street-like scene: the embedded default image of the demo."""

from __future__ import annotations

import numpy as np

from depth_anything_ros.core.camera import CameraModel

SAMPLE_SIZE = (480, 640)
CAMERA_HEIGHT = 1.5  # metres above the ground plane


def sample_intrinsics(height: int, width: int) -> tuple[float, float, float]:
    """(focal, cx, cy) in pixels of the sample scene's pinhole camera."""
    return 0.8 * width, (width - 1) / 2, (height - 1) / 2


def sample_camera(height: int, width: int) -> CameraModel:
    """The sample scene's pinhole camera (no distortion, rectified = raw)."""
    return CameraModel.pinhole(width, height, *sample_intrinsics(height, width))


def render_sample_scene(height: int = SAMPLE_SIZE[0], width: int = SAMPLE_SIZE[1],
                        forward: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A BGR uint8 image and its true depth (metres, inf for sky): a checkered ground plane
    seen from 1.5 m with a wall of boxes, rendered by ray casting through a pinhole camera
    moved ``forward`` metres along its optical axis (boxes must stay ahead: forward < 6)."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    ray_x, ray_y = sample_camera(height, width).pixel_rays(u, v)  # optical frame: x right, y down, z forward
    depth = np.full((height, width), np.inf)
    image = np.zeros((height, width, 3))
    sky = np.clip(0.55 + 0.45 * (1 - v / height), 0, 1)
    image[:] = np.stack([sky, 0.8 * sky, 0.55 * sky], axis=-1)  # BGR: blue-ish sky
    ground = ray_y > 1e-6
    z_ground = np.where(ground, CAMERA_HEIGHT / np.maximum(ray_y, 1e-6), np.inf)
    with np.errstate(invalid="ignore"):
        cells = np.floor(ray_x * z_ground) + np.floor(z_ground + forward)
    checker = np.where(ground, cells, 0).astype(np.int64) % 2
    shade = np.where(checker == 1, 0.75, 0.35)[..., None] * np.array([0.9, 0.95, 1.0])
    image[ground] = shade[ground]
    depth[ground] = z_ground[ground]
    for x_left, x_right, top, z, colour in ((-3.0, -1.0, 1.0, 6.0, (0.2, 0.3, 0.9)),
                                            (0.5, 2.5, 0.5, 9.0, (0.3, 0.8, 0.3)),
                                            (-0.8, 0.4, 2.0, 14.0, (0.8, 0.5, 0.2))):
        z = z - forward
        x_hit, y_hit = ray_x * z, ray_y * z
        hit = (x_hit >= x_left) & (x_hit <= x_right) & (y_hit >= -top) & (y_hit <= CAMERA_HEIGHT) & (z < depth)
        stripes = 0.8 + 0.2 * (np.floor(y_hit * 4) % 2)
        image[hit] = (np.array(colour) * stripes[..., None])[hit]
        depth[hit] = z
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8), depth.astype(np.float32)
