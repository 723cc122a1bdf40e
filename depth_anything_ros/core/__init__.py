"""Numpy-only building blocks every other part uses: stamp conversion and the input error family.

- ``stamps``: ROS header stamps <-> integer nanoseconds (``stamp_ns``, ``stamp_parts``).
- ``errors``: ``InputError``, raised for a message the node cannot use (it skips the frame and keeps running).

Imported by module (they pull in OpenCV through the camera model): ``camera``, ``head`` and ``head_fit`` (the head
equation and its robust fit), ``depth_points`` (range points -> pixels: z-buffer, occlusion), ``transforms``, and
the live anchor: ``anchor`` (``AnchorEstimator``), ``anchor_config``, ``anchor_fit``, ``anchor_filter``,
``anchor_reasons``, ``scan_buffer`` (pairing by stamp) and ``laser`` (LaserScan ranges -> points); docs/anchor.md.
"""

from depth_anything_ros.core.errors import InputError
from depth_anything_ros.core.stamps import NS_PER_S, ns_of, stamp_ns, stamp_parts

__all__ = ["NS_PER_S", "InputError", "ns_of", "stamp_ns", "stamp_parts"]
