"""Pairing images with camera_info by header stamp: exact, or nearest within a slop (approximate).

Used by the node's callbacks and by bag replay. Images wait (a bounded queue) for their camera_info;
images that never find one are dropped and counted, as soon as a later camera_info shows that theirs
will not come (or when the queue is full).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StampSynchronizer:
    """Matches items by stamp; ``slop_s`` 0 means exact."""

    slop_s: float = 0.0
    queue_size: int = 10
    dropped: int = 0
    _infos: deque = field(default_factory=deque)
    _images: deque = field(default_factory=deque)

    def _match(self, stamp: int) -> Any | None:
        slop = round(self.slop_s * 1e9)
        best = None
        for info_stamp, info in self._infos:
            gap = abs(info_stamp - stamp)
            if gap <= slop and (best is None or gap < best[0]):
                best = (gap, info)
        return None if best is None else best[1]

    def add_info(self, stamp: int, info: Any) -> list[tuple[int, Any, Any]]:
        """Remember a camera_info; returns (stamp, image, info) for waiting images it completes."""
        self._infos.append((stamp, info))
        while len(self._infos) > self.queue_size:
            self._infos.popleft()
        ready, waiting = [], deque()
        oldest_possible = stamp - round(self.slop_s * 1e9)
        for image_stamp, image in self._images:
            match = self._match(image_stamp)
            if match is not None:
                ready.append((image_stamp, image, match))
            elif image_stamp < oldest_possible:
                self.dropped += 1  # camera_info comes in stamp order: this image's will not come any more
            else:
                waiting.append((image_stamp, image))
        self._images = waiting
        return ready

    def add_image(self, stamp: int, image: Any) -> list[tuple[int, Any, Any]]:
        """An image; returned at once when its camera_info is known, else queued."""
        match = self._match(stamp)
        if match is not None:
            return [(stamp, image, match)]
        self._images.append((stamp, image))
        while len(self._images) > self.queue_size:
            self._images.popleft()
            self.dropped += 1
        return []

    def pending(self) -> int:
        return len(self._images)

    def reset(self) -> int:
        """Forget waiting images (time went backwards: a bag loop or a clock jump); returns how many.

        camera_infos are kept: the one that came with the first image after the jump may already be here.
        """
        waiting = len(self._images)
        self._images.clear()
        self.dropped += waiting
        return waiting
