"""Report figures (matplotlib, Agg) and previews with a colour bar (OpenCV): files that decode, have the
expected size, are not blank, and count every point; the node's path never imports matplotlib."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_anything_ros.calibration import depth_metrics
from depth_anything_ros.calibration.metrics import by_range
from depth_anything_ros.calibration.plots import DPI, DensityPanel, density_plot, example_panels, range_bars
from depth_anything_ros.calibration.report import stamp_text, write_example
from depth_anything_ros.preview import colorize_depth, colour_bar, depth_range, preview_of
from depth_anything_ros.preview.colour import BAR_BACKGROUND

from png_checks import read_png

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pairs():
    rng = np.random.default_rng(0)
    truth = rng.uniform(1.0, 60.0, 20_000)
    predicted = truth * rng.lognormal(0.0, 0.2, truth.size)
    predicted[:50] = np.nan  # no prediction
    predicted[50:60] = 500.0  # far beyond the axes: still counted, in the edge bins
    truth[60:70] = np.inf
    return truth, predicted


def test_density_plot_counts_every_valid_pair_and_draws_panels_side_by_side(tmp_path, pairs):
    truth, predicted = pairs
    valid = int((np.isfinite(truth) & np.isfinite(predicted)).sum())
    path = tmp_path / "density.png"
    counts = density_plot([DensityPanel("before", truth, predicted * 1.5),
                           DensityPanel("after", truth, predicted)], path, bins=50)
    assert [c.shape for c in counts] == [(50, 50), (50, 50)]
    assert [int(c.sum()) for c in counts] == [valid, valid] == [20_000 - 60, 20_000 - 60]
    read_png(path, (540, 1100))  # two panels side by side
    # the better prediction puts more points near the identity line (the histogram's diagonal band)
    near_diagonal = [np.trace(c, 0) + np.trace(c, 1) + np.trace(c, -1) for c in counts]
    assert near_diagonal[1] > near_diagonal[0]


def test_density_plot_without_metres_says_so_instead_of_failing(tmp_path):
    truth = np.linspace(1, 10, 100)
    counts = density_plot([DensityPanel("relative graph", truth, np.full(100, np.nan))], tmp_path / "d.png")
    assert counts[0].sum() == 0
    assert (tmp_path / "d.png").stat().st_size > 0


def test_range_bars_draw_every_column_with_missing_values(tmp_path, pairs):
    truth, predicted = pairs
    measured = {"before": {"by_range": by_range(np.full(truth.size, np.nan), truth)},
                "after": {"by_range": by_range(predicted, truth)}}
    range_bars(measured, tmp_path / "bars.png")
    read_png(tmp_path / "bars.png", (460, 1000))


def frame_with_lidar(height: int = 120, width: int = 400):
    """A camera frame (texture), a smooth depth field and LiDAR on every 7th pixel of every 4th row."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    rows = np.linspace(4.0, 40.0, height, dtype=np.float32)[:, None]
    depth = np.repeat(rows, width, axis=1)
    lidar = np.full_like(depth, np.nan)
    lidar[::4, ::7] = depth[::4, ::7]

    class Frame:
        stamp_ns = 1_700_000_012_000_000_123
        camera_frame = "cam"

    frame = Frame()
    frame.image, frame.depth = image, lidar
    return frame, depth


def test_example_panels_for_metric_and_relative_graphs(tmp_path):
    frame, depth = frame_with_lidar()
    raw = depth * 1.1  # a metric graph's raw output, 10 % too far
    abs_rel = write_example(tmp_path / "metric.png", frame, raw, (1.0, 0.0), "metric", "cam:")
    assert abs_rel == pytest.approx(0.1, rel=1e-5)
    valid = np.isfinite(frame.depth)
    assert abs_rel == pytest.approx(depth_metrics(raw[valid], frame.depth[valid])["abs_rel"])
    wide = cv2.imread(str(tmp_path / "metric.png"))
    assert wide.shape[0] > wide.shape[1]  # a wide camera: four panels stacked
    read_png(tmp_path / "metric.png", wide.shape[:2])
    assert np.isnan(write_example(tmp_path / "relative.png", frame, 1 / depth, None, "relative"))
    read_png(tmp_path / "relative.png", wide.shape[:2])
    square, _ = frame_with_lidar(200, 200)
    example_panels(square.image, np.full((200, 200), 10.0), square.depth, "t", tmp_path / "square.png")
    image = read_png(tmp_path / "square.png", (int(2 * (5.0 + 0.5) * DPI + 0.6 * DPI), int(11.0 * DPI)))
    assert image.shape[1] > image.shape[0] / 2  # 2 x 2 grid


def test_stamp_text_is_ros_time():
    assert stamp_text(1_700_000_012_000_000_123) == "1700000012.000000123 s"


