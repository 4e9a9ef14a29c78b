"""PAXION's Knowledge Fuser (Li et al. 2023, Sec. 4): fuse the backbone's object-centric clip
embedding with the patcher's action-centric latents, for downstream tasks.

- ``cross_attention`` (the paper's default): the backbone's pooled video feature v* is the
  query, the Knowledge Patcher's latents are keys and values; fused = q + Attn(q, V, V), + FF.
- ``side_tuning``: a learned mix, fused = a * q + (1 - a) * mean(latents), a = sigmoid(g).

The patcher is frozen while the fuser trains with VTC against the patched model's (frozen)
text embeddings. ``FusedModel`` answers the backbone protocol with one embedding per clip.
Checkpoint: ``fuser.safetensors`` + ``fuser.json``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from actionkit.backbones.fingerprint import weights_digest
from actionkit.backbones.protocol import TextFeatures, VideoFeatures
from actionkit.data.manifest import read_manifest
from actionkit.methods.paxion.losses import vtc_loss
from actionkit.methods.paxion.model import PatchedModel
from actionkit.methods.paxion.patcher import FeedForward
from actionkit.features.clip_features import ClipFeatures
from actionkit.probes.actionbench import encode_texts
from actionkit.fileio import write_json_atomic
from actionkit.train.checkpoint import check_config, load_tensors, read_json, refuse_pickles, save_tensors
from actionkit.train.distributed import rank_and_world
from actionkit.train.losses import index_distinct
from actionkit.train.trainer import Trainer, TrainerConfig

log = logging.getLogger(__name__)

WEIGHTS_FILE = "fuser.safetensors"
CONFIG_FILE = "fuser.json"
VARIANTS = ("cross_attention", "side_tuning")


@dataclass
class FuserConfig:
    variant: str = "cross_attention"
    embed_dim: int = 128     # D of the backbone's clip embedding and of the patched joint space
    heads: int = 4
    ff_mult: int = 2

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"fuser variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")


class KnowledgeFuser(nn.Module):
    """(pooled video [B, D], patcher latents [B, K, D]) -> fused clip embedding [B, D], L2-normalised."""

    def __init__(self, cfg: FuserConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
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


class FusedModel:
    """Frozen backbone + frozen patcher + Knowledge Fuser, answering the backbone protocol."""

    def __init__(self, patched: PatchedModel, fuser: KnowledgeFuser, name: str = "fused"):
        self.patched, self.fuser, self.name = patched, fuser.eval(), name
        self.embed_dim = fuser.cfg.embed_dim
        self.num_frames, self.image_size = patched.num_frames, patched.image_size
        self.frame_independent = patched.frame_independent

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        return self.patched.preprocess(frames)

    def encode_video(self, pixels: torch.Tensor) -> VideoFeatures:
        f = self.patched.backbone.encode_video(pixels)
        return VideoFeatures(f.frame_tokens, f.frame_pooled, self.fuser(f.video, self.patched.video_from_frames(
            f.frame_tokens, f.frame_pooled)))

    def video_from_frames(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        return self.fuser(self.patched.backbone.video_from_frames(frame_tokens, frame_pooled),
                          self.patched.video_from_frames(frame_tokens, frame_pooled))

    def encode_text(self, texts: list[str]) -> TextFeatures:
        return self.patched.encode_text(texts)

    def fingerprint(self) -> str:
        return weights_digest(self.fuser.state_dict(), {"patched": self.patched.fingerprint()})

    def save(self, directory: Path | str, extra: dict | None = None) -> None:
        directory = Path(directory)
        save_tensors(directory / WEIGHTS_FILE, self.fuser.state_dict())
        write_json_atomic(directory / CONFIG_FILE, {"fuser": asdict(self.fuser.cfg), **(extra or {})})

    @staticmethod
    def load(directory: Path | str, patched: PatchedModel) -> "FusedModel":
        directory = Path(directory)
        refuse_pickles(directory, WEIGHTS_FILE)
        if not (directory / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"no fuser checkpoint in {directory} (looked for {CONFIG_FILE}); "
                                    "train one with `actionkit fuse`")
        cfg = FuserConfig(**read_json(directory / CONFIG_FILE)["fuser"])
        check_config({"embed_dim": cfg.embed_dim}, {"embed_dim": patched.embed_dim}, directory / CONFIG_FILE)
        fuser = KnowledgeFuser(cfg)
        fuser.load_state_dict(load_tensors(directory / WEIGHTS_FILE))
        fuser.requires_grad_(False)
        return FusedModel(patched, fuser)


def train_fuser(patched: PatchedModel, data_dir: Path | str, out_dir: Path | str,
                cfg: FuserConfig = FuserConfig(), train: TrainerConfig = TrainerConfig(epochs=10, lr=1e-3),
                workers: int = 2, progress: bool = True, resume: bool = False,
                features: ClipFeatures | None = None) -> dict:
    """Train the fuser with VTC on the train split (backbone and patcher frozen, their outputs cached).

    ``features``: the backbone's frame features of the train clips (e.g. from a feature cache).
    """
    start = time.time()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    records = read_manifest(data_dir / "manifest.jsonl", split="train")
    if not records:
        raise ValueError(f"{data_dir / 'manifest.jsonl'}: no clips in the train split")
    if features is None:
        features = ClipFeatures.extract(patched.backbone, records, data_dir, workers=workers, progress=progress)
    else:
        features = features.for_records(records)
    with torch.no_grad():                                     # both frozen: one pass over the features
        parts = [(patched.video_from_frames(t, p), patched.backbone.video_from_frames(t, p))
                 for _, t, p in features.batches()]
    latents = torch.cat([lat for lat, _ in parts])            # [N, K, D] patcher latents
    pooled = torch.cat([pool for _, pool in parts])           # [N, D] the backbone's clip embedding
    captions, caption_ids = index_distinct([r.caption for r in features.records])
    embedded = encode_texts(patched, captions)                                   # frozen text side
    text = torch.stack([embedded[c] for c in captions])                         # [U, D]

    torch.manual_seed(train.seed)
    fuser = KnowledgeFuser(replace(cfg, embed_dim=patched.embed_dim))

    def step(idx: torch.Tensor, _: int) -> dict[str, torch.Tensor]:
        fused = fuser(pooled[idx], latents[idx])
        scale = fuser.logit_scale.exp().clamp(max=100)
        return {"loss": vtc_loss(fused, text[caption_ids[idx]], scale, caption_ids[idx])}

    last = Trainer(fuser, step, len(latents), train, out_dir, desc="fuse", progress=progress).fit(resume=resume)
    model = FusedModel(patched, fuser)
    summary = {"variant": cfg.variant, "train_clips": len(latents), "skipped": len(features.skipped),
               "final": last, "seconds": round(time.time() - start, 2)}
    if rank_and_world()[0] == 0:
        model.save(out_dir, extra={"train": asdict(train), "summary": summary})
    return summary

