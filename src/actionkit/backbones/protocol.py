"""What every model answers: frozen backbones and the methods built on them alike.

``VideoTextModel`` is the one protocol probes, tasks and ``compare`` consume. Shapes are the
contract:

- ``preprocess(frames uint8 [B, T, 3, H, W]) -> float [B, T, 3, S, S]`` (the model's own
  resize, crop and mean/std);
- ``encode_video(pixels [B, T, 3, S, S]) -> VideoFeatures``;
- ``video_from_frames(frame_tokens, frame_pooled) -> video``: the clip representation from
  frame features already computed (a feature cache), so ``encode_video(x).video ==
  video_from_frames(*frame features of x)``;
- ``encode_text(list[str]) -> TextFeatures`` (``pooled`` is the model's text embedding);
- scoring, owned by the model: ``similarity(video, text [Nt, D]) -> [Nv, Nt]``,
  ``paired_similarity(video [N, ...], text [N, D]) -> [N]`` and ``clip_vector(video) -> [N, D]``
  (one vector per clip, for linear probes). ``actionkit.scoring`` has the two implementations
  used today: cosine for one embedding per clip ``[N, D]``, max over a set ``[N, K, D]``
  (PAXION's latents); a model whose score depends on the text in another way overrides them;
- ``fingerprint() -> str``: a digest of the weights and settings, which feature caches and
  method checkpoints check.

Optional: ``project_tokens(frame_tokens [..., Dv]) -> [..., D]``, the backbone's own map from a
patch token to the joint space (dense features, read by ALT's region alignment).

``frame_independent`` is True when each frame is encoded on its own (image backbones): then
the features of a reversed or shuffled clip are the cached frame features reindexed on T,
and no video needs decoding or encoding again. A video backbone whose frames see each other
(X-CLIP) says False.

A *backbone* is a frozen ``VideoTextModel`` whose clip embedding is ``[B, D]``, L2-normalised;
for image backbones it is the mean over T of the frame embeddings, so it is blind to frame
order: a reversed clip gets the same embedding.
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
    video: torch.Tensor         # the model's clip representation, [B, D] (or a set [B, K, D]), L2-normalised


@dataclass
class TextFeatures:
    tokens: torch.Tensor  # [B, L, Dt] contextual token features
    mask: torch.Tensor    # [B, L] bool, True on real tokens
    pooled: torch.Tensor  # [B, D] sentence embedding in the joint space, L2-normalised


@runtime_checkable
class VideoTextModel(Protocol):
    name: str
    embed_dim: int     # D
    num_frames: int    # T the model expects
    image_size: int    # S
    frame_independent: bool

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor: ...

    def encode_video(self, pixels: torch.Tensor) -> VideoFeatures: ...

    def video_from_frames(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor: ...

    def encode_text(self, texts: list[str]) -> TextFeatures: ...

    def similarity(self, video: torch.Tensor, text: torch.Tensor) -> torch.Tensor: ...

    def paired_similarity(self, video: torch.Tensor, text: torch.Tensor) -> torch.Tensor: ...

    def clip_vector(self, video: torch.Tensor) -> torch.Tensor: ...

    def fingerprint(self) -> str: ...   # digest of weights + settings (backbones.fingerprint)


# A frozen backbone is a VideoTextModel (one clip embedding [B, D], cosine scoring); the
# name says which role a function expects.
Backbone = VideoTextModel


def mean_over_frames(frame_pooled: torch.Tensor) -> torch.Tensor:
    """Image backbones' clip embedding: the L2-normalised mean over T of ``[B, T, D]`` (order-blind)."""
    return F.normalize(frame_pooled.mean(dim=1), dim=-1)
