"""Architecture specifications of the Depth Anything 3 models we serve (facts of the official configs)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from depth_anything_ros.core.errors import CheckpointError
from depth_anything_ros.model.v2.spec import PATCH_SIZE, PRETRAIN_IMAGE_SIZE, EncoderSpec

Da3Head = Literal["dpt", "dualdpt"]
METRIC_FOCAL_DIVISOR = 300.0  # metres = output * focal / 300 (official README, utils/alignment.py)


@dataclass(frozen=True)
class Da3Spec:
    """One DA3 network: ViT, any-view attention schedule, taps and head.

    ``alt_start`` -1 is a plain DINOv2 (mono/metric); otherwise blocks from ``alt_start`` on
    alternate local/global attention, and ``qknorm_start``/``rope_start`` switch on QK-norm and
    2D RoPE. ``cat_token`` concatenates the latest local block's tokens to each tap.
    """

    name: str
    encoder: EncoderSpec
    taps: tuple[int, int, int, int]
    head: Da3Head
    features: int
    out_channels: tuple[int, int, int, int]
    alt_start: int = -1
    qknorm_start: int = -1
    rope_start: int = -1
    cat_token: bool = False
    metric: bool = False
    licence: str = "Apache-2.0"
    cam_enc_depth: int = 4
    cam_enc_heads: int = 16
    gs_head: bool = False  # DA3-GIANT also carries a 3D-Gaussian head (loaded and saved, never run for depth)

    def __post_init__(self) -> None:
        depth = self.encoder.depth
        increasing = list(self.taps) == sorted(set(self.taps))
        if len(self.taps) != 4 or not increasing or not all(0 <= t < depth for t in self.taps):
            raise ValueError(f"{self.name}: taps {self.taps} are not 4 increasing blocks of an encoder of {depth}")
        if self.head not in ("dpt", "dualdpt"):
            raise ValueError(f"{self.name}: head must be 'dpt' or 'dualdpt', got {self.head!r}")
        if self.any_view != (self.head == "dualdpt"):
            raise ValueError(f"{self.name}: any-view models (alt_start >= 0) use the DualDPT head, mono the DPT")
        if self.rope_start >= 0 and (self.encoder.embed_dim // self.encoder.num_heads) % 4:
            raise ValueError(f"{self.name}: 2D RoPE needs a head width divisible by 4")

    @property
    def any_view(self) -> bool:
        """Alternating attention with a camera token (DA3-SMALL/BASE); False for mono/metric."""
        return self.alt_start >= 0

    @property
    def head_dim_in(self) -> int:
        """Channels of each tapped token map the head receives."""
        return self.encoder.embed_dim * (2 if self.cat_token else 1)

    @property
    def has_sky(self) -> bool:
        """The DPT head of the mono/metric models has a sky branch; DualDPT has none."""
        return self.head == "dpt"


NON_COMMERCIAL = "CC-BY-NC-4.0"
LARGE_OUT = (256, 512, 1024, 1024)


def _any_view(name: str, encoder: EncoderSpec, taps: tuple[int, int, int, int], alt_start: int, features: int,
              out_channels: tuple[int, int, int, int], **extra) -> Da3Spec:
    return Da3Spec(name, encoder, taps, "dualdpt", features, out_channels,
                   alt_start=alt_start, qknorm_start=alt_start, rope_start=alt_start, cat_token=True, **extra)


def _mono(name: str, metric: bool) -> Da3Spec:
    return Da3Spec(name, EncoderSpec("vitl", 1024, 24, 16), (4, 11, 17, 23), "dpt", 256, LARGE_OUT, metric=metric)


DA3_SPECS: dict[str, Da3Spec] = {
    "da3-small": _any_view("da3-small", EncoderSpec("vits", 384, 12, 6), (5, 7, 9, 11), 4, 64, (48, 96, 192, 384)),
    "da3-base": _any_view("da3-base", EncoderSpec("vitb", 768, 12, 12), (5, 7, 9, 11), 4, 128, (96, 192, 384, 768)),
    "da3-large": _any_view("da3-large", EncoderSpec("vitl", 1024, 24, 16), (11, 15, 19, 23), 8, 256, LARGE_OUT,
                           licence=NON_COMMERCIAL),
    "da3-giant": _any_view("da3-giant", EncoderSpec("vitg", 1536, 40, 24, ffn="swiglu"), (19, 27, 33, 39), 13, 256,
                           LARGE_OUT, licence=NON_COMMERCIAL, gs_head=True),
    "da3mono-large": _mono("da3mono-large", metric=False),
    "da3metric-large": _mono("da3metric-large", metric=True),
}
DA3_NAMES = tuple(DA3_SPECS)
TINY_PREFIX = "tiny-da3-"
NESTED_PREFIX = "da3nested-"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


TORCH_WEIGHTS_FILE = "pytorch_model.bin"  # huggingface_hub's name for torch.save'd weights (its older layout)
TORCH_SUFFIXES = (".bin", ".pt", ".pth")


def _names_da3_model(config: Path) -> bool:
    try:
        content = json.loads(config.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    name = content.get("model_name") if isinstance(content, dict) else None
    return isinstance(name, str) and name.lower().startswith(("da3", TINY_PREFIX))


def is_da3_checkpoint(path: str | Path) -> bool:
    """A DA3 checkpoint: a folder (weights + config.json), a .safetensors file, or a torch.save'd file
    (.bin/.pt/.pth) beside a config.json naming a DA3 model; V1/V2 are .pth files with no such config."""
    path = Path(path)
    if path.is_dir() or path.suffix == ".safetensors":
        return True
    return path.suffix in TORCH_SUFFIXES and _names_da3_model(path.with_name(CONFIG_FILE))


def da3_checkpoint_files(path: str | Path) -> tuple[Path, Path]:
    """(weights, config) of a DA3 checkpoint given as its folder or its weights file.

    A folder's weights are ``model.safetensors`` (the hub layout), else ``pytorch_model.bin`` when only that exists.
    """
    path = Path(path)
    if path.is_dir():
        weights = path / WEIGHTS_FILE
        if not weights.exists() and (path / TORCH_WEIGHTS_FILE).is_file():
            weights = path / TORCH_WEIGHTS_FILE
        return weights, path / CONFIG_FILE
    return path, path.with_name(CONFIG_FILE)


def da3_spec(name: str) -> Da3Spec:
    """The spec of an official DA3 model by its ``model_name`` (e.g. ``da3metric-large``).

    ``tiny-da3-any-view|mono|metric`` name the tiny test networks of ``tiny_da3_spec``, so checkpoints
    that tests write run through every command like official ones.
    """
    key = name.lower()
    if key.startswith(TINY_PREFIX):
        return tiny_da3_spec(key[len(TINY_PREFIX):])  # type: ignore[arg-type]
    if key.startswith(NESTED_PREFIX):
        raise ValueError(f"{name!r} is a nested model: an any-view DA3-GIANT whose depth is aligned per image to a "
                         "DA3METRIC-LARGE run on the same frame (two networks in one file). It is not supported; use "
                         "da3metric-large for metres from focal, or da3-giant with a calibration or the live anchor")
    if key not in DA3_SPECS:
        raise ValueError(f"unknown Depth Anything 3 model {name!r}; expected one of {', '.join(DA3_NAMES)}")
    return DA3_SPECS[key]


def tiny_da3_spec(kind: Literal["any-view", "mono", "metric"] = "any-view") -> Da3Spec:
    """A tiny network of the official architecture, for tests (as the golden outputs use).

    Any-view: ViT 32 wide, 6 blocks, 2 heads, alternation/QK-norm/RoPE from block 2, taps
    (1, 3, 4, 5) so a pre-alternation, a global and a local tap are all exercised; DualDPT 16.
    Mono/metric: ViT 32 wide, 4 blocks, 2 heads, taps (0..3); DPT 16 with sky.
    """
    head_channels = (8, 16, 32, 32)
    if kind == "any-view":
        return Da3Spec("tiny-da3-any-view", EncoderSpec("tiny", 32, 6, 2), (1, 3, 4, 5), "dualdpt", 16,
                       head_channels, alt_start=2, qknorm_start=2, rope_start=2, cat_token=True,
                       cam_enc_depth=1, cam_enc_heads=2)
    if kind in ("mono", "metric"):
        return Da3Spec(f"tiny-da3-{kind}", EncoderSpec("tiny", 32, 4, 2), (0, 1, 2, 3), "dpt", 16,
                       head_channels, metric=kind == "metric")
    raise ValueError(f"tiny DA3 kind must be 'any-view', 'mono' or 'metric', got {kind!r}")


__all__ = ["DA3_NAMES", "DA3_SPECS", "METRIC_FOCAL_DIVISOR", "PATCH_SIZE", "PRETRAIN_IMAGE_SIZE", "Da3Spec",
           "da3_spec", "tiny_da3_spec"]


def read_model_name(config: Path) -> str:
    """``model_name`` of an official DA3 ``config.json``; a clear error when absent or unreadable."""
    if not config.is_file():
        raise CheckpointError(f"{config} does not exist: a DA3 checkpoint is model.safetensors beside a config.json "
                              f"naming the model (one of {', '.join(DA3_NAMES)})")
    try:
        content = json.loads(config.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{config} is not readable JSON ({error})") from error
    name = content.get("model_name") if isinstance(content, dict) else None
    if not isinstance(name, str):
        raise CheckpointError(f"{config} has no 'model_name' string; expected one of {', '.join(DA3_NAMES)}")
    return name


OUR_CONFIG = "depth_anything_ros"  # config.json field of checkpoints we write: {"metric": true, "finetuned_from": sha}


def trained_metric(config: Path) -> bool:
    """True when config.json says these weights were trained to metres (``calibrate --method finetune`` of a
    relative DA3 model): same architecture and ``model_name``, depth * focal / 300 is metric."""
    try:
        ours = json.loads(config.read_text()).get(OUR_CONFIG)
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(ours, dict) and ours.get("metric") is True


def uses_da3(checkpoint: str | Path | None, model: str = "") -> bool:
    """A Depth Anything 3 network is meant: ``model`` names one, or the checkpoint is in DA3's layout."""
    return bool(model) or (bool(checkpoint) and is_da3_checkpoint(checkpoint))


def checkpoint_is_metric(checkpoint: str | Path, model: str = "") -> bool:
    """Whether a DA3 checkpoint gives metres: its model is metric (da3metric-large), or we trained it to metres
    (``trained_metric``); read from config.json without loading the weights."""
    config = da3_checkpoint_files(checkpoint)[1]
    return da3_spec(model or read_model_name(config)).metric or trained_metric(config)
