"""TSN-style segment sampling of frame indices."""

from __future__ import annotations

import math

import numpy as np
import torch

_MODES = ("eval", "train")


def segment_indices(
    num_total: int,
    num_frames: int,
    mode: str = "eval",
    rng: np.random.Generator | None = None,
) -> list[int]:
    """Pick ``num_frames`` frame indices out of ``num_total`` by uniform segments.

    ``[0, num_total)`` is split into ``num_frames`` equal segments with float
    boundaries ``i * num_total / num_frames`` (length ``L = num_total / num_frames``).

    * ``mode="eval"``: the centre of each segment, ``floor((i + 0.5) * L)``, for the first
      half; the second half mirrors it (index ``N-1-i`` is ``num_total - 1 - index i``), so
      the frames sampled from a video played backwards are exactly the frames sampled from
      it, in reverse order. (Plain centres are not symmetric: 16 frames -> 1, 3, ..., 15,
      whose mirror is 0, 2, ..., 14, so a clip and its reversal would show different
      frames, e.g. the end state but not the start.) With an odd N and an even number of
      frames the middle frame cannot be its own mirror; it is ``floor(num_total / 2)``.
    * ``mode="train"``: a uniformly random position inside each segment
      (``floor((i + u) * L)``, ``u ~ U[0, 1)`` drawn from ``rng``; a fresh
      ``numpy.random.default_rng()`` when ``rng`` is None).

    Videos shorter than N frames repeat frames: when ``num_total < num_frames``
    the same formula maps several segments onto one frame.

    Returns a list of ``num_frames`` ints in ``[0, num_total - 1]``, non-decreasing.
    Raises ValueError for ``num_total <= 0``, ``num_frames <= 0`` or an unknown mode.
    """
    if num_total <= 0:
        raise ValueError(f"num_total must be > 0, got {num_total}")
    if num_frames <= 0:
        raise ValueError(f"num_frames must be > 0, got {num_frames}")
    if mode not in _MODES:
        raise ValueError(f"unknown sampling mode {mode!r}; expected one of {_MODES}")

    last = num_total - 1
    if mode == "eval":
        # floor((i + 0.5) * N / T) in exact integer arithmetic, mirrored for the second half.
        centre = [min((2 * i + 1) * num_total // (2 * num_frames), last) for i in range(num_frames)]
        half = (num_frames + 1) // 2
        return centre[:half] + [last - centre[num_frames - 1 - i] for i in range(half, num_frames)]

    gen = rng if rng is not None else np.random.default_rng()
    offsets = gen.random(num_frames)
    return [
        min(math.floor((i + float(u)) * num_total / num_frames), last)
        for i, u in enumerate(offsets)
    ]


def shuffled_order(num_frames: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random order of ``num_frames`` frame indices that is neither the original nor its
    reversal (for 3 or more frames), drawn from ``generator`` (the global RNG when None)."""
    while True:
        perm = torch.randperm(num_frames, generator=generator)
        identity = torch.arange(num_frames)
        if num_frames < 3 or not (torch.equal(perm, identity) or torch.equal(perm, identity.flip(0))):
            return perm
