"""Importing TensorRT and pycuda with messages that say how to install them, and the GPU's identity."""

from __future__ import annotations

from dataclasses import dataclass

TENSORRT_HINT = ("install the TensorRT 10 Python bindings: on a Jetson they come with JetPack 6 "
                 "(sudo apt install python3-libnvinfer); on a desktop GPU: pip install 'depth_anything_ros[trt]'")
PYCUDA_HINT = "install pycuda (TensorRT's device memory): pip install pycuda (needs the CUDA toolkit)"
SUPPORTED_TENSORRT_MAJOR = 10


class BackendUnavailableError(ImportError):
    """A backend's library or device is missing; the message names it and how to install it."""


def import_tensorrt():
    """The ``tensorrt`` module, version 10.x, or BackendUnavailableError naming what to install."""
    try:
        import tensorrt
    except ImportError as error:
        raise BackendUnavailableError(f"TensorRT is not installed ({error}); {TENSORRT_HINT}") from error
    major = int(str(tensorrt.__version__).split(".")[0])
    if major != SUPPORTED_TENSORRT_MAJOR:
        raise BackendUnavailableError(f"TensorRT {tensorrt.__version__} found, but this package is written for the "
                                 f"TensorRT {SUPPORTED_TENSORRT_MAJOR} API (tensorrt>=10,<11); {TENSORRT_HINT}")
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
