"""Controls: the same probes on clips whose frames were replaced, to tell motion from end states.

Each control is a frame order applied to a clip's sampled frames (``T`` of them), computed
from the frame features already there (a cache, or one decoding pass):

- ``last_frame``: the last frame repeated T times (what the end state alone gives);
- ``first_frame``: the first frame repeated T times (the start state alone);
- ``shuffled``: the frames in one seeded random order, neither the original nor its reversal.

A model that knows motion sits near chance under ``last_frame`` on verbs whose first and last
frames are the same (the dynamics family); a high score there means the end state decides.
"""

from __future__ import annotations

import torch

from actionkit.features.embeddings import FrameOrder
from actionkit.video.sampling import shuffled_order


CONTROLS: dict[str, FrameOrder] = {
    "last_frame": lambda t: torch.full((t,), t - 1, dtype=torch.long),
    "first_frame": lambda t: torch.zeros(t, dtype=torch.long),
    "shuffled": lambda t: shuffled_order(t, torch.Generator().manual_seed(0)),
}
