"""The TensorRT path against the TensorRT 10 / pycuda stand-ins (test/fakes) and, where present, the real ones.

The stand-ins keep the real names and signatures; the "engine" runs the ONNX graph on onnxruntime
through buffers at the addresses set with the tensor-name API. So these tests check the package's own
logic around TensorRT (build options, parser errors, I/O binding by tensor name, shapes, the engine
cache, rebuilds, the self-check's decision, CUDA context handling), never that "TensorRT" agrees with
onnxruntime: the stand-in would agree by construction. What the real bindings do without libnvinfer is
in test_tensorrt_bindings.py; a real engine on a GPU in test_real_tensorrt_engine_matches_onnxruntime.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from depth_anything_ros.cli.main import main
from depth_anything_ros.core.head import MetricHead
from depth_anything_ros.export import GraphInfo, read_graph_info
from depth_anything_ros.export.graph_info import METADATA_KEY
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.runtime import (
    BackendConfig,
    OnnxRuntimeBackend,
    build_engine,
    engine_key,
    import_tensorrt,
    open_backend,
    probe_gpu,
    save_engine,
)
from depth_anything_ros.runtime.engine_build import EngineBuildError
from depth_anything_ros.runtime.engine_cache import find_or_build_engine, read_record, update_record
from depth_anything_ros.runtime.nvidia import BackendUnavailableError
from depth_anything_ros.runtime.selection import Platform
from depth_anything_ros.runtime.self_check import compare_backends, self_check
from depth_anything_ros.runtime.tensorrt_backend import EngineLoadError, TensorRTBackend

from trt_fakes import install_fakes

HW = (28, 42)


@pytest.fixture
def fakes(monkeypatch):
    return install_fakes(monkeypatch)


@pytest.fixture
def graph(tmp_path, tiny_metric) -> Path:
    path = tmp_path / "tiny.onnx"
    export_graph(tiny_metric, HW, path, input_size=56)
    return path


@pytest.fixture
def graph16(tmp_path, tiny_metric) -> Path:
    path = tmp_path / "tiny16.onnx"
    export_graph(tiny_metric, HW, path, input_size=56, precision="fp16")
    return path


def _engine(tmp_path: Path, graph: Path, precision: str = "fp32") -> Path:
    trt = import_tensorrt()
    key = engine_key(graph, precision, probe_gpu(), trt.__version__)
    return find_or_build_engine(graph, key, tmp_path / "cache", lambda: build_engine(graph, precision))


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*HW, 3), dtype=np.uint8)


def _trt_platform(trt, driver) -> Platform:
    return Platform(tensorrt_version=trt.__version__, tensorrt_problem="", gpu=probe_gpu(),
                    onnxruntime_providers=("CPUExecutionProvider",), torch=True)


def test_fp16_graph_builds_strongly_typed_without_weak_typing(fakes, graph16, tmp_path, monkeypatch):
    trt, _ = fakes
    lines: list[str] = []
    timing = tmp_path / "timing.cache"
    serialized = []
    build = trt.Builder.build_serialized_network
    monkeypatch.setattr(trt.Builder, "build_serialized_network",
                        lambda self, n, c: serialized.append(build(self, n, c)) or memoryview(serialized[-1]))
    engine = build_engine(graph16, "fp16", workspace_gb=1.5, timing_cache=timing, report=lines.append)
    config, network = trt.Builder.last_config, trt.Builder.last_network
    assert engine == serialized[0] and isinstance(engine, bytes)  # the IHostMemory's bytes, copied out
    assert network.flags == 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    assert config.flags == {trt.BuilderFlag.TF32}  # untouched: precision comes from the graph
    assert config.pool_limits[trt.MemoryPoolType.WORKSPACE] == int(1.5 * (1 << 30))
    assert any("building a strongly typed fp16 TensorRT 10.3.0 engine" in line for line in lines)
    assert any("Building engine (2 steps)" in line for line in lines)
    assert any(line.startswith("engine built in") for line in lines)
    assert timing.read_bytes() == b"+timing"  # written after the build
    build_engine(graph16, "fp16", timing_cache=timing, report=lines.append)
    assert timing.read_bytes() == b"+timing+timing"  # read back, extended, rewritten


def test_fp32_build_clears_tf32_and_11x_needs_no_flag(fakes, graph, monkeypatch):
    trt, _ = fakes
    build_engine(graph, "fp32", report=lambda _: None)
    assert trt.Builder.last_config.flags == set()  # TF32 cleared: fp32 means FP32
    monkeypatch.setattr(trt, "NetworkDefinitionCreationFlag", type("NoFlags", (), {}))  # should 11.x drop it
    monkeypatch.setattr(trt.Builder, "build_serialized_network",
                        lambda self, network, config: network.flags.to_bytes(1, "little"))
    assert build_engine(graph, "fp32", report=lambda _: None) == b"\x00"


def test_graph_and_engine_precision_must_agree(fakes, graph, graph16):
    with pytest.raises(EngineBuildError, match=r"is an fp32 graph.*export --precision fp16"):
        build_engine(graph, "fp16", report=lambda _: None)
    with pytest.raises(EngineBuildError, match="is an fp16 graph"):
        build_engine(graph16, "fp32", report=lambda _: None)


def test_refused_timing_cache_is_an_error(fakes, graph, tmp_path, monkeypatch):
    trt, _ = fakes
    monkeypatch.setattr(trt.IBuilderConfig, "accept_timing_cache", False)
    with pytest.raises(EngineBuildError, match="refused the timing cache"):
        build_engine(graph, "fp32", timing_cache=tmp_path / "t.cache", report=lambda _: None)


def test_parser_errors_name_every_node(fakes, graph, monkeypatch):
    trt, _ = fakes
    monkeypatch.setattr(trt.OnnxParser, "unsupported_ops", frozenset({"LayerNormalization"}))
    with pytest.raises(EngineBuildError) as error:
        build_engine(graph, "fp32", report=lambda _: None)
    message = str(error.value)
    assert "TensorRT 10.3.0 cannot parse" in message
    assert "'/model/pretrained/blocks.0/norm1/LayerNormalization' (LayerNormalization)" in message
    assert message.count("No importer registered for op: LayerNormalization") >= 25  # 24 blocks' norms + final


def test_failed_build_and_bad_arguments(fakes, graph, monkeypatch, tmp_path):
    trt, _ = fakes
    monkeypatch.setattr(trt.Builder, "fail_build", True)
    with pytest.raises(EngineBuildError, match="failed to build"):
        build_engine(graph, "fp32", report=lambda _: None)
    with pytest.raises(ValueError, match="precision must be one of"):
        build_engine(graph, "int8")
    with pytest.raises(FileNotFoundError):
        build_engine(tmp_path / "missing.onnx", "fp32")


def _device(driver, address: int, spec) -> np.ndarray:
    """What the stand-in device memory at ``address`` holds, as the tensor ``spec`` describes it."""
    return np.frombuffer(driver.memory[address], spec.dtype).reshape(spec.shape)


def test_runtime_binds_every_tensor_by_name_returns_copies_and_tears_down(fakes, graph, tmp_path):
    """Inputs land in their own tensor's device buffer, outputs come back from theirs, on any thread."""
    _, driver = fakes
    engine = _engine(tmp_path, graph)
    image = _image()
    backend = TensorRTBackend(engine)
    assert backend.info == read_record(engine).graph and backend.name == "tensorrt"
    addresses = backend._execution.addresses
    assert set(addresses) == {"image", "head", "raw", "depth"} and len(set(addresses.values())) == 4
    assert addresses == {name: int(buffer) for name, buffer in backend._device_buffers.items()}
    assert backend._execution.input_shapes == {"image": (*HW, 3), "head": (4,)}
    allocated = set(driver.memory)
    results: list = []
    head = MetricHead(2.0, 0.5, 0.1, 50.0)  # depth differs from raw
    worker = threading.Thread(target=lambda: results.append(backend.infer(image, head)))  # an executor thread
    worker.start()
    worker.join()
    tensors = backend.tensors
    np.testing.assert_array_equal(_device(driver, addresses["image"], tensors["image"]), image)
    np.testing.assert_array_equal(_device(driver, addresses["head"], tensors["head"]), head.as_array())
    np.testing.assert_array_equal(results[0].raw, _device(driver, addresses["raw"], tensors["raw"]))
    np.testing.assert_array_equal(results[0].depth, _device(driver, addresses["depth"], tensors["depth"]))
    assert not np.array_equal(results[0].raw, results[0].depth)  # two outputs, not one buffer read twice
    other = backend.infer(_image(1))
    assert not np.array_equal(other.raw, results[0].raw)  # outputs are copies, not the reused host buffers
    assert driver._stack() == []  # every push popped
    backend.close()
    assert allocated <= set(driver.freed) and not set(driver.memory) & allocated
    backend.close()  # idempotent


