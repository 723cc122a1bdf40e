"""The ROS 2 node: camera images in, REP 118 metric depth, camera info and point clouds out.

``depth_node`` (a plain node) and ``depth_lifecycle_node`` (managed: configure loads the engine,
activate starts processing, deactivate and cleanup free the GPU) share ``DepthNodeCore``. All the
work below rclpy (decoding, the pipeline, messages, counters) lives in ROS-free modules; this file
is wiring only, and the only one that imports rclpy.

Topics, relative to the node's namespace (remap as usual):
  in:  image (sensor_msgs/Image) or image/compressed (use_compressed), camera_info
  out: depth/image, depth/camera_info, depth/points, depth/relative, depth/preview (when subscribed)
"""

from __future__ import annotations

import copy
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from depth_anything_ros.core.errors import InputError
from depth_anything_ros.core.stamps import stamp_ns
from depth_anything_ros.core.sync import StampSynchronizer
from depth_anything_ros.export.graph_info import GraphInfo, read_graph_info
from depth_anything_ros.model.da3_spec import DA3_NAMES, checkpoint_is_metric, uses_da3
from depth_anything_ros.msgs.images import decode_frame
from depth_anything_ros.msgs.messages import MessageKit, rclpy_kit
from depth_anything_ros.node.config import Knob, PipelineConfig, knobs
from depth_anything_ros.node.frame_io import output_messages
from depth_anything_ros.node.frame_slot import LatestFrameSlot
from depth_anything_ros.node.parameters import apply_changes, float_range, integer_range
from depth_anything_ros.node.pipeline import DepthPipeline
from depth_anything_ros.node.stats import ERROR, OK, WARN, Health, NodeStats, WarningThrottle
from depth_anything_ros.node.transport import check_transport
from depth_anything_ros.runtime import factory

NODE_NAME = "depth_anything_ros"
# REP 2003-style sensor input: newest frame only, never block the camera driver
INPUT_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.BEST_EFFORT,
                       durability=DurabilityPolicy.VOLATILE)
# Outputs: RELIABLE, keep-last 5. The writer keeps the last 5 samples for retransmission, so a RELIABLE
# reader that is briefly slower than the node (a 1 Hz rviz, a busy depth_image_proc) still gets every
# frame of every topic; with depth 1 each new sample evicts the one being repaired and exact-sync readers
# lose different frames per topic. 5 frames is ~170 ms at 30 Hz; the cost is memory for 5 samples of each
# topic (a 720p organized cloud is 15 MB). BEST_EFFORT readers are unaffected. Override per topic with
# qos_overrides./<ns>/depth/<topic>.publisher.depth (and .reliability, .history).
OUTPUT_DEPTH = 5
OUTPUT_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=OUTPUT_DEPTH, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.VOLATILE)
OUTPUTS = {"image": Image, "camera_info": CameraInfo, "points": PointCloud2, "relative": Image, "preview": Image}
LEVELS = {OK: DiagnosticStatus.OK, WARN: DiagnosticStatus.WARN, ERROR: DiagnosticStatus.ERROR}
SYNC_QUEUE = 10
DIAGNOSTICS_PERIOD_S = 1.0


def descriptor(spec: Knob) -> ParameterDescriptor:
    """The rcl_interfaces descriptor of one parameter (description, range, read-only)."""
    ranges = {}
    if integer_range(spec):
        low, high, step = integer_range(spec)
        ranges["integer_range"] = [IntegerRange(from_value=low, to_value=high, step=step)]
    if float_range(spec):
        low, high, step = float_range(spec)
        ranges["floating_point_range"] = [FloatingPointRange(from_value=low, to_value=high, step=step)]
    return ParameterDescriptor(name=spec.name, description=spec.full_description, read_only=spec.read_only,
                               **ranges)


def graph_values(onnx: str) -> dict[str, object]:
    """What a fused graph fixes (model, head, input size), as parameter values; {} when it cannot be read."""
    try:
        info = read_graph_info(onnx)
    except Exception:  # a missing or foreign file: reported when the backend loads
        return {}
    return info_values(info)


def info_values(info: GraphInfo) -> dict[str, object]:
    """The read-only parameter values a graph fixes: metric (its kind), max_depth, input size and order, and
    ``model`` for an official DA3 graph (the tiny test networks have no parameter value)."""
    values = {"metric": info.kind == "metric", "input_size": int(min(info.network_height, info.network_width)),
              "input_order": info.input_order}
    if info.kind == "metric" and info.max_depth:
        values["max_depth"] = float(info.max_depth)
    if info.model in DA3_NAMES:
        values["model"] = info.model
    return values


