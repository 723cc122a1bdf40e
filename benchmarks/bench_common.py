"""What the host benchmarks share: a backend that costs nothing, and a median timer."""

from __future__ import annotations

import statistics
import time

import numpy as np

from depth_anything_ros.export import GraphInfo
from depth_anything_ros.runtime import DepthBackend, DepthOutput


class ConstantBackend(DepthBackend):
    """A metric 'network' that costs nothing: the same depth for every frame."""

    name = "constant"

    def __init__(self, depth: np.ndarray) -> None:
        super().__init__(GraphInfo(*depth.shape, "bgr", 518, 518, "vits", 2, "metric", 20.0, "benchmark"))
        self.output = DepthOutput(depth, depth)

    def _run(self, image: np.ndarray, head: np.ndarray, focal: np.ndarray | None) -> DepthOutput:
        return self.output

    def close(self) -> None:
        pass


def median_ms(fn, runs: int) -> float:
    """Median wall time of ``fn`` in milliseconds over ``runs`` calls, after one warm-up call."""
    fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000
