"""One export per camera resolution: the name says what the graph is, the model is built only to export."""

from __future__ import annotations

from depth_anything_ros.export import read_graph_info
from depth_anything_ros.export.onnx_export import export_for_resolution


def test_each_resolution_is_exported_once_and_named_by_its_variant(tmp_path, tiny_relative):
    built = []

    def make():
        built.append(1)
        return tiny_relative, "sha-of-weights"

    first = export_for_resolution(make, (28, 42), tmp_path, "tiny", input_size=56)
    again = export_for_resolution(make, (28, 42), tmp_path, "tiny", input_size=56)
    other = export_for_resolution(make, (30, 40), tmp_path, "tiny", input_size=56)
    half = export_for_resolution(make, (28, 42), tmp_path, "tiny", input_size=56, precision="fp16")
    assert first == again and len(built) == 3  # reused, not rebuilt
    assert (first.name, other.name, half.name) == ("tiny-28x42-bgr-56.onnx", "tiny-30x40-bgr-56.onnx",
                                                   "tiny-28x42-bgr-56-fp16.onnx")
    info = read_graph_info(half)
    assert info.image_hw == (28, 42) and info.precision == "fp16" and info.checkpoint_sha256 == "sha-of-weights"
