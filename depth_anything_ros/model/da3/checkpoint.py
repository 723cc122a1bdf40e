"""Strict loading of official Depth Anything 3 checkpoints (``model.safetensors`` + ``config.json``)."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from collections import Counter
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_model
from torch import nn

from depth_anything_ros.core.files import atomic_path, file_sha256
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import (
    TORCH_SUFFIXES,
    WEIGHTS_FILE,
    Da3Spec,
    da3_checkpoint_files,
    da3_spec,
    read_model_name,
    trained_metric,
)
from depth_anything_ros.model.v2.checkpoint import CheckpointError

PREFIX = "model."
SHOWN = 5


def _read_tensors(weights: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file or of a ``torch.save``'d state dict (.bin/.pt/.pth)."""
    if not weights.is_file():
        raise CheckpointError(f"{weights} does not exist")
    if weights.suffix in TORCH_SUFFIXES:
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as error:
            raise CheckpointError(f"{weights} ({weights.stat().st_size} bytes) is not a readable torch.save'd "
                                  f"state dict: truncated, corrupt or another format ({error})") from error
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise CheckpointError(f"{weights} holds a {type(state).__name__}, not a state dict of tensors")
        return state
    try:
        return load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{weights} ({weights.stat().st_size} bytes) is not a readable safetensors file: "
                              f"truncated, corrupt or another format ({error})") from error


def _with_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keys of the hub wrapper (``model.``): a dump of the bare network (``backbone.``, ``head.``) gets the prefix."""
    if state and not any(k.startswith(PREFIX) for k in state) and all(
            k.startswith(("backbone.", "head.", "cam_enc.", "cam_dec.", "gs_head.")) for k in state):
        return {PREFIX + k: v for k, v in state.items()}
    return state


def shared_groups(model: nn.Module) -> list[list[str]]:
    """State-dict keys that name one tensor (a module used in several places), e.g. DualDPT's aux LayerNorm."""
    groups: dict[int, list[str]] = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        groups.setdefault(id(tensor), []).append(key)
    return [keys for keys in groups.values() if len(keys) > 1]


def _complete_shared(found: dict[str, torch.Tensor], model: nn.Module, source: str) -> dict[str, torch.Tensor]:
    """Fill the copies of shared tensors a deduplicating writer left out; refuse copies that differ.

    ``safetensors.torch.save_model`` (what the hub writes) keeps one name per shared tensor; a plain
    ``state_dict()`` dump keeps every name with equal values. Both load; unequal copies cannot come from
    the official network, so they are refused."""
    found = dict(found)
    for keys in shared_groups(model):
        present = [k for k in keys if k in found]
        if not present:
            continue
        first = found[present[0]]
        differing = [k for k in present[1:] if found[k].shape != first.shape or not torch.equal(found[k], first)]
        if differing:
            raise CheckpointError(
                f"{source}: {', '.join(PREFIX + k for k in [present[0], *differing])} are copies of ONE shared "
                f"tensor in the official network ({len(keys)} names, one module), but their values differ: "
                f"the file was not written from the official architecture, or was edited")
        for key in keys:
            found.setdefault(key, first)
    return found


def _groups(keys: list[str]) -> str:
    """Short summary: count, most common 3-part prefixes, first few keys."""
    prefixes = Counter(".".join(k.split(".")[:3]) for k in keys)
    common = ", ".join(f"{p}.* x{n}" for p, n in prefixes.most_common(3))
    return f"{len(keys)} ({common}; e.g. {', '.join(sorted(keys)[:SHOWN])})"


def _foreign_hint(keys: list[str], any_view: bool) -> str:
    if any(k.startswith(("pretrained.", "depth_head.")) for k in keys):
        return " It looks like a Depth Anything V1/V2 checkpoint, not DA3."
    if not any(k.startswith(PREFIX) for k in keys):
        return f" None of its keys start with '{PREFIX}', so it is not an official DA3 hub checkpoint."
    has_camera = f"{PREFIX}backbone.pretrained.camera_token" in keys
    if has_camera != any_view:
        kind = "an any-view (DA3-SMALL/BASE-like)" if has_camera else "a mono/metric (DA3MONO/METRIC-LARGE-like)"
        return f" It holds {kind} model."
    return ""


