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


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) without a process group."""
    if not is_distributed():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def init_from_env(device: str = "cpu") -> str:
    """Join the process group ``torchrun`` describes in the environment (WORLD_SIZE > 1), if any.

    Backend: NCCL for CUDA devices, gloo otherwise. Returns the device this rank should use
    (``cuda:LOCAL_RANK`` when ``device`` is "cuda"); without torchrun, ``device`` unchanged.
    """
    import os

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or (dist.is_available() and dist.is_initialized()):
        return device
    cuda = device.startswith("cuda")
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return f"cuda:{local}"
    return device
