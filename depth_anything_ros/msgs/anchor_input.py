"""Anchor messages -> points in their own frame: sensor_msgs/LaserScan, PointCloud2 and Range, rclpy or rosbags classes.

Never raises for a bad message: the result's ``reason`` (core.anchor_reasons) says what was wrong, so a broken
anchor publisher costs the node its anchor, not its depth. Moving the points into the camera's optical frame
(``Transform.apply``) and fitting them (core.anchor) are the caller's next steps.

A Range (a single-beam rangefinder: sonar, ToF, a UAV altimeter) is a scale-only anchor: its reading is the
nearest surface in its cone, which is taken as a disc facing the sensor at that distance (``RANGE_SAMPLES`` points
across the cone), all at one depth, so the fit can fix a scale but never a shift.
"""

from __future__ import annotations

import math

import numpy as np

from depth_anything_ros.core.anchor_reasons import AnchorPoints, AnchorReason
from depth_anything_ros.core.laser import SANE_RANGE, scan_points
from depth_anything_ros.msgs.point_cloud2 import read_points

_NONE = np.zeros((0, 3))
RANGE_SAMPLES = 15  # a Range's cone is sampled on a RANGE_SAMPLES x RANGE_SAMPLES grid clipped to its disc


def laser_scan_points(msg) -> AnchorPoints:
    """A LaserScan's valid returns as (N, 3) points in its frame (z = 0); see core.laser."""
    try:
        fields = (msg.angle_min, msg.angle_increment, msg.ranges, msg.range_min, msg.range_max)
    except AttributeError as error:
        return AnchorPoints(_NONE, 0, AnchorReason.BAD_MESSAGE, f"not a LaserScan: {error}")
    return scan_points(*fields)


def oversized_cloud(msg, max_cloud_points: int) -> AnchorPoints | None:
    """``TOO_LARGE`` for a cloud with more than ``max_cloud_points`` points (0: no limit), judged from its size alone
    (the subscription callback can afford it: nothing is read); None otherwise, or when it is no cloud at all."""
    try:
        received = int(msg.height) * int(msg.width)
    except (AttributeError, TypeError, ValueError):
        return None  # cloud_points says what is wrong with it
    if max_cloud_points and received > max_cloud_points:
        return AnchorPoints(_NONE, received, AnchorReason.TOO_LARGE,
                            f"the cloud has {received} points, more than anchor_max_cloud_points {max_cloud_points} "
                            f"(a map or another sensor's topic on anchor/points?)")
    return None


def cloud_points(msg, max_points: int = 0) -> AnchorPoints:
    """A PointCloud2's finite x, y, z as (N, 3) float64; a cloud without them, or short data, gives a reason.

    ``max_points`` > 0: at most about that many points are read, evenly through the cloud (the fit decimates to
    it anyway; reading only those keeps a large cloud cheap). A cloud too large to read at all is refused before
    this, from its size alone: ``oversized_cloud``.
    """
    try:
        received = int(msg.height) * int(msg.width)
        stride = -(-received // max_points) if max_points and received > max_points else 1
        points = read_points(msg, ("x", "y", "z"), skip_nans=True, stride=stride)
    except (AttributeError, TypeError, ValueError) as error:
        return AnchorPoints(_NONE, 0, AnchorReason.BAD_MESSAGE, f"unusable anchor cloud: {error}")
    if len(points) == 0:
        detail = "the cloud is empty" if received == 0 else f"all {received} points are NaN or infinite"
        return AnchorPoints(points, received, AnchorReason.NO_POINTS, detail)
    return AnchorPoints(points, received)


def _disc(distance: float, half_angle: float) -> np.ndarray:
    """Points of a disc facing the sensor (+x) at ``distance`` that fills a cone of ``half_angle``."""
    if not half_angle > 0:
        return np.array([[distance, 0.0, 0.0]])
    radius = distance * math.tan(min(half_angle, math.radians(80.0)))
    grid = np.linspace(-radius, radius, RANGE_SAMPLES)
    y, z = np.meshgrid(grid, grid)
    inside = y * y + z * z <= radius * radius + 1e-12
    return np.stack([np.full(int(inside.sum()), distance), y[inside], z[inside]], axis=1)


def range_points(msg) -> AnchorPoints:
    """A Range reading as points on its cone (x forward, REP 117: +-Inf and NaN are no reading)."""
    try:
        reading, low, high = float(msg.range), float(msg.min_range), float(msg.max_range)
        half_angle = float(msg.field_of_view) / 2
    except (AttributeError, TypeError, ValueError) as error:
        return AnchorPoints(_NONE, 0, AnchorReason.BAD_MESSAGE, f"not a Range: {error}")
    if not math.isfinite(reading) or reading <= 0:
        return AnchorPoints(_NONE, 1, AnchorReason.NO_POINTS, f"the range reading is {reading} (REP 117: +Inf no "
                                                              f"return, -Inf too close, NaN invalid)")
    reason, detail = AnchorReason.OK, ""
    if not (math.isfinite(high) and max(low, 0.0) < high <= SANE_RANGE):
        reason, detail, high = AnchorReason.RANGE_MAX_INVALID, f"max_range {high} is unusable; readings up to " \
                                                               f"{SANE_RANGE:g} m kept", SANE_RANGE
    if not (max(low, 0.0) <= reading <= high):
        return AnchorPoints(_NONE, 1, AnchorReason.NO_POINTS, f"the range reading {reading:g} m is outside "
                                                              f"[{low:g}, {high:g}] m")
    points = _disc(reading, half_angle if math.isfinite(half_angle) else 0.0)
    return AnchorPoints(points, len(points), reason, detail)
