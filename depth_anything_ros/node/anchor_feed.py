"""Anchor messages from the subscription callbacks to the frame path (ROS-free): kept by stamp, converted once.

The callback only files the message under its header stamp (a lock and a list insert, microseconds: it never
delays the image callbacks on the same executor); a cloud over ``anchor_max_cloud_points`` is refused there from
its size alone and not kept (a mis-wired map topic must not fill the memory). The inference worker, after the
frame's inference, picks the message for the image stamp (``core.scan_buffer``'s rule) and converts it to points
the first time it is used (``msgs.anchor_input``), so converting a 120k-point cloud costs the worker once, not
the executor. Each message's conversion problem is counted once, by reason. Several cameras' anchors may share one
feed (the multi-camera node's ``anchor_shared``: one LiDAR for every camera): a message is then converted once, by the
first camera that uses it, and each camera projects the same points with its own extrinsic.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.anchor_reasons import AnchorPoints, AnchorReason
from depth_anything_ros.core.scan_buffer import ScanBuffer, ScanPick
from depth_anything_ros.core.stamps import stamp_ns
from depth_anything_ros.msgs.anchor_input import cloud_points, laser_scan_points, oversized_cloud, range_points

# anchor_input -> (topic under the node's namespace, message type)
ANCHOR_TOPICS = {"points": ("anchor/points", "sensor_msgs/msg/PointCloud2"),
                 "scan": ("anchor/scan", "sensor_msgs/msg/LaserScan"),
                 "range": ("anchor/range", "sensor_msgs/msg/Range")}
TYPE_INPUTS = {msgtype: name for name, (_, msgtype) in ANCHOR_TOPICS.items()}


@dataclass
class AnchorMessage:
    """One anchor message as filed: its stamp and frame, and its points once converted."""

    stamp_ns: int
    frame_id: str
    msg: Any
    converted: AnchorPoints | None = field(default=None, repr=False)


def converter(anchor_input: str, config: AnchorConfig) -> Callable[[Any], AnchorPoints]:
    """The message -> points conversion of an anchor input (oversized clouds never get here: ``AnchorFeed.add``)."""
    if anchor_input == "points":
        return lambda msg: cloud_points(msg, config.max_input_points)
    if anchor_input == "scan":
        return laser_scan_points
    if anchor_input == "range":
        return range_points
    raise ValueError(f"anchor input must be one of {', '.join(ANCHOR_TOPICS)}, got {anchor_input!r}")


class AnchorFeed:
    """The anchor messages of one input, by stamp; thread-safe (callbacks ``add``, the worker ``pick``s)."""

    def __init__(self, anchor_input: str, config: AnchorConfig, max_cloud_points: int = 0, topic: str = "") -> None:
        self.input = anchor_input
        self._topic = topic  # where it is subscribed, for diagnostics ("": anchor/<input> under the node)
        self.max_cloud_points = max_cloud_points
        self.convert = converter(anchor_input, config)
        self.buffer = ScanBuffer(config.max_age_s, config.max_future_s)
        self._lock = threading.Lock()
        self.received = 0
        self.problems: Counter = Counter()  # AnchorReason value -> messages whose conversion said so
        self.last_stamp_ns: int | None = None

    @property
    def topic(self) -> str:
        return self._topic or ANCHOR_TOPICS[self.input][0]

    def add(self, msg) -> None:
        """File one message under its header stamp (the subscription callback: no conversion here)."""
        stamp = stamp_ns(msg.header)
        refused = oversized_cloud(msg, self.max_cloud_points) if self.input == "points" else None
        entry = AnchorMessage(stamp, str(msg.header.frame_id), msg if refused is None else None, refused)
        with self._lock:
            self.received += 1
            self.last_stamp_ns = stamp
            if refused is not None:
                self.problems[refused.reason.value] += 1
            self.buffer.add(stamp, entry)

    def pick(self, image_stamp_ns: int) -> tuple[ScanPick, AnchorMessage | None]:
        """The message for an image (None with the pick's reason when there is none)."""
        with self._lock:
            pick = self.buffer.pick(image_stamp_ns)
        return pick, pick.points

    def points(self, message: AnchorMessage) -> AnchorPoints:
        """The message's points in its own frame, converted on first use; its problem counted once."""
        if message.converted is None:
            message.converted = self.convert(message.msg)
            message.msg = None  # the points are all that is needed from here on
            if message.converted.reason is not AnchorReason.OK:
                with self._lock:
                    self.problems[message.converted.reason.value] += 1
        return message.converted

    def resize(self, config: AnchorConfig, max_cloud_points: int) -> None:
        """New pairing limits and conversion; messages already filed are kept."""
        with self._lock:
            self.max_cloud_points = max_cloud_points
            self.convert = converter(self.input, config)
            self.buffer.max_age_ns = round(config.max_age_s * 1e9)
            self.buffer.max_future_ns = round(config.max_future_s * 1e9)

    def counts(self) -> tuple[int, dict[str, int]]:
        """(messages received, problems by reason)."""
        with self._lock:
            return self.received, dict(self.problems)
