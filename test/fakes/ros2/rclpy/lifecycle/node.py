"""rclpy.lifecycle.LifecycleNode stand-in: the state machine of the primary transitions."""

from enum import Enum

from ..node import Node
from .publisher import LifecyclePublisher


class TransitionCallbackReturn(Enum):
    SUCCESS = 97
    FAILURE = 98
    ERROR = 99


class LifecycleState:
    def __init__(self, state_id, label):
        self.state_id, self.label = state_id, label


_STATES = {"unconfigured": 1, "inactive": 2, "active": 3, "finalized": 4}
# transition -> (from states, callback, goal on success)
_TRANSITIONS = {
    "configure": (("unconfigured",), "on_configure", "inactive"),
    "cleanup": (("inactive",), "on_cleanup", "unconfigured"),
    "activate": (("inactive",), "on_activate", "active"),
    "deactivate": (("active",), "on_deactivate", "inactive"),
    "shutdown": (("unconfigured", "inactive", "active"), "on_shutdown", "finalized"),
}


class LifecycleNode(Node):
    def __init__(self, node_name, *, enable_communication_interface=True, **kwargs):
        Node.__init__(self, node_name, **kwargs)
        self._state = "unconfigured"
        self._managed_entities = set()

    @property
    def current_state_label(self):  # stand-in only
        return self._state

    def _change(self, transition):
        starts, callback, goal = _TRANSITIONS[transition]
        if self._state not in starts:
            raise RuntimeError(f"cannot {transition} from {self._state}")
        previous = LifecycleState(_STATES[self._state], self._state)
        try:
            result = getattr(self, callback)(previous)
        except Exception:
            result = TransitionCallbackReturn.ERROR
        if result == TransitionCallbackReturn.SUCCESS:
            self._state = goal
        elif result == TransitionCallbackReturn.ERROR:
            self._state = "unconfigured" if self.on_error(previous) == TransitionCallbackReturn.SUCCESS \
                else "finalized"
        return result

    def trigger_configure(self):
        return self._change("configure")

    def trigger_cleanup(self):
        return self._change("cleanup")

    def trigger_activate(self):
        return self._change("activate")

    def trigger_deactivate(self):
        return self._change("deactivate")

    def trigger_shutdown(self):
        return self._change("shutdown")

    def add_managed_entity(self, entity):
        self._managed_entities.add(entity)

    def _each(self, method, state):
        for entity in self._managed_entities:
            result = getattr(entity, method)(state)
            if result != TransitionCallbackReturn.SUCCESS:
                return result
        return TransitionCallbackReturn.SUCCESS

    def on_configure(self, state):
        return self._each("on_configure", state)

    def on_cleanup(self, state):
        return self._each("on_cleanup", state)

    def on_shutdown(self, state):
        return self._each("on_shutdown", state)

    def on_activate(self, state):
        return self._each("on_activate", state)

    def on_deactivate(self, state):
        return self._each("on_deactivate", state)

    def on_error(self, state):
        return self._each("on_error", state)

    def create_lifecycle_publisher(self, *args, **kwargs):
        if "publisher_class" in kwargs:
            raise TypeError("create_publisher() got an unexpected keyword argument 'publisher_class'")
        publisher = Node.create_publisher(self, *args, **kwargs, publisher_class=LifecyclePublisher)
        self._managed_entities.add(publisher)
        return publisher

    def destroy_lifecycle_publisher(self, publisher):
        self._managed_entities.discard(publisher)
        return Node.destroy_publisher(self, publisher)
