"""Loading and saving Depth Anything checkpoints, with errors that say what went wrong."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from depth_anything_ros.core.errors import CheckpointError
from depth_anything_ros.core.files import atomic_path
from depth_anything_ros.model.v2.network import DepthAnything
from depth_anything_ros.model.v2.spec import ENCODER_SPECS, ModelSpec

METADATA_KEY = "depth_anything_ros"
STATE_DICT_KEY = "state_dict"
V2_NAME = re.compile(r"depth_anything_v2_(?:metric_(?P<dataset>hypersim|vkitti)_)?(?P<encoder>vit[sblg])\.pth$")
V1_NAME = re.compile(r"depth_anything_(?P<encoder>vit[sblg])14\.pth$")
METRIC_DATASET_MAX_DEPTH = {"hypersim": 20.0, "vkitti": 80.0}


def _unreadable(path: Path, error: Exception) -> CheckpointError:
    first_line = str(error).splitlines()[0] if str(error) else ""
    return CheckpointError(
        f"{path} ({path.stat().st_size} bytes) is not a readable PyTorch checkpoint: truncated, corrupt or "
        f"another format ({type(error).__name__}: {first_line})"
    )


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" in str(error):
            raise CheckpointError(
                f"{path} holds objects other than tensors and cannot be loaded safely; save a plain state dict"
            ) from error
        raise _unreadable(path, error) from error
    except Exception as error:  # torch's loaders raise many types (EOFError, KeyError, RuntimeError...)
        raise _unreadable(path, error) from error
    if not isinstance(content, dict):
        raise CheckpointError(f"{path} holds a {type(content).__name__}, expected a state dict")
    return content


def _split(content: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """State dict and our metadata from a plain or wrapped checkpoint."""
    if STATE_DICT_KEY in content and isinstance(content[STATE_DICT_KEY], dict):
        return content[STATE_DICT_KEY], dict(content.get(METADATA_KEY, {}))
    if "model" in content and isinstance(content["model"], dict):
        return content["model"], {}
    return content, {}


def describe_encoder(state: dict[str, torch.Tensor]) -> str:
    """What encoder a state dict holds, in words, for error messages."""
    cls = state.get("pretrained.cls_token")
    if cls is None:
        return "no Depth Anything encoder (no 'pretrained.cls_token')"
    width = int(cls.shape[-1])
    blocks = len({k.split(".")[2] for k in state if k.startswith("pretrained.blocks.")})
    names = [n for n, e in ENCODER_SPECS.items() if e.embed_dim == width and e.depth == blocks]
    return f"{names[0] if names else 'an unknown encoder'} (embed_dim {width}, {blocks} blocks)"


def _check_name(path: Path, spec: ModelSpec) -> None:
    """Official file names state size, version and head; refuse a contradiction."""
    v2, v1 = V2_NAME.search(path.name), V1_NAME.search(path.name)
    match, version = (v2, 2) if v2 else (v1, 1) if v1 else (None, None)
    if match is None:
        return
    found_kind = "metric" if v2 and v2.group("dataset") else "relative"
    problems = []
    if match.group("encoder") != spec.encoder.name and spec.encoder.name in ENCODER_SPECS:
        problems.append(f"encoder {match.group('encoder')} (requested {spec.encoder.name})")
    if version != spec.version:
        problems.append(f"Depth Anything V{version} (requested --version {spec.version})")
    if found_kind != spec.kind:
        problems.append(f"a {found_kind} head (requested {spec.kind})")
    if problems:
        raise CheckpointError(f"{path.name} is the official file of " + ", ".join(problems))


def _check_metadata(path: Path, meta: dict[str, Any], spec: ModelSpec) -> None:
    expected = {"encoder": spec.encoder.name, "version": spec.version, "kind": spec.kind}
    wrong = [f"{k} {meta[k]!r} (requested {v!r})" for k, v in expected.items() if k in meta and meta[k] != v]
    if wrong:
        raise CheckpointError(f"{path} was saved for " + ", ".join(wrong))


def _check_keys(path: Path, state: dict[str, torch.Tensor], model: DepthAnything) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if not any(k.startswith(("pretrained.", "depth_head.")) for k in state):
        sample = ", ".join(list(state)[:3]) or "nothing"
        raise CheckpointError(
            f"{path} is not a Depth Anything checkpoint: no 'pretrained.*' or 'depth_head.*' keys (found {sample})"
        )
    wrong_shape = [
        f"{k}: expected {tuple(v.shape)}, found {tuple(state[k].shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or wrong_shape:
        lines = [
            f"{path} does not match Depth Anything {model.spec.encoder.name} V{model.spec.version}: "
            f"expected {describe_encoder(expected)}, found {describe_encoder(state)}"
        ]
        if missing:
            lines.append(f"  {len(missing)} missing keys, e.g. {missing[:3]}")
        if unexpected:
            lines.append(f"  {len(unexpected)} unexpected keys, e.g. {unexpected[:3]}")
        if wrong_shape:
            lines.append(f"  {len(wrong_shape)} shape mismatches, e.g. {wrong_shape[:3]}")
        raise CheckpointError("\n".join(lines))


def load_model(path: str | Path, spec: ModelSpec) -> DepthAnything:
    """Build the model of ``spec`` and load ``path`` into it with strict key matching.

    Version and head kind cannot be read from the weights (V1 and V2 share every
    key), so they are checked against official file names and our own metadata.
    """
    path = Path(path)
    content = _read(path)
    state, meta = _split(content)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}  # saved from DistributedDataParallel
    _check_name(path, spec)
    _check_metadata(path, meta, spec)
    model = DepthAnything(spec)
    _check_keys(path, state, model)
    model.load_state_dict(state, strict=True)
    return model.eval()


def save_checkpoint(model: DepthAnything, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write weights with our metadata (encoder, version, kind, max_depth) atomically."""
    spec = model.spec
    meta = {"encoder": spec.encoder.name, "version": spec.version, "kind": spec.kind, "max_depth": spec.max_depth}
    meta.update(extra or {})
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({STATE_DICT_KEY: model.state_dict(), METADATA_KEY: meta}, tmp)
    return path
