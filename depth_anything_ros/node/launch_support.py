"""What the launch files share: turning launch arguments into node actions (needs launch_ros).

``depth.launch.py`` starts one node for ``camera:=/ns``; ``multi_camera.launch.py`` one per camera of
``cameras:="[/front, /rear]"``; both point FastDDS at config/fastdds_shm.xml unless a profile is already set.
The parsing and override rules are plain functions, tested without ROS.
"""

from __future__ import annotations

import re

import yaml

from depth_anything_ros.model import DA3_NAMES
from depth_anything_ros.node.transport import FASTDDS_VAR, FASTRTPS_VAR, PROFILE_FILE

NAMESPACE = re.compile(r"^(/[A-Za-z_][A-Za-z0-9_]*)+$")

# launch arguments forwarded as parameter overrides when given (empty: the params file decides)
OVERRIDABLE = ("checkpoint", "model", "onnx", "calibration_file", "backend", "anchor_input", "anchor_extrinsic",
               "anchor_extrinsics_file")
ANCHOR_NAMES = ("anchor/points", "anchor/scan", "anchor/range")  # remapped to anchor_topic (one is subscribed)
BOOL_ARGUMENTS = ("use_compressed",)


def parse_cameras(text: str) -> list[str]:
    """'[/front, /rear]' or '/front,/rear' -> ['/front', '/rear']; namespaces are made absolute."""
    text = text.strip()
    try:
        value = yaml.safe_load(text) if text.startswith("[") else [part for part in text.split(",")]
    except yaml.YAMLError as error:
        raise ValueError(f"cameras must be a list like [/front, /rear], got {text!r}: {error}") from error
    if not isinstance(value, list):
        raise ValueError(f"cameras must be a list like [/front, /rear], got {text!r}")
    cameras = ["/" + str(item).strip().strip("/") for item in value if str(item).strip().strip("/")]
    bad = [camera for camera in cameras if not NAMESPACE.match(camera)]
    if bad:
        raise ValueError(f"cameras must be ROS namespaces (letters, digits, _ and /): {bad}")
    if not cameras:
        raise ValueError(f"cameras names no camera namespace: {text!r}")
    if len(set(cameras)) != len(cameras):
        raise ValueError(f"cameras lists a namespace twice: {cameras}")
    return cameras


def overrides_from(arguments: dict[str, str]) -> dict[str, object]:
    """Parameter overrides for the launch arguments that were given (non-empty)."""
    out: dict[str, object] = {name: arguments[name] for name in OVERRIDABLE if arguments.get(name)}
    if "model" in out and out["model"] not in DA3_NAMES:
        raise ValueError(f"model must be one of {', '.join(DA3_NAMES)} (empty: params file), got {out['model']!r}")
    for name in BOOL_ARGUMENTS:
        text = arguments.get(name, "").strip().lower()
        if text:
            if text not in ("true", "false"):
                raise ValueError(f"{name} must be true or false, got {arguments[name]!r}")
            out[name] = text == "true"
    return out


def remappings(image: str, compressed: bool, anchor_topic: str = "") -> list[tuple[str, str]]:
    """The node subscribes ``image`` (or ``image/compressed``) relative to the camera namespace, and its anchor
    input (whichever ``anchor_input`` names) from ``anchor_topic`` when given."""
    out = [("image", image), ("image/compressed", f"{image}/compressed")] if not compressed else \
        [("image/compressed", f"{image}/compressed")]
    return out + anchor_remappings(anchor_topic)


def anchor_remappings(anchor_topic: str) -> list[tuple[str, str]]:
    """Every anchor input (whichever ``anchor_input`` names) from ``anchor_topic``; none when it is empty."""
    return [(name, anchor_topic) for name in ANCHOR_NAMES] if anchor_topic else []


def depth_node_action(camera: str, arguments: dict[str, str]):
    """A launch_ros Node (or LifecycleNode) for one camera namespace."""
    from launch_ros.actions import LifecycleNode, Node

    overrides = overrides_from(arguments)
    lifecycle = arguments.get("lifecycle", "false").strip().lower() == "true"
    options = dict(
        package="depth_anything_ros", name=arguments.get("node_name") or "depth_anything_ros",
        namespace=camera, output="screen",
        parameters=[arguments["params_file"], overrides] if overrides else [arguments["params_file"]],
        remappings=remappings(arguments.get("image") or "image_rect", bool(overrides.get("use_compressed")),
                              arguments.get("anchor_topic", "")),
    )
    if lifecycle:
        return LifecycleNode(executable="depth_lifecycle_node", **options)
    return Node(executable="depth_node", **options)


