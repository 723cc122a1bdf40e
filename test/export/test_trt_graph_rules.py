"""Every exported graph, FP32 and FP16, against the onnx-tensorrt import rules (onnx only, no TensorRT)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from bad_graphs import UINT8_LATE_CAST, small_graph
from onnx import TensorProto, helper

from depth_anything_ros.export import read_graph_info
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.export.trt_rules import tensor_types, tensorrt_import_problems
from depth_anything_ros.model.v2.build import untrained_model

from conftest import tiny_spec

HW = (31, 45)


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """(version, kind, precision) -> exported tiny fused graph."""
    folder = tmp_path_factory.mktemp("graphs")
    out = {}
    for version in (1, 2):
        for kind in ("relative", "metric"):
            model = untrained_model(tiny_spec(kind, version, 20.0), seed=version)
            for precision in ("fp32", "fp16"):
                path = folder / f"v{version}-{kind}-{precision}.onnx"
                export_graph(model, HW, path, input_size=56, precision=precision)
                out[version, kind, precision] = path
    return out


CASES = [(v, k, p) for v in (1, 2) for k in ("relative", "metric") for p in ("fp32", "fp16")]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_exported_graph_meets_the_tensorrt_import_rules(graphs, case):
    model = onnx.load(str(graphs[case]))
    assert tensorrt_import_problems(model) == []
    image_consumers = [n.op_type for n in model.graph.node if "image" in n.input]
    assert image_consumers == ["Cast"]
    assert read_graph_info(graphs[case]).precision == case[2]


@pytest.mark.parametrize("case", [c for c in CASES if c[2] == "fp16"], ids=lambda c: "-".join(map(str, c)))
def test_fp16_graph_computes_in_fp16_with_fp32_islands(graphs, case):
    model = onnx.load(str(graphs[case]))
    types = tensor_types(model)
    io = {v.name: v.type.tensor_type.elem_type for v in [*model.graph.input, *model.graph.output]}
    assert io == {"image": TensorProto.UINT8, "head": TensorProto.FLOAT, "raw": TensorProto.FLOAT,
                  "depth": TensorProto.FLOAT}
    by_op: dict[str, list[int]] = {}
    for node in model.graph.node:
        by_op.setdefault(node.op_type, []).append(types[node.output[0]])
    assert set(by_op["Softmax"]) == {TensorProto.FLOAT}  # attention softmax
    assert set(by_op["LayerNormalization"]) == {TensorProto.FLOAT}
    matmuls = by_op["MatMul"]
    # Linear layers and attention x values run in FP16; only the score products q @ k^T stay FP32.
    assert matmuls.count(TensorProto.FLOAT) == len(by_op["Softmax"])
    assert matmuls.count(TensorProto.FLOAT16) == len(matmuls) - len(by_op["Softmax"])
    assert set(by_op["Conv"]) == {TensorProto.FLOAT16}
    assert not [n.name for n in model.graph.node if n.name.startswith("/preprocess") and
                types[n.output[0]] == TensorProto.FLOAT16]
    assert not [n.name for n in model.graph.node if n.name.startswith("/postprocess") and
                types[n.output[0]] == TensorProto.FLOAT16]


def test_fp16_graph_tracks_fp32_graph_on_onnxruntime(graphs):
    import onnxruntime

    image = np.random.default_rng(0).integers(0, 256, (*HW, 3), dtype=np.uint8)
    head = np.array([1.0, 0.0, 0.1, 100.0], np.float32)
    raws = {}
    for precision in ("fp32", "fp16"):
        session = onnxruntime.InferenceSession(str(graphs[2, "relative", precision]),
                                               providers=["CPUExecutionProvider"])
        raws[precision] = session.run(["raw"], {"image": image, "head": head})[0]
    error = np.abs(raws["fp16"] - raws["fp32"]).max() / np.ptp(raws["fp32"])
    assert 0 < error < 1e-2  # FP16 really differs, and stays within the self-check's tolerance


def test_rules_refuse_a_uint8_input_that_reaches_a_cast_late():
    problems = tensorrt_import_problems(UINT8_LATE_CAST)
    assert any("UINT8 input 'image' feeds Transpose" in p for p in problems)
    assert any("'t' is UINT8" in p for p in problems)


def test_rules_refuse_unknown_ops_resize_modes_int64_math_and_double():
    nodes = [
        helper.make_node("Einsum", ["x", "x"], ["e"], name="einsum", equation="ij,jk->ik"),
        helper.make_node("Resize", ["e", "", "scales"], ["r"], name="resize", mode="linear",
                         coordinate_transformation_mode="tf_crop_and_resize"),
        helper.make_node("Cast", ["r"], ["d"], name="to_double", to=TensorProto.DOUBLE),
        helper.make_node("Cast", ["d"], ["i"], name="to_int64", to=TensorProto.INT64),
        helper.make_node("MatMul", ["i", "i"], ["y"], name="int_matmul"),
    ]
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [2], [1.0, 1.0])
    model = small_graph(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
                   [helper.make_tensor_value_info("y", TensorProto.INT64, [2, 2])])
    model.graph.initializer.append(scales)
    text = "\n".join(tensorrt_import_problems(model))
    assert "Einsum 'einsum': operator not in the TensorRT" in text
    assert "coordinate_transformation_mode tf_crop_and_resize" in text
    assert "casts to DOUBLE" in text
    assert "MatMul 'int_matmul': consumes INT64" in text
