"""Output messages (REP 118 depth, camera info, clouds, previews) for either message implementation.

A MessageKit holds the message classes and the two field conversions that differ between rclpy's
generated classes (array.array sequences) and rosbags' classes (numpy arrays); everything else
is built with the same keyword arguments for both. A rosbags ROS 1 typestore gives a kit that
builds messages in their ROS 1 form (Header.seq, CameraInfo D/K/R/P). These are the package's only
message builders: the node, bag replay and the synthetic bags all use them.
"""

from __future__ import annotations

import array
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from depth_anything_ros.core import stamp_parts
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.msgs.cloud import CloudPayload
from depth_anything_ros.msgs.point_cloud2 import HOST_BIG_ENDIAN, create_cloud


@dataclass(frozen=True)
class MessageKit:
    image: type
    camera_info: type
    point_cloud2: type
    point_field: type
    region_of_interest: type
    uint8_sequence: Callable[[np.ndarray], object]
    float64_sequence: Callable[[np.ndarray], object]
    compressed_image: type | None = None
    header: type | None = None
    time: type | None = None
    ros1: bool = False  # ROS 1 field names: Header.seq, CameraInfo D/K/R/P
    float64_multi_array: tuple[type, type, type] | None = None  # std_msgs Float64MultiArray, its layout, dimension


def rosbags_kit(typestore) -> MessageKit:
    """Message classes of a rosbags typestore (e.g. ``get_typestore(Stores.ROS2_HUMBLE)``)."""
    types = typestore.types
    header = types["std_msgs/msg/Header"]
    return MessageKit(types["sensor_msgs/msg/Image"], types["sensor_msgs/msg/CameraInfo"],
                      types["sensor_msgs/msg/PointCloud2"], types["sensor_msgs/msg/PointField"],
                      types["sensor_msgs/msg/RegionOfInterest"],
                      uint8_sequence=lambda a: np.ascontiguousarray(a, np.uint8).reshape(-1),
                      float64_sequence=lambda a: np.asarray(a, np.float64).reshape(-1),
                      compressed_image=types["sensor_msgs/msg/CompressedImage"], header=header,
                      time=types["builtin_interfaces/msg/Time"],
                      ros1="seq" in {f.name for f in dataclasses.fields(header)},
                      float64_multi_array=(types["std_msgs/msg/Float64MultiArray"],
                                           types["std_msgs/msg/MultiArrayLayout"],
                                           types["std_msgs/msg/MultiArrayDimension"]))


def rclpy_kit() -> MessageKit:
    """The generated sensor_msgs classes of a ROS 2 installation."""
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2, PointField, RegionOfInterest
    from std_msgs.msg import Float64MultiArray, Header, MultiArrayDimension, MultiArrayLayout

    return MessageKit(Image, CameraInfo, PointCloud2, PointField, RegionOfInterest,
                      uint8_sequence=rclpy_uint8, float64_sequence=rclpy_float64, compressed_image=CompressedImage,
                      header=Header, time=Time,
                      float64_multi_array=(Float64MultiArray, MultiArrayLayout, MultiArrayDimension))


def typed_array(typecode: str, dtype: type, values: np.ndarray) -> array.array:
    """``values`` as the array.array rclpy's generated classes hold sequences in: one copy, no bytes object."""
    out = array.array(typecode)
    out.frombytes(memoryview(np.ascontiguousarray(values, dtype).reshape(-1)).cast("B"))
    return out


def rclpy_uint8(values: np.ndarray) -> array.array:
    return typed_array("B", np.uint8, values)


def rclpy_float64(values: np.ndarray) -> array.array:
    return typed_array("d", np.float64, values)


def header_msg(kit: MessageKit, stamp_ns: int, frame_id: str):
    """std_msgs/Header at ``stamp_ns`` (seq 0 in ROS 1)."""
    sec, nanosec = stamp_parts(stamp_ns)
    return kit.header(stamp=kit.time(sec=sec, nanosec=nanosec), frame_id=frame_id, **({"seq": 0} if kit.ros1 else {}))


def float_image_msg(kit: MessageKit, header, values: np.ndarray):
    """32FC1 image (REP 118 depth in metres, or relative inverse depth), rows unpadded."""
    height, width = values.shape
    data = np.ascontiguousarray(values, np.float32).view(np.uint8).reshape(-1)
    return kit.image(header=header, height=height, width=width, encoding="32FC1", is_bigendian=int(HOST_BIG_ENDIAN),
                     step=width * 4, data=kit.uint8_sequence(data))


def bgr_image_msg(kit: MessageKit, header, bgr: np.ndarray):
    height, width = bgr.shape[:2]
    return kit.image(header=header, height=height, width=width, encoding="bgr8", is_bigendian=0, step=width * 3,
                     data=kit.uint8_sequence(bgr.reshape(-1)))


def compressed_image_msg(kit: MessageKit, header, data: np.ndarray, fmt: str = "jpeg"):
    """sensor_msgs/CompressedImage of already encoded bytes (e.g. ``cv2.imencode``'s)."""
    return kit.compressed_image(header=header, format=fmt, data=kit.uint8_sequence(data))


def camera_info_msg(kit: MessageKit, header, camera: CameraModel):
    """CameraInfo describing exactly the published image: binning and ROI folded into K and P."""
    matrices = {"d": kit.float64_sequence(camera.d), "k": np.asarray(camera.k, np.float64).reshape(9),
                "r": np.asarray(camera.r, np.float64).reshape(9), "p": np.asarray(camera.p, np.float64).reshape(12)}
    return kit.camera_info(
        header=header, height=camera.height, width=camera.width, distortion_model=camera.distortion_model,
        **{(name.upper() if kit.ros1 else name): value for name, value in matrices.items()}, binning_x=0, binning_y=0,
        roi=kit.region_of_interest(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))


def point_cloud_msg(kit: MessageKit, header, cloud: CloudPayload):
    """PointCloud2 of a payload in the host's byte order (msgs.point_cloud2 describes and reads the layout)."""
    return create_cloud(kit.point_cloud2, kit.point_field, header, cloud.height, cloud.width, cloud.fields,
                        cloud.point_step, cloud.data, cloud.is_dense, kit.uint8_sequence, HOST_BIG_ENDIAN)


def float64_array_msg(kit: MessageKit, label: str, values) -> object:
    """std_msgs/Float64MultiArray of ``values`` with one dimension named ``label`` (its layout says what is where)."""
    array, layout, dimension = kit.float64_multi_array
    values = np.asarray(values, np.float64).reshape(-1)
    dims = [dimension(label=label, size=values.size, stride=values.size)]
    return array(layout=layout(dim=dims, data_offset=0), data=kit.float64_sequence(values))


def tf_message(types: Mapping[str, type], header, children: Mapping[str, tuple[np.ndarray, np.ndarray]]):
    """tf2_msgs/TFMessage of a rosbags typestore's ``types``: one TransformStamped under ``header`` per child
    frame, given as (translation xyz, quaternion xyzw)."""
    def stamped(child: str, t: np.ndarray, q: np.ndarray):
        return types["geometry_msgs/msg/TransformStamped"](
            header=header, child_frame_id=child, transform=types["geometry_msgs/msg/Transform"](
                translation=types["geometry_msgs/msg/Vector3"](x=float(t[0]), y=float(t[1]), z=float(t[2])),
                rotation=types["geometry_msgs/msg/Quaternion"](x=float(q[0]), y=float(q[1]), z=float(q[2]),
                                                               w=float(q[3]))))

    return types["tf2_msgs/msg/TFMessage"](transforms=[stamped(child, *pose) for child, pose in children.items()])
