"""Scenes with known depth for demos and tests: the embedded sample scene, the camera + LiDAR rig, sample bags.

``render_sample_scene`` and ``sample_camera`` (the demo image, its true depth and camera); ``SyntheticRig``,
``write_rig_bag`` and ``RIG_TOPICS`` (camera + LiDAR over boxes with analytic depth, recorded as a bag);
``write_sample_bag`` with ``IMAGE_TOPIC`` / ``INFO_TOPIC`` (a camera-only rosbag2); ``Distortion``,
``frame_distortions`` and ``laser_scene`` (a stand-in network: true depth under a per-frame affine, and a 2D laser
on the rig, for the live anchor). Messages are built with ``msgs`` like real ones.
"""

from depth_anything_ros.synthetic.distorted import Distortion, frame_distortions, laser_scene
from depth_anything_ros.synthetic.rig import RIG_TOPICS, SyntheticRig, write_rig_bag
from depth_anything_ros.synthetic.sample_bag import IMAGE_TOPIC, INFO_TOPIC, write_sample_bag
from depth_anything_ros.synthetic.scene import render_sample_scene, sample_camera

__all__ = ["IMAGE_TOPIC", "INFO_TOPIC", "RIG_TOPICS", "Distortion", "SyntheticRig", "frame_distortions",
           "laser_scene", "render_sample_scene", "sample_camera", "write_rig_bag", "write_sample_bag"]
