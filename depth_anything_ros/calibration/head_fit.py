"""Time-block splits of calibration frames into training and held-out blocks.

The robust head fit itself lives in ``core.head_fit``: the node's live anchor runs the same fit.
"""

from __future__ import annotations

import numpy as np


def time_block_split(stamps_ns: np.ndarray, block_s: float = 10.0, holdout_every: int = 5,
                     origin_ns: int | None = None) -> np.ndarray:
    """True for held-out frames: every ``holdout_every``-th block of ``block_s`` seconds, whole blocks only.

    Neighbouring frames are nearly identical, so interleaved splits would test on training data.
    Blocks start at ``origin_ns`` (default: the first stamp); give one origin to split several
    streams of the same recording (labeled and unlabeled frames) into the same blocks.
    """
    stamps = np.asarray(stamps_ns, np.int64)
    if stamps.size == 0:
        raise ValueError("no frames to split")
    block = (stamps - (stamps.min() if origin_ns is None else origin_ns)) // int(block_s * 1e9)
    held = block % holdout_every == holdout_every - 1
    if not held.any() or held.all():
        span = (stamps.max() - stamps.min()) / 1e9
        raise ValueError(f"the frames span {span:.1f} s: {block_s:g} s blocks give no held-out block every "
                         f"{holdout_every}; use a shorter --block or longer recordings")
    return held
