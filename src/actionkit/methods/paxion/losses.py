"""DVDM, PAXION's training objective (Li et al. 2023, Sec. 3.1): VTC + VAC + ATM.

Each loss takes the model's own scoring (``similarity`` / ``paired_similarity``, e.g. the
Knowledge Patcher's max over latents), so it is written once for any clip representation.
Under ``torchrun`` the contrastive losses use the texts (and clips) of every rank as
negatives; a single process needs no process group.

- VTC (video-text contrastive): symmetric InfoNCE over the batch.
- VAC (video-action contrastive): the antonym captions join the video->text pool as hard
  negatives, so the action words must matter. As the authors' code does it, they join VTC's
  own video->text side (``vtc_loss(..., antonym_text=...)``); ``vac_loss`` is the variant with
  a term of its own (the ablation).
- ATM (action-temporal matching): for each (clip, caption), pick the original clip among
  [original, reversed (, shuffled)]: the frame order must matter.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from actionkit.train.distributed import gather_with_grad, rank_offset
from actionkit.train.losses import Similarity, positive_targets, video_text_contrastive_loss


def vtc_loss(video: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor, *, similarity: Similarity,
             caption_ids: torch.Tensor | None = None, label_smoothing: float = 0.1,
             antonym_text: torch.Tensor | None = None, antonym_ids: torch.Tensor | None = None) -> torch.Tensor:
    """VTC, label smoothing 0.1 (PAXION's setting); with ``antonym_text`` [B, D] (and ids) the
    antonym captions join the video->text pool: VTC + VAC as the authors train them.

    video [B, ...] scored by ``similarity``; text [B, D]; see ``train.losses.video_text_contrastive_loss``.
    """
    return video_text_contrastive_loss(video, text, logit_scale, caption_ids, label_smoothing, similarity,
                                       extra_text=antonym_text, extra_text_ids=antonym_ids)


def vac_loss(video: torch.Tensor, text: torch.Tensor, antonym_text: torch.Tensor, logit_scale: torch.Tensor, *,
             similarity: Similarity, caption_ids: torch.Tensor | None = None,
             antonym_ids: torch.Tensor | None = None, label_smoothing: float = 0.1) -> torch.Tensor:
    """VAC as a term of its own: video->text InfoNCE with the antonym captions as extra negatives.

    video [B, ...]; text, antonym_text [B, D]. With ids given, a pool entry whose id equals
    the clip's caption id is a positive (one clip's antonym caption can be another's caption).
    """
    pool = torch.cat([gather_with_grad(text), gather_with_grad(antonym_text)])   # [2 B_all, D]
    logits = logit_scale * similarity(video, pool)                                # [B, 2 B_all]
    if caption_ids is None or antonym_ids is None:
        labels = torch.arange(video.shape[0], device=video.device) + rank_offset(video.shape[0])
        return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    pool_ids = torch.cat([gather_with_grad(caption_ids), gather_with_grad(antonym_ids)])
    return F.cross_entropy(logits, positive_targets(caption_ids, pool_ids), label_smoothing=label_smoothing)


def atm_loss(candidates: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor, *,
             paired_similarity: Similarity, label_smoothing: float = 0.1,
             weights: torch.Tensor | None = None) -> torch.Tensor:
    """Pick the original clip among C temporal variants of it.

    candidates [B, C, ...] with candidate 0 the original (then reversed, shuffled, ...);
    text [B, D] the caption of the original; ``paired_similarity`` the model's ``[N, ...] x [N, D] -> [N]``.
    ``weights`` [B] (0 or 1): clips that take part (a time-symmetric clip's reversal is the same
    verb, so it takes no part); the loss is their sum over the whole batch size, so that under
    ``torchrun`` the mean over ranks is the one-process loss.
    """
    b, c = candidates.shape[:2]
    sims = paired_similarity(candidates.flatten(0, 1), text.repeat_interleave(c, dim=0)).view(b, c)
    labels = torch.zeros(b, dtype=torch.long, device=candidates.device)
    if weights is None:
        return F.cross_entropy(logit_scale * sims, labels, label_smoothing=label_smoothing)
    per_clip = F.cross_entropy(logit_scale * sims, labels, label_smoothing=label_smoothing, reduction="none")
    return (per_clip * weights).sum() / b
