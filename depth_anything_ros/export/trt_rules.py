"""The onnx-tensorrt import rules our fused graphs must meet, checked with onnx alone (no TensorRT).

Sources: onnx-tensorrt ``docs/operators.md`` (operator table, TensorRT 10.x) and ``ModelImporter.cpp``
("TensorRT does not support UINT8 types for intermediate tensors": a UINT8 graph input must feed
Cast nodes only; NVIDIA/TensorRT#3985). The allow-list holds only the operators our export emits,
each of which TensorRT 10.3 through 11.x imports; a new operator fails the check until someone
confirms TensorRT imports it and adds it here.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto

# Operators of the operator table that both TensorRT 10.3 and 11.x import, restricted to what we emit.
SUPPORTED_OPS = frozenset({
    "Abs", "Add", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "Div",
    "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather", "Gemm", "Greater", "GreaterOrEqual", "Identity",
    "LayerNormalization", "LessOrEqual",
    "Less", "MatMul", "Max", "Min", "Mul", "Neg", "Pow", "Range", "Reciprocal", "ReduceMean", "Relu",
    "Reshape", "Resize", "Shape", "Sigmoid", "Sin", "Slice", "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Tanh",
    "Tile", "Transpose", "Unsqueeze", "Where",
})
# Resize: modes and coordinate transforms the importer maps to IResizeLayer; antialias is refused.
RESIZE_MODES = frozenset({"nearest", "linear", "cubic"})
RESIZE_COORDINATES = frozenset({"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                "tf_half_pixel_for_nn"})
# Tensor types TensorRT networks carry (UINT8 only as a graph input straight into a Cast).
NETWORK_TYPES = frozenset({TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT32, TensorProto.INT64,
                           TensorProto.BOOL})
# INT64 is imported for shape and index arithmetic; math layers (MatMul, Conv, Softmax...) refuse it.
INT64_CONSUMERS = frozenset({
    "Add", "Cast", "Concat", "ConstantOfShape", "Div", "Equal", "Expand", "Gather", "Greater", "Identity",
    "Less", "Max", "Min", "Mul", "Range", "Reshape", "Resize", "Shape", "Slice", "Split", "Squeeze", "Sub",
    "Tile", "Unsqueeze", "Where",
})


def _attr(node: onnx.NodeProto, name: str, default=None):
    for attribute in node.attribute:
        if attribute.name == name:
            value = onnx.helper.get_attribute_value(attribute)
            return value.decode() if isinstance(value, bytes) else value
    return default


def tensor_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every named tensor (inputs, initializers, constants, inferred intermediates)."""
    inferred = onnx.shape_inference.infer_shapes(model)
    graph = inferred.graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*graph.input, *graph.output, *graph.value_info]}
    types.update({t.name: t.data_type for t in graph.initializer})
    for node in graph.node:
        if node.op_type == "Constant" and (value := _attr(node, "value")) is not None:
            types[node.output[0]] = value.data_type
    return types


def tensorrt_import_problems(model: onnx.ModelProto | str | Path) -> list[str]:
    """Every way ``model`` breaks the onnx-tensorrt import rules; empty when TensorRT can parse it."""
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    graph = model.graph
    types = tensor_types(model)
    problems = []
    inputs = {v.name for v in graph.input}
    for value in graph.input:
        if value.type.tensor_type.elem_type == TensorProto.UINT8:
            for node in graph.node:
                if value.name in node.input and node.op_type != "Cast":
                    problems.append(f"UINT8 input '{value.name}' feeds {node.op_type} '{node.name}': TensorRT "
                                    "needs every UINT8 input to feed a Cast directly")
    for node in graph.node:
        where = f"{node.op_type} '{node.name}'"
        if node.op_type not in SUPPORTED_OPS:
            problems.append(f"{where}: operator not in the TensorRT 10.3/11.x allow-list")
        if node.op_type == "Resize":
            if _attr(node, "mode", "nearest") not in RESIZE_MODES:
                problems.append(f"{where}: mode {_attr(node, 'mode')} not imported")
            if _attr(node, "coordinate_transformation_mode", "half_pixel") not in RESIZE_COORDINATES:
                problems.append(f"{where}: coordinate_transformation_mode "
                                f"{_attr(node, 'coordinate_transformation_mode')} not imported")
            if _attr(node, "antialias", 0):
                problems.append(f"{where}: antialias is not imported")
        if node.op_type == "Cast" and _attr(node, "to") not in NETWORK_TYPES:
            problems.append(f"{where}: casts to {TensorProto.DataType.Name(_attr(node, 'to'))}, "
                            "not a TensorRT network type")
        for name in node.output:
            kind = types.get(name)
            if kind is not None and kind not in NETWORK_TYPES:
                problems.append(f"{where}: output '{name}' is {TensorProto.DataType.Name(kind)}, "
                                "which TensorRT refuses for intermediate tensors")
        for name in node.input:
            if name and types.get(name) == TensorProto.INT64 and node.op_type not in INT64_CONSUMERS \
                    and name not in inputs:
                problems.append(f"{where}: consumes INT64 '{name}' outside shape/index arithmetic")
    return problems
