"""DA3 in the CLI: `download` names, repos and printed licences (hub monkeypatched, never downloads) and
`export --model` writing a DA3 fused graph that onnxruntime runs with image + focal inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depth_anything_ros.cli import inference
from depth_anything_ros.cli.main import main
from depth_anything_ros.model import download
from depth_anything_ros.model.da3.spec import tiny_da3_spec
from depth_anything_ros.runtime import BackendConfig, OnnxRuntimeBackend
from depth_anything_ros.runtime.factory import graph_for


@pytest.mark.parametrize(("name", "repo", "licence"), [
    ("da3-small", "depth-anything/DA3-SMALL", "Apache-2.0"),
    ("da3-base", "depth-anything/DA3-BASE", "Apache-2.0"),
    ("da3mono-large", "depth-anything/DA3MONO-LARGE", "Apache-2.0"),
    ("da3metric-large", "depth-anything/DA3METRIC-LARGE", "Apache-2.0"),
])
def test_da3_hub_location(name: str, repo: str, licence: str) -> None:
    assert download.da3_hub_location(name) == (repo, licence)


def test_da3_hub_location_unknown_name() -> None:
    with pytest.raises(ValueError, match="da3metric-large"):
        download.da3_hub_location("da3-huge")
    assert download.da3_hub_location("da3-giant") == ("depth-anything/DA3-GIANT", "CC-BY-NC-4.0")
    assert download.da3_hub_location("da3-small") == ("depth-anything/DA3-SMALL", "Apache-2.0")


def test_download_da3_prints_licence(monkeypatch, tmp_path, capsys, tiny_da3_checkpoints) -> None:
    """The CLI fetches config.json + model.safetensors from the right repo, verifies them, prints the licence."""
    pytest.importorskip("huggingface_hub")
    import huggingface_hub

    calls = []
    source = tiny_da3_checkpoints["mono"]

    def fake_download(repo_id: str, filename: str, local_dir: Path) -> str:
        calls.append((repo_id, filename))
        Path(local_dir).mkdir(parents=True, exist_ok=True)
        target = Path(local_dir) / filename
        target.write_bytes((source / filename).read_bytes())
        return str(target)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setattr("depth_anything_ros.model.download.da3_spec",
                        lambda name: tiny_da3_spec("mono") if name == "da3mono-large" else None)
    assert main(["download", "da3mono-large", "--output-dir", str(tmp_path)]) == 0
    assert calls == [("depth-anything/DA3MONO-LARGE", "config.json"),
                     ("depth-anything/DA3MONO-LARGE", "model.safetensors")]
    assert "weights licence: Apache-2.0" in capsys.readouterr().out


def test_download_da3_offline_error(monkeypatch, tmp_path) -> None:
    pytest.importorskip("huggingface_hub")
    import huggingface_hub

    def offline(**_: object) -> str:
        raise OSError("no network")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(ConnectionError, match="DA3-SMALL"):
        download.download_da3("da3-small", tmp_path)


def test_export_da3_runs_in_onnxruntime(tmp_path, capsys, tiny_da3_checkpoints) -> None:
    # the tiny metric network is the tiny mono one (as da3metric-large is da3mono-large): same weights, renamed
    checkpoint = tiny_da3_checkpoints["metric"]
    output = tmp_path / "da3.onnx"
    # a DA3 folder needs no --model or --version: its config.json names the network
    assert main(["export", "--checkpoint", str(checkpoint), "--image-size", "60x80", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "tiny-da3-metric, metric" in printed and output.exists()
    backend = OnnxRuntimeBackend(output)
    assert [i.name for i in backend.session.get_inputs()] == ["image", "head", "focal"]
    assert backend.info.model == "tiny-da3-metric" and backend.info.kind == "metric"
    image = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    k = np.array([[100.0, 0, 40], [0, 100.0, 30], [0, 0, 1]])
    near = backend.infer(image, k=k).depth
    far = backend.infer(image, k=k * [[2], [2], [1]]).depth
    finite = np.isfinite(near)
    assert near.shape == (60, 80) and finite.any()
    np.testing.assert_allclose(far[finite], 2 * near[finite], rtol=1e-5)
    with pytest.raises(ValueError, match="camera_info"):
        backend.infer(image)
    with pytest.raises(ValueError, match="runs tiny-da3-metric, but model is 'da3mono-large'"):
        graph_for(BackendConfig(onnx=str(output), model="da3mono-large"), (60, 80))
    assert graph_for(BackendConfig(onnx=str(output)), (60, 80)) == output


@pytest.mark.parametrize(("encoder", "licence"), [("vits", "Apache-2.0"), ("vitl", "CC-BY-NC-4.0")])
def test_download_v2_prints_licence(monkeypatch, tmp_path, capsys, encoder: str, licence: str) -> None:
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"x")
    monkeypatch.setattr(inference, "download_checkpoint", lambda *_: weights)
    assert main(["download", encoder, "--output-dir", str(tmp_path)]) == 0
    assert f"weights licence: {licence}" in capsys.readouterr().out
