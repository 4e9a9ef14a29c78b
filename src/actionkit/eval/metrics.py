"""Metric functions of the downstream suite, on score matrices; nothing here knows about models.

Ranks are *pessimistic* on ties: a candidate scoring exactly as high as the best positive
counts as ranked above it, so a model that gives every candidate the same score gets the
worst rank, never the best. All ranks are 1-based.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch


def positive_ranks(scores: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """Rank of the best positive per query: ``scores [Q, C]``, ``positives [Q, C]`` bool -> ``[Q]``.

    rank = 1 + number of negatives scoring >= the best positive (ties count against it).
    Every query needs at least one positive.
    """
    if scores.shape != positives.shape:
        raise ValueError(f"scores {tuple(scores.shape)} and positives {tuple(positives.shape)} differ in shape")
    if not bool(positives.any(dim=1).all()):
        raise ValueError("every query needs at least one positive candidate")
    best = scores.masked_fill(~positives, float("-inf")).amax(dim=1, keepdim=True)
    return 1 + ((scores >= best) & ~positives).sum(dim=1)


def rank_metrics(ranks: torch.Tensor, ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, float]:
    """R@K (fraction of queries with rank <= K), median rank and mean rank."""
    r = ranks.float()
    out = {f"R@{k}": float((r <= k).float().mean()) for k in ks}
    out["MdR"] = float(torch.quantile(r, 0.5))     # the mean of the two middle ranks when even
    out["MnR"] = float(r.mean())
    return out


def _label_ranks(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Pessimistic rank of each row's label: ``scores [N, C]``, ``labels [N]`` class indices -> ``[N]``."""
    if scores.dim() != 2 or labels.shape != scores.shape[:1]:
        raise ValueError(f"need scores [N, C] and labels [N]; got scores {tuple(scores.shape)}, "
                         f"labels {tuple(labels.shape)}")
    positives = torch.zeros_like(scores, dtype=torch.bool)
    positives[torch.arange(len(labels)), labels] = True
    return positive_ranks(scores, positives)


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """Fraction of rows whose label is among the k best classes (pessimistic on ties)."""
    return float((_label_ranks(scores, labels) <= k).float().mean())


def mean_class_accuracy(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean over the classes present in ``labels`` of each class's recall (unbalanced-safe).

    ``scores [N, C]`` (not argmax predictions), ``labels [N]``. A row is right only when its
    label's pessimistic rank is 1, as for top-1: a label tied with another class for the best
    score counts as wrong, so a model that gives every class the same score gets 0.0.
    """
    correct = (_label_ranks(scores, labels) == 1).float()
    classes = labels.unique()
    return float(torch.stack([correct[labels == c].mean() for c in classes]).mean())


@dataclass(frozen=True)
class Episode:
    classes: list[int]        # the episode's classes (N-way)
    support: list[int]        # item indices, K per class, grouped by class in ``classes`` order
    query: list[int]          # item indices, disjoint from support


def sample_episodes(labels: list[int], k_shot: int, n_query: int, n_episodes: int, seed: int,
                    n_way: int | None = None) -> list[Episode]:
    """Few-shot episodes drawn with ``random.Random(seed)``: per class K support items and up
    to ``n_query`` query items, disjoint. Classes with fewer than K+1 items are left out (an
    episode needs a query for each class); ``n_way`` picks that many of the rest per episode.
    """
    by_class: dict[int, list[int]] = {}
    for i, c in enumerate(labels):
        by_class.setdefault(c, []).append(i)
    usable = sorted(c for c, items in by_class.items() if len(items) > k_shot)
    if len(usable) < 2:
        raise ValueError(f"{k_shot}-shot episodes need at least 2 classes with more than {k_shot} items; "
                         f"{len(usable)} have")
    rng = random.Random(seed)
    episodes = []
    for _ in range(n_episodes):
        classes = sorted(rng.sample(usable, n_way)) if n_way and n_way < len(usable) else usable
        support, query = [], []
        for c in classes:
            items = rng.sample(by_class[c], len(by_class[c]))
            support += items[:k_shot]
            query += items[k_shot:k_shot + n_query]
        episodes.append(Episode(classes, support, query))
    return episodes
