"""Anchor messages for the frame-path, replay and node-process tests: clouds and scans built from depth, and bad ones.

Either message implementation (MessageKit): rosbags classes for the frame path and bags, rclpy for DDS. A
"good" anchor is made from the depth the test wants the node to reach (the node's own output scaled, or a
synthetic scene's truth), so the fit has an exact answer.
"""

from __future__ import annotations

import math

import numpy as np

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.transforms import Transform, matrix_to_quaternion
from depth_anything_ros.msgs.cloud import CloudPayload
from depth_anything_ros.msgs.messages import MessageKit, header_msg, point_cloud_msg
from depth_anything_ros.msgs.point_cloud2 import XYZ, float32_fields, pack_float32
from depth_anything_ros.synthetic.rig import LIDAR_TO_OPTICAL

LIDAR_FRAME = "lidar"
# camera optical frame <- lidar (REP 103 axes), the LiDAR 0.2 m above and 0.1 m behind the camera
LIDAR_IN_CAMERA = Transform(LIDAR_TO_OPTICAL, np.array([0.0, -0.2, -0.1]))
# a second camera looking backwards (turned 180 degrees about its vertical axis): it sees none of the first's points
LIDAR_IN_REAR_CAMERA = Transform(np.diag([-1.0, 1.0, -1.0]) @ LIDAR_TO_OPTICAL, np.array([0.05, -0.2, -0.4]))


def static_transform_args(transform: Transform, camera_frame: str = "", sensor_frame: str = "") -> str:
    """static_transform_publisher's 'x y z qx qy qz qw [frame child]' for camera <- sensor."""
    numbers = [*transform.translation, *matrix_to_quaternion(transform.rotation)]
    return " ".join([*(f"{v:.9g}" for v in numbers), *([camera_frame, sensor_frame] if sensor_frame else [])])


def points_from_depth(depth: np.ndarray, camera: CameraModel, stride: int = 1) -> np.ndarray:
    """(N, 3) points in the camera's optical frame at every ``stride``-th pixel centre with a finite depth > 0."""
    v, u = np.mgrid[0:depth.shape[0]:stride, 0:depth.shape[1]:stride].astype(np.float64)
    z = np.asarray(depth, np.float64)[::stride, ::stride]
    x, y = camera.pixel_rays(u, v)
    keep = np.isfinite(z) & (z > 0)
    return np.stack([x[keep] * z[keep], y[keep] * z[keep], z[keep]], axis=1)


def cloud_msg(kit: MessageKit, stamp_ns: int, frame_id: str, points: np.ndarray, fields=XYZ, floats: int = 4):
    """A PointCloud2 (one row) of ``points`` in ``frame_id``."""
    points = np.asarray(points, np.float64).reshape(len(points), floats if not len(points) else -1)
    payload = CloudPayload(1, len(points), tuple(fields), 4 * floats, pack_float32(points, floats), False)
    return point_cloud_msg(kit, header_msg(kit, stamp_ns, frame_id), payload)


def lidar_cloud(kit: MessageKit, stamp_ns: int, points_in_camera: np.ndarray, frame_id: str = LIDAR_FRAME):
    """Points given in the camera's optical frame, sent as a LiDAR cloud (moved into the LiDAR's frame)."""
    return cloud_msg(kit, stamp_ns, frame_id, LIDAR_IN_CAMERA.inverse().apply(points_in_camera))


def no_xyz_cloud(kit: MessageKit, stamp_ns: int, count: int = 50):
    """A cloud without x/y/z fields (an intensity image published on the wrong topic)."""
    return cloud_msg(kit, stamp_ns, LIDAR_FRAME, np.ones((count, 2)), fields=float32_fields("ab"), floats=2)


