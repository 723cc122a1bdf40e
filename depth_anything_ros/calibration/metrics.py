"""Depth accuracy metrics with the official Depth Anything definitions (metric_depth/util/metric.py).

All are computed over the pixels where both prediction and ground truth are valid (finite, > 0):
d1/d2/d3 (max(pred/gt, gt/pred) < 1.25^k), abs_rel, sq_rel, rmse, rmse_log, log10 and silog
(sqrt(mean(dlog^2) - 0.5 mean(dlog)^2), natural log). ``by_range`` splits by ground-truth depth.
Those pairs leave out predictions of +Inf (DA3 sky, beyond the range), so ``no_return`` counts them: the
fraction of valid ground-truth points the prediction called "no return" (a LiDAR-hit wall taken for sky).
"""

from __future__ import annotations

import numpy as np

METRICS = ("d1", "d2", "d3", "abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog")
RANGE_BANDS = ((0.0, 10.0), (10.0, 20.0), (20.0, 40.0), (40.0, 80.0))


def valid_pairs(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, target = np.asarray(pred, np.float64).ravel(), np.asarray(target, np.float64).ravel()
    if pred.shape != target.shape:
        raise ValueError(f"prediction has {pred.size} values, ground truth {target.size}")
    valid = np.isfinite(pred) & np.isfinite(target) & (pred > 0) & (target > 0)
    return pred[valid], target[valid]


def depth_metrics(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """The official metrics plus ``points`` (how many pairs) and ``no_return``; NaN metrics when there are none."""
    truth = np.asarray(target, np.float64).ravel()
    measured = np.isfinite(truth) & (truth > 0)
    no_return = float(np.isposinf(np.asarray(pred, np.float64).ravel()[measured]).mean()) if measured.any() \
        else float("nan")
    pred, target = valid_pairs(pred, target)
    if pred.size == 0:
        return {**dict.fromkeys(METRICS, float("nan")), "points": 0, "no_return": no_return}
    thresh = np.maximum(target / pred, pred / target)
    diff, diff_log = pred - target, np.log(pred) - np.log(target)
    out = {
        "d1": np.mean(thresh < 1.25), "d2": np.mean(thresh < 1.25 ** 2), "d3": np.mean(thresh < 1.25 ** 3),
        "abs_rel": np.mean(np.abs(diff) / target), "sq_rel": np.mean(diff ** 2 / target),
        "rmse": np.sqrt(np.mean(diff ** 2)), "rmse_log": np.sqrt(np.mean(diff_log ** 2)),
        "log10": np.mean(np.abs(np.log10(pred) - np.log10(target))),
        "silog": np.sqrt(max(np.mean(diff_log ** 2) - 0.5 * np.mean(diff_log) ** 2, 0.0)),
    }
    return {**{k: float(v) for k, v in out.items()}, "points": int(pred.size), "no_return": no_return}


def by_range(pred: np.ndarray, target: np.ndarray,
             bands: tuple[tuple[float, float], ...] = RANGE_BANDS) -> dict[str, dict[str, float]]:
    """{'0-10': metrics, ...} over ground truth in [low, high) metres."""
    pred, target = np.asarray(pred, np.float64).ravel(), np.asarray(target, np.float64).ravel()
    out = {}
    for low, high in bands:
        inside = (target >= low) & (target < high)
        out[f"{low:g}-{high:g}"] = depth_metrics(pred[inside], target[inside])
    return out
