"""The CLI's shared flags: knob flags follow the node's parameter table; training flags follow the options."""

from __future__ import annotations

import argparse

import pytest

from depth_anything_ros.cli.arguments import add_knob_arguments, defaults_from_params
from depth_anything_ros.cli.main import _parse, build_parser
from depth_anything_ros.model import DEFAULT_INPUT_SIZE, ENCODERS
from depth_anything_ros.node import PipelineConfig, knobs
from depth_anything_ros.training import FinetuneOptions, SelftrainOptions


def parse(*argv: str) -> argparse.Namespace:
    parser, _ = build_parser()
    return parser.parse_args(list(argv))


def test_knob_flags_take_the_node_defaults_and_choices():
    node = PipelineConfig()
    infer = parse("infer", "a.png", "--output", "o")
    assert (infer.encoder, infer.input_size, infer.backend, infer.precision) == \
        (node.encoder, node.input_size, node.backend, node.precision)
    assert infer.input_size == DEFAULT_INPUT_SIZE
    engine = parse("build-engine", "--onnx", "m.onnx", "--output", "m.engine")
    assert (engine.precision, engine.workspace_gb, engine.device_index) == \
        (node.precision, node.workspace_gb, node.device_index)
    assert parse("export", "--image-size", "28x28", "--output", "m.onnx").input_order == node.input_order
    for flag, value in (("--encoder", "vitx"), ("--backend", "tensorflow"), ("--version", "3")):
        with pytest.raises(SystemExit):
            parse("infer", "a.png", "--output", "o", flag, value)
    assert next(k for k in knobs() if k.name == "encoder").choices == ENCODERS


def test_knob_help_is_the_parameter_description_and_unset_knobs_say_what_unset_means():
    parser = argparse.ArgumentParser()
    add_knob_arguments(parser, ("max_range", "min_depth", "metric"), unset={"max_range": "not given: the graph's"})
    text = parser.format_help()
    assert "farther estimates are published as +Inf" in text and "not given: the graph's" in text
    assert "(default 0.1)" in text  # min_depth: the node's default
    args = parser.parse_args([])
    assert args.max_range is None and args.min_depth == PipelineConfig().min_depth and args.metric is False


def test_training_flags_default_to_each_recipes_options():
    common = ["b", "--image-topic", "/i", "--camera-info-topic", "/c", "--lidar-topic", "/l"]
    calibrate = parse("calibrate", *common, "--output", "c.yaml")
    selftrain = parse("selftrain", *common, "--teacher", "t.onnx", "--student-checkpoint", "s.pth",
                      "--version", "2", "--output", "out")
    for args, options in ((calibrate, FinetuneOptions()), (selftrain, SelftrainOptions())):
        assert (args.epochs, args.batch_size, args.lr, args.seed, args.device) == \
            (options.epochs, options.batch_size, options.lr, options.seed, options.device)
    assert calibrate.batch_size != selftrain.batch_size  # each recipe keeps its own default
    assert selftrain.margin == SelftrainOptions().margin and calibrate.workers == FinetuneOptions().workers


def test_params_file_values_become_defaults_and_flags_override(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("depth_anything_ros:\n  ros__parameters:\n    encoder: vitb\n    precision: fp32\n"
                      "    max_range: .inf\n")
    defaults = defaults_from_params(params)
    assert defaults["encoder"] == "vitb" and defaults["max_range"] is None and defaults["checkpoint"] is None
    args = _parse(["infer", "a.png", "--output", "o", "--params", str(params), "--encoder", "vitl"])
    assert (args.encoder, args.precision) == ("vitl", "fp32")
    assert args.pipeline_config.encoder == "vitb"
