"""``depth-anything-ros``: export fused graphs, run inference, fetch checkpoints, calibrate, self-train, demo."""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from collections.abc import Sequence

from depth_anything_ros import __version__
from depth_anything_ros.cli.arguments import UsageError, defaults_from_params
from depth_anything_ros.cli.calibration import add_calibration_commands
from depth_anything_ros.cli.demo import add_sample_commands
from depth_anything_ros.cli.inference import add_inference_commands
from depth_anything_ros.cli.selftrain import add_selftrain_command
from depth_anything_ros.core.errors import CheckpointError


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and each subcommand's own parser, by command name."""
    parser = argparse.ArgumentParser(prog="depth-anything-ros", description=__doc__)
    parser.add_argument("--version-info", action="version", version=f"depth_anything_ros {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    subparsers = {**add_inference_commands(commands), **add_calibration_commands(commands),
                  **add_selftrain_command(commands), **add_sample_commands(commands)}
    return parser, subparsers


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse; with --params, parse again with the file's values as the defaults of the command's own flags."""
    parser, subparsers = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "params", None):
        defaults = defaults_from_params(args.params)
        subparsers[args.command].set_defaults(pipeline_config=defaults.pop("pipeline_config"),
                                              **{k: v for k, v in defaults.items() if k in vars(args)})
        args = parser.parse_args(argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parse(argv)
    except ValueError as error:
        print(f"depth-anything-ros: error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="[%(levelname)s] %(name)s: %(message)s")
    try:
        return args.func(args)
    except UsageError as error:
        print(f"depth-anything-ros {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (CheckpointError, ValueError, LookupError, FileNotFoundError, ImportError, ConnectionError, OSError,
            RuntimeError) as error:
        hint = " (free some space or write elsewhere; no half-written output was kept)" \
            if isinstance(error, OSError) and error.errno == errno.ENOSPC else ""
        print(f"depth-anything-ros {args.command}: error: {error}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
