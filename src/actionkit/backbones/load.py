"""Build a backbone from its command-line name. Plain branches, no registry.

Names: ``world`` (built-in; weights from ``--weights DIR``, default ``<data>/backbone``).
Real backbones (``openclip:<arch>``, ``hf-clip:<path>``, ``hf-xclip:<path>``) and ``lit``
arrive with their own issue.
"""

from __future__ import annotations

from pathlib import Path

import torch

from actionkit.backbones.protocol import Backbone


class UnknownBackbone(ValueError):
    pass


def load_backbone(name: str, weights: Path | str | None, device: str | torch.device = "cpu") -> Backbone:
    if name == "world":
        from actionkit.backbones.world import WorldBackbone

        if weights is None:
            raise FileNotFoundError("the world backbone needs --weights DIR (a folder written by `actionkit backbone train`)")
        return WorldBackbone.load(weights, device=device)
    raise UnknownBackbone(f"unknown backbone {name!r}; available here: world")
