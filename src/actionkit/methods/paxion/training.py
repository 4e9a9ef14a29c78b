"""Train PAXION's Knowledge Patcher with DVDM on a frozen backbone.

The backbone is frozen, so its outputs are computed once before training: the frame
patch tokens of every train clip and the token features of every distinct caption and
antonym caption. Reversed (and shuffled) clips are the same cached frame tokens reindexed
on T, never decoded again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from actionkit.backbones.protocol import Backbone
from actionkit.data.manifest import ClipRecord, read_manifest
from actionkit.features.clip_features import ClipFeatures
from actionkit.methods.paxion.losses import atm_loss, vac_loss, vtc_loss
from actionkit.methods.paxion.model import PaxionHeads, patcher_config_for
from actionkit.methods.paxion.patcher import PatcherConfig
from actionkit.train.distributed import rank_and_world
from actionkit.train.trainer import Trainer, TrainerConfig

log = logging.getLogger(__name__)

OBJECTIVES = ("vtc", "vac", "atm")


@dataclass
class PatchTrainConfig(TrainerConfig):
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 50
    grad_clip: float = 1.0
    objectives: tuple[str, ...] = OBJECTIVES
    loss_weights: dict[str, float] = field(default_factory=lambda: {"vtc": 1.0, "vac": 1.0, "atm": 1.0})
    atm_shuffle: bool = False          # add a frame-shuffled third ATM candidate
    label_smoothing: float = 0.1
    skip_missing_antonyms: bool = False
    workers: int = 2

    def __post_init__(self):
        unknown = [o for o in self.objectives if o not in OBJECTIVES]
        if unknown or not self.objectives:
            raise ValueError(f"objectives must be a non-empty subset of {','.join(OBJECTIVES)}, got {self.objectives}")
        unknown = [k for k in self.loss_weights if k not in OBJECTIVES]
        if unknown:
            raise ValueError(f"loss weights given for unknown objective(s) {', '.join(unknown)}")


@dataclass
class TextTable:
    """Backbone text features of a finite set of texts, computed once: row i is ``texts[i]``."""

    texts: list[str]
    tokens: torch.Tensor   # [U, L, Dt] fp16, zero-padded
    mask: torch.Tensor     # [U, L] bool
    pooled: torch.Tensor   # [U, D]

    @staticmethod
    @torch.no_grad()
    def build(backbone: Backbone, texts: list[str], batch_size: int = 256) -> "TextTable":
        texts = list(dict.fromkeys(texts))
        parts = [backbone.encode_text(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)]
        length = max(p.tokens.shape[1] for p in parts)
        pad = lambda x: torch.nn.functional.pad(x, (0, 0, 0, length - x.shape[1]))  # noqa: E731
        return TextTable(
            texts=texts,
            tokens=torch.cat([pad(p.tokens.float()).half().cpu() for p in parts]),
            mask=torch.cat([torch.nn.functional.pad(p.mask, (0, length - p.mask.shape[1])).cpu() for p in parts]),
            pooled=torch.cat([p.pooled.float().cpu() for p in parts]),
        )

    def ids(self, texts: list[str]) -> torch.Tensor:
        position = {t: i for i, t in enumerate(self.texts)}
        return torch.tensor([position[t] for t in texts])


def _check_antonyms(records: list[ClipRecord], skip: bool, where: Path) -> list[ClipRecord]:
    missing = [r for r in records if not r.antonym_caption]
    if missing and not skip:
        raise ValueError(f"{where}: record {missing[0].id!r} ({len(missing)} in all) has no antonym_caption, "
                         "which VAC needs; add one or pass --skip-missing-antonyms")
    if missing:
        log.warning("VAC: skipping %d of %d records without an antonym caption", len(missing), len(records))
    return [r for r in records if r.antonym_caption]


def shuffled_order(t: int) -> torch.Tensor:
    """A random frame order that is neither the original nor its reversal (uses the global RNG)."""
    while True:
        perm = torch.randperm(t)
        if t < 3 or not (torch.equal(perm, torch.arange(t)) or torch.equal(perm, torch.arange(t).flip(0))):
            return perm


def train_patcher(backbone: Backbone, data_dir: Path | str, out_dir: Path | str,
                  patcher: PatcherConfig = PatcherConfig(), cfg: PatchTrainConfig = PatchTrainConfig(),
                  progress: bool = True, resume: bool = False, backbone_name: str = "world",
                  features: ClipFeatures | None = None) -> dict:
    """Train on the train split of ``data_dir/manifest.jsonl``; saves the heads into ``out_dir``.

    ``features``: the backbone's frame features of those clips when already computed (a
    feature cache, ``ClipFeatures.from_cache``, or shared by the runs of an ablation);
    otherwise they are extracted here.
    """
    start = time.time()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    device = torch.device(cfg.device)
    manifest = data_dir / "manifest.jsonl"
    records = read_manifest(manifest, split="train")
    if not records:
        raise ValueError(f"{manifest}: no clips in the train split")
    n_records = len(records)
    if "vac" in cfg.objectives:
        records = _check_antonyms(records, cfg.skip_missing_antonyms, manifest)

    if features is None:
        features = ClipFeatures.extract(backbone, records, data_dir, workers=cfg.workers, progress=progress,
                                        device=device)
    else:
        features = features.for_records(records)
    tokens, records = features.frame_tokens, features.records
    texts = [r.caption for r in records] + [r.antonym_caption for r in records if r.antonym_caption]
    table = TextTable.build(backbone, texts)                      # every caption's tokens, computed once
    caption_ids = table.ids([r.caption for r in records])
    antonym_ids = table.ids([r.antonym_caption for r in records]) if "vac" in cfg.objectives else None

    torch.manual_seed(cfg.seed)  # initialisation of the heads
    patcher_cfg = patcher_config_for(backbone, **asdict(patcher))
    heads = PaxionHeads(patcher_cfg).to(device)
    weights = {k: cfg.loss_weights.get(k, 1.0) for k in cfg.objectives}

    def text_embedding(ids: torch.Tensor) -> torch.Tensor:
        return heads.encode_text_tokens(table.tokens[ids].to(device).float(), table.mask[ids].to(device),
                                        table.pooled[ids].to(device))

    def step(idx: torch.Tensor, _: int) -> dict[str, torch.Tensor]:
        frames = tokens[idx].to(device).float()                       # [B, T, P, Dv]
        video = heads.encode_tokens(frames)                           # [B, K, D]
        text = text_embedding(caption_ids[idx])                       # [B, D]
        scale = heads.logit_scale.exp().clamp(max=100)
        ids = caption_ids[idx].to(device)
        losses: dict[str, torch.Tensor] = {}
        if "vtc" in weights:
            losses["vtc"] = vtc_loss(video, text, scale, ids, cfg.label_smoothing)
        if "vac" in weights:
            antonym = text_embedding(antonym_ids[idx])
            losses["vac"] = vac_loss(video, text, antonym, scale, ids, antonym_ids[idx].to(device),
                                     cfg.label_smoothing)
        if "atm" in weights:
            candidates = [video, heads.encode_tokens(frames.flip(1))]  # original, reversed
            if cfg.atm_shuffle:
                candidates.append(heads.encode_tokens(frames[:, shuffled_order(frames.shape[1]).to(device)]))
            losses["atm"] = atm_loss(torch.stack(candidates, dim=1), text, scale, cfg.label_smoothing)
        loss = sum(weights[k] * v for k, v in losses.items())
        return {"loss": loss, **losses}

    trainer = Trainer(heads, step, len(tokens), cfg, out_dir, desc="patch " + "+".join(cfg.objectives),
                      progress=progress, model_config=asdict(patcher_cfg))
    last = trainer.fit(resume=resume)
    summary = {
        "objectives": list(cfg.objectives), "train_clips": len(tokens), "skipped": len(features.skipped),
        "dropped_without_antonym": n_records - len(records) - len(features.skipped),
        "final": last, "seconds": round(time.time() - start, 2),
    }
    if rank_and_world()[0] == 0:
        heads.save(out_dir, backbone_name, extra={"train": asdict(cfg), "summary": summary})
    log.info("patcher: %s", summary)
    return summary
