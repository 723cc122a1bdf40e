"""The typed configuration of the depth pipeline, read from a ROS 2 parameters YAML file.

The file has the shape ``ros2 run --params-file`` uses, so the node and the CLI share it:

    depth_anything_ros:
      ros__parameters:
        encoder: vits
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.transforms import parse_static_transform
from depth_anything_ros.model import DA3_NAMES, DEFAULT_INPUT_SIZE, ENCODERS, PATCH_SIZE
from depth_anything_ros.msgs.cloud import CloudOptions
from depth_anything_ros.runtime import BACKENDS, PRECISIONS, BackendConfig

NODE_NAMES = ("depth_anything_ros", "/**")
SYNC_MODES = ("exact", "approximate")
INPUT_ORDERS = ("rgb", "bgr")
ANCHOR_INPUTS = ("none", "points", "scan", "range")  # anchor/points PointCloud2, anchor/scan LaserScan, anchor/range
ANCHOR_PREFIX = "anchor_"  # AnchorConfig's field f is the knob anchor_f (rectified is the node's own knob)
_ANCHOR = AnchorConfig()  # the anchor knobs' defaults are AnchorConfig's, written once there


def knob(default: Any, description: str, *, choices: tuple = (), low: float | None = None,
         high: float | None = None, step: float = 0, read_only: bool = False) -> Any:
    """A PipelineConfig field with everything the parameter, the params file and the CLI say about it."""
    return dataclasses.field(default=default, metadata={
        "description": description, "choices": tuple(choices), "low": low, "high": high, "step": step,
        "read_only": read_only})


@dataclass
class PipelineConfig:
    """THE knob table of the node and the CLI: default, description, choices, range, read-only, once each.

    Empty strings mean 'not set' (ROS parameters have no None). Read-only knobs decide the graph, the
    engine or the subscriptions; changing them means a new node.
    """

    checkpoint: str = knob("", "Depth Anything checkpoint, graphs exported per camera resolution: V1/V2 .pth, or a "
                               "DA3 folder (model.safetensors + config.json); empty: use onnx", read_only=True)
    model: str = knob("", "Depth Anything 3 model; empty: the DA3 checkpoint's config.json names it, or V1/V2 by "
                          "encoder and version for a .pth", choices=("", *DA3_NAMES), read_only=True)
    onnx: str = knob("", "fused ONNX graph from `depth-anything-ros export` (fixed resolution)", read_only=True)
    encoder: str = knob("vits", "ViT size of the checkpoint", choices=ENCODERS, read_only=True)
    version: int = knob(2, "Depth Anything version 1 or 2 (decides the tapped encoder blocks)", low=1, high=2,
                        step=1, read_only=True)
    metric: bool = knob(False, "true for metric checkpoints (sigmoid x max_depth head)", read_only=True)
    max_depth: float = knob(0.0, "metric range of the checkpoint in metres: 20 indoor (Hypersim), 80 outdoor "
                                 "(VKITTI)", low=0.0, high=1000.0, read_only=True)
    input_size: int = knob(DEFAULT_INPUT_SIZE, "short side of the network input in pixels, a multiple of 14",
                           low=PATCH_SIZE, high=4998, step=PATCH_SIZE, read_only=True)
    input_order: str = knob("bgr", "channel order the fused graph expects", choices=INPUT_ORDERS, read_only=True)
    min_depth: float = knob(0.1, "metres; closer estimates are published as -Inf (REP 117)", low=0.0, high=1000.0)
    max_range: float = knob(math.inf, "metres; farther estimates are published as +Inf (REP 117)")
    backend: str = knob("auto", "inference backend (auto: TensorRT with a GPU, else onnxruntime)", choices=BACKENDS,
                        read_only=True)
    precision: str = knob("fp16", "TensorRT engine precision (LayerNorm and pre/post-processing stay fp32)",
                          choices=PRECISIONS, read_only=True)
    engine_cache_dir: str = knob("", "engine and exported-graph cache; empty: "
                                     "$XDG_CACHE_HOME/depth_anything_ros/engines", read_only=True)
    workspace_gb: float = knob(2.0, "TensorRT builder memory-pool limit in GiB", low=0.125, high=256.0,
                               read_only=True)
    self_check_threshold: float = knob(0.02, "warn when the engine's first frame differs from onnxruntime by more "
                                             "(of range)", low=1e-9, high=1.0, read_only=True)
    device_index: int = knob(0, "CUDA device index", low=0, high=64, step=1, read_only=True)
    calibration_file: str = knob("", "metric-head calibration YAML from `depth-anything-ros calibrate`; reloaded "
                                     "on change, no engine rebuild")
    output_downscale: int = knob(1, "publish depth decimated by this integer factor (camera_info scaled exactly)",
                                 low=1, high=16, step=1)
    rectified: bool = knob(True, "input is rectified (cloud rays from P); false: rays from K and D through the "
                                 "distortion model")
    publish_cloud: bool = knob(True, "publish depth/points")
    cloud_organized: bool = knob(True, "true: height x width cloud with NaN points; false: valid points only "
                                       "(is_dense)")
    cloud_stride: int = knob(1, "use every n-th pixel in both directions for the cloud", low=1, high=64, step=1)
    cloud_min_depth: float = knob(0.0, "metres; closer points are invalid in the cloud", low=0.0, high=1000.0)
    cloud_max_depth: float = knob(math.inf, "metres; farther points are invalid in the cloud")
    cloud_colour: bool = knob(False, "add packed rgb to the cloud (point_step 32)")
    use_compressed: bool = knob(False, "subscribe image/compressed (JPEG/PNG) instead of image", read_only=True)
    sync: str = knob("exact", "pairing of image and camera_info: exact stamps, or approximate within sync_slop",
                     choices=SYNC_MODES)
    sync_slop: float = knob(0.02, "seconds allowed between image and camera_info stamps with sync approximate",
                            low=0.0, high=1.0)
    max_age: float = knob(0.5, "seconds from the image stamp after which a waiting frame is dropped (0: never)",
                          low=0.0, high=60.0)
    image_width: int = knob(0, "expected image width: with image_height, the engine loads at start (0: on the "
                               "first frame)", low=0, high=16384, step=1, read_only=True)
    image_height: int = knob(0, "expected image height: with image_width, the engine loads at start (0: on the "
                                "first frame)", low=0, high=16384, step=1, read_only=True)
    cameras: str = knob("", "multi-camera node: camera namespaces, comma-separated or a list like [/front, /rear], "
                            "each optionally NS:IMAGE_TOPIC:CAMERA_INFO_TOPIC; outputs go under NS/depth/, one "
                            "batched engine serves every camera of a resolution; empty: one camera (topics image, "
                            "camera_info)", read_only=True)
    camera_calibrations: str = knob("", "multi-camera node: per-camera calibration files, NS=FILE comma-separated "
                                        "(others use calibration_file)", read_only=True)
    camera_anchor_extrinsics: str = knob("", "multi-camera node with the live anchor: per-camera anchor_extrinsic, "
                                             "NS=X Y Z QX QY QZ QW [CAMERA_FRAME SENSOR_FRAME] comma-separated (others "
                                             "use anchor_extrinsic, anchor_extrinsics_file or tf)", read_only=True)
    batch_window_ms: float = knob(10.0, "multi-camera node: after the first camera's frame, wait at most this long "
                                        "for the others before running the batch", low=0.0, high=1000.0)
    diag_stale_input_s: float = knob(3.0, "diagnostics ERROR when no image arrived for this many seconds (while "
                                          "active)", low=0.1, high=3600.0)
    diag_min_rate: float = knob(0.0, "expected minimum output rate in Hz; below it diagnostics WARN (0: "
                                     "unchecked)", low=0.0, high=1000.0)
    diag_max_rate: float = knob(0.0, "expected maximum output rate in Hz; above it diagnostics WARN (0: "
                                     "unchecked)", low=0.0, high=1000.0)
    diag_max_latency: float = knob(0.5, "seconds from image stamp to publish above which diagnostics WARN (0: "
                                        "unchecked)", low=0.0, high=60.0)
    diag_drop_fraction: float = knob(0.25, "diagnostics WARN when more than this fraction of frames in the window "
                                           "is lost", low=0.01, high=1.0)

    # the live anchor (docs/anchor.md): off unless anchor_input names a range sensor
    anchor_input: str = knob("none", "live anchor input: the head fitted every frame to anchor/points (PointCloud2: "
                                     "LiDAR, depth camera), anchor/scan (LaserScan) or anchor/range (Range, "
                                     "scale only); none: off", choices=ANCHOR_INPUTS, read_only=True)
    anchor_shared: bool = knob(False, "multi-camera node: one anchor input under the node's namespace (the robot's "
                                      "one LiDAR) feeds every camera, each fitting it with its own extrinsic; false: "
                                      "each camera reads its own NS/anchor/<input>", read_only=True)
    anchor_extrinsic: str = knob("", "camera optical frame <- anchor sensor, static_transform_publisher's 'x y z qx qy "
                                     "qz qw [camera_frame sensor_frame]' (or 'x y z yaw pitch roll ...'); empty: "
                                     "anchor_extrinsics_file, else tf")
    anchor_extrinsics_file: str = knob("", "YAML of static transforms (the offline tools' --extrinsics format) "
                                           "joining the anchor sensor's frame to the camera's; empty: tf")
    anchor_max_cloud_points: int = knob(4_000_000, "anchor clouds with more points are not read (too_large)",
                                        low=1, high=1_000_000_000, step=1)
    anchor_max_age_s: float = knob(_ANCHOR.max_age_s, "seconds: the newest anchor message at most this much older "
                                                      "than the image is used", low=0.0, high=10.0)
    anchor_max_future_s: float = knob(_ANCHOR.max_future_s, "seconds: anchor messages stamped later than the image "
                                                            "by more are not used (0: never one from after it)",
                                      low=0.0, high=10.0)
    anchor_hold_s: float = knob(_ANCHOR.hold_s, "seconds the last live head is kept without a good fit; then the "
                                                "calibration's head, or none", low=0.0, high=3600.0)
    anchor_min_points: int = knob(_ANCHOR.min_points, "anchor pixels a fit needs", low=3, high=1_000_000, step=1)
    anchor_min_depth_spread: float = knob(_ANCHOR.min_depth_spread, "anchor depth 90th/10th percentile - 1 below "
                                                                    "this: a scale-only fit", low=0.0, high=100.0)
    anchor_min_inlier_ratio: float = knob(_ANCHOR.min_inlier_ratio, "fraction of the anchor pixels that must agree "
                                                                    "with the fit", low=0.01, high=1.0)
    anchor_inlier_error: float = knob(_ANCHOR.inlier_error, "relative depth error within which a pixel agrees",
                                      low=0.0, high=10.0)
    anchor_max_change: float = knob(_ANCHOR.max_change, "a fit moving the metres at the anchor points more than this "
                                                        "fraction at once is refused", low=0.001, high=100.0)
    anchor_residual_warn: float = knob(_ANCHOR.residual_warn, "diagnostics WARN when the fit's AbsRel is above this",
                                       low=0.0, high=100.0)
    anchor_scale_change_warn: float = knob(_ANCHOR.scale_change_warn, "diagnostics WARN when the live scale moves "
                                                                      "more than this fraction between fits",
                                           low=0.0, high=100.0)
    anchor_min_depth: float = knob(_ANCHOR.min_depth, "metres: anchor points nearer the camera are dropped",
                                   low=0.0, high=1000.0)
    anchor_max_input_points: int = knob(_ANCHOR.max_input_points, "anchor clouds are read evenly decimated to this "
                                                                  "many points", low=3, high=100_000_000, step=1)
    anchor_max_fit_points: int = knob(_ANCHOR.max_fit_points, "anchor pixels fitted at most, taken evenly",
                                      low=3, high=10_000_000, step=1)
    anchor_occlusion: bool = knob(_ANCHOR.occlusion, "run the full-image occlusion filter on the anchor pixels "
                                                     "(about 20 ms a frame; the robust fit drops most hidden points)")
    anchor_scale_jitter: float = knob(_ANCHOR.scale_jitter, "filter: per-fit change of log scale the network may "
                                                            "make (std)", low=0.0, high=10.0)
    anchor_shift_jitter: float = knob(_ANCHOR.shift_jitter, "filter: per-fit change of the shift in typical raw "
                                                            "values (std)", low=0.0, high=10.0)
    anchor_scale_drift: float = knob(_ANCHOR.scale_drift, "filter: drift of log scale per square-root second (std)",
                                     low=0.0, high=10.0)
    anchor_shift_drift: float = knob(_ANCHOR.shift_drift, "filter: drift of the shift per square-root second (std)",
                                     low=0.0, high=10.0)
    anchor_measurement_floor: float = knob(_ANCHOR.measurement_floor, "filter: the least std a fit's log scale is "
                                                                      "trusted to", low=1e-9, high=10.0)
    anchor_effective_points: int = knob(_ANCHOR.effective_points, "filter: at most this many anchor pixels count as "
                                                                  "independent", low=1, high=1_000_000, step=1)

    def cloud_options(self) -> CloudOptions:
        """The cloud knobs as CloudOptions (which validates them)."""
        return CloudOptions(organized=self.cloud_organized, stride=self.cloud_stride, min_depth=self.cloud_min_depth,
                            max_depth=self.cloud_max_depth, colour=self.cloud_colour, rectified=self.rectified)

    def anchor_config(self) -> AnchorConfig:
        """The anchor knobs as the estimator's AnchorConfig (which validates them); ``rectified`` is the node's."""
        return AnchorConfig(rectified=self.rectified, **{name: getattr(self, ANCHOR_PREFIX + name)
                                                         for name in anchor_fields()})

    def backend_config(self) -> BackendConfig:
        """The part of the config that ``runtime/`` needs."""
        return BackendConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(BackendConfig)})

    def pairing_slop_s(self) -> float:
        """How far (s) an image's and its camera_info's stamps may differ: 0 (exact) unless sync is approximate."""
        return self.sync_slop if self.sync == "approximate" else 0.0

    def expected_image_hw(self) -> tuple[int, int] | None:
        """The camera resolution known before the first frame (to load the engine at start), if any."""
        return (self.image_height, self.image_width) if self.image_width else None

    def __post_init__(self) -> None:
        for spec in knobs():
            spec.check(getattr(self, spec.name))
        if self.input_size % PATCH_SIZE:
            raise ValueError(f"input_size must be a positive multiple of {PATCH_SIZE}, got {self.input_size}")
        if self.metric and self.max_depth <= 0 and not self.onnx and self.backend_config().family.metres_from_max_depth:
            raise ValueError("metric: true needs max_depth > 0 (20 indoor, 80 outdoor)")
        self.cloud_options()  # validates stride and depth limits
        if (self.image_width == 0) != (self.image_height == 0):
            raise ValueError(f"image_width and image_height must both be 0 (unknown) or both positive, got "
                             f"{self.image_width}x{self.image_height}")
        if self.diag_max_rate and self.diag_min_rate > self.diag_max_rate:
            raise ValueError(f"need diag_min_rate <= diag_max_rate (0: unchecked), got {self.diag_min_rate}, "
                             f"{self.diag_max_rate}")
        if not self.min_depth < self.max_range:
            raise ValueError(f"need 0 <= min_depth < max_range, got {self.min_depth}, {self.max_range}")
        self.anchor_config()  # validates the anchor knobs together
        if self.anchor_extrinsic:
            parse_static_transform(self.anchor_extrinsic)  # ValueError naming the convention
        if not self.cameras and (self.anchor_shared or self.camera_anchor_extrinsics):
            raise ValueError("anchor_shared and camera_anchor_extrinsics are for the multi-camera node (cameras); one "
                             "camera reads anchor/<input> with anchor_extrinsic")


def anchor_fields() -> tuple[str, ...]:
    """AnchorConfig's fields that are node knobs (``anchor_<field>``): all but ``rectified``, the node's own."""
    return tuple(f.name for f in dataclasses.fields(AnchorConfig) if f.name != "rectified")


@dataclass(frozen=True)
class Knob:
    """One row of the knob table, as the ROS parameter, the params file and the CLI flag see it."""

    name: str
    default: Any
    type: type
    description: str
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    step: float = 0
    read_only: bool = False

    @property
    def full_description(self) -> str:
        return self.description + (f" [{' | '.join(map(str, self.choices))}]" if self.choices else "")

    def check(self, value: Any) -> None:
        """ValueError naming the knob when ``value`` is outside its choices or range."""
        if self.choices and value not in self.choices:
            raise ValueError(f"{self.name} must be {' | '.join(map(str, self.choices))}, got {value!r}")
        in_range = (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        if not in_range:  # NaN fails both comparisons
            raise ValueError(f"{self.name} must be within [{self.low:g}, {self.high:g}], got {value!r}")


_TYPES = {"str": str, "int": int, "bool": bool, "float": float}


def knobs() -> tuple[Knob, ...]:
    """The knob table, in declaration order."""
    return tuple(Knob(f.name, f.default, _TYPES[str(f.type)], **f.metadata) for f in dataclasses.fields(PipelineConfig))


def _coerce(name: str, value: Any, expected: type, source: Path) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is float and isinstance(value, str) and value.lower() in (".inf", "inf"):
        return math.inf
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ValueError(f"{source}: parameter {name!r} must be {expected.__name__}, got {value!r}")
    return value


def load_parameters(path: str | Path) -> dict[str, Any]:
    """The ``ros__parameters`` mapping of this package's node in a ROS 2 params file."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read parameters file {path}: {error}") from error
    for node in NODE_NAMES:
        section = document.get(node, {}) if isinstance(document, dict) else {}
        if isinstance(section, dict) and "ros__parameters" in section:
            return dict(section["ros__parameters"] or {})
    raise ValueError(f"{path} has no '<node>: ros__parameters:' section for any of {NODE_NAMES}")


def config_from_parameters(path: str | Path) -> PipelineConfig:
    """A validated PipelineConfig from a params file; unknown or mistyped names are refused."""
    types = {spec.name: spec.type for spec in knobs()}
    values = {}
    for name, value in load_parameters(path).items():
        if name not in types:
            raise ValueError(f"{path}: unknown parameter {name!r}; known: {', '.join(sorted(types))}")
        values[name] = _coerce(name, value, types[name], Path(path))
    return PipelineConfig(**values)
