"""sensor_msgs <-> numpy for rclpy and rosbags message classes alike, and bag access.

- ``point_cloud2``: PointField constants, ``Field`` layouts, ``read_points`` and ``create_cloud``.
- ``bags``: ``open_bags`` (rosbag2 MCAP/sqlite3 and ROS 1 .bag), ``require_topic`` (naming the topics
  that exist when one is missing) and ``header_stamp`` (a serialized message's stamp without decoding it).
- ``anchor_input``: ``laser_scan_points`` and ``cloud_points``, anchor messages -> points or a reason (never raises).
"""

from depth_anything_ros.msgs.bags import header_stamp, open_bags, require_topic, topics_text
from depth_anything_ros.msgs.point_cloud2 import (
           FLOAT32,
           FLOAT64,
           RGB,
           XYZ,
           Field,
           create_cloud,
           float32_fields,
           pack_float32,
           read_points,
)

__all__ = ["FLOAT32", "FLOAT64", "RGB", "XYZ", "Field", "create_cloud", "float32_fields", "header_stamp",
           "open_bags", "pack_float32", "read_points", "require_topic", "topics_text"]
