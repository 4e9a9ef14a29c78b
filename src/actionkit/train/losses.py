"""The video-text contrastive loss shared by backbone training and the patching methods."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from actionkit.scoring import cosine_similarity
from actionkit.train.distributed import gather_with_grad, rank_offset


Similarity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # (video [Nv, ...], text [Nt, D]) -> [Nv, Nt]


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
                                caption_ids: torch.Tensor | None = None, label_smoothing: float = 0.0,
                                similarity: Similarity = cosine_similarity,
                                extra_text: torch.Tensor | None = None,
                                extra_text_ids: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP) between clips and their captions; the mean of both directions.

    video [B, ...] (the model's clip representation, scored by ``similarity``: the model's
    own, e.g. ``model.similarity``); text [B, D], pair i matches. ``caption_ids`` [B]: clips
    with the same caption id are positives of each other (a finite caption set repeats within
    a batch). ``extra_text`` [B, D] (with ``extra_text_ids``): more texts that join only the
    video->text side's pool as negatives, unless their id is the clip's caption id (PAXION's
    VAC: the antonym captions). Under ``torchrun`` the clips and texts of every rank are
    negatives too.
    """
    all_video, all_text = gather_with_grad(video), gather_with_grad(text)
    t2v = logit_scale * similarity(all_video, text).t()             # [B, B_all]
    pool, pool_ids = all_text, None
    if caption_ids is not None:
        pool_ids = gather_with_grad(caption_ids)
    if extra_text is not None:
        if caption_ids is None or extra_text_ids is None:
            raise ValueError("extra texts need caption_ids and extra_text_ids (an extra text may be a positive)")
        pool = torch.cat([all_text, gather_with_grad(extra_text)])
        pool_ids = torch.cat([pool_ids, gather_with_grad(extra_text_ids)])
    v2t = logit_scale * similarity(video, pool)                     # [B, B_all (+ B_all extra)]
    if caption_ids is None:
        v2t_targets = t2v_targets = torch.arange(video.shape[0], device=video.device) + rank_offset(video.shape[0])
    else:
        v2t_targets = positive_targets(caption_ids, pool_ids)
        t2v_targets = positive_targets(caption_ids, gather_with_grad(caption_ids))
    return 0.5 * (F.cross_entropy(v2t, v2t_targets, label_smoothing=label_smoothing)
                  + F.cross_entropy(t2v, t2v_targets, label_smoothing=label_smoothing))