def test_corrupt_or_mismatched_engines_are_refused(fakes, graph, tmp_path, tiny_metric):
    trt, _ = fakes
    engine = _engine(tmp_path, graph)
    engine.write_bytes(b"\x00" * 64)
    with pytest.raises(EngineLoadError, match="cannot deserialize"):
        TensorRTBackend(engine)

    other = tmp_path / "other.onnx"
    export_graph(tiny_metric, (30, 42), other, input_size=56)
    key = engine_key(graph, "fp32", probe_gpu(), trt.__version__)
    save_engine(engine, build_engine(other, "fp32", report=lambda _: None), graph, key, 1.0)
    with pytest.raises(EngineLoadError, match=r"image: expected input \(28, 42, 3\) uint8, found input \(30, 42, 3\)"):
        TensorRTBackend(engine)

    engine.with_suffix(".engine.json").unlink()
    with pytest.raises(ValueError, match="never trusted"):
        TensorRTBackend(engine)


def test_open_backend_builds_checks_and_reuses(fakes, graph16, tmp_path, caplog, monkeypatch):
    trt, driver = fakes
    config = BackendConfig(onnx=str(graph16), backend="tensorrt", precision="fp16", metric=True, max_depth=20.0,
                            engine_cache_dir=str(tmp_path / "cache"))
    caplog.set_level(logging.INFO)
    with open_backend(config, HW, _trt_platform(trt, driver)) as backend:
        assert isinstance(backend, TensorRTBackend)
        engine = backend.engine_path
        with OnnxRuntimeBackend(graph16) as reference:
            measured = compare_backends(backend, reference).relative_error
    assert "backend tensorrt: requested; TensorRT 10.3.0 on GPU 0 'Fake Orin' (compute capability 8.7)" in caplog.text
    assert read_record(engine).self_check_error == measured  # the first load's self-check, kept with the engine
    assert "self-check: tensorrt vs onnxruntime" in caplog.text

    builds = []
    monkeypatch.setattr(trt.Builder, "build_serialized_network",
                        lambda self, n, c: builds.append(1))  # must not be called: cache hit
    caplog.clear()
    with open_backend(config, HW, _trt_platform(trt, driver)):
        pass
    assert not builds and "engine cache hit" in caplog.text and "self-check at first load" in caplog.text


