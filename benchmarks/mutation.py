"""Mutation testing of the modules where a silent error costs metres: killed fraction per module.

Usage (from the repository root, with the test extra installed; ``pip install mutmut==3.8.1``):

    python benchmarks/mutation.py                 # every module, one after the other
    python benchmarks/mutation.py --module head   # one module (repeat --module for several)
    python benchmarks/mutation.py --list          # the modules, their files and their tests

Each module runs mutmut 3 in a scratch copy of the tree (``benchmarks/out/mutation/<module>/``, ignored
by git) whose ``setup.cfg`` names only that module's files to mutate and only its fast tests, so one
module takes minutes. mutmut runs each mutant with only the listed tests that execute the mutated
function. The table counts mutants by outcome; "no tests" (no listed test runs the function) counts
as not killed. Survivors, with their diffs, are written to ``benchmarks/out/mutation/<module>/survivors.txt``;
those kept are explained in ``benchmarks/mutation_survivors.md``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "mutation"
PACKAGE = "depth_anything_ros"


@dataclass(frozen=True)
class Module:
    """Files to mutate, optionally only some of their functions (mutmut mutant-name globs), and the tests."""

    files: tuple[str, ...]
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()  # e.g. "model.v2.fused.xǁPostprocessǁ*"; empty: every function of the files


MODULES = {
    "head": Module(
        ("core/head.py",),
        ("test/core/test_head.py", "test/export/test_fused_graph.py::test_metric_head_validation")),
    "camera": Module(
        ("core/camera.py",),
        ("test/core/test_camera_model.py", "test/core/test_camera_info_rules.py", "test/msgs/test_ros_messages.py",
         "test/export/test_da3_fused.py::test_focal_input_scales_k_to_the_network_input_as_the_official_processor")),
    "cloud": Module(
        ("msgs/cloud.py",),
        ("test/msgs/test_ros_messages.py", "test/msgs/test_point_cloud2.py", "test/msgs/test_cloud_payload.py")),
    "messages": Module(
        ("msgs/messages.py", "node/frame_io.py"),
        ("test/msgs/test_ros_messages.py", "test/msgs/test_point_cloud2.py", "test/msgs/test_anchor_input.py",
         "test/core/test_stamps.py", "test/msgs/test_message_builders.py", "test/node/test_frame_io.py")),
    "point_cloud2": Module(
        ("msgs/point_cloud2.py",),
        ("test/msgs/test_point_cloud2.py", "test/msgs/test_anchor_input.py", "test/msgs/test_ros_messages.py")),
    "head_fit": Module(
        ("core/head_fit.py", "calibration/head_fit.py"),
        ("test/calibration/test_head_fit.py", "test/core/test_anchor_fit.py", "test/core/test_robust_line.py")),
    "depth_points": Module(
        ("core/depth_points.py",),
        ("test/calibration/test_lidar_projection.py", "test/calibration/test_depth_points_rules.py",
         "test/core/test_anchor_fit.py::test_the_occlusion_option_removes_hidden_points_before_the_fit")),
    "graph_post": Module(
        ("model/v2/fused.py", "model/da3/fused.py", "model/v2/dpt.py", "model/da3/preprocess.py"),
        ("test/export/test_fused_graph.py::test_relative_zero_disparity_is_too_far_not_invalid",
         "test/export/test_da3_fused.py::test_fused_equals_pure_path",
         "test/export/test_da3_fused.py::test_focal_input_scales_metres_without_reexport",
         "test/export/test_da3_fused.py::test_relative_output_ignores_focal",
         "test/export/test_da3_fused.py::test_sky_pixels_are_positive_infinity",
         "test/export/test_da3_fused.py::test_wrong_image_size_is_refused_with_the_expected_one",
         "test/export/test_da3_sky_edge.py", "test/export/test_graph_postprocess.py"),
        ("model.v2.fused.xǁPostprocessǁ*", "model.v2.fused.xǁFusedDepthModelǁforward__mutmut_*",
         "model.da3.fused.xǁDa3FusedModelǁforward__mutmut_*", "model.v2.dpt.x_upsample__mutmut_*",
         "model.da3.preprocess.x_metric_depth__mutmut_*", "model.da3.preprocess.x_sky_to_infinity__mutmut_*")),
}

OUTCOMES = ("killed", "survived", "no tests", "timeout", "other")
SHOW = """import sys
from pathlib import Path
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.utils.format_utils import orig_function_and_class_names_from_key

for name in sys.argv[1:]:
    path = Path(*name.split(".x")[0].split(".")).with_suffix(".py")
    source = path.read_text().splitlines()
    function = orig_function_and_class_names_from_key(name)[0].rpartition(".")[-1]
    start = next((i for i, line in enumerate(source) if f"def {function}(" in line), 0)
    diff = [line for line in get_diff_for_mutant(name).splitlines()[3:]]
    removed = [line[1:].strip() for line in diff if line.startswith("-")]
    line = next((i + 1 for i in range(start, len(source)) if removed and source[i].strip() == removed[0]), start + 1)
    print(f"# {path}:{line}: {name}")
    print("\\n".join(line for line in diff if line[:1] in "+-"))
    print()
