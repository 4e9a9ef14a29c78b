"""Train the built-in ``world`` backbone on the Action World train split.

Video-text contrastive learning (CLIP's symmetric InfoNCE) between the clip embedding (the
mean of the frame embeddings) and the projected MiniLM sentence embedding. Only the
visual tower and the two projections learn; MiniLM stays frozen and the sentence
embeddings of the finite caption set are computed once, not per step.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from actionkit.backbones.minilm import MiniLMTextTower
from actionkit.backbones.world import WorldBackbone, WorldBackboneConfig
from actionkit.data.clips import load_clips
from actionkit.data.manifest import read_manifest
from actionkit.train.losses import symmetric_contrastive_loss

log = logging.getLogger(__name__)


@dataclass
class WorldTrainConfig:
    epochs: int = 40
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.05
    warmup_steps: int = 30
    pairs_per_batch: int = 0   # batches drawn from this many verb pairs: hard negatives (0 = random batches)
    frames_per_step: int = 2   # a random subset of the decoded frames per step (augmentation)
    seed: int = 0
    workers: int = 2
    device: str = "cpu"


def cosine_with_warmup(step: int, total: int, warmup: int) -> float:
    """Learning-rate multiplier: linear warm-up, then cosine decay to 0."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def grouped_batches(groups: list[str], batch_size: int, pairs_per_batch: int,
                    generator: torch.Generator) -> list[torch.Tensor]:
    """One epoch of batches, each drawn from ``pairs_per_batch`` groups (e.g. verb pairs).

    Clips of the same verb pair differ only in direction, object and colour, so such a
    batch makes the object and colour the negatives that matter (hard negatives).
    ``pairs_per_batch=0`` gives plain random batches.
    """
    n = len(groups)
    perm = torch.randperm(n, generator=generator)
    if pairs_per_batch <= 0:
        return [perm[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
    names = sorted(set(groups))
    pools = {g: [i for i in perm.tolist() if groups[i] == g] for g in names}
    per_group = batch_size // pairs_per_batch
    chunks = [torch.tensor(p[i:i + per_group]) for p in pools.values()
              for i in range(0, len(p) - per_group + 1, per_group)]
    order = torch.randperm(len(chunks), generator=generator).tolist()
    batches = [torch.cat([chunks[j] for j in order[i:i + pairs_per_batch]])
               for i in range(0, len(order) - pairs_per_batch + 1, pairs_per_batch)]
    return batches


def _caption_targets(caption_ids: torch.Tensor) -> torch.Tensor:
    """[B, B] targets: clips with the same caption are each other's positives."""
    same = (caption_ids[:, None] == caption_ids[None, :]).float()
    return same / same.sum(dim=1, keepdim=True)


@torch.no_grad()
def caption_recall_at_1(model: WorldBackbone, frames: torch.Tensor, captions: list[str],
                        batch_size: int = 256) -> float:
    """Fraction of clips whose most similar caption (among the distinct ``captions``) is theirs."""
    distinct = sorted(set(captions))
    text = model.project_text(model.text_tower.pooled(distinct))
    hits = 0
    for i in range(0, len(frames), batch_size):
        video = model.encode_video(frames[i:i + batch_size].float()).video
        best = (video @ text.t()).argmax(dim=1).tolist()
        hits += sum(distinct[j] == c for j, c in zip(best, captions[i:i + batch_size]))
    return hits / max(1, len(frames))


def train_world_backbone(data_dir: Path | str, out_dir: Path | str,
                         model_cfg: WorldBackboneConfig = WorldBackboneConfig(),
                         cfg: WorldTrainConfig = WorldTrainConfig(), progress: bool = True) -> dict:
    """Train on ``data_dir/manifest.jsonl`` (split train), save to ``out_dir``; returns a summary."""
    start = time.time()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    torch.manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    manifest = data_dir / "manifest.jsonl"
    train_records = read_manifest(manifest, split="train")
    val_records = read_manifest(manifest, split="val")
    if not train_records:
        raise ValueError(f"{manifest}: no clips in the train split")

    text_tower = MiniLMTextTower(device=device)
    model = WorldBackbone(model_cfg, text_tower).to(device)
    decode = dict(transform=model.preprocess, dtype=torch.float16, workers=cfg.workers, progress=progress)
    train = load_clips(train_records, data_dir, model_cfg.num_frames, desc="decode train", **decode)
    val = load_clips(val_records, data_dir, model_cfg.num_frames, desc="decode val", **decode) if val_records else None

    captions = [r.caption for r in train.records]
    distinct = sorted(set(captions))
    position = {c: i for i, c in enumerate(distinct)}
    caption_ids = torch.tensor([position[c] for c in captions])
    sentences = text_tower.pooled(distinct)                      # [U, 384], computed once

    n = len(train.frames)
    groups = [r.extra.get("verb_pair", r.verb) for r in train.records]
    steps_per_epoch = len(grouped_batches(groups, cfg.batch_size, cfg.pairs_per_batch, torch.Generator()))
    if steps_per_epoch == 0:
        raise ValueError(f"{manifest}: {n} train clips are too few for batches of {cfg.batch_size}")
    total = cfg.epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_with_warmup(s, total, cfg.warmup_steps))
    gen = torch.Generator().manual_seed(cfg.seed)
    log_rows = []
    model.train()
    bar = tqdm(total=total, desc="backbone train", unit="step", disable=not progress)
    for epoch in range(cfg.epochs):
        losses = []
        for idx in grouped_batches(groups, cfg.batch_size, cfg.pairs_per_batch, gen)[:steps_per_epoch]:
            keep = torch.randperm(model_cfg.num_frames, generator=gen)[:cfg.frames_per_step]
            pixels = train.frames[idx][:, keep].to(device).float()
            video = model.encode_video(pixels).video
            text = model.project_text(sentences[caption_ids[idx]].to(device))
            logits = model.logit_scale.exp().clamp(max=100) * video @ text.t()
            loss = symmetric_contrastive_loss(logits, targets=_caption_targets(caption_ids[idx]).to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.update()
            bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}")
        log_rows.append({"epoch": epoch, "loss": sum(losses) / len(losses), "lr": sched.get_last_lr()[0]})
    bar.close()
    model.eval()
    summary = {
        "train_clips": n,
        "skipped": len(train.skipped) + (len(val.skipped) if val else 0),
        "epochs": cfg.epochs,
        "final_loss": log_rows[-1]["loss"],
        "train_caption_r1": caption_recall_at_1(model, train.frames[:1000], captions[:1000]),
        "val_caption_r1": caption_recall_at_1(model, val.frames, [r.caption for r in val.records]) if val else None,
        "seconds": time.time() - start,
    }
    model.save(out_dir, extra={"trained_on": str(data_dir), "train": asdict(cfg), "summary": summary})
    (out_dir / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log_rows))
    log.info("world backbone: %s", summary)
    return summary
