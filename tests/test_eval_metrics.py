"""Downstream metrics against hand-computed examples."""

import pytest
import torch

from actionkit.eval.metrics import (mean_class_accuracy, positive_ranks, rank_metrics, sample_episodes,
                                    topk_accuracy)


def test_ranks_with_ties_are_pessimistic():
    scores = torch.tensor([[0.9, 0.5, 0.1],     # positive 0 is best            -> rank 1
                           [0.5, 0.5, 0.1],     # positive 1 ties with 0        -> rank 2
                           [0.3, 0.3, 0.3],     # all equal, positive 2         -> rank 3
                           [0.2, 0.8, 0.8]])    # positives 1 and 2 (best 0.8)  -> rank 1
    positives = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 1]], dtype=torch.bool)
    assert positive_ranks(scores, positives).tolist() == [1, 2, 3, 1]
    with pytest.raises(ValueError, match="at least one positive"):
        positive_ranks(scores, torch.zeros_like(positives))


def test_recall_at_k_median_and_mean_rank_on_a_small_matrix():
    # 4 videos x 4 texts, text i is video i's caption
    sim = torch.tensor([[0.9, 0.1, 0.2, 0.3],    # rank 1
                        [0.8, 0.7, 0.1, 0.0],    # rank 2
                        [0.5, 0.6, 0.4, 0.1],    # rank 3
                        [0.9, 0.8, 0.7, 0.1]])   # rank 4
    ranks = positive_ranks(sim, torch.eye(4, dtype=torch.bool))
    assert ranks.tolist() == [1, 2, 3, 4]
    m = rank_metrics(ranks, ks=(1, 2, 5))
    assert m == {"R@1": 0.25, "R@2": 0.5, "R@5": 1.0, "MdR": 2.5, "MnR": 2.5}
    assert rank_metrics(torch.tensor([1, 3, 7]))["MdR"] == 3.0


def test_topk_and_mean_class_accuracy_with_unbalanced_classes():
    scores = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.5, 0.4, 0.1]])
    labels = torch.tensor([0, 0, 0, 0, 2])
    assert topk_accuracy(scores, labels, 1) == pytest.approx(0.4)       # rows 0 and 2 right
    assert topk_accuracy(scores, labels, 2) == pytest.approx(0.6)       # + row 1 (label second); rows 3, 4 third
    # argmax [0, 1, 0, 2, 0]; class 0: 2 of 4 right; class 2: 0 of 1 -> mean 0.25 (plain accuracy would be 0.4)
    assert mean_class_accuracy(scores, labels) == pytest.approx(0.25)


def test_mean_class_accuracy_breaks_ties_against_the_model():
    labels = torch.tensor([0, 0, 0, 1, 1, 2])
    # every class tied: argmax (index 0) would get class 0 right, mean 1/3; pessimistic ranks get nothing
    tied = torch.zeros(6, 3)
    argmax = tied.argmax(dim=1)
    assert float(torch.stack([(argmax[labels == c] == c).float().mean() for c in range(3)]).mean()) > 0
    assert mean_class_accuracy(tied, labels) == 0.0
    assert mean_class_accuracy(torch.nn.functional.one_hot(labels, 3).float(), labels) == 1.0
    scores = torch.tensor([[0.8, 0.1, 0.1],      # label 0, best           -> right
                           [0.5, 0.5, 0.0],      # label 0, tied with 1    -> wrong (argmax would say right)
                           [0.2, 0.6, 0.2],      # label 0, second         -> wrong
                           [0.1, 0.9, 0.0],      # label 1, best           -> right
                           [0.3, 0.3, 0.3],      # label 1, all tied       -> wrong
                           [0.0, 0.1, 0.9]])     # label 2, best           -> right
    # class 0: 1 of 3, class 1: 1 of 2, class 2: 1 of 1 -> (1/3 + 1/2 + 1) / 3 = 11/18
    assert mean_class_accuracy(scores, labels) == pytest.approx(11 / 18)
    assert topk_accuracy(scores, labels, 1) == pytest.approx(3 / 6)   # the same pessimistic top-1 rows
    with pytest.raises(ValueError, match=r"scores \[N, C\]"):
        mean_class_accuracy(scores.argmax(dim=1), labels)            # argmax predictions are refused


def test_episodes_are_reproducible_and_disjoint():
    labels = [0] * 6 + [1] * 6 + [2] * 3 + [3] * 2
    a = sample_episodes(labels, k_shot=2, n_query=3, n_episodes=4, seed=7)
    assert a == sample_episodes(labels, k_shot=2, n_query=3, n_episodes=4, seed=7)
    assert a != sample_episodes(labels, k_shot=2, n_query=3, n_episodes=4, seed=8)
    for ep in a:
        assert ep.classes == [0, 1, 2]                  # class 3 has too few items for a 2-shot query
        assert not set(ep.support) & set(ep.query)
        assert [labels[i] for i in ep.support] == [0, 0, 1, 1, 2, 2]
        assert sorted({labels[i] for i in ep.query}) == [0, 1, 2] and len(ep.query) == 3 + 3 + 1
    assert all(len(ep.classes) == 2 for ep in sample_episodes(labels, 2, 1, 3, seed=0, n_way=2))
    with pytest.raises(ValueError, match="at least 2 classes"):
        sample_episodes([0, 0, 1], k_shot=2, n_query=1, n_episodes=1, seed=0)
