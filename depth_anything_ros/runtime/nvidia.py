"""Importing TensorRT and pycuda with messages that say how to install them, and the GPU's identity."""

from __future__ import annotations

from dataclasses import dataclass

TENSORRT_HINT = ("install the TensorRT Python bindings (10.3 or later): on a Jetson they come with JetPack 6.1 "
                 "or later (sudo apt install python3-libnvinfer); on a desktop GPU: "
                 "pip install 'depth_anything_ros[trt]' (tensorrt-cu12, libraries from NVIDIA's package index)")
PYCUDA_HINT = "install pycuda (TensorRT's device memory): pip install pycuda (needs the CUDA toolkit)"
MIN_TENSORRT = (10, 3)  # JetPack 6.1/6.2 ship 10.3; strongly typed networks build from it on
MAX_TENSORRT_MAJOR = 11  # 11.x: weak typing removed, which this package no longer uses
CUDA_UNREACHABLE = "TensorRT cannot reach the GPU: driver/CUDA mismatch?"


class BackendUnavailableError(ImportError):
    """A backend's library or device is missing; the message names it and how to install it."""


def check_tensorrt_version(version: str) -> None:
    """BackendUnavailableError unless ``version`` is 10.3 or later and below 12, naming the fix."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        raise BackendUnavailableError(f"TensorRT reports an unreadable version {version!r}") from None
    if (major, minor) < MIN_TENSORRT:
        raise BackendUnavailableError(
            f"TensorRT {version} found, but this package needs TensorRT 10.3 or later (strongly typed FP16): "
            "on a Jetson, flash JetPack 6.1 or later (TensorRT 10.3; JetPack 7.x brings 10.13+); on a desktop, "
            "pip install 'tensorrt-cu12>=10.3,<12'")
    if major > MAX_TENSORRT_MAJOR:
        raise BackendUnavailableError(f"TensorRT {version} found; this package is tested with TensorRT 10.3 to 11.x "
                                      "(pip install 'tensorrt-cu12>=10.3,<12')")


def reach_gpu(factory, logger):
    """``factory(logger)`` (trt.Builder, trt.Runtime), mapping the bindings' CUDA-init failure to a clear error.

    When the driver is older than the CUDA runtime TensorRT was built with, the bindings raise
    ``TypeError: pybind11::init(): factory function returned nullptr``.
    """
    try:
        made = factory(logger)
    except TypeError as error:
        if "returned nullptr" not in str(error):
            raise
        raise BackendUnavailableError(f"{CUDA_UNREACHABLE} ({error}); check that the NVIDIA driver supports the "
                                      "CUDA version of this TensorRT (nvidia-smi, JetPack release)") from error
    if made is None:
        raise BackendUnavailableError(f"{CUDA_UNREACHABLE} ({getattr(factory, '__name__', factory)} returned None)")
    return made


def probe_tensorrt_gpu(trt) -> None:
    """BackendUnavailableError when TensorRT cannot create a builder on this machine's GPU."""
    reach_gpu(trt.Builder, trt.Logger(trt.Logger.WARNING))


def import_tensorrt():
    """The ``tensorrt`` module, 10.3 to 11.x, or BackendUnavailableError naming what to install."""
    try:
        import tensorrt
    except ImportError as error:
        raise BackendUnavailableError(f"TensorRT is not installed ({error}); {TENSORRT_HINT}") from error
    check_tensorrt_version(str(tensorrt.__version__))
    return tensorrt


def import_cuda_driver():
    """``pycuda.driver``, initialised, or BackendUnavailableError naming what to install."""
    try:
        import pycuda.driver as cuda
    except ImportError as error:
        raise BackendUnavailableError(f"pycuda is not installed ({error}); {PYCUDA_HINT}") from error
    try:
        cuda.init()
    except Exception as error:  # pycuda raises its own LogicError/RuntimeError when no driver
        raise BackendUnavailableError(f"the CUDA driver cannot start ({error}); is an NVIDIA GPU and driver present?") \
            from error
    return cuda


@dataclass(frozen=True)
class GpuInfo:
    """What an engine is specific to: the GPU model and its compute capability."""

    index: int
    name: str
    compute_capability: str

    def __str__(self) -> str:
        return f"GPU {self.index} '{self.name}' (compute capability {self.compute_capability})"


def probe_gpu(index: int = 0) -> GpuInfo:
    """The CUDA device ``index`` through pycuda, or BackendUnavailableError saying why there is none."""
    cuda = import_cuda_driver()
    count = cuda.Device.count()
    if index >= count:
        raise BackendUnavailableError(f"no CUDA device {index}: the driver reports {count} device(s)")
    device = cuda.Device(index)
    major, minor = device.compute_capability()
    return GpuInfo(index=index, name=device.name(), compute_capability=f"{major}.{minor}")
