"""The live anchor per camera in the multi-camera worker, without ROS (issues 25 and 26): no cross-talk.

Two cameras through one batched "network" whose output is each camera's true depth under a different affine per
frame (its own sequence per camera). One LiDAR cloud per frame carries both cameras' points (they face opposite
ways); each camera must fit it with its own extrinsic, filter its own head, and publish exactly what a
single-camera node with the same frames and the same clouds publishes, bit for bit. A camera whose anchor fails
(a cloud in a frame it has no transform for) falls back on its own; the other stays live and unchanged.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore
from test_multi_camera import Publisher

from depth_anything_ros.core.anchor import AnchorState
from depth_anything_ros.core.calibration_file import Calibration, save_calibration
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.head import metres_from_raw
from depth_anything_ros.export.graph_info import GraphInfo
from depth_anything_ros.msgs.messages import bgr_image_msg, camera_info_msg, header_msg, rosbags_kit
from depth_anything_ros.node.anchor_status import anchor_status
from depth_anything_ros.node.config import PipelineConfig
from depth_anything_ros.node.frame_anchor import HEAD_FIELDS, STATE_CODES, FrameAnchor
from depth_anything_ros.node.frame_path import FramePath
from depth_anything_ros.node.multi_worker import MultiCameraWorker
from depth_anything_ros.node.stats import OK, WARN
from depth_anything_ros.runtime.backend import DepthBackend, DepthOutput
from depth_anything_ros.synthetic.distorted import frame_distortions
from depth_anything_ros.synthetic.scene import render_sample_scene

from anchor_cases import LIDAR_IN_CAMERA, LIDAR_IN_REAR_CAMERA, cloud_msg, points_from_depth, static_transform_args

KIT = rosbags_kit(get_typestore(Stores.ROS2_HUMBLE))
H, W = 48, 64
FRAMES = 8
START = 1_700_000_000_000_000_000
PERIOD = 100_000_000  # 10 Hz
NAMES = ("front", "rear")
FOCAL = {"front": 40.0, "rear": 55.0}
TRUTH = {"front": render_sample_scene(H, W, forward=0.0)[1], "rear": render_sample_scene(H, W, forward=2.0)[1]}
# each camera its own per-frame distortion: different sizes, drifts and noise seeds
DISTORTIONS = {"front": frame_distortions(FRAMES, seed=1, drift=0.2, jitter=0.02, a=10.0),
               "rear": frame_distortions(FRAMES, seed=2, drift=-0.2, jitter=0.02, a=25.0)}
# camera optical frame <- lidar: the rear camera looks the other way (turned 180 degrees about its vertical axis)
EXTRINSIC = {"front": LIDAR_IN_CAMERA, "rear": LIDAR_IN_REAR_CAMERA}


def camera_of(name: str) -> CameraModel:
    return CameraModel.pinhole(W, H, FOCAL[name], W / 2, H / 2)


def extrinsic_args(name: str) -> str:
    return static_transform_args(EXTRINSIC[name], f"{name}_optical", "lidar")


class TaggedTruth(DepthBackend):
    """A batched "network": each image's pixel (0, 0) names its camera and frame, its raw output is that camera's
    truth under that frame's distortion (inverse depth, as V1/V2), and depth that raw through the head input."""

    name = "tagged-truth"

    def __init__(self) -> None:
        super().__init__(GraphInfo(H, W, "bgr", H, W, "vits", 2, "relative", None, "tagged", max_batch=len(NAMES)))

    def _run(self, image, head, focal):
        raws, depths = [], []
        for picture, row in zip(image, head, strict=True):
            camera, index = int(picture[0, 0, 0]), int(picture[0, 0, 1])
            name = NAMES[camera]
            raw = DISTORTIONS[name][index].raw("relative", TRUTH[name], noise=0.01, seed=100 * camera + index)
            raws.append(raw)
            depths.append(metres_from_raw(raw, *(float(v) for v in row), relative=True).astype(np.float32))
        return DepthOutput(np.stack(raws), np.stack(depths))

    def close(self) -> None:
        pass


def frame(name: str, index: int):
    header = header_msg(KIT, START + index * PERIOD, f"{name}_optical")
    bgr = render_sample_scene(H, W, forward=0.0 if name == "front" else 2.0)[0]
    bgr[0, 0] = (NAMES.index(name), index, 0)
    return bgr_image_msg(KIT, header, bgr), camera_info_msg(KIT, header, camera_of(name))


