"""LSS's training objectives on concept scores (Sec. 3.2-3.3; the exact forms are [open], ours).

Notation: for a clip embedding ``v`` and a concept basis ``E`` (``concepts.py``), the scores
are the cosines ``z = norm(v) . norm(E)^T`` ``[B, C]``; ``p(z, tau) = softmax(z / tau)``.
Student scores of all views ``[V, B, C]`` (the first G are the global views), teacher scores
of the G global views ``[G, B, C]``; both per concept space (category, description).

- **Concept distillation** (DINO-style self-distillation in concept space): the teacher's
  distribution on global view g, centred by a running mean ``c`` of its scores and sharpened by
  a low temperature, is the target of the student's on every other view v:
  ``L_dist = mean_{g, v != g} H(p(z_t^g - c, tau_t), p(z_s^v, tau_s))``,
  with ``H(q, p) = -sum_k q_k log p_k``; ``c <- m c + (1 - m) mean_batch(z_t)`` after each step.
- **Concept alignment**: on each student view, the category-space distribution and the
  description-space distribution (one-to-one concepts) are pulled together; ``direction``
  says which is the target (gradient stopped): ``desc_to_cat`` (the description distribution
  teaches the category one), ``cat_to_desc``, or ``symmetric`` (the mean of both).
- **Uniform prior**: the batch-mean student distribution ``pbar`` over all views is kept near
  uniform, ``L_prior = KL(pbar || U) = sum_k pbar_k log(C pbar_k)`` (0 at uniform), so that no
  single concept takes every clip (collapse); centring in ``L_dist`` works the same way on the
  teacher side.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

DIRECTIONS = ("symmetric", "desc_to_cat", "cat_to_desc")


def cross_entropy(target: torch.Tensor, log_probs: torch.Tensor) -> torch.Tensor:
    """``H(target, p)`` per row, averaged: ``[..., C]`` x ``[..., C]`` -> scalar."""
    return -(target * log_probs).sum(-1).mean()


def teacher_targets(teacher: torch.Tensor, center: torch.Tensor, temperature: float) -> torch.Tensor:
    """Teacher scores ``[G, B, C]``, centre ``[C]`` -> sharpened target distributions ``[G, B, C]`` (no gradient)."""
    return F.softmax((teacher - center) / temperature, dim=-1).detach()


def distillation_loss(targets: torch.Tensor, student: torch.Tensor, temperature: float) -> torch.Tensor:
    """Targets ``[G, B, C]`` of the G global views, student scores ``[V, B, C]`` (views 0..G-1 are the
    same global views) -> the mean over pairs (g, v != g) of ``H(target_g, p(student_v))``."""
    log_p = F.log_softmax(student / temperature, dim=-1)
    pairs = [cross_entropy(targets[g], log_p[v]) for g in range(targets.shape[0]) for v in range(student.shape[0])
             if v != g]
    if not pairs:
        raise ValueError("concept distillation needs at least two views")
    return torch.stack(pairs).mean()


def alignment_loss(category: torch.Tensor, description: torch.Tensor, temperature: float,
                   direction: str = "symmetric") -> torch.Tensor:
    """Student scores in the two spaces ``[V, B, C]`` each (concept k of one is concept k of the other)."""
    log_cat = F.log_softmax(category / temperature, dim=-1)
    log_desc = F.log_softmax(description / temperature, dim=-1)
    to_cat = cross_entropy(log_desc.exp().detach(), log_cat)
    to_desc = cross_entropy(log_cat.exp().detach(), log_desc)
    if direction == "desc_to_cat":
        return to_cat
    if direction == "cat_to_desc":
        return to_desc
    return (to_cat + to_desc) / 2


def uniform_prior_loss(student: torch.Tensor, temperature: float,
                       gather: Callable[[torch.Tensor], torch.Tensor] = lambda x: x) -> torch.Tensor:
    """Student scores ``[V, B, C]`` -> ``KL(pbar || uniform)`` of their mean distribution (0 when uniform).
    ``gather`` joins the batches of every process along dim 0 (``train.distributed.gather_with_grad``),
    so that under DDP ``pbar`` is the global batch's mean, as in one process."""
    probs = F.softmax(student / temperature, dim=-1).transpose(0, 1).contiguous()    # [B, V, C]
    mean = gather(probs).flatten(0, 1).mean(0)                                       # [C]
    return (mean * (mean.clamp_min(1e-12).log() + math.log(mean.shape[-1]))).sum()


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of distributions ``[..., C]``."""
    return -(probs * probs.clamp_min(1e-12).log()).sum(-1).mean()


def ema_momentum(step: int, total: int, start: float) -> float:
    """The teacher's EMA momentum after ``step`` of ``total``: ``start`` rising to 1 on a cosine."""
    progress = min(max(step / max(total, 1), 0.0), 1.0)
    return 1.0 - (1.0 - start) * (math.cos(math.pi * progress) + 1) / 2
