"""How a model scores a clip against a text: two implementations, chosen by the model.

A model's clip representation is either one embedding per clip (``[N, D]``, image and video
backbones, the Knowledge Fuser) or a set of K embeddings per clip (``[N, K, D]``, PAXION's
Knowledge Patcher latents). Each kind has its own scoring, written once here; a model says
which it uses by mixing in ``CosineScoring`` or ``MaxOverSetScoring``, and every probe, task
and loss asks the model (``model.similarity``), never the tensor's rank.

Texts are always ``[Nt, D]`` L2-normalised embeddings; clip embeddings are L2-normalised too,
so a dot product is a cosine.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cosine_similarity(video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """``video [Nv, D]``, ``text [Nt, D]`` -> cosines ``[Nv, Nt]``."""
    return video @ text.t()


def paired_cosine_similarity(video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """``video [N, D]``, ``text [N, D]`` -> cosine of clip i with text i, ``[N]``."""
    return (video * text).sum(-1)


def max_over_set_similarity(video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """``video [Nv, K, D]``, ``text [Nt, D]`` -> ``[Nv, Nt]``: the best of the K members (PAXION)."""
    return torch.einsum("nkd,td->nkt", video, text).amax(dim=1)


def paired_max_over_set_similarity(video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """``video [N, K, D]``, ``text [N, D]`` -> ``[N]``: the best member of set i for text i."""
    return torch.einsum("nkd,nd->nk", video, text).amax(dim=1)


class CosineScoring:
    """One embedding per clip ``[N, D]``: similarity is the cosine."""

    def similarity(self, video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """``[Nv, D]`` x ``[Nt, D]`` -> ``[Nv, Nt]``."""
        return cosine_similarity(video, text)

    def paired_similarity(self, video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """``[N, D]`` x ``[N, D]`` -> ``[N]``."""
        return paired_cosine_similarity(video, text)

    def clip_vector(self, video: torch.Tensor) -> torch.Tensor:
        """The one vector per clip a linear probe reads: the embedding, L2-normalised, ``[N, D]``."""
        return F.normalize(video, dim=-1)


class MaxOverSetScoring:
    """A set of K embeddings per clip ``[N, K, D]``: similarity is the maximum over the set."""

    def similarity(self, video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """``[Nv, K, D]`` x ``[Nt, D]`` -> ``[Nv, Nt]``."""
        return max_over_set_similarity(video, text)

    def paired_similarity(self, video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """``[N, K, D]`` x ``[N, D]`` -> ``[N]``."""
        return paired_max_over_set_similarity(video, text)

    def clip_vector(self, video: torch.Tensor) -> torch.Tensor:
        """The normalised mean of the set, ``[N, D]``, for linear probes."""
        return F.normalize(video.mean(dim=1), dim=-1)
