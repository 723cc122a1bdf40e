"""`replay --anchor-topic`: the live anchor on a bag from the command line, its summary and its head topic."""

from __future__ import annotations

from depth_anything_ros.cli.main import main
from depth_anything_ros.export.onnx_export import export_graph
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.msgs.bags import open_bags
from depth_anything_ros.node.frame_anchor import HEAD_FIELDS
from depth_anything_ros.synthetic.rig import SyntheticRig

from anchor_cases import LASER_IN_CAMERA, LASER_TOPIC, RIG_IMAGE_TOPIC, static_transform_args, write_laser_rig_bag
from conftest import tiny_spec


def test_replay_runs_the_anchor_from_the_command_line_and_records_its_head(tmp_path, capsys):
    rig = SyntheticRig()
    bag = write_laser_rig_bag(tmp_path / "rig", 4, bad={2: "ghost"})
    graph = tmp_path / "tiny.onnx"
    export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), (rig.height, rig.width), graph,
                 input_size=56)
    extrinsic = static_transform_args(LASER_IN_CAMERA, "camera_optical_frame", "laser")
    assert main(["replay", str(bag), str(tmp_path / "out"), "--image-topic", RIG_IMAGE_TOPIC, "--onnx", str(graph),
                 "--backend", "onnxruntime", "--anchor-topic", LASER_TOPIC, "--anchor-extrinsic", extrinsic]) == 0
    out = capsys.readouterr().out
    assert "anchor on 4 messages (anchor_extrinsic (camera_optical_frame <- laser))" in out, out
    assert "no_transform 1" in out and "<camera ns>/depth/anchor" in out
    with open_bags([tmp_path / "out"]) as reader:
        heads = [reader.deserialize(raw, conn.msgtype) for conn, _, raw in reader.messages()
                 if conn.topic == "/camera/depth/anchor"]
    assert len(heads) == 4 and all(len(head.data) == len(HEAD_FIELDS) for head in heads)
    assert heads[0].layout.dim[0].label == ",".join(HEAD_FIELDS)
