"""PyTorch Depth Anything (DINOv2 ViT + DPT head) and its checkpoints."""

from depth_anything_ros.model.depth_anything import DepthAnything
from depth_anything_ros.model.spec import ENCODERS, EncoderSpec, ModelSpec, model_spec

__all__ = ["ENCODERS", "DepthAnything", "EncoderSpec", "ModelSpec", "model_spec"]
