from ..node import Publisher


class LifecyclePublisher(Publisher):
    """Publishes only while activated; otherwise drops the message (the real one logs a warning)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._enabled = False

    def publish(self, msg):
        if not self._enabled:
            return None
        return super().publish(msg)

    def on_activate(self, state):
        self._enabled = True
        from .node import TransitionCallbackReturn
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state):
        self._enabled = False
        from .node import TransitionCallbackReturn
        return TransitionCallbackReturn.SUCCESS

    def on_configure(self, state):
        from .node import TransitionCallbackReturn
        return TransitionCallbackReturn.SUCCESS

    on_cleanup = on_shutdown = on_error = on_configure
