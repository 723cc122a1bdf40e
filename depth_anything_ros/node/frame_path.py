"""THE frame path: one synchronised (image, camera_info) message pair -> the depth topics' messages.

ROS-free; the node's worker and bag replay both call it, with rclpy's or rosbags' message classes
(a MessageKit builds the outputs). Its steps, in order: decode the image; take the camera from
camera_info (K = 0, an uncalibrated camera, means no camera: depth without camera_info and cloud,
and a DA3 metric graph, which needs the focal length, skips the frame); the pipeline (which judges
the camera once: ``DepthPipeline.judge_camera``), with the optional per-frame ``anchor``; the messages.
A frame that cannot be used is an outcome with the counter it is counted under, not an exception;
any other failure propagates (the node counts it, replay stops).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from depth_anything_ros.core import InputError
from depth_anything_ros.core.camera import CameraModel, info_k
from depth_anything_ros.msgs.images import decode_frame
from depth_anything_ros.msgs.messages import MessageKit
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_io import output_messages
from depth_anything_ros.node.pipeline import Anchor, DepthPipeline, FrameResult
from depth_anything_ros.runtime import DepthBackend

UNCALIBRATED = ("camera_info has K = 0 (an uncalibrated camera): publishing depth without depth/camera_info and "
                "depth/points (a DA3 metric model, which needs the focal length, skips the frame); calibrate the "
                "camera")


def camera_of(info_msg) -> tuple[CameraModel | None, bool]:
    """(camera, uncalibrated) of a CameraInfo message (None: no camera_info). K = 0 gives (None, True);
    otherwise ``CameraModel.from_msg``, which refuses non-finite or non-positive intrinsics (InputError)."""
    if info_msg is None:
        return None, False
    if not info_k(info_msg).any():
        return None, True
    return CameraModel.from_msg(info_msg), False


@dataclass(frozen=True)
class FrameOutcome:
    """What one frame gave: its messages (topic name under ``depth/`` -> message), or why it has none."""

    messages: dict[str, object] = field(default_factory=dict)
    result: FrameResult | None = None
    reason: str = ""  # "" when published; else the InputError kind it is counted under
    detail: str = ""  # the reason in words, for a warning
    uncalibrated: bool = False  # camera_info had K = 0

    @property
    def published(self) -> bool:
        return self.result is not None


class FramePath:
    """Decode, camera, pipeline (owning the backend and head), anchor, messages: one frame at a time."""

    def __init__(self, config: PipelineConfig, open_backend: Callable[[tuple[int, int]], DepthBackend],
                 kit: MessageKit, anchor: Anchor | None = None) -> None:
        self.pipeline = DepthPipeline(config, open_backend)
        self.kit = kit
        self.anchor = anchor  # where a per-frame head correction plugs in (None: the calibration's head)

    def process(self, image_msg, info_msg, want_cloud: bool = True, want_preview: bool = False) -> FrameOutcome:
        """The outcome of one image and its camera_info (None: the input has none)."""
        uncalibrated = False
        try:
            bgr, _ = decode_frame(image_msg)
            camera, uncalibrated = camera_of(info_msg)
            result = self.pipeline.process(bgr, camera, want_cloud=want_cloud, anchor=self.anchor)
        except InputError as error:
            return FrameOutcome(reason=error.kind, detail=str(error), uncalibrated=uncalibrated)
        messages = output_messages(self.kit, image_msg.header, result, want_preview)
        return FrameOutcome(messages, result, uncalibrated=uncalibrated)

    def close(self) -> None:
        self.pipeline.close()
