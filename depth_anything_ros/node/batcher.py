"""The fair batcher of the multi-camera node (ROS-free): one slot per camera, one batch per cycle.

Each camera's newest synchronised frame waits in its own slot (a newer one replaces it, counted as superseded).
A cycle starts when any camera has a frame and lasts until every camera has one or ``window_s`` has passed;
it then takes the newest frame of every camera that has one. A camera that stops or lags is never waited for
beyond the window (its slot is simply empty this cycle), and a camera at a higher rate gets no more than one
frame per cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from depth_anything_ros.node.frame_slot import ClosableMailbox


class CameraSlot:
    """One camera's mailbox in the batcher, with ``LatestFrameSlot``'s ``put``/``clear`` (FrameIntake uses it)."""

    def __init__(self, batcher: FairBatcher, name: str) -> None:
        self.batcher, self.name = batcher, name

    def put(self, item: Any) -> bool:
        return self.batcher.offer(self.name, item)

    def clear(self) -> bool:
        return self.batcher.discard(self.name)

    def take(self, timeout: float | None = None) -> Any | None:
        raise TypeError("a camera's frames are taken in batches: FairBatcher.take")

    def close(self) -> None:
        self.batcher.close()

    def reopen(self) -> None:
        self.batcher.reopen()


class FairBatcher(ClosableMailbox):
    """Slots for ``names``; ``take`` waits for a cycle and returns {camera: newest frame} (thread-safe)."""

    def __init__(self, names: list[str], window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not names or len(set(names)) != len(names):
            raise ValueError(f"the batcher needs distinct camera names, got {names}")
        if window_s < 0:
            raise ValueError(f"batch window must be >= 0 s, got {window_s}")
        super().__init__()
        self.names, self.window_s, self._clock = list(names), window_s, clock
        self._items: dict[str, Any] = {}
        self._first: float | None = None  # when the current cycle's first frame arrived

    def slot(self, name: str) -> CameraSlot:
        if name not in self.names:
            raise KeyError(f"no camera {name!r} in the batcher ({', '.join(self.names)})")
        return CameraSlot(self, name)

    def offer(self, name: str, item: Any) -> bool:
        """Store ``name``'s newest frame; True when it replaced one not taken yet."""
        with self._ready:
            replaced = name in self._items
            self._items[name] = item
            if self._first is None:
                self._first = self._clock()
            self._ready.notify_all()
            return replaced

    def discard(self, name: str) -> bool:
        with self._ready:
            had = self._items.pop(name, None) is not None
            if not self._items:
                self._first = None
            return had

    def take(self, timeout: float | None = None) -> dict[str, Any]:
        """The next cycle: waits up to ``timeout`` for a first frame, then up to the window for the rest; the
        newest frame of each camera that has one, in camera order ({} on timeout or when closed)."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._ready:
            while not self._items and not self._closed:
                left = None if deadline is None else deadline - self._clock()
                if left is not None and left <= 0:
                    return {}
                self._ready.wait(left)
            while not self._closed and len(self._items) < len(self.names):
                left = self._first + self.window_s - self._clock()
                if left <= 0:
                    break
                self._ready.wait(left)
            batch = {name: self._items[name] for name in self.names if name in self._items}
            self._items.clear()
            self._first = None
            return batch
