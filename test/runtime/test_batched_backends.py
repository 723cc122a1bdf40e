"""Batched graphs through every backend (issue 26): onnxruntime, torch, and TensorRT on the stand-ins of test/fakes.

Each image of a batch must come back as it does alone (own head, own K, own row), batches above ``max_batch``
are split, the engine is built with the profile min 1 / opt N / max N, the cache key and the self-check
cover the batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from depth_anything_ros.core.head import MetricHead
from depth_anything_ros.export.graph_info import read_graph_info
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.runtime.backend import DepthBackend, DepthOutput
from depth_anything_ros.runtime.config import BackendConfig
from depth_anything_ros.runtime.engine_cache import EngineRecord, engine_key, read_record
from depth_anything_ros.runtime.factory import open_backend
from depth_anything_ros.runtime.nvidia import probe_gpu
from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from depth_anything_ros.runtime.selection import Platform
from depth_anything_ros.runtime.self_check import compare_backends
from depth_anything_ros.runtime.tensorrt_backend import TensorRTBackend
from depth_anything_ros.runtime.torch_backend import TorchBackend

from trt_fakes import install_fakes

HW = (28, 42)
HEADS = [MetricHead(1.0, 0.0, 0.1, 20.0), MetricHead(2.0, 0.5, 0.1, 20.0), None, MetricHead(0.5, 0.0, 0.2, 4.0),
         MetricHead(1.5, 0.1, 0.1, 20.0)]


def _images(n: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (*HW, 3), dtype=np.uint8) for _ in range(n)]


def _same(a: list[DepthOutput], b: list[DepthOutput]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.raw, y.raw)
        np.testing.assert_array_equal(x.depth, y.depth)


@pytest.fixture
def batch_graph(tmp_path, tiny_metric) -> Path:
    path = tmp_path / "batch.onnx"
    export_graph(tiny_metric, HW, path, input_size=56, max_batch=3)
    return path


def test_onnxruntime_batch_equals_each_frame_alone_and_splits_above_max_batch(batch_graph):
    images = _images()
    with OnnxRuntimeBackend(batch_graph) as backend:
        alone = [backend.infer(image, head) for image, head in zip(images, HEADS, strict=True)]
        _same(backend.infer_batch(images, HEADS), alone)  # 5 images, max_batch 3: runs of 3 and 2
        _same(backend.infer_batch(images[::-1], HEADS[::-1]), alone[::-1])
        assert alone[0].raw.shape == HW and alone[0].depth.shape == HW
        assert not np.array_equal(alone[0].depth, alone[1].depth)
        bad = [images[0], np.zeros((HW[0], HW[1] + 2, 3), np.uint8)]
        with pytest.raises(ValueError, match="serves 28x42x3 images"):
            backend.infer_batch(bad)
        with pytest.raises(ValueError, match="2 images need 2 heads"):
            backend.infer_batch(images[:2], HEADS[:1])


def test_one_image_graph_runs_a_batch_frame_by_frame(tmp_path, tiny_metric):
    export_graph(tiny_metric, HW, tmp_path / "one.onnx", input_size=56)
    images = _images(3)
    with OnnxRuntimeBackend(tmp_path / "one.onnx") as backend:
        alone = [backend.infer(i, h) for i, h in zip(images, HEADS[:3], strict=True)]
        _same(backend.infer_batch(images, HEADS[:3]), alone)


def test_torch_batch_matches_the_batched_onnx_graph(batch_graph, tiny_metric):
    images = _images(4)
    torch_backend = TorchBackend(tiny_metric, HW, input_size=56, device="cpu", max_batch=3)
    assert torch_backend.info.max_batch == 3
    with OnnxRuntimeBackend(batch_graph) as graph:
        ours, theirs = torch_backend.infer_batch(images, HEADS[:4]), graph.infer_batch(images, HEADS[:4])
    for x, y in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(x.raw, y.raw, rtol=1e-4, atol=1e-5)


def test_da3_batch_keeps_each_cameras_focal(tmp_path, tiny_da3_checkpoints):
    from depth_anything_ros.model.da3.checkpoint import load_da3

    export_graph(load_da3(tiny_da3_checkpoints["metric"]), HW, tmp_path / "da3.onnx", max_batch=2)
    image = _images(1)[0]
    ks = [np.diag([30.0, 30.0, 1.0]), np.diag([60.0, 60.0, 1.0])]
    with OnnxRuntimeBackend(tmp_path / "da3.onnx") as backend:
        both = backend.infer_batch([image, image], ks=ks)
        _same(both, [backend.infer(image, k=k) for k in ks])
        finite = np.isfinite(both[0].raw)
        np.testing.assert_allclose(both[1].raw[finite], 2 * both[0].raw[finite], rtol=1e-5)  # metres ~ focal
        with pytest.raises(ValueError, match="camera's focal length"):
            backend.infer_batch([image, image], ks=[ks[0], None])


@pytest.fixture
def fakes(monkeypatch):
    return install_fakes(monkeypatch)


def _platform(trt) -> Platform:
    return Platform(tensorrt_version=trt.__version__, tensorrt_problem="", gpu=probe_gpu(),
                    onnxruntime_providers=("CPUExecutionProvider",), torch=True)


def test_tensorrt_batched_engine_profile_cache_key_and_rows(fakes, batch_graph, tmp_path, caplog):
    trt, _ = fakes
    config = BackendConfig(onnx=str(batch_graph), backend="tensorrt", precision="fp32", metric=True, max_depth=20.0,
                           engine_cache_dir=str(tmp_path / "cache"))
    caplog.set_level(logging.INFO)
    images = _images()
    with open_backend(config, HW, _platform(trt)) as backend, OnnxRuntimeBackend(batch_graph) as reference:
        assert isinstance(backend, TensorRTBackend)
        (profile,) = trt.Builder.last_config.profiles
        assert profile.shapes["image"] == ((1, *HW, 3), (3, *HW, 3), (3, *HW, 3))
        assert profile.shapes["head"] == ((1, 4), (3, 4), (3, 4))
        _same(backend.infer_batch(images, HEADS), reference.infer_batch(images, HEADS))
        _same([backend.infer(images[1], HEADS[1])], [reference.infer(images[1], HEADS[1])])
        record = read_record(backend.engine_path)
    assert record.key.max_batch == 3 and record.graph.max_batch == 3
    assert "self-check: tensorrt (3 frames in one batch) vs onnxruntime" in caplog.text
    assert record.self_check_error is not None and record.self_check_error < 1e-6


def test_engine_key_of_one_image_engines_is_unchanged_and_batch_is_part_of_the_key(fakes, batch_graph, tmp_path,
                                                                                   tiny_metric):
    trt, _ = fakes
    export_graph(tiny_metric, HW, tmp_path / "one.onnx", input_size=56)
    one = engine_key(tmp_path / "one.onnx", "fp32", probe_gpu(), trt.__version__)
    batched = engine_key(batch_graph, "fp32", probe_gpu(), trt.__version__)
    assert one.max_batch == 0 and batched.max_batch == 3 and one.digest() != batched.digest()
    # a record written before batches existed (no max_batch) still reads, and its key still matches
    record = json.loads(EngineRecord(key=one, graph=read_graph_info(tmp_path / "one.onnx"), engine_sha256="x",
                                     engine_bytes=1, build_seconds=0.0).to_json())
    del record["key"]["max_batch"], record["graph"]["max_batch"]
    assert EngineRecord.from_json(json.dumps(record)).key == one
    # the digest (the cache file name) of a one-image engine is the hash of the fields it always had
    old = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(one).items() if k != "max_batch"}
    assert one.digest() == hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()[:16]


class RowsSwapped(DepthBackend):
    """A batched engine that returns its rows in the wrong order (what the batch self-check must catch)."""

    name = "swapped"

    def __init__(self, reference: DepthBackend) -> None:
        super().__init__(reference.info)
        self.reference = reference

    def _run(self, image, head, focal) -> DepthOutput:
        out = self.reference._run(image, head, focal)
        return DepthOutput(out.raw[::-1].copy(), out.depth[::-1].copy())

    def close(self) -> None:
        pass


def test_batch_self_check_catches_rows_in_the_wrong_order(batch_graph):
    with OnnxRuntimeBackend(batch_graph) as reference:
        assert compare_backends(reference, reference).relative_error == 0.0
        result = compare_backends(RowsSwapped(reference), reference)
    assert not result.passed and "3 frames in one batch" in str(result)
