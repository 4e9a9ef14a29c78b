"""Kronecker masks (CLAVER, Yang et al., Sec. 3.1-3.2, Fig. 2-3): which token may attend to which.

A clip is T frames of L tokens each, flattened frame-major: token ``t * L + l`` is token l
of frame t. Every mask here is ``[T*L, T*L]``, rows = queries, columns = keys, **True
where attention is blocked**, and is a Kronecker product of a frame-level pattern
(``[T, T]``) and a token-level one (``[L, L]``), with I the identity, J all ones and
(x) the Kronecker product:

=========  ===============================================  ==================================
kind       blocked                                          keys a query sees
=========  ===============================================  ==================================
kmt        I_T (x) (J_L - I_L)                              (T-1)*L + 1: itself and every token
                                                            of every *other* frame
kmct       I_T (x) (J_L - I_L) + triu(J_T, 1) (x) J_L       1 + t*L for a query of frame t:
                                                            itself and every token of earlier
                                                            frames (causal)
joint      nothing                                          T*L
spatial    (J_T - I_T) (x) J_L                              L: the tokens of its own frame
temporal   J_T (x) J_L - J_T (x) I_L                        T: the same token position in
                                                            every frame
=========  ===============================================  ==================================

KMT is the paper's Kronecker mask temporal attention, KMCT its causal variant; the other
three are the classic attentions written as masks of the same module (the paper's Fig. 2).
``scaled_dot_product_attention`` wants the opposite convention (True = may attend), so the
attention layer passes ``~mask``.
"""

from __future__ import annotations

import functools

import torch

MASK_KINDS: tuple[str, ...] = ("kmt", "kmct", "joint", "spatial", "temporal")


def _eye(n: int) -> torch.Tensor:
    return torch.eye(n, dtype=torch.int64)


def _ones(n: int) -> torch.Tensor:
    return torch.ones(n, n, dtype=torch.int64)


@functools.lru_cache(maxsize=64)
def _cached(kind: str, num_frames: int, tokens_per_frame: int) -> torch.Tensor:
    t, l = num_frames, tokens_per_frame
    if kind == "kmt":
        blocked = torch.kron(_eye(t), _ones(l) - _eye(l))
    elif kind == "kmct":
        blocked = torch.kron(_eye(t), _ones(l) - _eye(l)) + torch.kron(torch.triu(_ones(t), diagonal=1), _ones(l))
    elif kind == "joint":
        blocked = torch.zeros(t * l, t * l, dtype=torch.int64)
    elif kind == "spatial":
        blocked = torch.kron(_ones(t) - _eye(t), _ones(l))
    elif kind == "temporal":
        blocked = torch.kron(_ones(t), _ones(l)) - torch.kron(_ones(t), _eye(l))
    else:
        raise ValueError(f"unknown mask kind {kind!r}; kinds: {', '.join(MASK_KINDS)}")
    return blocked.bool()


def kronecker_mask(kind: str, num_frames: int, tokens_per_frame: int) -> torch.Tensor:
    """``[T*L, T*L]`` bool, True where query (row) may not attend to key (column); cached per shape.

    The cached tensor is shared: callers must not modify it in place (a clone is cheap).
    """
    if num_frames < 1 or tokens_per_frame < 1:
        raise ValueError(f"a mask needs at least one frame and one token per frame, got T={num_frames}, "
                         f"L={tokens_per_frame}")
    return _cached(kind, int(num_frames), int(tokens_per_frame))


def attended_keys(mask: torch.Tensor) -> torch.Tensor:
    """Keys each query sees, ``[T*L]`` (a row of a mask that blocks everything would be an error)."""
    return (~mask).sum(dim=1)
