"""Evaluation reports (metrics.json, report.md, PNG plots) and LiDAR overlays.

The plots are matplotlib figures (``report_plots``, the ``plots`` extra), imported only when a report
is written; ``lidar_overlay`` stays OpenCV only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np

from depth_anything_ros.calibration.fit import Collected, stacked
from depth_anything_ros.calibration.metrics import METRICS, depth_metrics
from depth_anything_ros.core.calibration_file import Calibration
from depth_anything_ros.core.files import atomic_directory
from depth_anything_ros.core.head import depth_from_raw
from depth_anything_ros.preview import colorize_depth


def lidar_overlay(image: np.ndarray, depth: np.ndarray, radius: int = 1) -> np.ndarray:
    """The image dimmed, with every LiDAR pixel drawn in the depth colour map (near warm, far cool)."""
    out = (image.astype(np.float32) * 0.5).astype(np.uint8)
    valid = np.isfinite(depth)
    if valid.any():
        colours = colorize_depth(np.where(valid, depth, np.nan))
        rows, cols = np.nonzero(valid)
        for r, c in zip(rows, cols, strict=True):
            cv2.circle(out, (int(c), int(r)), radius, tuple(int(x) for x in colours[r, c]), -1)
    return out


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _table(measured: dict) -> list[str]:
    """Markdown tables, one column per entry of ``measured`` (in order): overall, then by range."""
    columns = list(measured)
    lines = ["| metric | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for name in (*METRICS, "points", "no_return"):
        cells = [measured[c]["overall"][name] for c in columns]
        lines.append(f"| {name} | " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in cells) + " |")
    lines += ["", "By LiDAR range (abs_rel / RMSE m / points):", "",
              "| range m | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for band in measured[columns[0]]["by_range"]:
        cells = [measured[c]["by_range"][band] for c in columns]
        lines.append(f"| {band} | " + " | ".join(f"{m['abs_rel']:.4f} / {m['rmse']:.3f} / {m['points']}"
                                                   for m in cells) + " |")
    return lines


def write_report(directory: str | Path, measured: dict, collected: Collected, calibration: Calibration | None,
                 bags: list[str]) -> Path:
    """metrics.json, report.md, error_by_range.png, predicted_vs_lidar.png, example_N.png; all or nothing."""
    truth = stacked(collected.samples, "truth")
    densities = [("before: the graph's own head" if calibration is not None else "the graph's own head",
                  truth, stacked(collected.samples, "graph_depth"))]
    if calibration is not None:
        densities.append((f"after: calibration ({calibration.method or 'given'})", truth,
                          depth_from_raw(stacked(collected.samples, "raw"), calibration.scale, calibration.shift,
                                         collected.kind)))
    document = {"bags": bags, "frames": len(collected.samples), "graph_kind": collected.kind,
                "checkpoint_sha256": collected.checkpoint_sha256, "camera": collected.camera,
                "calibration": None if calibration is None else {"scale": calibration.scale,
                                                                 "shift": calibration.shift},
                **measured}
    header = [f"# Depth evaluation against LiDAR: {collected.camera or 'camera'}", "",
              f"Bags: {', '.join(bags)}  ", f"Frames: {len(collected.samples)}, graph: {collected.kind}, "
              f"weights {collected.checkpoint_sha256[:12] or 'unknown'}  ",
              "Calibration: " + ("none" if calibration is None else
                                 f"{calibration.method or 'given'} scale {calibration.scale:.6g} shift "
                                 f"{calibration.shift:.6g}"),
              "", "Official Depth Anything metric definitions; before = the graph's own head (NaN for relative "
              "graphs: V1/V2 inverse depth and DA3 depth up to scale have no metres of their own)."
              + ("" if calibration is None else " Examples show the calibrated depth.")]
    head = (calibration.scale, calibration.shift) if calibration is not None else \
        ((1.0, 0.0) if collected.kind == "metric" else None)
    return _write(directory, document, measured, collected, header, densities, head)


def write_comparison_report(directory: str | Path, columns: dict, collected: Collected, bags: list[str],
                            title: str, densities: list[tuple[str, np.ndarray, np.ndarray]] | None = None) -> Path:
    """One report comparing several models on the same frames; ``collected`` (the last column's run)
    gives the examples, and the density plot unless ``densities`` ((title, LiDAR, predicted) per
    column) are given. Replaces an earlier report of the same name."""
    import shutil

    document = {"bags": bags, "frames": len(collected.samples), "camera": collected.camera, "columns": columns}
    header = [f"# {title}", "", f"Bags: {', '.join(bags)}  ", f"Held-out frames: {len(collected.samples)}",
              "", "Official Depth Anything metric definitions; examples: the last column."]
    if densities is None:
        densities = [(list(columns)[-1], stacked(collected.samples, "truth"),
                      stacked(collected.samples, "graph_depth"))]
    if Path(directory).exists():
        shutil.rmtree(directory)
    head = (1.0, 0.0) if collected.kind == "metric" else None
    return _write(directory, document, columns, collected, header, densities, head)


def stamp_text(stamp_ns: int) -> str:
    """ROS time 'sec.nanosec s'."""
    return f"{stamp_ns // 1_000_000_000}.{stamp_ns % 1_000_000_000:09d} s"


def write_example(path: Path, frame, raw: np.ndarray, head: tuple[float, float] | None, kind: str,
                  label: str = "") -> float:
    """One example figure (image | predicted | LiDAR | signed error); returns the frame's AbsRel (NaN
    without metres)."""
    from depth_anything_ros.calibration.plots import RELATIVE_LABELS, example_panels

    predicted = depth_from_raw(raw, head[0], head[1], kind) if head is not None else None
    valid = np.isfinite(frame.depth)
    abs_rel = depth_metrics(predicted[valid], frame.depth[valid])["abs_rel"] if predicted is not None \
        else float("nan")
    title = (f"{label}{' ' if label else ''}stamp {stamp_text(frame.stamp_ns)}, AbsRel "
             + (f"{abs_rel:.3f}" if math.isfinite(abs_rel) else "n/a (no metres)"))
    example_panels(frame.image, predicted, frame.depth, title, path, relative=raw if predicted is None else None,
                   relative_label=RELATIVE_LABELS.get(kind, RELATIVE_LABELS["relative"]))
    return abs_rel


def _write(directory: str | Path, document: dict, measured: dict, collected: Collected, header: list[str],
           densities: list[tuple[str, np.ndarray, np.ndarray]], head: tuple[float, float] | None) -> Path:
    from depth_anything_ros.calibration.plots import DensityPanel, density_plot, range_bars

    with atomic_directory(directory) as tmp:
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "metrics.json").write_text(json.dumps(_json_safe(document), indent=2))
        range_bars(measured, tmp / "error_by_range.png")
        density_plot([DensityPanel(*entry) for entry in densities], tmp / "predicted_vs_lidar.png")
        for index, (frame, raw) in enumerate(collected.examples):
            write_example(tmp / f"example_{index}.png", frame, raw, head, collected.kind,
                          f"{collected.camera or 'camera'}:")
        lines = [*header, "", *_table(measured), "",
                 "![AbsRel and RMSE by range](error_by_range.png) ![predicted vs LiDAR](predicted_vs_lidar.png)",
                 ""]
        lines += [f"![example {i}](example_{i}.png)" for i in range(len(collected.examples))]
        (tmp / "report.md").write_text("\n".join(lines) + "\n")
    return Path(directory)
