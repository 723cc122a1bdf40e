"""Anchor messages -> points in their own frame: sensor_msgs/LaserScan and PointCloud2, rclpy or rosbags classes.

Never raises for a bad message: the result's ``reason`` (core.anchor_reasons) says what was wrong, so a broken
anchor publisher costs the node its anchor, not its depth. Moving the points into the camera's optical frame
(``Transform.apply``) and fitting them (core.anchor) are the caller's next steps.
"""

from __future__ import annotations

import numpy as np

from depth_anything_ros.core.anchor_reasons import AnchorPoints, AnchorReason
from depth_anything_ros.core.laser import scan_points
from depth_anything_ros.msgs.point_cloud2 import read_points

_NONE = np.zeros((0, 3))


def laser_scan_points(msg) -> AnchorPoints:
    """A LaserScan's valid returns as (N, 3) points in its frame (z = 0); see core.laser."""
    try:
        fields = (msg.angle_min, msg.angle_increment, msg.ranges, msg.range_min, msg.range_max)
    except AttributeError as error:
        return AnchorPoints(_NONE, 0, AnchorReason.BAD_MESSAGE, f"not a LaserScan: {error}")
    return scan_points(*fields)


def cloud_points(msg) -> AnchorPoints:
    """A PointCloud2's finite x, y, z as (N, 3) float64; a cloud without them, or short data, gives a reason."""
    try:
        received = int(msg.height) * int(msg.width)
        points = read_points(msg, ("x", "y", "z"), skip_nans=True)
    except (AttributeError, TypeError, ValueError) as error:
        return AnchorPoints(_NONE, 0, AnchorReason.BAD_MESSAGE, f"unusable anchor cloud: {error}")
    if len(points) == 0:
        detail = "the cloud is empty" if received == 0 else f"all {received} points are NaN or infinite"
        return AnchorPoints(points, received, AnchorReason.NO_POINTS, detail)
    return AnchorPoints(points, received)
