"""Metric depth from a single camera for ROS 2, with Depth Anything compiled for TensorRT."""

__version__ = "0.1.0"
