"""Checks shared by the tests of written pictures (reports, previews)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_png(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """The PNG at ``path``: it exists, decodes, has ``shape`` (rows, columns) and is not one flat colour."""
    assert path.stat().st_size > 0, path
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"{path} does not decode"
    assert image.shape[:2] == shape, (path, image.shape)
    assert float(image.astype(np.float64).var()) > 100.0, f"{path} is (nearly) blank"
    return image
