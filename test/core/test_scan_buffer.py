"""core.scan_buffer: each image gets the scan nearest its stamp within max_age; future and stale scans have reasons."""

from __future__ import annotations

import math

import pytest

from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.core.scan_buffer import ScanBuffer

MS = 1_000_000


def test_the_newest_scan_within_max_age_before_the_image():
    scans = ScanBuffer(max_age_s=0.1)
    for k in range(4):
        scans.add(1000 * MS + k * 100 * MS, f"scan{k}")  # 10 Hz
    pick = scans.pick(1250 * MS)
    assert (pick.points, pick.reason) == ("scan2", AnchorReason.OK)  # 50 ms old; scan3 is 50 ms in the future
    assert pick.age_s(1250 * MS) == pytest.approx(0.05)
    assert scans.pick(1200 * MS).points == "scan2"  # same stamp


def test_future_scans_are_refused_unless_allowed():
    scans = ScanBuffer(max_age_s=0.1)
    scans.add(1010 * MS, "late")
    pick = scans.pick(1000 * MS)
    assert pick.points is None and pick.reason is AnchorReason.SCAN_FROM_FUTURE and "after the image" in pick.detail
    assert math.isnan(pick.age_s(1000 * MS))
    lenient = ScanBuffer(max_age_s=0.1, max_future_s=0.02)
    lenient.add(990 * MS, "before")
    lenient.add(1010 * MS, "after")
    assert lenient.pick(1008 * MS).points == "after"  # the nearest of the two, 2 ms away
    assert lenient.pick(1008 * MS).age_s(1008 * MS) == pytest.approx(-0.002)


def test_stale_and_missing_scans_have_reasons():
    scans = ScanBuffer(max_age_s=0.1)
    assert scans.pick(0).reason is AnchorReason.NO_SCAN
    scans.add(1000 * MS, "old")
    stale = scans.pick(1150 * MS)
    assert stale.points is None and stale.reason is AnchorReason.SCAN_TOO_OLD and "0.150 s old" in stale.detail


def test_time_going_backwards_starts_the_buffer_again_and_capacity_bounds_it():
    scans = ScanBuffer(max_age_s=0.1, capacity=3)
    for k in range(5):
        scans.add(k * 100 * MS, k)
    assert len(scans) == 3 and scans.pick(100 * MS).reason is AnchorReason.SCAN_FROM_FUTURE  # 0 and 1 evicted
    scans.add(50 * MS, "after the loop")  # a bag loop: the old scans would be "from the future" forever
    assert len(scans) == 1 and scans.pick(60 * MS).points == "after the loop"


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="max_age_s"):
        ScanBuffer(max_age_s=-1)
