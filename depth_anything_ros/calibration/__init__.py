"""LiDAR as ground truth for the camera, the metric-head fit, accuracy metrics and reports.

- ``ground_truth``: LiDAR scans of a bag projected into the camera's frames (extrinsics from /tf_static or a file).
- ``lidar``: z-buffered sparse depth and the occlusion filter for projected LiDAR points.
- ``fit``: network outputs against LiDAR depth: samples, scale/affine fits by time block, measurements.
- ``head_fit``: the least-squares fits of the head (scale, affine) in depth or disparity.
- ``metrics``: the official depth metrics (d1-d3, abs_rel, sq_rel, rmse, rmse_log, log10, silog), per range band.
- ``report``: the evaluation report on disk (JSON, tables, examples); LiDAR overlays.
- ``plots``: the report's matplotlib figures (density, error bars, example panels); imported only by reports.
"""

__all__ = ["fit", "ground_truth", "head_fit", "lidar", "metrics", "plots", "report"]
