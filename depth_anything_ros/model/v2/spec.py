"""Architecture specifications of Depth Anything V1/V2 (facts of the official models)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ModelKind = Literal["relative", "metric"]
ENCODERS = ("vits", "vitb", "vitl", "vitg")
PATCH_SIZE = 14
PRETRAIN_IMAGE_SIZE = 518
DEFAULT_INPUT_SIZE = PRETRAIN_IMAGE_SIZE  # the network input's short side unless a knob says otherwise


@dataclass(frozen=True)
class EncoderSpec:
    """A DINOv2 ViT: width, depth, heads and feed-forward type."""

    name: str
    embed_dim: int
    depth: int
    num_heads: int
    ffn: Literal["mlp", "swiglu"] = "mlp"
    mlp_ratio: float = 4.0
    patch_size: int = PATCH_SIZE
    img_size: int = PRETRAIN_IMAGE_SIZE

    @property
    def pretrain_grid(self) -> int:
        """Patches per side of the positional embedding (37 for 518 / 14)."""
        return self.img_size // self.patch_size


@dataclass(frozen=True)
class ModelSpec:
    """Everything that fixes the network: encoder, DPT head, taps, version and head kind."""

    encoder: EncoderSpec
    features: int
    out_channels: tuple[int, int, int, int]
    version: int
    kind: ModelKind = "relative"
    max_depth: float | None = None
    taps: tuple[int, int, int, int] = field(default=())  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.version not in (1, 2):
            raise ValueError(f"Depth Anything version must be 1 or 2, got {self.version!r}")
        if self.kind not in ("relative", "metric"):
            raise ValueError(f"model kind must be 'relative' or 'metric', got {self.kind!r}")
        if self.kind == "metric" and not (self.max_depth and self.max_depth > 0):
            raise ValueError("a metric model needs a positive max_depth (20 indoor, 80 outdoor)")
        if self.kind == "relative" and self.max_depth is not None:
            raise ValueError("max_depth only applies to metric models")
        if not self.taps:
            object.__setattr__(self, "taps", default_taps(self.encoder, self.version))
        if len(self.taps) != 4 or not all(0 <= t < self.encoder.depth for t in self.taps):
            raise ValueError(f"taps {self.taps} do not fit an encoder of {self.encoder.depth} blocks")


ENCODER_SPECS: dict[str, EncoderSpec] = {
    "vits": EncoderSpec("vits", 384, 12, 6),
    "vitb": EncoderSpec("vitb", 768, 12, 12),
    "vitl": EncoderSpec("vitl", 1024, 24, 16),
    "vitg": EncoderSpec("vitg", 1536, 40, 24, ffn="swiglu"),
}

HEAD_SPECS: dict[str, tuple[int, tuple[int, int, int, int]]] = {
    "vits": (64, (48, 96, 192, 384)),
    "vitb": (128, (96, 192, 384, 768)),
    "vitl": (256, (256, 512, 1024, 1024)),
    "vitg": (384, (1536, 1536, 1536, 1536)),
}

V2_TAPS: dict[str, tuple[int, int, int, int]] = {
    "vits": (2, 5, 8, 11),
    "vitb": (2, 5, 8, 11),
    "vitl": (4, 11, 17, 23),
    "vitg": (9, 19, 29, 39),
}


def default_taps(encoder: EncoderSpec, version: int) -> tuple[int, int, int, int]:
    """V1 taps the last four blocks; V2 uses its published per-size taps."""
    if version == 2 and encoder.name in V2_TAPS:
        return V2_TAPS[encoder.name]
    if version == 2:
        raise ValueError(f"no V2 taps known for custom encoder {encoder.name!r}; pass taps explicitly")
    d = encoder.depth
    return (d - 4, d - 3, d - 2, d - 1)


def model_spec(
    encoder: str, version: int, metric: bool = False, max_depth: float | None = None
) -> ModelSpec:
    """The spec of an official model size (``vits``, ``vitb``, ``vitl``, ``vitg``)."""
    if encoder not in ENCODER_SPECS:
        raise ValueError(f"unknown encoder {encoder!r}; expected one of {', '.join(ENCODERS)}")
    features, out_channels = HEAD_SPECS[encoder]
    return ModelSpec(
        encoder=ENCODER_SPECS[encoder],
        features=features,
        out_channels=out_channels,
        version=version,
        kind="metric" if metric else "relative",
        max_depth=max_depth if metric else None,
    )
