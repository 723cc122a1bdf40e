"""Backends that run a fused graph: TensorRT, onnxruntime or torch, chosen and cached per resolution.

- ``config``: BackendConfig: the small record runtime takes (never the node's whole config).
- ``backend``: the DepthBackend interface and its output.
- ``backend_cache``: BackendCache: one backend per camera resolution (the node keeps one, offline tools all).
- ``selection``: what the platform offers and which backend `auto` picks.
- ``factory``: from a BackendConfig and a resolution to a running backend (export, engine build, self-check).
- ``onnxruntime_backend``: the CPU (or CUDA EP) backend.
- ``torch_backend``: the PyTorch backend.
- ``tensorrt_backend``: the TensorRT backend.
- ``engine_build``: TensorRT engine build from a fused graph.
- ``engine_cache``: engines cached under GPU, TensorRT version, graph hash and variant.
- ``nvidia``: TensorRT and CUDA imports, version gate, GPU probe.
- ``self_check``: the startup comparison of a new engine with onnxruntime.
"""

__all__ = ["backend", "backend_cache", "config", "engine_build", "engine_cache", "factory", "nvidia",
           "onnxruntime_backend", "selection", "self_check", "tensorrt_backend", "torch_backend"]
