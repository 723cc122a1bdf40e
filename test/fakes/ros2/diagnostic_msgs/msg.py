"""diagnostic_msgs/msg stand-ins: levels are bytes constants as in ROS 2's generated classes."""

from dataclasses import dataclass, field


@dataclass
class KeyValue:
    key: str = ""
    value: str = ""


@dataclass
class DiagnosticStatus:
    OK = b"\x00"
    WARN = b"\x01"
    ERROR = b"\x02"
    STALE = b"\x03"
    level: bytes = b"\x00"
    name: str = ""
    message: str = ""
    hardware_id: str = ""
    values: list = field(default_factory=list)


@dataclass
class DiagnosticArray:
    header: object = None
    status: list = field(default_factory=list)
