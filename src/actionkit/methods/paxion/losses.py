"""DVDM, PAXION's training objective (Li et al. 2023, Sec. 3.1): VTC + VAC + ATM.

Each loss is written once for clip embeddings ``[B, D]`` or latent sets ``[B, K, D]``
(similarity = max over the set, ``similarity_matrix``). Under ``torchrun`` the contrastive
losses use the texts (and clips) of every rank as negatives; a single process needs no
process group.

- VTC (video-text contrastive): symmetric InfoNCE over the batch.
- VAC (video-action contrastive): video->text InfoNCE where the antonym captions join the
  text pool as hard negatives, so the action words must matter.
- ATM (action-temporal matching): for each (clip, caption), pick the original clip among
  [original, reversed (, shuffled)] — the frame order must matter.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from actionkit.backbones.protocol import paired_similarity, similarity_matrix
from actionkit.train.distributed import gather_with_grad, rank_offset
from actionkit.train.losses import positive_targets, video_text_contrastive_loss


def vtc_loss(video: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor,
             caption_ids: torch.Tensor | None = None, label_smoothing: float = 0.1) -> torch.Tensor:
    """VTC: symmetric video-text contrastive loss, label smoothing 0.1 (PAXION's setting).

    video [B, (K,) D], text [B, D]; see ``train.losses.video_text_contrastive_loss``.
    """
    return video_text_contrastive_loss(video, text, logit_scale, caption_ids, label_smoothing)


def vac_loss(video: torch.Tensor, text: torch.Tensor, antonym_text: torch.Tensor, logit_scale: torch.Tensor,
             caption_ids: torch.Tensor | None = None, antonym_ids: torch.Tensor | None = None,
             label_smoothing: float = 0.1) -> torch.Tensor:
    """Video-to-text contrastive loss with the antonym captions as extra (hard) negatives.

    video [B, (K,) D]; text, antonym_text [B, D]. With ids given, a pool entry whose id equals
    the clip's caption id is a positive (the antonym caption of one clip can be another
    clip's caption).
    """
    pool = torch.cat([gather_with_grad(text), gather_with_grad(antonym_text)])   # [2 B_all, D]
    logits = logit_scale * similarity_matrix(video, pool)                         # [B, 2 B_all]
    if caption_ids is None or antonym_ids is None:
        labels = torch.arange(video.shape[0], device=video.device) + rank_offset(video.shape[0])
        return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    pool_ids = torch.cat([gather_with_grad(caption_ids), gather_with_grad(antonym_ids)])
    return F.cross_entropy(logits, positive_targets(caption_ids, pool_ids), label_smoothing=label_smoothing)


def atm_loss(candidates: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor,
             label_smoothing: float = 0.1) -> torch.Tensor:
    """Pick the original clip among C temporal variants of it.

    candidates [B, C, (K,) D] with candidate 0 the original (then reversed, shuffled, ...);
    text [B, D] the caption of the original.
    """
    b, c = candidates.shape[:2]
    sims = paired_similarity(candidates.flatten(0, 1), text.repeat_interleave(c, dim=0)).view(b, c)
    labels = torch.zeros(b, dtype=torch.long, device=candidates.device)
    return F.cross_entropy(logit_scale * sims, labels, label_smoothing=label_smoothing)
