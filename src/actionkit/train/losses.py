"""Contrastive losses shared by backbone training and the patching methods."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def symmetric_contrastive_loss(logits: torch.Tensor, label_smoothing: float = 0.0,
                               targets: torch.Tensor | None = None) -> torch.Tensor:
    """CLIP/InfoNCE loss over a video-text logit matrix ``[B, B]`` (row i matches column i).

    ``targets`` (optional, [B, B] rows summing to 1) replaces the identity, e.g. to treat
    clips that share a caption as positives of each other. Returns the mean of the
    video->text and text->video cross-entropies.
    """
    if logits.dim() != 2 or logits.shape[0] != logits.shape[1]:
        raise ValueError(f"expected a square [B, B] logit matrix, got {tuple(logits.shape)}")
    if targets is None:
        labels = torch.arange(logits.shape[0], device=logits.device)
        return 0.5 * (F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
                      + F.cross_entropy(logits.t(), labels, label_smoothing=label_smoothing))
    return 0.5 * (F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
                  + F.cross_entropy(logits.t(), targets.t() / targets.t().sum(-1, keepdim=True),
                                    label_smoothing=label_smoothing))
