"""PyTorch Depth Anything (DINOv2 ViT + DPT head) and its checkpoints."""

from .depth_anything import DepthAnything
from .spec import ENCODERS, EncoderSpec, ModelSpec, model_spec

__all__ = ["ENCODERS", "DepthAnything", "EncoderSpec", "ModelSpec", "model_spec"]
