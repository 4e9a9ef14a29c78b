"""DVDM losses against values worked out by hand (log-softmax written out with math)."""

import math

import torch

from actionkit.methods.paxion.losses import atm_loss, vac_loss, vtc_loss
from actionkit.methods.paxion.patcher import KnowledgePatcher, PatcherConfig
from actionkit.scoring import (cosine_similarity, max_over_set_similarity, paired_cosine_similarity,
                               paired_max_over_set_similarity)

COS = dict(similarity=cosine_similarity)
SETS = dict(similarity=max_over_set_similarity)

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
    assert math.isclose(vtc_loss(video, text, torch.tensor(s), **COS).item(), (v2t + t2v) / 2, rel_tol=1e-5)


def test_similarity_of_a_latent_set_is_the_max_over_latents():
    video = torch.tensor([[[1.0, 0.0], [0.6, 0.8]],      # clip 0: two latents
                          [[0.0, 1.0], [-1.0, 0.0]]])    # clip 1
    text = torch.tensor([[0.6, 0.8], [0.0, 1.0]])
    expected = torch.tensor([[1.0, 0.8], [0.8, 1.0]])    # max(0.6, 1.0), max(0, 0.8); max(0.8, -0.6), max(1, 0)
    assert torch.allclose(max_over_set_similarity(video, text), expected)
    v2t = (ce([1.0, 0.8], [1, 0]) + ce([0.8, 1.0], [0, 1])) / 2
    assert math.isclose(vtc_loss(video, text, torch.tensor(1.0), **SETS).item(), v2t, rel_tol=1e-5)  # symmetric matrix


def test_vac_adds_the_antonyms_as_negatives():
    video = torch.eye(2)
    text = torch.eye(2)
    antonym = torch.tensor([[0.8, 0.6], [0.6, 0.8]])
    s = 3.0
    expected = (ce([3.0, 0.0, 2.4, 1.8], [1, 0, 0, 0]) + ce([0.0, 3.0, 1.8, 2.4], [0, 1, 0, 0])) / 2
    assert math.isclose(vac_loss(video, text, antonym, torch.tensor(s), **COS).item(), expected, rel_tol=1e-5)
    # A hard antonym costs more than an easy one.
    easy = vac_loss(video, text, -antonym, torch.tensor(s), **COS)
    assert easy < vac_loss(video, text, antonym, torch.tensor(s), **COS)


def test_vac_counts_another_clips_antonym_that_equals_my_caption_as_positive():
    video, text = torch.eye(2), torch.eye(2)
    antonym = torch.tensor([[0.0, 1.0], [1.0, 0.0]])      # clip 1's antonym caption is clip 0's caption
    ids, antonym_ids = torch.tensor([0, 1]), torch.tensor([1, 0])
    expected = (ce([1.0, 0.0, 0.0, 1.0], [0.5, 0, 0, 0.5]) + ce([0.0, 1.0, 1.0, 0.0], [0, 0.5, 0.5, 0])) / 2
    got = vac_loss(video, text, antonym, torch.tensor(1.0), **COS, caption_ids=ids, antonym_ids=antonym_ids)
    assert math.isclose(got.item(), expected, rel_tol=1e-5)


def test_atm_prefers_the_original_order():
    text = torch.tensor([[1.0, 0.0]])
    candidates = torch.tensor([[[1.0, 0.0], [0.6, 0.8]]])            # [B=1, C=2 (original, reversed), D]
    s = 5.0
    assert math.isclose(atm_loss(candidates, text, torch.tensor(s), paired_similarity=paired_cosine_similarity).item(), ce([5.0, 3.0], [1, 0]), rel_tol=1e-5)
    with_shuffle = torch.tensor([[[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]])
    assert math.isclose(atm_loss(with_shuffle, text, torch.tensor(s), paired_similarity=paired_cosine_similarity).item(), ce([5.0, 3.0, 0.0], [1, 0, 0]),
                        rel_tol=1e-5)
    # latent sets [B, C, K, D]: max over latents first
    sets = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]], [[0.6, 0.8], [0.0, -1.0]]]])
    assert math.isclose(atm_loss(sets, text, torch.tensor(s), paired_similarity=paired_max_over_set_similarity).item(), ce([5.0, 3.0], [1, 0]), rel_tol=1e-5)


