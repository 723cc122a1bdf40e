"""A one-frame mailbox between subscription callbacks and the inference worker.

The callbacks never wait for inference: a new frame replaces the pending one (the replaced frame
is reported so it can be counted), and the worker always takes the newest.
"""

from __future__ import annotations

import threading
from typing import Any


class ClosableMailbox:
    """A condition the worker waits on, and the closed flag that wakes it for good (the batcher shares it)."""

    def __init__(self) -> None:
        self._closed = False
        self._ready = threading.Condition()

    def close(self) -> None:
        """Wake a waiting ``take`` for good (the worker is stopping)."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def reopen(self) -> None:
        with self._ready:
            self._closed = False


class LatestFrameSlot(ClosableMailbox):
    """Holds at most one item; ``put`` replaces, ``take`` waits."""

    def __init__(self) -> None:
        super().__init__()
        self._item: Any | None = None

    def put(self, item: Any) -> bool:
        """Store ``item``; True when it replaced a frame the worker had not taken yet."""
        with self._ready:
            replaced = self._item is not None
            self._item = item
            self._ready.notify()
            return replaced

    def take(self, timeout: float | None = None) -> Any | None:
        """The pending item (removing it), waiting up to ``timeout`` s; None on timeout or when closed."""
        with self._ready:
            if self._item is None and not self._closed:
                self._ready.wait(timeout)
            item, self._item = self._item, None
            return item

    def clear(self) -> bool:
        """Drop the pending item; True if there was one."""
        with self._ready:
            had, self._item = self._item is not None, None
            return had
