"""Every camera of a robot in ONE depth node with one batched engine:
``ros2 launch depth_anything_ros multi_camera.launch.py cameras:="[/front, /rear]"``.

The node's ``cameras`` parameter gets each namespace (inputs NS/<image>, NS/camera_info; outputs NS/depth/*);
with ``cameras:=""`` the params file's own ``cameras`` is used (config/six_cameras.yaml: a six-camera rig).
With ``anchor_input:=points anchor_topic:=/lidar`` that one topic feeds every camera's live anchor (anchor_shared).
``one_node:=false`` starts one node process per camera instead, each with its own engine (GPU memory grows with
the number of cameras: README, Multi-camera).
"""

from launch.actions import DeclareLaunchArgument, OpaqueFunction

from depth_anything_ros.node import (
    argument_values,
    depth_node_action,
    launch_arguments,
    multi_camera_node_action,
    parse_cameras,
    shm_profile_actions,
)
from launch import LaunchDescription


def _nodes(context):
    arguments = argument_values(context)
    text = context.launch_configurations["cameras"].strip()
    cameras = parse_cameras(text) if text else []
    if context.launch_configurations["one_node"].strip().lower() != "false":
        return [multi_camera_node_action(cameras, arguments)]
    if not cameras:
        raise ValueError("one_node:=false needs cameras:=[/front, /rear]")
    return [depth_node_action(camera, arguments) for camera in cameras]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([
        DeclareLaunchArgument("cameras", default_value="",
                              description="camera namespaces, e.g. [/front, /rear] (empty: the params file's "
                                          "cameras parameter)"),
        DeclareLaunchArgument("one_node", default_value="true",
                              description="true: one node and one batched engine for all cameras; false: one node "
                                          "process per camera"),
        *launch_arguments(),
        *shm_profile_actions(),  # one 64 MiB /dev/shm segment per node process (README: Transport)
        OpaqueFunction(function=_nodes),
    ])
