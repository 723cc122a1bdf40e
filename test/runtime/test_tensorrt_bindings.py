"""The TensorRT names this package uses, held against the real bindings of 10.3, 10.13 and 11.x.

The ``tensorrt-cu12-bindings`` wheels (about 1 MB each) are downloaded once into the pytest cache and
imported in a subprocess against empty stand-in ``libnvinfer.so.N`` / ``libnvonnxparser.so.N`` /
``libnvinfer_plugin.so.N`` compiled here: the extension only needs its few undefined ``create*`` /
``get*`` functions to exist at load time; nothing runs through them, only names are read.
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
def bindings(request, tmp_path_factory) -> dict[str, dict]:
    """version -> the probe's report on that version's real bindings."""
    for tool in ("gcc", "readelf"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is needed to compile stand-in TensorRT libraries")
    cache_plugin = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    cache = Path(cache_plugin.mkdir("tensorrt_bindings")) if cache_plugin is not None else \
        Path.home() / ".cache" / "depth_anything_ros" / "tensorrt_bindings"
    cache.mkdir(parents=True, exist_ok=True)
    reports = {}
    for version in VERSIONS:
        wheel = _download(version, cache)
        root = tmp_path_factory.mktemp(f"trt{version}")
        zipfile.ZipFile(wheel).extractall(root)
        _stub_libraries(root / "tensorrt_bindings" / "tensorrt.so", root)
        env = {**os.environ, "PYTHONPATH": str(root), "LD_LIBRARY_PATH": str(root)}
        done = subprocess.run([sys.executable, str(Path(__file__).with_name("bindings_probe.py")),
                               json.dumps([TENSORRT_API, OPTIONAL])], capture_output=True, text=True, env=env,
                              timeout=120)
        assert done.returncode == 0, f"TensorRT {version} bindings did not import: {done.stderr[-2000:]}"
        reports[version] = json.loads(done.stdout.strip().splitlines()[-1])
    return reports


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
