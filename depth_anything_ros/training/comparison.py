"""The before/after comparison of a training recipe: networks side by side on the held-out LiDAR frames.

A network with metres of its own is measured as it is; one without (or a start that a head could rescue) by its
best head, fitted on the training frames of the same run. Trained networks are written in their family's layout
with their fused graph, and measured through that graph, as the node will run it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from depth_anything_ros.calibration import (
    Collected,
    collect_samples,
    fit_calibration,
    measure,
    rounded_metrics,
    stacked,
    write_comparison_report,
)
from depth_anything_ros.core.calibration_file import Calibration
from depth_anything_ros.core.files import file_sha256
from depth_anything_ros.core.head import depth_from_raw
from depth_anything_ros.model import family_of_network
from depth_anything_ros.runtime import OnnxRuntimeBackend
from depth_anything_ros.training.labeled_frames import StoredFrame

T = TypeVar("T")


@dataclass(frozen=True)
class Exported:
    weights: Path  # as the family writes them (V1/V2: ``<stem>.pth``; DA3: the hub folder ``<stem>/``)
    sha256: str  # of the weights file
    graph: Path  # the fused graph ``<stem>_<H>x<W>.onnx``


def export_trained(model, base: Path, image_hw: tuple[int, int], input_size: int, extra: dict) -> Exported:
    """``model`` written at ``base`` in its family's layout (``extra`` in its metadata) and its fused graph
    beside it, named after ``base``'s stem."""
    from depth_anything_ros.export.onnx_export import export_graph  # torch.onnx

    family = family_of_network(model)
    graph = base.with_name(f"{base.stem}_{image_hw[0]}x{image_hw[1]}.onnx")
    weights = family.save(model, base, extra)
    sha = file_sha256(family.weights_file(weights))
    export_graph(model, image_hw, graph, "bgr", input_size, sha)
    return Exported(weights, sha, graph)


def graph_run(graph: Path, frames: Iterable[StoredFrame], progress: Callable[[str], None]) -> Collected:
    """The fused graph (onnxruntime) over ``frames``: its raw output and metres at the LiDAR pixels."""
    with OnnxRuntimeBackend(graph) as backend:
        return collect_samples(frames, lambda hw: backend, progress=progress)


def split(items: Sequence[T], held: np.ndarray) -> tuple[list[T], list[T]]:
    """(training, held-out) items, by one ``held`` bool per item."""
    return [i for i, h in zip(items, held, strict=True) if not h], [i for i, h in zip(items, held, strict=True) if h]


@dataclass
class Comparison:
    """Columns of held-out metrics (overall and by range), with each column's LiDAR and predicted depth."""

    bags: list[str]
    columns: dict[str, dict] = field(default_factory=dict)
    densities: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)

    def add_own(self, title: str, run: Collected, held: np.ndarray | None = None) -> None:
        """The network's own metres (NaN where it has none) on the run's held-out frames (all of them when ``held``
        is None: a run over held-out frames only)."""
        samples = run.samples if held is None else split(run.samples, held)[1]
        self.columns[title] = measure(samples, "metric", None)["before"]
        self.densities.append((title, stacked(samples, "truth"), stacked(samples, "graph_depth")))

    def add_head(self, title: str, run: Collected, held: np.ndarray, method: str = "affine") -> Calibration:
        """The best ``method`` head fitted on the run's training frames (``held`` False), measured on the others."""
        head, fitted = fit_calibration(run, method, self.bags, held=held)
        _, test = split(run.samples, held)
        self.columns[title] = fitted["held_out"]["after"]
        self.densities.append((title, stacked(test, "truth"),
                               depth_from_raw(stacked(test, "raw"), head.scale, head.shift, run.kind)))
        return head

    def rounded(self) -> dict[str, dict]:
        """Each column's overall metrics, rounded for files."""
        return {title: rounded_metrics(m["overall"]) for title, m in self.columns.items()}

    def rounded_by_range(self, title: str) -> dict[str, dict]:
        """One column's metrics per range band, rounded for files."""
        return {band: rounded_metrics(m) for band, m in self.columns[title]["by_range"].items()}

    def write_report(self, directory: Path, run: Collected, title: str) -> Path:
        """The side-by-side report; ``run`` (held-out frames) gives its examples."""
        return write_comparison_report(directory, self.columns, run, self.bags, title, self.densities)
