"""The multi-camera node's cameras (ROS-free): the ``cameras`` parameter parsed, and one object per camera.

A ``CameraUnit`` holds everything that belongs to one camera: its topics, its stamp pairing (``FrameIntake``
feeding the batcher), its frame path (own pipeline: own calibration and head, sharing the engine through
``SharedBackends``), its live anchor (own ``FrameAnchor``: estimator, filter, extrinsic, counters; its feed its own
NS/anchor/<input> or the node's shared one), its counters and its publishers.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from depth_anything_ros.core.transforms import parse_static_transform
from depth_anything_ros.msgs.messages import MessageKit
from depth_anything_ros.node.anchor_status import anchor_status
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_anchor import FrameAnchor
from depth_anything_ros.node.frame_path import FramePath
from depth_anything_ros.node.intake import FrameIntake
from depth_anything_ros.node.stats import Health, NodeStats, Status

TOPIC = re.compile(r"^/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class CameraSpec:
    """One camera of the ``cameras`` parameter: its namespace (outputs under NS/depth/), input topics, calibration
    file ("" : the node's calibration_file) and anchor extrinsic ("": the node's anchor_extrinsic, file or tf)."""

    namespace: str
    image_topic: str
    info_topic: str
    calibration_file: str = ""
    anchor_extrinsic: str = ""

    @property
    def name(self) -> str:
        """The namespace without slashes, for logs and diagnostics."""
        return self.namespace.strip("/") or "camera"

    def topic(self, relative: str) -> str:
        return f"{self.namespace.rstrip('/')}/{relative}"


def _entries(text: str, what: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    try:
        value = yaml.safe_load(text) if text.startswith("[") else text.split(",")
    except yaml.YAMLError as error:
        raise ValueError(f"{what} must be a list like [/front, /rear], got {text!r}: {error}") from error
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list like [/front, /rear], got {text!r}")
    return [str(item).strip() for item in value if str(item).strip()]


def _check_topic(name: str, entry: str) -> str:
    if not TOPIC.match(name):
        raise ValueError(f"cameras entry {entry!r}: {name!r} is not a ROS name (letters, digits, _ and /)")
    return name


def _per_camera(text: str, what: str, form: str, names: list[str]) -> dict[str, str]:
    """'NS=VALUE, NS=VALUE' (or a YAML list of them) -> {NS: VALUE}; NS one of ``names``, each at most once."""
    values: dict[str, str] = {}
    for entry in _entries(text, what):
        namespace, _, value = entry.partition("=")
        namespace = namespace.strip().rstrip("/")
        if not value.strip() or namespace not in names:
            raise ValueError(f"{what} entry {entry!r} must be NS={form} with NS one of {names}")
        if namespace in values:
            raise ValueError(f"{what} names {namespace} twice")
        values[namespace] = value.strip()
    return values


def parse_cameras(cameras: str, calibrations: str = "", anchor_extrinsics: str = "") -> list[CameraSpec]:
    """``cameras`` ('/front, /rear' or '[/front:/front/image_rect:/front/camera_info]') with
    ``camera_calibrations`` ('/front=front.yaml') and ``camera_anchor_extrinsics`` ('/front=X Y Z QX QY QZ QW
    front_optical lidar') -> CameraSpecs, in order; ValueError says what is wrong."""
    specs = []
    for entry in _entries(cameras, "cameras"):
        parts = entry.split(":")
        if len(parts) not in (1, 3):
            raise ValueError(f"cameras entry {entry!r} must be NS or NS:IMAGE_TOPIC:CAMERA_INFO_TOPIC")
        namespace = _check_topic(parts[0].rstrip("/"), entry)
        image, info = (parts[1], parts[2]) if len(parts) == 3 else (f"{namespace}/image", f"{namespace}/camera_info")
        specs.append(CameraSpec(namespace, _check_topic(image, entry), _check_topic(info, entry)))
    if not specs:
        raise ValueError(f"cameras names no camera: {cameras!r}")
    names = [spec.namespace for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"cameras lists a namespace twice: {names}")
    files = _per_camera(calibrations, "camera_calibrations", "FILE", names)
    extrinsics = _per_camera(anchor_extrinsics, "camera_anchor_extrinsics",
                             "X Y Z QX QY QZ QW [CAMERA_FRAME SENSOR_FRAME]", names)
    for namespace, text in extrinsics.items():
        try:
            parse_static_transform(text)
        except ValueError as error:
            raise ValueError(f"camera_anchor_extrinsics for {namespace}: {error}") from error
    return [dataclasses.replace(spec, calibration_file=files.get(spec.namespace, ""),
                                anchor_extrinsic=extrinsics.get(spec.namespace, "")) for spec in specs]


def camera_config(config: PipelineConfig, spec: CameraSpec) -> PipelineConfig:
    """The node's config as one camera sees it: its own calibration file and anchor extrinsic where it has them."""
    own = {name: value for name, value in (("calibration_file", spec.calibration_file),
                                           ("anchor_extrinsic", spec.anchor_extrinsic)) if value}
    return dataclasses.replace(config, **own) if own else config


class CameraUnit:
    """One camera of the multi-camera node: topics, pairing, frame path, live anchor, counters, publishers."""

    def __init__(self, spec: CameraSpec, slot: Any, slop_s: float, anchor: FrameAnchor | None = None) -> None:
        self.spec = spec
        self.intake = FrameIntake(slop_s, slot=slot)
        self.stats = NodeStats()
        self.anchor = anchor  # outlives the frame path (lifecycle cleanup keeps its messages and counters)
        self.frame_path: FramePath | None = None
        self.publishers: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    def open(self, config: PipelineConfig, open_backend: Callable, kit: MessageKit) -> None:
        """The camera's frame path (reading its calibration); ``open_backend`` lends the shared engines."""
        self.frame_path = FramePath(camera_config(config, self.spec), open_backend, kit, self.anchor)

    def statuses(self, now_ns: int, health: Health) -> list[Status]:
        """This camera's diagnostics: its frame counters and, with the live anchor, its anchor."""
        statuses = self.stats.report(now_ns, health)
        if self.anchor is not None:
            statuses.append(anchor_status(self.anchor.report(), now_ns, health.state == "active"))
        return statuses

    def subscribed(self, name: str) -> bool:
        publisher = self.publishers.get(name)
        return publisher is not None and publisher.get_subscription_count() > 0

    def publish(self, messages: dict[str, object]) -> None:
        for name, msg in messages.items():
            publisher = self.publishers.get(name)
            if publisher is not None:
                publisher.publish(msg)

    def close(self) -> None:
        if self.frame_path is not None:
            self.frame_path.close()
