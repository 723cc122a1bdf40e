"""One frame from camera image to depth, camera model and cloud: the node, bag replay and ``infer`` call it.

No ROS here: BGR arrays and CameraModels in, arrays and CloudPayloads out (``node.frame_path`` wraps
it between messages). The backend is opened lazily for the image's resolution (and reopened when it
changes); the head comes from the calibration, so a new calibration needs no new graph or engine.
``judge_camera`` is the one decision whether a frame's camera serves it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depth_anything_ros.core import InputError
from depth_anything_ros.core.calibration_file import Calibration, load_calibration
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.head import MetricHead, is_inverse, metres_from_raw
from depth_anything_ros.msgs.cloud import CloudBuilder, CloudPayload
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.runtime import BackendCache, DepthBackend
from depth_anything_ros.runtime.backend import DepthOutput

LOG = logging.getLogger(__name__)
# A per-frame head correction (e.g. from a range sensor): (raw output, camera or None) -> the head to apply
# to raw instead of the calibration's, or None to keep it. The pipeline applies it with THE head equation.
Anchor = Callable[[np.ndarray, CameraModel | None], MetricHead | None]
CALIBRATE_HINT = ("relative checkpoint without a calibration: publishing depth/relative only (inverse depth up to "
                  "scale and shift). For metres, set calibration_file to a metric-head calibration (format in "
                  "calibration/README.md), or use a metric checkpoint with metric: true and max_depth")
CALIBRATE_HINT_DA3 = ("relative Depth Anything 3 model without a calibration: publishing depth/relative only (depth "
                      "up to scale, not inverse depth; DA3MONO-LARGE's sky +Inf). For metres, set calibration_file to "
                      "a calibration fitted on this model (model_kind relative-depth, format in "
                      "calibration/README.md), or use model: da3metric-large")


def calibrate_hint(kind: str) -> str:
    """What depth/relative carries for a graph of ``kind`` and how to get metres instead."""
    return CALIBRATE_HINT_DA3 if kind == "relative-depth" else CALIBRATE_HINT


@dataclass
class FrameResult:
    """Outputs of one frame at the published resolution."""

    metric: bool
    depth: np.ndarray | None  # metres, REP 117 values (metric, or relative with a calibration)
    relative: np.ndarray | None  # raw output without a calibration: inverse depth (relative), depth (relative-depth)
    camera: CameraModel | None
    cloud: CloudPayload | None
    image: np.ndarray  # BGR at the published resolution (cloud colour, previews)
    inference_s: float
    kind: str = "relative"  # the graph's output kind (core.head.OUTPUT_KINDS)

    @property
    def preview_kind(self) -> str:
        """What the preview shows: metres when metric (or calibrated), else the graph's own relative output."""
        return "metric" if self.metric else self.kind


@dataclass(frozen=True)
class PreparedFrame:
    """A frame ready for inference: its backend, the image as the graph takes it, its head and K (camera_info's,
    None without one), and the BGR frame and camera that ``DepthPipeline.finish`` publishes from."""

    backend: DepthBackend
    image: np.ndarray
    head: MetricHead
    k: np.ndarray | None
    bgr: np.ndarray
    camera: CameraModel | None
    uncalibrated: bool = False  # camera_info had K = 0 (set by the frame path)


