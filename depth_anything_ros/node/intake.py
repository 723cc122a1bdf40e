"""From the node's subscription callbacks to its inference worker (ROS-free).

Images are paired with camera_info by header stamp (``node.sync``); the newest complete pair waits in
a one-frame mailbox (``frame_slot``) for the worker. Each call says what it lost, for the node to count
and warn about: images whose camera_info will not come, pairs replaced before the worker took them,
and what an image stamp going backwards (a bag loop, a clock jump) discarded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from depth_anything_ros.node.frame_slot import LatestFrameSlot
from depth_anything_ros.node.sync import StampSynchronizer

SYNC_QUEUE = 10


@dataclass(frozen=True)
class Losses:
    """What one message cost: frames the node counts as dropped."""

    unmatched: int = 0  # images that will not find their camera_info any more
    superseded: int = 0  # pending pairs replaced by a newer one
    went_back_s: float | None = None  # the image stamp went back by this many seconds (None: it did not)
    discarded: int = 0  # pending frames forgotten because the stamp went back


class FrameIntake:
    """Stamp pairing plus the latest-frame mailbox; thread-safe (callbacks put, the worker takes)."""

    def __init__(self, slop_s: float = 0.0, queue_size: int = SYNC_QUEUE, slot: Any = None) -> None:
        """``slot``: where complete pairs go (default a LatestFrameSlot; the multi-camera node: a batcher slot)."""
        self.sync = StampSynchronizer(slop_s, queue_size)
        self.slot = slot if slot is not None else LatestFrameSlot()
        self._lock = threading.Lock()
        self._last_stamp: int | None = None

    def add_image(self, stamp: int, msg: Any) -> Losses:
        with self._lock:
            went_back, discarded = None, 0
            if self._last_stamp is not None and stamp < self._last_stamp:
                went_back = (self._last_stamp - stamp) / 1e9
                discarded = self.sync.reset() + int(self.slot.clear())
            self._last_stamp = stamp
            before = self.sync.dropped
            ready = self.sync.add_image(stamp, msg)
            unmatched = self.sync.dropped - before
        return Losses(unmatched, self._submit(ready), went_back, discarded)

    def add_info(self, stamp: int, msg: Any) -> Losses:
        with self._lock:
            before = self.sync.dropped
            ready = self.sync.add_info(stamp, msg)
            unmatched = self.sync.dropped - before
        return Losses(unmatched, self._submit(ready))

    def _submit(self, ready: list) -> int:
        return sum(self.slot.put(item) for item in ready)

    def take(self, timeout: float | None = 0.0) -> tuple[int, Any, Any] | None:
        """The newest (stamp, image, camera_info), waiting up to ``timeout`` s; None if there is none."""
        return self.slot.take(timeout)

    def set_slop(self, slop_s: float) -> None:
        with self._lock:
            self.sync.slop_s = slop_s

    def open(self) -> None:
        self.slot.reopen()

    def close(self) -> None:
        """Wake the waiting worker for good."""
        self.slot.close()

    def clear(self) -> None:
        """Forget the pending frame and the images waiting for camera_info."""
        self.slot.clear()
        with self._lock:
            self.sync.reset()
