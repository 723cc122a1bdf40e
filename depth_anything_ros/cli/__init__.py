"""The `depth-anything-ros` command: argparse only, every subcommand calls the layers below.

- ``main``: the entry point and the model/inference subcommands (export, build-engine, infer, replay, ...).
- ``calibration``: lidar-depth, calibrate and evaluate.
- ``selftrain``: selftrain.
- ``demo``: the demo on the embedded sample scene.
"""

__all__ = ["calibration", "demo", "main", "selftrain"]