class DepthPipeline:
    """Image -> depth/relative, camera model, cloud; owns the backend and the metric head."""

    def __init__(self, config: PipelineConfig, open_backend: Callable[[tuple[int, int]], DepthBackend],
                 keep: int | None = 1) -> None:
        """``keep``: backends held open, one per resolution (the node: 1, GPU memory; offline tools: None, all)."""
        self.config = config
        self._backends = BackendCache(open_backend, keep=keep)
        self.calibration: Calibration | None = None
        if config.calibration_file:
            self.load_calibration(config.calibration_file)
        self.cloud_options = config.cloud_options()
        self._warned_relative = False
        self._camera_key: tuple | None = None
        self._out_camera: CameraModel | None = None
        self._cloud_builder = CloudBuilder()

    def reconfigure(self, config: PipelineConfig) -> None:
        """Take new run-time values (head limits, cloud options, calibration); the graph stays loaded.

        The calibration is reloaded when ``calibration_file`` changed (an empty value returns to the
        graph's own head). Raises (and keeps the old state) when the new calibration cannot be read.
        """
        calibration = self.calibration
        if config.calibration_file != self.config.calibration_file:
            calibration = load_calibration(config.calibration_file) if config.calibration_file else None
            if calibration is not None and self.backend is not None:
                self._check_calibration(calibration, self.backend)
        cloud_options = config.cloud_options()
        self.config, self.calibration, self.cloud_options = config, calibration, cloud_options
        self._camera_key = None  # output_downscale may have changed
        self._warned_relative = False

    def warm_up(self, image_hw: tuple[int, int]) -> DepthBackend:
        """Open (or build) the backend for ``image_hw`` now, so the first frame does not wait for it."""
        return self._backend_for(tuple(image_hw))

    def load_calibration(self, path: str | Path) -> Calibration:
        """Swap the metric head; checked against the running graph when there is one."""
        calibration = load_calibration(path)
        if self.backend is not None:
            self._check_calibration(calibration, self.backend)
        self.calibration = calibration
        LOG.info("calibration %s: %s head scale %.6g shift %.6g", path, calibration.model_kind, calibration.scale,
                 calibration.shift)
        return calibration

    @staticmethod
    def _check_calibration(calibration: Calibration, backend: DepthBackend) -> None:
        warning = calibration.check_applies_to(backend.info.kind, backend.info.checkpoint_sha256)
        if warning:
            LOG.warning("%s", warning)

    def _backend_for(self, image_hw: tuple[int, int]) -> DepthBackend:
        """The backend for ``image_hw``; a frame of another size never costs the loaded one.

        With a fixed ``onnx`` graph such a frame is refused (InputError); with a checkpoint the graph
        for the new size is opened first and the old one closed only once it works.
        """
        loaded = self.backend
        if loaded is not None and loaded.info.image_hw == image_hw:
            return loaded
        if loaded is not None and self.config.onnx:
            raise InputError("resolution", f"image is {image_hw[1]}x{image_hw[0]} but the onnx graph serves "
                                           f"{loaded.info.image_hw[1]}x{loaded.info.image_hw[0]}; frame refused "
                                           f"(set checkpoint to export graphs per resolution)")
        if loaded is not None:
            LOG.warning("image resolution changed from %dx%d to %dx%d; loading a graph for it (slow once)",
                        *loaded.info.image_hw[::-1], *image_hw[::-1])
        backend = self._backends.get(image_hw)  # the old graph closes only once this one opened
        if self.calibration is not None:
            self._check_calibration(self.calibration, backend)
        return backend

    @property
    def backend(self) -> DepthBackend | None:
        """The loaded backend, if any."""
        return self._backends.latest

    @property
    def metric(self) -> bool:
        kind = self.backend.info.kind if self.backend else ("metric" if self.config.metric else "relative")
        return kind == "metric" or self.calibration is not None

    def head(self, backend: DepthBackend) -> MetricHead:
        if self.calibration is not None:
            return self.calibration.head(self.config.min_depth, self.config.max_range)
        default = backend.info.default_head()
        max_depth = min(default.max_depth, self.config.max_range)
        return MetricHead(default.scale, default.shift, self.config.min_depth, max_depth)

    def judge_camera(self, camera: CameraModel | None, image_hw: tuple[int, int]) -> DepthBackend:
        """THE judgement of a frame's camera (the message's own checks are ``CameraModel.from_msg``'s): its
        size must be the image's, a focal graph (DA3 metric) needs one, and clouds from raw rays
        (``rectified`` false) need a supported distortion model. InputError says why; returns the backend
        for ``image_hw``.
        """
        if camera is not None and (camera.height, camera.width) != tuple(image_hw):
            raise InputError("camera_info", f"camera_info is {camera.width}x{camera.height}, the image "
                                            f"{image_hw[1]}x{image_hw[0]}")
        backend = self._backend_for(tuple(image_hw))
        if camera is None and backend.info.uses_focal:
            raise InputError("intrinsics", f"{backend.info.model} gives metres only with the camera's focal length "
                                           f"(DA3 metric depth scales with it): give calibrated camera_info (K)")
        if camera is not None and self.config.publish_cloud and not self.config.rectified:
            camera.check_distortion()
        return backend

    def process(self, bgr: np.ndarray, camera: CameraModel | None, want_cloud: bool = True,
                anchor: Anchor | None = None) -> FrameResult:
        """Depth for one BGR frame; ``camera`` (from camera_info) is needed for the cloud, and its K for the
        focal length of a DA3 metric graph (InputError without it: see ``judge_camera``).

        ``want_cloud`` False skips building the cloud (the node passes whether anyone subscribes).
        ``anchor`` (see ``Anchor``) may replace the head of this frame. ``prepare``, the backend, ``finish``:
        the multi-camera node runs the middle step for several cameras' frames in one batch.
        """
        frame = self.prepare(bgr, camera)
        started = time.monotonic()
        output = frame.backend.infer(frame.image, frame.head, frame.k)
        return self.finish(frame, output, time.monotonic() - started, want_cloud, anchor)

    def prepare(self, bgr: np.ndarray, camera: CameraModel | None) -> PreparedFrame:
        """Everything before inference: the camera judged, the backend, the image in the graph's order and size
        (checked), this camera's head and K. InputError when the frame cannot be used."""
        backend = self.judge_camera(camera, bgr.shape[:2])
        k = camera.image_k(self.config.rectified) if camera is not None else None
        if backend.info.uses_focal:
            try:
                backend.info.focal_input(k)
            except ValueError as error:
                raise InputError("intrinsics", str(error)) from error
        return PreparedFrame(backend, backend.graph_image(bgr), self.head(backend), k, bgr, camera)

    def finish(self, frame: PreparedFrame, output: DepthOutput, inference_s: float, want_cloud: bool = True,
               anchor: Anchor | None = None) -> FrameResult:
        """Everything after inference: the anchor's head, the published resolution, the cloud."""
        backend, bgr, camera = frame.backend, frame.bgr, frame.camera
        metric, full_depth = self.metric, output.depth
        head = anchor(output.raw, camera) if anchor is not None else None
        if head is not None:
            metric, full_depth = True, metres_from_raw(output.raw, head.scale, head.shift, head.min_depth,
                                                       head.max_depth, is_inverse(backend.info.kind))
        if not metric and not self._warned_relative:
            LOG.warning("%s", calibrate_hint(backend.info.kind))
            self._warned_relative = True
        f = self.config.output_downscale
        depth = full_depth[::f, ::f] if metric else None
        relative = None if metric else output.raw[::f, ::f]
        small = bgr[::f, ::f]
        out_camera = self._output_camera(camera) if camera is not None else None
        cloud = None
        if metric and out_camera is not None and self.config.publish_cloud and want_cloud:
            cloud = self._cloud_builder.build(depth, out_camera, self.cloud_options,
                                              small if self.cloud_options.colour else None)
        return FrameResult(metric, depth, relative, out_camera, cloud, np.ascontiguousarray(small), inference_s,
                           backend.info.kind)

    def _output_camera(self, camera: CameraModel) -> CameraModel:
        """The published camera, reused while camera_info is unchanged (its rays are computed once)."""
        key = (camera.width, camera.height, camera.distortion_model,
               *(m.tobytes() for m in (camera.k, camera.p, camera.d, camera.r)))
        if key != self._camera_key:
            self._camera_key, self._out_camera = key, camera.scaled(self.config.output_downscale)
        return self._out_camera

    def close(self) -> None:
        self._backends.close()
