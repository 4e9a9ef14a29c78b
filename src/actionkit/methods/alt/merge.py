"""ALT's region tokens: bipartite soft matching ("token merging", ToMe, Bolya et al. 2023) on a
frame's cached patch tokens.

One round (``bipartite_soft_matching``), on tokens ``x [N, M, C]`` with sizes ``[N, M]``:

1. split the tokens alternately into sets A (even positions) and B (odd positions);
2. each A token finds its most similar B token (cosine of the tokens themselves: on cached
   final-layer tokens there are no attention keys, the spec's [open] choice);
3. the ``r`` A tokens with the highest best-match similarity are merged into their partners
   by a size-weighted average, and the sizes add up (several A tokens may merge into one B);
4. the first token (a summary token) is never merged when ``protect_first``; ``r`` is capped
   at the number of mergeable A tokens, i.e. half the mergeable tokens;
5. the remaining tokens keep their original order (ToMe concatenates the unmerged A tokens
   before B; keeping the order keeps "token i is at the top-left" readable).

``merge_regions`` runs several rounds and composes where every input token ended up
(``owner [N, M]``), so any other per-token feature (another projection of the tokens, their
grid positions) can be pooled into the same regions (``pool``) exactly as the tokens were.
ToMe merges inside the encoder's blocks and adds log(size) to the attention logits
("proportional attention"); here the encoder is frozen and cached, so the merge runs after
it, and the adapter reads the sizes instead (``method.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Regions:
    tokens: torch.Tensor   # [N, R, C] size-weighted mean of the input tokens of each region
    sizes: torch.Tensor    # [N, R] input tokens per region (float; they sum to M)
    owner: torch.Tensor    # [N, M] long: the region each input token ended up in


def merge_count(num_tokens: int, r: int, protect_first: bool = True) -> int:
    """How many tokens one round merges away: ``r`` capped at half the mergeable tokens (as ToMe)."""
    return max(0, min(r, (num_tokens - (1 if protect_first else 0)) // 2))


def bipartite_soft_matching(x: torch.Tensor, size: torch.Tensor, r: int, protect_first: bool = True
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One round: ``x [N, M, C]``, ``size [N, M]`` -> (``x' [N, M-r', C]``, ``size' [N, M-r']``,
    ``where [N, M]``: the position in the output of each input token), with ``r' = merge_count``."""
    n, m, c = x.shape
    r = merge_count(m, r, protect_first)
    positions = torch.arange(m, device=x.device)
    if r == 0:
        return x, size, positions.expand(n, m).clone()
    a_pos, b_pos = positions[0::2], positions[1::2]                                # [Ma], [Mb]
    with torch.autocast(x.device.type, enabled=False):     # fp32 cosines, so bf16 autocast does not change merges
        xn = F.normalize(x.float(), dim=-1)
        scores = xn[:, a_pos] @ xn[:, b_pos].transpose(1, 2)                       # [N, Ma, Mb]
    if protect_first:
        scores[:, 0, :] = -torch.inf                                               # the summary token stays
    best, partner = scores.max(dim=-1)                                             # [N, Ma]
    order = torch.sort(best, dim=-1, descending=True, stable=True).indices         # [N, Ma]
    merged_a = order[:, :r]                                                        # [N, r] indices into A
    src = a_pos[merged_a]                                                          # [N, r] positions in x
    dst = b_pos[partner.gather(1, merged_a)]                                       # [N, r] positions in x

    # size-weighted sums: the merged A tokens are added into their B partners
    weighted = x.float() * size[..., None]
    sums = weighted.scatter_add(1, dst[..., None].expand(n, r, c), weighted.gather(1, src[..., None].expand(n, r, c)))
    sizes = size.float().scatter_add(1, dst, size.float().gather(1, src))
    keep = torch.ones(n, m, dtype=torch.bool, device=x.device)
    keep.scatter_(1, src, False)
    kept = positions.expand(n, m)[keep].view(n, m - r)                             # [N, M-r], in order
    new_sizes = sizes.gather(1, kept)
    new_x = (sums.gather(1, kept[..., None].expand(n, m - r, c)) / new_sizes[..., None]).to(x.dtype)

    # where each input token is now: kept tokens at their rank, merged ones at their partner's
    rank = keep.long().cumsum(dim=1) - 1                                           # [N, M]
    where = rank.clone()
    where.scatter_(1, src, rank.gather(1, dst))
    return new_x, new_sizes, where


def merge_regions(tokens: torch.Tensor, r: int, rounds: int, protect_first: bool = True) -> Regions:
    """``rounds`` rounds of ``r`` merges on ``tokens [N, M, C]`` (every size 1 at the start)."""
    n, m, _ = tokens.shape
    x, size = tokens, torch.ones(n, m, device=tokens.device)
    owner = torch.arange(m, device=tokens.device).expand(n, m).clone()
    for _ in range(rounds):
        x, size, where = bipartite_soft_matching(x, size, r, protect_first)
        owner = where.gather(1, owner)
    return Regions(x, size, owner)


def pool(features: torch.Tensor, regions: Regions) -> torch.Tensor:
    """Per-token ``features [N, M, F]`` averaged over the input tokens of each region -> ``[N, R, F]``."""
    n, m, f = features.shape
    num_regions = regions.sizes.shape[1]
    sums = features.new_zeros(n, num_regions, f).scatter_add(1, regions.owner[..., None].expand(n, m, f), features)
    return sums / regions.sizes[..., None].to(features.dtype)
