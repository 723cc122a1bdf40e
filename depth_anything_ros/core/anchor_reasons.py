"""Why an anchor measurement was not used (or used only in part): one name per cause, for diagnostics counters.

Every stage of the live anchor (message conversion, stamp pairing, the per-frame fit, the temporal filter)
reports one of these instead of raising, so bad anchor input never stops the node. ``AnchorPoints`` carries the
points of one anchor message with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

import numpy as np


class AnchorReason(str, Enum):
    """The outcome of one anchor step; ``OK`` when its result was used as it is."""

    OK = "ok"
    # input messages (msgs.anchor_input, core.laser)
    BAD_MESSAGE = "bad_message"  # unreadable: no x/y/z fields, short data, non-finite scan angles
    TOO_LARGE = "too_large"  # a cloud with more points than the node takes (a map or a mis-wired topic?): not read
    RANGE_MAX_INVALID = "range_max_invalid"  # LaserScan range_max 0, negative or not finite: ignored (a note)
    # pairing by stamp (core.scan_buffer)
    NO_SCAN = "no_scan"  # no anchor message received yet
    SCAN_TOO_OLD = "scan_too_old"  # the newest scan is older than anchor_max_age before the image
    SCAN_FROM_FUTURE = "scan_from_future"  # every scan is stamped after the image (clock offset, bag loop)
    # where the points go (the node's extrinsic: a parameter, a file or tf)
    NO_TRANSFORM = "no_transform"  # no extrinsic from the scan's frame to the camera's (unknown frame, none given)
    STALE_TRANSFORM = "stale_transform"  # tf has the frames, but not at the scan's stamp (extrapolation)
    NO_CAMERA = "no_camera"  # the frame has no calibrated camera_info (K = 0): points cannot be projected
    # the per-frame fit (core.anchor_fit)
    BAD_INPUT = "bad_input"  # raw output not (H, W) or not the camera's size, points not (N, 3)
    NO_POINTS = "no_points"  # empty, or every point non-finite
    BEHIND_CAMERA = "behind_camera"  # no point in front of the camera
    OUTSIDE_IMAGE = "outside_image"  # points in front, none inside the image
    TOO_FEW_POINTS = "too_few_points"  # fewer than min_points pixels with a valid raw value
    SMALL_SPREAD = "small_spread"  # depths too alike to fix a shift: a scale-only fit (a note, the fit is used)
    LOW_INLIERS = "low_inliers"  # fewer than min_inlier_ratio of the points agree with the fit
    DEGENERATE = "degenerate"  # scale not finite or not positive: the output does not follow depth
    # the temporal filter (core.anchor)
    MAX_CHANGE = "max_change"  # the fit would move the metres more than max_change at once


@dataclass(frozen=True)
class AnchorPoints:
    """Anchor points from one message, in the message's frame, and what the conversion left out."""

    points: np.ndarray  # (N, 3) float64 metres, finite
    received: int  # points (or ranges) in the message
    reason: AnchorReason = AnchorReason.OK  # OK; a note (RANGE_MAX_INVALID) with points; else why there are none
    detail: str = ""

    @property
    def dropped(self) -> int:
        return self.received - len(self.points)


def counts_text(counts: Mapping[str, int]) -> str:
    """``{"live": 28, "held": 2}`` -> ``"held 2, live 28"``: the anchor's frames per state or reason, for a summary."""
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
