"""A short digest that identifies what a backbone computes: its weights and its settings.

Feature caches store it and refuse to serve features to a backbone whose digest differs,
so features of one checkpoint are never mixed with another's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import torch


def weights_digest(state: Mapping[str, torch.Tensor], settings: dict) -> str:
    """sha256 (first 16 hex digits) over ``settings`` (JSON) and every tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.flatten().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]
