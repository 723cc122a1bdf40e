"""Ground truth from rig bags: tf_static from the bag or an extrinsics file, MCAP and sqlite3, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from depth_anything_ros.calibration import GroundTruthOptions, read_ground_truth
from depth_anything_ros.synthetic import RIG_TOPICS, SyntheticRig, write_rig_bag

OPTIONS = GroundTruthOptions(RIG_TOPICS["image"], RIG_TOPICS["camera_info"], RIG_TOPICS["lidar"])


@pytest.mark.parametrize("storage", ["mcap", "sqlite3", "ros1"])
def test_bag_frames_carry_lidar_depth_matching_the_analytic_scene(tmp_path, storage):
    rig = SyntheticRig()
    bag = write_rig_bag(tmp_path / ("rig.bag" if storage == "ros1" else "rig"), rig, frames=4, storage=storage)
    frames = list(read_ground_truth([bag], OPTIONS))
    assert [f.scans for f in frames] == [1, 1, 1, 1]
    assert len({f.stamp_ns for f in frames}) == 4 and frames[0].camera_frame == "camera_optical_frame"
    truth = rig.true_depth()
    depth = frames[0].depth
    valid = np.isfinite(depth)
    assert valid.sum() > 2000
    errors = np.abs(depth[valid] - truth[valid]) / truth[valid]
    assert np.median(errors) < 0.01 and np.mean(errors > 0.1) < 0.002
    np.testing.assert_array_equal(frames[0].image, rig.image())


def test_extrinsics_file_stands_in_for_tf_static(tmp_path):
    rig = SyntheticRig()
    bag = write_rig_bag(tmp_path / "rig", rig, frames=2)
    from_bag = next(read_ground_truth([bag], OPTIONS)).depth
    # the same transforms as a YAML file, with the bag's /tf_static ignored by naming other frames
    from depth_anything_ros.core.transforms import matrix_to_quaternion

    q = matrix_to_quaternion(rig.lidar_in_camera.rotation)
    t = rig.lidar_in_camera.translation
    extrinsics = tmp_path / "extrinsics.yaml"
    extrinsics.write_text("extrinsics:\n  - {parent: camera_optical_frame, child: lidar_copy, "
                          f"translation: {t.tolist()}, rotation: {q.tolist()}}}\n")
    buffer_only = GroundTruthOptions(**{**OPTIONS.__dict__, "extrinsics": str(extrinsics)})
    from_file = next(read_ground_truth([bag], buffer_only)).depth
    np.testing.assert_array_equal(np.isfinite(from_bag), np.isfinite(from_file))


def test_missing_topics_frames_and_overlap_are_named(tmp_path):
    bag = write_rig_bag(tmp_path / "rig", frames=2)
    bad_topic = GroundTruthOptions("/camera/image_raw", RIG_TOPICS["camera_info"], RIG_TOPICS["lidar"])
    with pytest.raises(ValueError, match=r"no image topic '/camera/image_raw'.*/camera/image_rect"):
        list(read_ground_truth([bag], bad_topic))
    late = write_rig_bag(tmp_path / "late", frames=2, rate_hz=1.0, lidar_delay_s=0.3)
    with pytest.raises(ValueError, match=r"within 0\.05 s"):
        list(read_ground_truth([late], OPTIONS))
    with pytest.raises(ValueError, match=r"does not exist|cannot read"):
        list(read_ground_truth([tmp_path / "nope"], OPTIONS))
    with pytest.raises(ValueError, match="fixed-frame"):
        GroundTruthOptions("a", "b", "c", merge=2)


def test_no_transform_between_camera_and_lidar_names_both_frames(tmp_path):
    from depth_anything_ros.core.transforms import TransformError

    rig_bag = write_rig_bag(tmp_path / "rig", frames=1)
    # drop /tf_static by reading with an extrinsics-only buffer that does not connect the frames
    import shutil

    from rosbags.highlevel import AnyReader
    from rosbags.rosbag2 import Writer

    stripped = tmp_path / "stripped"
    with AnyReader([rig_bag]) as reader, Writer(stripped, version=9) as writer:
        conns = {c.id: writer.add_connection(c.topic, c.msgtype, typestore=reader.typestore)
                 for c in reader.connections if c.topic != "/tf_static"}
        for conn, timestamp, raw in reader.messages():
            if conn.id in conns:
                writer.write(conns[conn.id], timestamp, raw)
    with pytest.raises(TransformError, match=r"'camera_optical_frame' and 'lidar'"):
        list(read_ground_truth([stripped], OPTIONS))
    shutil.rmtree(stripped)
