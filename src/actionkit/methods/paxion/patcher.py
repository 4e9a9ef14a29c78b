"""PAXION's Knowledge Patcher (Li et al. 2023, Sec. 3, Fig. 3): a Perceiver on a frozen backbone.

Visual side: K learnable latents cross-attend the backbone's frame patch tokens flattened
to ``(B, T*P, Dv)``; a learnable temporal embedding of frame t is added to every token of
that frame (and, for backbones whose tokens carry no position, e.g. CNN feature maps, a
learnable spatial embedding of patch p). Then self-attention and feed-forward blocks. The
output is the set of K latents in the joint space, ``[B, K, D]``; similarity to a text is the
max over latents (``scoring.MaxOverSetScoring``).

Text side (optional, "dual"): a second Perceiver over the backbone's token-level text
features plus a learnable position embedding. Token features are contextual and
positional, so this side can tell "from left to right" from "from right to left", which a
mean-pooled sentence embedding scores at 0.997 cosine.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class PatcherConfig:
    num_latents: int = 16      # K (paper: 16)
    dim: int = 64              # latent width (paper: 768, scaled down for the world backbone)
    depth: int = 1             # cross-attention + self-attention blocks (paper: 1)
    heads: int = 4             # (paper: 8 x 64)
    ff_mult: int = 2           # (paper: 2)
    num_frames: int = 8        # T of the temporal embedding
    num_patches: int = 16      # P of the spatial embedding
    spatial_embedding: bool = True
    text_perceiver: bool = True   # order-aware text side over token features
    text_latents: int = 4
    max_text_tokens: int = 64
    video_dim: int = 128       # Dv of the backbone's patch tokens
    text_dim: int = 384        # Dt of the backbone's text tokens
    embed_dim: int = 128       # D, the joint space

    @staticmethod
    def from_dict(d: dict) -> "PatcherConfig":
        known = {f.name for f in fields(PatcherConfig)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown patcher config key(s): {', '.join(unknown)}")
        return PatcherConfig(**d)


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, mult: int):
        super().__init__(nn.LayerNorm(dim), nn.Linear(dim, dim * mult), nn.GELU(), nn.Linear(dim * mult, dim))


class PerceiverBlock(nn.Module):
    """latents <- latents + CrossAttn(latents, inputs); + FF; + SelfAttn; + FF (pre-norm)."""

    def __init__(self, dim: int, heads: int, ff_mult: int):
        super().__init__()
        self.norm_latents, self.norm_inputs = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.cross = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.cross_ff = FeedForward(dim, ff_mult)
        self.norm_self = nn.LayerNorm(dim)
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.self_ff = FeedForward(dim, ff_mult)

    def forward(self, latents: torch.Tensor, inputs: torch.Tensor,
                padding: torch.Tensor | None = None) -> torch.Tensor:
        """latents [B, K, d], inputs [B, N, d], padding [B, N] True where an input is padding."""
        q, kv = self.norm_latents(latents), self.norm_inputs(inputs)
        latents = latents + self.cross(q, kv, kv, key_padding_mask=padding, need_weights=False)[0]
        latents = latents + self.cross_ff(latents)
        x = self.norm_self(latents)
        latents = latents + self.self_attn(x, x, x, need_weights=False)[0]
        return latents + self.self_ff(latents)


class Perceiver(nn.Module):
    """K learnable latents read a token sequence: ``[B, N, d_in] -> [B, K, d]``."""

    def __init__(self, input_dim: int, num_latents: int, dim: int, depth: int, heads: int, ff_mult: int):
        super().__init__()
        self.latents = nn.Parameter(torch.randn(num_latents, dim) * 0.02)
        self.input_proj = nn.Linear(input_dim, dim)
        self.blocks = nn.ModuleList(PerceiverBlock(dim, heads, ff_mult) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, inputs: torch.Tensor, position: torch.Tensor | None = None,
                padding: torch.Tensor | None = None) -> torch.Tensor:
        x = self.input_proj(inputs)
        if position is not None:
            x = x + position
        latents = self.latents.expand(inputs.shape[0], -1, -1)
        for block in self.blocks:
            latents = block(latents, x, padding)
        return self.norm(latents)


class KnowledgePatcher(nn.Module):
    """Frame patch tokens ``[B, T, P, Dv]`` -> action-aware latents ``[B, K, D]`` (L2-normalised)."""

    def __init__(self, cfg: PatcherConfig):
        super().__init__()
        self.cfg = cfg
        self.perceiver = Perceiver(cfg.video_dim, cfg.num_latents, cfg.dim, cfg.depth, cfg.heads, cfg.ff_mult)
        self.temporal = nn.Parameter(torch.randn(cfg.num_frames, cfg.dim) * 0.02)   # one per frame
        self.spatial = nn.Parameter(torch.randn(cfg.num_patches, cfg.dim) * 0.02) if cfg.spatial_embedding else None
        self.proj = nn.Linear(cfg.dim, cfg.embed_dim)

    def forward(self, frame_tokens: torch.Tensor) -> torch.Tensor:
        b, t, p, _ = frame_tokens.shape
        if t != self.cfg.num_frames:
            raise ValueError(f"the patcher was built for {self.cfg.num_frames} frames, got {t}")
        position = self.temporal[:, None, :].expand(t, p, -1)                       # [T, P, d]
        if self.spatial is not None:
            position = position + self.spatial[None, :p, :]
        latents = self.perceiver(frame_tokens.reshape(b, t * p, -1), position.reshape(t * p, -1))
        return F.normalize(self.proj(latents), dim=-1)                             # [B, K, D]


class TextPerceiver(nn.Module):
    """Token-level text features ``[B, L, Dt]`` + mask -> text embedding ``[B, D]`` (L2-normalised)."""

    def __init__(self, cfg: PatcherConfig):
        super().__init__()
        self.cfg = cfg
        self.perceiver = Perceiver(cfg.text_dim, cfg.text_latents, cfg.dim, cfg.depth, cfg.heads, cfg.ff_mult)
        self.position = nn.Parameter(torch.randn(cfg.max_text_tokens, cfg.dim) * 0.02)
        self.proj = nn.Linear(cfg.dim, cfg.embed_dim)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        length = min(tokens.shape[1], self.cfg.max_text_tokens)
        tokens, mask = tokens[:, :length], mask[:, :length]
        latents = self.perceiver(tokens, self.position[:length], padding=~mask)   # [B, K_t, d]
        return F.normalize(self.proj(latents.mean(dim=1)), dim=-1)
