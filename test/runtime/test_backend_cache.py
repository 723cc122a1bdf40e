"""One backend per camera resolution: the node keeps one, offline tools keep all."""

from __future__ import annotations

import pytest

from depth_anything_ros.runtime import BackendCache


class Recorded:
    def __init__(self, image_hw, log):
        self.image_hw, self.log = image_hw, log
        log.append(("open", image_hw))

    def close(self):
        self.log.append(("close", self.image_hw))


def opener(log, refuse=()):
    def open_backend(image_hw):
        if image_hw in refuse:
            raise RuntimeError(f"no graph for {image_hw}")
        return Recorded(image_hw, log)
    return open_backend


def test_keep_one_opens_the_new_size_before_closing_the_old():
    log = []
    cache = BackendCache(opener(log), keep=1)
    first = cache.get((480, 640))
    assert cache.get((480, 640)) is first and cache.latest is first
    second = cache.get((720, 1280))
    assert log == [("open", (480, 640)), ("open", (720, 1280)), ("close", (480, 640))]
    assert cache.latest is second


def test_a_size_that_fails_to_open_keeps_the_loaded_backend():
    log = []
    cache = BackendCache(opener(log, refuse={(10, 10)}), keep=1)
    loaded = cache.get((480, 640))
    with pytest.raises(RuntimeError, match="no graph"):
        cache.get((10, 10))
    assert cache.latest is loaded and ("close", (480, 640)) not in log


def test_keep_all_reuses_each_size_and_close_closes_everything():
    log = []
    cache = BackendCache(opener(log))
    a, b = cache.get((1, 2)), cache.get((3, 4))
    assert cache.get((1, 2)) is a and cache.latest is a and cache.get((3, 4)) is b
    assert [e for e in log if e[0] == "open"] == [("open", (1, 2)), ("open", (3, 4))]
    cache.close()
    assert sorted(e for e in log if e[0] == "close") == [("close", (1, 2)), ("close", (3, 4))]
    assert cache.latest is None


def test_keep_must_be_positive():
    with pytest.raises(ValueError, match="keep must be >= 1"):
        BackendCache(opener([]), keep=0)
