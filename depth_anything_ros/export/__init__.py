"""The fused graph's ONNX export (any model family), its metadata (GraphInfo) and the TensorRT import rules."""

from depth_anything_ros.export.graph_info import GraphInfo, read_graph_info

__all__ = ["GraphInfo", "read_graph_info"]
