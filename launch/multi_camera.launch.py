"""One depth node per camera: ``ros2 launch depth_anything_ros multi_camera.launch.py cameras:="[/front, /rear]"``.

Every node gets the same params file and arguments, in its own camera namespace. Each node loads
its own engine (GPU memory grows with the number of cameras).
"""

from launch.actions import DeclareLaunchArgument, OpaqueFunction

from depth_anything_ros.node import (
    argument_values,
    depth_node_action,
    launch_arguments,
    parse_cameras,
    shm_profile_actions,
)
from launch import LaunchDescription


def _nodes(context):
    arguments = argument_values(context)
    return [depth_node_action(camera, arguments)
            for camera in parse_cameras(context.launch_configurations["cameras"])]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([
        DeclareLaunchArgument("cameras", default_value="[/camera]",
                              description="camera namespaces, e.g. [/front, /rear]"),
        *launch_arguments(),
        *shm_profile_actions(),  # one 64 MiB /dev/shm segment per node process (README: Transport)
        OpaqueFunction(function=_nodes),
    ])
