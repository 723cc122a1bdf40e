"""Scenes with known depth for demos and tests: the embedded sample scene, the camera + LiDAR rig, sample bags.

``scene`` (the demo image and its true depth), ``rig`` (camera + LiDAR over boxes with analytic depth, and
its bags), ``sample_bag`` (a camera-only rosbag2); messages are built with ``msgs`` like real ones.
"""

__all__ = ["rig", "sample_bag", "scene"]
