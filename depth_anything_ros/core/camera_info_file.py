"""The camera_info YAML that camera_calibration and camera_info_manager write, as a CameraModel.

    image_width: 640
    image_height: 480
    camera_name: front
    camera_matrix: {rows: 3, cols: 3, data: [fx, 0, cx, 0, fy, cy, 0, 0, 1]}
    distortion_model: plumb_bob
    distortion_coefficients: {rows: 1, cols: 5, data: [k1, k2, t1, t2, k3]}
    rectification_matrix: {rows: 3, cols: 3, data: [...]}
    projection_matrix: {rows: 3, cols: 4, data: [...]}

Only the size and camera_matrix are required (the rest defaults to no distortion, R = I, P = [K | 0]).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from depth_anything_ros.core.camera import CameraModel


def _matrix(data: dict, name: str, shape: tuple[int, int], path: Path) -> np.ndarray | None:
    entry = data.get(name)
    if entry is None:
        return None
    values = entry.get("data") if isinstance(entry, dict) else None
    try:
        array = np.asarray(values, np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {name}.data must be numbers: {error}") from error
    if array.size != shape[0] * shape[1]:
        raise ValueError(f"{path}: {name}.data needs {shape[0] * shape[1]} numbers, got {array.size}")
    return array.reshape(shape)


def load_camera_info(path: str | Path) -> CameraModel:
    """The camera of a camera_info YAML file, validated (fx, fy > 0); ValueError naming what is wrong."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read camera_info {path}: {error}") from error
    if not isinstance(data, dict) or "camera_matrix" not in data:
        raise ValueError(f"{path} is not a camera_info YAML (camera_matrix missing; camera_calibration writes one)")
    try:
        width, height = int(data["image_width"]), int(data["image_height"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: image_width and image_height must be integers: {error}") from error
    k = _matrix(data, "camera_matrix", (3, 3), path)
    p = _matrix(data, "projection_matrix", (3, 4), path)
    r = _matrix(data, "rectification_matrix", (3, 3), path)
    d = data.get("distortion_coefficients")
    d = np.asarray(d.get("data") or [], np.float64) if isinstance(d, dict) else np.zeros(0)
    camera = CameraModel(width, height, k, np.c_[k, np.zeros(3)] if p is None or not p.any() else p, d,
                         str(data.get("distortion_model") or "plumb_bob"), np.eye(3) if r is None else r)
    try:
        camera.validate()
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    return camera
