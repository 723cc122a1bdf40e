"""Messages in and out of one DepthPipeline frame: shared by the node and bag replay.

``output_messages`` turns a FrameResult into the depth topics' messages, keyed by the topic's
name under ``depth/``. Either message implementation works (see MessageKit).
"""

from __future__ import annotations

from depth_anything_ros.msgs.messages import (
    MessageKit,
    bgr_image_msg,
    camera_info_msg,
    float64_array_msg,
    float_image_msg,
    point_cloud_msg,
)
from depth_anything_ros.node.frame_anchor import HEAD_LABEL, AnchorFrame
from depth_anything_ros.node.pipeline import FrameResult
from depth_anything_ros.preview import preview_of

OUTPUT_TYPES = {"image": "sensor_msgs/msg/Image", "camera_info": "sensor_msgs/msg/CameraInfo",
                "points": "sensor_msgs/msg/PointCloud2", "relative": "sensor_msgs/msg/Image",
                "preview": "sensor_msgs/msg/Image", "anchor": "std_msgs/msg/Float64MultiArray"}


def output_messages(kit: MessageKit, header, result: FrameResult, preview: bool = False,
                    anchor: AnchorFrame | None = None) -> dict[str, object]:
    """{'image' | 'relative', 'camera_info', 'points', 'preview', 'anchor'} -> message, for what this frame has.

    Metric results give ``image`` (REP 118 32FC1 metres); relative ones ``relative`` only, never
    the metric topics. ``preview`` (a colourised bgr8 image) is made only when asked for; ``anchor``
    (the live head, a Float64MultiArray in ``frame_anchor.HEAD_FIELDS`` order) when the anchor ran.
    """
    out: dict[str, object] = {}
    if result.metric:
        out["image"] = float_image_msg(kit, header, result.depth)
    else:
        out["relative"] = float_image_msg(kit, header, result.relative)
    if result.camera is not None:
        out["camera_info"] = camera_info_msg(kit, header, result.camera)
    if result.cloud is not None:
        out["points"] = point_cloud_msg(kit, header, result.cloud)
    if preview:
        out["preview"] = bgr_image_msg(kit, header, preview_of(result.relative, result.depth, result.preview_kind))
    if anchor is not None:
        out["anchor"] = float64_array_msg(kit, HEAD_LABEL, anchor.head_values())
    return out
