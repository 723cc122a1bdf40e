"""The ROS 2 node: camera images in, REP 118 metric depth, camera info and point clouds out.

``depth_node`` (a plain node) and ``depth_lifecycle_node`` (managed: configure loads the engine,
activate starts processing, deactivate and cleanup free the GPU) share ``DepthNodeCore``. All the
work below rclpy lives in ROS-free modules (``frame_worker``: callbacks to publishers on the inference
thread, through ``frame_path``, the path bag replay runs too); this file is the ROS wiring (parameters,
QoS, topics, timers, diagnostics, lifecycle) and the only one that imports rclpy.

Topics, relative to the node's namespace (remap as usual):
  in:  image (sensor_msgs/Image) or image/compressed (use_compressed), camera_info; with anchor_input, one of
       anchor/points (PointCloud2), anchor/scan (LaserScan), anchor/range (Range)
  out: depth/image, depth/camera_info, depth/points, depth/relative, depth/preview (when subscribed);
       depth/anchor (std_msgs/Float64MultiArray, the live head; node.frame_anchor.HEAD_FIELDS) with anchor_input
With ``cameras`` (e.g. "/front, /rear"), the same per camera: NS/image, NS/camera_info in, NS/depth/* out; with
anchor_input, each camera's NS/anchor/<input>, or with anchor_shared the node's one anchor/<input> for all of them.
"""

from __future__ import annotations

import copy
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
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, LaserScan, PointCloud2, Range
from std_msgs.msg import Float64MultiArray

from depth_anything_ros.msgs.messages import MessageKit, rclpy_kit
from depth_anything_ros.node.anchor_feed import ANCHOR_TOPICS
from depth_anything_ros.node.anchor_tf import tf_extrinsics
from depth_anything_ros.node.config import Knob, PipelineConfig, knobs
from depth_anything_ros.node.frame_worker import FrameWorker
from depth_anything_ros.node.multi_worker import MultiCameraWorker
from depth_anything_ros.node.parameters import expects_metric, float_range, graph_values, integer_range
from depth_anything_ros.node.stats import ERROR, OK, WARN
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
ANCHOR_TYPES = {"points": PointCloud2, "scan": LaserScan, "range": Range}
# anchor input: best effort matches any driver's QoS; a few deep, as the callback only files the message
ANCHOR_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5, reliability=ReliabilityPolicy.BEST_EFFORT,
                        durability=DurabilityPolicy.VOLATILE)
LEVELS = {OK: DiagnosticStatus.OK, WARN: DiagnosticStatus.WARN, ERROR: DiagnosticStatus.ERROR}
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


class DepthNodeCore(FrameWorker):
    """Parameters, endpoints, diagnostics and lifecycle state of one depth node (either variant) around the
    ROS-free FrameWorker (callbacks, inference thread, frame path, counters)."""

    def __init__(self, node: Node, open_backend: Callable | None = None, kit: MessageKit | None = None,
                 config: PipelineConfig | None = None) -> None:
        self.node = node
        super().__init__(config or declare_parameters(node), node.get_logger(), open_backend or factory.open_backend,
                         kit or rclpy_kit())
        transport = check_transport(self.config)  # once: does FastDDS's shared memory hold our largest output?
        self.logger.warning(transport.text) if transport.warn else self.logger.info(transport.text)
        self.subscriptions: list[object] = []
        node.add_on_set_parameters_callback(self.on_set_parameters)
        # /diagnostics in diagnostic_updater's conventions (that package is not on PyPI): one
        # DiagnosticArray a second, statuses named "<node>: <task>", the backend as hardware_id
        self._diagnostics_publisher = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._diagnostics_timer = node.create_timer(DIAGNOSTICS_PERIOD_S, self.publish_diagnostics)

    def _now_ns(self) -> int:
        return self.node.get_clock().now().nanoseconds

    def tf_extrinsics(self):
        return tf_extrinsics(self.node)

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
        if self.anchor is not None:
            self.publishers["anchor"] = create_publisher(Float64MultiArray, "depth/anchor", copy.copy(OUTPUT_QOS),
                                                         qos_overriding_options=overrides)
        image_type, image_topic = (CompressedImage, "image/compressed") if self.config.use_compressed else \
            (Image, "image")
        self.subscriptions = [
            self.node.create_subscription(image_type, image_topic, self.on_image, copy.copy(INPUT_QOS),
                                          qos_overriding_options=overrides),
            self.node.create_subscription(CameraInfo, "camera_info", self.on_camera_info, copy.copy(INPUT_QOS),
                                          qos_overriding_options=overrides),
        ]
        if self.anchor is not None:
            self.subscriptions.append(self.node.create_subscription(
                ANCHOR_TYPES[self.anchor.feed.input], ANCHOR_TOPICS[self.anchor.feed.input][0], self.on_anchor,
                copy.copy(ANCHOR_QOS), qos_overriding_options=overrides))

    def destroy_endpoints(self, destroy_publisher: Callable) -> None:
        for subscription in self.subscriptions:
            self.node.destroy_subscription(subscription)
        for publisher in self.publishers.values():
            destroy_publisher(publisher)
        self.subscriptions, self.publishers = [], {}

    @property
    def state(self) -> str:
        """The lifecycle state label ("active" for the plain node while it processes)."""
        machine = getattr(self.node, "_state_machine", None)  # rclpy LifecycleNode: (id, label)
        return machine.current_state[1] if machine is not None else super().state

    # ---- parameters, diagnostics -------------------------------------------------------------------
    def on_set_parameters(self, parameters: list) -> SetParametersResult:
        """Validate run-time changes as a whole; apply them (calibration reload included) or refuse with why."""
        try:
            self.reconfigure({p.name: p.value for p in parameters})
        except ValueError as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True, reason="")

    def diagnostics(self) -> DiagnosticArray:
        """The node's statuses now, as diagnostic_updater would publish them."""
        name = self.node.get_name()
        array = DiagnosticArray()
        array.header.stamp = self.node.get_clock().now().to_msg()
        for status in self.statuses(time.monotonic_ns()):
            array.status.append(DiagnosticStatus(
                level=LEVELS[status.level], name=f"{name}: {status.name}", message=status.message,
                hardware_id=self.backend_text, values=[KeyValue(key=k, value=v) for k, v in status.values.items()]))
        return array

    def publish_diagnostics(self) -> None:
        self._diagnostics_publisher.publish(self.diagnostics())

    def shutdown(self) -> None:
        super().shutdown()
        self._diagnostics_timer.cancel()


