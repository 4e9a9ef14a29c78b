"""The optimizer's state as safetensors (tensors) + JSON (param groups), for trainer checkpoints."""

from __future__ import annotations

import torch


def optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer's state dict into tensors (for safetensors) and JSON-able groups."""
    state = optimizer.state_dict()
    tensors = {f"state.{i}.{name}": (v if torch.is_tensor(v) else torch.tensor(v))
               for i, per_param in state["state"].items() for name, v in per_param.items()}
    return tensors, {"param_groups": state["param_groups"]}


def load_optimizer_state(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        _, i, name = key.split(".", 2)
        state.setdefault(int(i), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
