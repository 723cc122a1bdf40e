"""PyTorch Depth Anything (DINOv2 ViT + DPT head; V1, V2 and DA3), its specifications and checkpoints.

The specifications (``model.spec``: encoders, patch and input size, taps) are plain data and import no torch;
``DepthAnything`` is loaded on first use, so the node and the CLI's parser read the specs without torch.
"""

from depth_anything_ros.model.spec import (
    DEFAULT_INPUT_SIZE,
    ENCODERS,
    PATCH_SIZE,
    PRETRAIN_IMAGE_SIZE,
    EncoderSpec,
    ModelSpec,
    model_spec,
)

__all__ = ["DEFAULT_INPUT_SIZE", "ENCODERS", "PATCH_SIZE", "PRETRAIN_IMAGE_SIZE", "DepthAnything", "EncoderSpec",
           "ModelSpec", "model_spec"]


def __getattr__(name: str):
    if name == "DepthAnything":  # torch only where the network is wanted
        from depth_anything_ros.model.depth_anything import DepthAnything

        return DepthAnything
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
