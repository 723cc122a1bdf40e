"""Which backend runs: ``auto | tensorrt | onnxruntime | torch``, and why, from what this machine has."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from depth_anything_ros.runtime.config import BACKENDS
from depth_anything_ros.runtime.nvidia import (
    BackendUnavailableError,
    GpuInfo,
    import_tensorrt,
    probe_gpu,
    probe_tensorrt_gpu,
)

ORT_HINT = "pip install 'depth_anything_ros[cpu]' (or onnxruntime-gpu for its CUDA provider)"
TORCH_HINT = "pip install torch==2.13.0 (CPU) or a CUDA build of PyTorch"


@dataclass(frozen=True)
class Platform:
    """What is installed and present; a non-empty ``*_problem`` says why a piece is unusable."""

    tensorrt_version: str | None = None
    tensorrt_problem: str = "not probed"
    gpu: GpuInfo | None = None
    onnxruntime_providers: tuple[str, ...] = ()
    torch: bool = False
    torch_cuda: bool = False


@dataclass(frozen=True)
class BackendChoice:
    name: str
    reason: str
    providers: tuple[str, ...] = ()


def probe_platform(device_index: int = 0) -> Platform:
    """Look for TensorRT (10.3 to 11.x) reaching a GPU through pycuda, onnxruntime and its providers, PyTorch."""
    version, gpu, problem = None, None, ""
    try:
        trt = import_tensorrt()
        version = trt.__version__
        gpu = probe_gpu(device_index)
        probe_tensorrt_gpu(trt)
    except BackendUnavailableError as error:
        problem = str(error)
    providers: tuple[str, ...] = ()
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime

        providers = tuple(onnxruntime.get_available_providers())
    torch_present = importlib.util.find_spec("torch") is not None
    torch_cuda = False
    if torch_present:
        import torch

        torch_cuda = torch.cuda.is_available()
    return Platform(version, problem, gpu, providers, torch_present, torch_cuda)


def onnxruntime_providers(platform: Platform) -> tuple[str, ...]:
    """CUDA first where onnxruntime-gpu offers it, CPU always."""
    cuda = ("CUDAExecutionProvider",) if "CUDAExecutionProvider" in platform.onnxruntime_providers else ()
    return (*cuda, "CPUExecutionProvider")


def choose_backend(requested: str, platform: Platform, has_checkpoint: bool) -> BackendChoice:
    """The backend to run and the reason, or BackendUnavailableError naming the missing piece."""
    if requested not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {requested!r}")
    trt_ok = platform.tensorrt_version is not None and platform.gpu is not None and not platform.tensorrt_problem
    ort_ok = bool(platform.onnxruntime_providers)
    torch_ok = platform.torch and has_checkpoint
    torch_problem = ("PyTorch is not installed; " + TORCH_HINT) if not platform.torch else \
        "it runs a .pth checkpoint and none is set (the ONNX graph runs on tensorrt or onnxruntime)"
    if requested == "tensorrt" or (requested == "auto" and trt_ok):
        if not trt_ok:
            raise BackendUnavailableError(f"backend 'tensorrt' cannot load: {platform.tensorrt_problem}")
        how = "requested" if requested == "tensorrt" else "auto: TensorRT and a GPU are present"
        return BackendChoice("tensorrt", f"{how}; TensorRT {platform.tensorrt_version} on {platform.gpu}")
    if requested == "onnxruntime" or (requested == "auto" and ort_ok):
        if not ort_ok:
            raise BackendUnavailableError(
                f"backend 'onnxruntime' cannot load: onnxruntime is not installed; {ORT_HINT}")
        providers = onnxruntime_providers(platform)
        how = "requested" if requested == "onnxruntime" else f"auto: TensorRT unusable ({platform.tensorrt_problem})"
        return BackendChoice("onnxruntime", f"{how}; onnxruntime with {', '.join(providers)}", providers)
    if requested == "torch" or (requested == "auto" and torch_ok):
        if not torch_ok:
            raise BackendUnavailableError(f"backend 'torch' cannot load: {torch_problem}")
        how = "requested" if requested == "torch" else \
            f"auto: TensorRT unusable ({platform.tensorrt_problem}) and onnxruntime not installed"
        return BackendChoice("torch", f"{how}; PyTorch on {'cuda' if platform.torch_cuda else 'cpu'}")
    raise BackendUnavailableError(
        "no backend can run here: tensorrt: " + platform.tensorrt_problem
        + f"; onnxruntime: not installed ({ORT_HINT}); torch: {torch_problem}")
