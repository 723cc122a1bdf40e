"""The node's log (ROS-free: any logger with debug/info/warning/error): throttled warnings and errors per
kind, and the package's Python logging (pipeline, backends, engine builds) forwarded to it."""

from __future__ import annotations

import logging
import time

from depth_anything_ros.node.stats import WarningThrottle

PACKAGE_LOGGER = "depth_anything_ros"


class LogForwarder(logging.Handler):
    """Forwards Python logging records to ``logger`` at their level."""

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


class NodeLog:
    """At most one warning (or error) of each kind per ``period_s``, with the count of those held back.

    rclpy binds one severity to each call site, so warnings and errors are logged from their own lines.
    """

    def __init__(self, logger, period_s: float = 5.0) -> None:
        self.logger = logger
        self.throttle = WarningThrottle(period_s=period_s)
        self._forwarder = LogForwarder(logger)

    def _throttled(self, kind: str, text: str) -> str | None:
        """The text to log (with the count held back), or None when this kind was logged too recently."""
        held = self.throttle.admit(kind, time.monotonic_ns())
        if held is None:
            return None
        return text + (f" ({held} more like this since the last report)" if held else "")

    def info(self, kind: str, text: str) -> None:
        text = self._throttled(kind, text)
        if text is not None:
            self.logger.info(text)

    def warn(self, kind: str, text: str) -> None:
        text = self._throttled(kind, text)
        if text is not None:
            self.logger.warning(text)

    def error(self, kind: str, text: str) -> None:
        text = self._throttled(kind, text)
        if text is not None:
            self.logger.error(text)

    def forward_package_logging(self) -> None:
        package = logging.getLogger(PACKAGE_LOGGER)
        package.addHandler(self._forwarder)
        package.setLevel(logging.INFO)

    def stop_forwarding(self) -> None:
        logging.getLogger(PACKAGE_LOGGER).removeHandler(self._forwarder)
