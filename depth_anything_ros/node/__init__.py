"""The ROS 2 node (the only rclpy user), its knob table and parameters, the pipeline, and bag replay.

- ``config``: PipelineConfig, THE knob table (default, description, choices, range, read-only), params files.
- ``parameters``: ROS parameters and config/depth.yaml derived from the knob table; run-time changes.
- ``pipeline``: DepthPipeline: image -> depth, camera_info, cloud (one backend, the metric head).
- ``frame_io``: a pipeline frame's output messages.
- ``frame_slot``: the latest-frame mailbox between callbacks and the inference thread.
- ``stats``: rates, drops, latency and the diagnostics verdict.
- ``ros_node``: the rclpy node, plain and lifecycle (entry points depth_node, depth_lifecycle_node).
- ``replay``: a recorded bag through the pipeline into an MCAP bag.
- ``launch_support``: the launch files' logic (cameras, overrides, remappings, the FastDDS profile).
- ``transport``: the startup check that FastDDS's shared memory holds the node's largest output.
"""

__all__ = ["config", "frame_io", "frame_slot", "launch_support", "parameters", "pipeline", "replay", "ros_node",
           "stats", "transport"]
