"""The ``depth-anything-ros`` command line (argparse only; the top layer, it may import every other one).

Nothing is offered here: the entry point is ``depth_anything_ros.cli.main:main`` (also ``python -m
depth_anything_ros.cli.main``, which is why this face imports nothing). ``main`` builds the parser from the
subcommand modules: ``inference`` (export, infer, build-engine, replay, download), ``calibration`` (lidar-depth,
calibrate, evaluate), ``selftrain``, ``demo`` (demo, sample-bag); ``arguments`` holds what they share.
"""

__all__ = []  # the entry point is cli.main:main
