"""What the losses need from ``torch.distributed``, and nothing when running as one process."""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums every rank's gradient for this rank's slice (all_reduce).

    Written here because ``torch.distributed.nn.functional.all_gather`` (deprecated) scrambles
    non-contiguous gradients on gloo (measured: the text gradient of ``video @ text.t()``
    came back permuted), which the two-process test catches.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)
        size = grad.shape[0] // dist.get_world_size()
        return grad[dist.get_rank() * size:(dist.get_rank() + 1) * size]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank along dim 0 (rank order, equal sizes); gradients flow
    back to each rank. One process (or no process group): ``x`` itself.
    """
    if not is_distributed():
        return x
    return _GatherWithGrad.apply(x)       # without grad: just the forward all_gather


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


def average_gradients(params: list[torch.Tensor]) -> None:
    """Replace each gradient by its mean over ranks (what DDP does); nothing for one process."""
    if not is_distributed():
        return
    world = dist.get_world_size()
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
        p.grad /= world


def _collective_device() -> torch.device:
    """Where small tensors for a collective must live: the GPU under NCCL, else the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_finite(loss: torch.Tensor) -> bool:
    """True when the loss is finite on every rank, so all ranks stop together (none waits forever)."""
    finite = bool(torch.isfinite(loss.detach()).all())
    if not is_distributed():
        return finite
    flag = torch.tensor([0.0 if finite else 1.0], device=_collective_device())
    dist.all_reduce(flag)
    return flag.item() == 0.0


def mean_over_ranks(values: dict[str, float]) -> dict[str, float]:
    """Scalar metrics averaged over ranks (every rank passes the same keys in the same order)."""
    if not is_distributed():
        return values
    keys = list(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=_collective_device())
    dist.all_reduce(t)
    return dict(zip(keys, (t / dist.get_world_size()).tolist()))
