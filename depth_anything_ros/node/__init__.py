"""The ROS 2 node (the only rclpy user), its knob table and parameters, the one frame path, and bag replay.

- ``config``: PipelineConfig, THE knob table (default, description, choices, range, read-only), params files.
- ``parameters``: ROS parameters and config/depth.yaml derived from the knob table; run-time changes; the
  values a graph fixes.
- ``pipeline``: DepthPipeline: image -> depth, camera_info, cloud (one backend, the metric head, the one
  judgement of a frame's camera, the anchor hook); ``infer`` runs it too.
- ``frame_path``: FramePath: an (image, camera_info) message pair -> FrameOutcome (messages, or the counted
  reason); the node's worker and replay both call it.
- ``frame_anchor``: FrameAnchor, the live anchor in the frame path (the scan for the frame, its extrinsic, the
  estimator, counters); ``anchor_feed`` (messages by stamp, converted once), ``anchor_extrinsics`` (parameter,
  file, tree; ``anchor_tf``: tf2_ros where it imports), ``anchor_status`` (its diagnostics status).
- ``frame_io``: a pipeline frame's output messages.
- ``intake``, ``frame_slot``: stamp pairing and the latest-frame mailbox between callbacks and the worker.
- ``frame_worker``: the node's ROS-free work: callbacks to publishers on the inference thread.
- ``stats``, ``node_log``: rates, drops, latency and the diagnostics verdict; throttled logs.
- ``ros_node``: the rclpy node, plain and lifecycle (entry points depth_node, depth_lifecycle_node).
- ``replay``: a recorded bag through the frame path into an MCAP bag.
- ``launch_support``: the launch files' logic (cameras, overrides, remappings, the FastDDS profile).
- ``transport``: the startup check that FastDDS's shared memory holds the node's largest output.
"""

__all__ = ["anchor_extrinsics", "anchor_feed", "anchor_status", "anchor_tf", "config", "frame_anchor", "frame_io",
           "frame_path", "frame_slot", "frame_worker", "intake", "launch_support", "node_log", "parameters", "pipeline",
           "replay", "ros_node", "stats", "transport"]
