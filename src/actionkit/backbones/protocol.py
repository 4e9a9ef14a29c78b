"""The frozen video-language backbone protocol: what every backbone answers.

Shapes are the contract:

- ``preprocess(frames uint8 [B, T, 3, H, W]) -> float [B, T, 3, S, S]`` (the model's own
  resize, crop and mean/std);
- ``encode_video(pixels [B, T, 3, S, S]) -> VideoFeatures``;
- ``video_from_frames(frame_tokens, frame_pooled) -> video``: the clip embedding from frame
  features already computed (a feature cache), so ``encode_video(x).video ==
  video_from_frames(*frame features of x)``;
- ``encode_text(list[str]) -> TextFeatures``;
- ``fingerprint() -> str``: a digest of the weights and settings, which feature caches check.

``frame_independent`` is True when each frame is encoded on its own (image backbones): then
the features of a reversed or shuffled clip are the cached frame features reindexed on T,
and no video needs decoding or encoding again. A video backbone whose frames see each other
(X-CLIP) says False.

``video`` and ``pooled`` are L2-normalised, so a dot product is a cosine similarity. For
image backbones the clip embedding is the mean over T of the frame embeddings, so it is
blind to frame order: a reversed clip gets the same embedding.

A model may describe a clip by a *set* of K embeddings (``video [B, K, D]``, e.g. the
latents of PAXION's Knowledge Patcher); its similarity to a text is then the maximum over
the set. ``similarity_matrix`` and ``paired_similarity`` implement both cases once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F


@dataclass
class VideoFeatures:
    frame_tokens: torch.Tensor  # [B, T, P, Dv] patch tokens (no CLS token)
    frame_pooled: torch.Tensor  # [B, T, D] per-frame embeddings in the joint space
    video: torch.Tensor         # [B, D] clip embedding (or a set [B, K, D]), L2-normalised


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
    frame_independent: bool

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor: ...

    def encode_video(self, pixels: torch.Tensor) -> VideoFeatures: ...

    def video_from_frames(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor: ...

    def fingerprint(self) -> str: ...   # digest of weights + settings (backbones.fingerprint)

    def encode_text(self, texts: list[str]) -> TextFeatures: ...


def mean_over_frames(frame_pooled: torch.Tensor) -> torch.Tensor:
    """Image backbones' clip embedding: the L2-normalised mean over T of ``[B, T, D]`` (order-blind)."""
    return F.normalize(frame_pooled.mean(dim=1), dim=-1)


def similarity_matrix(video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """Cosine similarities ``[Bv, Bt]`` of clips ``[Bv, D]`` or sets ``[Bv, K, D]`` to texts ``[Bt, D]``.

    For a set, the similarity is the maximum over its K members (PAXION's max over latents).
    """
    if video.dim() == 2:
        return video @ text.t()
    return torch.einsum("bkd,td->bkt", video, text).amax(dim=1)


def paired_similarity(video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """Similarity ``[N]`` of clip i to text i: ``video [N, D]`` or ``[N, K, D]``, ``text [N, D]``."""
    if video.dim() == 2:
        return (video * text).sum(-1)
    return torch.einsum("nkd,nd->nk", video, text).amax(dim=1)
