"""rclpy.node.Node stand-in: parameters (declare/get/set with rclpy's refusal rules), publishers and
subscriptions that record traffic, a logger that records lines. No middleware."""

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult

from .clock import Clock
from .exceptions import (
    InvalidParameterTypeException,
    InvalidParameterValueException,
    ParameterAlreadyDeclaredException,
    ParameterNotDeclaredException,
)
from .logging_fake import RcutilsLogger
from .parameter import Parameter
from .qos import QoSProfile


class Publisher:
    def __init__(self, msg_type, topic, qos_profile):
        self.msg_type, self.topic, self.qos_profile = msg_type, topic, qos_profile
        self.published = []  # stand-in only: what went out
        self.subscription_count = 0  # stand-in only: set by tests

    def publish(self, msg):
        if not isinstance(msg, self.msg_type):
            raise TypeError(f"Expected {self.msg_type}, got {type(msg)}")
        self.published.append(msg)

    def get_subscription_count(self):
        return self.subscription_count

    @property
    def topic_name(self):
        return self.topic

    def destroy(self):
        pass


class Subscription:
    def __init__(self, msg_type, topic, callback, qos_profile):
        self.msg_type, self.topic, self.callback, self.qos_profile = msg_type, topic, callback, qos_profile

    @property
    def topic_name(self):
        return self.topic


def _qos(qos_profile):
    if isinstance(qos_profile, QoSProfile):
        return qos_profile
    if isinstance(qos_profile, int):
        return QoSProfile(depth=qos_profile)
    raise TypeError(f"Expected QoSProfile or int, but received {type(qos_profile)!r}")


class Node:
    def __init__(self, node_name, *, context=None, cli_args=None, namespace=None, use_global_arguments=True,
                 enable_rosout=True, start_parameter_services=True, parameter_overrides=None,
                 allow_undeclared_parameters=False, automatically_declare_parameters_from_overrides=False):
        self._name = node_name
        self._namespace = namespace or "/"
        self._overrides = {p.name: p for p in (parameter_overrides or [])}
        self._parameters = {}
        self._descriptors = {}
        self._callbacks = []
        self._publishers = []
        self._subscriptions = []
        self._timers = []
        self._logger = RcutilsLogger(node_name)
        self._clock = Clock()
        self.destroyed = False  # stand-in only
        self.declare_parameter("use_sim_time", False)

    # names, time, logging
    def get_name(self):
        return self._name

    def get_namespace(self):
        return self._namespace

    def get_logger(self):
        return self._logger

    def get_clock(self):
        return self._clock

    # parameters
    def declare_parameter(self, name, value=None, descriptor=None, ignore_override=False):
        if name in self._parameters:
            raise ParameterAlreadyDeclaredException(name)
        descriptor = descriptor or ParameterDescriptor()
        default = Parameter(name, value=value)
        parameter = default if ignore_override or name not in self._overrides else \
            Parameter(name, value=self._overrides[name].value)
        if not descriptor.dynamic_typing and parameter.type_ != default.type_ and \
                default.type_ != Parameter.Type.NOT_SET:
            raise InvalidParameterTypeException(parameter, default.type_.name)
        result = self._check_range(parameter, descriptor)
        for callback in self._callbacks if result.successful else ():  # rclpy runs on-set callbacks on declare too
            result = callback([parameter])
            if not result.successful:
                break
        if not result.successful:
            raise InvalidParameterValueException(name, parameter.value, result.reason)
        descriptor.name = name
        descriptor.type = default.type_.value
        self._parameters[name], self._descriptors[name] = parameter, descriptor
        return parameter

    def has_parameter(self, name):
        return name in self._parameters

    def get_parameter(self, name):
        if name not in self._parameters:
            raise ParameterNotDeclaredException(name)
        return self._parameters[name]

    def describe_parameter(self, name):
        return self._descriptors[name]

    def add_on_set_parameters_callback(self, callback):
        self._callbacks.insert(0, callback)

    def remove_on_set_parameters_callback(self, callback):
        self._callbacks.remove(callback)

    def set_parameters(self, parameter_list):
        return [self.set_parameters_atomically([parameter]) for parameter in parameter_list]

    def set_parameters_atomically(self, parameter_list):
        for parameter in parameter_list:
            if parameter.name not in self._parameters:
                raise ParameterNotDeclaredException(parameter.name)
            descriptor = self._descriptors[parameter.name]
            if descriptor.read_only:
                return SetParametersResult(successful=False,
                                           reason=f"Trying to set a read-only parameter: {parameter.name}.")
            current = self._parameters[parameter.name]
            if not descriptor.dynamic_typing and parameter.type_ != current.type_:
                return SetParametersResult(
                    successful=False, reason=f"Wrong parameter type, expected '{current.type_}' got "
                                             f"'{parameter.type_}'")
            result = self._check_range(parameter, descriptor)
            if not result.successful:
                return result
        for callback in self._callbacks:
            result = callback(parameter_list)
            if not result.successful:
                return result
        for parameter in parameter_list:
            self._parameters[parameter.name] = parameter
        return SetParametersResult(successful=True)

    @staticmethod
    def _check_range(parameter, descriptor):
        value = parameter.value
        if parameter.type_ == Parameter.Type.INTEGER and descriptor.integer_range:
            r = descriptor.integer_range[0]
            if value == r.to_value or (r.from_value <= value <= r.to_value and
                                       (r.step == 0 or (value - r.from_value) % r.step == 0)):
                return SetParametersResult(successful=True)
            return SetParametersResult(successful=False, reason=f"Parameter {parameter.name} out of range. Min: {r.from_value}, Max: {r.to_value}, "
                                       f"value: {value}")
        if parameter.type_ == Parameter.Type.DOUBLE and descriptor.floating_point_range:
            r = descriptor.floating_point_range[0]
            if r.from_value - 1e-9 <= value <= r.to_value + 1e-9:
                return SetParametersResult(successful=True)
            return SetParametersResult(successful=False, reason=f"Parameter {parameter.name} out of range Min: {r.from_value}, Max: {r.to_value}, "
                                       f"value: {value}")
        return SetParametersResult(successful=True)

    # endpoints
    def create_publisher(self, msg_type, topic, qos_profile, *, callback_group=None, event_callbacks=None,
                         qos_overriding_options=None, publisher_class=Publisher):
        publisher = publisher_class(msg_type, topic, _qos(qos_profile))
        publisher.qos_overriding_options = qos_overriding_options
        self._publishers.append(publisher)
        return publisher

    def create_subscription(self, msg_type, topic, callback, qos_profile, *, callback_group=None,
                            event_callbacks=None, qos_overriding_options=None, raw=False):
        subscription = Subscription(msg_type, topic, callback, _qos(qos_profile))
        subscription.qos_overriding_options = qos_overriding_options
        self._subscriptions.append(subscription)
        return subscription

    def create_timer(self, timer_period_sec, callback, callback_group=None, clock=None, autostart=True):
        timer = (timer_period_sec, callback)
        self._timers.append(timer)
        return timer

    def destroy_publisher(self, publisher):
        if publisher in self._publishers:
            self._publishers.remove(publisher)
            return True
        return False

    def destroy_subscription(self, subscription):
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
            return True
        return False

    @property
    def publishers(self):
        yield from self._publishers

    @property
    def subscriptions(self):
        yield from self._subscriptions

    def destroy_node(self):
        self._publishers.clear()
        self._subscriptions.clear()
        self.destroyed = True
