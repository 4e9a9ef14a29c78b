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
from torch import nn

from actionkit.backbones.minilm import MiniLMTextTower
from actionkit.backbones.order_head import OrderHead
from actionkit.backbones.world import WorldBackbone, WorldBackboneConfig
from actionkit.data.clips import iter_clip_batches
from actionkit.data.manifest import ClipRecord, read_manifest
from actionkit.train.losses import index_distinct, video_text_contrastive_loss
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
    frames_per_step: int = 2   # a random subset of the decoded frames per step (augmentation), in time order
    workers: int = 2           # decoding processes
    order_head_weight: float = 1.0   # caption loss through a training-only order-aware head (backbones/order_head.py)


@torch.no_grad()
def caption_recall_at_1(model: WorldBackbone, video: torch.Tensor, captions: list[str]) -> float:
    """Fraction of clips (embeddings [N, D]) whose most similar caption among the distinct ``captions`` is theirs."""
    distinct = sorted(set(captions))
    best = model.similarity(video, model.project_text(model.text_tower.pooled(distinct))).argmax(dim=1)
    return sum(distinct[j] == c for j, c in zip(best.tolist(), captions)) / max(1, len(captions))


@torch.no_grad()
def _clip_inputs(model: WorldBackbone, records: list[ClipRecord], root: Path, cfg: WorldTrainConfig,
                 desc: str, progress: bool) -> tuple[torch.Tensor, list[ClipRecord], int]:
    """What a training step reads for each readable clip, fp16: the preprocessed pixels
    [N, T, 3, S, S] when the frame encoder learns, or, when it is locked (``lit``), its mean
    patch token per frame [N, T, Dv], computed once. Returns (inputs, records, skipped)."""
    skipped: list = []
    chunks, kept = [], []
    for idx, pixels, _ in iter_clip_batches(records, root, model.num_frames, transform=model.preprocess,
                                         batch_size=64, workers=cfg.workers, desc=desc, progress=progress,
                                         skipped=skipped):
        if model.encoder_is_frozen:
            pixels = model.frame_tokens(pixels.to(cfg.device)).mean(dim=2)
        chunks.append(pixels.half().cpu())
        kept.extend(records[i] for i in idx.tolist())
    if not chunks:
        raise RuntimeError(f"none of the {len(records)} clips under {root} could be read")
    return torch.cat(chunks), kept, len(skipped)


def train_world_backbone(data_dir: Path | str, out_dir: Path | str,
                         model_cfg: WorldBackboneConfig = WorldBackboneConfig(),
                         cfg: WorldTrainConfig = WorldTrainConfig(), progress: bool = True,
                         resume: bool = False) -> dict:
    """Train on ``data_dir/manifest.jsonl`` (split train), save to ``out_dir``; returns a summary.

    ``model_cfg`` chooses the frame encoder: the CNN trained here (``world``) or the locked
    EfficientNet-Lite0 (``lit``, ``WorldBackboneConfig.lit()``), whose features are then
    computed once and only the projections learn. ``out_dir`` also gets ``metrics.jsonl``
    and a ``checkpoint/`` to continue from (``resume``).
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
    inputs, train_records, skipped = _clip_inputs(model, train_records, data_dir, cfg, "decode train", progress)

    distinct, caption_ids = index_distinct([r.caption for r in train_records])
    sentences = text_tower.pooled(distinct)                      # [U, 384], computed once

    def embed(batch: torch.Tensor) -> torch.Tensor:
        """Clip embeddings [B, D] of a batch of ``inputs``."""
        if model.encoder_is_frozen:
            return model.clip_embedding(batch)[1]
        return model.encode_video(batch).video

    # The order head reads patch tokens, so it needs the trainable frame encoder (not lit's locked one).
    head = None
    if cfg.order_head_weight > 0 and not model.encoder_is_frozen:
        grid = (model_cfg.image_size // 16) ** 2
        head = OrderHead(grid, model_cfg.token_dim, model_cfg.embed_dim, model_cfg.num_frames).to(device)
    trained = model if head is None else nn.ModuleDict({"backbone": model, "order_head": head})

    def step(idx: torch.Tensor, _: int) -> dict[str, torch.Tensor]:
        keep = torch.randperm(model_cfg.num_frames)[:cfg.frames_per_step].sort().values
        batch = inputs[idx][:, keep].to(device).float()
        text = model.project_text(sentences[caption_ids[idx]].to(device))
        scale = model.logit_scale.exp().clamp(max=100)
        ids = caption_ids[idx].to(device)
        if head is None:
            return {"loss": video_text_contrastive_loss(embed(batch), text, scale, ids)}
        tokens = model.frame_tokens(batch)                                    # [B, F, P, Dv]
        video = model.clip_embedding(tokens.mean(dim=2))[1]                  # the order-blind clip embedding
        clip = video_text_contrastive_loss(video, text, scale, ids)
        order = video_text_contrastive_loss(head(tokens, keep.to(device)), text, scale, ids)
        return {"loss": clip + cfg.order_head_weight * order, "clip": clip, "order_head": order}

    trainer = Trainer(trained, step, len(inputs), cfg, out_dir, desc=f"{model.name} backbone train",
                      progress=progress, model_config=asdict(model_cfg))
    last = trainer.fit(resume=resume)
    model.eval()
    val_r1 = None
    if val_records:
        val_inputs, val_records, val_skipped = _clip_inputs(model, val_records, data_dir, cfg, "decode val", progress)
        skipped += val_skipped
        with torch.no_grad():
            video = torch.cat([embed(val_inputs[i:i + 256].float()) for i in range(0, len(val_inputs), 256)])
        val_r1 = caption_recall_at_1(model, video, [r.caption for r in val_records])
    summary = {
        "backbone": model.name,
        "train_clips": len(inputs),
        "skipped": skipped,
        "epochs": cfg.epochs,
        "final_loss": last["loss"],
        "val_caption_r1": val_r1,
        "seconds": time.time() - start,
    }
    model.save(out_dir, extra={"trained_on": str(data_dir), "train": asdict(cfg), "summary": summary})
    log.info("%s backbone: %s", model.name, summary)
    return summary
