"""PAXION (Li et al. 2023): a Knowledge Patcher on a frozen backbone, trained with DVDM.

``PaxionConfig`` lists every option; ``PaxionHeads`` is what trains (the Perceiver patcher,
the optional order-aware text perceiver, the temperature); ``prepare`` computes the text
features of every caption and antonym caption once and returns the DVDM training step over
cached frame tokens. The patched model describes a clip by K latents ``[B, K, D]`` and
scores a text by the best of them (``MaxOverSetScoring``, Sec. 3).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, fields

import torch
from torch import nn

from actionkit.backbones.protocol import TextFeatures, VideoTextModel
from actionkit.data.manifest import ClipRecord
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.text_table import TextTable
from actionkit.methods.base import Method, MethodHeads, TrainingPlan, probe_shapes, temperature_without_decay
from actionkit.methods.config import check_choice, check_objectives
from actionkit.methods.paxion.losses import atm_loss, vac_loss, vtc_loss
from actionkit.methods.paxion.patcher import KnowledgePatcher, PatcherConfig, TextPerceiver
from actionkit.scoring import MaxOverSetScoring
from actionkit.train.trainer import TrainerConfig
from actionkit.video.sampling import shuffled_order

log = logging.getLogger(__name__)

OBJECTIVES = ("vtc", "vac", "atm")
VAC_MODES = ("in_vtc", "separate")


@dataclass
class PaxionConfig:
    # Knowledge Patcher (Sec. 3, Fig. 3); the paper's sizes fit ViT-L backbones, these the built-in one.
    num_latents: int = field(default=16, metadata={"help": "K learnable latents (paper: 16)", "alias": "--latents"})
    dim: int = field(default=64, metadata={"help": "latent width (paper: 768)"})
    depth: int = field(default=1, metadata={"help": "cross-attention + self-attention blocks (paper: 1)"})
    heads: int = field(default=4, metadata={"help": "attention heads (paper: 8)"})
    ff_mult: int = field(default=2, metadata={"help": "feed-forward width multiple (paper: 2)"})
    spatial_embedding: bool = field(default=True, metadata={
        "help": "learnable per-patch position (for backbones whose tokens carry none, e.g. CNN grids)"})
    text_perceiver: bool = field(default=True, metadata={
        "help": "order-aware text side over the backbone's token features (else its pooled embedding)"})
    text_latents: int = field(default=4, metadata={"help": "latents of the text perceiver"})
    max_text_tokens: int = field(default=64, metadata={"help": "text tokens the text perceiver reads"})
    # DVDM (Sec. 3.1)
    objectives: tuple[str, ...] = field(default=OBJECTIVES, metadata={"help": "subset of vtc,vac,atm"})
    loss_weights: dict[str, float] = field(default_factory=lambda: {"vtc": 1.0, "vac": 1.0, "atm": 1.0},
                                           metadata={"help": "weight of each objective, NAME=NUMBER,..."})
    vac: str = field(default="in_vtc", metadata={
        "help": "in_vtc: antonym captions join VTC's video->text pool (the authors' code); separate: a term of "
                "its own"})
    atm_shuffle: bool = field(default=False, metadata={"help": "ATM: add a frame-shuffled candidate"})
    label_smoothing: float = field(default=0.1, metadata={"help": "of VTC, VAC and ATM (paper: 0.1)"})
    skip_missing_antonyms: bool = field(default=False, metadata={
        "help": "VAC: drop (and count) clips without an antonym caption instead of failing"})

    def __post_init__(self):
        check_objectives(self.objectives, self.loss_weights, OBJECTIVES)
        check_choice("vac", self.vac, VAC_MODES)
        if self.vac == "in_vtc" and "vac" in self.objectives:
            if "vtc" not in self.objectives:
                raise ValueError("vac=in_vtc adds the antonyms to VTC, so it needs vtc among the objectives "
                                 "(or use vac=separate)")
            if self.loss_weights.get("vac", 1.0) != 1.0:
                raise ValueError("a vac loss weight applies only with vac=separate; with vac=in_vtc the antonyms "
                                 "are part of the vtc term")


def patcher_config(base: VideoTextModel, cfg: PaxionConfig) -> PatcherConfig:
    """The patcher's architecture from ``cfg``, its input/output sizes from ``base`` (one dummy clip)."""
    tokens, _, text = probe_shapes(base)                                  # [1, T, P, Dv], ..., [1, L, Dt]
    architecture = {f.name: getattr(cfg, f.name) for f in fields(PatcherConfig) if hasattr(cfg, f.name)}
    return PatcherConfig(**architecture, num_frames=tokens[1], num_patches=tokens[2], video_dim=tokens[3],
                         text_dim=text[2], embed_dim=base.embed_dim)


