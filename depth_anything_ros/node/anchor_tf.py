"""The anchor's extrinsic from tf, where tf2_ros imports (a full ROS 2 install; the PyPI wheels have none).

The only tf2_ros user, imported lazily: ``tf_extrinsics(node)`` is None without tf2_ros. The listener subscribes
/tf and /tf_static on the node (its own executor serves them); a lookup never waits (timeout 0): camera optical
frame <- sensor frame at the scan's stamp, or ExtrinsicError (``NO_TRANSFORM`` for unknown or unconnected frames,
``STALE_TRANSFORM`` when tf has them but not at that stamp).
"""

from __future__ import annotations

from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.core.transforms import Transform
from depth_anything_ros.node.anchor_extrinsics import ExtrinsicError


class TfExtrinsics:
    """A tf2_ros Buffer and TransformListener on the node; ``lookup`` as ``anchor_extrinsics.Extrinsics``."""

    source = "tf"

    def __init__(self, tf2_ros, node) -> None:
        self._tf2 = tf2_ros
        self.buffer = tf2_ros.Buffer(node=node)
        self.listener = tf2_ros.TransformListener(self.buffer, node)

    def lookup(self, camera_frame: str, sensor_frame: str, stamp_ns: int) -> Transform:
        from rclpy.time import Time

        tf2 = self._tf2
        try:
            stamped = self.buffer.lookup_transform(camera_frame, sensor_frame, Time(nanoseconds=stamp_ns))
        except tf2.ExtrapolationException as error:
            raise ExtrinsicError(AnchorReason.STALE_TRANSFORM, f"tf {camera_frame} <- {sensor_frame}: {error}") \
                from error
        except (tf2.LookupException, tf2.ConnectivityException, tf2.InvalidArgumentException) as error:
            raise ExtrinsicError(AnchorReason.NO_TRANSFORM, f"tf {camera_frame} <- {sensor_frame}: {error}") \
                from error
        return Transform.from_msg(stamped.transform)


def tf_extrinsics(node) -> TfExtrinsics | None:
    """tf as the anchor's extrinsic source, or None where tf2_ros is not importable."""
    try:
        import tf2_ros
    except ImportError:
        return None
    return TfExtrinsics(tf2_ros, node)
