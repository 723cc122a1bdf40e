"""Backends that run a fused graph: TensorRT, onnxruntime or torch, chosen and cached per resolution.

What other parts use: ``open_backend`` (a ``BackendConfig`` and a resolution -> a running ``DepthBackend``:
export, engine build and cache, self-check), ``BackendCache`` (one backend per resolution), the backends
themselves (``OnnxRuntimeBackend``, ``TorchBackend``) and their ``DepthOutput``; for ``build-engine``,
``build_engine``, ``engine_key``, ``save_engine``, ``import_tensorrt`` and ``probe_gpu``.
Runtime takes the small ``BackendConfig`` (``BACKENDS``, ``PRECISIONS``), never the node's whole config. Nothing
here imports torch, TensorRT or onnxruntime until a backend of that kind is opened.
"""

from depth_anything_ros.runtime.backend import DepthBackend, DepthOutput
from depth_anything_ros.runtime.backend_cache import BackendCache
from depth_anything_ros.runtime.config import BACKENDS, PRECISIONS, BackendConfig
from depth_anything_ros.runtime.engine_build import build_engine
from depth_anything_ros.runtime.engine_cache import engine_key, save_engine
from depth_anything_ros.runtime.factory import open_backend
from depth_anything_ros.runtime.nvidia import import_tensorrt, probe_gpu
from depth_anything_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from depth_anything_ros.runtime.torch_backend import TorchBackend

__all__ = ["BACKENDS", "PRECISIONS", "BackendCache", "BackendConfig", "DepthBackend", "DepthOutput",
           "OnnxRuntimeBackend", "TorchBackend", "build_engine", "engine_key", "import_tensorrt", "open_backend",
           "probe_gpu", "save_engine"]
