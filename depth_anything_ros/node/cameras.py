"""The multi-camera node's cameras (ROS-free): the ``cameras`` parameter parsed, and one object per camera.

A ``CameraUnit`` holds everything that belongs to one camera: its topics, its stamp pairing (``FrameIntake``
feeding the batcher), its frame path (own pipeline: own calibration and head, sharing the engine through
``SharedBackends``), its counters and its publishers. Whatever else a camera gets later (its own anchor)
attaches here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from depth_anything_ros.msgs.messages import MessageKit
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_path import FramePath
from depth_anything_ros.node.intake import FrameIntake
from depth_anything_ros.node.stats import NodeStats

TOPIC = re.compile(r"^/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class CameraSpec:
    """One camera of the ``cameras`` parameter: its namespace (outputs under NS/depth/), input topics and
    calibration file ("" : the node's calibration_file)."""

    namespace: str
    image_topic: str
    info_topic: str
    calibration_file: str = ""

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


def parse_cameras(cameras: str, calibrations: str = "") -> list[CameraSpec]:
    """``cameras`` ('/front, /rear' or '[/front:/front/image_rect:/front/camera_info]') with
    ``camera_calibrations`` ('/front=front.yaml') -> CameraSpecs, in order; ValueError says what is wrong."""
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
    files = {}
    for entry in _entries(calibrations, "camera_calibrations"):
        namespace, _, path = entry.partition("=")
        namespace = namespace.strip().rstrip("/")
        if not path.strip() or namespace not in names:
            raise ValueError(f"camera_calibrations entry {entry!r} must be NS=FILE with NS one of {names}")
        files[namespace] = path.strip()
    return [dataclasses.replace(spec, calibration_file=files.get(spec.namespace, "")) for spec in specs]


def camera_config(config: PipelineConfig, spec: CameraSpec) -> PipelineConfig:
    """The node's config as one camera sees it: its own calibration file where it has one."""
    if not spec.calibration_file:
        return config
    return dataclasses.replace(config, calibration_file=spec.calibration_file)


class CameraUnit:
    """One camera of the multi-camera node: topics, pairing, frame path, counters, publishers."""

    def __init__(self, spec: CameraSpec, slot: Any, slop_s: float) -> None:
        self.spec = spec
        self.intake = FrameIntake(slop_s, slot=slot)
        self.stats = NodeStats()
        self.frame_path: FramePath | None = None
        self.publishers: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    def open(self, config: PipelineConfig, open_backend: Callable, kit: MessageKit) -> None:
        """The camera's frame path (reading its calibration); ``open_backend`` lends the shared engines."""
        self.frame_path = FramePath(camera_config(config, self.spec), open_backend, kit)

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
