"""Metric-head calibrations: the YAML the offline tool writes and the node loads.

    depth_anything_ros_calibration: 1
    model_kind: relative          # the graph kind it was fitted for: relative | relative-depth | metric
    scale: 0.0123                 # metric, relative-depth (DA3): depth = scale * raw + shift;
                                  # relative (V1/V2 inverse depth): depth = 1 / (scale * raw + shift)
    shift: 0.0045
    checkpoint_sha256: 3f9a...    # the weights it was fitted on ("" when unknown)
    camera: /front/camera
    statistics: {abs_rel_before: 0.31, abs_rel_after: 0.07, frames: 412}
    weights: {checkpoint: front.pth, onnx: front_480x640.onnx}  # --method finetune only
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from depth_anything_ros.core.files import atomic_path
from depth_anything_ros.core.head import OUTPUT_KINDS, MetricHead

FORMAT_KEY = "depth_anything_ros_calibration"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Calibration:
    model_kind: str
    scale: float
    shift: float
    checkpoint_sha256: str = ""
    camera: str = ""
    statistics: dict[str, Any] = field(default_factory=dict)
    method: str = ""  # scale | affine | finetune | manual
    bags: list[str] = field(default_factory=list)
    created: str = ""  # ISO 8601 UTC
    weights: dict[str, str] = field(default_factory=dict)  # finetune: {checkpoint, onnx} beside this file

    def head(self, min_depth: float, max_depth: float) -> MetricHead:
        return MetricHead(self.scale, self.shift, min_depth, max_depth)

    def check_applies_to(self, kind: str, checkpoint_sha256: str) -> str | None:
        """None when this calibration fits a graph of ``kind`` and weights; else a warning text."""
        if kind != self.model_kind:  # the head equations differ (inverse vs linear), so kinds never mix
            raise ValueError(f"this calibration was fitted for a {self.model_kind} model, the graph is {kind} "
                             f"(relative: inverse depth, relative-depth: DA3 depth up to scale); calibrate this "
                             f"graph itself")
        if self.checkpoint_sha256 and checkpoint_sha256 not in ("untrained", self.checkpoint_sha256):
            if self.weights:
                return (f"this calibration comes with fine-tuned weights ({', '.join(self.weights.values())}), "
                        f"but the graph runs other weights ({checkpoint_sha256[:12]}); set onnx or checkpoint "
                        f"to the fine-tuned files")
            return (f"calibration was fitted on weights {self.checkpoint_sha256[:12]}, the graph runs "
                    f"{checkpoint_sha256[:12]}; its metres may be wrong")
        return None


def load_calibration(path: str | Path) -> Calibration:
    """A Calibration from YAML, or ValueError naming what is wrong with the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read calibration {path}: {error}") from error
    if not isinstance(data, dict) or data.get(FORMAT_KEY) != FORMAT_VERSION:
        raise ValueError(f"{path} is not a depth_anything_ros calibration ('{FORMAT_KEY}: {FORMAT_VERSION}' missing)")
    try:
        calibration = Calibration(model_kind=str(data["model_kind"]), scale=float(data["scale"]),
                                  shift=float(data["shift"]), checkpoint_sha256=str(data.get("checkpoint_sha256", "")),
                                  camera=str(data.get("camera", "")), statistics=dict(data.get("statistics") or {}),
                                  method=str(data.get("method", "")), bags=[str(b) for b in data.get("bags") or []],
                                  created=str(data.get("created", "")),
                                  weights={str(k): str(v) for k, v in (data.get("weights") or {}).items()})
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: calibration field missing or mistyped: {error}") from error
    if calibration.model_kind not in OUTPUT_KINDS:
        raise ValueError(f"{path}: model_kind must be one of {', '.join(OUTPUT_KINDS)}, "
                         f"got {calibration.model_kind!r}")
    calibration.head(0.0, float("inf"))  # validates scale and shift
    return calibration


def save_calibration(path: str | Path, calibration: Calibration) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump({FORMAT_KEY: FORMAT_VERSION, **asdict(calibration)}, sort_keys=False))
    return Path(path)
