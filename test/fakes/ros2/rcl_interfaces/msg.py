"""rcl_interfaces/msg stand-ins with the real field names and defaults."""

from dataclasses import dataclass, field


@dataclass
class IntegerRange:
    from_value: int = 0
    to_value: int = 0
    step: int = 0


@dataclass
class FloatingPointRange:
    from_value: float = 0.0
    to_value: float = 0.0
    step: float = 0.0


@dataclass
class ParameterDescriptor:
    name: str = ""
    type: int = 0
    description: str = ""
    additional_constraints: str = ""
    read_only: bool = False
    dynamic_typing: bool = False
    floating_point_range: list = field(default_factory=list)
    integer_range: list = field(default_factory=list)

    def __post_init__(self):
        if len(self.floating_point_range) > 1 or len(self.integer_range) > 1:
            raise ValueError("ranges are bounded sequences of at most 1 element")


@dataclass
class SetParametersResult:
    successful: bool = False
    reason: str = ""
