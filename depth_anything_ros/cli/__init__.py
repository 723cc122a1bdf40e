"""The ``depth-anything-ros`` command line (argparse only; the top layer, it may import every other one).

``main`` builds the parser from the subcommand modules: ``inference`` (export, infer, build-engine,
replay, download), ``calibration`` (lidar-depth, calibrate, evaluate), ``selftrain``, ``demo``
(demo, sample-bag); ``arguments`` holds what they share.
"""

__all__ = ["arguments", "calibration", "demo", "inference", "main", "selftrain"]
