"""A training-only head that makes the built-in backbone's frame tokens keep what motion verbs need.

The ``world`` backbone's clip embedding is the mean of its frame embeddings (order-blind, as
CLIP-style backbones are), and a caption loss through that mean gives the frame encoder no
reason to encode what only the order of frames reveals: which way a marker turned, where on
a loop an object is. Trained alone that way, its patch tokens barely encode the orientation
of the marker, and a patcher on top stays at chance on rotations (a patcher can use only what
the backbone sees).

``OrderHead`` reads the frame patch tokens of a step's frames *in time order*, keeping each
patch's place (tokens flattened per frame), with a GRU across frames, and embeds the clip in
the joint space; its own caption loss (VTC, weight ``order_head_weight``) flows back into the
frame encoder. The head is thrown away after training: the saved backbone and its clip
embedding (the mean over frames) do not change shape or meaning, so it stays order-blind,
while its tokens now carry orientation and position.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class OrderHead(nn.Module):
    """Frame patch tokens ``[B, F, P, Dv]`` in time order (+ frame positions ``[F]``) -> clip ``[B, D]``."""

    def __init__(self, num_patches: int, token_dim: int, embed_dim: int, max_frames: int, width: int = 128):
        super().__init__()
        self.frame = nn.Sequential(nn.LayerNorm(num_patches * token_dim), nn.Linear(num_patches * token_dim, width))
        self.time = nn.Parameter(torch.randn(max_frames, width) * 0.02)
        self.gru = nn.GRU(width, width, batch_first=True)
        self.proj = nn.Linear(width, embed_dim)

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        x = self.frame(tokens.flatten(2)) + self.time[positions]             # [B, F, width]
        _, last = self.gru(x)                                                # [1, B, width]
        return F.normalize(self.proj(last[0]), dim=-1)
