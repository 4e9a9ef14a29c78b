"""PAXION's Knowledge Fuser (Li et al. 2023, Sec. 4): fuse the backbone's object-centric clip
embedding with the patcher's action-centric latents, for downstream tasks.

- ``cross_attention`` (the paper's default): the backbone's pooled video feature v* is the
  query, the Knowledge Patcher's latents are keys and values; fused = q + Attn(q, V, V), + FF.
- ``side_tuning``: a learned mix, fused = a * q + (1 - a) * mean(latents), a = sigmoid(g).

Its base is a patched model (``actionkit train paxion_fuser --base PATCHER_DIR``): the patcher
stays frozen while the fuser trains with VTC against the patched model's (frozen) text
embeddings. The fused model has one embedding per clip (cosine scoring).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from actionkit.backbones.protocol import VideoTextModel
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.text_table import TextTable
from actionkit.methods.base import (Method, MethodHeads, TrainingPlan, backbone_of, probe_shapes,
                                   temperature_without_decay)
from actionkit.methods.paxion.losses import vtc_loss
from actionkit.methods.paxion.patcher import FeedForward
from actionkit.scoring import CosineScoring, cosine_similarity
from actionkit.train.trainer import TrainerConfig

VARIANTS = ("cross_attention", "side_tuning")


@dataclass
class FuserConfig:
    variant: str = field(default="cross_attention", metadata={"help": "cross_attention (paper) or side_tuning"})
    heads: int = field(default=4, metadata={"help": "attention heads of cross_attention"})
    ff_mult: int = field(default=2, metadata={"help": "feed-forward width multiple"})

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"fuser variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")


class KnowledgeFuser(CosineScoring, MethodHeads):
    """(pooled video [B, D], patcher latents [B, K, D]) -> fused clip embedding [B, D], L2-normalised."""

    def __init__(self, cfg: FuserConfig, embed_dim: int):
        super().__init__()
        self.cfg, self.embed_dim = cfg, embed_dim
        d = embed_dim
        self.query = nn.Linear(d, d)              # backbone space -> the patched joint space
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        if cfg.variant == "cross_attention":
            self.norm_q, self.norm_kv = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, cfg.heads, batch_first=True)
            self.ff = FeedForward(d, cfg.ff_mult)
        else:
            self.gate = nn.Parameter(torch.zeros(()))

    def forward(self, pooled: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        q = self.query(pooled)[:, None, :]                                     # [B, 1, D]
        if self.cfg.variant == "cross_attention":
            kv = self.norm_kv(latents)
            x = q + self.attn(self.norm_q(q), kv, kv, need_weights=False)[0]
            fused = (x + self.ff(x))[:, 0]
        else:
            a = torch.sigmoid(self.gate)
            fused = a * q[:, 0] + (1 - a) * latents.mean(dim=1)
        return F.normalize(fused, dim=-1)

    def video(self, base: VideoTextModel, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        """The backbone's clip embedding [B, D] fused with the base's latents [B, K, D]."""
        return self(backbone_of(base).video_from_frames(frame_tokens, frame_pooled),
                    base.video_from_frames(frame_tokens, frame_pooled))

    def optimizer_groups(self) -> list[dict]:
        return temperature_without_decay(self)


def build(base: VideoTextModel, cfg: FuserConfig) -> KnowledgeFuser:
    _, latents, _ = probe_shapes(base)
    if len(latents) != 3 or base is backbone_of(base):
        raise ValueError(f"the Knowledge Fuser fuses a patcher's latents [B, K, D] with the backbone's clip embedding; "
                         f"its base ({base.name}) gives {list(latents)}: train it on a paxion model "
                         "(--base PATCHER_DIR)")
    return KnowledgeFuser(cfg, base.embed_dim)


@torch.no_grad()
def prepare(base: VideoTextModel, heads: KnowledgeFuser, data: ClipFeatures, cfg: FuserConfig,
            device: torch.device) -> TrainingPlan:
    """The frozen base's latents, the backbone's clip embeddings and the caption embeddings, once; a VTC step."""
    backbone = backbone_of(base)
    parts = [(base.video_from_frames(t, p), backbone.video_from_frames(t, p))
             for _, t, p in data.batches(device=device)]
    latents = torch.cat([lat for lat, _ in parts])            # [N, K, D] patcher latents
    pooled = torch.cat([pool for _, pool in parts])           # [N, D] the backbone's clip embedding
    captions = [r.caption for r in data.records]
    table = TextTable.build(base, captions)                   # the patched model's (frozen) text side
    caption_ids = table.ids(captions)
    text = table.pooled.to(device)

    def step(idx: torch.Tensor, _: int) -> dict[str, torch.Tensor]:
        fused = heads(pooled[idx], latents[idx])
        scale = heads.logit_scale.exp().clamp(max=100)
        ids = caption_ids[idx].to(device)
        return {"loss": vtc_loss(fused, text[ids], scale, similarity=cosine_similarity, caption_ids=ids)}

    return TrainingPlan(step, len(data), {"variant": cfg.variant})


FUSER = Method(
    name="paxion_fuser", model_name="fused",
    description="PAXION Knowledge Fuser on a patched model (its --base), Li et al. 2023 Sec. 4",
    config=FuserConfig, build=build, prepare=prepare,
    train_defaults=TrainerConfig(epochs=10, batch_size=128, lr=1e-3), base_method="paxion",
)
