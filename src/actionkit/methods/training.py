"""One training function for every method: heads on a frozen base, over cached frame features.

The base model is frozen, so its frame features are read from a feature cache (or extracted
once) and every epoch reads them back. The method builds its heads and its training step;
``train/trainer.py`` runs the loop (schedule, clipping, AMP, resume, DDP); the result is
saved in the one checkpoint format (``methods.checkpoint``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from actionkit.backbones.protocol import VideoTextModel
from actionkit.features.clip_features import ClipFeatures
from actionkit.methods.base import Method
from actionkit.methods.checkpoint import save_method
from actionkit.train.distributed import rank_and_world
from actionkit.train.trainer import Trainer, TrainerConfig

log = logging.getLogger(__name__)


def train_method(method: Method, base: VideoTextModel, base_ref: dict, data: ClipFeatures, out_dir: Path | str,
                 cfg: Any = None, train: TrainerConfig | None = None, progress: bool = True,
                 resume: bool = False) -> dict:
    """Train ``method`` on ``base`` over ``data`` (the backbone's frame features of the train
    clips); write ``heads.safetensors`` + ``method.json`` into ``out_dir``; return the summary.

    ``base_ref`` says how to load ``base`` again: ``{"backbone": NAME, "weights": DIR}`` or
    ``{"model": DIR}`` (another method's folder).
    """
    start = time.time()
    cfg = method.config() if cfg is None else cfg
    train = method.train_defaults if train is None else train
    if not len(data):
        raise ValueError(f"{method.name}: none of the {len(data.skipped)} training clips has features")
    device = torch.device(train.device)
    torch.manual_seed(train.seed)                        # the heads' initialisation
    heads = method.build(base, cfg).to(device)
    plan = method.prepare(base, heads, data, cfg, device)
    after_step = None if method.after_step is None else (lambda step, total: method.after_step(heads, step, total))
    trainer = Trainer(heads, plan.step, plan.num_items, train, out_dir, desc=f"train {method.name}",
                      progress=progress, model_config=asdict(cfg), after_step=after_step)
    last = trainer.fit(resume=resume)
    summary = {"train_clips": plan.num_items, "skipped": len(data.skipped), **plan.summary, "final": last,
               "seconds": round(time.time() - start, 2)}
    if rank_and_world()[0] == 0:
        save_method(out_dir, method, cfg, heads, base_ref, base.fingerprint(), train, summary)
    log.info("%s: %s", method.name, summary)
    return summary
