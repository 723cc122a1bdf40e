"""Training on a robot's own recordings: LiDAR fine-tuning of the metric head, and self-training.

Everything here imports torch; the node's runtime path never imports this package.

- ``finetune``: the recipe of `calibrate --method finetune` (SiLog on LiDAR, head or whole network).
- ``selftrain``: teacher pseudo-labels, a student under perturbations with feature alignment.
- ``loop``, ``distributed``: the epoch loop with checkpoints and resume; one process or DDP.
- ``losses``, ``augment``, ``network``: SiLog and affine-invariant losses, perturbations, the batched network.
- ``labeled_frames``, ``unlabeled_frames``, ``pseudo_labels``, ``array_cache``: frames read once, cached.
"""

__all__ = ["array_cache", "augment", "distributed", "finetune", "labeled_frames", "loop", "losses", "network",
           "pseudo_labels", "selftrain", "unlabeled_frames"]
