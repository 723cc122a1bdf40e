"""Shared fixtures: tiny models of the real architecture, and the optional ../shared data."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

# Real DDS in the node tests: a private domain per test session, discovery kept on this host.
os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randrange(1, 200))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFERENCE = SHARED / "reference"
GOLDEN = REFERENCE / "golden_tiny_v2"
DATA = SHARED / "data"


def require(path: Path) -> Path:
    """Skip the test cleanly when the shared reference data is not beside the checkout."""
    if not path.exists():
        pytest.skip(f"{path} not present (../shared is optional)")
    return path


def tiny_spec(kind: str = "relative", version: int = 2, max_depth: float | None = None):
    """The golden reference's tiny architecture: ViT 48 wide, 12 blocks, 3 heads; DPT 16."""
    from depth_anything_ros.model import EncoderSpec, ModelSpec

    taps = (2, 5, 8, 11) if version == 2 else (8, 9, 10, 11)
    return ModelSpec(EncoderSpec("tiny", 48, 12, 3), 16, (8, 16, 32, 48), version=version, kind=kind,
                     max_depth=max_depth if kind == "metric" else None, taps=taps)


@pytest.fixture
def tiny_relative():
    from depth_anything_ros.model.v2.build import untrained_model

    return untrained_model(tiny_spec("relative"), seed=1)


@pytest.fixture
def tiny_metric():
    from depth_anything_ros.model.v2.build import untrained_model

    return untrained_model(tiny_spec("metric", max_depth=20.0), seed=2)


def tiny_da3_checkpoint(folder: Path, kind: str = "metric", seed: int | None = 0) -> Path:
    """A tiny DA3 network of the official architecture (``tiny_da3_spec``: any-view, mono or metric) written in the
    hub layout (model.safetensors under ``model.`` + config.json); returns the folder.

    ``seed`` None: the golden weights of model/da3_tiny.py (depth over about exp(+-2), sky on about half the
    pixels); an int: the modules' own random init after ``torch.manual_seed(seed)`` (nearly constant depth, no sky).
    """
    import torch

    from depth_anything_ros.model.da3.checkpoint import save_da3
    from depth_anything_ros.model.da3.network import Da3Model
    from depth_anything_ros.model.da3.spec import tiny_da3_spec
    from depth_anything_ros.model.da3.tiny import tiny_da3_model

    if seed is None:
        model = tiny_da3_model(kind)
    else:
        torch.manual_seed(seed)
        model = Da3Model(tiny_da3_spec(kind))
    save_da3(model, folder)
    return Path(folder)


@pytest.fixture(scope="session")
def tiny_da3_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """The golden-weight tiny DA3 checkpoints by kind ('any-view', 'mono', 'metric'), shared by the session:
    a test that changes a checkpoint copies its folder first."""
    root = tmp_path_factory.mktemp("tiny_da3")
    return {kind: tiny_da3_checkpoint(root / f"tiny_da3_{kind}", kind, seed=None)
            for kind in ("any-view", "mono", "metric")}


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Engines and exported graphs go to a per-test cache, never the user's ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg_cache")))


@pytest.fixture
def ros():
    """The real rclpy (the ``ros`` extra), initialised for one test and shut down after it."""
    rclpy = pytest.importorskip("rclpy", reason="needs the ros extra (pip install -e .[ros])")
    rclpy.init()
    yield rclpy
    rclpy.try_shutdown()


def checkpoint_request(checkpoint, spec=None):
    """The CheckpointRequest of a saved checkpoint: a DA3 one names its model; a V1/V2 one gets ``spec``'s choices."""
    from depth_anything_ros.model import CheckpointRequest

    if spec is None:
        return CheckpointRequest(checkpoint)
    return CheckpointRequest(checkpoint, "", spec.encoder.name, spec.version, spec.kind == "metric", spec.max_depth,
                             spec=spec)
