"""Bag replay: a rosbag2 (MCAP or sqlite3) through the node's DepthPipeline into an MCAP bag.

The output holds every input topic plus ``<camera ns>/depth/image``, ``depth/camera_info`` and
``depth/points`` (``depth/relative`` for relative models without a calibration), stamped with the
input's stamps. DA3 metric graphs take each frame's focal length from its camera_info (frames without
one are skipped and counted). It is written under a temporary name and renamed at the end; an interrupted run
still leaves a readable bag of the frames done so far.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from depth_anything_ros.core.errors import InputError
from depth_anything_ros.core.files import atomic_directory, save_image
from depth_anything_ros.core.stamps import stamp_ns
from depth_anything_ros.core.sync import StampSynchronizer
from depth_anything_ros.core.visualize import preview_of
from depth_anything_ros.msgs.bags import find_topic, open_bags, require_topic
from depth_anything_ros.msgs.images import decode_frame
from depth_anything_ros.msgs.messages import rosbags_kit
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_io import OUTPUT_TYPES, output_messages
from depth_anything_ros.node.pipeline import DepthPipeline, FrameResult

LOG = logging.getLogger(__name__)
IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


def camera_namespace(image_topic: str) -> str:
    """'/front/image_rect' -> '/front', '/front/image_raw/compressed' -> '/front'."""
    parts = image_topic.rstrip("/").split("/")
    if parts[-1] == "compressed":
        parts = parts[:-1]
    return "/".join(parts[:-1]) or ""


@dataclass
class ReplaySummary:
    frames: int = 0
    skipped: int = 0
    unmatched: int = 0
    interrupted: bool = False
    output: Path | None = None


def replay(in_bag: Path, out_bag: Path, image_topic: str, config: PipelineConfig,
           open_backend: Callable[[tuple[int, int]], object], camera_info_topic: str | None = None,
           preview_dir: Path | None = None, preview_every: int = 1,
           progress: Callable[[str], None] = print) -> ReplaySummary:
    """Run the pipeline over every image of ``image_topic`` in ``in_bag``; write ``out_bag`` (MCAP)."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    kit = rosbags_kit(store)
    namespace = camera_namespace(image_topic)
    info_topic = camera_info_topic or f"{namespace}/camera_info"
    summary = ReplaySummary()
    pipeline = DepthPipeline(config, open_backend)
    sync = StampSynchronizer(slop_s=config.sync_slop if config.sync == "approximate" else 0.0, queue_size=30)
    with open_bags([in_bag]) as reader:
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
                        else:
                            continue
                        for _, (log_time, image_msg), info in ready:
                            result = _process(pipeline, image_msg, info, summary)
                            if result is None:
                                continue
                            for name, out in output_messages(kit, image_msg.header, result).items():
                                write(name, log_time, out)
                            summary.frames += 1
                            if preview_dir is not None and (summary.frames - 1) % preview_every == 0:
                                _save_preview(preview_dir, summary.frames, result)
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
    pipeline.close()
    summary.output = Path(out_bag)
    return summary


def _process(pipeline: DepthPipeline, image_msg, info, summary: ReplaySummary) -> FrameResult | None:
    try:
        return pipeline.process(*decode_frame(image_msg, info))
    except InputError as error:
        summary.skipped += 1
        LOG.warning("frame at %d.%09d skipped (%s): %s", image_msg.header.stamp.sec, image_msg.header.stamp.nanosec,
                    error.kind, error)
        return None


def _save_preview(directory: Path, index: int, result: FrameResult) -> None:
    import cv2

    panel = preview_of(result.relative, result.depth, result.preview_kind)
    save_image(directory / f"frame_{index:05d}.png", cv2.hconcat([result.image, panel]))
