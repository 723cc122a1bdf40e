"""File writing that never leaves half-written outputs behind, and a lock for work shared across processes."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

LOG = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name keeps the extension: OpenCV picks the format from it.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield ``<hidden temp dir>/<name>`` to create; moved to ``path`` only on success, else removed.

    The yielded path has the final name, so tools that name files after their directory (rosbag2
    writers) produce the final file names.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; choose another output or remove it")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    try:
        yield staging / path.name
        os.replace(staging / path.name, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def save_array(path: str | Path, array: object) -> Path:
    """``np.save`` through a temporary name."""
    import numpy as np

    with atomic_path(path) as tmp:
        np.save(tmp, array)
    return Path(path)


def write_image(path: str | Path, image: object) -> Path:
    """``cv2.imwrite`` that raises instead of returning False (a full disk, an unwritable folder)."""
    import cv2

    try:
        written = cv2.imwrite(str(path), image)
    except cv2.error as error:
        raise OSError(f"could not write {path}: {error}") from error
    if not written:
        raise OSError(f"could not write {path} (disk full or not writable?)")
    return Path(path)


def save_image(path: str | Path, image: object) -> Path:
    """``write_image`` through a temporary name."""
    with atomic_path(path) as tmp:
        write_image(tmp, image)
    return Path(path)


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def file_lock(path: str | Path, timeout_s: float = 3600.0, poll_s: float = 0.2) -> Iterator[None]:
    """Exclusive advisory lock on ``path`` across processes; waits (and says so) up to ``timeout_s``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline, announced = time.monotonic() + timeout_s, False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    LOG.info("waiting for another process holding %s (builds and exports take minutes)", path)
                    announced = True
                if time.monotonic() > deadline:
                    raise TimeoutError(f"gave up after {timeout_s:.0f} s waiting for the lock {path}") from None
                time.sleep(poll_s)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
