"""CLAVER's video side: a temporal transformer over frozen frame tokens (Sec. 3.1-3.2), and the
X-CLIP multi-frame integration transformer (MIT) as the anchor it is compared with.

``KroneckerTransformer`` (as the authors' code builds it, on a frozen backbone's outputs):

1. per frame, one *summary* token -- the backbone's pooled frame feature ``[B, T, D]``
   projected to the width w -- followed by its P patch tokens ``[B, T, P, Dv]`` projected to
   w: ``x [B, T, L = 1 + P, w]``;
2. a learnable temporal embedding (``[T, w]``, init std 0.02) added to every token of its
   frame (and, optionally, a learnable spatial embedding per token position, for backbones
   whose patch tokens carry no position, e.g. CNN grids: an [open] addition);
3. ``depth`` pre-norm blocks (attention with a Kronecker mask from ``masks.py`` fed to
   ``scaled_dot_product_attention``, then a 4x MLP) over the flattened ``[B, T*L, w]``;
4. each frame's summary token -> projection to D -> per-frame embeddings ``[B, T, D]``; the clip embedding is the mean over T of the L2-normalised frame
   embeddings, L2-normalised ``[B, D]``.

A *view* of the clip (LSS's temporal and spatial crops) is a subset of its frames and of its
patch places: ``forward(..., frames=, patches=)`` give their positions, so each kept token
gets the temporal and spatial embedding of where it came from, and the mask is built for the
view's own T' x (1 + P').

The authors feed CLIP's CLS token in and send it out through CLIP's own final norm and
projection, so the untrained module starts as the image model. Here the backbone is frozen
and its pooled feature is already projected into the joint space, so there is no final norm, and
the summary projection in and the projection out are initialised to the identity when the
width equals D (the default on the built-in backbone): with no blocks and no embeddings the
module returns the backbone's frame embeddings exactly, and untrained it is the frozen
mean-pooling backbone plus the blocks' residuals.

``MultiFrameIntegration`` (X-CLIP, Ni et al. 2022): a transformer over the T pooled frame
features only (no patch tokens), temporal embedding added, output = input + transformer
(input), mean over T, L2-normalised. It reads the same cache, so it is the order-aware
anchor that sees no spatial detail.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from actionkit.methods.claver.masks import kronecker_mask


@dataclass
class TemporalShape:
    """What the temporal module is built for: the backbone's sizes and the module's own."""

    num_frames: int          # T
    num_patches: int         # P (tokens per frame L = 1 + P)
    token_dim: int           # Dv of the backbone's patch tokens
    embed_dim: int           # D of the backbone's pooled frame features and of the output
    width: int = 128         # w
    depth: int = 2
    heads: int = 4
    mlp_ratio: int = 4
    mask: str = "kmt"
    spatial_embedding: bool = True


class MaskedAttention(nn.Module):
    """Multi-head self-attention with a fixed boolean mask (True = blocked): ``[B, N, w] -> [B, N, w]``."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, blocked: torch.Tensor | None) -> torch.Tensor:
        b, n, w = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)  # [B, h, N, w/h]
        allowed = None if blocked is None else ~blocked                                           # SDPA: True = attend
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        return self.out(y.transpose(1, 2).reshape(b, n, w))


class Block(nn.Module):
    """Pre-norm transformer block: x + Attn(LN(x)); x + MLP(LN(x)) (MLP 4x wide, GELU)."""

    def __init__(self, width: int, heads: int, mlp_ratio: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = MaskedAttention(width, heads)
        self.mlp = nn.Sequential(nn.Linear(width, width * mlp_ratio), nn.GELU(), nn.Linear(width * mlp_ratio, width))

    def forward(self, x: torch.Tensor, blocked: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), blocked)
        return x + self.mlp(self.norm2(x))


def _identity_if_square(layer: nn.Linear) -> None:
    if layer.in_features == layer.out_features:
        with torch.no_grad():
            layer.weight.copy_(torch.eye(layer.in_features))
            layer.bias.zero_()


def mean_of_normalised(frames: torch.Tensor) -> torch.Tensor:
    """Per-frame embeddings ``[B, T, D]`` -> clip embedding ``[B, D]``: mean of the normalised frames, normalised."""
    return F.normalize(F.normalize(frames, dim=-1).mean(dim=1), dim=-1)