def expects_metric(config: PipelineConfig) -> bool:
    """Whether the configured network gives metres before its graph is loaded (a DA3 checkpoint's config.json
    decides: its model, or our fine-tuning to metres; else the ``metric`` parameter)."""
    if uses_da3(config.checkpoint, config.model) and config.checkpoint:
        try:
            return checkpoint_is_metric(config.checkpoint, config.model)
        except (ValueError, OSError):  # a broken checkpoint: reported when the backend loads
            return False
    return config.metric


def declare_parameters(node: Node) -> PipelineConfig:
    """Declare every pipeline parameter on ``node``; the validated config of their values.

    With ``onnx`` set, the read-only parameters the graph fixes (model, metric, max_depth, input_size,
    input_order) default to the graph's own values, so they describe what is loaded.
    """
    specs = knobs()
    from_graph: dict[str, object] = {}
    for spec in specs:
        default = from_graph.get(spec.name, spec.default)
        try:
            value = node.declare_parameter(spec.name, default, descriptor(spec)).value
            if spec.name == "onnx" and value:
                from_graph = graph_values(value)
        except InvalidParameterTypeException as error:
            raise ValueError(f"parameter {spec.name!r} must be a {type(spec.default).__name__} (write "
                             f"{spec.default!r}-style values, e.g. 20.0 not 20): {error}") from error
        except InvalidParameterValueException as error:
            raise ValueError(f"parameter {spec.name!r}: {error} ({spec.full_description})") from error
    return PipelineConfig(**{spec.name: node.get_parameter(spec.name).value for spec in specs})


class RosLogHandler(logging.Handler):
    """Forwards the package's Python logging (pipeline, backends, engine builds) to the node's logger."""

    def __init__(self, logger) -> None:
        super().__init__()
        self.logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if record.levelno >= logging.ERROR:
            self.logger.error(text)
        elif record.levelno >= logging.WARNING:
            self.logger.warning(text)
        elif record.levelno >= logging.INFO:
            self.logger.info(text)
        else:
            self.logger.debug(text)


