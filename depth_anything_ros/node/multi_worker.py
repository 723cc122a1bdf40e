"""The multi-camera node's work below rclpy: N cameras, one batched engine per resolution, one worker thread.

Each cycle the fair batcher (``batcher``) hands over the newest synchronised frame of every camera that had one
within ``batch_window_ms``. Every frame is prepared on its own (decode, camera, head: ``FramePath.prepare``),
so a bad frame costs only its camera's slot; the good ones run as one batch per resolution; each camera's
messages are built by its own frame path (its stamp, frame_id, camera_info, cloud) and published under its
namespace. What a camera lost is counted in its own statistics (its diagnostics) and in the node's.

With the live anchor each camera has its own ``FrameAnchor`` (estimator, filter, extrinsic, counters, depth/anchor),
run by its own frame path after the batch, exactly as a single-camera node runs it. Its messages come from its own
NS/anchor/<input>, or with ``anchor_shared`` from the node's one anchor/<input> (a robot's one LiDAR), a feed all
cameras read, each placing the points with its own extrinsic (``camera_anchor_extrinsics``, else the node's
``anchor_extrinsic``, ``anchor_extrinsics_file`` or tf, looked up for the camera's own frame_id).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from depth_anything_ros.core.stamps import stamp_ns
from depth_anything_ros.msgs.messages import MessageKit
from depth_anything_ros.node.anchor_feed import ANCHOR_TOPICS, AnchorFeed
from depth_anything_ros.node.batcher import FairBatcher
from depth_anything_ros.node.cameras import CameraSpec, CameraUnit, camera_config, parse_cameras
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_anchor import FrameAnchor
from depth_anything_ros.node.frame_path import UNCALIBRATED, FrameOutcome
from depth_anything_ros.node.frame_worker import FrameWorker
from depth_anything_ros.node.parameters import apply_changes
from depth_anything_ros.node.pipeline import DepthPipeline
from depth_anything_ros.runtime.shared_backends import SharedBackends


class MultiCameraWorker(FrameWorker):
    """FrameWorker for the cameras of ``config.cameras``: per-camera intake and frame path, batched inference."""

    def __init__(self, config: PipelineConfig, logger, open_backend: Callable, kit: MessageKit) -> None:
        super().__init__(config, logger, open_backend, kit)
        specs = parse_cameras(config.cameras, config.camera_calibrations, config.camera_anchor_extrinsics)
        self.batcher = FairBatcher([spec.name for spec in specs], config.batch_window_ms / 1000.0)
        anchored = config.anchor_input != "none"
        # anchor_shared: the node's one anchor/<input> (e.g. the robot's LiDAR) feeds every camera's anchor
        self.shared_feed = AnchorFeed(config.anchor_input, config.anchor_config(), config.anchor_max_cloud_points) \
            if anchored and config.anchor_shared else None
        self.cameras = [CameraUnit(spec, self.batcher.slot(spec.name), config.pairing_slop_s(),
                                   self._camera_anchor(config, spec) if anchored else None) for spec in specs]
        self.by_name = {camera.name: camera for camera in self.cameras}
        self.backends = SharedBackends(self._open_for)
        self.batches = 0

    def _node_anchor(self, config: PipelineConfig) -> FrameAnchor | None:
        return None  # each camera has its own (``_camera_anchor``)

    def _camera_anchor(self, config: PipelineConfig, spec: CameraSpec) -> FrameAnchor:
        """One camera's live anchor: its own estimator and extrinsic; its own feed (NS/anchor/<input>) or the
        shared one; its log lines and throttling prefixed with its name."""
        own = camera_config(config, spec)
        feed = self.shared_feed or AnchorFeed(own.anchor_input, own.anchor_config(), own.anchor_max_cloud_points,
                                              spec.topic(ANCHOR_TOPICS[own.anchor_input][0]))

        def log(level: str, kind: str, text: str) -> None:
            self._anchor_log(level, f"{spec.name}:{kind}", f"{spec.name}: {text}")
        return self._make_anchor(own, feed, log)

    @property
    def max_batch(self) -> int:
        return len(self.cameras)

    # ---- pipeline and backend ------------------------------------------------------------------
    @property
    def pipeline(self) -> DepthPipeline | None:
        """The first camera's pipeline (what the graph is; every camera's runs the same one)."""
        path = self.cameras[0].frame_path
        return path.pipeline if path is not None else None

    def open_pipeline(self) -> None:
        with self._pipeline_lock:
            for camera in self.cameras:
                camera.open(self.config, self.backends.borrow, self.kit)
        self.warm_up()

    def warm_up(self) -> None:
        image_hw = self.startup_resolution()
        if image_hw is None:
            self.logger.info("camera resolution unknown until the first frames: engines load then (set image_width "
                             "and image_height to load the shared one at start)")
            return
        with self._pipeline_lock:
            for camera in self.cameras:
                camera.frame_path.pipeline.warm_up(image_hw)

    def _open_for(self, image_hw: tuple[int, int]):
        backend = self._open_backend(self.config.backend_config(), image_hw, max_batch=self.max_batch)
        self._backend_ready(backend, image_hw, f"backend ready for {len(self.cameras)} cameras")
        return backend

    def close_backend(self) -> None:
        with self._pipeline_lock:
            for camera in self.cameras:
                camera.close()
            self.backends.close()
        self.backend_text = "not loaded"

    def close_pipeline(self) -> None:
        self.close_backend()
        with self._pipeline_lock:
            for camera in self.cameras:
                camera.frame_path = None

    # ---- the worker -------------------------------------------------------------------------------
    def start(self, thread: bool = True) -> None:
        now = time.monotonic_ns()
        for camera in self.cameras:
            camera.stats.restart(now)
        super().start(thread)

    def stop(self) -> None:
        self.processing = False
        self.batcher.close()
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        for camera in self.cameras:
            camera.intake.clear()
        self.batcher.reopen()

    def process_next(self, timeout: float | None = 0.0) -> bool:
        """Take the next cycle's frames (waiting up to ``timeout`` for the first) and publish them; False if none."""
        batch = self.batcher.take(timeout)
        if not batch:
            return False
        self.handle_batch(batch)
        return True

    # ---- callbacks --------------------------------------------------------------------------------
    def on_camera_image(self, camera: CameraUnit, msg) -> None:
        if self.processing:
            now = time.monotonic_ns()
            camera.stats.frame_received(now)
            self.stats.frame_received(now)
            self._count_for(camera, camera.intake.add_image(_stamp(msg), msg))

    def on_camera_info_of(self, camera: CameraUnit, msg) -> None:
        if self.processing:
            self._count_for(camera, camera.intake.add_info(_stamp(msg), msg))

    def on_camera_anchor(self, camera: CameraUnit, msg) -> None:
        """A message on the camera's own NS/anchor/<input>: filed by stamp only."""
        if self.processing and camera.anchor is not None:
            camera.anchor.add_message(msg)

    def on_anchor(self, msg) -> None:
        """A message on the node's shared anchor/<input> (``anchor_shared``): filed once for every camera."""
        if self.processing and self.shared_feed is not None:
            self.shared_feed.add(msg)

    def _count_for(self, camera: CameraUnit, losses) -> None:
        now = time.monotonic_ns()
        if losses.went_back_s is not None:
            self._drop(camera, "stamp_reset", f"image stamp went back {losses.went_back_s:.3f} s; "
                                              f"{losses.discarded} pending frame(s) discarded", losses.discarded)
        if losses.unmatched:
            self._drop(camera, "no_camera_info", f"{losses.unmatched} image(s) found no camera_info with the same "
                                                 "stamp (or within sync_slop with sync approximate)", losses.unmatched)
        if losses.superseded:
            camera.stats.dropped("superseded", losses.superseded, now_ns=now)
            self.stats.dropped("superseded", losses.superseded, now_ns=now)

    def _drop(self, camera: CameraUnit, reason: str, text: str, count: int = 1) -> None:
        now = time.monotonic_ns()
        camera.stats.dropped(reason, count, now_ns=now)
        self.stats.dropped(reason, count, now_ns=now)
        self.warn(f"{camera.name}:{reason}", f"{camera.name}: {text}")

    def _input_error(self, camera: CameraUnit, kind: str, text: str) -> None:
        now = time.monotonic_ns()
        camera.stats.input_error(kind, now)
        self.stats.input_error(kind, now)
        self.warn(f"{camera.name}:{kind}", f"{camera.name}: {text}")

    def handle_batch(self, batch: dict[str, tuple[int, Any, Any]]) -> None:
        """One cycle: prepare each camera's frame on its own, infer each resolution's frames as one batch,
        publish each camera's outputs. A camera's bad frame or failure skips only its slot."""
        with self._pipeline_lock:
            if any(camera.frame_path is None for camera in self.cameras):
                return
            groups: dict[int, list] = {}
            for name, (stamp, image_msg, info_msg) in batch.items():
                camera = self.by_name[name]
                prepared = self._prepare(camera, stamp, image_msg, info_msg)
                if prepared is not None:
                    groups.setdefault(id(prepared.backend.shared), []).append((camera, stamp, image_msg, prepared))
            for members in groups.values():
                self._run_group(members)
        self.batches += 1

    def _prepare(self, camera: CameraUnit, stamp: int, image_msg, info_msg):
        age_s = (self._now_ns() - stamp) / 1e9
        if self.config.max_age and age_s > self.config.max_age:
            self._drop(camera, "stale", f"dropped a frame {age_s:.3f} s old (max_age {self.config.max_age} s)")
            return None
        try:
            prepared = camera.frame_path.prepare(image_msg, info_msg)
        except Exception as error:
            self._drop(camera, "failed", f"frame {stamp / 1e9:.3f} failed before inference: {error}")
            return None
        if isinstance(prepared, FrameOutcome):
            if prepared.uncalibrated:
                self.warn(f"{camera.name}:uncalibrated", f"{camera.name}: {UNCALIBRATED}")
            self._input_error(camera, prepared.reason, f"frame {stamp / 1e9:.3f} skipped: {prepared.detail}")
            return None
        if prepared.uncalibrated:
            self.warn(f"{camera.name}:uncalibrated", f"{camera.name}: {UNCALIBRATED}")
        return prepared

    def _run_group(self, members: list) -> None:
        """One batch through the shared backend, then each camera's messages."""
        frames = [member[3] for member in members]
        started = time.monotonic()
        try:
            outputs = frames[0].backend.infer_batch([f.image for f in frames], [f.head for f in frames],
                                                    [f.k for f in frames])
        except Exception as error:
            for camera, stamp, _, _ in members:
                self._drop(camera, "failed", f"inference failed on frame {stamp / 1e9:.3f}: {error}")
            return
        inference_s = time.monotonic() - started
        for (camera, stamp, image_msg, frame), output in zip(members, outputs, strict=True):
            try:
                outcome = camera.frame_path.finish(image_msg, frame, output, inference_s, camera.subscribed("points"),
                                                   camera.subscribed("preview"))
            except Exception as error:
                self._drop(camera, "failed", f"outputs failed on frame {stamp / 1e9:.3f}: {error}")
                continue
            camera.publish(outcome.messages)
            now = time.monotonic_ns()
            latency_s = (self._now_ns() - stamp) / 1e9
            camera.stats.frame_published(now, latency_s, inference_s)
            self.stats.frame_published(now, latency_s, inference_s)

    # ---- parameters -------------------------------------------------------------------------------
    def reconfigure(self, changes: dict[str, Any]) -> None:
        config = apply_changes(self.config, changes)
        with self._pipeline_lock:
            # every camera's anchor settings are checked before anything changes (ValueError: none changed)
            prepared = [camera.anchor.prepare(camera_config(config, camera.spec)) if camera.anchor is not None
                        else None for camera in self.cameras]
            for camera, anchor_settings in zip(self.cameras, prepared, strict=True):
                if camera.frame_path is not None:
                    camera.frame_path.pipeline.reconfigure(camera_config(config, camera.spec))
                if camera.anchor is not None:
                    camera.anchor.commit(anchor_settings)
        self.config = config
        self.batcher.window_s = config.batch_window_ms / 1000.0
        for camera in self.cameras:
            camera.intake.set_slop(config.pairing_slop_s())


def _stamp(msg) -> int:
    return stamp_ns(msg.header)
