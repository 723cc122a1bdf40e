import time as _time

from .time import Time


class Clock:
    """ROS time from the system clock (no /clock); tests stamp messages relative to now()."""

    def now(self):
        return Time(nanoseconds=_time.time_ns())
