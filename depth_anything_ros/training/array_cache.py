"""A directory of compressed array files addressed by a key (frames, pseudo-labels); safe to interrupt."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from depth_anything_ros.core.files import atomic_path

Key = Sequence[str | int | float]


class ArrayCache:
    """``put(key, name=array, ...)`` and ``get(key)``; one ``.npz`` per key, written through a temporary name.

    A file that cannot be read (an interrupted copy, a full disk) counts as a miss and is removed,
    so a rerun recomputes it instead of failing.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, key: Key) -> Path:
        digest = hashlib.sha256(json.dumps([str(part) for part in key]).encode()).hexdigest()
        return self.root / digest[:2] / f"{digest[2:]}.npz"

    def get(self, key: Key) -> dict[str, np.ndarray] | None:
        path = self.path_for(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as content:
                return {name: content[name] for name in content.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            path.unlink(missing_ok=True)
            return None

    def put(self, key: Key, **arrays: np.ndarray) -> Path:
        path = self.path_for(key)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        return path

    def __contains__(self, key: Key) -> bool:
        return self.path_for(key).is_file()


def read_index(path: Path, fingerprint: dict) -> dict | None:
    """The JSON index at ``path`` when it was written for ``fingerprint`` (the same source and
    settings); None when it is missing, unreadable or from another source."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("fingerprint") == json.loads(json.dumps(fingerprint)) else None


def write_index(path: Path, fingerprint: dict, **content: object) -> None:
    """Write the index last, through a temporary name: its presence means every entry is stored."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"fingerprint": fingerprint, **content}))
