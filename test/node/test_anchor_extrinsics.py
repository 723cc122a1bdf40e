"""Where the anchor's points go: the parameter, the extrinsics file, a tf tree, tf2_ros (a stand-in: tf2_ros is not
installable here, so its exceptions are injected), or none; unknown and stale transforms are reasons, never guesses."""

from __future__ import annotations

import types

import numpy as np
import pytest

from depth_anything_ros.core.anchor_reasons import AnchorReason
from depth_anything_ros.core.transforms import Transform, TransformBuffer, matrix_to_quaternion
from depth_anything_ros.node.anchor_extrinsics import (
    ExtrinsicError,
    NoExtrinsics,
    ParameterExtrinsic,
    TreeExtrinsics,
    camera_from_sensor,
    extrinsics_for,
)
from depth_anything_ros.node.anchor_tf import TfExtrinsics, tf_extrinsics
from depth_anything_ros.synthetic.rig import LIDAR_TO_OPTICAL

from anchor_cases import LIDAR_IN_CAMERA, static_transform_args

POINT = np.array([[10.0, 1.0, 0.5]])  # 10 m ahead of the LiDAR, a little left and up


def test_the_parameter_serves_its_own_frames_or_any_frame_when_it_names_none():
    named = ParameterExtrinsic(static_transform_args(LIDAR_IN_CAMERA, "camera_optical_frame", "lidar"))
    np.testing.assert_allclose(named.lookup("camera_optical_frame", "/lidar", 0).apply(POINT),
                               LIDAR_IN_CAMERA.apply(POINT), atol=1e-9)
    np.testing.assert_allclose(named.lookup("camera_optical_frame", "lidar", 0).apply(POINT), [[-1.0, -0.7, 9.9]],
                               atol=1e-9)  # REP 103 -> optical: x = -y, y = -z, z = x, then the offset
    for camera, sensor in (("camera_optical_frame", "ghost"), ("camera_link", "lidar")):
        with pytest.raises(ExtrinsicError) as error:
            named.lookup(camera, sensor, 0)
        assert error.value.reason is AnchorReason.NO_TRANSFORM
        assert "'camera_optical_frame' <- 'lidar'" in str(error.value)
    anonymous = ParameterExtrinsic(static_transform_args(LIDAR_IN_CAMERA))
    assert anonymous.source == "anchor_extrinsic (any frame)"
    np.testing.assert_allclose(anonymous.lookup("cam", "whatever", 0).matrix(), LIDAR_IN_CAMERA.matrix(), atol=1e-9)
    # the well-known base_link -> optical frame arguments, yaw pitch roll: the optical frame's axes in REP 103 ones
    yaw_pitch_roll = ParameterExtrinsic("0 0 0 -1.5707963267948966 0 -1.5707963267948966 base_link camera")
    np.testing.assert_allclose(yaw_pitch_roll.transform.rotation, LIDAR_TO_OPTICAL.T, atol=1e-9)


def test_a_tree_answers_through_its_frames_and_says_stale_or_unknown():
    tree = TransformBuffer()
    base_from_camera = Transform(LIDAR_TO_OPTICAL.T)
    tree.add_static("base_link", "camera_optical_frame", base_from_camera)
    tree.add("base_link", "lidar", 1_000, base_from_camera @ LIDAR_IN_CAMERA)  # a moving edge, one sample
    tree.add("base_link", "lidar", 2_000, base_from_camera @ LIDAR_IN_CAMERA)
    extrinsics = TreeExtrinsics(tree, "test tree")
    transform, source = camera_from_sensor(extrinsics, "camera_optical_frame", "lidar", 1_500)
    np.testing.assert_allclose(transform.apply(POINT), LIDAR_IN_CAMERA.apply(POINT), atol=1e-9)
    assert source == "test tree"
    with pytest.raises(ExtrinsicError) as stale:
        extrinsics.lookup("camera_optical_frame", "lidar", 5_000)
    assert stale.value.reason is AnchorReason.STALE_TRANSFORM and "extrapolation" in str(stale.value)
    with pytest.raises(ExtrinsicError) as unknown:
        extrinsics.lookup("camera_optical_frame", "ghost", 1_500)
    assert unknown.value.reason is AnchorReason.NO_TRANSFORM and "not connected" in str(unknown.value)


