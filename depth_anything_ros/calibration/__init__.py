"""Offline LiDAR calibration: ground truth from bags, head fits, accuracy metrics and reports.

``ground_truth`` (camera frames with projected LiDAR depth; projection and occlusion in ``core.depth_points``),
``head_fit`` (time-block splits; the robust fit is ``core.head_fit``), ``fit`` (collect, fit, measure),
``metrics`` (the official depth metrics), ``report`` and ``plots`` (matplotlib, the ``plots`` extra),
``anchor_eval`` (the live anchor per frame on part of the LiDAR, scored on the rest: ``evaluate --anchor``).
Never imports ``node/``; the node only reads the calibration file this package writes (``core``).
"""

__all__ = ["anchor_eval", "fit", "ground_truth", "head_fit", "metrics", "plots", "report"]
