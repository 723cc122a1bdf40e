"""Where the anchor's points go: camera optical frame <- sensor frame, from a parameter, a file, tf, or not at all.

Sources, in the order the node takes them (``extrinsics_for``):

1. ``anchor_extrinsic``: one static transform in static_transform_publisher's convention (``ParameterExtrinsic``);
   with frame names it serves only that pair, without them every sensor frame (the operator said so);
2. ``anchor_extrinsics_file``: the offline tools' extrinsics YAML, a tree of static transforms looked up from the
   sensor's frame to the camera's (``TreeExtrinsics``; bag replay also feeds it the bag's /tf and /tf_static);
3. tf (``node.anchor_tf``, where tf2_ros imports: a full ROS 2 install), looked up at the scan's stamp;
4. none (``NoExtrinsics``).

A message in the camera's own frame needs none (a depth camera's cloud in the optical frame). Anything else a
source cannot answer raises ``ExtrinsicError`` with ``NO_TRANSFORM`` (unknown frame, frames not connected) or
``STALE_TRANSFORM`` (tf or /tf has the frames, not at that stamp): reported, never guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.core.transforms import (
    ExtrapolationError,
    Transform,
    TransformBuffer,
    TransformError,
    load_extrinsics,
    parse_static_transform,
)


class ExtrinsicError(LookupError):
    """No usable transform for one message; ``reason`` is what the diagnostics count."""

    def __init__(self, reason: AnchorReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _name(frame: str) -> str:
    return frame.lstrip("/")


class Extrinsics(Protocol):
    source: str  # for diagnostics: where the transform comes from

    def lookup(self, camera_frame: str, sensor_frame: str, stamp_ns: int) -> Transform:
        """Points in ``sensor_frame`` at ``stamp_ns`` -> ``camera_frame``; ExtrinsicError if unknown."""


class ParameterExtrinsic:
    """The ``anchor_extrinsic`` parameter: static_transform_publisher's arguments, camera frame <- sensor frame."""

    def __init__(self, text: str) -> None:
        static = parse_static_transform(text)
        self.transform = static.transform
        self.camera_frame, self.sensor_frame = _name(static.frame_id), _name(static.child_frame_id)
        pair = f" ({self.camera_frame} <- {self.sensor_frame})" if self.sensor_frame else " (any frame)"
        self.source = f"anchor_extrinsic{pair}"

    def lookup(self, camera_frame: str, sensor_frame: str, stamp_ns: int) -> Transform:
        if not self.sensor_frame:
            return self.transform
        camera_frame, sensor_frame = _name(camera_frame), _name(sensor_frame)
        if (camera_frame, sensor_frame) != (self.camera_frame, self.sensor_frame):
            raise ExtrinsicError(AnchorReason.NO_TRANSFORM,
                                 f"the anchor message is in {sensor_frame!r} and the image in {camera_frame!r}, "
                                 f"anchor_extrinsic is {self.camera_frame!r} <- {self.sensor_frame!r}")
        return self.transform


class TreeExtrinsics:
    """A tree of transforms: the extrinsics YAML, and in bag replay the bag's /tf_static and /tf."""

    def __init__(self, buffer: TransformBuffer, source: str) -> None:
        self.buffer = buffer
        self.source = source

    @classmethod
    def from_file(cls, path: str | Path) -> TreeExtrinsics:
        buffer = TransformBuffer()
        count = load_extrinsics(path, buffer)  # ValueError naming the format
        return cls(buffer, f"anchor_extrinsics_file {path} ({count} transforms)")

    def lookup(self, camera_frame: str, sensor_frame: str, stamp_ns: int) -> Transform:
        try:
            return self.buffer.lookup(camera_frame, sensor_frame, stamp_ns)
        except ExtrapolationError as error:
            raise ExtrinsicError(AnchorReason.STALE_TRANSFORM, str(error)) from error
        except TransformError as error:
            raise ExtrinsicError(AnchorReason.NO_TRANSFORM, str(error)) from error


class NoExtrinsics:
    """No source: only messages in the camera's own frame can be used."""

    source = "none"

    def lookup(self, camera_frame: str, sensor_frame: str, stamp_ns: int) -> Transform:
        raise ExtrinsicError(AnchorReason.NO_TRANSFORM,
                             f"no extrinsic for {sensor_frame!r} -> {camera_frame!r}: set anchor_extrinsic or "
                             f"anchor_extrinsics_file (tf2_ros is not importable here)")


def extrinsics_for(extrinsic: str, extrinsics_file: str, tf: Extrinsics | None = None) -> Extrinsics:
    """The source the node uses (see the module); ValueError for an unreadable parameter or file."""
    if extrinsic:
        return ParameterExtrinsic(extrinsic)
    if extrinsics_file:
        return TreeExtrinsics.from_file(extrinsics_file)
    return tf if tf is not None else NoExtrinsics()


def camera_from_sensor(extrinsics: Extrinsics, camera_frame: str, sensor_frame: str,
                       stamp_ns: int) -> tuple[Transform | None, str]:
    """(transform or None for the camera's own frame, the source used); ExtrinsicError from the source."""
    if _name(camera_frame) == _name(sensor_frame):
        return None, "same frame"
    return extrinsics.lookup(camera_frame, sensor_frame, stamp_ns), extrinsics.source
