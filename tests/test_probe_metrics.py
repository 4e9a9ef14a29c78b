"""Tests for actionkit.probes.metrics (hand-computed expectations)."""

from __future__ import annotations

import json
import math

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
    # 2 ties, 3 decided (2 wins): (3 * wilson(2, 3) + 0.5 * 2) / 5, not wilson(3.0, 5)
    lo, hi = wilson_interval(2, 3)
    assert res.ci95 == pytest.approx(((3 * lo + 1.0) / 5, (3 * hi + 1.0) / 5))
    assert res.per_verb["open"]["accuracy"] == pytest.approx(0.5)
    assert res.per_verb["open"]["n"] == 3
    assert res.per_verb["close"]["accuracy"] == 1.0
    assert res.per_verb["push"]["accuracy"] == 0.5
    lo, hi = wilson_interval(1, 2)                                   # open: 1 tie, 1 win of 2 decided
    assert res.per_verb["open"]["ci95"] == pytest.approx([(2 * lo + 0.5) / 3, (2 * hi + 0.5) / 3])
    assert res.per_verb["close"]["ci95"] == pytest.approx(list(wilson_interval(1, 1)))   # no ties
    assert res.per_verb["push"]["ci95"] == [0.5, 0.5]                 # only a tie: the point

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


def test_summarise_all_ties_interval_is_the_point() -> None:
    res = summarise(torch.full((40,), 0.5), ["a"] * 30 + ["b"] * 10)
    assert res.accuracy == 0.5
    assert res.ci95 == (0.5, 0.5)                       # the old all-Bernoulli interval was ~[0.35, 0.65]
    assert all(entry["ci95"] == [0.5, 0.5] for entry in res.per_verb.values())


def test_summarise_no_ties_interval_is_plain_wilson() -> None:
    res = summarise(torch.tensor([1.0, 1.0, 0.0, 1.0]), ["a", "b", "a", "a"])
    assert res.accuracy == 0.75
    assert res.ci95 == wilson_interval(3, 4)
    assert res.per_verb["a"]["ci95"] == list(wilson_interval(2, 3))
    assert res.per_verb["b"]["ci95"] == list(wilson_interval(1, 1))


def test_summarise_mixed_ties_interval_hand_computed() -> None:
    # n=5: 2 wins, 1 loss, 2 ties -> n_d=3, s=2, n_t=2; accuracy (2 + 0.5*2)/5 = 0.6
    # wilson(2, 3): p=2/3, z^2=3.84146, denom=1+z^2/3=2.28049,
    # centre=(0.66667+0.64024)/2.28049=0.57308, half=1.95996*sqrt(0.07407+0.10671)/2.28049=0.36542
    # -> [0.20766, 0.93851]; interval = (3*[0.20766, 0.93851] + 1)/5 = [0.32460, 0.76310]
    z = 1.959964
    p, n_d = 2 / 3, 3
    denom = 1 + z * z / n_d
    centre = (p + z * z / (2 * n_d)) / denom
    half = z * math.sqrt(p * (1 - p) / n_d + z * z / (4 * n_d * n_d)) / denom
    expected = ((3 * (centre - half) + 1) / 5, (3 * (centre + half) + 1) / 5)
    res = summarise(torch.tensor([1.0, 0.5, 0.0, 0.5, 1.0]), ["x"] * 5)
    assert res.accuracy == pytest.approx(0.6)
    assert res.ci95 == pytest.approx(expected)
    assert res.ci95 == pytest.approx((0.32460, 0.76310), abs=1e-4)
    assert res.per_verb["x"]["ci95"] == pytest.approx(list(expected))
    # narrower than treating the ties as draws (the old interval)
    old_lo, old_hi = wilson_interval(3.0, 5)
    assert old_lo < res.ci95[0] and res.ci95[1] < old_hi


def test_summarise_rejects_scores_that_are_not_win_tie_loss() -> None:
    with pytest.raises(ValueError, match="1.0 .*0.5 .*0.0"):
        summarise(torch.tensor([1.0, 0.25]), ["a", "a"])


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
    reversal = summarise(out["video_reversal"], ["a", "b", "a", "c"])
    assert reversal.accuracy == 0.5
    assert reversal.ci95 == (0.5, 0.5)                  # deterministic ties: no sampling interval
