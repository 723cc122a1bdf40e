"""Training on a robot's own recordings: LiDAR fine-tuning of the metric head, and self-training.

``options`` (FinetuneOptions and SelftrainOptions on one TrainingOptions base; no torch), ``finetune``,
``selftrain`` and their parts (frames stores, losses, augmentations, the loop, distributed runs).
The recipes import torch (``options`` does not); the node's runtime path never imports this package.
"""

__all__ = ["array_cache", "augment", "distributed", "finetune", "labeled_frames", "loop", "losses", "network",
           "options", "pseudo_labels", "selftrain", "unlabeled_frames"]
