"""What the losses need from ``torch.distributed``, and nothing when running as one process."""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank along dim 0 (rank order); gradients flow back to each rank.

    One process (or no process group): ``x`` itself.
    """
    if not is_distributed():
        return x
    if not x.requires_grad:
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x.contiguous()))


def rank_offset(local_batch: int) -> int:
    """Index of this rank's first item in a gathered batch (equal local batches)."""
    return dist.get_rank() * local_batch if is_distributed() else 0