def lidar_clouds(frame_ids: dict[str, str] | None = None) -> list:
    """One cloud per frame, 10 ms before it, in the LiDAR's frame: both cameras' true points (each seen only by its
    own camera: the other's lie behind it). ``frame_ids`` names another frame for a camera's points (one cloud each
    then: ``{camera: cloud}`` per frame)."""
    clouds = []
    for index in range(FRAMES):
        stamp = START + index * PERIOD - 10_000_000
        per_camera = {name: EXTRINSIC[name].inverse().apply(points_from_depth(TRUTH[name], camera_of(name), 2))
                      for name in NAMES}
        if frame_ids is None:
            clouds.append(cloud_msg(KIT, stamp, "lidar", np.concatenate(list(per_camera.values()))))
        else:
            clouds.append({name: cloud_msg(KIT, stamp, frame_ids.get(name, "lidar"), per_camera[name])
                           for name in NAMES})
    return clouds


def multi_worker(**values) -> MultiCameraWorker:
    config = PipelineConfig(max_age=0.0, cameras="/front, /rear", anchor_input="points", **values)
    worker = MultiCameraWorker(config, logging.getLogger("multi_anchor"), lambda *args, **kw: TaggedTruth(), KIT)
    for camera in worker.cameras:
        camera.publishers = {name: Publisher() for name in ("image", "camera_info", "points", "relative", "anchor")}
    worker.open_pipeline()
    worker.start(thread=False)
    return worker


def single_camera_run(name: str, clouds: list, **values) -> list:
    """A single-camera frame path with its own anchor, fed the same frames and clouds: its outcomes."""
    config = PipelineConfig(max_age=0.0, anchor_input="points", **values)
    anchor = FrameAnchor(config)
    path = FramePath(config, lambda hw: TaggedTruth(), KIT, anchor)
    outcomes = []
    for index, cloud in enumerate(clouds):
        anchor.add_message(cloud)
        outcomes.append(path.process(*frame(name, index), want_cloud=True))
    return outcomes


def assert_same_messages(camera, alone: list) -> None:
    """Each published message of ``camera`` equals the single-camera run's, frame by frame, bit for bit."""
    for topic in ("image", "camera_info", "relative", "anchor"):
        expected = [outcome.messages[topic] for outcome in alone if topic in outcome.messages]
        sent = camera.publishers[topic].sent
        assert len(sent) == len(expected), (camera.name, topic)
        for got, want in zip(sent, expected, strict=True):
            for field in ("data", "k", "p"):
                if hasattr(want, field):
                    np.testing.assert_array_equal(np.asarray(getattr(got, field)), np.asarray(getattr(want, field)),
                                                  err_msg=f"{camera.name} {topic}")


def rows(camera) -> list[dict[str, float]]:
    return [dict(zip(HEAD_FIELDS, msg.data, strict=True)) for msg in camera.publishers["anchor"].sent]


def test_one_shared_lidar_anchors_each_camera_with_its_own_extrinsic_and_head():
    extrinsics = ", ".join(f"/{name}={extrinsic_args(name)}" for name in NAMES)
    worker = multi_worker(anchor_shared=True, camera_anchor_extrinsics=extrinsics)
    clouds = lidar_clouds()
    try:
        for index, cloud in enumerate(clouds):
            worker.on_anchor(cloud)  # the node's one anchor/points
            for name in reversed(NAMES):
                camera = worker.by_name[name]
                worker.on_camera_image(camera, frame(name, index)[0])
                worker.on_camera_info_of(camera, frame(name, index)[1])
            assert worker.process_next(timeout=1.0)
        assert worker.batches == FRAMES
        assert worker.shared_feed.counts() == (FRAMES, {})  # each cloud filed once for both cameras
        heads = {}
        for name in NAMES:
            camera = worker.by_name[name]
            assert camera.anchor.feed is worker.shared_feed
            assert_same_messages(camera, single_camera_run(name, clouds, anchor_extrinsic=extrinsic_args(name)))
            live = [(row, d) for row, d in zip(rows(camera), DISTORTIONS[name], strict=True)
                    if row["state"] == STATE_CODES[AnchorState.LIVE]]
            assert len(live) >= FRAMES - 2, (name, camera.anchor.report().reasons)
            for row, distortion in live:  # its own distortion's inverse, not the other camera's
                assert row["scale"] == pytest.approx(distortion.head()[0], rel=0.05)
            heads[name] = live[-1][0]["scale"]
            statuses = {s.name: s for s in camera.statuses(time.monotonic_ns(), worker.health())}
            status = statuses["anchor"]
            assert status.level == OK and status.message.startswith("live"), status.message
            assert status.values["extrinsic source (last message)"].startswith(
                f"anchor_extrinsic ({name}_optical <- lidar)")
            assert status.values["messages received"] == str(FRAMES)
        assert heads["rear"] < 0.6 * heads["front"]  # 1/25 vs 1/10: two different heads
    finally:
        worker.shutdown()