def check_state_dict(state: dict[str, torch.Tensor], model: Da3Model, source: str) -> dict[str, torch.Tensor]:
    """The official state dict without its prefix, or CheckpointError saying what was expected and found.

    Accepts the hub's deduplicated file (shared tensors once), a full ``state_dict()`` dump (every copy, equal)
    and a dump of the bare network without the ``model.`` prefix."""
    expected = model.state_dict()
    state = _with_prefix(state)
    found = _complete_shared({k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}, model, source)
    foreign = [k for k in state if not k.startswith(PREFIX)]
    missing = [k for k in expected if k not in found]
    unexpected = [PREFIX + k for k in found if k not in expected] + foreign
    shapes = [f"{PREFIX}{k}: expected {tuple(v.shape)}, found {tuple(found[k].shape)}"
              for k, v in expected.items() if k in found and found[k].shape != v.shape]
    if missing or unexpected or shapes:
        problems = []
        if missing:
            problems.append("missing " + _groups([PREFIX + k for k in missing]))
        if unexpected:
            problems.append("unexpected " + _groups(unexpected))
        if shapes:
            problems.append(f"{len(shapes)} shape mismatches (e.g. {'; '.join(shapes[:SHOWN])})")
        raise CheckpointError(
            f"{source} does not fit {model.spec.name} (expected {len(expected)} tensors under '{PREFIX}', "
            f"found {len(state)}): {'; '.join(problems)}.{_foreign_hint(list(state), model.spec.any_view)}")
    return {k: v.float() for k, v in found.items()}


def load_da3(path: str | Path, spec: Da3Spec | None = None) -> Da3Model:
    """Load an official DA3 checkpoint strictly; ``spec`` defaults to the one its config.json names.

    With ``spec`` given, config.json's ``model_name`` must name the same model. Weights whose config.json
    says ``"depth_anything_ros": {"metric": true}`` load as the metric variant of that model.
    """
    weights, config = da3_checkpoint_files(path)
    name = read_model_name(config)
    if spec is None:
        try:
            spec = da3_spec(name)
        except ValueError as error:
            raise CheckpointError(f"{config}: {error}") from error
    elif name.lower() != spec.name:
        raise CheckpointError(f"{config} names model {name!r}, expected {spec.name!r}")
    if trained_metric(config) and not spec.metric:
        spec = dataclasses.replace(spec, metric=True)
    model = Da3Model(spec)
    model.load_state_dict(check_state_dict(_read_tensors(weights), model, str(weights)), strict=True)
    return model.eval()


def load_da3_with_sha(path: str | Path, name: str | None = None) -> tuple[Da3Model, str]:
    """``load_da3`` (of model ``name`` when given) and the SHA-256 of its weights file."""
    weights, _ = da3_checkpoint_files(path)
    return load_da3(path, da3_spec(name) if name else None), file_sha256(weights)


class _HubWrapper(nn.Module):
    """The official ``DepthAnything3`` wrapper's layout: the network under ``model``."""

    def __init__(self, model: Da3Model) -> None:
        super().__init__()
        self.model = model


def save_da3(model: Da3Model, folder: str | Path, extra: dict | None = None) -> Path:
    """Write ``model`` exactly as the hub does: ``model.safetensors`` by ``safetensors.torch.save_model`` of the
    wrapper (keys under ``model.``, each shared tensor once, float32) + ``config.json`` naming it, each file
    atomically; ``extra`` adds fields to config.json. Returns the weights path."""
    weights, config = da3_checkpoint_files(Path(folder) / WEIGHTS_FILE)
    weights.parent.mkdir(parents=True, exist_ok=True)
    if any(t.device.type != "cpu" or t.dtype != torch.float32 for t in model.state_dict().values()):
        model = copy.deepcopy(model).cpu().float()
    with atomic_path(weights) as tmp:
        save_model(_HubWrapper(model), str(tmp), metadata={"format": "pt"})
    with atomic_path(config) as tmp:
        tmp.write_text(json.dumps({"model_name": model.spec.name, **(extra or {})}, indent=2))
    return weights