def test_the_source_order_is_parameter_file_tf_none_and_the_own_frame_needs_none(tmp_path):
    path = tmp_path / "x.yaml"
    q = [float(v) for v in matrix_to_quaternion(LIDAR_TO_OPTICAL)]
    path.write_text(f"extrinsics:\n  - {{parent: camera_optical_frame, child: lidar, translation: [0, 0, 0], "
                    f"rotation: {q}}}\n")
    tf = NoExtrinsics()
    tf.source = "tf"
    assert extrinsics_for("1 2 3 0 0 0 1", str(path), tf).source == "anchor_extrinsic (any frame)"
    assert extrinsics_for("", str(path), tf).source == f"anchor_extrinsics_file {path} (1 transforms)"
    assert extrinsics_for("", "", tf) is tf
    none = extrinsics_for("", "")
    with pytest.raises(ExtrinsicError, match="set anchor_extrinsic or anchor_extrinsics_file"):
        none.lookup("camera_optical_frame", "lidar", 0)
    assert camera_from_sensor(none, "/camera_optical_frame", "camera_optical_frame", 0) == (None, "same frame")
    with pytest.raises(ValueError, match="cannot read extrinsics"):
        extrinsics_for("", str(tmp_path / "missing.yaml"))


class _Tf2Error(Exception):
    pass


def fake_tf2(behaviour):
    """A stand-in tf2_ros module whose Buffer.lookup_transform does ``behaviour`` (failure injection only)."""
    module = types.SimpleNamespace(
        LookupException=type("LookupException", (_Tf2Error,), {}),
        ConnectivityException=type("ConnectivityException", (_Tf2Error,), {}),
        ExtrapolationException=type("ExtrapolationException", (_Tf2Error,), {}),
        InvalidArgumentException=type("InvalidArgumentException", (_Tf2Error,), {}))
    calls = []

    class Buffer:
        def __init__(self, node=None):
            calls.append(("buffer", node))

        def lookup_transform(self, target, source, time):
            calls.append(("lookup", target, source, time.nanoseconds))
            return behaviour(module)

    module.Buffer = Buffer
    module.TransformListener = lambda buffer, node: calls.append(("listener", node))
    return module, calls


def test_tf_is_looked_up_at_the_scan_stamp_and_its_failures_are_reasons():
    def answer(module):
        t, q = LIDAR_IN_CAMERA.translation, matrix_to_quaternion(LIDAR_IN_CAMERA.rotation)
        vector = types.SimpleNamespace(x=t[0], y=t[1], z=t[2])
        return types.SimpleNamespace(transform=types.SimpleNamespace(
            translation=vector, rotation=types.SimpleNamespace(x=q[0], y=q[1], z=q[2], w=q[3])))

    module, calls = fake_tf2(answer)
    tf = TfExtrinsics(module, "node")
    np.testing.assert_allclose(tf.lookup("camera_optical_frame", "lidar", 1_234_000_000).apply(POINT),
                               LIDAR_IN_CAMERA.apply(POINT), atol=1e-9)
    assert calls == [("buffer", "node"), ("listener", "node"), ("lookup", "camera_optical_frame", "lidar",
                                                                1_234_000_000)]
    for name, reason in (("ExtrapolationException", AnchorReason.STALE_TRANSFORM),
                         ("LookupException", AnchorReason.NO_TRANSFORM),
                         ("ConnectivityException", AnchorReason.NO_TRANSFORM)):
        def fail(module, name=name):
            raise getattr(module, name)("no")
        failing, _ = fake_tf2(fail)
        with pytest.raises(ExtrinsicError) as error:
            TfExtrinsics(failing, None).lookup("camera_optical_frame", "lidar", 0)
        assert error.value.reason is reason and "tf camera_optical_frame <- lidar" in str(error.value)
    assert tf_extrinsics(object()) is None  # tf2_ros is not importable here
