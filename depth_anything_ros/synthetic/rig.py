"""A synthetic camera + LiDAR rig over a scene whose depth is known analytically (for tests and demos).

The scene is a set of axis-aligned boxes (a ground slab, a wall, boxes) in the camera's optical
frame at the origin (x right, y down, z forward). Camera depth is exact per pixel centre; the LiDAR
(REP 103 axes: x forward, y left, z up) sits at a known extrinsic and casts a grid of beams, so its
points are exact too, including those the camera cannot see (parallax).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.files import atomic_directory
from depth_anything_ros.core.transforms import Transform, matrix_to_quaternion
from depth_anything_ros.msgs import XYZ, pack_float32
from depth_anything_ros.msgs.cloud import CloudPayload
from depth_anything_ros.msgs.messages import (
    bgr_image_msg,
    camera_info_msg,
    header_msg,
    point_cloud_msg,
    rosbags_kit,
    tf_message,
)

# optical = LIDAR_TO_OPTICAL @ lidar for co-located frames: x_opt = -y, y_opt = -z, z_opt = x
LIDAR_TO_OPTICAL = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])

# (min corner, max corner) in the optical frame, metres
DEFAULT_BOXES = (
    ((-40.0, 1.5, 0.5), (40.0, 1.6, 80.0)),  # ground slab, its top 1.5 m below the camera
    ((-15.0, -6.0, 25.0), (15.0, 1.5, 25.5)),  # wall
    ((-1.0, 0.3, 6.0), (0.6, 1.5, 7.0)),  # box close ahead
    ((1.5, -0.5, 11.0), (3.5, 1.5, 12.0)),  # box to the right
)


@dataclass(frozen=True)
class BoxScene:
    boxes: tuple = DEFAULT_BOXES

    def shifted(self, offset: np.ndarray) -> BoxScene:
        """The scene moved by ``offset`` metres (optical axes); a rig driving forward sees it come closer."""
        offset = np.asarray(offset, np.float64)
        return BoxScene(tuple((tuple(np.add(low, offset)), tuple(np.add(high, offset))) for low, high in self.boxes))

    def intersect(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Distance along each ray (in units of its direction vector) to the nearest box; inf for none."""
        origins = np.broadcast_to(np.asarray(origins, np.float64), directions.shape)
        nearest = np.full(directions.shape[0], np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse = 1.0 / directions
            for low, high in self.boxes:
                t0 = (np.asarray(low) - origins) * inverse
                t1 = (np.asarray(high) - origins) * inverse
                t_near = np.nanmax(np.minimum(t0, t1), axis=1)
                t_far = np.nanmin(np.maximum(t0, t1), axis=1)
                hit = (t_far >= np.maximum(t_near, 0)) & (t_near > 1e-9)
                nearest = np.where(hit & (t_near < nearest), t_near, nearest)
        return nearest


@dataclass(frozen=True)
class SyntheticRig:
    """A pinhole camera and a LiDAR at ``lidar_in_camera`` (maps LiDAR points into the optical frame)."""

    height: int = 96
    width: int = 128
    focal: float = 100.0
    lidar_in_camera: Transform = field(default_factory=lambda: Transform(LIDAR_TO_OPTICAL,
                                                                         np.array([0.4, -0.5, 0.1])))
    scene: BoxScene = field(default_factory=BoxScene)
    elevations_deg: tuple[float, float, int] = (-25.0, 10.0, 48)
    azimuths_deg: tuple[float, float, int] = (-45.0, 45.0, 360)

    def driven(self, forward_m: float) -> SyntheticRig:
        """The same rig after driving ``forward_m`` metres along the optical axis."""
        return replace(self, scene=self.scene.shifted(np.array([0.0, 0.0, -forward_m])))

    def camera(self) -> CameraModel:
        return CameraModel.pinhole(self.width, self.height, self.focal)

    def true_depth(self) -> np.ndarray:
        """(H, W) metres along the optical axis at every pixel centre (inf where no surface)."""
        v, u = np.mgrid[0:self.height, 0:self.width].astype(np.float64)
        ray_x, ray_y = self.camera().pixel_rays(u, v)
        rays = np.stack([ray_x, ray_y, np.ones_like(ray_x)], -1).reshape(-1, 3)
        return self.scene.intersect(np.zeros(3), rays).reshape(self.height, self.width).astype(np.float32)

    def lidar_scan(self) -> np.ndarray:
        """(N, 3) points in the LiDAR frame: every beam of the grid that hits the scene."""
        elevation = np.radians(np.linspace(*self.elevations_deg))
        azimuth = np.radians(np.linspace(*self.azimuths_deg))
        el, az = np.meshgrid(elevation, azimuth, indexing="ij")
        beams = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1).reshape(-1, 3)
        pose = self.lidar_in_camera
        distance = self.scene.intersect(pose.translation, beams @ pose.rotation.T)
        hit = np.isfinite(distance)
        return beams[hit] * distance[hit, None]

    def image(self) -> np.ndarray:
        """A textured BGR rendering (shade by depth, checker by pixel) so networks have something to see."""
        depth = self.true_depth()
        v, u = np.mgrid[0:self.height, 0:self.width]
        shade = np.where(np.isfinite(depth), 1.0 / (1.0 + 0.08 * np.nan_to_num(depth, posinf=80.0)), 0.9)
        checker = 0.8 + 0.2 * ((u // 8 + v // 8) % 2)
        grey = np.clip(shade * checker, 0, 1)
        return (np.stack([grey, 0.9 * grey, 0.8 * grey], -1) * 255).astype(np.uint8)


RIG_TOPICS = {"image": "/camera/image_rect", "camera_info": "/camera/camera_info", "lidar": "/lidar/points"}
CAMERA_FRAME, LIDAR_FRAME, BASE_FRAME = "camera_optical_frame", "lidar", "base_link"
TF_MESSAGE_DEFINITION = "geometry_msgs/TransformStamped[] transforms\n"  # not in rosbags' noetic store


def _bag_writer(path, storage: str):
    """(typestore, serialize, writer) for rosbag2 (mcap, sqlite3) or a ROS 1 .bag (ros1)."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    if storage == "ros1":
        from rosbags.rosbag1 import Writer as Ros1Writer

        store = get_typestore(Stores.ROS1_NOETIC)
        store.register(get_types_from_msg(TF_MESSAGE_DEFINITION, "tf2_msgs/msg/TFMessage"))
        return store, store.serialize_ros1, Ros1Writer(path)
    from rosbags.rosbag2 import StoragePlugin, Writer

    store = get_typestore(Stores.ROS2_HUMBLE)
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    return store, store.serialize_cdr, Writer(path, version=9, storage_plugin=plugin)


def write_rig_bag(path, rig: SyntheticRig | None = None, frames: int = 12, rate_hz: float = 2.0,
                  storage: str = "mcap", lidar_delay_s: float = 0.01, start_ns: int = 1_700_000_000_000_000_000,
                  speed_mps: float = 0.0, lidar_every: int = 1):
    """A bag of the rig: image, camera_info, LiDAR PointCloud2 and /tf_static (base_link -> camera, lidar).

    Stamps advance at ``rate_hz``. At ``speed_mps`` 0 the rig stands still and every frame sees the
    same scene; otherwise it drives forward, and each image and scan is rendered where the rig is at
    its own stamp (so the LiDAR delay is honest motion, as on a real robot). A scan follows every
    ``lidar_every``-th image only (the others are unlabeled frames).
    ``storage`` mcap or sqlite3 (a rosbag2 directory) or ros1 (a ROS 1 .bag file, messages in their
    ROS 1 form: Header.seq, CameraInfo D/K/R/P). Written under a temporary name, renamed when complete.
    """
    rig = rig or SyntheticRig()
    camera = rig.camera()

    def scan_cloud(at: SyntheticRig) -> CloudPayload:
        points = at.lidar_scan()
        return CloudPayload(1, len(points), XYZ, 16, pack_float32(points, 4), True)

    base_from_camera = Transform(LIDAR_TO_OPTICAL.T, np.zeros(3))  # base_link (REP 103) at the camera
    path = Path(path)
    with atomic_directory(path) as tmp:
        store, serialize, writer = _bag_writer(tmp, storage)
        kit = rosbags_kit(store)
        with writer:
            conns = {name: writer.add_connection(topic, msgtype, typestore=store) for name, topic, msgtype in (
                ("tf_static", "/tf_static", "tf2_msgs/msg/TFMessage"),
                ("image", RIG_TOPICS["image"], "sensor_msgs/msg/Image"),
                ("camera_info", RIG_TOPICS["camera_info"], "sensor_msgs/msg/CameraInfo"),
                ("lidar", RIG_TOPICS["lidar"], "sensor_msgs/msg/PointCloud2"))}

            def write(name: str, ns: int, msg) -> None:
                writer.write(conns[name], ns, serialize(msg, conns[name].msgtype))

            write("tf_static", start_ns, tf_message(store.types, header_msg(kit, start_ns, BASE_FRAME), {
                child: (transform.translation, matrix_to_quaternion(transform.rotation)) for child, transform in (
                    (CAMERA_FRAME, base_from_camera), (LIDAR_FRAME, base_from_camera @ rig.lidar_in_camera))}))
            for index in range(frames):
                image_ns = start_ns + int(index * 1e9 / rate_hz)
                lidar_ns = image_ns + int(lidar_delay_s * 1e9)
                h = header_msg(kit, image_ns, CAMERA_FRAME)
                seen = rig.driven(speed_mps * (image_ns - start_ns) / 1e9) if speed_mps else rig
                write("image", image_ns, bgr_image_msg(kit, h, seen.image()))
                write("camera_info", image_ns, camera_info_msg(kit, h, camera))
                if index % lidar_every:
                    continue
                scan = scan_cloud(rig.driven(speed_mps * (lidar_ns - start_ns) / 1e9) if speed_mps else rig)
                write("lidar", lidar_ns, point_cloud_msg(kit, header_msg(kit, lidar_ns, LIDAR_FRAME), scan))
    return path
