"""sensor_msgs/PointCloud2 both ways, for rclpy and rosbags message classes alike.

Like sensor_msgs_py's point_cloud2: the PointField datatype constants once, layouts described by
``Field`` tuples, ``read_points`` for any layout (float32/float64 fields, either byte order, row
padding) and ``create_cloud`` that builds the message from a payload in a given layout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

# sensor_msgs/PointField datatypes
INT8, UINT8, INT16, UINT16, INT32, UINT32, FLOAT32, FLOAT64 = 1, 2, 3, 4, 5, 6, 7, 8
DATATYPE_DTYPES = {INT8: "i1", UINT8: "u1", INT16: "i2", UINT16: "u2", INT32: "i4", UINT32: "u4",
                   FLOAT32: "f4", FLOAT64: "f8"}
HOST_BIG_ENDIAN = sys.byteorder == "big"


class Field(NamedTuple):
    """One sensor_msgs/PointField: ``count`` values of ``datatype`` at byte ``offset`` of each point."""

    name: str
    offset: int
    datatype: int = FLOAT32
    count: int = 1


def float32_fields(names: Sequence[str], start: int = 0) -> tuple[Field, ...]:
    """Consecutive float32 fields from byte ``start``: ``float32_fields("xyz")`` is x, y, z at 0, 4, 8."""
    return tuple(Field(name, start + 4 * i) for i, name in enumerate(names))


XYZ = float32_fields("xyz")  # depth_image_proc's layout: x, y, z at 0/4/8 (point_step 16)
RGB = Field("rgb", 16)  # packed b, g, r, 0 (PCL), after xyz in a 32-byte point


def cloud_bytes(msg) -> np.ndarray:
    """A PointCloud2's data as uint8, without a copy where its sequence exposes a buffer (numpy, array.array)."""
    data = msg.data
    try:
        return np.frombuffer(data, np.uint8)
    except TypeError:  # a plain list
        return np.frombuffer(bytes(data), np.uint8)


def read_points(msg, names: Sequence[str] = ("x", "y", "z"), skip_nans: bool = True, stride: int = 1) -> np.ndarray:
    """The named float fields of a PointCloud2 as (N, len(names)) float64, any layout.

    ``stride`` > 1 reads only every stride-th point (row-major order), so a large cloud costs what is kept.
    Rows with a non-finite value are dropped when ``skip_nans``; an empty cloud gives shape (0, len(names)).
    Raises ValueError for a missing field, a non-float field or data shorter than the layout needs.
    """
    fields = {f.name: f for f in msg.fields}
    missing = [name for name in names if name not in fields]
    if missing:
        raise ValueError(f"point cloud has no {', '.join(missing)} field(s); fields: {', '.join(fields) or 'none'}")
    height, width = int(msg.height), int(msg.width)
    if height * width == 0:
        return np.zeros((0, len(names)))
    step, row_step = int(msg.point_step), int(msg.row_step)
    raw = cloud_bytes(msg)
    if raw.size < row_step * (height - 1) + step * width:
        raise ValueError(f"point cloud data has {raw.size} bytes, fewer than its {height}x{width} points "
                         f"of {step} bytes need")
    rows = np.lib.stride_tricks.as_strided(raw, (height, width, step), (row_step, step, 1))
    if stride > 1:
        index = np.arange(0, height * width, stride)
        rows = rows[index // width, index % width]  # (n, step): only the points kept are copied
    order = ">" if msg.is_bigendian else "<"
    columns = []
    for name in names:
        field = fields[name]
        if field.datatype not in (FLOAT32, FLOAT64):
            raise ValueError(f"point cloud field {name} has datatype {field.datatype}; float32 ({FLOAT32}) or "
                             f"float64 ({FLOAT64}) expected")
        dtype = np.dtype(order + DATATYPE_DTYPES[field.datatype])
        chunk = np.ascontiguousarray(rows[..., field.offset: field.offset + dtype.itemsize]).reshape(-1)
        columns.append(chunk.view(dtype).astype(np.float64))
    points = np.stack(columns, axis=-1)
    return points[np.isfinite(points).all(axis=1)] if skip_nans else points


def pack_float32(points: np.ndarray, floats_per_point: int) -> np.ndarray:
    """(N, k) values as the uint8 payload of float32 points ``floats_per_point`` wide (padding zero)."""
    points = np.asarray(points, np.float32)
    points = points.reshape(len(points), -1) if points.size else np.zeros((len(points), 0), np.float32)
    packed = np.zeros((len(points), floats_per_point), np.float32)
    packed[:, : points.shape[1]] = points
    return packed.reshape(-1).view(np.uint8)


def create_cloud(point_cloud2: type, point_field: type, header, height: int, width: int, fields: Sequence[Field],
                 point_step: int, data: np.ndarray, is_dense: bool,
                 uint8_sequence: Callable[[np.ndarray], object] = np.asarray,
                 is_bigendian: bool = HOST_BIG_ENDIAN):
    """A PointCloud2 of ``point_cloud2``'s class whose ``data`` (uint8, height x width x point_step) has ``fields``."""
    data = np.asarray(data, np.uint8).reshape(-1)
    if data.size != height * width * point_step:
        raise ValueError(f"cloud data has {data.size} bytes; {height}x{width} points of {point_step} bytes need "
                         f"{height * width * point_step}")
    messages = [point_field(name=f.name, offset=f.offset, datatype=f.datatype, count=f.count) for f in fields]
    return point_cloud2(header=header, height=height, width=width, fields=messages, is_bigendian=is_bigendian,
                        point_step=point_step, row_step=width * point_step, data=uint8_sequence(data),
                        is_dense=is_dense)