def test_preview_has_a_colour_bar_in_metres_beside_the_depth():
    depth = np.repeat(np.linspace(2.0, 30.0, 240, dtype=np.float32)[:, None], 320, axis=1)
    preview = preview_of(1 / depth, depth, "metric")
    near, far = depth_range(depth)
    assert 2.0 <= near < 3.0 and 29.0 < far <= 30.0
    assert preview.shape[0] == 240 and preview.shape[1] > 320
    np.testing.assert_array_equal(preview[:, :320], colorize_depth(depth, near, far))
    bar = preview[:, 320:]
    assert np.array_equal(bar, colour_bar(240, near, far, "metric"))
    gradient_column = bar[40:220, bar.shape[1] // 8]
    assert gradient_column[0, 2] > gradient_column[0, 0]  # top of the bar: near, warm (red)
    assert gradient_column[-1, 0] > gradient_column[-1, 2]  # bottom: far, cool (blue)
    text = (bar > 200).all(axis=2) & ~np.isin(np.arange(bar.shape[1]), range(bar.shape[1] // 3))[None, :]
    assert text.sum() > 50  # white tick labels right of the bar
    relative = preview_of(1 / depth, depth, "relative")
    assert relative.shape[0] == 240 and relative.shape[1] > 320
    assert not np.array_equal(relative[:, 320:], bar)  # 'relative / near / far', not metres
    # DA3 relative-depth output (depth up to scale, sky +Inf) is shown as the inverse-depth preview: near warm
    scaled = 3.0 * depth
    scaled[-10:] = np.inf  # the far rows: sky
    da3 = preview_of(scaled, np.full_like(depth, np.nan), "relative-depth")
    np.testing.assert_array_equal(da3, preview_of(1 / scaled, depth, "relative"))
    assert da3[5, 100, 2] > da3[5, 100, 0] and da3[235, 100, 0] > da3[235, 100, 2]  # near red, sky blue


def test_colour_bar_fits_tiny_images_and_empty_depth():
    assert colour_bar(4, 1.0, 10.0).shape[0] == 4
    assert (colour_bar(4, 1.0, 10.0) == BAR_BACKGROUND).all()  # no room for a bar: background only
    empty = preview_of(np.zeros((48, 64)), np.full((48, 64), np.nan, np.float32), "metric")
    assert empty.shape[0] == 48 and empty.shape[1] > 64


def test_node_and_pipeline_paths_never_import_matplotlib():
    """Previews (the node topic) come from preview, OpenCV only; the node must run without matplotlib."""
    code = """
import sys
import numpy as np
import depth_anything_ros.node.ros_node, depth_anything_ros.node.pipeline, depth_anything_ros.node.replay
import depth_anything_ros.cli.main
from depth_anything_ros.preview import preview_of
preview_of(np.ones((8, 8)), np.ones((8, 8)), "metric")
assert "matplotlib" not in sys.modules, sorted(m for m in sys.modules if m.startswith("matplotlib"))
print("clean")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "clean" in done.stdout, done.stderr


def test_colorize_depth_follows_inverse_depth_between_near_and_far():
    rng = np.random.default_rng(2)
    depth = rng.uniform(0.2, 30.0, (60, 80)).astype(np.float32)
    depth[0, :5] = [np.nan, -np.inf, np.inf, 0.0, -3.0]
    near, far = 1.0, 12.0
    level = (1 / np.clip(depth, near, far) - 1 / far) / (1 / near - 1 / far)
    expected = cv2.applyColorMap(np.clip(np.nan_to_num(level) * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    got = colorize_depth(depth, near, far)
    finite = np.isfinite(depth) & (depth > 0)
    difference = np.abs(got.astype(int) - expected.astype(int))[finite]
    assert difference.max() <= 8 and (difference > 0).mean() < 0.01  # float32 rounding at level edges
    assert [tuple(got[0, i]) for i in range(5)] == [(0, 0, 0), (255, 255, 255), (64, 64, 64), (0, 0, 0), (0, 0, 0)]


def test_reports_render_headless_whatever_backend_the_user_set(tmp_path):
    """Figures render on the Agg canvas directly: no pyplot, no display, MPLBACKEND ignored."""
    code = f"""
import sys
import numpy as np
from depth_anything_ros.calibration.plots import DensityPanel, density_plot
counts = density_plot([DensityPanel("t", np.arange(1.0, 50.0), np.arange(1.0, 50.0))], {str(tmp_path / "d.png")!r})
assert counts[0].sum() == 49 and "matplotlib.pyplot" not in sys.modules
print("headless")
"""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "TkAgg"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "headless" in done.stdout, done.stderr
    read_png(tmp_path / "d.png", (540, 600))
