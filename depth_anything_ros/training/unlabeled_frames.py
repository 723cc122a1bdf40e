"""Camera frames without labels: every image of a topic, near-duplicates skipped, kept on disk."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from depth_anything_ros.msgs import header_stamp, open_bags, require_topic
from depth_anything_ros.msgs.images import decode_frame
from depth_anything_ros.training.array_cache import ArrayCache, read_index, write_index

THUMBNAIL = (32, 24)  # width, height of the grey thumbnails compared for near-duplicates


@dataclass(frozen=True)
class FrameRef:
    """Where an image came from: the cache key of the frame and of its pseudo-label."""

    bag: str
    topic: str
    stamp_ns: int

    def key(self) -> tuple[str, str, int]:
        return (self.bag, self.topic, self.stamp_ns)


def thumbnail(bgr: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, THUMBNAIL, interpolation=cv2.INTER_AREA).astype(np.float32)


class DuplicateFilter:
    """Keeps a frame only when its thumbnail differs from the last kept one by ``min_change`` grey levels
    (mean absolute difference, 0-255): a robot standing still yields one frame, not thousands."""

    def __init__(self, min_change: float) -> None:
        self.min_change = min_change
        self.last: np.ndarray | None = None

    def keep(self, bgr: np.ndarray) -> bool:
        small = thumbnail(bgr)
        if self.last is not None and float(np.mean(np.abs(small - self.last))) < self.min_change:
            return False
        self.last = small
        return True


def iter_images(bags: Sequence[str | Path], topic: str) -> Iterator[tuple[FrameRef, np.ndarray]]:
    """(reference, BGR image) for every message on ``topic`` (Image or CompressedImage), bag by bag."""
    for bag in bags:
        with open_bags([bag]) as reader:
            connections = require_topic(reader, topic, "image")
            name = str(Path(bag).resolve())
            for conn, _, raw in reader.messages(connections=connections):
                stamp = header_stamp(raw, reader.is2)
                bgr, _ = decode_frame(reader.deserialize(raw, conn.msgtype))
                yield FrameRef(name, topic, stamp), bgr


class UnlabeledStore:
    """Selected frames in an ``ArrayCache`` plus ``unlabeled.json`` (their references and the selection)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.cache = ArrayCache(self.root / "unlabeled")
        self.index = self.root / "unlabeled.json"

    def select(self, bags: Sequence[str | Path], topic: str, min_change: float, every: int = 1,
               progress: Callable[[str], None] = print) -> list[FrameRef]:
        """Read and store the distinct frames (or reuse them when bags and selection are unchanged)."""
        from depth_anything_ros.training.labeled_frames import bag_fingerprint

        fingerprint = {"bags": bag_fingerprint(bags), "topic": topic, "min_change": min_change, "every": every}
        known = self._load(fingerprint)
        if known is not None:
            progress(f"reusing {len(known)} unlabeled frames stored in {self.root}")
            return known
        refs, seen, shape = [], 0, None
        duplicates = DuplicateFilter(min_change)
        for index, (ref, bgr) in enumerate(iter_images(bags, topic)):
            seen += 1
            if index % every or not duplicates.keep(bgr):
                continue
            if shape is not None and bgr.shape != shape:
                raise ValueError(f"image size changed from {shape[0]}x{shape[1]} to {bgr.shape[0]}x{bgr.shape[1]} "
                                 f"on {topic} at stamp {ref.stamp_ns}: train one camera resolution per run")
            shape = bgr.shape
            self.cache.put(ref.key(), image=bgr)
            refs.append(ref)
        if not refs:
            raise ValueError(f"no frames on {topic}")
        progress(f"selected {len(refs)} of {seen} frames on {topic} (every {every}, near-duplicates below "
                 f"{min_change:g} grey levels skipped)")
        write_index(self.index, fingerprint, frames=[list(r.key()) for r in refs])
        return refs

    def _load(self, fingerprint: dict) -> list[FrameRef] | None:
        data = read_index(self.index, fingerprint)
        if data is None:
            return None
        refs = [FrameRef(str(b), str(t), int(s)) for b, t, s in data["frames"]]
        return refs if all(r.key() in self.cache for r in refs) else None

    def image(self, ref: FrameRef) -> np.ndarray:
        arrays = self.cache.get(ref.key())
        if arrays is None:
            raise FileNotFoundError(f"frame {ref.stamp_ns} is missing from {self.root}; remove unlabeled.json")
        return arrays["image"]
