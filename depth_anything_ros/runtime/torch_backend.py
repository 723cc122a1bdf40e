"""The fused model run eagerly in PyTorch: same graph as the ONNX export, CPU or CUDA."""

from __future__ import annotations

import numpy as np

from depth_anything_ros.model import DEFAULT_INPUT_SIZE, family_of_network
from depth_anything_ros.runtime.backend import DepthBackend, DepthOutput


class TorchBackend(DepthBackend):
    """Runs the fused model (pre-processing, network, metric head) in torch, built by the network's family
    (``input_size`` is V1/V2's; DA3 resizes to its official process_res); ``max_batch`` > 0 runs batches."""

    name = "torch"

    def __init__(self, model, image_hw: tuple[int, int], input_order: str = "bgr",
                 input_size: int = DEFAULT_INPUT_SIZE, device: str | None = None, half: bool = False,
                 checkpoint_sha256: str = "untrained", max_batch: int = 0) -> None:
        try:
            import torch
        except ImportError as error:
            raise ImportError("the torch backend needs PyTorch: pip install torch==2.13.0") from error
        from depth_anything_ros.export.onnx_export import graph_info

        self._torch = torch
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        fused = family_of_network(model).fused(model.eval(), image_hw, input_order, input_size).eval()
        if max_batch:
            fused.batched(max_batch)
        super().__init__(graph_info(fused, checkpoint_sha256))
        self.fused = fused.to(self.device)
        if half:
            self.fused.half_network()

    def _run(self, image: np.ndarray, head: np.ndarray, focal: np.ndarray | None) -> DepthOutput:
        torch = self._torch
        with torch.inference_mode():
            image_t = torch.from_numpy(image).to(self.device, non_blocking=True)
            inputs = [torch.from_numpy(v).to(self.device) for v in (head, focal) if v is not None]
            raw, depth = self.fused(image_t, *inputs)
            return DepthOutput(raw=raw.cpu().numpy(), depth=depth.cpu().numpy())

    def close(self) -> None:
        self.__dict__.pop("fused", None)
