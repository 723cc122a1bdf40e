"""DA3 checkpoints in every layout a user meets: the hub's deduplicated file, a full state-dict dump, torch.save.

The official DualDPT (any-view models) shares ONE LayerNorm between its four aux levels; the hub writer
(``safetensors.torch.save_model``) stores it once. These tests write each layout from one model and check that
they load to the same weights and export graphs that give the same depth.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file, save_model
from torch import nn

from depth_anything_ros.cli.main import main
from depth_anything_ros.model.da3.checkpoint import load_da3, save_da3
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import is_da3_checkpoint, tiny_da3_spec
from depth_anything_ros.model.da3.tiny import tiny_da3_model
from depth_anything_ros.model.v2.checkpoint import CheckpointError
from depth_anything_ros.runtime import BackendConfig, open_backend

AUX_NORM = "model.head.scratch.output_conv2_aux.{}.2.{}"
IMAGE_HW = (60, 80)


class Hub(nn.Module):
    """The official DepthAnything3 wrapper's layout (the network under ``model``), as the hub mixin saves it."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.model = net


def _config(folder: Path, name: str = "tiny-da3-any-view") -> None:
    (folder / "config.json").write_text(json.dumps({"model_name": name}))


def _model() -> Da3Model:
    model = tiny_da3_model("any-view")
    with torch.no_grad():  # distinct values per level-0 channel, so a copy in the wrong place would show
        norm = model.head.scratch.output_conv2_aux[0][2]
        norm.weight.copy_(torch.linspace(0.5, 1.5, norm.weight.numel()))
    return model


def _hub_folder(tmp_path: Path, model: Da3Model) -> Path:
    """model.safetensors written by safetensors.torch.save_model of the wrapper: exactly the hub's writer."""
    folder = tmp_path / "hub"
    folder.mkdir()
    save_model(Hub(model), str(folder / "model.safetensors"))
    _config(folder)
    return folder


def _full_dump(tmp_path: Path, model: Da3Model, edit=None) -> Path:
    """Every state_dict() key, the four aux LayerNorm copies included (independent tensors)."""
    folder = tmp_path / "full"
    folder.mkdir()
    state = {k: v.detach().clone() for k, v in Hub(model).state_dict().items()}
    if edit:
        edit(state)
    save_file(state, str(folder / "model.safetensors"))
    _config(folder)
    return folder


def test_the_aux_layer_norm_is_one_module_as_in_the_official_network():
    model = Da3Model(tiny_da3_spec("any-view"))
    levels = model.head.scratch.output_conv2_aux
    assert all(levels[i][2] is levels[0][2] for i in range(4))
    names = [n for n, _ in model.named_parameters() if n.startswith("head.scratch.output_conv2_aux.")]
    assert [n for n in names if n.endswith(".2.weight")] == ["head.scratch.output_conv2_aux.0.2.weight"]
    # training moves the four levels together: one step on the shared norm changes every copy alike
    optimizer = torch.optim.SGD(levels[0][2].parameters(), lr=0.1)
    levels[3][2](torch.randn(2, 32)).sum().backward()
    optimizer.step()
    state = model.state_dict()
    for level in range(1, 4):
        assert torch.equal(state[f"head.scratch.output_conv2_aux.{level}.2.bias"],
                           state["head.scratch.output_conv2_aux.0.2.bias"])
    assert not torch.equal(state["head.scratch.output_conv2_aux.0.2.bias"], torch.zeros(32))


def test_hub_file_holds_the_shared_norm_once_and_loads(tmp_path):
    model = _model()
    folder = _hub_folder(tmp_path, model)
    stored = load_file(str(folder / "model.safetensors"))
    assert len(stored) == len(model.state_dict()) - 6
    assert AUX_NORM.format(0, "weight") in stored and AUX_NORM.format(1, "weight") not in stored
    loaded = load_da3(folder)
    for (name, a), b in zip(loaded.state_dict().items(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    levels = loaded.head.scratch.output_conv2_aux
    assert levels[2][2] is levels[0][2]


def test_our_writer_is_the_hub_writer(tmp_path):
    model = _model()
    ours = save_da3(model, tmp_path / "ours")
    hub = _hub_folder(tmp_path, model) / "model.safetensors"
    a, b = load_file(str(ours)), load_file(str(hub))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_hub_file_and_full_dump_export_graphs_with_equal_depth(tmp_path):
    model = _model()
    folders = {"hub": _hub_folder(tmp_path, model), "full": _full_dump(tmp_path, model)}
    image = np.random.default_rng(3).integers(0, 256, (*IMAGE_HW, 3), dtype=np.uint8)
    depth = {}
    for layout, folder in folders.items():
        onnx = tmp_path / f"{layout}.onnx"
        assert main(["export", "--checkpoint", str(folder), "--image-size", f"{IMAGE_HW[0]}x{IMAGE_HW[1]}",
                     "--output", str(onnx)]) == 0
        with open_backend(BackendConfig(onnx=str(onnx), backend="onnxruntime"), IMAGE_HW) as backend:
            depth[layout] = backend.infer_bgr(image).raw
    assert np.isfinite(depth["hub"]).all() and depth["hub"].std() > 0
    np.testing.assert_array_equal(depth["hub"], depth["full"])


def test_copies_that_differ_are_refused(tmp_path):
    def edit(state):
        state[AUX_NORM.format(2, "bias")] = state[AUX_NORM.format(2, "bias")] + 0.01

    folder = _full_dump(tmp_path, _model(), edit)
    with pytest.raises(CheckpointError, match=r"output_conv2_aux\.0\.2\.bias, model\.head\.scratch\."
                                              r"output_conv2_aux\.2\.2\.bias are copies of ONE shared tensor .* "
                                              r"their values differ"):
        load_da3(folder)


@pytest.mark.parametrize("layout", ["pytorch_model.bin", "net.pt"])
def test_torch_saved_state_dicts_load(tmp_path, layout):
    """The hub mixin's older pytorch_model.bin (wrapper keys), or a .pt dump of the bare network beside config.json."""
    model = _model()
    folder = tmp_path / "torch"
    folder.mkdir()
    _config(folder)
    state = Hub(model).state_dict() if layout == "pytorch_model.bin" else model.state_dict()
    torch.save(state, folder / layout)
    path = folder if layout == "pytorch_model.bin" else folder / layout
    assert is_da3_checkpoint(path)
    loaded = load_da3(path)
    for (name, a), b in zip(loaded.state_dict().items(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    (folder / layout).write_bytes(b"\x80\x02 not a pickle of tensors")
    with pytest.raises(CheckpointError, match=r"not a readable torch\.save'd state dict"):
        load_da3(path)


def test_a_v2_pth_is_not_taken_for_da3(tmp_path):
    (tmp_path / "depth_anything_v2_vits.pth").write_bytes(b"")
    assert not is_da3_checkpoint(tmp_path / "depth_anything_v2_vits.pth")
    _config(tmp_path, "depth-anything-v2")  # a config.json of something else beside it changes nothing
    assert not is_da3_checkpoint(tmp_path / "depth_anything_v2_vits.pth")
