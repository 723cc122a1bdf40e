from .node import LifecycleNode, LifecycleState, TransitionCallbackReturn
from .publisher import LifecyclePublisher

Node = LifecycleNode
State = LifecycleState
Publisher = LifecyclePublisher

__all__ = ["LifecycleNode", "LifecyclePublisher", "LifecycleState"]
