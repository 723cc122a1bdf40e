"""One depth node for one camera: ``ros2 launch depth_anything_ros depth.launch.py camera:=/camera``.

Subscribes ``<camera>/<image>`` (default image_rect) and ``<camera>/camera_info``; publishes
``<camera>/depth/image``, ``depth/camera_info``, ``depth/points``. Arguments: see ``--show-args``.
Depth Anything 3: ``model:=da3metric-large checkpoint:=checkpoints/da3metric-large`` (focal from camera_info).
FastDDS: config/fastdds_shm.xml unless FASTRTPS_/FASTDDS_DEFAULT_PROFILES_FILE is already set.
"""

from launch.actions import DeclareLaunchArgument, OpaqueFunction

from depth_anything_ros.node import argument_values, depth_node_action, launch_arguments, shm_profile_actions
from launch import LaunchDescription


def _node(context):
    camera = "/" + context.launch_configurations["camera"].strip("/")
    return [depth_node_action(camera, argument_values(context))]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([
        DeclareLaunchArgument("camera", default_value="/camera", description="camera namespace"),
        *launch_arguments(),
        *shm_profile_actions(),  # FastDDS shared memory large enough for frames and clouds (README: Transport)
        OpaqueFunction(function=_node),
    ])
