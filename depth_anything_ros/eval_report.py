"""Evaluation reports (metrics.json, report.md, PNG plots) and LiDAR overlays, drawn with OpenCV only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np

from .calibrate import Collected, stacked
from .calibration import Calibration
from .depth_metrics import METRICS
from .io_utils import atomic_directory, write_image
from .metric import depth_from_raw
from .visualize import colorize_depth

WHITE, GREY, GREEN, BLACK = (255, 255, 255), (150, 150, 150), (60, 180, 60), (0, 0, 0)


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
    for name in (*METRICS, "points"):
        cells = [measured[c]["overall"][name] for c in columns]
        lines.append(f"| {name} | " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in cells) + " |")
    lines += ["", "By LiDAR range (abs_rel / RMSE m / points):", "",
              "| range m | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for band in measured[columns[0]]["by_range"]:
        cells = [measured[c]["by_range"][band] for c in columns]
        lines.append(f"| {band} | " + " | ".join(f"{m['abs_rel']:.4f} / {m['rmse']:.3f} / {m['points']}"
                                                   for m in cells) + " |")
    return lines


PALETTE = (GREY, GREEN, (200, 120, 40), (60, 60, 220))  # BGR, one per column


def _bars(measured: dict, path: Path) -> None:
    """abs_rel per range band, one coloured bar per column of ``measured``."""
    canvas = np.full((340, 560, 3), 255, np.uint8)
    names = list(measured)
    bands = list(measured[names[0]]["by_range"])
    values = [[measured[name]["by_range"][b]["abs_rel"] for b in bands] for name in names]
    top = max([v for row in values for v in row if math.isfinite(v)] or [1.0]) * 1.15
    width = min(34, 100 // len(names) - 4)
    for i, band in enumerate(bands):
        x0 = 60 + i * 120
        for j in range(len(names)):
            value, colour, x = values[j][i], PALETTE[j % len(PALETTE)], x0 + j * (width + 4)
            if math.isfinite(value):
                height = int(240 * value / top)
                cv2.rectangle(canvas, (x, 280 - height), (x + width, 280), colour, -1)
                cv2.putText(canvas, f"{value:.2f}", (x - 2, 274 - height), cv2.FONT_HERSHEY_SIMPLEX, 0.3, BLACK, 1)
        cv2.putText(canvas, f"{band} m", (x0, 300), cv2.FONT_HERSHEY_SIMPLEX, 0.45, BLACK, 1)
    cv2.line(canvas, (50, 280), (550, 280), BLACK, 1)
    cv2.putText(canvas, "AbsRel by LiDAR range", (10, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, BLACK, 1)
    for j, name in enumerate(names):
        step = 540 // len(names)
        cv2.rectangle(canvas, (10 + step * j, 316), (22 + step * j, 328), PALETTE[j % len(PALETTE)], -1)
        cv2.putText(canvas, name[:step // 6], (26 + step * j, 327), cv2.FONT_HERSHEY_SIMPLEX, 0.33, BLACK, 1)
    write_image(path, canvas)


def _scatter(truth: np.ndarray, predicted: np.ndarray, path: Path, size: int = 400) -> None:
    """2-D histogram of predicted against LiDAR depth (log counts), with the y = x line."""
    valid = np.isfinite(truth) & np.isfinite(predicted)
    limit = float(np.percentile(truth[valid], 99)) * 1.2 if valid.any() else 1.0
    hist, _, _ = np.histogram2d(np.clip(predicted[valid], 0, limit), np.clip(truth[valid], 0, limit), bins=size,
                                range=[[0, limit], [0, limit]])
    level = np.log1p(hist) / max(np.log1p(hist).max(), 1e-9)
    canvas = 255 - (np.flipud(level) * 255).astype(np.uint8)
    canvas = cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)
    cv2.line(canvas, (0, size - 1), (size - 1, 0), (0, 0, 255), 1)
    cv2.putText(canvas, f"x: LiDAR 0-{limit:.0f} m, y: predicted", (5, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (200, 0, 0), 1)
    write_image(path, canvas)


def write_report(directory: str | Path, measured: dict, collected: Collected, calibration: Calibration | None,
                 bags: list[str]) -> Path:
    """metrics.json, report.md, error_by_range.png, predicted_vs_lidar.png, example_N.png; all or nothing."""
    if calibration is not None:
        predicted = depth_from_raw(stacked(collected.samples, "raw"), calibration.scale, calibration.shift,
                                   collected.kind)
    else:
        predicted = stacked(collected.samples, "graph_depth")
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
              "graphs, which have no metres of their own)."]
    return _write(directory, document, measured, collected, predicted, header)


def write_comparison_report(directory: str | Path, columns: dict, collected: Collected, bags: list[str],
                            title: str) -> Path:
    """One report comparing several models on the same frames; ``collected`` (the last column's run)
    gives the scatter plot and the examples. Replaces an earlier report of the same name."""
    import shutil

    document = {"bags": bags, "frames": len(collected.samples), "camera": collected.camera, "columns": columns}
    header = [f"# {title}", "", f"Bags: {', '.join(bags)}  ", f"Held-out frames: {len(collected.samples)}",
              "", "Official Depth Anything metric definitions; scatter and examples: the last column."]
    if Path(directory).exists():
        shutil.rmtree(directory)
    return _write(directory, document, columns, collected, stacked(collected.samples, "graph_depth"), header)


def _write(directory: str | Path, document: dict, measured: dict, collected: Collected, predicted: np.ndarray,
           header: list[str]) -> Path:
    truth = stacked(collected.samples, "truth")
    with atomic_directory(directory) as tmp:
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "metrics.json").write_text(json.dumps(_json_safe(document), indent=2))
        _bars(measured, tmp / "error_by_range.png")
        _scatter(truth, predicted, tmp / "predicted_vs_lidar.png")
        for index, (frame, _) in enumerate(collected.examples):
            write_image(tmp / f"example_{index}.png", cv2.hconcat([frame.image, lidar_overlay(frame.image,
                                                                                                   frame.depth)]))
        lines = [*header, "", *_table(measured), "",
                 "![AbsRel by range](error_by_range.png) ![predicted vs LiDAR](predicted_vs_lidar.png)", ""]
        lines += [f"![example {i}](example_{i}.png)" for i in range(len(collected.examples))]
        (tmp / "report.md").write_text("\n".join(lines) + "\n")
    return Path(directory)
