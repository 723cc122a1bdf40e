"""Anchor scans kept by stamp, so each camera image gets the scan nearest its own stamp (ROS-free).

A 10 Hz LiDAR beside a 30 Hz camera: an image is up to 50 ms from the nearest scan, and up to 100 ms after the
newest one before it. ``pick`` returns the scan nearest the image stamp among those at most ``max_age_s``
before it and at most ``max_future_s`` after it (0 by default: a scan from after the image is refused, so the
anchor never waits for one); when none qualifies it says why (no scan yet, or the nearest scan on either side:
too old before the image, or too far after it).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any

from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.core.stamps import NS_PER_S


@dataclass(frozen=True)
class ScanPick:
    """The scan for one image: ``points`` None when there is none (``reason`` says why)."""

    points: Any | None
    stamp_ns: int | None
    reason: AnchorReason
    detail: str = ""

    def age_s(self, image_stamp_ns: int) -> float:
        """Image stamp - scan stamp, seconds (negative for a scan after the image); NaN without a scan."""
        return math.nan if self.stamp_ns is None else (image_stamp_ns - self.stamp_ns) / NS_PER_S


class ScanBuffer:
    """The last ``capacity`` scans by stamp (ns). A scan older than the newest one kept means time went
    backwards (a bag loop, a clock reset): the buffer starts again from it."""

    def __init__(self, max_age_s: float, max_future_s: float = 0.0, capacity: int = 8) -> None:
        if not (max_age_s >= 0 and max_future_s >= 0 and capacity >= 1):
            raise ValueError(f"scan buffer needs max_age_s >= 0, max_future_s >= 0 and capacity >= 1, got "
                             f"{max_age_s}, {max_future_s}, {capacity}")
        self.max_age_ns = round(max_age_s * NS_PER_S)
        self.max_future_ns = round(max_future_s * NS_PER_S)
        self.capacity = capacity
        self._stamps: list[int] = []
        self._scans: list[Any] = []

    def __len__(self) -> int:
        return len(self._stamps)

    def clear(self) -> None:
        self._stamps.clear()
        self._scans.clear()

    def add(self, stamp_ns: int, points: Any) -> None:
        stamp_ns = int(stamp_ns)
        if self._stamps and stamp_ns < self._stamps[-1]:
            self.clear()
        index = bisect.bisect(self._stamps, stamp_ns)
        self._stamps.insert(index, stamp_ns)
        self._scans.insert(index, points)
        if len(self._stamps) > self.capacity:
            del self._stamps[0], self._scans[0]

    def pick(self, image_stamp_ns: int) -> ScanPick:
        if not self._stamps:
            return ScanPick(None, None, AnchorReason.NO_SCAN, "no anchor scan received yet")
        low, high = image_stamp_ns - self.max_age_ns, image_stamp_ns + self.max_future_ns
        start, stop = bisect.bisect_left(self._stamps, low), bisect.bisect_right(self._stamps, high)
        if start < stop:
            best = min(range(start, stop), key=lambda i: abs(self._stamps[i] - image_stamp_ns))
            return ScanPick(self._scans[best], self._stamps[best], AnchorReason.OK)
        before = self._stamps[start - 1] if start > 0 else None  # the newest scan too old for the image
        after = self._stamps[stop] if stop < len(self._stamps) else None  # the oldest scan too far after it
        if after is not None and (before is None or after - image_stamp_ns < image_stamp_ns - before):
            gap = (after - image_stamp_ns) / NS_PER_S
            return ScanPick(None, None, AnchorReason.SCAN_FROM_FUTURE, f"the nearest scan is {gap:.3f} s after "
                            f"the image (max_future {self.max_future_ns / NS_PER_S:g} s)")
        return ScanPick(None, None, AnchorReason.SCAN_TOO_OLD,
                        f"the newest scan before the image is {(image_stamp_ns - before) / NS_PER_S:.3f} s old "
                        f"(max_age {self.max_age_ns / NS_PER_S:g} s)")
