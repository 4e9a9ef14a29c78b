"""The video-text contrastive loss shared by backbone training and the patching methods."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from actionkit.backbones.protocol import similarity_matrix
from actionkit.train.distributed import gather_with_grad, rank_offset


def index_distinct(texts: list[str]) -> tuple[list[str], torch.Tensor]:
    """(the distinct texts, sorted; the index of each of ``texts`` among them [N]).

    Captions come from a finite set: embed the distinct ones once, and let equal ids mark
    the clips that are each other's positives (``positive_targets``).
    """
    distinct = sorted(set(texts))
    position = {t: i for i, t in enumerate(distinct)}
    return distinct, torch.tensor([position[t] for t in texts], dtype=torch.long)


def positive_targets(query_ids: torch.Tensor, pool_ids: torch.Tensor) -> torch.Tensor:
    """Soft targets ``[B, N]``: each query's mass spread evenly over the pool entries with its id."""
    same = (query_ids[:, None] == pool_ids[None, :]).float()
    return same / same.sum(dim=1, keepdim=True)


def video_text_contrastive_loss(video: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor | float,
                                caption_ids: torch.Tensor | None = None,
                                label_smoothing: float = 0.0) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP) between clips and their captions; the mean of both directions.

    video [B, D] or latent sets [B, K, D] (similarity = max over K); text [B, D], pair i
    matches. ``caption_ids`` [B]: clips with the same caption id are positives of each other
    (a finite caption set repeats within a batch). Under ``torchrun`` the clips and texts of
    every rank are negatives too.
    """
    all_video, all_text = gather_with_grad(video), gather_with_grad(text)
    v2t = logit_scale * similarity_matrix(video, all_text)          # [B, B_all]
    t2v = logit_scale * similarity_matrix(all_video, text).t()      # [B, B_all]
    if caption_ids is None:
        targets = torch.arange(video.shape[0], device=video.device) + rank_offset(video.shape[0])
    else:
        targets = positive_targets(caption_ids, gather_with_grad(caption_ids))
    return 0.5 * (F.cross_entropy(v2t, targets, label_smoothing=label_smoothing)
                  + F.cross_entropy(t2v, targets, label_smoothing=label_smoothing))
