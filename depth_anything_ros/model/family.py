"""THE seam between callers and model families: a checkpoint's files -> the one object that knows its family.

Callers (runtime, CLI, training) describe what they hold in a ``CheckpointRequest`` and ask ``family_of`` (by
files) or ``family_of_network`` (by a loaded network); they never ask "is this DA3?" themselves. Each family
(``v2/``: Depth Anything V1 and V2, ``da3/``: Depth Anything 3) implements ``ModelFamily``; adding one is a
subpackage and one line in ``FAMILIES``. No torch is imported here: the families import it where they run.
"""

from __future__ import annotations

from typing import Any

from depth_anything_ros.model.da3.family import Da3Family
from depth_anything_ros.model.family_base import CheckpointRequest, ModelFamily
from depth_anything_ros.model.v2.family import V2Family

FAMILIES: tuple[ModelFamily, ...] = (Da3Family(), V2Family())  # DA3 claims by its files; V1/V2 takes every .pth


def family_of(request: CheckpointRequest) -> ModelFamily:
    """The family whose files the request holds (``model``, folder layout, config.json, file name)."""
    for family in FAMILIES:
        if family.claims(request):
            return family
    raise ValueError(f"{request.checkpoint}: no model family recognises it; expected "
                     + " or ".join(f.checkpoint_layout for f in FAMILIES))


def family_of_network(network: Any) -> ModelFamily:
    """The family of a loaded network."""
    for family in FAMILIES:
        if family.owns(network):
            return family
    raise TypeError(f"{type(network).__name__} is not a network of any model family")