class PaxionHeads(MaxOverSetScoring, MethodHeads):
    """The trainable part: video latents from frame tokens, text embedding from text tokens."""

    def __init__(self, cfg: PatcherConfig):
        super().__init__()
        self.cfg, self.embed_dim = cfg, cfg.embed_dim
        self.patcher = KnowledgePatcher(cfg)
        self.text_perceiver = TextPerceiver(cfg) if cfg.text_perceiver else None
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))   # temperature 0.07

    def video(self, base: VideoTextModel, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        """[B, T, P, Dv] -> latents [B, K, D]."""
        return self.patcher(frame_tokens)

    def text(self, base: VideoTextModel, text: TextFeatures) -> torch.Tensor:
        """Order-aware text embedding [B, D]; without a text perceiver, the base's pooled one."""
        if self.text_perceiver is None:
            return text.pooled
        return self.text_perceiver(text.tokens, text.mask)

    def optimizer_groups(self) -> list[dict]:
        """No weight decay on the temperature (as the authors train it)."""
        return temperature_without_decay(self)


def build(base: VideoTextModel, cfg: PaxionConfig) -> PaxionHeads:
    return PaxionHeads(patcher_config(base, cfg))


def _with_antonyms(records: list[ClipRecord], skip: bool) -> list[ClipRecord]:
    missing = [r for r in records if not r.antonym_caption]
    if missing and not skip:
        raise ValueError(f"training clip {missing[0].id!r} ({len(missing)} in all) has no antonym_caption, which VAC "
                         "needs; add one or set skip_missing_antonyms (--skip-missing-antonyms)")
    if missing:
        log.warning("VAC: skipping %d of %d clips without an antonym caption", len(missing), len(records))
    return [r for r in records if r.antonym_caption]


def prepare(base: VideoTextModel, heads: PaxionHeads, data: ClipFeatures, cfg: PaxionConfig,
            device: torch.device) -> TrainingPlan:
    """Text features of every caption (and antonym caption) once; the DVDM step over cached frame tokens."""
    n_clips = len(data)
    if "vac" in cfg.objectives:
        kept = _with_antonyms(data.records, cfg.skip_missing_antonyms)
        if len(kept) < n_clips:
            data = data.for_records(kept)
    tokens, records = data.frame_tokens, data.records
    table = TextTable.build(base, [r.caption for r in records] + [r.antonym_caption for r in records
                                                                   if r.antonym_caption])
    caption_ids = table.ids([r.caption for r in records])
    reversible = torch.tensor([r.extra.get("pair_kind") != "symmetric" for r in records]).float()  # ATM applies
    antonym_ids = table.ids([r.antonym_caption for r in records]) if "vac" in cfg.objectives else None
    weights = {k: cfg.loss_weights.get(k, 1.0) for k in cfg.objectives}
    vac_in_vtc = cfg.vac == "in_vtc" and "vac" in weights
    if vac_in_vtc:
        del weights["vac"]                      # the antonyms are part of the vtc term

    def step(idx: torch.Tensor, _: int) -> dict[str, torch.Tensor]:
        frames = tokens[idx].to(device).float()                                   # [B, T, P, Dv]
        video = heads.patcher(frames)                                             # [B, K, D]
        text = heads.text(base, table.features(caption_ids[idx], device))        # [B, D]
        scale = heads.logit_scale.exp().clamp(max=100)
        ids = caption_ids[idx].to(device)
        antonym = heads.text(base, table.features(antonym_ids[idx], device)) if antonym_ids is not None else None
        losses: dict[str, torch.Tensor] = {}
        if "vtc" in weights:
            extra = dict(antonym_text=antonym, antonym_ids=antonym_ids[idx].to(device)) if vac_in_vtc else {}
            losses["vtc"] = vtc_loss(video, text, scale, similarity=heads.similarity, caption_ids=ids,
                                     label_smoothing=cfg.label_smoothing, **extra)
        if "vac" in weights:
            losses["vac"] = vac_loss(video, text, antonym, scale, similarity=heads.similarity, caption_ids=ids,
                                     antonym_ids=antonym_ids[idx].to(device), label_smoothing=cfg.label_smoothing)
        if "atm" in weights:
            candidates = [video, heads.patcher(frames.flip(1))]                   # original, reversed
            if cfg.atm_shuffle:
                candidates.append(heads.patcher(frames[:, shuffled_order(frames.shape[1]).to(device)]))
            # a time-symmetric clip played backwards is the same verb: not a wrong answer for ATM
            losses["atm"] = atm_loss(torch.stack(candidates, dim=1), text, scale,
                                     paired_similarity=heads.paired_similarity, label_smoothing=cfg.label_smoothing,
                                     weights=reversible[idx].to(device) if not bool(reversible.all()) else None)
        loss = sum(weights[k] * v for k, v in losses.items())
        return {"loss": loss, **losses}

    return TrainingPlan(step, len(records), {"objectives": list(cfg.objectives), "vac": cfg.vac,
                                             "dropped_without_antonym": n_clips - len(records)})


PAXION = Method(
    name="paxion", model_name="patched",
    description="PAXION Knowledge Patcher trained with DVDM (VTC + VAC + ATM), Li et al. 2023",
    config=PaxionConfig, build=build, prepare=prepare,
    train_defaults=TrainerConfig(epochs=30, batch_size=128, lr=1e-3, weight_decay=0.05, warmup_steps=50,
                                 grad_clip=1.0),
)
