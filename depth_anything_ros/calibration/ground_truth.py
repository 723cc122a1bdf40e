"""Camera frames with LiDAR ground truth from recorded bags (rosbag2 MCAP/sqlite3 or ROS 1 .bag, any number).

Two passes: the first reads /tf_static, /tf and the stamps of the image, camera_info and LiDAR
topics; the second decodes only the messages that make frames. For each image the LiDAR scan
nearest in time within ``max_gap_s`` is taken (optionally with ``merge`` scans either side),
moved into the camera's optical frame at the image stamp (through ``fixed_frame`` when the robot
moves between the scan and the image), and projected into a sparse depth map.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from depth_anything_ros.core import stamp_ns
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.depth_points import OcclusionFilter, sparse_depth
from depth_anything_ros.core.transforms import TransformBuffer, load_extrinsics
from depth_anything_ros.msgs import header_stamp, open_bags, read_points, require_topic
from depth_anything_ros.msgs.images import decode_frame

TF_TYPES = ("tf2_msgs/msg/TFMessage",)


@dataclass(frozen=True)
class GroundTruthOptions:
    image_topic: str
    camera_info_topic: str
    lidar_topic: str
    max_gap_s: float = 0.05
    merge: int = 0  # scans either side of the nearest one, merged (needs fixed_frame)
    fixed_frame: str = ""  # world-fixed frame (odom, map) for moving robots; empty: extrinsics only
    extrinsics: str = ""  # YAML of static transforms, added to (or instead of) /tf_static
    rectified: bool = True
    occlusion: OcclusionFilter | None = field(default_factory=OcclusionFilter)
    min_depth: float = 0.1
    every: int = 1  # use every n-th image

    def __post_init__(self) -> None:
        if self.merge and not self.fixed_frame:
            raise ValueError("merging neighbouring scans needs --fixed-frame (odom or map) to undo the motion")
        if self.max_gap_s <= 0 or self.every < 1 or self.merge < 0:
            raise ValueError("max_gap_s must be positive, every >= 1 and merge >= 0")


@dataclass
class GroundTruthFrame:
    stamp_ns: int
    image: np.ndarray  # BGR uint8
    camera: CameraModel
    depth: np.ndarray  # (H, W) float32 metres, NaN where no LiDAR point
    camera_frame: str
    scans: int
    k: np.ndarray | None = None  # (3, 3) intrinsics of ``image`` as given (``CameraModel.image_k``): DA3 metric focal


def _nearest(stamps: list[int], stamp: int) -> int | None:
    index = bisect.bisect(stamps, stamp)
    candidates = [i for i in (index - 1, index) if 0 <= i < len(stamps)]
    return min(candidates, key=lambda i: abs(stamps[i] - stamp)) if candidates else None


def read_ground_truth(bags: Sequence[str | Path], options: GroundTruthOptions) -> Iterator[GroundTruthFrame]:
    """Frames with sparse LiDAR depth, in stamp order. Raises ValueError for missing topics or overlap."""
    with open_bags(bags) as reader:
        image_conns = require_topic(reader, options.image_topic, "image")
        info_conns = require_topic(reader, options.camera_info_topic, "camera_info")
        lidar_conns = require_topic(reader, options.lidar_topic, "LiDAR")
        tf_conns = [c for c in reader.connections if c.msgtype in TF_TYPES and c.topic in ("/tf", "/tf_static")]
        buffer = TransformBuffer(tolerance_ns=int(options.max_gap_s * 1e9))
        if options.extrinsics:
            load_extrinsics(options.extrinsics, buffer)
        scan_stamps: list[int] = []
        image_stamps: list[int] = []
        for conn, _, raw in reader.messages(connections=tf_conns + lidar_conns + image_conns):
            if conn in tf_conns:
                buffer.add_message(reader.deserialize(raw, conn.msgtype), static=conn.topic == "/tf_static")
            else:  # images and scans are decoded once, in the second pass; here only their stamps are read
                (scan_stamps if conn in lidar_conns else image_stamps).append(header_stamp(raw, reader.is2))
        scan_stamps.sort()
        if not scan_stamps:
            raise ValueError(f"{options.lidar_topic} has no messages")
        wanted: dict[int, list[int]] = {}
        gap = int(options.max_gap_s * 1e9)
        for stamp in sorted(image_stamps)[:: options.every]:
            index = _nearest(scan_stamps, stamp)
            if index is not None and abs(scan_stamps[index] - stamp) <= gap:
                low, high = max(0, index - options.merge), min(len(scan_stamps), index + options.merge + 1)
                wanted[stamp] = scan_stamps[low:high]
        if not wanted:
            raise ValueError(
                f"no image on {options.image_topic} has a LiDAR scan within {options.max_gap_s} s (images "
                f"{_span(image_stamps)}, scans {_span(scan_stamps)}); are the bags from the same run, or is "
                f"--max-gap too small?")
        remaining = dict(wanted)  # image stamp -> scan stamps, until the frame is made
        uses = Counter(t for needed in wanted.values() for t in needed)  # scan stamp -> frames still needing it
        scans: dict[int, tuple[str, np.ndarray]] = {}
        infos: dict[int, object] = {}
        images: dict[int, object] = {}
        for conn, _, raw in reader.messages(connections=lidar_conns + info_conns + image_conns):
            msg = reader.deserialize(raw, conn.msgtype)
            stamp = stamp_ns(msg.header)
            if conn in lidar_conns:
                if uses[stamp] > 0:
                    scans[stamp] = (msg.header.frame_id, read_points(msg))
            elif conn in info_conns:
                infos[stamp] = msg
                for old in sorted(infos)[:-50]:
                    del infos[old]
            elif stamp in remaining:
                images[stamp] = msg
            for ready in [s for s in images if all(t in scans for t in remaining[s]) and _info_for(infos, s)]:
                needed = remaining.pop(ready)
                yield _frame(ready, images.pop(ready), _info_for(infos, ready), needed, scans, buffer, options)
                for used in needed:
                    uses[used] -= 1
                    if uses[used] == 0:
                        scans.pop(used, None)


def _span(stamps: list[int]) -> str:
    return f"{min(stamps) / 1e9:.3f}-{max(stamps) / 1e9:.3f} s" if stamps else "none"


def _info_for(infos: dict[int, object], stamp: int):
    """camera_info with the image's stamp, else the latest one before it (calibrations rarely change)."""
    if stamp in infos:
        return infos[stamp]
    earlier = [s for s in infos if s <= stamp]
    return infos[max(earlier)] if earlier else None


def _frame(stamp: int, image_msg, info_msg, scan_stamps: list[int], scans: dict, buffer: TransformBuffer,
           options: GroundTruthOptions) -> GroundTruthFrame:
    bgr, camera = decode_frame(image_msg, info_msg)
    camera_frame = info_msg.header.frame_id or image_msg.header.frame_id
    clouds = []
    for scan_stamp in scan_stamps:
        lidar_frame, points = scans[scan_stamp]
        if options.fixed_frame:
            transform = buffer.lookup_moving(camera_frame, stamp, lidar_frame, scan_stamp, options.fixed_frame)
        else:
            transform = buffer.lookup(camera_frame, lidar_frame, stamp)
        clouds.append(transform.apply(points))
    points = np.concatenate(clouds) if clouds else np.zeros((0, 3))
    depth = sparse_depth(points, camera, options.rectified, options.occlusion, options.min_depth)
    return GroundTruthFrame(stamp, bgr, camera, depth, camera_frame, len(scan_stamps),
                            camera.image_k(options.rectified))