class DepthNodeCore:
    """Parameters, endpoints, the inference worker and diagnostics of one depth node (either variant)."""

    def __init__(self, node: Node, open_backend: Callable | None = None, kit: MessageKit | None = None) -> None:
        self.node = node
        self.logger = node.get_logger()
        self.config = declare_parameters(node)
        transport = check_transport(self.config)  # once: does FastDDS's shared memory hold our largest output?
        self.logger.warning(transport.text) if transport.warn else self.logger.info(transport.text)
        self._log_handler = RosLogHandler(self.logger)
        logging.getLogger("depth_anything_ros").addHandler(self._log_handler)
        logging.getLogger("depth_anything_ros").setLevel(logging.INFO)
        self._open_backend = open_backend or factory.open_backend
        self.kit = kit or rclpy_kit()
        self.stats = NodeStats()
        self.throttle = WarningThrottle(period_s=5.0)
        self.slot = LatestFrameSlot()
        self.sync = StampSynchronizer(self._slop(self.config), SYNC_QUEUE)
        self._sync_lock = threading.Lock()
        self._pipeline_lock = threading.Lock()
        self.pipeline: DepthPipeline | None = None
        self.publishers: dict[str, object] = {}
        self.subscriptions: list[object] = []
        self.processing = False
        self._worker: threading.Thread | None = None
        self._last_stamp: int | None = None
        self.backend_text = "not loaded"
        self.worker_failures = 0
        node.add_on_set_parameters_callback(self.on_set_parameters)
        # /diagnostics in diagnostic_updater's conventions (that package is not on PyPI): one
        # DiagnosticArray a second, statuses named "<node>: <task>", the backend as hardware_id
        self._diagnostics_publisher = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._diagnostics_timer = node.create_timer(DIAGNOSTICS_PERIOD_S, self.publish_diagnostics)

    @staticmethod
    def _slop(config: PipelineConfig) -> float:
        return config.sync_slop if config.sync == "approximate" else 0.0

    def _now_ns(self) -> int:
        return self.node.get_clock().now().nanoseconds

    # ---- pipeline and backend ------------------------------------------------------------------
    def open_pipeline(self) -> None:
        """Create the pipeline (reading the calibration) and load the engine when the resolution is known."""
        with self._pipeline_lock:
            self.pipeline = DepthPipeline(self.config, self._open_for)
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
        device = getattr(backend, "device", None) or getattr(backend, "providers", None) or \
            f"cuda:{self.config.device_index}"
        self.backend_text = (f"{backend.name} on {device} for {image_hw[1]}x{image_hw[0]} "
                             f"({backend.info.model_name}, {backend.info.kind})")
        self.logger.info(f"backend ready: {self.backend_text}")
        return backend

    def close_backend(self) -> None:
        """Free the engine and its GPU memory; the pipeline reopens it on the next frame or warm_up."""
        with self._pipeline_lock:
            if self.pipeline is not None:
                self.pipeline.close()
        self.backend_text = "not loaded"

    def close_pipeline(self) -> None:
        self.close_backend()
        with self._pipeline_lock:
            self.pipeline = None

    # ---- endpoints --------------------------------------------------------------------------------
    def create_endpoints(self, create_publisher: Callable) -> None:
        """Outputs (depth/relative only where the graph is not metric: V1/V2 relative, DA3 relative-depth) and
        the two inputs."""
        overrides = QoSOverridingOptions.with_default_policies()
        backend = self.pipeline.backend if self.pipeline is not None else None
        metric_graph = backend.info.kind == "metric" if backend is not None else expects_metric(self.config)
        # copies: rclpy writes QoS overrides into the profile it is given
        self.publishers = {name: create_publisher(msg_type, f"depth/{name}", copy.copy(OUTPUT_QOS),
                                                  qos_overriding_options=overrides)
                           for name, msg_type in OUTPUTS.items() if not (metric_graph and name == "relative")}
        image_type, image_topic = (CompressedImage, "image/compressed") if self.config.use_compressed else \
            (Image, "image")
        self.subscriptions = [
            self.node.create_subscription(image_type, image_topic, self.on_image, copy.copy(INPUT_QOS),
                                          qos_overriding_options=overrides),
            self.node.create_subscription(CameraInfo, "camera_info", self.on_camera_info, copy.copy(INPUT_QOS),
                                          qos_overriding_options=overrides),
        ]

    def destroy_endpoints(self, destroy_publisher: Callable) -> None:
        for subscription in self.subscriptions:
            self.node.destroy_subscription(subscription)
        for publisher in self.publishers.values():
            destroy_publisher(publisher)
        self.subscriptions, self.publishers = [], {}

    def subscribed(self, name: str) -> bool:
        publisher = self.publishers.get(name)
        return publisher is not None and publisher.get_subscription_count() > 0

    @property
    def state(self) -> str:
        """The lifecycle state label ("active" for the plain node while it processes)."""
        machine = getattr(self.node, "_state_machine", None)  # rclpy LifecycleNode: (id, label)
        if machine is None:
            return "active" if self.processing else "inactive"
        return machine.current_state[1]

    # ---- the worker -------------------------------------------------------------------------------
    def start(self, thread: bool = True) -> None:
        """Accept frames; ``thread`` False leaves calling ``process_next`` to the caller (tests)."""
        self.slot.reopen()
        self.processing = True
        self.stats.restart(time.monotonic_ns())
        if thread:
            self._worker = threading.Thread(target=self._work, name="depth_inference", daemon=True)
            self._worker.start()

    def stop(self) -> None:
        """Stop accepting frames and wait for the frame in flight."""
        self.processing = False
        self.slot.close()
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        self.slot.clear()
        with self._sync_lock:
            self.sync.reset()

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
        item = self.slot.take(timeout)
        if item is None:
            return False
        self.handle(*item)
        return True

    # ---- callbacks --------------------------------------------------------------------------------
    def on_image(self, msg) -> None:
        if not self.processing:
            return
        self.stats.frame_received(time.monotonic_ns())
        stamp = stamp_ns(msg.header)
        with self._sync_lock:
            if self._last_stamp is not None and stamp < self._last_stamp:
                lost = self.sync.reset() + int(self.slot.clear())
                self.stats.dropped("stamp_reset", lost, now_ns=time.monotonic_ns())
                self.input_error("stamp", f"image stamp went back {(self._last_stamp - stamp) / 1e9:.3f} s "
                                          f"(a bag loop or a clock jump?); {lost} pending frame(s) discarded")
            self._last_stamp = stamp
            before = self.sync.dropped
            ready = self.sync.add_image(stamp, msg)
            unmatched = self.sync.dropped - before
        self._unmatched(unmatched)
        self._submit(ready)

    def _unmatched(self, count: int) -> None:
        if not count:
            return
        self.stats.dropped("no_camera_info", count, now_ns=time.monotonic_ns())
        how = "the same stamp (sync exact); is camera_info published, or is sync: approximate needed?" \
            if self.config.sync == "exact" else f"a stamp within sync_slop {self.config.sync_slop} s; is " \
            f"camera_info published, or is a larger sync_slop needed?"
        self.warn("no_camera_info", f"{count} image(s) found no camera_info with {how}")

    def on_camera_info(self, msg) -> None:
        if not self.processing:
            return
        with self._sync_lock:
            before = self.sync.dropped
            ready = self.sync.add_info(stamp_ns(msg.header), msg)
            unmatched = self.sync.dropped - before
        self._unmatched(unmatched)
        self._submit(ready)

    def _submit(self, ready: list) -> None:
        for item in ready:
            if self.slot.put(item):
                self.stats.dropped("superseded")

    def handle(self, stamp: int, image_msg, info_msg) -> None:
        """One synchronised frame: age check, decode, pipeline, publish. Bad input is counted, not fatal."""
        age_s = (self._now_ns() - stamp) / 1e9
        if self.config.max_age and age_s > self.config.max_age:
            self.stats.dropped("stale", now_ns=time.monotonic_ns())
            self.warn("stale", f"dropped a frame {age_s:.3f} s old (max_age {self.config.max_age} s): inference "
                               f"is slower than the camera, or the camera clock is not this node's clock "
                               f"(max_age 0 keeps every frame)")
            return
        try:
            if not any(info_msg.k):
                info_msg = None  # uncalibrated camera (K = 0): depth still, without camera_info and cloud
                self.warn("uncalibrated", "camera_info has K = 0 (an uncalibrated camera): publishing depth "
                                          "without depth/camera_info and depth/points (a DA3 metric model, which "
                                          "needs the focal length, skips the frame); calibrate the camera")
            bgr, camera = decode_frame(image_msg, info_msg)
            want_cloud = self.subscribed("points")
            with self._pipeline_lock:
                if self.pipeline is None:
                    return
                result = self.pipeline.process(bgr, camera, want_cloud=want_cloud)
        except InputError as error:
            self.input_error(error.kind, f"frame {stamp / 1e9:.3f} skipped: {error}")
            return
        except Exception as error:
            self.stats.dropped("failed", now_ns=time.monotonic_ns())
            self.report_error("failed", f"inference failed on frame {stamp / 1e9:.3f}: {error}")
            return
        messages = output_messages(self.kit, image_msg.header, result, self.subscribed("preview"))
        for name, msg in messages.items():
            publisher = self.publishers.get(name)
            if publisher is not None:
                publisher.publish(msg)
        self.stats.frame_published(time.monotonic_ns(), (self._now_ns() - stamp) / 1e9, result.inference_s)

    # ---- warnings, parameters, diagnostics ------------------------------------------------------
    def _throttled(self, kind: str, text: str) -> str | None:
        """The text to log (with the count held back), or None when this kind was logged < 5 s ago."""
        held = self.throttle.admit(kind, time.monotonic_ns())
        if held is None:
            return None
        return text + (f" ({held} more like this since the last report)" if held else "")

    def warn(self, kind: str, text: str) -> None:
        """A warning of this kind at most every 5 s, with the count of those held back."""
        text = self._throttled(kind, text)
        if text is not None:
            self.logger.warning(text)  # rclpy binds one severity to each call site: warnings only here

    def report_error(self, kind: str, text: str) -> None:
        """An error of this kind at most every 5 s (its own call site: see ``warn``)."""
        text = self._throttled(kind, text)
        if text is not None:
            self.logger.error(text)

    def input_error(self, kind: str, text: str) -> None:
        self.stats.input_error(kind, time.monotonic_ns())
        self.warn(kind, text)

    def on_set_parameters(self, parameters: list) -> SetParametersResult:
        """Validate run-time changes as a whole; apply them (calibration reload included) or refuse with why."""
        try:
            config = apply_changes(self.config, {p.name: p.value for p in parameters})
            with self._pipeline_lock:
                if self.pipeline is not None:
                    self.pipeline.reconfigure(config)
        except ValueError as error:
            return SetParametersResult(successful=False, reason=str(error))
        self.config = config
        with self._sync_lock:
            self.sync.slop_s = self._slop(config)
        return SetParametersResult(successful=True, reason="")

    def health(self) -> Health:
        config = self.config
        return Health(state=self.state, worker_alive=self.worker_alive, backend=self.backend_text,
                      stale_input_s=config.diag_stale_input_s, min_rate=config.diag_min_rate,
                      max_rate=config.diag_max_rate, max_latency_s=config.diag_max_latency,
                      drop_fraction=config.diag_drop_fraction)

    def diagnostics(self) -> DiagnosticArray:
        """The node's statuses now, as diagnostic_updater would publish them."""
        name = self.node.get_name()
        array = DiagnosticArray()
        array.header.stamp = self.node.get_clock().now().to_msg()
        for status in self.stats.report(time.monotonic_ns(), self.health()):
            array.status.append(DiagnosticStatus(
                level=LEVELS[status.level], name=f"{name}: {status.name}", message=status.message,
                hardware_id=self.backend_text, values=[KeyValue(key=k, value=v) for k, v in status.values.items()]))
        return array

    def publish_diagnostics(self) -> None:
        self._diagnostics_publisher.publish(self.diagnostics())

    def shutdown(self) -> None:
        self.stop()
        self.close_pipeline()
        self._diagnostics_timer.cancel()
        logging.getLogger("depth_anything_ros").removeHandler(self._log_handler)


