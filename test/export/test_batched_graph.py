"""The batched fused graph (issue 26): a dynamic batch of 1..N images, each with its own head (and DA3 focal).

Checked on onnxruntime against the one-image graph of the same network: every image of a batch gives what it
gives alone (bit for bit: batches of other sizes and orders, mixed heads and focals), within float rounding of
the one-image graph; the graph keeps the TensorRT parser rules; the one-image graph's file is unchanged.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from depth_anything_ros.export.graph_info import METADATA_KEY, read_graph_info
from depth_anything_ros.export.onnx_export import export_for_resolution, export_graph
from depth_anything_ros.export.trt_rules import tensorrt_import_problems
from depth_anything_ros.model import CheckpointRequest, family_of

HW = (28, 42)
HEADS = np.array([[1.0, 0.0, 0.1, 20.0], [2.0, 0.5, 0.1, 20.0], [0.5, 0.0, 0.2, 3.0]], np.float32)
FOCALS = np.array([[30.0], [55.0], [80.0]], np.float32)
# The batched and one-image graphs order a few float operations differently (measured: <= 2e-6 m on 20 m).
ROUNDING = 1e-5


def _images(n: int = 3) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (n, *HW, 3), dtype=np.uint8)


def _feeds(info, images, heads, focals) -> dict:
    feeds = {"image": images, "head": heads}
    if info.has_focal_input:
        feeds["focal"] = focals
    return feeds


@pytest.fixture(params=["v2", "da3"])
def graphs(request, tmp_path, tiny_metric, tiny_da3_checkpoints):
    if request.param == "v2":
        network, size = tiny_metric, 56
    else:
        checkpoint = CheckpointRequest(str(tiny_da3_checkpoints["metric"]))
        network, size = family_of(checkpoint).load(checkpoint)[0], 0
    kwargs = {"input_size": size} if size else {}
    export_graph(network, HW, tmp_path / "one.onnx", **kwargs)
    export_graph(network, HW, tmp_path / "batch.onnx", max_batch=4, **kwargs)
    return tmp_path / "one.onnx", tmp_path / "batch.onnx"


def test_batched_graph_has_a_dynamic_batch_and_keeps_the_tensorrt_rules(graphs):
    one, batch = graphs
    info = read_graph_info(batch)
    assert info.max_batch == 4 and info.batched and not read_graph_info(one).batched
    model = onnx.load(str(batch))
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in [*model.graph.input, *model.graph.output]}
    assert dims["image"] == ["batch", *HW, 3] and dims["head"] == ["batch", 4]
    assert dims["raw"] == ["batch", *HW] and dims["depth"] == ["batch", *HW]
    if info.has_focal_input:
        assert dims["focal"] == ["batch", 1]
    assert tensorrt_import_problems(model) == []
    # the one-image graph's metadata has no max_batch, so its file (and engine cache key) is what it was
    one_meta = {p.key: p.value for p in onnx.load(str(one)).metadata_props}[METADATA_KEY]
    assert "max_batch" not in json.loads(one_meta)


def test_each_image_of_a_batch_gives_what_it_gives_alone(graphs):
    one_path, batch_path = graphs
    info = read_graph_info(batch_path)
    one, batch = ort.InferenceSession(str(one_path)), ort.InferenceSession(str(batch_path))
    images = _images()
    alone = [batch.run(None, _feeds(info, images[i:i + 1], HEADS[i:i + 1], FOCALS[i:i + 1])) for i in range(3)]
    together = batch.run(None, _feeds(info, images, HEADS, FOCALS))
    reordered = batch.run(None, _feeds(info, images[[2, 0]], HEADS[[2, 0]], FOCALS[[2, 0]]))
    for i in range(3):
        for j in range(2):  # raw, depth
            np.testing.assert_array_equal(together[j][i], alone[i][j][0])
    np.testing.assert_array_equal(reordered[1][0], alone[2][1][0])
    np.testing.assert_array_equal(reordered[1][1], alone[0][1][0])
    # each image keeps its own head and focal: the three depths differ from each other's settings
    assert not np.array_equal(together[1][0], together[1][1])
    for i in range(3):
        single = one.run(None, _feeds(info, images[i], HEADS[i], FOCALS[i]))
        finite = np.isfinite(single[1])
        np.testing.assert_array_equal(finite, np.isfinite(together[1][i]))
        np.testing.assert_allclose(together[1][i][finite], single[1][finite], rtol=ROUNDING, atol=ROUNDING)
        np.testing.assert_allclose(together[0][i], single[0], rtol=ROUNDING, atol=ROUNDING)


def test_batched_graph_refuses_other_sizes_and_names_its_batch(graphs, tmp_path, tiny_metric):
    """The batch size lives in the name and metadata; a wrong image size is refused by onnxruntime."""
    _, batch_path = graphs
    info = read_graph_info(batch_path)
    session = ort.InferenceSession(str(batch_path))
    with pytest.raises(Exception, match=r"(?i)dimension|shape"):
        session.run(None, _feeds(info, np.zeros((2, HW[0] + 1, HW[1], 3), np.uint8), HEADS[:2], FOCALS[:2]))
    path = export_for_resolution(lambda: (tiny_metric, "sha"), HW, tmp_path / "graphs", "tiny", input_size=56,
                                 max_batch=6)
    assert path.name.endswith("-b6.onnx") and read_graph_info(path).max_batch == 6
