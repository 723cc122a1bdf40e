"""The official Depth Anything 3 code, for tests that compare against it where it has been fetched.

Set ``DA3_OFFICIAL_SRC`` to the ``src/`` folder of ByteDance-Seed/Depth-Anything-3 (never committed here).
Tests using it are skipped, and reported as skipped, where it is not set.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Imported by the official api.py for export formats and pose alignment only, never for loading or depth.
EXPORT_ONLY = ("moviepy", "moviepy.editor", "plyfile", "pycolmap", "trimesh", "evo", "evo.core",
               "evo.core.trajectory")


class _Absent(types.ModuleType):
    """A package the official api.py imports for exports only: any attribute is another absent name."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Absent(f"{self.__name__}.{name}")

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"{self.__name__} is not installed (export-only dependency of the official code)")


def golden_script() -> types.ModuleType:
    """scripts/make_golden_tiny_da3.py (the official tiny networks and the torchvision fallback)."""
    spec = importlib.util.spec_from_file_location("make_golden_tiny_da3", ROOT / "scripts" / "make_golden_tiny_da3.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def official_source() -> types.ModuleType:
    """The golden script module with the official source importable; skips where DA3_OFFICIAL_SRC is unset."""
    src = os.environ.get("DA3_OFFICIAL_SRC")
    if not src or not (Path(src) / "depth_anything_3").is_dir():
        pytest.skip("set DA3_OFFICIAL_SRC=<ByteDance-Seed/Depth-Anything-3>/src to compare with the official code")
    script = golden_script()
    script.install_transforms_if_missing()
    sys.path.insert(0, src)
    for name in EXPORT_ONLY:
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = _Absent(name)
    return script