class DepthNode(Node):
    """The plain node: loads the engine (when the resolution is known) and processes from the start."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        self.core = DepthNodeCore(self)
        self.core.open_pipeline()
        self.core.create_endpoints(self.create_publisher)
        self.core.start()

    def destroy_node(self) -> None:
        self.core.shutdown()
        super().destroy_node()


class DepthLifecycleNode(LifecycleNode):
    """The managed node: configure loads the engine, activate processes, deactivate/cleanup free the GPU."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        self.core = DepthNodeCore(self)

    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self.core.open_pipeline()
        except Exception as error:
            self.get_logger().error(f"configure failed: {error}")
            self.core.close_pipeline()
            return TransitionCallbackReturn.FAILURE
        self.core.create_endpoints(self.create_lifecycle_publisher)
        return super().on_configure(state)

    def on_activate(self, state) -> TransitionCallbackReturn:
        try:
            self.core.warm_up()  # the engine was freed by a previous deactivate
        except Exception as error:
            self.get_logger().error(f"activate failed: {error}")
            return TransitionCallbackReturn.FAILURE
        result = super().on_activate(state)
        self.core.start()
        return result

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self.core.stop()
        self.core.close_backend()
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._release()
        return super().on_cleanup(state)

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._release()
        return super().on_shutdown(state)

    def _release(self) -> None:
        self.core.stop()
        self.core.destroy_endpoints(self.destroy_lifecycle_publisher)
        self.core.close_pipeline()

    def destroy_node(self) -> None:
        self.core.shutdown()
        super().destroy_node()


