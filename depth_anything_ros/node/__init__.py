"""The ROS 2 node (the only rclpy user), its knob table, the one frame path, bag replay and the launch files' logic.

What other parts use: ``PipelineConfig`` and ``knobs`` (THE knob table: default, description, choices, range),
``config_from_parameters``; ``DepthPipeline`` (image -> depth, camera_info, cloud; ``infer`` runs it) and its
``FrameResult``; ``FramePath`` (an image + camera_info message pair -> ``FrameOutcome``: messages, or the counted
reason; the node's worker and ``replay`` both call it); ``replay`` (a bag through the frame path into an MCAP
bag); and for the launch files, ``launch_arguments``, ``argument_values``, ``parse_cameras``,
``depth_node_action`` and ``shm_profile_actions``.

The rclpy node itself (``ros_node``: ``DepthNode``, ``DepthLifecycleNode``, entry points ``depth_node`` and
``depth_lifecycle_node``) is imported by module: it needs rclpy, which nothing else here does. The parameters
(``parameters``: ``python -m depth_anything_ros.node.parameters`` writes config/depth.yaml) are imported by
module too.
"""

from depth_anything_ros.node.config import Knob, PipelineConfig, config_from_parameters, knobs
from depth_anything_ros.node.frame_path import FrameOutcome, FramePath
from depth_anything_ros.node.launch_support import (
    argument_values,
    depth_node_action,
    launch_arguments,
    parse_cameras,
    shm_profile_actions,
)
from depth_anything_ros.node.pipeline import DepthPipeline, FrameResult
from depth_anything_ros.node.replay import replay

__all__ = ["DepthPipeline", "FrameOutcome", "FramePath", "FrameResult", "Knob", "PipelineConfig", "argument_values",
           "config_from_parameters", "depth_node_action", "knobs", "launch_arguments", "parse_cameras", "replay",
           "shm_profile_actions"]
