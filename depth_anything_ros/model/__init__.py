"""PyTorch Depth Anything (DINOv2 ViT + DPT head) and its checkpoints.

The specs (``model.spec``: encoders, the default input size) are numpy-free facts and import no torch;
``DepthAnything`` is loaded on first use, so the node and the CLI's parser can read the specs without torch.
"""

from depth_anything_ros.model.spec import DEFAULT_INPUT_SIZE, ENCODERS, EncoderSpec, ModelSpec, model_spec

__all__ = ["DEFAULT_INPUT_SIZE", "ENCODERS", "DepthAnything", "EncoderSpec", "ModelSpec", "model_spec"]


def __getattr__(name: str):
    if name == "DepthAnything":  # torch
        from depth_anything_ros.model.depth_anything import DepthAnything

        return DepthAnything
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