class KroneckerTransformer(nn.Module):
    """Frame tokens ``[B, T, P, Dv]`` + pooled frames ``[B, T, D]`` -> per-frame embeddings ``[B, T, D]``."""

    def __init__(self, shape: TemporalShape):
        super().__init__()
        self.shape = shape
        w = shape.width
        self.summary_in = nn.Linear(shape.embed_dim, w)
        self.patch_in = nn.Linear(shape.token_dim, w)
        self.temporal = nn.Parameter(torch.randn(shape.num_frames, w) * 0.02)
        self.spatial = nn.Parameter(torch.randn(1 + shape.num_patches, w) * 0.02) if shape.spatial_embedding else None
        self.blocks = nn.ModuleList(Block(w, shape.heads, shape.mlp_ratio) for _ in range(shape.depth))
        self.proj_out = nn.Linear(w, shape.embed_dim)
        _identity_if_square(self.summary_in)
        _identity_if_square(self.proj_out)

    @property
    def tokens_per_frame(self) -> int:
        return 1 + self.shape.num_patches

    def blocked(self, device: torch.device, num_frames: int | None = None,
                tokens_per_frame: int | None = None) -> torch.Tensor | None:
        """The ``[T*L, T*L]`` mask of this module's kind (None for joint: nothing blocked), for the
        module's own shape or a view's."""
        if self.shape.mask == "joint":
            return None
        return kronecker_mask(self.shape.mask, num_frames or self.shape.num_frames,
                              tokens_per_frame or self.tokens_per_frame).to(device)

    def forward(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor, frames: torch.Tensor | None = None,
                patches: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, T', P', Dv]``, ``[B, T', D]`` -> ``[B, T', D]``; ``frames`` ``[T']`` and ``patches`` ``[P']`` are
        the positions of a view's frames and patch places (default: all, in order)."""
        b, t, p, _ = frame_tokens.shape
        frames = torch.arange(t, device=frame_tokens.device) if frames is None else frames
        patches = torch.arange(p, device=frame_tokens.device) if patches is None else patches
        if (len(frames), len(patches)) != (t, p):
            raise ValueError(f"{t} frames of {p} patch tokens given with {len(frames)} frame and {len(patches)} "
                             "patch positions")
        outside = lambda pos, n: len(pos) > 0 and (int(pos.min()) < 0 or int(pos.max()) >= n)   # noqa: E731
        if t > self.shape.num_frames or p > self.shape.num_patches or outside(frames, self.shape.num_frames) \
                or outside(patches, self.shape.num_patches):
            raise ValueError(f"the temporal transformer was built for {self.shape.num_frames} frames of "
                             f"{self.shape.num_patches} patch tokens, got {t} of {p}")
        x = torch.cat([self.summary_in(frame_pooled)[:, :, None], self.patch_in(frame_tokens)], dim=2)  # [B, T', L', w]
        x = x + self.temporal[frames][None, :, None, :]
        if self.spatial is not None:
            places = torch.cat([patches.new_zeros(1), patches + 1])                     # the summary's, then the patches'
            x = x + self.spatial[places][None, None]
        x = x.flatten(1, 2)                                                              # [B, T'*L', w]
        blocked = self.blocked(x.device, t, 1 + p)
        for block in self.blocks:
            x = block(x, blocked)
        summary = x.view(b, t, 1 + p, -1)[:, :, 0]                                       # [B, T', w]
        return self.proj_out(summary)                                                    # [B, T', D]


class MultiFrameIntegration(nn.Module):
    """X-CLIP's MIT: pooled frames ``[B, T, D]`` -> ``[B, T, D]`` (input + transformer(input))."""

    def __init__(self, shape: TemporalShape):
        super().__init__()
        self.shape = shape
        d = shape.embed_dim
        self.temporal = nn.Parameter(torch.randn(shape.num_frames, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, shape.heads, shape.mlp_ratio) for _ in range(shape.depth))

    def forward(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        if frame_pooled.shape[1] != self.shape.num_frames:
            raise ValueError(f"MIT was built for {self.shape.num_frames} frames, got {frame_pooled.shape[1]}")
        x = frame_pooled + self.temporal[None]
        for block in self.blocks:
            x = block(x)
        return frame_pooled + x
