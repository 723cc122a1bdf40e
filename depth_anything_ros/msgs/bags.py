"""Reading bags: open rosbag2 (MCAP, sqlite3) and ROS 1 .bag files, require topics, read header stamps."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from depth_anything_ros.core import ns_of


@contextlib.contextmanager
def open_bags(bags: Sequence[str | Path]) -> Iterator:
    """An open rosbags AnyReader over rosbag2 directories or ROS 1 files (one kind per call); missing,
    unreadable or mixed bags raise ValueError. Types a bag does not carry come from ROS 2 Humble's typestore."""
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    paths = [Path(b) for b in bags]
    for path in paths:
        if not path.exists():
            raise ValueError(f"cannot read bag {path}: it does not exist")
    try:
        reader = AnyReader(paths, default_typestore=get_typestore(Stores.ROS2_HUMBLE))
        reader.open()
    except Exception as error:  # rosbags raises its own types for corrupt or mixed bags
        raise ValueError(f"cannot read bag(s) {', '.join(map(str, bags))}: {error}") from error
    try:
        yield reader
    finally:
        reader.close()


def topics_text(reader) -> str:
    """'topic (type), ...' of every connection, sorted by topic: what an error about a missing topic lists."""
    return ", ".join(sorted({f"{c.topic} ({c.msgtype})" for c in reader.connections}))


def find_topic(reader, topic: str, msgtypes: Sequence[str] = ()) -> list:
    """The connections of ``topic`` (of one of ``msgtypes`` when given); empty when there are none."""
    return [c for c in reader.connections if c.topic == topic and (not msgtypes or c.msgtype in msgtypes)]


def require_topic(reader, topic: str, what: str, msgtypes: Sequence[str] = ()) -> list:
    """The connections of ``topic``; ValueError naming the topics that exist when it is missing or mistyped."""
    connections = find_topic(reader, topic, msgtypes)
    if not connections:
        wanted = f" of type {' or '.join(msgtypes)}" if msgtypes else ""
        raise ValueError(f"no {what} topic {topic!r}{wanted} in the bag(s); topics there: {topics_text(reader)}")
    return connections


def header_stamp(raw: bytes | memoryview, ros2: bool) -> int:
    """The header stamp (ns) of a serialized message that starts with std_msgs/Header, without decoding the rest.

    ROS 2 CDR: 4-byte encapsulation (byte 1: 1 little-endian, 0 big-endian), then sec int32, nanosec uint32.
    ROS 1: seq uint32, then sec and nsec uint32, little-endian.
    """
    data = np.frombuffer(raw, np.uint8, count=16)
    if ros2:
        order = "<" if data[1] == 1 else ">"
        return ns_of(int(data[4:8].view(f"{order}i4")[0]), int(data[8:12].view(f"{order}u4")[0]))
    return ns_of(int(data[4:8].view("<u4")[0]), int(data[8:12].view("<u4")[0]))
