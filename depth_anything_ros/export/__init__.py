"""The fused graph (camera uint8 image in, metres out) and its ONNX export with metadata.

- ``preprocess``: colour order, resize and normalisation as graph operations.
- ``fused``: the fused torch module: preprocessing, network, head, upsampling.
- ``onnx_export``: export of the fused module to ONNX for one camera resolution.
- ``onnx_metadata``: ONNX metadata read without onnx (a minimal protobuf reader).
- ``graph_info``: GraphInfo: what a fused graph serves (resolution, model, kind, head, focal), in its metadata.
- ``da3_fused`` / ``da3_onnx``: the Depth Anything 3 fused graph (official resize in-graph, focal input, sky
  +Inf) and its export, with the same interface and metadata plus ``focal``.
- ``trt_rules``: the onnx-tensorrt import rules every exported graph is checked against.
"""

__all__ = ["da3_fused", "da3_onnx", "fused", "graph_info", "onnx_export", "onnx_metadata", "preprocess",
           "trt_rules"]
