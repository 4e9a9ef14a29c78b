"""The frozen video-language backbone protocol: what every backbone answers.

Shapes are the contract:

- ``preprocess(frames uint8 [B, T, 3, H, W]) -> float [B, T, 3, S, S]`` (the model's own
  resize, crop and mean/std);
- ``encode_video(pixels [B, T, 3, S, S]) -> VideoFeatures``;
- ``encode_text(list[str]) -> TextFeatures``.

``video`` and ``pooled`` are L2-normalised, so a dot product is a cosine similarity. For
image backbones the clip embedding is the mean over T of the frame embeddings, so it is
blind to frame order: a reversed clip gets the same embedding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch


@dataclass
class VideoFeatures:
    frame_tokens: torch.Tensor  # [B, T, P, Dv] patch tokens (no CLS token)
    frame_pooled: torch.Tensor  # [B, T, D] per-frame embeddings in the joint space
    video: torch.Tensor         # [B, D] clip embedding, L2-normalised


@dataclass
class TextFeatures:
    tokens: torch.Tensor  # [B, L, Dt] contextual token features
    mask: torch.Tensor    # [B, L] bool, True on real tokens
    pooled: torch.Tensor  # [B, D] sentence embedding in the joint space, L2-normalised


@runtime_checkable
class Backbone(Protocol):
    name: str
    embed_dim: int     # D
    num_frames: int    # T the backbone expects
    image_size: int    # S

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor: ...

    def encode_video(self, pixels: torch.Tensor) -> VideoFeatures: ...

    def encode_text(self, texts: list[str]) -> TextFeatures: ...
