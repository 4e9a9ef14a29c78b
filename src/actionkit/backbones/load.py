"""Build a backbone from its command-line name. Plain branches, no registry.

Names: ``world`` and ``lit`` (built-in; weights from ``--weights DIR``, default
``<data>/backbone`` and ``<data>/backbone-lit``); ``hf-clip:<dir>`` and ``hf-xclip:<dir>``
(Hugging Face CLIP / X-CLIP saved with ``save_pretrained`` into a local directory;
``--weights DIR`` overrides the path after the colon).

``openclip:<arch>`` is not offered: ``open_clip`` imports ``torchvision`` at import time, and
the only torchvision builds on PyPI for torch 2.13 link against CUDA libraries that the CPU
torch build lacks ("operator torchvision::nms does not exist"), so it cannot be installed
or tested here. OpenCLIP checkpoints published in the Hugging Face format load as
``hf-clip:<dir>``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from actionkit.backbones.protocol import Backbone


class UnknownBackbone(ValueError):
    pass


def load_backbone(name: str, weights: Path | str | None, device: str | torch.device = "cpu") -> Backbone:
    if name in ("world", "lit"):
        from actionkit.backbones.world import WorldBackbone

        if weights is None:
            raise FileNotFoundError(f"the {name} backbone needs --weights DIR (a folder written by "
                                    "`actionkit backbone train`)")
        model = WorldBackbone.load(weights, device=device)
        if model.name != name:
            raise ValueError(f"{weights} holds a {model.name!r} backbone, not {name!r}")
        return model
    if name.startswith("hf-clip:"):
        from actionkit.backbones.hf_clip import HFCLIPBackbone

        return HFCLIPBackbone(path=weights or name[len("hf-clip:"):], device=device)
    if name.startswith("hf-xclip:"):
        from actionkit.backbones.hf_clip import HFXCLIPBackbone

        return HFXCLIPBackbone(path=weights or name[len("hf-xclip:"):], device=device)
    if name.startswith("openclip:"):
        raise UnknownBackbone(f"{name}: OpenCLIP backbones are not supported (open_clip needs torchvision, which has "
                              "no CPU build for torch 2.13 on PyPI); load the checkpoint in Hugging Face format "
                              "as hf-clip:<dir>")
    raise UnknownBackbone(f"unknown backbone {name!r}; available here: world, lit, hf-clip:<dir>, hf-xclip:<dir>")