def test_atm_weights_leave_clips_out_over_the_whole_batch():
    text = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    candidates = torch.tensor([[[1.0, 0.0], [0.6, 0.8]], [[0.0, 1.0], [1.0, 0.0]]])
    s = torch.tensor(5.0)
    both = atm_loss(candidates, text, s, paired_similarity=paired_cosine_similarity)
    first = atm_loss(candidates, text, s, paired_similarity=paired_cosine_similarity, weights=torch.tensor([1.0, 0.0]))
    assert math.isclose(first.item(), ce([5.0, 3.0], [1, 0]) / 2, rel_tol=1e-5)        # clip 1 takes no part
    assert math.isclose(both.item(), (ce([5.0, 3.0], [1, 0]) + ce([0.0, 5.0], [1, 0])) / 2, rel_tol=1e-5)


def test_vac_inside_vtc_adds_the_antonyms_to_the_video_to_text_side_only():
    """The authors' VAC: antonym captions join VTC's video->text pool; text->video is unchanged."""
    video, text = torch.eye(2), torch.eye(2)
    antonym = torch.tensor([[0.8, 0.6], [0.6, 0.8]])
    ids, antonym_ids = torch.tensor([0, 1]), torch.tensor([2, 3])
    s = 3.0
    v2t = (ce([3.0, 0.0, 2.4, 1.8], [1, 0, 0, 0]) + ce([0.0, 3.0, 1.8, 2.4], [0, 1, 0, 0])) / 2
    t2v = (ce([3.0, 0.0], [1, 0]) + ce([0.0, 3.0], [0, 1])) / 2
    got = vtc_loss(video, text, torch.tensor(s), **COS, caption_ids=ids, antonym_text=antonym, antonym_ids=antonym_ids)
    assert math.isclose(got.item(), (v2t + t2v) / 2, rel_tol=1e-5)
    plain = vtc_loss(video, text, torch.tensor(s), **COS, caption_ids=ids)
    assert got > plain                                           # hard negatives cost


def test_losses_are_differentiable_through_the_patcher_and_atm_sees_frame_order():
    """Gradients reach the patcher from every term; ATM compares the clip with its frames
    reversed (not its latents permuted, which a max over latents cannot tell apart)."""
    torch.manual_seed(0)
    patcher = KnowledgePatcher(PatcherConfig(num_latents=3, dim=8, heads=2, num_frames=4, num_patches=2,
                                             video_dim=6, embed_dim=8))
    frames = torch.randn(4, 4, 2, 6)                              # [B, T, P, Dv]
    text = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    video = patcher(frames)
    candidates = torch.stack([video, patcher(frames.flip(1))], 1)
    scale = torch.tensor(10.0)
    atm = atm_loss(candidates, text, scale, paired_similarity=paired_max_over_set_similarity)
    original = paired_max_over_set_similarity(video, text)
    reversed_ = paired_max_over_set_similarity(candidates[:, 1], text)
    assert (original - reversed_).abs().max() > 1e-4              # the reversed clip scores differently
    permuted = torch.stack([video, video.flip(1)], 1)             # latents permuted: the same set
    constant = atm_loss(permuted, text, scale, paired_similarity=paired_max_over_set_similarity, label_smoothing=0.0)
    assert math.isclose(constant.item(), math.log(2), rel_tol=1e-6)
    for term in (vtc_loss(video, text, scale, **SETS), vac_loss(video, text, text.flip(0), scale, **SETS), atm):
        patcher.zero_grad()
        term.backward(retain_graph=True)
        grads = [p.grad for p in patcher.parameters() if p.grad is not None]
        assert grads and sum(float(g.abs().sum()) for g in grads) > 0