def laser_scan_msg(scan_type, header, ranges, angle_min: float, angle_increment: float, range_min: float = 0.05,
                   range_max: float = 60.0):
    """A LaserScan of ``scan_type`` (rclpy's or a rosbags class); ranges as float32."""
    ranges = np.asarray(ranges, np.float32)
    extra = {"ranges": ranges, "intensities": np.zeros(0, np.float32)} if hasattr(scan_type, "__msgtype__") else \
        {"ranges": [float(r) for r in ranges]}
    return scan_type(header=header, angle_min=float(angle_min),
                     angle_max=float(angle_min + angle_increment * max(len(ranges) - 1, 0)),
                     angle_increment=float(angle_increment), time_increment=0.0, scan_time=0.1,
                     range_min=float(range_min), range_max=float(range_max), **extra)


def scan_of_depth(depth: np.ndarray, camera: CameraModel, laser_in_camera: Transform, beams: int = 64,
                  fov: float = 1.2) -> tuple[np.ndarray, float, float]:
    """(ranges, angle_min, increment) of a 2D laser at ``laser_in_camera`` (REP 103: x forward, z up) whose every
    return lands exactly on the depth of the pixel it projects to (NaN for beams that find none)."""
    angles = np.linspace(-fov / 2, fov / 2, beams)
    directions = np.stack([np.cos(angles), np.sin(angles), np.zeros(beams)], axis=1) @ laser_in_camera.rotation.T
    origin = laser_in_camera.translation
    height, width = depth.shape
    ranges = np.full(beams, np.nan)
    for i, d in enumerate(directions):
        if d[2] <= 1e-6:
            continue
        r = (10.0 - origin[2]) / d[2]  # start anywhere in front, then move to the depth of the pixel hit
        for _ in range(5):
            u, v, z = camera.project((origin + r * d)[None], True, 1e-6)
            col, row = (int(np.rint(u[0])), int(np.rint(v[0]))) if u.size else (-1, -1)
            if not (0 <= col < width and 0 <= row < height) or not np.isfinite(depth[row, col]):
                break
            if abs(z[0] - depth[row, col]) < 1e-9 * depth[row, col]:
                ranges[i] = r
                break
            r = (float(depth[row, col]) - origin[2]) / d[2]
    return ranges, float(angles[0]), float(angles[1] - angles[0])


def range_msg(range_type, header, reading: float, field_of_view: float = 0.3, min_range: float = 0.1,
              max_range: float = 40.0):
    return range_type(header=header, radiation_type=1, field_of_view=float(field_of_view),
                      min_range=float(min_range), max_range=float(max_range), range=float(reading))


def inf_nan_points(count: int = 40) -> np.ndarray:
    """Points that are all NaN or infinite."""
    points = np.full((count, 3), np.nan)
    points[::2] = [math.inf, 0.0, 1.0]
    return points


# ---- a bag of the synthetic rig with a 2D laser, and a "network" that is the truth distorted per frame ----------
RIG_IMAGE_TOPIC, RIG_INFO_TOPIC, LASER_TOPIC = "/camera/image_rect", "/camera/camera_info", "/laser/scan"
LASER_FRAME = "laser"
LASER_AZIMUTHS = (-45.0, 45.0, 720)  # synthetic.distorted.laser_scene's 2D laser: 720 beams over 90 degrees
LASER_IN_CAMERA = Transform(LIDAR_TO_OPTICAL, np.array([0.0, 1.0, 0.0]))  # 1 m below the camera


def rig_laser_ranges(rig) -> tuple[np.ndarray, float, float]:
    """(ranges, angle_min, increment) of the rig's 2D laser: laser_scene's points as a LaserScan (+Inf: no return)."""
    low, high, count = LASER_AZIMUTHS
    angles = np.radians(np.linspace(low, high, count))
    directions = np.stack([np.cos(angles), np.sin(angles), np.zeros(count)], axis=1)
    ranges = rig.scene.intersect(LASER_IN_CAMERA.translation, directions @ LASER_IN_CAMERA.rotation.T)
    return ranges, float(angles[0]), float(angles[1] - angles[0])