def _spin(node_class: type, args: list[str] | None) -> int:
    """Run until SIGINT/SIGTERM; the worker stops (and the node is destroyed) before the context goes.

    rclpy's own signal handler would invalidate the context first, under a frame in flight; here the
    signal only ends the spin loop, and the shutdown order is ours.
    """
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    except Exception as error:  # rcl refuses the command line (e.g. a malformed --ros-args)
        print(f"depth_anything_ros: cannot start: {error}", file=sys.stderr)
        return 1
    node = None
    executor = SingleThreadedExecutor()
    try:
        node = node_class()
        executor.add_node(node)
        while not stop.is_set() and rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (ValueError, OSError) as error:
        print(f"depth_anything_ros: cannot start: {error}", file=sys.stderr)
        return 1
    finally:
        if node is not None:
            node.destroy_node()  # joins the worker while the context is still valid
        executor.shutdown()
        rclpy.try_shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(args: list[str] | None = None) -> int:
    """``ros2 run depth_anything_ros depth_node``."""
    return _spin(DepthNode, args)


def lifecycle_main(args: list[str] | None = None) -> int:
    """``ros2 run depth_anything_ros depth_lifecycle_node`` (then configure and activate it)."""
    return _spin(DepthLifecycleNode, args)


if __name__ == "__main__":
    sys.exit(main())
