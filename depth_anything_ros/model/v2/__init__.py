"""Depth Anything V1 and V2: DINOv2 ViT + DPT head, ``.pth`` checkpoints; reached through ``model.family``."""

__all__ = []  # callers use model.family; nothing here is public
