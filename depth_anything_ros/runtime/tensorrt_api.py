"""Every TensorRT Python name this package uses, declared once so a test can hold it against the real
bindings of each supported version (10.3, 10.13, 11.x). Code that reaches a new TensorRT name adds it here.

``OPTIONAL`` names are looked up with ``getattr(..., None)`` and may be missing in some versions.
``WEAKLY_TYPED`` names are the ones TensorRT 11 removed; the package must not use them.
"""

from __future__ import annotations

TENSORRT_API: dict[str, tuple[str, ...]] = {
    "": ("__version__", "Logger", "Builder", "Runtime", "OnnxParser", "IProgressMonitor", "MemoryPoolType",
         "BuilderFlag", "NetworkDefinitionCreationFlag", "TensorIOMode", "nptype", "ParserError",
         "IBuilderConfig", "ITimingCache", "ICudaEngine", "IExecutionContext", "INetworkDefinition",
         "IOptimizationProfile", "ITensor"),
    "Logger": ("WARNING",),
    "Builder": ("create_network", "create_builder_config", "build_serialized_network", "create_optimization_profile"),
    "INetworkDefinition": ("num_inputs", "get_input"),
    "ITensor": ("name", "shape"),
    "IOptimizationProfile": ("set_shape",),
    "OnnxParser": ("parse_from_file", "num_errors", "get_error"),
    "ParserError": ("node", "node_name", "node_operator", "code", "desc"),
    "IBuilderConfig": ("set_memory_pool_limit", "clear_flag", "set_timing_cache", "create_timing_cache",
                       "get_timing_cache", "progress_monitor", "add_optimization_profile"),
    "ITimingCache": ("serialize",),
    "MemoryPoolType": ("WORKSPACE",),
    "TensorIOMode": ("INPUT",),
    "IProgressMonitor": ("__init__", "phase_start", "step_complete", "phase_finish"),
    "Runtime": ("deserialize_cuda_engine",),
    "ICudaEngine": ("num_io_tensors", "get_tensor_name", "get_tensor_mode", "get_tensor_shape",
                    "get_tensor_dtype", "create_execution_context"),
    "IExecutionContext": ("set_input_shape", "set_tensor_address", "execute_async_v3"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "NetworkDefinitionCreationFlag": ("STRONGLY_TYPED",),  # 10.x: set it; 11.x: every network is
    "BuilderFlag": ("TF32",),  # cleared for fp32 where it exists
}
WEAKLY_TYPED = ("platform_has_fast_fp16", "OBEY_PRECISION_CONSTRAINTS", "PREFER_PRECISION_CONSTRAINTS",
                "set_output_type", "BuilderFlag.FP16", "layer.precision")
