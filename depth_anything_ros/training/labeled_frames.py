"""LiDAR-labelled camera frames read once from the bags and kept on disk for every epoch and rank."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from depth_anything_ros.calibration import GroundTruthOptions, read_ground_truth
from depth_anything_ros.training.array_cache import ArrayCache, read_index, write_index


@dataclass(frozen=True)
class StoredFrame:
    """What calibration and training need of a ground-truth frame."""

    stamp_ns: int
    image: np.ndarray  # BGR uint8 (H, W, 3)
    depth: np.ndarray  # float32 metres, NaN where no LiDAR point
    camera_frame: str
    k: np.ndarray  # (3, 3) float64 intrinsics of ``image`` (DA3 metric networks scale by its focal length)


def bag_fingerprint(bags: Sequence[str | Path]) -> list:
    """Each bag's resolved path, total size and newest modification time: changes when a bag does."""
    files = []
    for bag in bags:
        path = Path(bag)
        parts = sorted(path.rglob("*")) if path.is_dir() else [path]
        files.append([str(path.resolve()), sum(p.stat().st_size for p in parts if p.is_file()),
                      max((p.stat().st_mtime_ns for p in parts if p.is_file()), default=0)])
    return files


def source_fingerprint(bags: Sequence[str | Path], options: GroundTruthOptions) -> dict:
    """What decides the frames: the bags and every ground-truth option."""
    option_values = {k: (repr(v) if not isinstance(v, str | int | float | bool) else v)
                     for k, v in asdict(options).items()}
    return {"bags": bag_fingerprint(bags), "options": option_values}


STORE_LAYOUT = 2  # 2: every frame keeps its camera K; stores of another layout are re-read


class FrameStore:
    """Frames in an ``ArrayCache`` plus ``frames.json`` (their stamps and the source fingerprint)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.cache = ArrayCache(self.root / "frames")
        self.index = self.root / "frames.json"

    def load_index(self, fingerprint: dict) -> tuple[list[int], str] | None:
        """(stamps, camera frame) when the stored frames came from this very source; else None."""
        data = read_index(self.index, fingerprint)
        if data is None or data.get("layout") != STORE_LAYOUT:
            return None
        stamps = [int(s) for s in data["stamps"]]
        return (stamps, str(data["camera_frame"])) if all((s,) in self.cache for s in stamps) else None

    def extract(self, bags: Sequence[str | Path], options: GroundTruthOptions,
                progress: Callable[[str], None] = print) -> tuple[list[int], str]:
        """Read the bags' ground truth into the store (or reuse it when the source is unchanged)."""
        fingerprint = source_fingerprint(bags, options)
        known = self.load_index(fingerprint)
        if known is not None:
            progress(f"reusing {len(known[0])} frames stored in {self.root}")
            return known
        stamps, camera_frame, shape = [], "", None
        for frame in read_ground_truth(bags, options):
            if shape is not None and frame.image.shape != shape:
                raise ValueError(f"image size changed from {shape[0]}x{shape[1]} to {frame.image.shape[0]}x"
                                 f"{frame.image.shape[1]} at stamp {frame.stamp_ns}: train one camera resolution "
                                 f"per run")
            shape = frame.image.shape
            self.cache.put((frame.stamp_ns,), image=frame.image, depth=frame.depth,
                           k=(frame.k if frame.k is not None else frame.camera.image_k()).astype(np.float64))
            stamps.append(frame.stamp_ns)
            camera_frame = frame.camera_frame
            if len(stamps) % 50 == 0:
                progress(f"stored {len(stamps)} frames")
        if not stamps:
            raise ValueError("no camera frame has LiDAR ground truth: nothing to train on")
        write_index(self.index, fingerprint, stamps=stamps, camera_frame=camera_frame, layout=STORE_LAYOUT)
        return stamps, camera_frame

    def frame(self, stamp_ns: int, camera_frame: str = "") -> StoredFrame:
        arrays = self.cache.get((stamp_ns,))
        if arrays is None:
            raise FileNotFoundError(f"frame {stamp_ns} is missing from {self.root}; remove frames.json to re-read")
        return StoredFrame(stamp_ns, arrays["image"], arrays["depth"], camera_frame, arrays["k"])

    def frames(self, stamps: Sequence[int], camera_frame: str = "") -> Iterator[StoredFrame]:
        return (self.frame(s, camera_frame) for s in stamps)


class LabeledFrames(Dataset):
    """(image uint8 (H,W,3), LiDAR depth float32 (H,W) with NaN holes) tensors for a DataLoader; with
    ``with_k``, also the camera K (3, 3) float64 (what a DA3 metric network's focal comes from)."""

    def __init__(self, store: FrameStore, stamps: Sequence[int], with_k: bool = False) -> None:
        self.store, self.stamps, self.with_k = store, list(stamps), with_k

    def __len__(self) -> int:
        return len(self.stamps)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        frame = self.store.frame(self.stamps[index])
        pair = (torch.from_numpy(frame.image), torch.from_numpy(frame.depth.astype(np.float32)))
        return (*pair, torch.from_numpy(frame.k)) if self.with_k else pair
