"""Training on a robot's own recordings: LiDAR fine-tuning of the metric head, and self-training.

This face offers the recipes' options on one ``TrainingOptions`` base (``FinetuneOptions``, ``SelftrainOptions``,
the ``DEVICES`` choices): they import no torch, so the CLI's parser reads their defaults. The recipes need torch
and are imported by module where they run: ``finetune`` (``FinetuneRequest``, ``finetune``) and ``selftrain``
(``SelftrainRequest``, ``selftrain``), short recipes over the shared steps: ``metric_loop`` (SiLog on LiDAR
frames), ``student_loop`` (the self-training step), ``comparison`` (before/after on held-out frames),
``distributed`` (``on_main``: work on rank 0 only) and ``loop`` (epochs, checkpoints, resume).
The node's runtime path never imports this package.
"""

from depth_anything_ros.training.options import DEVICES, FinetuneOptions, SelftrainOptions, TrainingOptions

__all__ = ["DEVICES", "FinetuneOptions", "SelftrainOptions", "TrainingOptions"]
