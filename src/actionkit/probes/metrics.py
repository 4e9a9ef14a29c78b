"""ActionBench probe scoring: pairwise comparisons, accuracy and Wilson intervals.

Each ActionBench probe compares two cosine similarities per clip:

* Action Antonym:      sim(v, caption) vs sim(v, antonym caption)
* Video Reversal:      sim(v, caption) vs sim(reversed v, caption)
* Object Replacement:  sim(v, caption) vs sim(v, caption with object swapped)

A clip scores 1.0 when the positive similarity wins, 0.0 when it loses and
0.5 on a tie (within ``tie_tol``). Chance is 0.5.

Ties are deterministic (a frozen backbone that mean-pools frames ties every Video
Reversal clip), so only the n_d decided clips, s of them wins, are treated as Bernoulli
draws: the 95% interval is (n_d * wilson(s, n_d) + 0.5 * n_t) / n per bound, around the
accuracy (s + 0.5 * n_t) / n. All ties give the point [0.5, 0.5]; no ties, plain Wilson.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import torch

logger = logging.getLogger(__name__)

PROBES: tuple[str, str, str] = ("action_antonym", "video_reversal", "object_replacement")


def pairwise_scores(
    positive: torch.Tensor, negative: torch.Tensor, tie_tol: float = 1e-6
) -> torch.Tensor:
    """Score paired similarities.

    positive, negative: [N] similarities. Returns float32 [N]: 1.0 where
    positive > negative + tie_tol, 0.0 where positive < negative - tie_tol,
    0.5 otherwise (ties).
    """
    if positive.shape != negative.shape:
        raise ValueError(
            f"shape mismatch: positive {tuple(positive.shape)} vs negative {tuple(negative.shape)}"
        )
    if not tie_tol >= 0:
        raise ValueError(f"tie_tol must be >= 0, got {tie_tol}")
    diff = positive.detach().double() - negative.detach().double()
    scores = torch.full(diff.shape, 0.5, dtype=torch.float32, device=diff.device)
    scores[diff > tie_tol] = 1.0
    scores[diff < -tie_tol] = 0.0
    return scores


def wilson_interval(successes: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a proportion (default 95%).

    successes may be fractional (ties count 0.5). n == 0 gives (0.0, 1.0).
    Bounds are clamped to [0, 1].
    """
    if n <= 0:
        return (0.0, 1.0)
    p = float(successes) / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(max(p * (1.0 - p) / n + z2 / (4.0 * n * n), 0.0)) / denom
    lo = 0.0 if p <= 0.0 else max(0.0, centre - half)
    hi = 1.0 if p >= 1.0 else min(1.0, centre + half)
    return (lo, hi)


def _accuracy_block(scores: torch.Tensor) -> tuple[float, tuple[float, float], int]:
    """Accuracy, ci95 and n for a flat [N] tensor of 1.0 / 0.5 / 0.0 scores.

    Ties (0.5) are fixed, not drawn: the Wilson interval covers only the decided clips and
    is mixed with the ties' 0.5 by weight (see the module docstring).
    """
    n = int(scores.numel())
    if n == 0:
        return 0.0, wilson_interval(0.0, 0), 0
    ties = scores == 0.5
    wins = scores == 1.0
    if not bool((ties | wins | (scores == 0.0)).all()):
        raise ValueError("probe scores must be 1.0 (win), 0.5 (tie) or 0.0 (loss)")
    n_t = int(ties.sum().item())
    n_d = n - n_t
    s = int(wins.sum().item())
    lo, hi = wilson_interval(s, n_d) if n_d else (0.5, 0.5)
    w_d, w_t = n_d / n, n_t / n
    return (s + 0.5 * n_t) / n, (w_d * lo + 0.5 * w_t, w_d * hi + 0.5 * w_t), n


@dataclass
class ProbeResult:
    """Accuracy of one probe, overall and per verb."""

    accuracy: float
    ci95: tuple[float, float]
    n: int
    per_verb: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: lists not tuples, plain floats, verbs sorted."""
        per_verb = {
            verb: {
                "accuracy": float(entry["accuracy"]),
                "ci95": [float(entry["ci95"][0]), float(entry["ci95"][1])],
                "n": int(entry["n"]),
            }
            for verb, entry in sorted(self.per_verb.items())
        }
        return {
            "accuracy": float(self.accuracy),
            "ci95": [float(self.ci95[0]), float(self.ci95[1])],
            "n": int(self.n),
            "per_verb": per_verb,
        }


def summarise(scores: torch.Tensor, verbs: list[str]) -> ProbeResult:
    """Summarise [N] pairwise scores with their [N] verb labels."""
    flat = scores.detach().reshape(-1).cpu()
    if len(verbs) != flat.numel():
        raise ValueError(f"got {flat.numel()} scores but {len(verbs)} verbs")
    accuracy, ci95, n = _accuracy_block(flat)
    groups: dict[str, list[int]] = {}
    for i, verb in enumerate(verbs):
        groups.setdefault(verb, []).append(i)
    per_verb: dict[str, dict[str, Any]] = {}
    for verb in sorted(groups):
        v_acc, v_ci, v_n = _accuracy_block(flat[torch.tensor(groups[verb], dtype=torch.long)])
        per_verb[verb] = {"accuracy": v_acc, "ci95": [v_ci[0], v_ci[1]], "n": v_n}
    logger.debug("summarised %d scores over %d verbs: accuracy %.4f", n, len(per_verb), accuracy)
    return ProbeResult(accuracy=accuracy, ci95=ci95, n=n, per_verb=per_verb)


def probe_scores(
    sim_caption: torch.Tensor,
    sim_antonym: torch.Tensor,
    sim_reversed: torch.Tensor,
    sim_object_replaced: torch.Tensor,
    tie_tol: float = 1e-6,
) -> dict[str, torch.Tensor]:
    """Per-clip scores for the three ActionBench probes.

    All inputs [N]: sim(v, c), sim(v, antonym c), sim(rev(v), c),
    sim(v, object-replaced c). Returns {probe: float [N]} keyed by PROBES.
    """
    return {
        "action_antonym": pairwise_scores(sim_caption, sim_antonym, tie_tol),
        "video_reversal": pairwise_scores(sim_caption, sim_reversed, tie_tol),
        "object_replacement": pairwise_scores(sim_caption, sim_object_replaced, tie_tol),
    }