def multi_camera_settings(cameras: list[str], arguments: dict[str, str]) -> tuple[dict[str, object], list]:
    """(parameter overrides, remappings) of the one multi-camera node: ``cameras`` as NS:NS/<image>:NS/camera_info;
    ``anchor_topic`` given: that one topic (the robot's LiDAR or laser) feeds every camera (anchor_shared)."""
    overrides = overrides_from(arguments)
    image = arguments.get("image") or "image_rect"
    if cameras:
        overrides["cameras"] = ", ".join(f"{ns}:{ns}/{image}:{ns}/camera_info" for ns in cameras)
    anchor_topic = arguments.get("anchor_topic", "")
    if anchor_topic:
        overrides["anchor_shared"] = True
    return overrides, anchor_remappings(anchor_topic)


def multi_camera_node_action(cameras: list[str], arguments: dict[str, str]):
    """ONE launch_ros Node (or LifecycleNode) serving every camera of ``cameras`` from one batched engine: its
    ``cameras`` parameter lists them (NS:NS/<image>:NS/camera_info), outputs under each NS/depth/."""
    from launch_ros.actions import LifecycleNode, Node

    overrides, remapped = multi_camera_settings(cameras, arguments)
    lifecycle = arguments.get("lifecycle", "false").strip().lower() == "true"
    options = dict(package="depth_anything_ros", name=arguments.get("node_name") or "depth_anything_ros",
                   output="screen", parameters=[arguments["params_file"], overrides], remappings=remapped)
    if lifecycle:
        return LifecycleNode(executable="depth_lifecycle_node", namespace="", **options)
    return Node(executable="depth_node", **options)


def shm_profile_actions():
    """Point Fast DDS 2 and 3 at the package's shared-memory profile for the nodes launched after these actions,
    unless the user's environment already names a profile (README: Transport)."""
    from launch.actions import SetEnvironmentVariable
    from launch.substitutions import EnvironmentVariable, PathJoinSubstitution
    from launch_ros.substitutions import FindPackageShare

    profile = PathJoinSubstitution([FindPackageShare("depth_anything_ros"), "config", PROFILE_FILE])
    return [SetEnvironmentVariable(name, EnvironmentVariable(name, default_value=profile))
            for name in (FASTRTPS_VAR, FASTDDS_VAR)]


def launch_arguments():
    """DeclareLaunchArgument actions common to both launch files."""
    from launch.actions import DeclareLaunchArgument
    from launch.substitutions import PathJoinSubstitution
    from launch_ros.substitutions import FindPackageShare

    params = PathJoinSubstitution([FindPackageShare("depth_anything_ros"), "config", "depth.yaml"])
    return [
        DeclareLaunchArgument("params_file", default_value=params, description="ROS 2 parameters file"),
        DeclareLaunchArgument("image", default_value="image_rect",
                              description="image topic relative to the camera namespace"),
        DeclareLaunchArgument("use_compressed", default_value="",
                              description="true: subscribe <image>/compressed (empty: params file)"),
        DeclareLaunchArgument("checkpoint", default_value="",
                              description="V1/V2 .pth or DA3 checkpoint folder (empty: params file)"),
        DeclareLaunchArgument("model", default_value="",
                              description=f"Depth Anything 3 model: {' | '.join(DA3_NAMES)} (empty: params file)"),
        DeclareLaunchArgument("onnx", default_value="", description="fused ONNX graph (empty: params file)"),
        DeclareLaunchArgument("calibration_file", default_value="",
                              description="metric-head calibration YAML (empty: params file)"),
        DeclareLaunchArgument("backend", default_value="", description="auto|tensorrt|onnxruntime|torch"),
        DeclareLaunchArgument("anchor_input", default_value="",
                              description="live anchor: points | scan | range | none (empty: params file)"),
        DeclareLaunchArgument("anchor_topic", default_value="",
                              description="the range sensor's topic, e.g. /velodyne_points or /scan (absolute, or "
                                          "relative to the camera namespace; empty: anchor/<input>); one node for "
                                          "several cameras: it feeds every camera (anchor_shared)"),
        DeclareLaunchArgument("anchor_extrinsic", default_value="",
                              description="camera optical frame <- sensor, 'x y z qx qy qz qw camera_frame "
                                          "sensor_frame' (empty: params file, else tf)"),
        DeclareLaunchArgument("anchor_extrinsics_file", default_value="",
                              description="extrinsics YAML joining the sensor's frame to the camera's (empty: params "
                                          "file, else tf)"),
        DeclareLaunchArgument("lifecycle", default_value="false",
                              description="true: managed node (configure/activate it, e.g. with a lifecycle manager)"),
        DeclareLaunchArgument("node_name", default_value="depth_anything_ros", description="node name"),
    ]


ARGUMENT_NAMES = ("params_file", "image", "use_compressed", "checkpoint", "model", "onnx", "calibration_file",
                  "backend", "anchor_input", "anchor_topic", "anchor_extrinsic", "anchor_extrinsics_file", "lifecycle",
                  "node_name")


def argument_values(context) -> dict[str, str]:
    """The launch arguments' values in an OpaqueFunction's context."""
    return {name: context.launch_configurations.get(name, "") for name in ARGUMENT_NAMES}
