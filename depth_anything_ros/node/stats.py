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


@dataclass(frozen=True)
class Health:
    """What the node is doing and the operator's limits, for ``NodeStats.report``."""

    state: str = "active"  # lifecycle state label; only "active" processes frames
    worker_alive: bool = True
    backend: str = "not loaded"
    stale_input_s: float = 3.0
    min_rate: float = 0.0
    max_rate: float = 0.0
    max_latency_s: float = 0.5
    drop_fraction: float = 0.25


@dataclass
class Status:
    """One diagnostic status (diagnostic_updater task): name suffix, level, message, key/values."""

    name: str
    level: int
    message: str
    values: dict[str, str]


class EventWindow:
    """Monotonic event times (ns) with a value each, over a sliding window."""

    def __init__(self, window_s: float) -> None:
        self.window_ns = round(window_s * NS)
        self._events: deque[tuple[int, float]] = deque()

    def add(self, now_ns: int, value: float = 1.0) -> None:
        self._events.append((now_ns, value))
        self.trim(now_ns)

    def trim(self, now_ns: int) -> None:
        while self._events and now_ns - self._events[0][0] > self.window_ns:
            self._events.popleft()

    def values(self, now_ns: int) -> list[float]:
        self.trim(now_ns)
        return [value for _, value in self._events]


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
    last_received_ns: int | None = None
    last_published_ns: int | None = None
    started_ns: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.input_rate = RateMeter(self.window_s)
        self.output_rate = RateMeter(self.window_s)
        self._latencies = EventWindow(self.window_s)
        self._lost = EventWindow(self.window_s)
        self._inputs = EventWindow(self.window_s)

    def restart(self, now_ns: int) -> None:
        """Processing (re)starts now: the stale-input clock starts from here."""
        with self._lock:
            self.started_ns, self.last_received_ns, self.last_published_ns = now_ns, None, None

    def frame_received(self, now_ns: int) -> None:
        with self._lock:
            self.received += 1
            self.last_received_ns = now_ns
            self.input_rate.tick(now_ns)
            self._inputs.add(now_ns)

    def frame_published(self, now_ns: int, latency_s: float, inference_s: float) -> None:
        with self._lock:
            self.published += 1
            self.last_published_ns = now_ns
            self.output_rate.tick(now_ns)
            self.last_latency_s, self.last_inference_s = latency_s, inference_s
            self._latencies.add(now_ns, latency_s)

    def dropped(self, reason: str, count: int = 1, now_ns: int | None = None) -> None:
        """Frames lost for ``reason``; all but ``superseded`` (normal with a faster camera) count as lost."""
        with self._lock:
            self.drops[reason] += count
            if reason != "superseded" and count:
                self._lost.add(now_ns if now_ns is not None else self.last_received_ns or 0, count)

    def input_error(self, kind: str, now_ns: int | None = None) -> None:
        with self._lock:
            self.input_errors[kind] += 1
            self._lost.add(now_ns if now_ns is not None else self.last_received_ns or 0)

    def report(self, now_ns: int, health: Health) -> list[Status]:
        """The node's statuses in diagnostic_updater's conventions: overall, output rate, stamp delay."""
        with self._lock:
            in_rate, out_rate = self.input_rate.rate(now_ns), self.output_rate.rate(now_ns)
            latencies = self._latencies.values(now_ns)
            lost, inputs = sum(self._lost.values(now_ns)), len(self._inputs.values(now_ns))
            drops = sum(self.drops.values())
            since = self.started_ns
            input_age = (now_ns - (self.last_received_ns or since)) / NS
            output_age = (now_ns - (self.last_published_ns or since)) / NS
            values = {
                "lifecycle state": health.state,
                "backend": health.backend,
                "inference worker": "running" if health.worker_alive else "stopped",
                "input rate (Hz)": f"{in_rate:.2f}",
                "output rate (Hz)": f"{out_rate:.2f}",
                "latency stamp to publish (ms)": f"{self.last_latency_s * 1e3:.1f}",
                "inference (ms)": f"{self.last_inference_s * 1e3:.1f}",
                "frames received": str(self.received),
                "frames published": str(self.published),
                "frames dropped": str(drops),
                f"frames lost in the last {self.window_s:g} s": str(int(lost)),
                "seconds since the last image": f"{input_age:.2f}" if self.last_received_ns else "never",
                "seconds since the last publish": f"{output_age:.2f}" if self.last_published_ns else "never",
            }
            values.update({f"dropped: {reason}": str(n) for reason, n in sorted(self.drops.items())})
            values.update({f"input errors: {kind}": str(n) for kind, n in sorted(self.input_errors.items())})
            published, received = self.published, self.received
        active = health.state == "active"
        problems: list[tuple[int, str]] = []
        if not active:
            problems.append((OK, f"{health.state}: not processing"))
        elif not health.worker_alive:
            problems.append((ERROR, "inference worker stopped: no depth will be published (restart the node)"))
        else:
            if input_age > health.stale_input_s:
                problems.append((ERROR, f"no image for {input_age:.1f} s (stale input; is the camera publishing "
                                        f"image and camera_info?)"))
            elif output_age > health.stale_input_s:
                problems.append((ERROR, f"images arrive but nothing published for {output_age:.1f} s"))
            if inputs and lost / inputs > health.drop_fraction:
                problems.append((WARN, f"{int(lost)} of {inputs} frames lost in the last {self.window_s:g} s "
                                       f"(see dropped:/input errors: values)"))
            mean_latency = sum(latencies) / len(latencies) if latencies else 0.0
            if health.max_latency_s and mean_latency > health.max_latency_s:
                problems.append((WARN, f"latency {mean_latency * 1e3:.0f} ms over {health.max_latency_s * 1e3:.0f}"
                                       f" ms"))
            if received == 0 and not problems:
                problems.append((WARN, "waiting for images"))
        level = max((lvl for lvl, _ in problems), default=OK)
        message = "; ".join(text for lvl, text in problems if lvl == level) or "running"
        statuses = [Status("depth", level, message, values)]
        statuses.append(self._frequency(out_rate, published, health, active))
        statuses.append(self._stamp_delay(latencies, health, active))
        return statuses

    def _frequency(self, rate: float, total: int, health: Health, active: bool) -> Status:
        """diagnostic_updater FrequencyStatus of depth/image."""
        values = {"Events in window": str(round(rate * self.window_s)), "Events since startup": str(total),
                  "Duration of window (s)": f"{self.window_s:g}", "Actual frequency (Hz)": f"{rate:.2f}",
                  "Minimum acceptable frequency (Hz)": f"{health.min_rate:g}",
                  "Maximum acceptable frequency (Hz)": f"{health.max_rate:g}" if health.max_rate else "inf"}
        if not active:
            return Status("depth/image rate", OK, "not active", values)
        if health.min_rate and rate < health.min_rate:
            return Status("depth/image rate", WARN, "Frequency too low.", values)
        if health.max_rate and rate > health.max_rate:
            return Status("depth/image rate", WARN, "Frequency too high.", values)
        return Status("depth/image rate", OK, "Desired frequency met", values)

    def _stamp_delay(self, latencies: list[float], health: Health, active: bool) -> Status:
        """diagnostic_updater TimeStampStatus: delay of the published stamps behind this node's clock."""
        values = {"Earliest timestamp delay:": f"{min(latencies):.6f}" if latencies else "No data since last update.",
                  "Latest timestamp delay:": f"{max(latencies):.6f}" if latencies else "No data since last update.",
                  "Earliest acceptable timestamp delay:": "0",
                  "Latest acceptable timestamp delay:": f"{health.max_latency_s:g}" if health.max_latency_s
                  else "inf"}
        if not active or not latencies:
            return Status("stamp delay", OK, "No data since last update." if active else "not active", values)
        if min(latencies) < -0.01:
            return Status("stamp delay", ERROR, "Timestamps too far in future seen.", values)
        if health.max_latency_s and max(latencies) > health.max_latency_s:
            return Status("stamp delay", WARN, "Timestamps too far in past seen.", values)
        return Status("stamp delay", OK, "Timestamps are reasonable.", values)
