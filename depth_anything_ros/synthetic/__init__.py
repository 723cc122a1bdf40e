"""Synthetic data with known depth: the sample scene, a camera + LiDAR rig, sample bags (via msgs/).

- ``scene``: the embedded street-like scene rendered with its true depth.
- ``sample_bag``: a rosbag2 of the sample scene for replay.
- ``rig``: a camera + LiDAR rig over an analytic scene, written as a bag with /tf_static.
"""

__all__ = ["rig", "sample_bag", "scene"]
