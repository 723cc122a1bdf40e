"""msgs.bags: one way to open bags, require a topic (listing the ones there) and read header stamps."""

from __future__ import annotations

import re

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from depth_anything_ros.msgs import header_stamp, open_bags, require_topic, topics_text
from depth_anything_ros.msgs.bags import find_topic
from depth_anything_ros.synthetic import IMAGE_TOPIC, INFO_TOPIC, RIG_TOPICS, write_rig_bag, write_sample_bag


def test_require_topic_names_the_topics_there_and_checks_types(tmp_path):
    bag = write_sample_bag(tmp_path / "sample", frames=2, size=(24, 32))
    with open_bags([bag]) as reader:
        assert [c.topic for c in require_topic(reader, IMAGE_TOPIC, "image", ("sensor_msgs/msg/Image",))] == \
            [IMAGE_TOPIC]
        listed = f"{INFO_TOPIC} (sensor_msgs/msg/CameraInfo), {IMAGE_TOPIC} (sensor_msgs/msg/Image)"
        assert topics_text(reader) == listed
        expected = f"no LiDAR topic '/points' in the bag(s); topics there: {listed}"
        with pytest.raises(ValueError, match=re.escape(expected)):
            require_topic(reader, "/points", "LiDAR")
        with pytest.raises(ValueError, match=f"no image topic '{INFO_TOPIC}' of type sensor_msgs/msg/Image"):
            require_topic(reader, INFO_TOPIC, "image", ("sensor_msgs/msg/Image",))
        assert find_topic(reader, "/points") == []


def test_open_bags_reads_rosbag2_and_ros1_and_refuses_missing_mixed_or_corrupt(tmp_path):
    ros2 = [write_rig_bag(tmp_path / f"rig{i}", frames=2 + i, start_ns=(1 + i) * 10**18) for i in range(2)]
    ros1 = write_rig_bag(tmp_path / "rig.bag", frames=3, storage="ros1")
    for bags, images in ((ros2, 5), ([ros1], 3)):
        with open_bags(bags) as reader:
            assert sum(c.msgcount for c in require_topic(reader, RIG_TOPICS["image"], "image")) == images
    with pytest.raises(ValueError, match="cannot read bag"), open_bags([*ros2, ros1]):
        pass
    with pytest.raises(ValueError, match="does not exist"), open_bags([tmp_path / "nope"]):
        pass
    broken = tmp_path / "broken.bag"
    broken.write_bytes(b"#ROSBAG V2.0\n" + bytes(10))
    with pytest.raises(ValueError, match="cannot read bag"), open_bags([broken]):
        pass


def test_header_stamps_read_from_serialized_bytes_match_decoding():
    for store_name, ros2 in ((Stores.ROS2_HUMBLE, True), (Stores.ROS1_NOETIC, False)):
        store = get_typestore(store_name)
        types = store.types
        extra = {} if ros2 else {"seq": 7}
        header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=1_700_000_123,
                                                                                        nanosec=456_789_012),
                                              frame_id="cam", **extra)
        msg = types["sensor_msgs/msg/CompressedImage"](header=header, format="jpeg", data=np.zeros(3, np.uint8))
        raw = store.serialize_cdr(msg, msg.__msgtype__) if ros2 else store.serialize_ros1(msg, msg.__msgtype__)
        assert header_stamp(raw, ros2) == 1_700_000_123_456_789_012
        if ros2:
            big = store.serialize_cdr(msg, msg.__msgtype__, little_endian=False)
            assert header_stamp(big, ros2) == 1_700_000_123_456_789_012
