"""Backends by camera resolution: a fused graph serves one resolution, so each size gets its own."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable

from depth_anything_ros.runtime.backend import DepthBackend

LOG = logging.getLogger(__name__)


class BackendCache:
    """Opens a backend per image size with ``open_backend`` and keeps at most ``keep`` of them.

    The node keeps one (GPU memory): a new size opens its backend first and closes the old one only once
    the new one works, so a failing resolution never costs the loaded engine. Offline tools keep all.
    """

    def __init__(self, open_backend: Callable[[tuple[int, int]], DepthBackend], keep: int | None = None) -> None:
        if keep is not None and keep < 1:
            raise ValueError(f"keep must be >= 1 or None, got {keep}")
        self._open = open_backend
        self._keep = keep
        self._by_size: OrderedDict[tuple[int, int], DepthBackend] = OrderedDict()

    @property
    def latest(self) -> DepthBackend | None:
        """The backend used last, or None."""
        return next(reversed(self._by_size.values()), None)

    def opened(self) -> list[DepthBackend]:
        """The backends open now, oldest first."""
        return list(self._by_size.values())

    def get(self, image_hw: tuple[int, int]) -> DepthBackend:
        image_hw = (int(image_hw[0]), int(image_hw[1]))
        if image_hw in self._by_size:
            self._by_size.move_to_end(image_hw)
            return self._by_size[image_hw]
        backend = self._open(image_hw)
        self._by_size[image_hw] = backend
        while self._keep is not None and len(self._by_size) > self._keep:
            _, old = self._by_size.popitem(last=False)
            old.close()
        return backend

    def close(self) -> None:
        while self._by_size:
            _, backend = self._by_size.popitem()
            backend.close()
