"""Evaluation-report figures drawn with matplotlib (the ``plots`` extra), headless on the Agg canvas.

Offline only: the node and the pipeline never import this module (previews use ``preview``).
Every figure is a ``matplotlib.figure.Figure`` on its own ``FigureCanvasAgg``: no pyplot, no global
backend state, no display needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LogNorm, TwoSlopeNorm
    from matplotlib.figure import Figure
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter
except ImportError as error:  # pragma: no cover - exercised only where the extra is missing
    raise ImportError("evaluation reports draw their plots with matplotlib: "
                      "pip install 'depth_anything_ros[plots]' (or python3-matplotlib)") from error

DPI = 100
DEPTH_CMAP = "turbo_r"  # near = warm, far = cool, as the OpenCV previews
ERROR_CMAP = "RdBu_r"  # signed error: blue = predicted too near, red = too far


@dataclass
class DensityPanel:
    """One predicted-vs-LiDAR panel: its title and the paired depths (metres, NaN where none)."""

    title: str
    truth: np.ndarray
    predicted: np.ndarray


def _save(figure: Figure, path: Path) -> Path:
    """Render on the Agg canvas and write the PNG (callers write into an ``atomic_directory``)."""
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI, format="png")
    return Path(path)


def _metre_bar(figure: Figure, mappable, ax, label: str):
    """A colour bar for a log depth scale with plain metre labels (2, 5, 10, 20 ...), not 10^k."""
    bar = figure.colorbar(mappable, ax=ax, label=label, fraction=0.05, extend="both")  # ends: clipped values
    bar.ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    bar.ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    bar.ax.yaxis.set_minor_formatter(NullFormatter())
    return bar


def _pairs(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth, predicted = np.asarray(truth, np.float64).ravel(), np.asarray(predicted, np.float64).ravel()
    valid = np.isfinite(truth) & np.isfinite(predicted) & (truth > 0) & (predicted > 0)
    return truth[valid], predicted[valid]


def density_plot(panels: Sequence[DensityPanel], path: Path, bins: int = 120) -> list[np.ndarray]:
    """Predicted against LiDAR depth as 2-D histograms (log colour) with y = x, one panel per entry,
    side by side on shared axes. Returns each panel's bin counts; they sum to its point count (points
    beyond the axis range are clipped into the edge bins, so none is dropped)."""
    pairs = [_pairs(p.truth, p.predicted) for p in panels]
    finite = np.concatenate([np.concatenate(pair) for pair in pairs]) if pairs else np.zeros(0)
    limit = float(np.percentile(finite, 99.5)) * 1.05 if finite.size else 1.0
    edges = np.linspace(0.0, max(limit, 1e-6), bins + 1)
    figure = Figure(figsize=(5.0 * max(len(panels), 1) + 1.0, 5.4), layout="constrained")
    axes = figure.subplots(1, max(len(panels), 1), squeeze=False)[0]
    counts_out = [np.histogram2d(t.clip(0, limit), p.clip(0, limit), bins=[edges, edges])[0] for t, p in pairs]
    peak = max([1.0] + [float(c.max()) for c in counts_out])
    mesh = None
    for ax, panel, counts, (truth, _) in zip(axes, panels, counts_out, pairs, strict=False):
        shown = np.ma.masked_equal(counts.T, 0)  # rows: predicted, columns: LiDAR
        mesh = ax.pcolormesh(edges, edges, shown, norm=LogNorm(vmin=1, vmax=peak), cmap="viridis", rasterized=True)
        ax.plot([0, limit], [0, limit], color="crimson", linewidth=1.2, label="predicted = LiDAR")
        ax.set(xlim=(0, limit), ylim=(0, limit), aspect="equal", xlabel="LiDAR depth (m)",
               ylabel="predicted depth (m)")
        n = int(truth.size)
        ax.set_title(f"{panel.title}\n{n:,} points" if n else f"{panel.title}\nno metric prediction")
        if not n:
            ax.text(0.5, 0.5, "no metres to compare\n(a relative graph before calibration)", ha="center",
                    va="center", transform=ax.transAxes, color="dimgray", backgroundcolor="white")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize="small")
    if mesh is not None:
        figure.colorbar(mesh, ax=list(axes), label="LiDAR points per bin (log)", shrink=0.9)
    _save(figure, path)
    return counts_out


def range_bars(measured: dict, path: Path) -> None:
    """AbsRel and RMSE per LiDAR range band, one bar per column of ``measured`` (before/after, or the
    models of a comparison), values on the bars; 'n/a' where a column has no metres."""
    names = list(measured)
    bands = list(measured[names[0]]["by_range"])
    figure = Figure(figsize=(max(10.0, 2 * (1.0 + 0.45 * len(bands) * len(names))), 4.6), layout="constrained")
    axes = figure.subplots(1, 2)
    x = np.arange(len(bands))
    width = 0.8 / len(names)
    for ax, metric, label in ((axes[0], "abs_rel", "AbsRel"), (axes[1], "rmse", "RMSE (m)")):
        for j, name in enumerate(names):
            values = np.array([measured[name]["by_range"][b][metric] for b in bands], np.float64)
            shown = np.where(np.isfinite(values), values, 0.0)
            bars = ax.bar(x + (j - (len(names) - 1) / 2) * width, shown, width, label=name)
            ax.bar_label(bars, labels=[f"{v:.3g}" if np.isfinite(v) else "n/a" for v in values], fontsize=7,
                         padding=2)
        ax.set_xticks(x, [f"{b} m" for b in bands])
        ax.set(xlabel="LiDAR range band", ylabel=label, title=f"{label} by LiDAR range")
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize="small")
    _save(figure, path)


RELATIVE_LABELS = {"relative": "relative inverse depth (near = high)",
                   "relative-depth": "depth up to scale (near = low)"}  # a graph kind's raw output, uncalibrated


def example_panels(image_bgr: np.ndarray, predicted: np.ndarray | None, lidar: np.ndarray, title: str,
                   path: Path, relative: np.ndarray | None = None, relative_label: str = RELATIVE_LABELS["relative"],
                   ) -> None:
    """Camera image | predicted depth (metres, colour bar) | LiDAR depth on the image | signed relative
    error at the LiDAR pixels (diverging, colour bar). ``predicted`` None: a relative graph without a
    calibration; ``relative`` (its raw output, named by ``relative_label``) is shown instead and there is no
    error panel."""
    rgb = np.ascontiguousarray(image_bgr[..., ::-1])
    height, width = lidar.shape
    rows, cols = np.nonzero(np.isfinite(lidar))
    truth = lidar[rows, cols]
    values = truth[truth > 0]
    near = float(np.percentile(values, 1)) if values.size else 1.0
    far = float(np.percentile(values, 99)) if values.size else 100.0
    norm = LogNorm(vmin=max(near, 0.1), vmax=max(far, near * 1.01, 0.2))
    wide = width > 1.6 * height
    grid = (4, 1) if wide else (2, 2)
    panel_w = 7.0 if wide else 5.0
    figure = Figure(figsize=(panel_w * grid[1] + 1.0, panel_w * height / width * grid[0] + 0.5 * grid[0] + 0.6),
                    layout="constrained")
    axes = figure.subplots(*grid, squeeze=False).ravel()
    camera = axes[0].imshow(rgb)
    axes[0].set_title("camera image")
    figure.colorbar(camera, ax=axes[0], fraction=0.05).ax.set_visible(False)  # same width as the others
    if predicted is not None:
        shown = axes[1].imshow(np.where(predicted > 0, predicted, np.nan), cmap=DEPTH_CMAP, norm=norm)
        _metre_bar(figure, shown, axes[1], "predicted depth (m)")
        axes[1].set_title("predicted depth")
    else:
        shown = axes[1].imshow(relative, cmap="turbo")
        figure.colorbar(shown, ax=axes[1], label=relative_label, fraction=0.05)
        axes[1].set_title("relative output (no calibration: no metres)")
    axes[2].imshow(rgb, alpha=0.5)
    dots = axes[2].scatter(cols, rows, c=truth, s=1.5, cmap=DEPTH_CMAP, norm=norm, linewidths=0)
    _metre_bar(figure, dots, axes[2], "LiDAR depth (m)")
    axes[2].set_title(f"LiDAR depth ({truth.size:,} pixels)")
    axes[3].imshow(rgb, alpha=0.5)
    if predicted is not None:
        pred = predicted[rows, cols]
        valid = np.isfinite(pred) & (pred > 0) & (truth > 0)
        error = (pred[valid] - truth[valid]) / truth[valid]
        bound = float(np.clip(np.percentile(np.abs(error), 98), 0.05, 2.0)) if error.size else 1.0
        dots = axes[3].scatter(cols[valid], rows[valid], c=error, s=1.5, cmap=ERROR_CMAP,
                               norm=TwoSlopeNorm(0.0, -bound, bound), linewidths=0)
        figure.colorbar(dots, ax=axes[3], label="(predicted - LiDAR) / LiDAR", fraction=0.05, extend="both")
        axes[3].set_title("signed relative error at LiDAR pixels (red: predicted too far)")
    else:
        axes[3].set_title("signed relative error: n/a (no metres)")
    for ax in axes:
        ax.set(xlim=(-0.5, width - 0.5), ylim=(height - 0.5, -0.5))
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle(title)
    _save(figure, path)
