"""TensorRT engines cached by what they are specific to; rebuilt, never trusted, when anything differs.

An engine ``X.engine`` is accompanied by ``X.engine.json`` (its EngineRecord): the cache key, the
fused graph's GraphInfo, and the SHA-256 and size of the engine bytes. An engine without a record
is foreign; a record whose key differs is stale; bytes that do not match the record are corrupt.
Builds happen under an exclusive file lock, so concurrent nodes build once and never read halves.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from depth_anything_ros.core.files import atomic_path, file_lock, file_sha256
from depth_anything_ros.export import GraphInfo, read_graph_info
from depth_anything_ros.runtime.nvidia import GpuInfo

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineKey:
    """Everything a serialized engine depends on."""

    gpu_name: str
    compute_capability: str
    tensorrt_version: str
    onnx_sha256: str
    precision: str  # the graph variant built (fp32, or fp16 strongly typed); build_engine refuses a mismatch
    image_shape: tuple[int, int, int]
    network_shape: tuple[int, int]
    max_batch: int = 0  # batched graphs: the optimization profile's max (and opt) batch; 0: one image

    def digest(self) -> str:
        fields = asdict(self)
        if not self.max_batch:
            del fields["max_batch"]  # one-image engines keep the digests (and cache files) they always had
        text = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def differences(self, other: EngineKey) -> list[str]:
        """'field: ours != theirs' for every differing field."""
        mine, theirs = asdict(self), asdict(other)
        return [f"{name}: {theirs[name]} != {mine[name]}" for name in mine if mine[name] != theirs[name]]


def engine_key(onnx_path: str | Path, precision: str, gpu: GpuInfo, tensorrt_version: str) -> EngineKey:
    info = read_graph_info(onnx_path)
    return EngineKey(gpu_name=gpu.name, compute_capability=gpu.compute_capability,
                     tensorrt_version=tensorrt_version, onnx_sha256=file_sha256(onnx_path), precision=precision,
                     image_shape=(*info.image_hw, 3), network_shape=(info.network_height, info.network_width),
                     max_batch=info.max_batch)


@dataclass(frozen=True)
class EngineRecord:
    """The sidecar of an engine file."""

    key: EngineKey
    graph: GraphInfo
    engine_sha256: str
    engine_bytes: int
    build_seconds: float
    self_check_error: float | None = None

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "graph": asdict(self.graph)}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EngineRecord:
        data = json.loads(text)
        key = data.pop("key")
        key["image_shape"], key["network_shape"] = tuple(key["image_shape"]), tuple(key["network_shape"])
        return cls(key=EngineKey(**key), graph=GraphInfo(**data.pop("graph")), **data)


def record_path(engine_path: str | Path) -> Path:
    return Path(f"{engine_path}.json")


def read_record(engine_path: str | Path) -> EngineRecord:
    """The engine's record, or ValueError saying the engine is foreign or its record unreadable."""
    path = record_path(engine_path)
    if not path.is_file():
        raise ValueError(f"{engine_path} has no record {path.name}: an engine of unknown origin is never trusted; "
                         "build one with: depth-anything-ros build-engine")
    try:
        return EngineRecord.from_json(path.read_text())
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{path} is not a readable engine record: {error}") from error


def write_engine(engine_path: str | Path, engine: bytes, record: EngineRecord) -> None:
    """Engine bytes, then their record, each through a temporary name (readers verify the SHA-256)."""
    with atomic_path(engine_path) as tmp:
        tmp.write_bytes(engine)
    with atomic_path(record_path(engine_path)) as tmp:
        tmp.write_text(record.to_json())


def save_engine(engine_path: str | Path, engine: bytes, onnx_path: str | Path, key: EngineKey,
                build_seconds: float) -> EngineRecord:
    """Write a freshly built engine with the record that vouches for it."""
    record = EngineRecord(key=key, graph=read_graph_info(onnx_path), engine_sha256=hashlib.sha256(engine).hexdigest(),
                          engine_bytes=len(engine), build_seconds=round(build_seconds, 3))
    write_engine(engine_path, engine, record)
    return record


def update_record(engine_path: str | Path, **changes: object) -> EngineRecord:
    record = replace(read_record(engine_path), **changes)
    with atomic_path(record_path(engine_path)) as tmp:
        tmp.write_text(record.to_json())
    return record


def why_unusable(engine_path: str | Path, key: EngineKey) -> str | None:
    """None when the cached engine matches ``key`` and its bytes are intact; else the reason."""
    engine_path = Path(engine_path)
    if not engine_path.is_file():
        return "not built yet"
    try:
        record = read_record(engine_path)
    except ValueError as error:
        return f"foreign: {error}"
    if record.key != key:
        return "stale: " + "; ".join(key.differences(record.key))
    if engine_path.stat().st_size != record.engine_bytes or file_sha256(engine_path) != record.engine_sha256:
        return f"corrupt: {engine_path.name} does not match the size and SHA-256 in its record"
    return None


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "depth_anything_ros" / "engines"


def cached_engine_path(cache_dir: str | Path, onnx_path: str | Path, key: EngineKey) -> Path:
    return Path(cache_dir) / f"{Path(onnx_path).stem}-{key.precision}-{key.digest()}.engine"


def find_or_build_engine(onnx_path: str | Path, key: EngineKey, cache_dir: str | Path,
                         build: Callable[[], bytes], lock_timeout_s: float = 3600.0) -> Path:
    """The cached engine for ``key``, built with ``build()`` under the lock when missing or unusable."""
    engine_path = cached_engine_path(cache_dir, onnx_path, key)
    if (reason := why_unusable(engine_path, key)) is None:
        LOG.info("engine cache hit: %s", engine_path)
        return engine_path
    with file_lock(f"{engine_path}.lock", lock_timeout_s):
        if (reason := why_unusable(engine_path, key)) is None:  # built by another process meanwhile
            LOG.info("engine built by another process: %s", engine_path)
            return engine_path
        LOG.info("building engine %s (%s)", engine_path.name, reason)
        started = time.monotonic()
        engine = build()
        save_engine(engine_path, engine, onnx_path, key, time.monotonic() - started)
    return engine_path


def discard_engine(engine_path: str | Path) -> None:
    """Remove an engine and its record (after it failed to deserialize)."""
    for path in (Path(engine_path), record_path(engine_path)):
        path.unlink(missing_ok=True)
