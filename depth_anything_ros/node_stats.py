"""What the node counts and reports: rates, latency, inference time, drops and input errors.

ROS-free. ``report`` gives the diagnostics level, message and key/values; ``WarningThrottle``
keeps one warning per kind per period, and says how many were suppressed in between.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field

OK, WARN, ERROR = 0, 1, 2
NS = 1_000_000_000


class RateMeter:
    """Events per second over a sliding window of monotonic timestamps (ns)."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_ns = round(window_s * NS)
        self._times: deque[int] = deque()

    def tick(self, now_ns: int) -> None:
        self._times.append(now_ns)
        self._trim(now_ns)

    def _trim(self, now_ns: int) -> None:
        while self._times and now_ns - self._times[0] > self.window_ns:
            self._times.popleft()

    def rate(self, now_ns: int) -> float:
        self._trim(now_ns)
        if len(self._times) < 2:
            return 0.0
        span = max(now_ns - self._times[0], self._times[-1] - self._times[0])
        return (len(self._times) - 1) * NS / span if span > 0 else 0.0


@dataclass
class WarningThrottle:
    """At most one warning per kind per ``period_s``; counts the ones held back."""

    period_s: float = 5.0
    _last: dict[str, int] = field(default_factory=dict)
    _held: Counter = field(default_factory=Counter)

    def admit(self, kind: str, now_ns: int) -> int | None:
        """None to stay quiet; else the number of warnings of this kind suppressed since the last one."""
        last = self._last.get(kind)
        if last is not None and now_ns - last < self.period_s * NS:
            self._held[kind] += 1
            return None
        self._last[kind] = now_ns
        held, self._held[kind] = self._held[kind], 0
        return held


@dataclass
class NodeStats:
    """Counters shared by the callbacks and the worker (thread-safe)."""

    window_s: float = 5.0
    received: int = 0
    published: int = 0
    drops: Counter = field(default_factory=Counter)
    input_errors: Counter = field(default_factory=Counter)
    last_latency_s: float = float("nan")
    last_inference_s: float = float("nan")
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _reported: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.input_rate = RateMeter(self.window_s)
        self.output_rate = RateMeter(self.window_s)

    def frame_received(self, now_ns: int) -> None:
        with self._lock:
            self.received += 1
            self.input_rate.tick(now_ns)

    def frame_published(self, now_ns: int, latency_s: float, inference_s: float) -> None:
        with self._lock:
            self.published += 1
            self.output_rate.tick(now_ns)
            self.last_latency_s, self.last_inference_s = latency_s, inference_s

    def dropped(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self.drops[reason] += count

    def input_error(self, kind: str) -> None:
        with self._lock:
            self.input_errors[kind] += 1

    def report(self, now_ns: int, backend: str) -> tuple[int, str, dict[str, str]]:
        """(level, message, values) for diagnostics.

        WARN when bad input arrived, or frames were dropped for age or a missing camera_info, since the
        last report; frames replaced by newer ones (``superseded``) are normal when the camera is faster.
        """
        with self._lock:
            now = Counter({f"drop:{k}": v for k, v in self.drops.items()})
            now.update({f"error:{k}": v for k, v in self.input_errors.items()})
            new = now - self._reported
            self._reported = now
            drops = sum(self.drops.values())
            new_errors = sum(v for k, v in new.items() if k.startswith("error:"))
            new_bad_drops = sum(v for k, v in new.items() if k.startswith("drop:") and k != "drop:superseded")
            values = {
                "backend": backend,
                "input rate (Hz)": f"{self.input_rate.rate(now_ns):.2f}",
                "output rate (Hz)": f"{self.output_rate.rate(now_ns):.2f}",
                "latency stamp to publish (ms)": f"{self.last_latency_s * 1e3:.1f}",
                "inference (ms)": f"{self.last_inference_s * 1e3:.1f}",
                "frames received": str(self.received),
                "frames published": str(self.published),
                "frames dropped": str(drops),
            }
            values.update({f"dropped: {reason}": str(n) for reason, n in sorted(self.drops.items())})
            values.update({f"input errors: {kind}": str(n) for kind, n in sorted(self.input_errors.items())})
        if new_errors:
            return WARN, f"{new_errors} bad input message(s) since the last report", values
        if new_bad_drops:
            return WARN, f"{new_bad_drops} frame(s) dropped (too old or without camera_info) since the last report", \
                values
        if self.received == 0:
            return WARN, "waiting for images", values
        return OK, "running", values
