"""A stand-in "network" for anchor tests and benchmarks: true depth under a different affine per frame.

A relative network's output is depth (or inverse depth) up to a scale and shift that change with the image;
``Distortion`` is one such affine in the model's own space, ``frame_distortions`` a sequence of them (slow drift
plus a random part per frame). ``laser_scene`` is the rig's camera with a horizontal 2D laser under it and
held-out depth from the rig's 48-beam LiDAR. Honest about what it is: it tests the anchor's arithmetic on exact
geometry, not a network's errors.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.depth_points import sparse_depth
from depth_anything_ros.core.transforms import Transform
from depth_anything_ros.synthetic.rig import LIDAR_TO_OPTICAL, SyntheticRig


@dataclass(frozen=True)
class Distortion:
    """raw = a / depth + b (relative: inverse depth), a * depth + b (relative-depth), a * depth (metric)."""

    a: float
    b: float = 0.0

    def raw(self, kind: str, depth: np.ndarray, noise: float = 0.0, seed: int = 0) -> np.ndarray:
        """The "network output" for true ``depth`` (inf: no surface), with per-pixel relative ``noise`` (std)."""
        depth = np.asarray(depth, np.float64)
        wobble = 1 + noise * np.random.default_rng(seed).standard_normal(depth.shape) if noise else 1.0
        with np.errstate(divide="ignore"):
            if kind == "relative":
                out = self.a / depth * wobble + self.b  # no surface reads b, as zero disparity would
            elif kind == "relative-depth":
                out = self.a * depth * wobble + self.b
            else:
                out = self.a * depth * wobble
        return np.where(np.isfinite(out), out, 0.0).astype(np.float32)

    def head(self) -> tuple[float, float]:
        """(scale, shift) of the head equation that undoes it: 1/d (or d) = (raw - b) / a."""
        return 1 / self.a, -self.b / self.a


def frame_distortions(frames: int, seed: int = 0, drift: float = 0.7, jitter: float = 0.05,
                      shift_jitter: float = 0.02, a: float = 10.0) -> list[Distortion]:
    """Per frame a different affine: a slow drift (scale x exp(``drift``) and shift + 0.05 over the run) and a
    random part per frame (log-scale std ``jitter``, shift std ``shift_jitter``, in raw units)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(frames):
        t = k / max(frames - 1, 1)
        out.append(Distortion(a * float(np.exp(drift * t + jitter * rng.standard_normal())),
                              0.05 * t + shift_jitter * float(rng.standard_normal())))
    return out


@dataclass(frozen=True)
class LaserScene:
    camera: CameraModel
    truth: np.ndarray  # (H, W) float64 metres at every pixel, inf where no surface
    laser_points: np.ndarray  # (N, 3) a horizontal 2D laser's returns in the camera's optical frame
    held_out: np.ndarray  # (H, W) metres from the rig's 48-beam LiDAR (occlusion-filtered), NaN elsewhere


@functools.lru_cache(maxsize=1)
def laser_scene() -> LaserScene:
    """The default rig with a 2D laser 1 m below the camera (0.5 m above the ground slab), 720 beams over 90
    degrees: it sees the near box (6-7 m), the right box (11-12 m) and the wall (25 m)."""
    rig = SyntheticRig()
    laser = SyntheticRig(lidar_in_camera=Transform(LIDAR_TO_OPTICAL, np.array([0.0, 1.0, 0.0])),
                         elevations_deg=(0.0, 0.0, 1), azimuths_deg=(-45.0, 45.0, 720))
    camera = rig.camera()
    held_out = sparse_depth(rig.lidar_in_camera.apply(rig.lidar_scan()), camera)
    return LaserScene(camera, rig.true_depth().astype(np.float64), laser.lidar_in_camera.apply(laser.lidar_scan()),
                      held_out)