def test_an_engine_that_will_not_deserialize_is_rebuilt_once(fakes, graph, tmp_path, caplog, monkeypatch):
    trt, driver = fakes
    config = BackendConfig(onnx=str(graph), backend="tensorrt", precision="fp32",
                            engine_cache_dir=str(tmp_path / "cache"))
    with open_backend(config, HW, _trt_platform(trt, driver)) as backend:
        engine = backend.engine_path
    data = engine.read_bytes().replace(b'"10.3.0"', b'"10.0.1"')  # as if from another TensorRT
    engine.write_bytes(data)
    update_record(engine, engine_sha256=hashlib.sha256(data).hexdigest(), engine_bytes=len(data))
    builds = []
    build = trt.Builder.build_serialized_network
    monkeypatch.setattr(trt.Builder, "build_serialized_network",
                        lambda self, n, c: builds.append(1) or build(self, n, c))
    with open_backend(config, HW, _trt_platform(trt, driver)) as backend:
        assert backend.engine_path == engine and backend.infer(_image()).raw.shape == HW  # the rebuilt one serves
    assert builds == [1] and caplog.text.count("discarding it and rebuilding") == 1
    rebuilt = engine.read_bytes()
    assert rebuilt != data and read_record(engine).engine_sha256 == hashlib.sha256(rebuilt).hexdigest()
    assert read_record(engine).self_check_error is not None  # the new engine is checked again


