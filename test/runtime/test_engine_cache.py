"""Engine cache: keys, records, invalidation (foreign, stale, corrupt), atomic writes and the file lock."""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import replace
from pathlib import Path

import pytest

from depth_anything_ros.core.files import file_lock
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.runtime import engine_key
from depth_anything_ros.runtime.engine_cache import (
    EngineKey,
    cached_engine_path,
    find_or_build_engine,
    read_record,
    record_path,
    why_unusable,
)
from depth_anything_ros.runtime.nvidia import GpuInfo

GPU = GpuInfo(0, "Orin", "8.7")


@pytest.fixture
def graph(tmp_path, tiny_relative) -> Path:
    path = tmp_path / "tiny.onnx"
    export_graph(tiny_relative, (28, 42), path)
    return path


def test_key_covers_gpu_tensorrt_graph_precision_and_shapes(graph):
    key = engine_key(graph, "fp16", GPU, "10.3.0")
    assert key.image_shape == (28, 42, 3) and key.network_shape == (518, 784)
    assert key.digest() == engine_key(graph, "fp16", GPU, "10.3.0").digest()
    variants = [engine_key(graph, "fp32", GPU, "10.3.0"), engine_key(graph, "fp16", GpuInfo(0, "RTX 4090", "8.9"),
                "10.3.0"), engine_key(graph, "fp16", GPU, "10.4.0"), replace(key, onnx_sha256="0" * 64),
                replace(key, image_shape=(28, 44, 3))]
    digests = {v.digest() for v in variants}
    assert len(digests) == len(variants) and key.digest() not in digests
    assert key.differences(replace(key, tensorrt_version="10.0.1")) == ["tensorrt_version: 10.0.1 != 10.3.0"]


def _counting_build(counter: Path, delay: float = 0.0):
    def build() -> bytes:
        with open(counter, "a") as stream:
            stream.write("built\n")
        time.sleep(delay)
        return b"ENGINE-BYTES"
    return build


def test_find_or_build_builds_once_then_hits(tmp_path, graph):
    key = engine_key(graph, "fp16", GPU, "10.3.0")
    counter = tmp_path / "builds.txt"
    first = find_or_build_engine(graph, key, tmp_path / "cache", _counting_build(counter))
    second = find_or_build_engine(graph, key, tmp_path / "cache", _counting_build(counter))
    assert first == second == cached_engine_path(tmp_path / "cache", graph, key)
    assert counter.read_text().count("built") == 1
    record = read_record(first)
    assert record.key == key and record.engine_bytes == len(b"ENGINE-BYTES")
    assert record.graph.image_hw == (28, 42) and record.self_check_error is None


def test_foreign_stale_and_corrupt_engines_are_rebuilt(tmp_path, graph):
    key = engine_key(graph, "fp16", GPU, "10.3.0")
    cache, counter = tmp_path / "cache", tmp_path / "builds.txt"
    path = find_or_build_engine(graph, key, cache, _counting_build(counter))
    assert why_unusable(path, key) is None

    path.write_bytes(b"ENGINE-BYTEZ")  # same size, other bytes
    assert why_unusable(path, key).startswith("corrupt")
    find_or_build_engine(graph, key, cache, _counting_build(counter))
    assert path.read_bytes() == b"ENGINE-BYTES"

    newer = replace(key, tensorrt_version="10.4.0")
    reason = why_unusable(path, newer)
    assert reason.startswith("stale") and "10.3.0 != 10.4.0" in reason

    record_path(path).unlink()  # an engine nobody vouches for
    assert why_unusable(path, key).startswith("foreign")
    find_or_build_engine(graph, key, cache, _counting_build(counter))
    record_path(path).write_text("{not json")
    assert "not a readable engine record" in why_unusable(path, key)
    find_or_build_engine(graph, key, cache, _counting_build(counter))
    assert counter.read_text().count("built") == 4 and why_unusable(path, key) is None


def test_a_failed_build_leaves_nothing_behind(tmp_path, graph):
    key = engine_key(graph, "fp16", GPU, "10.3.0")
    cache = tmp_path / "cache"

    def broken() -> bytes:
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        find_or_build_engine(graph, key, cache, broken)
    assert sorted(p.name for p in cache.iterdir()) == [f"{cached_engine_path(cache, graph, key).name}.lock"]


def _race(args: tuple[str, str, str]) -> str:
    graph, cache, counter = args
    key = engine_key(graph, "fp16", GPU, "10.3.0")
    return str(find_or_build_engine(graph, key, cache, _counting_build(Path(counter), delay=1.0)))


def test_two_processes_starting_at_once_build_once(tmp_path, graph):
    # spawn, not fork: a child forked from the threaded test process (DDS, onnxruntime) can inherit a held lock
    counter = tmp_path / "builds.txt"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        paths = pool.map(_race, [(str(graph), str(tmp_path / "cache"), str(counter))] * 2)
    assert paths[0] == paths[1]
    assert counter.read_text().count("built") == 1
    assert why_unusable(paths[0], engine_key(graph, "fp16", GPU, "10.3.0")) is None


def test_lock_times_out_with_a_clear_message(tmp_path):
    lock = tmp_path / "x.lock"
    with file_lock(lock), pytest.raises(TimeoutError, match=r"x\.lock"), \
            multiprocessing.get_context("spawn").Pool(1) as pool:
        pool.apply(_hold, (str(lock),))


def _hold(lock: str) -> None:
    with file_lock(lock, timeout_s=0.3, poll_s=0.05):
        pass


def test_key_round_trips_through_the_record(tmp_path, graph):
    key = engine_key(graph, "fp32", GPU, "10.3.0")
    path = find_or_build_engine(graph, key, tmp_path, lambda: b"x")
    assert isinstance(read_record(path).key, EngineKey) and read_record(path).key == key
