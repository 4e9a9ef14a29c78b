"""Checkpoints as safetensors + JSON: module weights, optimizer state, trainer state.

Nothing here unpickles: tensors go through safetensors, everything else through JSON.
Every file is written to a temp name and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from actionkit.fileio import atomic_path, write_json_atomic


class ConfigMismatch(ValueError):
    """A checkpoint made with another configuration than the model it is loaded into."""


def save_tensors(path: Path | str, tensors: dict[str, torch.Tensor]) -> None:
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))


def load_tensors(path: Path | str, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    if not Path(path).is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    return load_file(str(path), device=str(device))


def check_config(saved: dict, expected: dict, where: Path | str) -> None:
    """Raise ``ConfigMismatch`` listing every key whose value differs (or is missing)."""
    keys = sorted(set(saved) | set(expected))
    diff = [f"{k}: checkpoint {saved.get(k, '<missing>')!r} vs model {expected.get(k, '<missing>')!r}"
            for k in keys if _norm(saved.get(k, "<missing>")) != _norm(expected.get(k, "<missing>"))]
    if diff:
        raise ConfigMismatch(f"{where}: checkpoint config does not match the model: " + "; ".join(diff))


def _norm(value):
    return list(value) if isinstance(value, tuple) else value


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


def read_json(path: Path | str) -> dict:
    return json.loads(Path(path).read_text())


__all__ = [
    "ConfigMismatch", "save_tensors", "load_tensors", "check_config", "optimizer_state",
    "load_optimizer_state", "read_json", "write_json_atomic",
]
