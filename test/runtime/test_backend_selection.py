"""backend: auto | tensorrt | onnxruntime | torch, what auto picks and why, and what a failed choice says."""

from __future__ import annotations

import pytest

from depth_anything_ros.cli.main import main
from depth_anything_ros.model.v2.checkpoint import save_checkpoint
from depth_anything_ros.node import PipelineConfig
from depth_anything_ros.runtime import BackendConfig, OnnxRuntimeBackend, TorchBackend, open_backend
from depth_anything_ros.runtime.nvidia import BackendUnavailableError, GpuInfo
from depth_anything_ros.runtime.selection import Platform, choose_backend, probe_platform

ORIN = GpuInfo(0, "Orin", "8.7")
NO_TRT = "TensorRT is not installed (No module named 'tensorrt'); install the TensorRT 10 Python bindings"
FULL = Platform("10.3.0", "", ORIN, ("CUDAExecutionProvider", "CPUExecutionProvider"), True, True)
CPU_ONLY = Platform(None, NO_TRT, None, ("CPUExecutionProvider",), True, False)
BARE = Platform(None, NO_TRT, None, (), False, False)


def test_auto_prefers_tensorrt_with_a_gpu():
    choice = choose_backend("auto", FULL, has_checkpoint=False)
    assert choice.name == "tensorrt"
    assert choice.reason == "auto: TensorRT and a GPU are present; TensorRT 10.3.0 on GPU 0 'Orin' " \
                            "(compute capability 8.7)"


def test_auto_falls_back_to_onnxruntime_and_says_why():
    choice = choose_backend("auto", CPU_ONLY, has_checkpoint=True)
    assert choice.name == "onnxruntime" and choice.providers == ("CPUExecutionProvider",)
    assert choice.reason.startswith("auto: TensorRT unusable (TensorRT is not installed")
    gpu_ort = Platform(None, "no CUDA device 0", None, ("CUDAExecutionProvider", "CPUExecutionProvider"))
    assert choose_backend("auto", gpu_ort, False).providers == ("CUDAExecutionProvider", "CPUExecutionProvider")


def test_tensorrt_without_gpu_is_not_chosen_by_auto():
    no_gpu = Platform("10.3.0", "no CUDA device 0: the driver reports 0 device(s)", None, ("CPUExecutionProvider",))
    assert choose_backend("auto", no_gpu, False).name == "onnxruntime"
    with pytest.raises(BackendUnavailableError, match="backend 'tensorrt' cannot load: no CUDA device 0"):
        choose_backend("tensorrt", no_gpu, False)


def test_auto_uses_torch_when_only_torch_and_a_checkpoint_exist():
    torch_only = Platform(None, NO_TRT, None, (), True, False)
    assert choose_backend("auto", torch_only, True).name == "torch"
    with pytest.raises(BackendUnavailableError, match="no backend can run here") as error:
        choose_backend("auto", torch_only, False)
    assert "none is set" in str(error.value)


@pytest.mark.parametrize(("requested", "platform", "checkpoint", "message"), [
    ("tensorrt", CPU_ONLY, True, "backend 'tensorrt' cannot load: TensorRT is not installed"),
    ("onnxruntime", BARE, True, "onnxruntime is not installed; pip install 'depth_anything_ros[cpu]'"),
    ("torch", BARE, True, "backend 'torch' cannot load: PyTorch is not installed; pip install torch==2.13.0"),
    ("torch", CPU_ONLY, False, "runs a .pth checkpoint and none is set"),
    ("auto", BARE, False, "no backend can run here: tensorrt: TensorRT is not installed"),
])
def test_explicit_choices_that_cannot_load_name_the_missing_piece(requested, platform, checkpoint, message):
    with pytest.raises(BackendUnavailableError, match=message.replace("(", r"\(").replace(")", r"\)").replace(
            ".", r"\.").replace("[", r"\[").replace("]", r"\]")):
        choose_backend(requested, platform, checkpoint)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend must be one of auto, tensorrt, onnxruntime, torch"):
        choose_backend("openvino", FULL, False)
    with pytest.raises(ValueError, match="backend must be one of auto, tensorrt"):
        BackendConfig(backend="openvino")
    with pytest.raises(ValueError, match=r"backend must be auto \| tensorrt"):
        PipelineConfig(backend="openvino")


def test_probe_on_this_machine_finds_onnxruntime_and_torch():
    platform = probe_platform()
    assert "CPUExecutionProvider" in platform.onnxruntime_providers and platform.torch
    if platform.tensorrt_version is None:
        assert "TensorRT is not installed" in platform.tensorrt_problem


def test_checkpoint_alone_is_exported_once_per_resolution(tmp_path, tiny_relative, monkeypatch):
    checkpoint = tmp_path / "tiny.pth"
    save_checkpoint(tiny_relative, checkpoint)
    loads = []
    monkeypatch.setattr("depth_anything_ros.model.v2.build.build_model",
                        lambda *args, **kwargs: loads.append(args) or (tiny_relative, "sha"))
    config = BackendConfig(checkpoint=str(checkpoint), input_size=56, engine_cache_dir=str(tmp_path / "cache"))
    for image_hw in ((28, 42), (28, 42), (30, 40)):
        with open_backend(config, image_hw, CPU_ONLY) as backend:
            assert isinstance(backend, OnnxRuntimeBackend) and backend.info.image_hw == image_hw
    graphs = sorted(p.name for p in (tmp_path / "cache" / "graphs").glob("*.onnx"))
    assert len(graphs) == 2 and len(loads) == 2  # one export per resolution, reused after
    assert graphs[0].endswith("-vits-v2-relative-28x42-bgr-56.onnx")


def test_factory_opens_onnxruntime_and_torch(tmp_path, tiny_relative, monkeypatch):
    from depth_anything_ros.export.onnx_export import export_graph

    graph = tmp_path / "g.onnx"
    export_graph(tiny_relative, (28, 42), graph, input_size=56)
    with open_backend(BackendConfig(onnx=str(graph)), (28, 42), CPU_ONLY) as backend:
        assert isinstance(backend, OnnxRuntimeBackend) and backend.providers == ["CPUExecutionProvider"]
    monkeypatch.setattr("depth_anything_ros.model.v2.build.build_model", lambda *a, **k: (tiny_relative, "sha"))
    config = BackendConfig(checkpoint="tiny.pth", backend="torch", input_size=56)
    with open_backend(config, (28, 42), CPU_ONLY) as backend:
        assert isinstance(backend, TorchBackend) and str(backend.device) == "cpu"
        assert backend.info.image_hw == (28, 42) and backend.info.checkpoint_sha256 == "sha"


def test_cli_infer_with_an_unavailable_backend_fails_clearly(tmp_path, capsys, tiny_relative):
    import cv2
    import numpy as np

    from depth_anything_ros.export.onnx_export import export_graph

    graph = tmp_path / "g.onnx"
    export_graph(tiny_relative, (28, 42), graph, input_size=56)
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), np.full((28, 42, 3), 100, np.uint8))
    code = main(["infer", str(image), "--onnx", str(graph), "--backend", "tensorrt", "--output", str(tmp_path)])
    assert code == 1
    assert "backend 'tensorrt' cannot load" in capsys.readouterr().err
    assert main(["infer", str(image), "--onnx", str(graph), "--output", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "frame_relative.npy").is_file()
