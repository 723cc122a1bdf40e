"""sensor_msgs/Image and CompressedImage -> a contiguous BGR uint8 array (what the fused graph eats).

Works on any message object with the ROS 2 field names (rclpy classes or rosbags' classes).
Bad input raises InputError with a message fit for a throttled warning.
"""

from __future__ import annotations

import cv2
import numpy as np

from depth_anything_ros.core import InputError
from depth_anything_ros.core.camera import CameraModel

# encoding -> (channels, numpy dtype, conversion to BGR or None for a channel shuffle)
_COLOUR = {
    "bgr8": (3, np.uint8, None), "rgb8": (3, np.uint8, cv2.COLOR_RGB2BGR),
    "bgra8": (4, np.uint8, cv2.COLOR_BGRA2BGR), "rgba8": (4, np.uint8, cv2.COLOR_RGBA2BGR),
    "bgr16": (3, np.uint16, None), "rgb16": (3, np.uint16, cv2.COLOR_RGB2BGR),
    "bgra16": (4, np.uint16, cv2.COLOR_BGRA2BGR), "rgba16": (4, np.uint16, cv2.COLOR_RGBA2BGR),
    "mono8": (1, np.uint8, cv2.COLOR_GRAY2BGR), "8UC1": (1, np.uint8, cv2.COLOR_GRAY2BGR),
    "mono16": (1, np.uint16, cv2.COLOR_GRAY2BGR), "16UC1": (1, np.uint16, cv2.COLOR_GRAY2BGR),
    "8UC3": (3, np.uint8, None),
    # packed 4:2:2; ROS "yuv422" is UYVY byte order, "yuv422_yuy2" is YUYV
    "yuv422": (2, np.uint8, cv2.COLOR_YUV2BGR_UYVY), "uyvy": (2, np.uint8, cv2.COLOR_YUV2BGR_UYVY),
    "yuyv": (2, np.uint8, cv2.COLOR_YUV2BGR_YUYV), "yuv422_yuy2": (2, np.uint8, cv2.COLOR_YUV2BGR_YUYV),
}
# ROS names the colour of the top-left 2x2 block; OpenCV's older names are offset by one pixel.
_BAYER = {"rggb": cv2.COLOR_BayerRGGB2BGR, "bggr": cv2.COLOR_BayerBGGR2BGR,
          "gbrg": cv2.COLOR_BayerGBRG2BGR, "grbg": cv2.COLOR_BayerGRBG2BGR}
for _pattern, _code in _BAYER.items():
    _COLOUR[f"bayer_{_pattern}8"] = (1, np.uint8, _code)
    _COLOUR[f"bayer_{_pattern}16"] = (1, np.uint16, _code)
SUPPORTED_ENCODINGS = tuple(sorted(_COLOUR))


def image_array(msg) -> tuple[np.ndarray, str]:
    """The pixels of an Image message as (H, W[, C]) in its own encoding, row padding removed."""
    encoding = str(msg.encoding)
    if encoding not in _COLOUR:
        raise InputError("encoding", f"unsupported image encoding {encoding!r}; supported: "
                                     f"{', '.join(SUPPORTED_ENCODINGS)}")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise InputError("size", f"zero-size image ({width}x{height})")
    channels, dtype, _ = _COLOUR[encoding]
    dtype = np.dtype(dtype)
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise InputError("size", f"step {step} is shorter than width x pixel size = {row_bytes} bytes "
                                 f"({encoding}, width {width})")
    data = np.frombuffer(msg.data, np.uint8)
    if data.size < step * height:
        raise InputError("size", f"image data has {data.size} bytes, step x height needs {step * height}")
    rows = data[: step * height].reshape(height, step)[:, :row_bytes]
    pixels = np.ascontiguousarray(rows).view(dtype.newbyteorder(">" if msg.is_bigendian else "<"))
    pixels = pixels.astype(dtype, copy=False)
    shape = (height, width) if channels == 1 else (height, width, channels)
    return pixels.reshape(shape), encoding


def to_bgr8(pixels: np.ndarray, encoding: str) -> np.ndarray:
    """Any supported encoding's pixels as contiguous BGR uint8 (16-bit keeps its top 8 bits)."""
    _, dtype, code = _COLOUR[encoding]
    if np.dtype(dtype) == np.uint16:
        pixels = (pixels >> 8).astype(np.uint8)
    if code is not None:
        pixels = cv2.cvtColor(pixels, code)
    return np.ascontiguousarray(pixels)


def decode_image(msg) -> np.ndarray:
    """sensor_msgs/Image -> BGR uint8 (H, W, 3)."""
    return to_bgr8(*image_array(msg))


def decode_compressed(msg) -> np.ndarray:
    """sensor_msgs/CompressedImage (JPEG or PNG) -> BGR uint8 (H, W, 3)."""
    data = np.frombuffer(msg.data, np.uint8)
    if data.size == 0:
        raise InputError("decode", f"empty compressed image (format {msg.format!r})")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise InputError("decode", f"corrupt or unsupported compressed image ({data.size} bytes, format "
                                   f"{msg.format!r}); JPEG and PNG are supported")
    return image


def is_compressed(msg) -> bool:
    """CompressedImage has ``format``; Image has ``encoding``."""
    return hasattr(msg, "format") and not hasattr(msg, "encoding")


def decode_frame(image_msg, info_msg=None) -> tuple[np.ndarray, CameraModel | None]:
    """(BGR uint8 image, camera model or None); raises InputError for bad messages."""
    bgr = decode_compressed(image_msg) if is_compressed(image_msg) else decode_image(image_msg)
    return bgr, (CameraModel.from_msg(info_msg) if info_msg is not None else None)
