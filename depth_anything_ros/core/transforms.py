"""Rigid transforms and a tf buffer built from recorded /tf_static and /tf (no ROS needed).

``TransformBuffer.lookup(target, source, stamp)`` returns the transform that maps points in
``source`` into ``target`` at that stamp: static edges as recorded, dynamic edges interpolated
(linear translation, slerp rotation) between the two recorded samples around the stamp. A missing
path names both frames and the trees they belong to. Extrinsics may also come from a YAML file.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from depth_anything_ros.core.stamps import stamp_ns


class TransformError(LookupError):
    """No transform: frames not connected, or a stamp outside the recorded range."""


class ExtrapolationError(TransformError):
    """The frames are connected, but a moving edge has no sample near the stamp asked for."""


def quaternion_to_matrix(q: Iterable[float]) -> np.ndarray:
    """(x, y, z, w) -> 3x3 rotation matrix (normalised first)."""
    x, y, z, w = np.asarray(q, np.float64) / np.linalg.norm(np.asarray(q, np.float64))
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def matrix_to_quaternion(r: np.ndarray) -> np.ndarray:
    """3x3 rotation -> (x, y, z, w) with w >= 0."""
    m = np.asarray(r, np.float64)
    trace = np.trace(m)
    if trace > 0:
        s = 2 * np.sqrt(trace + 1)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, s / 4]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2 * np.sqrt(1 + m[i, i] - m[j, j] - m[k, k])
        q = [0.0, 0.0, 0.0, (m[k, j] - m[j, k]) / s]
        q[i], q[j], q[k] = s / 4, (m[j, i] + m[i, j]) / s, (m[k, i] + m[i, k]) / s
    q = np.array(q)
    return q if q[3] >= 0 else -q


def rpy_to_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Fixed-axis roll (x), pitch (y), yaw (z), as tf2 and URDF use them: R = Rz(yaw) Ry(pitch) Rx(roll)."""
    cr, sr, cp, sp, cy, sy = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


def slerp(q0: np.ndarray, q1: np.ndarray, fraction: float) -> np.ndarray:
    q0, q1 = q0 / np.linalg.norm(q0), q1 / np.linalg.norm(q1)
    dot = float(np.dot(q0, q1))
    if dot < 0:
        q1, dot = -q1, -dot
    if dot > 0.9995:
        q = q0 + fraction * (q1 - q0)
        return q / np.linalg.norm(q)
    angle = np.arccos(dot)
    return (np.sin((1 - fraction) * angle) * q0 + np.sin(fraction * angle) * q1) / np.sin(angle)


