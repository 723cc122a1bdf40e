"""Offline LiDAR calibration: ground truth from bags, head fits, accuracy metrics and reports.

What other parts use: ``GroundTruthOptions`` and ``read_ground_truth`` (camera frames with projected LiDAR
depth); ``collect_samples`` (a graph over those frames: a ``Collected`` run of ``FrameSamples``),
``fit_calibration`` (fit a head on training time blocks, measure the held-out ones: ``time_block_split``),
``measure``, ``stacked`` and ``rounded_metrics``; ``depth_metrics`` (the official metrics); ``write_report``,
``write_comparison_report`` and ``lidar_overlay`` (the report's plots need matplotlib, the ``plots`` extra).
``ANCHOR_SPLITS`` and ``SplitAnchor`` (the live anchor per frame on part of the LiDAR, scored on the rest:
``evaluate --anchor``). Never imports ``node/``; the node only reads the calibration file this package
writes (``core``).
"""

from depth_anything_ros.calibration.anchor_eval import ANCHOR_SPLITS, SplitAnchor
from depth_anything_ros.calibration.fit import (
    Collected,
    DepthFrame,
    FrameSamples,
    collect_samples,
    fit_calibration,
    measure,
    rounded_metrics,
    stacked,
)
from depth_anything_ros.calibration.ground_truth import GroundTruthOptions, read_ground_truth
from depth_anything_ros.calibration.head_fit import time_block_split
from depth_anything_ros.calibration.metrics import depth_metrics
from depth_anything_ros.calibration.report import lidar_overlay, write_comparison_report, write_report

__all__ = [
    "ANCHOR_SPLITS",
    "Collected",
    "DepthFrame",
    "FrameSamples",
    "GroundTruthOptions",
    "SplitAnchor",
    "collect_samples",
    "depth_metrics",
    "fit_calibration",
    "lidar_overlay",
    "measure",
    "read_ground_truth",
    "rounded_metrics",
    "stacked",
    "time_block_split",
    "write_comparison_report",
    "write_report",
]
