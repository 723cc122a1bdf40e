"""Two CLI paths no other test takes: ``replay`` without a model (an untrained network of the real
architecture, and a warning that says so) and ``sample-bag`` without ``--lidar`` (the camera-only bag)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depth_anything_ros.cli.main import main
from depth_anything_ros.synthetic import render_sample_scene, sample_camera, write_sample_bag

SIZE = (24, 32)


def read_bag(path: Path) -> dict[str, list]:
    """topic -> (timestamp, message) in bag order."""
    from rosbags.highlevel import AnyReader

    out: dict[str, list] = {}
    with AnyReader([path]) as reader:
        for conn, timestamp, raw in reader.messages():
            out.setdefault(conn.topic, []).append((timestamp, reader.deserialize(raw, conn.msgtype)))
    return out


@pytest.mark.parametrize("metric", [False, True])
def test_replay_without_a_model_runs_an_untrained_network_and_says_so(tmp_path, capsys, metric):
    from depth_anything_ros.model import UNTRAINED_WARNING

    bag = write_sample_bag(tmp_path / "in", frames=2, size=SIZE)
    args = ["replay", str(bag), str(tmp_path / "out"), "--image-topic", "/camera/image_rect", "--input-size", "56",
            "--backend", "onnxruntime"] + (["--metric", "--max-depth", "20"] if metric else [])
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert UNTRAINED_WARNING.format(encoder="vits") in printed
    assert f"wrote {tmp_path / 'out'}: 2 frames" in printed and "0 skipped" in printed
    topics = read_bag(tmp_path / "out")
    output = "/camera/depth/image" if metric else "/camera/depth/relative"
    assert [len(topics.get(t, [])) for t in (output, "/camera/depth/image", "/camera/depth/relative")] == \
        ([2, 2, 0] if metric else [2, 0, 2])  # an uncalibrated relative model gives no metres
    first = topics[output][0][1]
    values = np.frombuffer(first.data, np.float32).reshape(SIZE)
    assert (first.encoding, first.height, first.width) == ("32FC1", *SIZE) and not np.isnan(values).any()
    if metric:
        assert np.all(((values > 0) & (values <= 20)) | np.isinf(values))  # REP 117, within max_depth
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # the exported graph was temporary


@pytest.mark.parametrize("compressed", [False, True])
def test_sample_bag_without_lidar_writes_the_camera_only_scene(tmp_path, capsys, compressed):
    import cv2

    out = tmp_path / "bag"
    assert main(["sample-bag", str(out), "--frames", "3", "--size", "24x32"]
                + (["--compressed"] if compressed else [])) == 0
    topic = "/camera/image_rect" + ("/compressed" if compressed else "")
    assert f"wrote {out}: 3 frames 24x32 on {topic} and /camera/camera_info (mcap)" in capsys.readouterr().out
    topics = read_bag(out)
    assert sorted(topics) == sorted([topic, "/camera/camera_info"])  # no LiDAR, no tf
    camera = sample_camera(*SIZE)
    for index, ((_, image), (_, info)) in enumerate(zip(topics[topic], topics["/camera/camera_info"], strict=True)):
        assert image.header.stamp == info.header.stamp
        expected, _ = render_sample_scene(*SIZE, forward=0.25 * index)
        if compressed:
            got = cv2.imdecode(np.frombuffer(image.data, np.uint8), cv2.IMREAD_COLOR)
            assert image.format == "jpeg" and np.abs(got.astype(int) - expected).mean() < 8  # JPEG loss
        else:
            np.testing.assert_array_equal(np.frombuffer(image.data, np.uint8).reshape(*SIZE, 3), expected)
        assert (info.height, info.width) == SIZE
        np.testing.assert_array_equal(np.asarray(info.k).reshape(3, 3), camera.k)


def test_sample_bag_without_lidar_refuses_ros1_storage(tmp_path, capsys):
    """ros1 bags are written for the LiDAR rig only; without --lidar it is refused, not silently sqlite3."""
    assert main(["sample-bag", str(tmp_path / "bag"), "--storage", "ros1", "--size", "24x32"]) == 2
    assert "--lidar" in capsys.readouterr().err
    assert not (tmp_path / "bag").exists()
