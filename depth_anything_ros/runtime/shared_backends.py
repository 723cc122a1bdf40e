"""One backend per camera resolution, shared by several cameras' pipelines (the multi-camera node).

Each camera's ``DepthPipeline`` owns (and closes) what its opener returns; here that is a ``BorrowedBackend``,
a handle whose ``close`` leaves the shared engine to the pool, so one engine serves every camera of its size and
is freed once, by ``SharedBackends.close``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from depth_anything_ros.core.head import MetricHead
from depth_anything_ros.runtime.backend import DepthBackend, DepthOutput
from depth_anything_ros.runtime.backend_cache import BackendCache


class BorrowedBackend(DepthBackend):
    """A camera's handle on a shared backend: runs it, never closes it."""

    def __init__(self, shared: DepthBackend) -> None:
        super().__init__(shared.info)
        self.shared = shared
        self.name = shared.name

    def _run(self, image: np.ndarray, head: np.ndarray, focal: np.ndarray | None) -> DepthOutput:
        return self.shared._run(image, head, focal)

    def infer_batch(self, images: Sequence[np.ndarray], heads: Sequence[MetricHead | None] | None = None,
                    ks: Sequence[np.ndarray | None] | None = None) -> list[DepthOutput]:
        return self.shared.infer_batch(images, heads, ks)

    def close(self) -> None:
        """The pool closes the shared backend."""


class SharedBackends:
    """Opens each resolution's backend once (``open_backend``), lends it out, closes them all at the end."""

    def __init__(self, open_backend: Callable[[tuple[int, int]], DepthBackend]) -> None:
        self._cache = BackendCache(open_backend, keep=None)
        self._lock = threading.Lock()

    def borrow(self, image_hw: tuple[int, int]) -> BorrowedBackend:
        """A handle on the backend for ``image_hw`` (opened on first use; thread-safe)."""
        with self._lock:
            return BorrowedBackend(self._cache.get(image_hw))

    def opened(self) -> list[DepthBackend]:
        with self._lock:
            return self._cache.opened()

    def close(self) -> None:
        with self._lock:
            self._cache.close()