def test_self_check_flags_a_wrong_engine_at_first_load_and_at_every_later_one(fakes, graph, tmp_path, caplog,
                                                                              monkeypatch):
    """An engine whose raw output is 10 % off (a TensorRT bug, FP16 overflow): the first load warns, names
    the fix and records the error; later loads (cache hits, no new check) warn from the record."""
    trt, driver = fakes
    config = BackendConfig(onnx=str(graph), backend="tensorrt", precision="fp32",
                            engine_cache_dir=str(tmp_path / "cache"))
    caplog.set_level(logging.INFO)
    execute = trt.IExecutionContext.execute_async_v3

    def wrong(self, stream):
        done = execute(self, stream)
        raw = np.frombuffer(driver.memory[self.addresses["raw"]], np.float32)
        driver.memory[self.addresses["raw"]][:] = (raw * 1.1).astype(np.float32).tobytes()
        return done

    monkeypatch.setattr(trt.IExecutionContext, "execute_async_v3", wrong)
    with open_backend(config, HW, _trt_platform(trt, driver)) as backend:
        engine = backend.engine_path
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("ABOVE the thresholds" in w and "try precision fp32" in w for w in warnings), warnings
    recorded = read_record(engine).self_check_error
    assert recorded > config.self_check_threshold
    caplog.clear()
    with open_backend(config, HW, _trt_platform(trt, driver)):
        pass
    assert f"differed from onnxruntime by {recorded:.2e}" in caplog.text and "self-check: " not in caplog.text
    monkeypatch.setattr(trt.IExecutionContext, "execute_async_v3", execute)
    caplog.clear()
    with open_backend(replace(config, engine_cache_dir=str(tmp_path / "right")), HW, _trt_platform(trt, driver)):
        pass  # the same graph's right engine: within the thresholds, no warning
    assert "within the thresholds" in caplog.text and not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_graph_of_another_resolution_is_refused(graph):
    config = BackendConfig(onnx=str(graph), backend="onnxruntime")
    with pytest.raises(ValueError, match="serves 28x42 images, the camera gives 480x640"):
        open_backend(config, (480, 640), Platform(onnxruntime_providers=("CPUExecutionProvider",)))