"""
# mutmut's exit codes; a mutant that crashes the test process (SIGSEGV, -11) was detected, so it counts as killed
STATUS = {1: "killed", 3: "killed", -11: "killed", 0: "survived", 5: "no tests", 33: "no tests", 36: "timeout",
          24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout"}


def scratch_tree(name: str, module: Module) -> Path:
    """A fresh copy of the package and tests with a setup.cfg that configures mutmut for this module."""
    work = OUT / name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.onnx", "*.engine", "*.pth")
    shutil.copytree(ROOT / PACKAGE, work / PACKAGE, ignore=ignore)
    shutil.copytree(ROOT / "test", work / "test", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
    shared = ROOT.parent / "shared"  # test/conftest.py looks for ../shared beside the checkout
    if shared.exists():
        (work / "shared").symlink_to(shared)
    lines = ["[mutmut]", f"source_paths = {PACKAGE}", "only_mutate ="]
    lines += [f"    {PACKAGE}/{path}" for path in module.files]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    {test}" for test in module.tests]
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider", "use_git_change_detection = false",
              "use_setproctitle = false"]
    setup_cfg = (ROOT / "setup.cfg").read_text() if (ROOT / "setup.cfg").exists() else ""
    (work / "setup.cfg").write_text(setup_cfg + "\n" + "\n".join(lines) + "\n")
    return work


def patterns(module: Module) -> list[str]:
    return [f"{PACKAGE}.{pattern}" for pattern in module.functions]


def outcomes(work: Path, module: Module) -> dict[str, str]:
    """Mutant name -> outcome, from mutmut's .meta files (only the selected functions, when the module has some)."""
    selected = patterns(module)
    found: dict[str, str] = {}
    for path in module.files:
        meta = work / "mutants" / PACKAGE / (path + ".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        for key, code in codes.items():
            if selected and not any(fnmatch.fnmatchcase(key, pattern) for pattern in selected):
                continue
            found[key] = STATUS.get(code, "other")
    return found


def run_module(name: str, module: Module, jobs: int, log) -> tuple[Counter, list[str], float]:
    """Run mutmut for one module; (outcome counts, names of the mutants not killed, seconds)."""
    work = scratch_tree(name, module)
    # created before mutmut starts: a PYTHONPATH entry that does not exist yet is cached as "no modules here"
    (work / "mutants").mkdir()
    env = dict(os.environ, PYTHONPATH=str(work / "mutants"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent))
    start = time.monotonic()
    command = [mutmut, "run", "--max-children", str(jobs), *patterns(module)]
    with open(work / "mutmut.log", "w") as out:
        done = subprocess.run(command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        tail = (work / "mutmut.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"mutmut failed for {name} (exit {done.returncode}); {work / 'mutmut.log'} ends:\n{tail}")
    found = outcomes(work, module)
    counts = Counter(found.values())
    alive = sorted(key for key, outcome in found.items() if outcome != "killed")
    shown = subprocess.run([sys.executable, "-c", SHOW, *alive], cwd=work, env=env, capture_output=True, text=True,
                           check=False)
    (work / "survivors.txt").write_text(shown.stdout + shown.stderr)
    print(f"{name}: {len(found)} mutants in {seconds:.0f} s; not killed listed in {work / 'survivors.txt'}",
          file=log, flush=True)
    return counts, alive, seconds


def table(rows: list[tuple[str, Counter, float]]) -> str:
    lines = ["| module | mutants | killed | survived | no tests | timeout | other | killed fraction | time |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, counts, seconds in rows:
        total = sum(counts.values())
        fraction = f"{counts['killed'] / total:.1%}" if total else "-"
        lines.append(f"| {name} | {total} | " + " | ".join(str(counts[o]) for o in OUTCOMES)
                     + f" | {fraction} | {seconds:.0f} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES),
                        help="module to mutate (repeatable; default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--list", action="store_true", help="print the modules, files and tests, then exit")
    args = parser.parse_args(argv)
    names = args.module or list(MODULES)
    if not args.list and shutil.which("mutmut", path=str(Path(sys.executable).parent)) is None:
        parser.error("mutmut is not installed: pip install mutmut==3.8.1")
    if args.list:
        for name in names:
            module = MODULES[name]
            print(f"{name}: {', '.join(module.files)}" + (f" [{', '.join(module.functions)}]" if module.functions
                                                          else ""))
            for test in module.tests:
                print(f"    {test}")
        return 0
    rows = []
    for name in names:
        counts, _, seconds = run_module(name, MODULES[name], args.jobs, sys.stderr)
        rows.append((name, counts, seconds))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
