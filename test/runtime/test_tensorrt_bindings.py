"""The package's TensorRT code held against the real bindings of 10.3, 10.13 and 11.x.

The ``tensorrt-cu12-bindings`` wheels (about 1 MB each) are downloaded once into the pytest cache and
imported in a subprocess against stand-in ``libnvinfer.so.N`` / ``libnvonnxparser.so.N`` /
``libnvinfer_plugin.so.N`` compiled here (without them the extension does not load at all: ``ImportError:
libnvinfer.so.10: cannot open shared object file``): the extension only needs its few undefined
``create*`` / ``get*`` functions to exist at load time, and each returns null. Two probes run on them:
``bindings_probe.py`` reads the names the package uses; ``bindings_drive.py`` runs the package's code on
the real bindings up to ``trt.Builder(logger)`` / ``trt.Runtime(logger)``, the first calls that need
libnvinfer to work (they get the bindings' own nullptr error, as when CUDA cannot start). Parsing,
building and running an engine need libnvinfer and a GPU: test_tensorrt.py's real-engine test.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from depth_anything_ros.runtime.tensorrt_api import OPTIONAL, TENSORRT_API, WEAKLY_TYPED

VERSIONS = ("10.3.0", "10.13.3.9", "11.4.0.106")
PACKAGE = Path(__file__).resolve().parents[2] / "depth_anything_ros"


def _download(version: str, folder: Path) -> Path:
    wheels = list(folder.glob(f"tensorrt_cu12_bindings-{version}-*.whl"))
    if not wheels:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                               "-q", "-d", str(folder), f"tensorrt-cu12-bindings=={version}"],
                              capture_output=True, text=True, timeout=300)
        wheels = list(folder.glob(f"tensorrt_cu12_bindings-{version}-*.whl"))
        if not wheels:
            pytest.skip(f"cannot download tensorrt-cu12-bindings=={version} (no network or no wheel for "
                        f"Python {sys.version_info.major}.{sys.version_info.minor}): {done.stderr.strip()[-300:]}")
    return wheels[0]


def _stub_libraries(extension: Path, folder: Path) -> None:
    """Empty libnv*.so.N defining the functions the extension imports from them."""
    dynamic = subprocess.run(["readelf", "-d", "-W", str(extension)], capture_output=True, text=True,
                             check=True).stdout
    needed = re.findall(r"Shared library: \[(libnv[^\]]+)\]", dynamic)
    symbols = subprocess.run(["readelf", "--dyn-syms", "-W", str(extension)], capture_output=True, text=True,
                             check=True).stdout
    functions = sorted({f[7] for f in (line.split() for line in symbols.splitlines())
                        if len(f) >= 8 and f[6] == "UND" and f[3] == "FUNC" and "@" not in f[7]
                        and not f[7].startswith(("Py", "_Py"))})
    source = folder / "stub.c"
    source.write_text("".join(f"void *{name}(void) {{ return 0; }}\n" for name in functions))
    for library in needed:
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(folder / library), f"-Wl,-soname,{library}",
                        str(source)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def extracted(request, tmp_path_factory) -> dict[str, Path]:
    """version -> a folder holding that version's real bindings and their stand-in libraries."""
    for tool in ("gcc", "readelf"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is needed to compile stand-in TensorRT libraries")
    cache_plugin = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    cache = Path(cache_plugin.mkdir("tensorrt_bindings")) if cache_plugin is not None else \
        Path.home() / ".cache" / "depth_anything_ros" / "tensorrt_bindings"
    cache.mkdir(parents=True, exist_ok=True)
    roots = {}
    for version in VERSIONS:
        wheel = _download(version, cache)
        root = tmp_path_factory.mktemp(f"trt{version}")
        zipfile.ZipFile(wheel).extractall(root)
        _stub_libraries(root / "tensorrt_bindings" / "tensorrt.so", root)
        roots[version] = root
    return roots


def _run_probe(root: Path, script: str, *args: str) -> dict:
    """One probe script on the bindings in ``root``; its JSON report."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(PACKAGE.parent)]), "LD_LIBRARY_PATH": str(root)}
    done = subprocess.run([sys.executable, str(Path(__file__).with_name(script)), *args], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, f"{script} on {root.name}: {done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def bindings(extracted) -> dict[str, dict]:
    """version -> the probe's report on that version's real bindings."""
    return {version: _run_probe(root, "bindings_probe.py", json.dumps([TENSORRT_API, OPTIONAL]))
            for version, root in extracted.items()}


@pytest.fixture(scope="module")
def driven(extracted, tmp_path_factory) -> tuple[dict[str, dict], tuple[int, int]]:
    """version -> what the package's TensorRT code did on that version's real bindings; the graph's size."""
    from depth_anything_ros.export.onnx_export import export_graph
    from depth_anything_ros.model.v2.build import untrained_model

    from conftest import tiny_spec

    work = tmp_path_factory.mktemp("drive")
    graph = work / "tiny.onnx"
    hw = (28, 42)
    export_graph(untrained_model(tiny_spec("metric", max_depth=20.0), seed=2), hw, graph, input_size=56)
    fakes = Path(__file__).resolve().parents[1] / "fakes"
    reports = {}
    for version, root in extracted.items():
        folder = work / version
        folder.mkdir()
        reports[version] = _run_probe(root, "bindings_drive.py", str(graph), str(fakes), str(folder))
    return reports, hw


def test_every_name_the_package_uses_exists_in_tensorrt_10_3_10_13_and_11(bindings):
    for version, report in bindings.items():
        assert report["version"] == version
        assert report["missing"] == [], f"TensorRT {version} lacks {report['missing']}"
    assert bindings["10.3.0"]["optional_missing"] == []  # STRONGLY_TYPED and TF32 exist where they matter


def test_weakly_typed_api_is_gone_in_11_and_unused_here(bindings):
    assert bindings["10.3.0"]["weak"]["BuilderFlag.FP16"]
    assert not any(bindings["11.4.0.106"]["weak"].values()), bindings["11.4.0.106"]["weak"]
    for path in PACKAGE.rglob("*.py"):
        if path.name == "tensorrt_api.py":
            continue
        text = path.read_text()
        assert not [name for name in WEAKLY_TYPED if name in text], path


def _trt_attributes(tree: ast.AST) -> set[tuple[str, str]]:
    """(owner, name) of every ``trt.X`` and ``trt.X.Y`` in a module."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "trt":
            found.add(("", node.attr))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "trt":
            found.add((node.value.attr, node.attr))
    return found


def test_the_declared_list_covers_every_trt_attribute_in_the_source():
    declared = {(owner, name) for owner, names in {**TENSORRT_API}.items() for name in names}
    declared |= {(owner, name) for owner, names in OPTIONAL.items() for name in names}
    used = set()
    for path in PACKAGE.rglob("*.py"):
        used |= _trt_attributes(ast.parse(path.read_text()))
    assert used, "the scan found no trt.* use: has the module alias changed?"
    assert used - declared == set()


def test_the_package_runs_on_the_real_bindings_up_to_the_first_call_that_needs_libnvinfer(driven):
    from depth_anything_ros.runtime.nvidia import CUDA_UNREACHABLE

    reports, (height, width) = driven
    for version, report in reports.items():
        assert report["version"] == version and report["same_module"], version
        # STRONGLY_TYPED is bit 1 in 10.x and bit 0 in 11.x (EXPLICIT_BATCH is gone): set either way
        assert report["network_flags"] == 1 << report["strongly_typed"], version
        assert report["strongly_typed"] == (0 if version.startswith("11.") else 1), version
        # the progress monitor is a real IProgressMonitor (pybind trampoline) and reports phases and steps
        assert report["monitor_is_trt"] and report["step_complete"] is True, version
        assert report["monitor_lines"] == ["TensorRT: Building engine (2 steps)", "TensorRT: Tactic selection step 1/3",
                                           "TensorRT: Building engine"], version
        # the bindings' own TensorIOMode and DataType values (trt.nptype) read as the fused graph's I/O
        assert report["tensors"] == {"image": [True, [height, width, 3], "uint8"], "head": [True, [4], "float32"],
                                     "raw": [False, [height, width], "float32"],
                                     "depth": [False, [height, width], "float32"]}, version
        assert report["tensors_match_graph"]["type"] is None, version
        assert report["half_output"]["type"] == "EngineLoadError", version
        assert f"raw: expected output ({height}, {width}) float32, found output ({height}, {width}) float16" in \
            report["half_output"]["message"], version
        # trt.Builder / trt.Runtime: the bindings' nullptr error, which reach_gpu names (not a bare TypeError)
        assert report["raw_builder"] == {"type": "TypeError", "cause": None, "cause_message": None,
                                         "message": "pybind11::init(): factory function returned nullptr"}, version
        for step in ("builder", "runtime", "build_engine", "backend"):
            assert report[step]["type"] == "BackendUnavailableError", (version, step, report[step])
            assert report[step]["message"].startswith(CUDA_UNREACHABLE), (version, step)
            assert report[step]["cause"] == "TypeError" and "returned nullptr" in report[step]["cause_message"]
        # the platform probe sees the real TensorRT and the (stand-in) GPU, and auto falls back to onnxruntime
        platform = report["platform"]
        assert platform["tensorrt_version"] == version and platform["gpu"] == "GPU 0 'Fake Orin' (compute " \
            "capability 8.7)" and platform["tensorrt_problem"].startswith(CUDA_UNREACHABLE), version
        assert report["auto"]["name"] == "onnxruntime" and CUDA_UNREACHABLE in report["auto"]["reason"], version
        assert report["tensorrt_requested"]["message"].startswith("backend 'tensorrt' cannot load: TensorRT cannot"
                                                                  " reach the GPU"), version
        # the backend that failed to start left no CUDA context pushed and no device memory behind
        assert report["contexts_left_pushed"] == 0 and report["device_memory_left"] == 0, version
