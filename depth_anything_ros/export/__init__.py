"""The fused graph (camera uint8 image in, metres out) and its ONNX export with metadata.

- ``preprocess``: colour order, resize and normalisation as graph operations.
- ``fused``: the fused torch module: preprocessing, network, head, upsampling.
- ``onnx_export``: export of the fused module to ONNX for one camera resolution.
- ``onnx_metadata``: ONNX metadata read without onnx (a minimal protobuf reader).
- ``graph_info``: GraphInfo: what a fused graph serves (resolution, kind, head), stored in its metadata.
"""

__all__ = ["fused", "graph_info", "onnx_export", "onnx_metadata", "preprocess"]
