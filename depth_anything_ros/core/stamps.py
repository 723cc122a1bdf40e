"""ROS time stamps (builtin_interfaces/Time, ROS 1 time) <-> integer nanoseconds, in one place."""

from __future__ import annotations

NS_PER_S = 1_000_000_000


def ns_of(sec: int, nanosec: int) -> int:
    """Nanoseconds of a (sec, nanosec) pair."""
    return int(sec) * NS_PER_S + int(nanosec)


def stamp_ns(header) -> int:
    """Nanoseconds of a message header's stamp (``header.stamp.sec`` and ``.nanosec``)."""
    return ns_of(header.stamp.sec, header.stamp.nanosec)


def stamp_parts(ns: int) -> tuple[int, int]:
    """(sec, nanosec) of a stamp in nanoseconds, nanosec in [0, 1e9) as builtin_interfaces/Time wants it."""
    sec, nanosec = divmod(int(ns), NS_PER_S)
    return sec, nanosec
