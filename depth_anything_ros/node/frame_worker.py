"""The node's work below rclpy: frames in from the subscription callbacks, the inference thread, the
frame path, and what it counts and logs (ROS-free).

``ros_node.DepthNodeCore`` adds the ROS wiring (parameters, QoS, topics, timers, diagnostics, lifecycle):
it supplies the clock headers are stamped with, the publishers (objects with ``publish``) and whether a
topic has subscribers, so the cloud and preview are only built for someone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from depth_anything_ros.core import stamp_ns
from depth_anything_ros.export import read_graph_info
from depth_anything_ros.msgs.messages import MessageKit
from depth_anything_ros.node.anchor_extrinsics import Extrinsics
from depth_anything_ros.node.anchor_feed import AnchorFeed
from depth_anything_ros.node.anchor_status import anchor_status
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_anchor import FrameAnchor, Log
from depth_anything_ros.node.frame_path import UNCALIBRATED, FramePath
from depth_anything_ros.node.intake import FrameIntake, Losses
from depth_anything_ros.node.node_log import NodeLog
from depth_anything_ros.node.parameters import apply_changes
from depth_anything_ros.node.pipeline import DepthPipeline
from depth_anything_ros.node.stats import Health, NodeStats, Status


class FrameWorker:
    """Frames from callbacks to publishers through one FramePath, on a worker thread; counts and logs."""

    def __init__(self, config: PipelineConfig, logger, open_backend: Callable, kit: MessageKit) -> None:
        self.config = config
        self.logger = logger
        self.log = NodeLog(logger)
        self.log.forward_package_logging()
        self._open_backend = open_backend
        self.kit = kit
        self.stats = NodeStats()
        self.intake = FrameIntake(config.pairing_slop_s())
        self._pipeline_lock = threading.Lock()
        self.frame_path: FramePath | None = None
        self.publishers: dict[str, Any] = {}
        self.processing = False
        self._worker: threading.Thread | None = None
        self.backend_text = "not loaded"
        self.worker_failures = 0
        self._tf: Extrinsics | None = None
        self._tf_asked = False
        # the live anchor outlives the pipeline (lifecycle cleanup and configure keep its messages and counters)
        self.anchor = self._node_anchor(config)

    # ---- what the ROS side supplies -----------------------------------------------------------------
    def _now_ns(self) -> int:
        """Now on the clock the camera stamps its headers with (the node: its ROS clock)."""
        return time.time_ns()

    def subscribed(self, name: str) -> bool:
        """Whether depth/<name> has subscribers (its publisher's ``get_subscription_count``)."""
        publisher = self.publishers.get(name)
        return publisher is not None and publisher.get_subscription_count() > 0

    def _node_anchor(self, config: PipelineConfig) -> FrameAnchor | None:
        """The live anchor of the node's one camera (None: off); the multi-camera worker gives each camera its own."""
        return self._make_anchor(config) if config.anchor_input != "none" else None

    def _make_anchor(self, config: PipelineConfig, feed: AnchorFeed | None = None,
                     log: Log | None = None) -> FrameAnchor:
        """A live anchor; tf only where no extrinsic parameter or file is given (a listener costs /tf traffic), and
        one tf listener for the node however many cameras ask."""
        tf = None
        if not (config.anchor_extrinsic or config.anchor_extrinsics_file):
            if not self._tf_asked:
                self._tf, self._tf_asked = self.tf_extrinsics(), True
            tf = self._tf
        return FrameAnchor(config, tf, log or self._anchor_log, feed)

    def tf_extrinsics(self) -> Extrinsics | None:
        """tf as the anchor's extrinsic source, where the ROS side has it (the node: tf2_ros if importable)."""
        return None

    @property
    def state(self) -> str:
        """The lifecycle state label ("active" while processing)."""
        return "active" if self.processing else "inactive"

    # ---- pipeline and backend ------------------------------------------------------------------
    @property
    def pipeline(self) -> DepthPipeline | None:
        return self.frame_path.pipeline if self.frame_path is not None else None

    @property
    def sync(self):
        return self.intake.sync

    def open_pipeline(self) -> None:
        """Create the frame path (reading the calibration) and load the engine when the resolution is known."""
        with self._pipeline_lock:
            self.frame_path = FramePath(self.config, self._open_for, self.kit, self.anchor)
        self.warm_up()

    def startup_resolution(self) -> tuple[int, int] | None:
        """image_width x image_height, or the onnx graph's own resolution; None: wait for the first frame."""
        if self.config.expected_image_hw():
            return self.config.expected_image_hw()
        if self.config.onnx:
            return read_graph_info(self.config.onnx).image_hw
        return None

    def warm_up(self) -> None:
        image_hw = self.startup_resolution()
        if image_hw is None:
            self.logger.info("camera resolution unknown until the first frame: the engine loads then "
                             "(set image_width and image_height to load it at start)")
            return
        with self._pipeline_lock:
            self.pipeline.warm_up(image_hw)

    def _open_for(self, image_hw: tuple[int, int]):
        backend = self._open_backend(self.config.backend_config(), image_hw)
        self._backend_ready(backend, image_hw, "backend ready")
        return backend

    def _backend_ready(self, backend, image_hw: tuple[int, int], what: str) -> None:
        """Say which backend now runs the graph (diagnostics' hardware text and one log line)."""
        device = getattr(backend, "device", None) or getattr(backend, "providers", None) or \
            f"cuda:{self.config.device_index}"
        batches = f", batches of 1...{backend.info.max_batch}" if backend.info.max_batch else ""
        self.backend_text = (f"{backend.name} on {device} for {image_hw[1]}x{image_hw[0]}{batches} "
                             f"({backend.info.model_name}, {backend.info.kind})")
        self.logger.info(f"{what}: {self.backend_text}")

    def close_backend(self) -> None:
        """Free the engine and its GPU memory; the pipeline reopens it on the next frame or warm_up."""
        with self._pipeline_lock:
            if self.frame_path is not None:
                self.frame_path.close()
        self.backend_text = "not loaded"

    def close_pipeline(self) -> None:
        self.close_backend()
        with self._pipeline_lock:
            self.frame_path = None

    # ---- the worker -------------------------------------------------------------------------------
    def start(self, thread: bool = True) -> None:
        """Accept frames; ``thread`` False leaves calling ``process_next`` to the caller (tests)."""
        self.intake.open()
        self.processing = True
        self.stats.restart(time.monotonic_ns())
        if thread:
            self._worker = threading.Thread(target=self._work, name="depth_inference", daemon=True)
            self._worker.start()

    def stop(self) -> None:
        """Stop accepting frames and wait for the frame in flight."""
        self.processing = False
        self.intake.close()
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        self.intake.clear()

    @property
    def worker_alive(self) -> bool:
        return self._worker is None or self._worker.is_alive()

    def _work(self) -> None:
        """Process frames until stopped; an exception costs its frame (counted, logged), never the thread."""
        while self.processing:
            try:
                self.process_next(timeout=0.1)
            except Exception as error:  # the worker must outlive any one frame
                if not self.processing:
                    return  # shutting down: the context may already be gone
                self.worker_failures += 1
                self.stats.dropped("failed", now_ns=time.monotonic_ns())
                self.report_error("worker", f"frame lost to an unexpected error ({type(error).__name__}: "
                                            f"{error}); processing the next frame")

    def process_next(self, timeout: float | None = 0.0) -> bool:
        """Take the pending frame (waiting up to ``timeout``) and publish its outputs; False if none."""
        item = self.intake.take(timeout)
        if item is None:
            return False
        self.handle(*item)
        return True

    # ---- callbacks --------------------------------------------------------------------------------
    def on_image(self, msg) -> None:
        if self.processing:
            self.stats.frame_received(time.monotonic_ns())
            self._count(self.intake.add_image(stamp_ns(msg.header), msg))

    def on_camera_info(self, msg) -> None:
        if self.processing:
            self._count(self.intake.add_info(stamp_ns(msg.header), msg))

    def on_anchor(self, msg) -> None:
        """An anchor message (PointCloud2, LaserScan or Range): filed by stamp only, never converted here."""
        if self.processing and self.anchor is not None:
            self.anchor.add_message(msg)

    def _count(self, losses: Losses) -> None:
        """Count and warn about the frames one message cost."""
        if losses.went_back_s is not None:
            self.stats.dropped("stamp_reset", losses.discarded, now_ns=time.monotonic_ns())
            self.input_error("stamp", f"image stamp went back {losses.went_back_s:.3f} s (a bag loop or a clock "
                                      f"jump?); {losses.discarded} pending frame(s) discarded")
        if losses.unmatched:
            self.stats.dropped("no_camera_info", losses.unmatched, now_ns=time.monotonic_ns())
            how = "the same stamp (sync exact); is camera_info published, or is sync: approximate needed?" \
                if self.config.sync == "exact" else f"a stamp within sync_slop {self.config.sync_slop} s; is " \
                f"camera_info published, or is a larger sync_slop needed?"
            self.warn("no_camera_info", f"{losses.unmatched} image(s) found no camera_info with {how}")
        if losses.superseded:
            self.stats.dropped("superseded", losses.superseded)

    def handle(self, stamp: int, image_msg, info_msg) -> None:
        """One synchronised frame: age check, the frame path, publish. Bad input is counted, not fatal."""
        age_s = (self._now_ns() - stamp) / 1e9
        if self.config.max_age and age_s > self.config.max_age:
            self.stats.dropped("stale", now_ns=time.monotonic_ns())
            self.warn("stale", f"dropped a frame {age_s:.3f} s old (max_age {self.config.max_age} s): inference "
                               f"is slower than the camera, or the camera clock is not this node's clock "
                               f"(max_age 0 keeps every frame)")
            return
        try:
            with self._pipeline_lock:
                if self.frame_path is None:
                    return
                outcome = self.frame_path.process(image_msg, info_msg, self.subscribed("points"),
                                                  self.subscribed("preview"))
        except Exception as error:
            self.stats.dropped("failed", now_ns=time.monotonic_ns())
            self.report_error("failed", f"inference failed on frame {stamp / 1e9:.3f}: {error}")
            return
        if outcome.uncalibrated:
            self.warn("uncalibrated", UNCALIBRATED)
        if not outcome.published:
            self.input_error(outcome.reason, f"frame {stamp / 1e9:.3f} skipped: {outcome.detail}")
            return
        for name, msg in outcome.messages.items():
            publisher = self.publishers.get(name)
            if publisher is not None:
                publisher.publish(msg)
        self.stats.frame_published(time.monotonic_ns(), (self._now_ns() - stamp) / 1e9,
                                   outcome.result.inference_s)

    # ---- warnings, parameters, health --------------------------------------------------------------
    def warn(self, kind: str, text: str) -> None:
        """A warning of this kind at most every 5 s, with the count of those held back."""
        self.log.warn(kind, text)

    def report_error(self, kind: str, text: str) -> None:
        """An error of this kind at most every 5 s."""
        self.log.error(kind, text)

    def _anchor_log(self, level: str, kind: str, text: str) -> None:
        {"info": self.log.info, "error": self.log.error}.get(level, self.log.warn)(kind, text)

    def input_error(self, kind: str, text: str) -> None:
        self.stats.input_error(kind, time.monotonic_ns())
        self.warn(kind, text)

    def reconfigure(self, changes: dict[str, Any]) -> None:
        """Apply run-time parameter changes as a whole (calibration reload included); ValueError says why not."""
        config = apply_changes(self.config, changes)
        with self._pipeline_lock:
            prepared = self.anchor.prepare(config) if self.anchor is not None else None
            if self.pipeline is not None:
                self.pipeline.reconfigure(config)
            if self.anchor is not None:
                self.anchor.commit(prepared)
        self.config = config
        self.intake.set_slop(config.pairing_slop_s())

    def health(self) -> Health:
        config = self.config
        return Health(state=self.state, worker_alive=self.worker_alive, backend=self.backend_text,
                      stale_input_s=config.diag_stale_input_s, min_rate=config.diag_min_rate,
                      max_rate=config.diag_max_rate, max_latency_s=config.diag_max_latency,
                      drop_fraction=config.diag_drop_fraction)

    def statuses(self, now_ns: int) -> list[Status]:
        """Every diagnostics status: the node's (``NodeStats.report``) and, with an anchor, the anchor's."""
        statuses = self.stats.report(now_ns, self.health())
        if self.anchor is not None:
            statuses.append(anchor_status(self.anchor.report(), now_ns, self.state == "active"))
        return statuses

    def shutdown(self) -> None:
        self.stop()
        self.close_pipeline()
        self.log.stop_forwarding()
