"""DVDM losses against values worked out by hand (log-softmax written out with math)."""

import math

import torch

from actionkit.backbones.protocol import similarity_matrix
from actionkit.methods.paxion.losses import atm_loss, vac_loss, vtc_loss

EPS = 0.1


def ce(logits: list[float], target: list[float], eps: float = EPS) -> float:
    """Cross-entropy with label smoothing: target' = (1 - eps) * target + eps / C."""
    log_z = math.log(sum(math.exp(x) for x in logits))
    c = len(logits)
    return -sum(((1 - eps) * t + eps / c) * (x - log_z) for x, t in zip(logits, target))


def test_vtc_is_the_mean_of_both_directions_with_label_smoothing():
    video = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    s = 2.0
    # sims: v0.t0 = 1, v0.t1 = 0, v1.t0 = 0.6, v1.t1 = 0.8
    v2t = (ce([2.0, 0.0], [1, 0]) + ce([1.2, 1.6], [0, 1])) / 2
    t2v = (ce([2.0, 1.2], [1, 0]) + ce([0.0, 1.6], [0, 1])) / 2
    assert math.isclose(vtc_loss(video, text, torch.tensor(s)).item(), (v2t + t2v) / 2, rel_tol=1e-5)


def test_similarity_of_a_latent_set_is_the_max_over_latents():
    video = torch.tensor([[[1.0, 0.0], [0.6, 0.8]],      # clip 0: two latents
                          [[0.0, 1.0], [-1.0, 0.0]]])    # clip 1
    text = torch.tensor([[0.6, 0.8], [0.0, 1.0]])
    expected = torch.tensor([[1.0, 0.8], [0.8, 1.0]])    # max(0.6, 1.0), max(0, 0.8); max(0.8, -0.6), max(1, 0)
    assert torch.allclose(similarity_matrix(video, text), expected)
    v2t = (ce([1.0, 0.8], [1, 0]) + ce([0.8, 1.0], [0, 1])) / 2
    assert math.isclose(vtc_loss(video, text, torch.tensor(1.0)).item(), v2t, rel_tol=1e-5)  # symmetric matrix


def test_vac_adds_the_antonyms_as_negatives():
    video = torch.eye(2)
    text = torch.eye(2)
    antonym = torch.tensor([[0.8, 0.6], [0.6, 0.8]])
    s = 3.0
    expected = (ce([3.0, 0.0, 2.4, 1.8], [1, 0, 0, 0]) + ce([0.0, 3.0, 1.8, 2.4], [0, 1, 0, 0])) / 2
    assert math.isclose(vac_loss(video, text, antonym, torch.tensor(s)).item(), expected, rel_tol=1e-5)
    # A hard antonym costs more than an easy one.
    easy = vac_loss(video, text, -antonym, torch.tensor(s))
    assert easy < vac_loss(video, text, antonym, torch.tensor(s))


def test_vac_counts_another_clips_antonym_that_equals_my_caption_as_positive():
    video, text = torch.eye(2), torch.eye(2)
    antonym = torch.tensor([[0.0, 1.0], [1.0, 0.0]])      # clip 1's antonym caption is clip 0's caption
    ids, antonym_ids = torch.tensor([0, 1]), torch.tensor([1, 0])
    expected = (ce([1.0, 0.0, 0.0, 1.0], [0.5, 0, 0, 0.5]) + ce([0.0, 1.0, 1.0, 0.0], [0, 0.5, 0.5, 0])) / 2
    got = vac_loss(video, text, antonym, torch.tensor(1.0), ids, antonym_ids)
    assert math.isclose(got.item(), expected, rel_tol=1e-5)


def test_atm_prefers_the_original_order():
    text = torch.tensor([[1.0, 0.0]])
    candidates = torch.tensor([[[1.0, 0.0], [0.6, 0.8]]])            # [B=1, C=2 (original, reversed), D]
    s = 5.0
    assert math.isclose(atm_loss(candidates, text, torch.tensor(s)).item(), ce([5.0, 3.0], [1, 0]), rel_tol=1e-5)
    with_shuffle = torch.tensor([[[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]])
    assert math.isclose(atm_loss(with_shuffle, text, torch.tensor(s)).item(), ce([5.0, 3.0, 0.0], [1, 0, 0]),
                        rel_tol=1e-5)
    # latent sets [B, C, K, D]: max over latents first
    sets = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]], [[0.6, 0.8], [0.0, -1.0]]]])
    assert math.isclose(atm_loss(sets, text, torch.tensor(s)).item(), ce([5.0, 3.0], [1, 0]), rel_tol=1e-5)


def test_losses_are_differentiable_through_the_latents():
    video = torch.nn.functional.normalize(torch.randn(4, 3, 8), dim=-1).requires_grad_()
    text = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    loss = vtc_loss(video, text, torch.tensor(10.0)) + vac_loss(video, text, text.flip(0), torch.tensor(10.0))
    loss = loss + atm_loss(torch.stack([video, video.flip(1)], 1), text, torch.tensor(10.0))
    loss.backward()
    assert video.grad is not None and video.grad.abs().sum() > 0
