"""A 2D laser scan (sensor_msgs/LaserScan fields) -> points in the scan's frame, REP 117 values dropped.

Beam i points at angle_min + i * angle_increment (counter-clockwise about z, REP 103), so its point is
(r cos a, r sin a, 0). Ranges that are NaN or infinite (REP 117: -Inf too close, +Inf no return, NaN invalid),
below range_min or above range_max are dropped. A range_max that is 0, negative, not finite or not above
range_min (drivers that leave it unset) cannot bound anything: it is ignored with the note
``RANGE_MAX_INVALID``, and ranges above ``SANE_RANGE`` are dropped instead, as they are in any case.
"""

from __future__ import annotations

import math

import numpy as np

from depth_anything_ros.core.anchor_reasons import AnchorPoints, AnchorReason

SANE_RANGE = 1000.0  # metres: no range sensor measures farther; values beyond are garbage


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def scan_points(angle_min: float, angle_increment: float, ranges, range_min: float,
                range_max: float) -> AnchorPoints:
    """The scan's valid returns as (N, 3) points; never raises (``reason`` says what was wrong)."""
    try:
        r = np.asarray(ranges, np.float64).ravel()
    except (TypeError, ValueError) as error:
        return AnchorPoints(np.zeros((0, 3)), 0, AnchorReason.BAD_MESSAGE, f"scan ranges are not numbers: {error}")
    received = r.size
    angle_min, angle_increment = _number(angle_min), _number(angle_increment)
    range_min, range_max = _number(range_min), _number(range_max)
    if received == 0:
        return AnchorPoints(np.zeros((0, 3)), 0, AnchorReason.NO_POINTS, "the scan has no ranges")
    if not (math.isfinite(angle_min) and math.isfinite(angle_increment)) or (angle_increment == 0 and received > 1):
        return AnchorPoints(np.zeros((0, 3)), received, AnchorReason.BAD_MESSAGE,
                            f"scan angles are unusable: angle_min {angle_min}, angle_increment {angle_increment}")
    reason, detail = AnchorReason.OK, ""
    low = range_min if math.isfinite(range_min) and range_min > 0 else 0.0
    high = range_max
    if not (math.isfinite(range_max) and low < range_max <= SANE_RANGE):
        reason = AnchorReason.RANGE_MAX_INVALID
        detail = f"range_max {range_max} is unusable (range_min {range_min}); ranges up to {SANE_RANGE:g} m kept"
        high = SANE_RANGE
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(r) & (r >= low) & (r <= high) & (r > 0)
    angles = angle_min + angle_increment * np.flatnonzero(keep)
    kept = r[keep]
    points = np.stack([kept * np.cos(angles), kept * np.sin(angles), np.zeros_like(kept)], axis=1)
    if kept.size == 0:
        return AnchorPoints(points, received, AnchorReason.NO_POINTS,
                            f"none of the {received} ranges is finite and within [{low:g}, {high:g}] m")
    return AnchorPoints(points, received, reason, detail)
