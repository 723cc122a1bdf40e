"""Deterministic weights for the tiny DA3 networks of tests and golden outputs (nothing is stored as a file).

Every state-dict key gets its own ``torch.Generator`` seeded with CRC-32 of "<base seed>/<key>", so a
tensor's values depend only on its name, shape and the base seed, never on the order of the other keys.
The distribution is chosen by the key's kind so that every part of the network matters:

- ``pos_embed``, ``cls_token``, ``camera_token``: N(0, 1)
- LayerScale ``gamma``: U(0.5, 1.5)
- other 1-D ``weight`` (LayerNorm scales, QK-norm included): N(1, 0.2)
- ``bias``: U(-0.1, 0.1)
- conv/linear weights: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = numel / shape[0]

Channel 0 of each head's last 1x1 conv (depth; sky for mono/metric) is then scaled and shifted by the fixed
``LOGIT_AFFINE`` (measured once by ``scripts/make_golden_tiny_da3.py --measure``: it makes the official
logits on the NYU sample mean 0, std 0.5, so depth varies over about exp(+-2) and sky is positive on about
half of the pixels). Last, every value is rounded to a float16 value (exact in a float16 file).
"""

from __future__ import annotations

import hashlib
import math
import zlib

import torch

from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import Da3Spec, tiny_da3_spec

TINY_SEEDS = {"any-view": 16, "mono": 17, "metric": 17}  # metric: the mono network under another name
DEPTH_CONV = "head.scratch.output_conv2.2"
SKY_CONV = "head.scratch.sky_output_conv2.2"
# (scale, shift) of channel 0 of each head's last conv; see the module docstring.
LOGIT_AFFINE: dict[str, dict[str, tuple[float, float]]] = {
    "any-view": {DEPTH_CONV: (59.65, -3.821)},
    "mono": {DEPTH_CONV: (87.2, 7.678), SKY_CONV: (86.16, -2.8)},
}
LOGIT_AFFINE["metric"] = LOGIT_AFFINE["mono"]


def key_seed(base_seed: int, key: str) -> int:
    """The generator seed of one tensor: CRC-32 of ``"<base seed>/<key>"``.

    32 bits on purpose: torch's CPU generator (mt19937) keeps only the low 32 bits of a seed.
    """
    return zlib.crc32(f"{base_seed}/{key}".encode())


def seeded_tensor(key: str, shape: torch.Size | tuple[int, ...], base_seed: int) -> torch.Tensor:
    """Float32 values of one state-dict tensor, drawn by the rule of the module docstring."""
    generator = torch.Generator().manual_seed(key_seed(base_seed, key))
    leaf = key.rsplit(".", 1)[-1]
    out = torch.empty(shape)
    if leaf in ("pos_embed", "cls_token", "camera_token"):
        return out.normal_(0.0, 1.0, generator=generator)
    if leaf == "gamma":
        return out.uniform_(0.5, 1.5, generator=generator)
    if leaf == "bias":
        return out.uniform_(-0.1, 0.1, generator=generator)
    if leaf == "weight" and out.ndim == 1:
        return out.normal_(1.0, 0.2, generator=generator)
    if leaf == "weight":
        bound = 1.0 / math.sqrt(out.numel() // out.shape[0])
        return out.uniform_(-bound, bound, generator=generator)
    raise ValueError(f"no weight rule for state-dict key {key!r} (shape {tuple(shape)})")


def seeded_state(shapes: dict[str, torch.Size], base_seed: int,
                 affine: dict[str, tuple[float, float]] | None = None) -> dict[str, torch.Tensor]:
    """Every key's seeded values, the logit affine applied to channel 0 of the named convs, float16-rounded."""
    state = {key: seeded_tensor(key, shape, base_seed) for key, shape in shapes.items()}
    for conv, (scale, shift) in (affine or {}).items():
        state[f"{conv}.weight"][0] *= scale
        state[f"{conv}.bias"][0] = scale * state[f"{conv}.bias"][0] + shift
    return {key: value.half().float() for key, value in state.items()}


def tiny_da3_state(kind: str = "any-view", base_seed: int | None = None,
                   affine: dict[str, tuple[float, float]] | None = None) -> dict[str, torch.Tensor]:
    """The tiny network's state dict (our key names = the official ones without ``model.``).

    ``base_seed`` and ``affine`` default to ``TINY_SEEDS[kind]`` and ``LOGIT_AFFINE[kind]``.
    """
    spec = tiny_da3_spec(kind)  # validates kind
    with torch.device("meta"):
        shapes = {key: value.shape for key, value in Da3Model(spec).state_dict().items()}
    return seeded_state(shapes, TINY_SEEDS[kind] if base_seed is None else base_seed,
                        LOGIT_AFFINE[kind] if affine is None else affine)


def tiny_da3_model(kind: str = "any-view") -> Da3Model:
    """Our tiny DA3 network of ``kind`` ('any-view', 'mono', 'metric') with the seeded weights, in eval mode."""
    spec: Da3Spec = tiny_da3_spec(kind)
    model = Da3Model(spec)
    model.load_state_dict(tiny_da3_state(kind), strict=True)
    return model.eval()


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the sorted keys and their float16 bytes (golden.json records it for the weight rule)."""
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].detach().half().contiguous().numpy().tobytes())
    return digest.hexdigest()


__all__ = ["LOGIT_AFFINE", "TINY_SEEDS", "key_seed", "seeded_state", "seeded_tensor", "state_digest",
           "tiny_da3_model", "tiny_da3_state"]
