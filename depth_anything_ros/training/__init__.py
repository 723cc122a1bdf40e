"""Training on a robot's own recordings: LiDAR fine-tuning of the metric head (and self-training).

Everything here imports torch; the node's runtime path never imports this package.
"""
