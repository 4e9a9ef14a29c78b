"""Tests for actionkit.probes.metrics (hand-computed expectations)."""

from __future__ import annotations

import json

import pytest
import torch

from actionkit.probes.metrics import (
    PROBES,
    ProbeResult,
    pairwise_scores,
    probe_scores,
    summarise,
    wilson_interval,
)


def test_pairwise_scores_wins_losses_ties() -> None:
    pos = torch.tensor([0.9, 0.1, 0.3, 0.3, 0.3, 0.3])
    neg = torch.tensor([0.2, 0.8, 0.3, 0.3 + 5e-7, 0.3 - 5e-7, 0.3 + 1e-3])
    out = pairwise_scores(pos, neg)
    assert out.dtype == torch.float32
    assert out.tolist() == [1.0, 0.0, 0.5, 0.5, 0.5, 0.0]


def test_pairwise_scores_zero_tolerance_and_float_noise() -> None:
    pos = torch.tensor([0.5, 0.5], dtype=torch.float64)
    neg = torch.tensor([0.5, 0.5 - 1e-9], dtype=torch.float64)
    assert pairwise_scores(pos, neg, tie_tol=0.0).tolist() == [0.5, 1.0]
    # 1e-9 difference is within the default tolerance -> tie
    assert pairwise_scores(pos, neg).tolist() == [0.5, 0.5]


def test_pairwise_scores_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        pairwise_scores(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError):
        pairwise_scores(torch.zeros(2), torch.zeros(2), tie_tol=-1.0)


def test_wilson_interval_hand_computed() -> None:
    # p=0.8, n=10, z^2=3.84146: centre=(0.8+0.19207)/1.38415=0.71680,
    # half=1.95996*sqrt(0.016+0.0096037)/1.38415=0.22664
    lo, hi = wilson_interval(8, 10)
    assert round(lo, 3) == 0.490
    assert round(hi, 3) == 0.943
    assert lo == pytest.approx(0.49016, abs=1e-4)
    assert hi == pytest.approx(0.94332, abs=1e-4)


def test_wilson_interval_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0
    assert lo == pytest.approx(0.72247, abs=1e-4)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0
    assert hi == pytest.approx(1 - 0.72247, abs=1e-4)
    # fractional successes (ties) are allowed and stay symmetric around 0.5
    lo, hi = wilson_interval(2.5, 5)
    assert lo == pytest.approx(1.0 - hi)


def test_summarise_unbalanced_verbs_with_ties() -> None:
    scores = torch.tensor([1.0, 0.5, 0.0, 1.0, 0.5])
    verbs = ["open", "open", "open", "close", "push"]
    res = summarise(scores, verbs)
    assert isinstance(res, ProbeResult)
    assert res.n == 5
    assert res.accuracy == pytest.approx(3.0 / 5)
    assert res.ci95 == pytest.approx(wilson_interval(3.0, 5))
    assert res.per_verb["open"]["accuracy"] == pytest.approx(0.5)
    assert res.per_verb["open"]["n"] == 3
    assert res.per_verb["close"]["accuracy"] == 1.0
    assert res.per_verb["push"]["accuracy"] == 0.5

    d = res.to_dict()
    assert set(d) == {"accuracy", "ci95", "n", "per_verb"}
    assert list(d["per_verb"]) == ["close", "open", "push"]
    assert isinstance(d["ci95"], list) and len(d["ci95"]) == 2
    for entry in d["per_verb"].values():
        assert set(entry) == {"accuracy", "ci95", "n"}
        assert isinstance(entry["ci95"], list)
        assert type(entry["accuracy"]) is float and type(entry["n"]) is int
    assert type(d["accuracy"]) is float
    assert json.loads(json.dumps(d)) == d


def test_summarise_empty() -> None:
    res = summarise(torch.zeros(0), [])
    assert (res.accuracy, res.n, res.ci95, res.per_verb) == (0.0, 0, (0.0, 1.0), {})


def test_summarise_length_mismatch_raises() -> None:
    with pytest.raises(ValueError):
        summarise(torch.ones(2), ["a"])


def test_probe_scores_exact_reversal_tie_gives_half() -> None:
    cap = torch.tensor([0.30, 0.25, 0.40, 0.10])
    ant = torch.tensor([0.20, 0.35, 0.40, 0.05])
    rev = cap.clone()  # mean pooling over frames: reversal is invisible
    obj = torch.tensor([0.10, 0.10, 0.50, 0.20])
    out = probe_scores(cap, ant, rev, obj)
    assert tuple(out) == PROBES
    assert out["action_antonym"].tolist() == [1.0, 0.0, 0.5, 1.0]
    assert out["video_reversal"].tolist() == [0.5] * 4
    assert out["object_replacement"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert summarise(out["video_reversal"], ["a", "b", "a", "c"]).accuracy == 0.5
