"""LiDAR ground truth in the camera: the projection, z-buffer and occlusion filter live in ``core.depth_points``
(the node's live anchor projects LiDAR with the same code); re-exported here for the calibration's callers."""

from depth_anything_ros.core.depth_points import OcclusionFilter, sparse_depth, zbuffer

__all__ = ["OcclusionFilter", "sparse_depth", "zbuffer"]
