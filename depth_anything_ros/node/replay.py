"""Bag replay: a rosbag2 (MCAP or sqlite3) through the node's frame path (``FramePath``) into an MCAP bag.

The output holds every input topic plus ``<camera ns>/depth/image``, ``depth/camera_info`` and
``depth/points`` (``depth/relative`` for relative models without a calibration), stamped with the
input's stamps: frame by frame what the node publishes for the same messages, bad frames and
uncalibrated cameras (K = 0) included. DA3 metric graphs take each frame's focal length from its
camera_info (frames without a calibrated one are skipped and counted). It is written under a temporary
name and renamed at the end; an interrupted run still leaves a readable bag of the frames done so far.

With ``anchor_topic`` (a PointCloud2, LaserScan or Range topic) the node's live anchor runs too (the same
``FrameAnchor`` the node's frame path calls): anchor messages are filed as the bag delivers them, so a frame
sees only the scans recorded before it, as the node would; the extrinsic comes from ``anchor_extrinsic`` or
``anchor_extrinsics_file`` as in the node, else from the bag's /tf_static and /tf (the node's tf). The output
gains ``depth/anchor`` (the live head per frame) and the summary the anchor's counters.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from depth_anything_ros.core import stamp_ns
from depth_anything_ros.core.files import atomic_directory, save_image
from depth_anything_ros.core.transforms import TransformBuffer
from depth_anything_ros.msgs import open_bags, require_topic
from depth_anything_ros.msgs.bags import find_topic
from depth_anything_ros.msgs.messages import rosbags_kit
from depth_anything_ros.node.anchor_extrinsics import TreeExtrinsics
from depth_anything_ros.node.anchor_feed import ANCHOR_TOPICS, TYPE_INPUTS
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_anchor import AnchorReport, FrameAnchor
from depth_anything_ros.node.frame_io import OUTPUT_TYPES
from depth_anything_ros.node.frame_path import UNCALIBRATED, FrameOutcome, FramePath
from depth_anything_ros.node.node_log import NodeLog
from depth_anything_ros.node.pipeline import FrameResult
from depth_anything_ros.node.sync import StampSynchronizer
from depth_anything_ros.preview import preview_of

LOG = logging.getLogger(__name__)
IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
ANCHOR_TYPES = tuple(msgtype for _, msgtype in ANCHOR_TOPICS.values())
TF_TOPICS = ("/tf", "/tf_static")


def camera_namespace(image_topic: str) -> str:
    """'/front/image_rect' -> '/front', '/front/image_raw/compressed' -> '/front'."""
    parts = image_topic.rstrip("/").split("/")
    if parts[-1] == "compressed":
        parts = parts[:-1]
    return "/".join(parts[:-1]) or ""


@dataclass
class ReplaySummary:
    frames: int = 0
    skipped: int = 0  # bad input (counted by kind in ``reasons``)
    unmatched: int = 0
    uncalibrated: int = 0  # frames whose camera_info had K = 0 (published without camera_info and points)
    reasons: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    output: Path | None = None
    anchor: AnchorReport | None = None  # the live anchor's counters, with an anchor topic


def _anchor_for(reader, topic: str, config: PipelineConfig) -> tuple[FrameAnchor, set, TransformBuffer | None]:
    """The live anchor for ``topic`` (its type picks anchor_input), its connections, and the tf tree it reads
    from the bag when no extrinsic parameter or file is given."""
    conns = require_topic(reader, topic, "anchor", ANCHOR_TYPES)
    config = dataclasses.replace(config, anchor_input=TYPE_INPUTS[conns[0].msgtype])
    tree = None if config.anchor_extrinsic or config.anchor_extrinsics_file else TransformBuffer()
    tf = TreeExtrinsics(tree, "the bag's /tf_static and /tf") if tree is not None else None

    log = NodeLog(LOG)  # as in the node: each kind at most every 5 s, with the count held back

    def say(level: str, kind: str, text: str) -> None:
        {"info": log.info, "error": log.error}.get(level, log.warn)(kind, text)
    return FrameAnchor(config, tf, say), {c.id for c in conns}, tree


def replay(in_bag: Path, out_bag: Path, image_topic: str, config: PipelineConfig,
           open_backend: Callable[[tuple[int, int]], object], camera_info_topic: str | None = None,
           preview_dir: Path | None = None, preview_every: int = 1,
           progress: Callable[[str], None] = print, anchor_topic: str | None = None) -> ReplaySummary:
    """Run the pipeline over every image of ``image_topic`` in ``in_bag``; write ``out_bag`` (MCAP); with
    ``anchor_topic``, the live anchor too (see the module)."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    kit = rosbags_kit(store)
    namespace = camera_namespace(image_topic)
    info_topic = camera_info_topic or f"{namespace}/camera_info"
    summary = ReplaySummary()
    sync = StampSynchronizer(slop_s=config.pairing_slop_s(), queue_size=30)
    with open_bags([in_bag]) as reader:
        anchor, anchor_ids, tree = _anchor_for(reader, anchor_topic, config) if anchor_topic else (None, set(), None)
        tf_ids = {c.id for c in reader.connections if c.topic in TF_TOPICS} if tree is not None else set()
        frame_path = FramePath(config, open_backend, kit, anchor)
        image_ids = {c.id for c in require_topic(reader, image_topic, "image", IMAGE_TYPES)}
        info_conns = (require_topic(reader, info_topic, "camera_info") if camera_info_topic
                      else find_topic(reader, info_topic))
        info_ids = {c.id for c in info_conns}
        if not info_ids:
            LOG.warning("no %s in %s: publishing depth without camera_info or points", info_topic, in_bag)
        total = sum(c.msgcount for c in reader.connections if c.id in image_ids)
        with atomic_directory(out_bag) as tmp:
            writer = Writer(tmp, version=9, storage_plugin=StoragePlugin.MCAP)
            writer.open()
            try:
                copies = {c.id: writer.add_connection(c.topic, c.msgtype, typestore=reader.typestore)
                          for c in reader.connections}
                outs: dict[str, object] = {}

                def write(name: str, timestamp: int, msg) -> None:
                    if name not in outs:
                        outs[name] = writer.add_connection(f"{namespace}/depth/{name}", OUTPUT_TYPES[name],
                                                           typestore=store)
                    writer.write(outs[name], timestamp, store.serialize_cdr(msg, OUTPUT_TYPES[name]))

                started = last_report = time.monotonic()
                try:
                    for conn, timestamp, raw in reader.messages():
                        writer.write(copies[conn.id], timestamp, raw)
                        if conn.id in image_ids:
                            msg = reader.deserialize(raw, conn.msgtype)
                            ready = sync.add_image(stamp_ns(msg.header), (timestamp, msg)) if info_ids else \
                                [(0, (timestamp, msg), None)]
                        elif conn.id in info_ids:
                            info = reader.deserialize(raw, conn.msgtype)
                            ready = sync.add_info(stamp_ns(info.header), info)
                        elif conn.id in anchor_ids:
                            anchor.add_message(reader.deserialize(raw, conn.msgtype))
                            continue
                        elif conn.id in tf_ids:
                            tree.add_message(reader.deserialize(raw, conn.msgtype), static=conn.topic == "/tf_static")
                            continue
                        else:
                            continue
                        for _, (log_time, image_msg), info in ready:
                            outcome = _count(frame_path.process(image_msg, info), image_msg, summary)
                            for name, out in outcome.messages.items():
                                write(name, log_time, out)
                            if not outcome.published:
                                continue
                            summary.frames += 1
                            if preview_dir is not None and (summary.frames - 1) % preview_every == 0:
                                _save_preview(preview_dir, summary.frames, outcome.result)
                        now = time.monotonic()
                        if now - last_report >= 2.0:
                            last_report = now
                            rate = summary.frames / (now - started)
                            progress(f"[{summary.frames}/{total}] {rate:.2f} frames/s")
                except KeyboardInterrupt:
                    summary.interrupted = True
            finally:
                writer.close()
        summary.unmatched = sync.dropped + sync.pending()
    frame_path.close()
    summary.output = Path(out_bag)
    summary.anchor = anchor.report() if anchor is not None else None
    return summary


def _count(outcome: FrameOutcome, image_msg, summary: ReplaySummary) -> FrameOutcome:
    """Count (and log) what the frame path said about one frame."""
    if outcome.uncalibrated:
        summary.uncalibrated += 1
        if summary.uncalibrated == 1:
            LOG.warning("%s", UNCALIBRATED)
    if not outcome.published:
        summary.skipped += 1
        summary.reasons[outcome.reason] = summary.reasons.get(outcome.reason, 0) + 1
        LOG.warning("frame at %d.%09d skipped (%s): %s", image_msg.header.stamp.sec, image_msg.header.stamp.nanosec,
                    outcome.reason, outcome.detail)
    return outcome


def _save_preview(directory: Path, index: int, result: FrameResult) -> None:
    import cv2

    panel = preview_of(result.relative, result.depth, result.preview_kind)
    save_image(directory / f"frame_{index:05d}.png", cv2.hconcat([result.image, panel]))
