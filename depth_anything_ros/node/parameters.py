"""The node's ROS parameters, derived from the knob table (``node.config.knobs``), and its params file.

ROS-free: the node turns each Knob into an rcl_interfaces ParameterDescriptor (``integer_range`` /
``float_range`` below), ``apply_changes`` is what its set-parameters callback runs (a refused change keeps
the old config), ``graph_values`` are the read-only values a fused graph fixes, and ``params_file_text``
renders ``config/depth.yaml`` from the same table.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from depth_anything_ros.export import GraphInfo, read_graph_info
from depth_anything_ros.model import DA3_NAMES
from depth_anything_ros.node.config import Knob, PipelineConfig, knobs

READ_ONLY = frozenset(spec.name for spec in knobs() if spec.read_only)


def integer_range(spec: Knob) -> tuple[int, int, int] | None:
    """(low, high, step) of a ranged integer knob, as rcl_interfaces' IntegerRange wants it."""
    if spec.type is not int or spec.low is None:
        return None
    return int(spec.low), int(spec.high), int(spec.step or 1)


def float_range(spec: Knob) -> tuple[float, float, float] | None:
    """(low, high, step) of a ranged floating-point knob (step 0: continuous)."""
    if spec.type is not float or spec.low is None:
        return None
    return float(spec.low), float(spec.high), float(spec.step)


def apply_changes(config: PipelineConfig, changes: dict[str, Any]) -> PipelineConfig:
    """The config with ``changes`` (names that are not pipeline parameters are ignored); ValueError if refused."""
    names = {f.name for f in dataclasses.fields(PipelineConfig)}
    relevant = {name: value for name, value in changes.items() if name in names}
    refused = sorted(READ_ONLY & relevant.keys())
    if refused:
        raise ValueError(f"{', '.join(refused)} cannot change while the node runs (they decide the graph or "
                         f"the subscriptions); restart the node with the new value")
    return dataclasses.replace(config, **relevant)


def graph_values(onnx: str) -> dict[str, object]:
    """What a fused graph fixes (model, head, input size), as parameter values; {} when it cannot be read."""
    try:
        info = read_graph_info(onnx)
    except Exception:  # a missing or foreign file: reported when the backend loads
        return {}
    return info_values(info)


def info_values(info: GraphInfo) -> dict[str, object]:
    """The read-only parameter values a graph fixes: metric (its kind), max_depth, input size and order, and
    ``model`` for an official DA3 graph (the tiny test networks have no parameter value)."""
    values = {"metric": info.kind == "metric", "input_size": int(min(info.network_height, info.network_width)),
              "input_order": info.input_order}
    if info.kind == "metric" and info.max_depth:
        values["max_depth"] = float(info.max_depth)
    if info.model in DA3_NAMES:
        values["model"] = info.model
    return values


def expects_metric(config: PipelineConfig) -> bool:
    """Whether the configured network gives metres before its graph is loaded (a DA3 checkpoint's config.json
    decides: its model, or our fine-tuning to metres; else the ``metric`` parameter)."""
    if not config.checkpoint:
        return config.metric
    backend = config.backend_config()
    try:
        return backend.family.gives_metres(backend.checkpoint_request())
    except (ValueError, OSError):  # a broken checkpoint: reported when the backend loads
        return False


def yaml_value(value: Any) -> str:
    """A default as the params file writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    if isinstance(value, str):
        return f'"{value}"' if value == "" else value
    return repr(value)


def params_file_text() -> str:
    """``config/depth.yaml``: every knob with its default, one comment line of description above it."""
    lines = ["# Parameters of the depth pipeline (ROS 2 params-file format; `depth-anything-ros ... --params`",
             "# reads it too). Generated from the knob table: python -m depth_anything_ros.node.parameters",
             "/**:", "  ros__parameters:"]
    for spec in knobs():
        note = " (read-only: restart to change)" if spec.read_only else ""
        lines += [f"    # {spec.full_description}{note}", f"    {spec.name}: {yaml_value(spec.default)}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(params_file_text(), end="")
