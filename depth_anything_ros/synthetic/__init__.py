"""Scenes with known depth for demos and tests: the embedded sample scene, the camera + LiDAR rig, sample bags.

``scene`` (the demo image and its true depth), ``rig`` (camera + LiDAR over boxes with analytic depth, and
its bags), ``sample_bag`` (a camera-only rosbag2), ``distorted`` (a stand-in network: true depth under a
per-frame affine, and a 2D laser on the rig, for the live anchor); messages are built with ``msgs`` like real ones.
"""

__all__ = ["distorted", "rig", "sample_bag", "scene"]
