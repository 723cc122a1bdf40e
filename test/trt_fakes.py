"""Installs the TensorRT 10 / pycuda stand-ins from test/fakes as importable modules for one test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

FAKES = Path(__file__).parent / "fakes"


def _load(monkeypatch: pytest.MonkeyPatch, name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def install_fakes(monkeypatch: pytest.MonkeyPatch):
    """(tensorrt, pycuda.driver) stand-ins, removed again when the test ends."""
    package = _load(monkeypatch, "pycuda", FAKES / "pycuda" / "__init__.py")
    driver = _load(monkeypatch, "pycuda.driver", FAKES / "pycuda" / "driver.py")
    package.driver = driver
    trt = _load(monkeypatch, "tensorrt", FAKES / "tensorrt.py")
    return trt, driver