class MultiCameraNodeCore(DepthNodeCore, MultiCameraWorker):
    """The node with a ``cameras`` parameter: per camera its subscriptions and NS/depth/* publishers, its
    diagnostics ("<node>: <camera>: <task>", its anchor's included); one batched engine per resolution for all."""

    def create_endpoints(self, create_publisher: Callable) -> None:
        overrides = QoSOverridingOptions.with_default_policies()
        backend = self.pipeline.backend if self.pipeline is not None else None
        metric_graph = backend.info.kind == "metric" if backend is not None else expects_metric(self.config)
        compressed = self.config.use_compressed
        for camera in self.cameras:
            spec = camera.spec
            camera.publishers = {
                name: create_publisher(msg_type, spec.topic(f"depth/{name}"), copy.copy(OUTPUT_QOS),
                                       qos_overriding_options=overrides)
                for name, msg_type in OUTPUTS.items() if not (metric_graph and name == "relative")}
            image_type, image_topic = (CompressedImage, f"{spec.image_topic}/compressed") if compressed else \
                (Image, spec.image_topic)
            self.subscriptions += [
                self.node.create_subscription(image_type, image_topic,
                                              lambda msg, c=camera: self.on_camera_image(c, msg),
                                              copy.copy(INPUT_QOS), qos_overriding_options=overrides),
                self.node.create_subscription(CameraInfo, spec.info_topic,
                                              lambda msg, c=camera: self.on_camera_info_of(c, msg),
                                              copy.copy(INPUT_QOS), qos_overriding_options=overrides),
            ]
            if camera.anchor is not None:
                camera.publishers["anchor"] = create_publisher(Float64MultiArray, spec.topic("depth/anchor"),
                                                               copy.copy(OUTPUT_QOS), qos_overriding_options=overrides)
                if self.shared_feed is None:  # the camera's own NS/anchor/<input>
                    self.subscriptions.append(self.node.create_subscription(
                        ANCHOR_TYPES[self.config.anchor_input], camera.anchor.feed.topic,
                        lambda msg, c=camera: self.on_camera_anchor(c, msg), copy.copy(ANCHOR_QOS),
                        qos_overriding_options=overrides))
        if self.shared_feed is not None:  # one anchor/<input> under the node's namespace for every camera
            self.subscriptions.append(self.node.create_subscription(
                ANCHOR_TYPES[self.config.anchor_input], self.shared_feed.topic, self.on_anchor, copy.copy(ANCHOR_QOS),
                qos_overriding_options=overrides))

    def destroy_endpoints(self, destroy_publisher: Callable) -> None:
        for camera in self.cameras:
            for publisher in camera.publishers.values():
                destroy_publisher(publisher)
            camera.publishers = {}
        super().destroy_endpoints(destroy_publisher)

    def diagnostics(self) -> DiagnosticArray:
        """The node's statuses, then each camera's, named "<node>: <camera>: <task>"."""
        array = super().diagnostics()
        name, now, health = self.node.get_name(), time.monotonic_ns(), self.health()
        for camera in self.cameras:
            for status in camera.statuses(now, health):
                array.status.append(DiagnosticStatus(
                    level=LEVELS[status.level], name=f"{name}: {camera.name}: {status.name}", message=status.message,
                    hardware_id=self.backend_text,
                    values=[KeyValue(key=k, value=v) for k, v in status.values.items()]))
        return array


def node_core(node: Node) -> DepthNodeCore:
    """The core for this node's parameters: one camera (today's topics), or the cameras of ``cameras``."""
    config = declare_parameters(node)
    return (MultiCameraNodeCore if config.cameras else DepthNodeCore)(node, config=config)


class DepthNode(Node):
    """The plain node: loads the engine (when the resolution is known) and processes from the start."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        self.core = node_core(self)
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
        self.core = node_core(self)

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
