"""Hand-built ONNX graphs that break the TensorRT import rules (shared by the rules test and the stand-in test)."""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper


def small_graph(nodes, inputs, outputs) -> onnx.ModelProto:
    """A one-graph opset-17 model of ``nodes``."""
    return helper.make_model(helper.make_graph(nodes, "g", inputs, outputs),
                             opset_imports=[helper.make_opsetid("", 17)])


# The uint8 image reaches its Cast only after a Transpose: TensorRT refuses UINT8 intermediate tensors.
UINT8_LATE_CAST = small_graph(
    [helper.make_node("Transpose", ["image"], ["t"], name="/preprocess/Transpose", perm=[2, 0, 1]),
     helper.make_node("Cast", ["t"], ["raw"], name="/preprocess/Cast", to=TensorProto.FLOAT)],
    [helper.make_tensor_value_info("image", TensorProto.UINT8, [2, 2, 3])],
    [helper.make_tensor_value_info("raw", TensorProto.FLOAT, [3, 2, 2])])
