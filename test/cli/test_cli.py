"""The command line end to end: export, infer (torch and onnxruntime), params files, errors."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from depth_anything_ros.cli.main import main
from depth_anything_ros.export import read_graph_info
from depth_anything_ros.model import model_spec
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.model.v2.checkpoint import save_checkpoint
from depth_anything_ros.preview import colour_bar


@pytest.fixture(scope="module")
def vits_metric_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "vits_metric.pth"
    save_checkpoint(untrained_model(model_spec("vits", 2, True, 20.0), seed=7), path)
    return path


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(3)
    paths = []
    for name, hw in (("a", (48, 64)), ("b", (48, 64))):
        path = tmp_path / f"{name}.png"
        cv2.imwrite(str(path), rng.integers(0, 256, (*hw, 3), dtype=np.uint8))
        paths.append(path)
    return paths


def test_export_then_infer_with_onnx_and_with_checkpoint(tmp_path, images, vits_metric_checkpoint, capsys):
    onnx_path = tmp_path / "model.onnx"
    model_args = ["--checkpoint", str(vits_metric_checkpoint), "--encoder", "vits", "--version", "2",
                  "--metric", "--max-depth", "20"]
    assert main(["export", *model_args, "--image-size", "48x64", "--output", str(onnx_path)]) == 0
    assert "48x64 bgr uint8 + head -> network 518x686" in capsys.readouterr().out
    half_path = tmp_path / "model_fp16.onnx"
    assert main(["export", *model_args, "--image-size", "48x64", "--precision", "fp16",
                 "--output", str(half_path)]) == 0
    assert "(v2-vits, metric, fp16)" in capsys.readouterr().out
    assert read_graph_info(half_path).precision == "fp16" and read_graph_info(onnx_path).precision == "fp32"
    assert main(["infer", *map(str, images), "--onnx", str(onnx_path), "--output", str(tmp_path / "o")]) == 0
    assert main(["infer", *map(str, images), *model_args, "--output", str(tmp_path / "t")]) == 0
    for name in ("a", "b"):
        fused = np.load(tmp_path / "o" / f"{name}_depth.npy")
        eager = np.load(tmp_path / "t" / f"{name}_depth.npy")
        assert fused.shape == (48, 64) and fused.dtype == np.float32
        assert np.isfinite(fused).all() and fused.min() > 0 and fused.max() < 20
        np.testing.assert_allclose(fused, eager, rtol=1e-4)
        preview = cv2.imread(str(tmp_path / "o" / f"{name}_preview.png"))
        assert preview.shape == (48, 64 + colour_bar(48, 1.0, 2.0).shape[1], 3)  # depth | colour bar


def test_export_max_batch_writes_a_graph_that_takes_a_batch_of_n(tmp_path, vits_metric_checkpoint, capsys):
    import onnx
    import onnxruntime

    path = tmp_path / "b3.onnx"
    args = ["export", "--checkpoint", str(vits_metric_checkpoint), "--encoder", "vits", "--version", "2", "--metric",
            "--max-depth", "20", "--image-size", "48x64", "--input-size", "56", "--output", str(path)]
    assert main([*args, "--max-batch", "3"]) == 0
    assert "+ head, batch 1..3 ->" in capsys.readouterr().out
    info = read_graph_info(path)
    assert info.max_batch == 3 and info.batched and (info.image_height, info.image_width) == (48, 64)
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in onnx.load(str(path)).graph.input}
    assert dims == {"image": ["batch", 48, 64, 3], "head": ["batch", 4]}
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    images = np.random.default_rng(5).integers(0, 256, (3, 48, 64, 3), dtype=np.uint8)
    heads = np.stack([info.default_head().as_array()] * 3).astype(np.float32)
    heads[1, 0] *= 2.0  # each image its own head
    raw, depth = session.run(["raw", "depth"], {"image": images, "head": heads})
    assert raw.shape == depth.shape == (3, 48, 64)
    for b in range(3):
        alone = session.run(["depth"], {"image": images[b:b + 1], "head": heads[b:b + 1]})[0][0]
        np.testing.assert_allclose(depth[b], alone, rtol=1e-5)
    assert not np.allclose(depth[0], depth[1])  # the rows are not one image's output repeated
    assert main([*args, "--max-batch", "-1"]) != 0
    assert "max_batch" in capsys.readouterr().err


def test_infer_applies_range_limits(tmp_path, images, vits_metric_checkpoint):
    args = ["--checkpoint", str(vits_metric_checkpoint), "--version", "2", "--metric", "--max-depth", "20"]
    assert main(["infer", str(images[0]), *args, "--output", str(tmp_path / "full")]) == 0
    full = np.load(tmp_path / "full" / "a_depth.npy")
    cut = float(np.median(full))
    assert main(["infer", str(images[0]), *args, "--max-range", str(cut), "--output", str(tmp_path / "cut")]) == 0
    limited = np.load(tmp_path / "cut" / "a_depth.npy")
    np.testing.assert_array_equal(np.isposinf(limited), full > cut)


def test_params_file_supplies_defaults(tmp_path, images, vits_metric_checkpoint):
    params = tmp_path / "p.yaml"
    params.write_text(f"depth_anything_ros:\n  ros__parameters:\n    checkpoint: {vits_metric_checkpoint}\n"
                      "    version: 2\n    metric: true\n    max_depth: 20.0\n")
    assert main(["infer", str(images[0]), "--params", str(params), "--output", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "a_depth.npy").exists()
    params.write_text("depth_anything_ros:\n  ros__parameters:\n    encodr: vits\n")
    assert main(["infer", str(images[0]), "--params", str(params), "--output", str(tmp_path / "q")]) == 2


def test_errors_exit_non_zero_with_a_message(tmp_path, images, capsys):
    bad = tmp_path / "bad.pth"
    torch.save({"foo": torch.zeros(1)}, bad)
    assert main(["export", "--checkpoint", str(bad), "--version", "2", "--image-size", "48x64",
                 "--output", str(tmp_path / "x.onnx")]) == 1
    assert "not a Depth Anything checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()
    assert main(["export", "--checkpoint", str(bad), "--image-size", "48x64", "--output", "x.onnx"]) == 1
    assert "--version {1,2} is required" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--checkpoint", str(bad), "--version", "2", "--image-size", "1x1", "--output", "x.onnx"])
    assert exit_info.value.code == 2
    assert "too small" in capsys.readouterr().err
    assert main(["infer", str(images[0]), "--output", str(tmp_path)]) == 2


def test_unreadable_image_is_reported_and_others_still_processed(tmp_path, images, vits_metric_checkpoint):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    args = ["--checkpoint", str(vits_metric_checkpoint), "--version", "2", "--metric", "--max-depth", "20"]
    assert main(["infer", str(broken), str(images[0]), *args, "--output", str(tmp_path / "o")]) == 1
    assert (tmp_path / "o" / "a_depth.npy").exists()


def test_console_script_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "depth_anything_ros.cli.main", "--help"],
                            capture_output=True, text=True, check=True)
    for command in ("export", "infer", "download", "demo"):
        assert command in result.stdout


def test_demo_runs_the_main_job_on_the_embedded_scene(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "UNTRAINED" in out and "max relative difference of raw outputs" in out
    depth = np.load(tmp_path / "depth.npy")
    assert depth.shape == (480, 640) and np.isfinite(depth).all() and depth.std() > 0
    # input | prediction | true depth, both depths with their colour bars
    assert cv2.imread(str(tmp_path / "preview.png")).shape == (480, 3 * 640 + 2 * colour_bar(480, 1.0, 2.0).shape[1], 3)
