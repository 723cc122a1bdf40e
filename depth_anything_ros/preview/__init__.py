"""Depth as colour pictures: the node's ``depth/preview`` topic, replay's and ``infer``'s preview images, the reports'.

OpenCV and numpy only (never matplotlib: the node must run without it). ``preview_of`` is the picture every
caller shows (colourised depth beside its colour bar); ``colorize_depth`` / ``colorize_relative`` colour metres or
a relative output alone; ``colour_bar`` and ``depth_range`` are its parts.
"""

from depth_anything_ros.preview.colour import colorize_depth, colorize_relative, colour_bar, depth_range, preview_of

__all__ = ["colorize_depth", "colorize_relative", "colour_bar", "depth_range", "preview_of"]
