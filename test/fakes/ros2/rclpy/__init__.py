"""rclpy stand-in: init/spin/shutdown bookkeeping only (see ../README.md)."""

_initialized = False


def init(*, args=None, context=None, domain_id=None, signal_handler_options=None):
    global _initialized
    _initialized = True


def ok(*, context=None):
    return _initialized


def shutdown(*, context=None, uninstall_handlers=None):
    global _initialized
    if not _initialized:
        raise RuntimeError("Context must be initialized before it can be shutdown")
    _initialized = False


def try_shutdown(*, context=None, uninstall_handlers=None):
    global _initialized
    _initialized = False


def spin(node, executor=None):
    """The stand-in has no middleware: returns at once (tests drive callbacks directly)."""
