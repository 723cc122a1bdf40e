"""THE frame path: one synchronised (image, camera_info) message pair -> the depth topics' messages.

ROS-free; the node's worker and bag replay both call it, with rclpy's or rosbags' message classes
(a MessageKit builds the outputs). Its steps, in order: decode the image; take the camera from
camera_info (K = 0, an uncalibrated camera, means no camera: depth without camera_info and cloud,
and a DA3 metric graph, which needs the focal length, skips the frame); the pipeline (which judges
the camera once: ``DepthPipeline.judge_camera``), with the optional live anchor (``FrameAnchor``: fitted to this
frame's raw output after inference, its head applied on the host); the messages (and ``anchor``, the live head).
A frame that cannot be used is an outcome with the counter it is counted under, not an exception;
any other failure propagates (the node counts it, replay stops).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from depth_anything_ros.core import InputError
from depth_anything_ros.core.anchor import AnchorState
from depth_anything_ros.core.camera import CameraModel, info_k
from depth_anything_ros.core.head import MetricHead
from depth_anything_ros.core.stamps import stamp_ns
from depth_anything_ros.msgs.images import decode_frame
from depth_anything_ros.msgs.messages import MessageKit
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_anchor import AnchorFrame, FrameAnchor
from depth_anything_ros.node.frame_io import output_messages
from depth_anything_ros.node.pipeline import Anchor, DepthPipeline, FrameResult, PreparedFrame
from depth_anything_ros.runtime import DepthBackend
from depth_anything_ros.runtime.backend import DepthOutput

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
    anchor: AnchorFrame | None = None  # the live anchor's step for this frame (None: no anchor, or no inference)

    @property
    def published(self) -> bool:
        return self.result is not None


class FramePath:
    """Decode, camera, pipeline (owning the backend and head), anchor, messages: one frame at a time."""

    def __init__(self, config: PipelineConfig, open_backend: Callable[[tuple[int, int]], DepthBackend],
                 kit: MessageKit, anchor: FrameAnchor | None = None) -> None:
        self.pipeline = DepthPipeline(config, open_backend)
        self.kit = kit
        self.anchor = anchor  # the live anchor (None: the calibration's head, or the graph's own)

    def _anchor_hook(self, header, frame: PreparedFrame, steps: list[AnchorFrame]) -> Anchor:
        """The pipeline's per-frame head hook for this image: the live anchor's head (None: the frame's own)."""
        stamp, frame_id = stamp_ns(header), str(header.frame_id)

        def hook(raw, camera) -> MetricHead | None:
            head = frame.head  # the calibration's (or the graph's) head with the published range limits
            fallback = head if self.pipeline.calibration is not None else None
            step = self.anchor.update(raw, camera, stamp, frame_id, frame.backend.info.kind, fallback,
                                      (head.min_depth, head.max_depth))
            if step is None:  # the anchor step failed (logged and counted): the frame's own head
                return None
            steps.append(step)
            # fallen back: the graph already applied the calibration's (or its own) head, no host pass needed
            return step.result.head if step.result.state in (AnchorState.LIVE, AnchorState.HELD) else None
        return hook

    def process(self, image_msg, info_msg, want_cloud: bool = True, want_preview: bool = False) -> FrameOutcome:
        """The outcome of one image and its camera_info (None: the input has none)."""
        frame = self.prepare(image_msg, info_msg)
        if isinstance(frame, FrameOutcome):
            return frame
        started = time.monotonic()
        output = frame.backend.infer(frame.image, frame.head, frame.k)
        return self.finish(image_msg, frame, output, time.monotonic() - started, want_cloud, want_preview)

    def prepare(self, image_msg, info_msg) -> PreparedFrame | FrameOutcome:
        """Decode and judge one frame for inference (``process``'s first step; the multi-camera node batches the
        next one): the prepared frame, or the outcome saying why it cannot be used."""
        uncalibrated = False
        try:
            bgr, _ = decode_frame(image_msg)
            camera, uncalibrated = camera_of(info_msg)
            frame = self.pipeline.prepare(bgr, camera)
        except InputError as error:
            return FrameOutcome(reason=error.kind, detail=str(error), uncalibrated=uncalibrated)
        return replace(frame, uncalibrated=uncalibrated)

    def finish(self, image_msg, frame: PreparedFrame, output: DepthOutput, inference_s: float,
               want_cloud: bool = True, want_preview: bool = False) -> FrameOutcome:
        """The messages of a prepared frame from its inference output (``process``'s last step), the live
        anchor's step included."""
        steps: list[AnchorFrame] = []
        hook = self._anchor_hook(image_msg.header, frame, steps) if self.anchor is not None else None
        result = self.pipeline.finish(frame, output, inference_s, want_cloud=want_cloud, anchor=hook)
        step = steps[0] if steps else None
        messages = output_messages(self.kit, image_msg.header, result, want_preview, step)
        return FrameOutcome(messages, result, uncalibrated=frame.uncalibrated, anchor=step)

    def close(self) -> None:
        self.pipeline.close()
