"""Run the fused-graph demo from a ROS 2 workspace: ``ros2 launch depth_anything_ros demo.launch.py``."""

from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    params = PathJoinSubstitution([FindPackageShare("depth_anything_ros"), "config", "depth.yaml"])
    return LaunchDescription([
        DeclareLaunchArgument("params", default_value=params, description="ROS 2 params file"),
        DeclareLaunchArgument("output", default_value="demo_out", description="output directory"),
        ExecuteProcess(
            cmd=[PathJoinSubstitution([FindPackageShare("depth_anything_ros"), "..", "..", "lib",
                                       "depth_anything_ros", "depth-anything-ros"]),
                 "demo", "--params", LaunchConfiguration("params"), "--output", LaunchConfiguration("output")],
            output="screen",
        ),
    ])
