"""The node's ROS-free helpers: the one-frame mailbox, rates, throttled warnings, the diagnostics verdict."""

from __future__ import annotations

import threading

from depth_anything_ros.frame_slot import LatestFrameSlot
from depth_anything_ros.node_stats import OK, WARN, NodeStats, RateMeter, WarningThrottle

S = 1_000_000_000


def test_slot_keeps_the_newest_and_reports_replacements():
    slot = LatestFrameSlot()
    assert slot.put(1) is False and slot.put(2) is True
    assert slot.take(0) == 2 and slot.take(0) is None


def test_slot_wakes_a_waiting_worker_and_close_releases_it():
    slot = LatestFrameSlot()
    got = []
    worker = threading.Thread(target=lambda: got.append(slot.take(10)))
    worker.start()
    slot.put("frame")
    worker.join(5)
    assert got == ["frame"]
    waiter = threading.Thread(target=lambda: got.append(slot.take(10)))
    waiter.start()
    slot.close()
    waiter.join(5)
    assert not waiter.is_alive() and got[-1] is None


def test_rate_over_a_sliding_window():
    meter = RateMeter(window_s=2.0)
    for i in range(11):
        meter.tick(i * S // 10)  # 10 Hz for 1 s
    assert abs(meter.rate(S) - 10.0) < 1e-9
    assert meter.rate(10 * S) == 0.0  # all ticks left the window


def test_throttle_admits_one_per_period_and_counts_the_rest():
    throttle = WarningThrottle(period_s=5.0)
    assert throttle.admit("size", 0) == 0
    assert throttle.admit("size", 1 * S) is None and throttle.admit("size", 2 * S) is None
    assert throttle.admit("encoding", 2 * S) == 0  # kinds are independent
    assert throttle.admit("size", 6 * S) == 2


def test_report_warns_on_new_errors_and_stale_drops_only():
    stats = NodeStats()
    assert stats.report(0, "x")[:2] == (WARN, "waiting for images")
    stats.frame_received(0)
    stats.frame_published(S // 10, 0.05, 0.02)
    stats.dropped("superseded", 3)
    level, message, values = stats.report(S, "onnxruntime")
    assert level == OK and values["dropped: superseded"] == "3" and values["backend"] == "onnxruntime"
    stats.input_error("encoding")
    assert stats.report(2 * S, "x")[0] == WARN
    assert stats.report(3 * S, "x")[0] == OK  # nothing new since the last report
    stats.dropped("stale")
    level, message, _ = stats.report(4 * S, "x")
    assert level == WARN and "too old" in message