def test_a_camera_whose_anchor_fails_falls_back_alone_and_the_other_is_untouched(tmp_path):
    calibration = save_calibration(tmp_path / "rear.yaml", Calibration("relative", 0.05, 0.0))
    worker = multi_worker(camera_calibrations=f"/rear={calibration}",
                          camera_anchor_extrinsics=f"/front={extrinsic_args('front')}",
                          anchor_extrinsic=extrinsic_args("rear"))  # the node's: serves rear_optical <- lidar
    clouds = lidar_clouds({"rear": "ghost"})  # the rear camera's cloud comes in a frame nothing places
    try:
        fronts, rears = worker.by_name["front"], worker.by_name["rear"]
        assert (fronts.anchor.feed.topic, rears.anchor.feed.topic) == ("/front/anchor/points", "/rear/anchor/points")
        assert fronts.anchor.feed is not rears.anchor.feed and worker.shared_feed is None
        for index, per_camera in enumerate(clouds):
            for name in NAMES:
                camera = worker.by_name[name]
                worker.on_camera_anchor(camera, per_camera[name])
                worker.on_camera_image(camera, frame(name, index)[0])
                worker.on_camera_info_of(camera, frame(name, index)[1])
            assert worker.process_next(timeout=1.0)
        assert_same_messages(fronts, single_camera_run("front", [c["front"] for c in clouds],
                                                       anchor_extrinsic=extrinsic_args("front")))
        assert_same_messages(rears, single_camera_run("rear", [c["rear"] for c in clouds],
                                                      anchor_extrinsic=extrinsic_args("rear"),
                                                      calibration_file=str(calibration)))
        assert {row["state"] for row in rows(rears)} == {STATE_CODES[AnchorState.FALLBACK]}
        assert rears.anchor.report().reasons == {"no_transform": FRAMES}
        assert len(rears.publishers["image"].sent) == FRAMES  # the calibration's metres keep coming
        assert sum(row["state"] == STATE_CODES[AnchorState.LIVE] for row in rows(fronts)) >= FRAMES - 2
        now, health = time.monotonic_ns(), worker.health()
        rear_status = anchor_status(rears.anchor.report(), now)
        assert rear_status.level == WARN and "anchor lost (no_transform" in rear_status.message
        assert {s.name: s for s in fronts.statuses(now, health)}["anchor"].level == OK
        assert fronts.stats.published == rears.stats.published == FRAMES
    finally:
        worker.shutdown()


def test_per_camera_anchor_parameters_are_checked():
    from depth_anything_ros.node.cameras import camera_config, parse_cameras

    specs = parse_cameras("/front, /rear", "/rear=rear.yaml", f"[/front={extrinsic_args('front')}]")
    assert specs[0].anchor_extrinsic == extrinsic_args("front") and specs[1].anchor_extrinsic == ""
    config = PipelineConfig(cameras="/front, /rear", anchor_input="scan", anchor_extrinsic="0 0 0 0 0 0 1")
    assert camera_config(config, specs[0]).anchor_extrinsic == extrinsic_args("front")
    assert camera_config(config, specs[1]).anchor_extrinsic == "0 0 0 0 0 0 1"  # the node's
    assert camera_config(config, specs[1]).calibration_file == "rear.yaml"
    for text, match in (("/side=0 0 0 0 0 0 1", "NS=X Y Z"), ("/front=1 2 3", "for /front: cannot read static"),
                        ("/front=0 0 0 0 0 0 1, /front=0 0 0 0 0 0 1", "twice")):
        with pytest.raises(ValueError, match=match):
            parse_cameras("/front, /rear", "", text)


def test_six_camera_example_gives_each_camera_its_lidar_extrinsic_from_calib_json():
    """config/six_cameras.yaml's camera_anchor_extrinsics are the nuScenes sample car's lidar2cam, camera by camera."""
    import json
    from pathlib import Path

    from depth_anything_ros.core.transforms import parse_static_transform
    from depth_anything_ros.node.cameras import parse_cameras
    from depth_anything_ros.node.config import config_from_parameters

    from conftest import DATA, require

    config = config_from_parameters(Path(__file__).parents[2] / "config" / "six_cameras.yaml")
    calib = json.loads(require(DATA / "nuscenes_mini_sample" / "calib.json").read_text())
    specs = parse_cameras(config.cameras, config.camera_calibrations, config.camera_anchor_extrinsics)
    assert config.anchor_shared and len(specs) == len(calib["cameras"]) == 6
    for spec in specs:
        static = parse_static_transform(spec.anchor_extrinsic)
        camera = spec.name.upper()
        assert (static.frame_id, static.child_frame_id) == (f"{spec.name}_optical_frame", "lidar_top")
        lidar2cam = np.asarray(calib["cameras"][camera]["lidar2cam"], float)
        np.testing.assert_allclose(static.transform.rotation, lidar2cam[:3, :3], atol=1e-5, err_msg=camera)
        np.testing.assert_allclose(static.transform.translation, lidar2cam[:3, 3], atol=1e-5, err_msg=camera)
    on = PipelineConfig(**{**{k: getattr(config, k) for k in ("cameras", "anchor_shared", "camera_anchor_extrinsics")},
                           "anchor_input": "points"})  # switching it on is a valid node configuration
    assert on.anchor_input == "points"
