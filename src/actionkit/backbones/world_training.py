"""Train the built-in ``world`` backbone on the Action World train split.

Video-text contrastive learning (CLIP's symmetric InfoNCE) between the clip embedding (the
mean of the frame embeddings) and the projected MiniLM sentence embedding. Only the
visual tower and the two projections learn; MiniLM stays frozen and the sentence
embeddings of the finite caption set are computed once, not per step.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from actionkit.backbones.minilm import MiniLMTextTower
from actionkit.backbones.world import WorldBackbone, WorldBackboneConfig
from actionkit.data.clips import load_clips
from actionkit.data.manifest import read_manifest
from actionkit.train.losses import video_text_contrastive_loss
from actionkit.train.trainer import Trainer, TrainerConfig

log = logging.getLogger(__name__)


@dataclass
class WorldTrainConfig(TrainerConfig):
    epochs: int = 40
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.05
    warmup_steps: int = 30
    grad_clip: float = 0.0
    frames_per_step: int = 2   # a random subset of the decoded frames per step (augmentation)
    workers: int = 2           # decoding processes


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
                         cfg: WorldTrainConfig = WorldTrainConfig(), progress: bool = True,
                         resume: bool = False) -> dict:
    """Train on ``data_dir/manifest.jsonl`` (split train), save to ``out_dir``; returns a summary.

    ``out_dir`` also gets ``metrics.jsonl`` and a ``checkpoint/`` to continue from (``resume``).
    """
    start = time.time()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    torch.manual_seed(cfg.seed)  # model initialisation
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

    def step(idx: torch.Tensor, _: int) -> dict[str, torch.Tensor]:
        keep = torch.randperm(model_cfg.num_frames)[:cfg.frames_per_step]
        video = model.encode_video(train.frames[idx][:, keep].to(device).float()).video
        text = model.project_text(sentences[caption_ids[idx]].to(device))
        scale = model.logit_scale.exp().clamp(max=100)
        return {"loss": video_text_contrastive_loss(video, text, scale, caption_ids[idx].to(device))}

    trainer = Trainer(model, step, len(train.frames), cfg, out_dir, desc="backbone train", progress=progress,
                      model_config=asdict(model_cfg))
    last = trainer.fit(resume=resume)
    model.eval()
    summary = {
        "train_clips": len(train.frames),
        "skipped": len(train.skipped) + (len(val.skipped) if val else 0),
        "epochs": cfg.epochs,
        "final_loss": last["loss"],
        "val_caption_r1": caption_recall_at_1(model, val.frames, [r.caption for r in val.records]) if val else None,
        "seconds": time.time() - start,
    }
    model.save(out_dir, extra={"trained_on": str(data_dir), "train": asdict(cfg), "summary": summary})
    log.info("world backbone: %s", summary)
    return summary
