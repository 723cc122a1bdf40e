"""The node's ROS-free helpers: the one-frame mailbox, rates, throttled warnings, the diagnostics verdict."""

from __future__ import annotations

import threading

from depth_anything_ros.node.frame_slot import LatestFrameSlot
from depth_anything_ros.node.stats import ERROR, OK, WARN, Health, NodeStats, RateMeter, WarningThrottle

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


def overall(stats, now, **health):
    status = stats.report(now, Health(**health))[0]
    return status.level, status.message, status.values


def test_report_warns_on_sustained_losses_only_and_not_for_superseded_frames():
    stats = NodeStats(window_s=5.0)
    assert overall(stats, 0)[:2] == (WARN, "waiting for images")
    for i in range(10):
        stats.frame_received(i * S // 10)
        stats.frame_published(i * S // 10 + 1, 0.05, 0.02)
    stats.dropped("superseded", 30)
    level, _, values = overall(stats, S, backend="onnxruntime")
    assert level == OK and values["dropped: superseded"] == "30" and values["backend"] == "onnxruntime"
    stats.input_error("encoding", S)
    assert overall(stats, S)[0] == OK  # 1 of 10 is under the 25 % threshold
    for i in range(5):
        stats.frame_received(S + i)
        stats.dropped("stale", now_ns=S + i)
    level, message, _ = overall(stats, 2 * S)
    assert level == WARN and "6 of 15 frames lost" in message
    assert overall(stats, 3 * S)[0] == WARN  # sustained: stays while the losses are in the window
    assert overall(stats, 8 * S, stale_input_s=60)[0] == OK  # the window has moved on


def test_report_errors_on_stale_input_no_output_and_a_dead_worker_and_shows_the_state():
    stats = NodeStats()
    stats.restart(0)
    level, message, _ = overall(stats, 4 * S, stale_input_s=3.0)
    assert level == ERROR and "no image for 4.0 s" in message
    for i in range(40):
        stats.frame_received(4 * S + i * S // 10)
    level, message, _ = overall(stats, 8 * S, stale_input_s=3.0)
    assert level == ERROR and "nothing published for 8.0 s" in message
    assert overall(stats, 8 * S, worker_alive=False)[:2][0] == ERROR
    assert "worker stopped" in overall(stats, 8 * S, worker_alive=False)[1]
    level, message, values = overall(stats, 8 * S, state="inactive")
    assert (level, values["lifecycle state"]) == (OK, "inactive") and "not processing" in message


def test_frequency_and_stamp_delay_follow_diagnostic_updater():
    stats = NodeStats()
    stats.restart(0)
    for i in range(11):
        stats.frame_received(i * S // 10)
        stats.frame_published(i * S // 10, 0.8 if i == 10 else 0.05, 0.02)
    _, rate, delay = stats.report(S, Health(min_rate=20.0, max_latency_s=0.5))
    values = {**rate.values, **delay.values}
    assert (rate.level, rate.message) == (WARN, "Frequency too low.") and values["Actual frequency (Hz)"] == "10.00"
    assert values["Minimum acceptable frequency (Hz)"] == "20" and values["Maximum acceptable frequency (Hz)"] == "inf"
    assert (delay.level, delay.message) == (WARN, "Timestamps too far in past seen.")
    assert float(values["Latest timestamp delay:"]) == 0.8 and float(values["Earliest timestamp delay:"]) == 0.05
    assert stats.report(S, Health(min_rate=5.0, max_rate=15.0))[1].level == OK
