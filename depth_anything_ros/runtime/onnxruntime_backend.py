"""Fused-graph inference with onnxruntime (CPU, or CUDA where its provider exists)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from depth_anything_ros.export.graph_info import (
    DEPTH_OUTPUT,
    FOCAL_INPUT,
    HEAD_INPUT,
    IMAGE_INPUT,
    RAW_OUTPUT,
    info_from_metadata,
)
from depth_anything_ros.runtime.backend import DepthBackend, DepthOutput

INSTALL_HINT = "install it with: pip install 'depth_anything_ros[cpu]' (or onnxruntime-gpu)"


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(f"the onnxruntime backend needs onnxruntime; {INSTALL_HINT}") from error
    return onnxruntime


class OnnxRuntimeBackend(DepthBackend):
    """One onnxruntime session over a fused graph."""

    name = "onnxruntime"

    def __init__(self, path: str | Path, providers: Sequence[str] = ("CPUExecutionProvider",),
                 threads: int | None = None) -> None:
        ort = _import_onnxruntime()
        if not Path(path).is_file():
            raise FileNotFoundError(f"ONNX graph {path} does not exist")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=list(providers))
        except Exception as error:  # onnxruntime raises its own exception types
            raise ValueError(f"onnxruntime cannot load {path}: {error}") from error
        super().__init__(info_from_metadata(path, self.session.get_modelmeta().custom_metadata_map))
        inputs = {i.name for i in self.session.get_inputs()}
        outputs = {o.name for o in self.session.get_outputs()}
        expected = set(self.info.input_names)
        if inputs != expected or not {RAW_OUTPUT, DEPTH_OUTPUT} <= outputs:
            raise ValueError(f"{path} has inputs {sorted(inputs)} and outputs {sorted(outputs)}; expected "
                             f"inputs {sorted(expected)} and outputs {[RAW_OUTPUT, DEPTH_OUTPUT]}")
        self.providers = self.session.get_providers()

    def _run(self, image: np.ndarray, head: np.ndarray, focal: np.ndarray | None) -> DepthOutput:
        feeds = {IMAGE_INPUT: image, HEAD_INPUT: head}
        if focal is not None:
            feeds[FOCAL_INPUT] = focal
        raw, depth = self.session.run([RAW_OUTPUT, DEPTH_OUTPUT], feeds)
        return DepthOutput(raw=raw, depth=depth)

    def close(self) -> None:
        self.__dict__.pop("session", None)
