"""The package's own errors: input the node cannot use (the frame is skipped, counted and warned about; the node
keeps running), and checkpoints that cannot serve the requested model."""

from __future__ import annotations


class InputError(ValueError):
    """A message that cannot become a frame (bad image, bad camera_info, ...).

    ``kind`` names the diagnostics counter it is counted under (encoding, size, decode, intrinsics, ...).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class CheckpointError(ValueError):
    """A checkpoint that cannot serve the requested model; the message says why."""
