"""The live anchor's diagnostics status (ROS-free): what the operator reads to trust the metres, or not.

Level: OK while live (or held within ``anchor_hold_s``); WARN when the anchor has fallen back (to the offline
calibration, or to none), when no anchor message has come, or when a fit in the last window had a residual or a
frame-to-frame scale change over its threshold (a drifting engine, a camera knocked out of alignment, a wrong
extrinsic). The values: points received, used and inliers, residual AbsRel, scale, shift, age, head source and
extrinsic source, and every counter by reason (per frame, and per message for conversion problems).
"""

from __future__ import annotations

import math

from depth_anything_ros.core.anchor import AnchorState
from depth_anything_ros.node.frame_anchor import AnchorReport
from depth_anything_ros.node.stats import NS, OK, WARN, Status

STATUS_NAME = "anchor"
WARN_WINDOW_S = 5.0  # a residual or scale-change warning keeps the status at WARN this long


def _number(value: float, digits: str = ".4g") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, digits)


def anchor_status(report: AnchorReport, now_ns: int, active: bool = True) -> Status:
    """The "anchor" status from a ``FrameAnchor.report()`` at monotonic ``now_ns``."""
    last = report.last
    values = {"input": f"{report.topic} ({report.input})", "extrinsic source (configured)": report.extrinsics,
              "messages received": str(report.messages), "frames anchored": str(report.frames)}
    if last is not None:
        stats = last.result.stats
        values.update({
            "state": last.result.state.value, "head source": stats.source,
            "extrinsic source (last message)": last.extrinsic or "not reached",
            "reason": last.result.reason.value, "detail": stats.detail or "-",
            "points received": str(last.points_received), "points used": str(stats.points_used),
            "inliers": _number(stats.inliers, ".3f"), "residual AbsRel": _number(stats.residual_absrel, ".4f"),
            "scale": _number(stats.scale, ".6g"), "shift": _number(stats.shift, ".6g"),
            "age of the live head (s)": _number(stats.age_s, ".3f"),
            "image - anchor stamp (s)": _number(stats.points_age_s, ".3f"),
            "scale change between live fits": _number(report.scale_change, "+.2%"),
        })
    values.update({f"frames {state}": str(n) for state, n in sorted(report.states.items())})
    values.update({f"frames by reason: {reason}": str(n) for reason, n in sorted(report.reasons.items())})
    values.update({f"messages by problem: {reason}": str(n) for reason, n in sorted(report.message_problems.items())})
    values.update({f"warnings: {kind}": str(n) for kind, n in sorted(report.warnings.items())})
    if not active:
        return Status(STATUS_NAME, OK, "not active", values)
    if report.messages == 0:
        return Status(STATUS_NAME, WARN, f"no message on {report.topic} yet (is the sensor publishing, and remapped "
                                         f"to {report.topic}?)", values)
    if last is None:
        return Status(STATUS_NAME, OK, "waiting for a frame", values)
    result, stats = last.result, last.result.stats
    why = result.reason.value + (f": {stats.detail}" if stats.detail else "")
    problems = []
    if result.state is AnchorState.FALLBACK:
        problems.append(f"anchor lost ({why}): the offline calibration's head")
    elif result.state is AnchorState.NONE:
        problems.append(f"no anchor ({why}): the graph's own head")
    recent = report.warned_ns is not None and now_ns - report.warned_ns <= WARN_WINDOW_S * NS
    if recent and last.result.state is not AnchorState.NONE:
        problems.append(f"a fit in the last {WARN_WINDOW_S:g} s had a residual over {report.residual_warn:g} or a "
                        f"scale change over {report.scale_change_warn:.0%} (see warnings:)")
    if problems:
        return Status(STATUS_NAME, WARN, "; ".join(problems), values)
    if result.state is AnchorState.HELD:
        return Status(STATUS_NAME, OK, f"held {stats.age_s:.2f} s of {report.hold_s:g} ({why})", values)
    return Status(STATUS_NAME, OK, f"live: scale {stats.scale:.4g} shift {stats.shift:.4g}, residual AbsRel "
                                   f"{stats.residual_absrel:.3f} over {stats.points_used} pixels", values)