def test_missing_tensorrt_and_pycuda_are_named(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorrt", None)
    monkeypatch.setitem(sys.modules, "pycuda", None)
    monkeypatch.setitem(sys.modules, "pycuda.driver", None)
    with pytest.raises(BackendUnavailableError, match="python3-libnvinfer"):
        import_tensorrt()
    with pytest.raises(BackendUnavailableError, match="pip install pycuda"):
        probe_gpu()


@pytest.mark.parametrize("version", ["10.3.0", "10.3.0.30", "10.13.3.9", "10.16.0", "11.4.0.106"])
def test_tensorrt_10_3_to_11_is_accepted(fakes, monkeypatch, version):
    trt, _ = fakes
    monkeypatch.setattr(trt, "__version__", version)
    assert import_tensorrt() is trt


@pytest.mark.parametrize("version", ["8.6.1", "10.0.1", "10.2.0.19"])
def test_tensorrt_older_than_10_3_is_refused_naming_the_jetpack(fakes, monkeypatch, version):
    trt, _ = fakes
    monkeypatch.setattr(trt, "__version__", version)
    with pytest.raises(BackendUnavailableError, match=rf"TensorRT {re.escape(version)} found.*10\.3 or later"
                       r".*JetPack 6\.1 or later"):
        import_tensorrt()
    monkeypatch.setattr(trt, "__version__", "12.0.0")
    with pytest.raises(BackendUnavailableError, match=r"tested with TensorRT 10\.3 to 11\.x"):
        import_tensorrt()


def test_cuda_init_failure_is_named_and_auto_falls_back(fakes, graph, monkeypatch):
    from depth_anything_ros.runtime.selection import choose_backend, probe_platform

    trt, _ = fakes
    monkeypatch.setattr(trt.Builder, "cuda_unreachable", True)
    with pytest.raises(BackendUnavailableError, match=r"TensorRT cannot reach the GPU: driver/CUDA mismatch\?"):
        build_engine(graph, "fp32", report=lambda _: None)
    platform = probe_platform()
    assert platform.tensorrt_problem.startswith("TensorRT cannot reach the GPU: driver/CUDA mismatch?")
    choice = choose_backend("auto", platform, has_checkpoint=False)
    assert choice.name == "onnxruntime" and "TensorRT cannot reach the GPU" in choice.reason


def test_a_cuda_driver_that_will_not_start_is_named_everywhere_and_auto_falls_back(fakes, graph, tmp_path,
                                                                                   monkeypatch):
    """pycuda's ``cuda.init()`` raising (no GPU or no driver): the GPU probe, the platform, backend choice and
    an engine's backend all say so, and the backend leaves no CUDA thread behind."""
    from depth_anything_ros.runtime.selection import choose_backend, probe_platform

    _, driver = fakes
    engine = _engine(tmp_path, graph)  # built while the driver still works

    def refuse() -> None:
        raise driver.LogicError("cuInit failed: no CUDA-capable device is detected")

    monkeypatch.setattr(driver, "init", refuse)
    message = (r"the CUDA driver cannot start \(cuInit failed: no CUDA-capable device is detected\); is an NVIDIA "
               r"GPU and driver present\?")
    with pytest.raises(BackendUnavailableError, match=message) as error:
        probe_gpu()
    assert isinstance(error.value.__cause__, driver.LogicError)
    platform = probe_platform()
    assert platform.tensorrt_version == "10.3.0" and platform.gpu is None
    assert re.fullmatch(message, platform.tensorrt_problem)
    choice = choose_backend("auto", platform, has_checkpoint=False)
    assert choice.name == "onnxruntime" and "the CUDA driver cannot start" in choice.reason
    with pytest.raises(BackendUnavailableError, match="backend 'tensorrt' cannot load: the CUDA driver cannot start"):
        choose_backend("tensorrt", platform, has_checkpoint=False)
    threads = {t.name for t in threading.enumerate()}
    with pytest.raises(BackendUnavailableError, match=message):
        TensorRTBackend(engine)
    assert {t.name for t in threading.enumerate()} == threads  # its CUDA thread is shut down


@pytest.mark.parametrize(("attribute", "message"), [("refuse_tensor_address", "refused the device address"),
                                                    ("fail_execute", "execution failed")])
def test_refused_bindings_calls_are_errors(fakes, graph, tmp_path, monkeypatch, attribute, message):
    trt, driver = fakes
    engine = _engine(tmp_path, graph)
    if attribute == "fail_execute":
        with TensorRTBackend(engine) as backend:
            monkeypatch.setattr(trt.IExecutionContext, attribute, True)
            with pytest.raises(RuntimeError, match=message):
                backend.infer(_image())
    else:
        monkeypatch.setattr(trt.IExecutionContext, attribute, True)
        with pytest.raises(EngineLoadError, match=message):
            TensorRTBackend(engine)
    assert driver._stack() == []


def test_refused_input_shape_is_an_error(fakes, graph, tmp_path, monkeypatch):
    trt, _ = fakes
    engine = _engine(tmp_path, graph)
    monkeypatch.setattr(trt.IExecutionContext, "set_input_shape", lambda self, name, shape: False)
    with pytest.raises(EngineLoadError, match="refused input shape"):
        TensorRTBackend(engine)


def test_context_is_released_by_the_thread_that_made_it_even_when_closed_elsewhere(fakes, graph, tmp_path):
    engine = _engine(tmp_path, graph)
    backend = TensorRTBackend(engine)
    context = backend._context
    closer = threading.Thread(target=backend.close)  # e.g. the node's shutdown on another executor thread
    closer.start()
    closer.join()
    assert context.detached and context.thread != closer.ident and context.thread != threading.get_ident()


def test_cli_build_engine_writes_engine_and_record(fakes, graph16, tmp_path, capsys):
    out = tmp_path / "model.engine"
    assert main(["build-engine", "--onnx", str(graph16), "--precision", "fp16", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "TensorRT: Building engine (2 steps)" in printed
    assert f"wrote {out} and model.engine.json: fp16, TensorRT 10.3.0, GPU 0 'Fake Orin'" in printed
    assert read_record(out).key.precision == "fp16" and read_record(out).graph.image_hw == HW


def test_cli_build_engine_without_tensorrt_says_how_to_install(graph, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorrt", None)
    assert main(["build-engine", "--onnx", str(graph), "--output", str(tmp_path / "m.engine")]) == 1
    assert "TensorRT is not installed" in capsys.readouterr().err
    assert not (tmp_path / "m.engine").exists()


@pytest.mark.tensorrt
@pytest.mark.gpu
@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is None, reason="TensorRT is not installed here")
def test_real_tensorrt_engine_matches_onnxruntime(tmp_path, graph):  # pragma: no cover - needs TensorRT + GPU
    config = BackendConfig(onnx=str(graph), backend="tensorrt", precision="fp32", metric=True, max_depth=20.0,
                            engine_cache_dir=str(tmp_path / "cache"))
    image = _image()
    with open_backend(config, HW) as backend, OnnxRuntimeBackend(graph) as reference:
        ours, theirs = backend.infer(image), reference.infer(image)
    np.testing.assert_allclose(ours.raw, theirs.raw, rtol=1e-3, atol=1e-4)


def test_stand_in_parser_refuses_a_uint8_input_that_does_not_feed_a_cast(fakes, tmp_path):
    """The stand-in holds the real importer's UINT8 rule, so it cannot pass what TensorRT refuses."""
    import onnx
    from bad_graphs import UINT8_LATE_CAST

    path = tmp_path / "late_cast.onnx"
    model = onnx.ModelProto()
    model.CopyFrom(UINT8_LATE_CAST)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, GraphInfo(2, 2, "bgr", 2, 2, "tiny", 2, "relative", None, "x").to_json()
    onnx.save(model, str(path))
    with pytest.raises(EngineBuildError, match=r"node 0 '/preprocess/Transpose' \(Transpose\).*UINT8 types"):
        build_engine(path, "fp32", report=lambda _: None)


def test_checkpoint_fp16_builds_from_the_fp16_graph_and_self_checks_against_fp32(fakes, tmp_path, tiny_metric,
                                                                                  monkeypatch, caplog):
    from depth_anything_ros.model.v2.checkpoint import save_checkpoint

    trt, driver = fakes
    checkpoint = tmp_path / "tiny.pth"
    save_checkpoint(tiny_metric, checkpoint)
    monkeypatch.setattr("depth_anything_ros.model.v2.build.build_model", lambda *a, **k: (tiny_metric, "sha"))
    config = BackendConfig(checkpoint=str(checkpoint), backend="tensorrt", precision="fp16", metric=True,
                            max_depth=20.0, input_size=56, engine_cache_dir=str(tmp_path / "cache"))
    caplog.set_level(logging.INFO)
    checked, results = [], []

    def spy(candidate, onnx_path, threshold):
        checked.append(Path(onnx_path))
        results.append(self_check(candidate, onnx_path, threshold))
        return results[-1]

    monkeypatch.setattr("depth_anything_ros.runtime.factory.self_check", spy)
    with open_backend(config, HW, _trt_platform(trt, driver)) as backend:
        engine = backend.engine_path
    record = read_record(engine)
    assert record.key.precision == "fp16" and record.graph.precision == "fp16"
    graphs = sorted(p.name for p in (tmp_path / "cache" / "graphs").glob("*.onnx"))
    assert len(graphs) == 2 and graphs[0].endswith("-56-fp16.onnx")  # the engine's graph and the reference
    (reference,) = checked
    assert read_graph_info(reference).precision == "fp32" and reference.parent == tmp_path / "cache" / "graphs"
    assert record.self_check_error == results[0].relative_error  # FP16 engine vs the FP32 graph, recorded
    timing = list((tmp_path / "cache").glob("timing-*.cache"))
    assert [p.name for p in timing] == ["timing-Fake_Orin-sm8.7-trt10.3.0.cache"]


@pytest.fixture
def da3_graph16(tmp_path) -> Path:
    import torch

    from depth_anything_ros.export.onnx_export import export_graph
    from depth_anything_ros.model.da3.network import Da3Model
    from depth_anything_ros.model.da3.spec import tiny_da3_spec

    torch.manual_seed(5)
    path = tmp_path / "da3_16.onnx"
    export_graph(Da3Model(tiny_da3_spec("metric")), HW, path, precision="fp16")
    return path


def test_da3_engine_has_focal_and_runs_through_the_backend(fakes, da3_graph16, tmp_path, capsys):
    _, driver = fakes
    """build-engine on a DA3 graph: the record is the DA3 graph, the engine's third input is focal, and the
    backend feeds it from K (metres scale with the focal length, as on onnxruntime)."""
    from depth_anything_ros.runtime.tensorrt_backend import expected_tensors

    out = tmp_path / "da3.engine"
    assert main(["build-engine", "--onnx", str(da3_graph16), "--precision", "fp16", "--output", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    record = read_record(out)
    assert record.graph.model == "tiny-da3-metric" and record.graph.uses_focal and record.key.precision == "fp16"
    focal = expected_tensors(record.graph)["focal"]
    assert focal.is_input and focal.shape == (1,) and focal.dtype == np.float32
    k = np.array([[30.0, 0, 20.5], [0, 30.0, 13.5], [0, 0, 1]])
    image = _image()
    with TensorRTBackend(out) as backend:
        assert set(backend.tensors) == {"image", "head", "focal", "raw", "depth"}  # as the engine reports them
        focal = backend._execution.addresses["focal"]
        near = backend.infer(image, k=k)
        near_focal = _device(driver, focal, backend.tensors["focal"]).copy()
        far = backend.infer(image, k=k * [[2], [2], [1]])
        far_focal = _device(driver, focal, backend.tensors["focal"]).copy()
        with pytest.raises(ValueError, match="focal length"):
            backend.infer(image)  # a metric DA3 engine without K
    np.testing.assert_array_equal(near_focal, record.graph.focal_input(k))  # the focal at the network input
    np.testing.assert_array_equal(far_focal, 2 * near_focal)
    np.testing.assert_array_equal(np.isinf(far.depth), np.isinf(near.depth))  # sky is sky at any focal
    finite = np.isfinite(near.depth)
    np.testing.assert_allclose(far.depth[finite], 2 * near.depth[finite], rtol=2e-3)  # fp16 outputs
