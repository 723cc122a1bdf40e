"""The engine self-check on DA3 graphs: the check frame carries its camera K, and sky flips are counted."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.da3.checkpoint import load_da3
from depth_anything_ros.runtime import DepthBackend, DepthOutput, OnnxRuntimeBackend, TorchBackend
from depth_anything_ros.runtime.self_check import MAX_CLASS_FLIPS, compare_backends

from conftest import tiny_da3_checkpoint

HW = (48, 64)


class Perturbed(DepthBackend):
    """The reference's output with some pixels turned +Inf (a sky threshold crossed) and a small offset."""

    name = "perturbed"

    def __init__(self, reference: DepthBackend, flip: float, offset: float) -> None:
        super().__init__(reference.info)
        self.reference, self.flip, self.offset = reference, flip, offset

    def _run(self, image, head, focal) -> DepthOutput:
        raw = self.reference._run(image, head, focal).raw.copy() + self.offset
        flat = raw.reshape(-1)
        flat[: int(self.flip * flat.size)] = np.inf
        return DepthOutput(raw, raw)

    def close(self) -> None:
        pass


def test_da3_metric_self_check_feeds_the_check_frames_focal(tmp_path):
    folder = tiny_da3_checkpoint(tmp_path / "tiny", "metric", seed=5)
    export_graph(load_da3(folder), HW, tmp_path / "g.onnx")
    with OnnxRuntimeBackend(tmp_path / "g.onnx") as graph:
        torch_backend = TorchBackend(load_da3(folder), HW, device="cpu")
        result = compare_backends(torch_backend, graph)  # a metric DA3 graph refuses a frame without K
        assert result.passed and result.relative_error < 1e-4 and result.flipped == 0.0
        span = float(np.ptp(graph.infer(np.zeros((*HW, 3), np.uint8), k=np.diag([60.0, 60.0, 1.0])).raw))
        assert span > 0
        few = compare_backends(Perturbed(graph, flip=MAX_CLASS_FLIPS / 2, offset=0.0), graph)
        assert few.passed and 0 < few.flipped <= MAX_CLASS_FLIPS
        many = compare_backends(Perturbed(graph, flip=0.01, offset=0.0), graph)
        assert not many.passed and many.relative_error == 0.0 and "ABOVE" in str(many)


def test_self_check_result_needs_both_bounds():
    from depth_anything_ros.runtime.self_check import SelfCheckResult

    base = SelfCheckResult(1e-3, 0.02, "tensorrt", "onnxruntime")
    assert base.passed
    assert not replace(base, relative_error=0.03).passed
    assert not replace(base, flipped=2 * MAX_CLASS_FLIPS).passed
