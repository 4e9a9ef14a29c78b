"""ALT's video adapter blocks (Sec. 3.3): entity queries attend to each other, then to the regions of
every frame; and where each patch place sits on the grid (the regions' centre embedding).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def grid_positions(num_patches: int) -> torch.Tensor:
    """``[1 + P, 2]``: (row, column) in [-1, 1] of the summary (the centre) and of each patch place
    (a square grid in row-major order; otherwise one row through the middle)."""
    side = math.isqrt(num_patches)
    if side * side == num_patches and side > 1:
        rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
        xy = torch.stack([rows.flatten(), cols.flatten()], dim=-1).float() / (side - 1)
    else:
        xy = torch.stack([torch.full((num_patches,), 0.5), torch.arange(num_patches) / max(num_patches - 1, 1)], dim=-1)
        xy[:, 1] = xy[:, 1] if num_patches > 1 else 0.5
    return torch.cat([torch.full((1, 2), 0.5), xy]) * 2 - 1


class Attention(nn.Module):
    """Multi-head attention of queries ``[B, Nq, w]`` to keys/values ``[B, Nk, w]``, an optional additive
    logit bias ``[B, Nk]`` (per key) -> ``[B, Nq, w]``."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by {heads} heads")
        self.heads = heads
        self.q, self.kv, self.out = nn.Linear(width, width), nn.Linear(width, 2 * width), nn.Linear(width, width)

    def forward(self, x: torch.Tensor, y: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        b, nq, w = x.shape
        h = self.heads
        q = self.q(x).view(b, nq, h, w // h).transpose(1, 2)                                  # [B, h, Nq, w/h]
        k, v = self.kv(y).view(b, y.shape[1], 2, h, w // h).permute(2, 0, 3, 1, 4)          # [B, h, Nk, w/h]
        mask = None if bias is None else bias[:, None, None, :].to(q.dtype)                   # [B, 1, 1, Nk]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(out.transpose(1, 2).reshape(b, nq, w))


class AdapterBlock(nn.Module):
    """Pre-norm: self-attention among the queries -> cross-attention to the regions -> feed-forward."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.norm_self, self.self_attn = nn.LayerNorm(width), Attention(width, heads)
        self.norm_q, self.norm_kv, self.cross_attn = nn.LayerNorm(width), nn.LayerNorm(width), Attention(width, heads)
        self.norm_ff = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, q: torch.Tensor, kv: torch.Tensor, log_size: torch.Tensor) -> torch.Tensor:
        """``q [B, Nq, w]``, ``kv [B, Nk, w]``, ``log_size [B, Nk]`` -> ``[B, Nq, w]``."""
        x = self.norm_self(q)
        q = q + self.self_attn(x, x)
        q = q + self.cross_attn(self.norm_q(q), self.norm_kv(kv), log_size)
        return q + self.ff(self.norm_ff(q))


def mlp(dim_in: int, width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim_in, width), nn.GELU(), nn.Linear(width, width))
