"""Depth Anything 3: ViT with any-view attention + DPT/DualDPT, hub checkpoints; reached through ``model.family``."""

__all__ = []  # callers use model.family; nothing here is public