def write_laser_rig_bag(path, frames: int, rate_hz: float = 10.0, laser_lead_s: float = 0.01,
                        start_ns: int = 1_700_000_000_000_000_000, bad: dict[int, str] | None = None):
    """A rosbag2 (MCAP) of the static rig: image, camera_info, a LaserScan ``laser_lead_s`` before each image and
    /tf_static (base_link -> camera_optical_frame, laser). ``bad`` maps frame indices to a broken scan: 'ghost'
    (an unknown frame), 'absurd' (no usable range), 'none' (no scan)."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    from depth_anything_ros.msgs.messages import bgr_image_msg, camera_info_msg, rosbags_kit, tf_message
    from depth_anything_ros.synthetic.rig import SyntheticRig

    store = get_typestore(Stores.ROS2_HUMBLE)
    kit = rosbags_kit(store)
    rig = SyntheticRig()
    camera, image = rig.camera(), rig.image()
    ranges, angle_min, increment = rig_laser_ranges(rig)
    base_from_camera = Transform(LIDAR_TO_OPTICAL.T)
    bad = bad or {}
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conns = {name: writer.add_connection(topic, msgtype, typestore=store) for name, topic, msgtype in (
            ("tf_static", "/tf_static", "tf2_msgs/msg/TFMessage"),
            ("image", RIG_IMAGE_TOPIC, "sensor_msgs/msg/Image"),
            ("info", RIG_INFO_TOPIC, "sensor_msgs/msg/CameraInfo"),
            ("scan", LASER_TOPIC, "sensor_msgs/msg/LaserScan"))}

        def write(name: str, ns: int, msg) -> None:
            writer.write(conns[name], ns, store.serialize_cdr(msg, conns[name].msgtype))

        write("tf_static", start_ns - 10**9, tf_message(store.types, header_msg(kit, start_ns - 10**9, "base_link"), {
            child: (t.translation, matrix_to_quaternion(t.rotation)) for child, t in (
                ("camera_optical_frame", base_from_camera), (LASER_FRAME, base_from_camera @ LASER_IN_CAMERA))}))
        for index in range(frames):
            image_ns = start_ns + int(index * 1e9 / rate_hz)
            scan_ns = image_ns - int(laser_lead_s * 1e9)
            case = bad.get(index, "")
            if case != "none":
                values = np.full_like(ranges, 1e9) if case == "absurd" else ranges
                frame = "ghost" if case == "ghost" else LASER_FRAME
                write("scan", scan_ns, laser_scan_msg(store.types["sensor_msgs/msg/LaserScan"],
                                                      header_msg(kit, scan_ns, frame), values, angle_min, increment,
                                                      range_max=100.0))
            header = header_msg(kit, image_ns, "camera_optical_frame")
            write("info", image_ns, camera_info_msg(kit, header, camera))
            write("image", image_ns + 1000, bgr_image_msg(kit, header, image))
    return path


def distorted_backend(truth: np.ndarray, distortions, kind: str, noise: float = 0.01):
    """A DepthBackend whose "network" output for its k-th frame is ``truth`` under ``distortions[k]`` (model space),
    and whose depth is that raw through the graph's head input, as a fused graph's."""
    from depth_anything_ros.core.head import is_inverse, metres_from_raw
    from depth_anything_ros.export.graph_info import GraphInfo
    from depth_anything_ros.runtime.backend import DepthBackend, DepthOutput

    height, width = truth.shape

    class DistortedTruth(DepthBackend):
        name = "distorted-truth"

        def __init__(self) -> None:
            super().__init__(GraphInfo(height, width, "bgr", height, width, "vits", 2, kind,
                                       80.0 if kind == "metric" else None, "distorted-truth"))
            self.frames = 0

        def _run(self, image, head, focal):
            raw = distortions[self.frames].raw(kind, truth, noise=noise, seed=self.frames)
            self.frames += 1
            depth = metres_from_raw(raw, *(float(v) for v in head), relative=is_inverse(kind))
            return DepthOutput(raw, depth.astype(np.float32))

        def close(self) -> None:
            pass

    return DistortedTruth()