@dataclass(frozen=True)
class Transform:
    """x_parent = rotation @ x_child + translation."""

    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))

    @classmethod
    def from_quaternion(cls, translation: Iterable[float], quaternion: Iterable[float]) -> Transform:
        return cls(quaternion_to_matrix(quaternion), np.asarray(translation, np.float64).reshape(3))

    @classmethod
    def from_msg(cls, msg) -> Transform:
        """geometry_msgs/Transform."""
        t, q = msg.translation, msg.rotation
        return cls.from_quaternion((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> Transform:
        """A 4x4 (or 3x4) homogeneous matrix [R | t]; the rotation part must be a rotation."""
        m = np.asarray(matrix, np.float64)
        if m.shape not in ((4, 4), (3, 4)) or not np.isfinite(m).all():
            raise ValueError(f"an extrinsic matrix must be finite 4x4 or 3x4, got shape {m.shape}")
        rotation = m[:3, :3]
        if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-6) or np.linalg.det(rotation) < 0:
            raise ValueError(f"the extrinsic's 3x3 part is not a rotation: {rotation.tolist()}")
        return cls(rotation.copy(), m[:3, 3].copy())

    def matrix(self) -> np.ndarray:
        """The 4x4 homogeneous matrix: [x_parent; 1] = M [x_child; 1]."""
        out = np.eye(4)
        out[:3, :3], out[:3, 3] = self.rotation, self.translation
        return out

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) points in the child frame -> the parent frame."""
        return np.asarray(points, np.float64) @ self.rotation.T + self.translation

    def __matmul__(self, other: Transform) -> Transform:
        return Transform(self.rotation @ other.rotation, self.rotation @ other.translation + self.translation)

    def inverse(self) -> Transform:
        return Transform(self.rotation.T, -self.rotation.T @ self.translation)

    def interpolate(self, other: Transform, fraction: float) -> Transform:
        q = slerp(matrix_to_quaternion(self.rotation), matrix_to_quaternion(other.rotation), fraction)
        return Transform(quaternion_to_matrix(q), (1 - fraction) * self.translation + fraction * other.translation)


@dataclass
class _Edge:
    parent: str
    static: Transform | None = None
    stamps: list[int] = field(default_factory=list)
    samples: list[Transform] = field(default_factory=list)


class TransformBuffer:
    """A tf tree from recorded messages; each child frame has one parent, as in tf2."""

    def __init__(self, tolerance_ns: int = 0) -> None:
        self._edges: dict[str, _Edge] = {}
        self.tolerance_ns = tolerance_ns  # how far a lookup may fall outside a dynamic edge's samples

    @staticmethod
    def _name(frame: str) -> str:
        return frame.lstrip("/")

    def _edge(self, parent: str, child: str) -> _Edge:
        parent, child = self._name(parent), self._name(child)
        edge = self._edges.get(child)
        if edge is None or edge.parent != parent:  # tf2 also lets a newer parent replace the old one
            edge = self._edges[child] = _Edge(parent)
        return edge

    def add_static(self, parent: str, child: str, transform: Transform) -> None:
        self._edge(parent, child).static = transform

    def add(self, parent: str, child: str, stamp_ns: int, transform: Transform) -> None:
        edge = self._edge(parent, child)
        index = bisect.bisect(edge.stamps, stamp_ns)
        edge.stamps.insert(index, stamp_ns)
        edge.samples.insert(index, transform)

    def add_message(self, msg, static: bool) -> None:
        """A tf2_msgs/TFMessage from /tf or /tf_static."""
        for item in msg.transforms:
            transform = Transform.from_msg(item.transform)
            if static:
                self.add_static(item.header.frame_id, item.child_frame_id, transform)
            else:
                stamp = stamp_ns(item.header)
                self.add(item.header.frame_id, item.child_frame_id, stamp, transform)

    @property
    def frames(self) -> set[str]:
        return set(self._edges) | {edge.parent for edge in self._edges.values()}

    def _chain(self, frame: str) -> list[str]:
        chain = [frame]
        while chain[-1] in self._edges and len(chain) <= len(self._edges) + 1:
            chain.append(self._edges[chain[-1]].parent)
        return chain

    def _edge_at(self, child: str, stamp_ns: int) -> Transform:
        edge = self._edges[child]
        if edge.static is not None and not edge.stamps:
            return edge.static
        stamps = edge.stamps
        first, last = stamps[0], stamps[-1]
        if stamp_ns < first - self.tolerance_ns or stamp_ns > last + self.tolerance_ns:
            raise ExtrapolationError(f"{edge.parent} -> {child} is recorded from {first / 1e9:.3f} to {last / 1e9:.3f} "
                                 f"s; {stamp_ns / 1e9:.3f} s is outside (extrapolation)")
        index = bisect.bisect(stamps, stamp_ns)
        if index == 0:
            return edge.samples[0]
        if index == len(stamps):
            return edge.samples[-1]
        t0, t1 = stamps[index - 1], stamps[index]
        fraction = 0.0 if t1 == t0 else (stamp_ns - t0) / (t1 - t0)
        return edge.samples[index - 1].interpolate(edge.samples[index], fraction)

    def _to_root(self, chain: list[str], stamp_ns: int, stop: str) -> Transform:
        out = Transform()
        for child in chain[: chain.index(stop)]:
            out = self._edge_at(child, stamp_ns) @ out
        return out

    def lookup(self, target: str, source: str, stamp_ns: int) -> Transform:
        """The transform taking points in ``source`` to ``target`` at ``stamp_ns``."""
        target, source = self._name(target), self._name(source)
        if target == source:
            return Transform()
        up_source, up_target = self._chain(source), self._chain(target)
        common = next((frame for frame in up_source if frame in up_target), None)
        if common is None:
            known = ", ".join(sorted(self.frames)) or "none"
            raise TransformError(f"no transform between {target!r} and {source!r}: {source!r} leads to "
                                 f"{up_source[-1]!r}, {target!r} leads to {up_target[-1]!r}, and the two trees "
                                 f"are not connected (known frames: {known}); record /tf_static or pass "
                                 f"--extrinsics")
        source_to_common = self._to_root(up_source, stamp_ns, common)
        target_to_common = self._to_root(up_target, stamp_ns, common)
        return target_to_common.inverse() @ source_to_common

    def lookup_moving(self, target: str, target_ns: int, source: str, source_ns: int, fixed: str) -> Transform:
        """Points in ``source`` at ``source_ns`` -> ``target`` at ``target_ns`` through the world-fixed frame."""
        return self.lookup(target, fixed, target_ns) @ self.lookup(fixed, source, source_ns)


@dataclass(frozen=True)
class StaticTransform:
    """What static_transform_publisher publishes: ``transform`` maps ``child_frame_id`` points into ``frame_id``."""

    transform: Transform
    frame_id: str = ""
    child_frame_id: str = ""


_STATIC_FLAGS = ("x", "y", "z", "qx", "qy", "qz", "qw", "roll", "pitch", "yaw", "frame-id", "child-frame-id")


def parse_static_transform(args: str | Iterable[str | float]) -> StaticTransform:
    """static_transform_publisher's arguments as a transform, in either of its conventions.

    Positional: ``x y z qx qy qz qw [frame_id child_frame_id]`` or ``x y z yaw pitch roll [frame_id
    child_frame_id]`` (yaw first, as tf2_ros orders them). Flags (ROS 2 since Humble): ``--x --y --z`` with
    ``--qx --qy --qz --qw`` or ``--roll --pitch --yaw``, ``--frame-id``, ``--child-frame-id``; omitted
    values are 0 (qw 1). Angles in radians. Raises ValueError naming what is wrong.
    """
    words = args.split() if isinstance(args, str) else [str(a) for a in args]
    usage = ("expected 'x y z qx qy qz qw [frame_id child_frame_id]', 'x y z yaw pitch roll [frame_id "
             "child_frame_id]' or --x/--y/--z/--qx/--qy/--qz/--qw (or --roll/--pitch/--yaw) flags")
    try:
        if any(w.startswith("--") for w in words):
            if len(words) % 2:
                raise ValueError("every flag needs one value")
            given = {}
            for flag, value in zip(words[::2], words[1::2], strict=True):
                name = flag[2:].replace("_", "-")
                if name not in _STATIC_FLAGS:
                    raise ValueError(f"unknown flag {flag}")
                given[name] = value
            numbers = {k: float(v) for k, v in given.items() if k not in ("frame-id", "child-frame-id")}
            if {"qx", "qy", "qz", "qw"} & set(numbers) and {"roll", "pitch", "yaw"} & set(numbers):
                raise ValueError("give a quaternion or roll/pitch/yaw, not both")
            translation = [numbers.get(k, 0.0) for k in ("x", "y", "z")]
            if {"roll", "pitch", "yaw"} & set(numbers):
                rotation = rpy_to_matrix(*(numbers.get(k, 0.0) for k in ("roll", "pitch", "yaw")))
            else:
                rotation = _rotation_of([numbers.get(k, 0.0) for k in ("qx", "qy", "qz")] + [numbers.get("qw", 1.0)])
            names = given.get("frame-id", ""), given.get("child-frame-id", "")
        else:
            count = 7 if len(words) in (7, 9) else 6 if len(words) in (6, 8) else 0
            if not count:
                raise ValueError(f"{len(words)} arguments")
            values = [float(w) for w in words[:count]]
            translation = values[:3]
            rotation = _rotation_of(values[3:7]) if count == 7 else rpy_to_matrix(values[5], values[4], values[3])
            names = tuple(words[count:]) if len(words) > count else ("", "")
        if not np.isfinite(translation).all():
            raise ValueError(f"translation {translation} is not finite")
    except ValueError as error:
        raise ValueError(f"cannot read static transform {' '.join(words)!r}: {error}; {usage}") from error
    return StaticTransform(Transform(rotation, np.asarray(translation, np.float64)), *names)


def _rotation_of(quaternion: list[float]) -> np.ndarray:
    q = np.asarray(quaternion, np.float64)
    norm = float(np.linalg.norm(q))
    if not np.isfinite(q).all() or norm < 1e-9:
        raise ValueError(f"quaternion {quaternion} has no direction (zero or not finite)")
    return quaternion_to_matrix(q)


def load_extrinsics(path: str | Path, buffer: TransformBuffer) -> int:
    """Static transforms from YAML into ``buffer``; returns how many.

        extrinsics:
          - {parent: base_link, child: velodyne, translation: [1.2, 0, 1.7], rotation: [0, 0, 0, 1]}
          - {parent: base_link, child: camera_optical_frame, translation: [...], rpy: [-1.5708, 0, -1.5708]}

    ``rotation`` is a quaternion (x, y, z, w); ``rpy`` roll, pitch, yaw in radians.
    """
    try:
        document = yaml.safe_load(Path(path).read_text()) or {}
        items = document["extrinsics"]
        for item in items:
            if "rotation" in item:
                transform = Transform.from_quaternion(item["translation"], item["rotation"])
            else:
                transform = Transform(rpy_to_matrix(*item["rpy"]), np.asarray(item["translation"], np.float64))
            buffer.add_static(item["parent"], item["child"], transform)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"cannot read extrinsics {path}: {error!r}; expected 'extrinsics: [{{parent, child, "
                         f"translation: [x, y, z], rotation: [x, y, z, w] | rpy: [r, p, y]}}]'") from error
    return len(items)
