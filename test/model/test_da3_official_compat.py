"""Checkpoints cross between the official Depth Anything 3 code and ours, both ways (needs DA3_OFFICIAL_SRC).

- An official DA3-SMALL (full size) saved by the official ``save_pretrained`` loads here, gives the official depth,
  and exports.
- What ``save_da3`` writes (the writer of ``finetune`` and ``selftrain``) loads in the official
  ``DepthAnything3.from_pretrained(..., strict=True)``; the checkpoints ``calibrate --method finetune`` and
  ``selftrain`` write load strictly into the official network of their architecture.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, load_model
from test_da3_hub_layout import Hub

from depth_anything_ros.cli.main import main
from depth_anything_ros.model.da3.checkpoint import load_da3, save_da3
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import da3_spec
from depth_anything_ros.model.da3.tiny import LOGIT_AFFINE, seeded_state
from depth_anything_ros.runtime import BackendConfig, open_backend
from depth_anything_ros.synthetic import RIG_TOPICS, SyntheticRig, write_rig_bag

from conftest import tiny_da3_checkpoint
from official_da3 import official_source

NET_HW = (154, 504)  # KITTI's network input


@pytest.fixture(scope="module")
def official():
    return official_source()


def _seeded(net: torch.nn.Module, seed: int) -> None:
    """Seeded weights by the rule of model/da3_tiny.py (depth spread over about exp(+-2)), shared tensors alike."""
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    net.load_state_dict(seeded_state(shapes, seed, LOGIT_AFFINE["any-view"]), strict=True)


def _official_depth(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad(), torch.autocast("cpu", enabled=False):
        feats, _ = net.backbone(x[None, None])  # (B, S views, 3, H, W)
        return net.head(feats, *x.shape[-2:], patch_start_idx=0)["depth"][0, 0]


def _equal_states(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key].float(), b[key].float()), key


def test_an_official_da3_small_file_loads_gives_the_official_depth_and_exports(official, tmp_path):
    from depth_anything_3.api import DepthAnything3

    wrapper = DepthAnything3(model_name="da3-small")
    _seeded(wrapper.model, seed=21)
    folder = tmp_path / "DA3-SMALL"
    wrapper.save_pretrained(folder)  # the hub mixin's writer: what huggingface.co/depth-anything/DA3-SMALL holds
    assert json.loads((folder / "config.json").read_text())["model_name"] == "da3-small"
    assert len(load_file(str(folder / "model.safetensors"))) == 437

    ours = load_da3(folder).eval()
    _equal_states(ours.state_dict(), wrapper.model.state_dict())
    x = torch.randn(3, *NET_HW, generator=torch.Generator().manual_seed(0))
    expected = _official_depth(wrapper.model.eval(), x)
    with torch.no_grad():
        got = ours(x[None])["depth"][0]
    span = float(expected.max() - expected.min())
    assert span > 0.5
    assert float((got - expected).abs().max()) / span < 1e-4

    onnx = tmp_path / "small.onnx"
    assert main(["export", "--checkpoint", str(folder), "--image-size", "375x1242", "--output", str(onnx)]) == 0
    image = np.random.default_rng(1).integers(0, 256, (375, 1242, 3), dtype=np.uint8)
    with open_backend(BackendConfig(onnx=str(onnx), backend="onnxruntime"), (375, 1242)) as backend:
        assert backend.info.model == "da3-small"
        assert np.isfinite(backend.infer_bgr(image).raw).all()


def test_what_we_write_loads_in_the_official_from_pretrained_strictly(official, tmp_path):
    from depth_anything_3.api import DepthAnything3

    torch.manual_seed(3)
    model = Da3Model(da3_spec("da3-small"))
    save_da3(model, tmp_path / "ours", {"depth_anything_ros": {"metric": True, "finetuned_from": "0" * 64}})
    loaded = DepthAnything3.from_pretrained(str(tmp_path / "ours"), strict=True)  # raises on a missing key
    assert loaded.model_name == "da3-small"
    _equal_states(loaded.model.state_dict(), model.state_dict())


@pytest.fixture(scope="module")
def rig_bag(tmp_path_factory):
    return write_rig_bag(tmp_path_factory.mktemp("bags") / "drive", SyntheticRig(), frames=12, rate_hz=3.0,
                         speed_mps=1.0, lidar_every=3)


def test_finetune_and_selftrain_checkpoints_load_strictly_in_the_official_network(official, tmp_path, rig_bag):
    start = tiny_da3_checkpoint(tmp_path / "start", "any-view", seed=2)
    topics = ["--image-topic", RIG_TOPICS["image"], "--camera-info-topic", RIG_TOPICS["camera_info"],
              "--lidar-topic", RIG_TOPICS["lidar"]]
    assert main(["calibrate", str(rig_bag), *topics, "--checkpoint", str(start), "--method", "finetune",
                 "--epochs", "1", "--block", "1.5", "--holdout-every", "2", "--device", "cpu",
                 "--output", str(tmp_path / "cal" / "front.yaml")]) == 0
    assert main(["selftrain", str(rig_bag), "--image-topic", RIG_TOPICS["image"], "--input-size", "56",
                 "--epochs", "1", "--backend", "onnxruntime", "--device", "cpu", "--min-change", "0.5",
                 "--block", "1.5", "--holdout-every", "2", "--teacher", str(start), "--student-checkpoint",
                 str(start), "--output", str(tmp_path / "self")]) == 0
    for folder in (tmp_path / "cal" / "front", tmp_path / "self" / "student"):
        net = official.build_official("any-view")
        load_model(Hub(net), str(folder / "model.safetensors"), strict=True)  # what from_pretrained runs
        _equal_states(net.state_dict(), load_da3(folder).state_dict())
