"""A frozen backbone patched with PAXION: the trainable heads and the model that answers the protocol.

``PaxionHeads`` holds what learns (Knowledge Patcher, optional text perceiver, temperature);
``PatchedModel`` puts it on a frozen backbone and answers ``preprocess`` / ``encode_video`` /
``encode_text`` like any backbone, with ``video`` a set of latents ``[B, K, D]``, so every
probe and evaluation runs on it unchanged.

Checkpoint: ``patcher.safetensors`` + ``patcher.json`` (the PatcherConfig and the backbone's name).
"""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from pathlib import Path

import torch
from torch import nn

from actionkit.backbones.fingerprint import weights_digest
from actionkit.backbones.protocol import Backbone, TextFeatures, VideoFeatures
from actionkit.methods.paxion.patcher import KnowledgePatcher, PatcherConfig, TextPerceiver
from actionkit.fileio import write_json_atomic
from actionkit.train.checkpoint import check_config, load_tensors, read_json, refuse_pickles, save_tensors

WEIGHTS_FILE = "patcher.safetensors"
CONFIG_FILE = "patcher.json"
# The fields a patcher takes from its backbone; a checkpoint must agree on them.
BACKBONE_FIELDS = ("num_frames", "num_patches", "video_dim", "text_dim", "embed_dim")


def patcher_config_for(backbone: Backbone, **overrides) -> PatcherConfig:
    """A PatcherConfig whose input/output sizes match ``backbone`` (probed with one dummy clip)."""
    with torch.no_grad():
        dummy = torch.zeros(1, backbone.num_frames, 3, backbone.image_size, backbone.image_size)
        tokens = backbone.encode_video(dummy).frame_tokens                 # [1, T, P, Dv]
        text = backbone.encode_text(["a"]).tokens                          # [1, L, Dt]
    sizes = dict(num_frames=tokens.shape[1], num_patches=tokens.shape[2], video_dim=tokens.shape[3],
                 text_dim=text.shape[2], embed_dim=backbone.embed_dim)
    return replace(PatcherConfig(**{k: v for k, v in overrides.items() if k not in sizes}), **sizes)


class PaxionHeads(nn.Module):
    """The trainable part: video latents from frame tokens, text embedding from text tokens."""

    def __init__(self, cfg: PatcherConfig):
        super().__init__()
        self.cfg = cfg
        self.patcher = KnowledgePatcher(cfg)
        self.text_perceiver = TextPerceiver(cfg) if cfg.text_perceiver else None
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))   # temperature 0.07

    def encode_tokens(self, frame_tokens: torch.Tensor) -> torch.Tensor:
        """[B, T, P, Dv] -> latents [B, K, D]."""
        return self.patcher(frame_tokens)

    def encode_text_tokens(self, tokens: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """Order-aware text embedding [B, D]; without a text perceiver, the backbone's pooled one."""
        if self.text_perceiver is None:
            return pooled
        return self.text_perceiver(tokens, mask)

    def save(self, directory: Path | str, backbone_name: str, extra: dict | None = None) -> None:
        directory = Path(directory)
        save_tensors(directory / WEIGHTS_FILE, self.state_dict())
        write_json_atomic(directory / CONFIG_FILE, {"backbone": backbone_name, "patcher": asdict(self.cfg),
                                                    **(extra or {})})


class PatchedModel:
    """Frozen backbone + PAXION heads, answering the backbone protocol."""

    def __init__(self, backbone: Backbone, heads: PaxionHeads, name: str = "patched"):
        self.backbone, self.heads, self.name = backbone, heads.eval(), name
        self.embed_dim = heads.cfg.embed_dim
        self.num_frames, self.image_size = backbone.num_frames, backbone.image_size
        self.frame_independent = backbone.frame_independent

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        return self.backbone.preprocess(frames)

    def encode_video(self, pixels: torch.Tensor) -> VideoFeatures:
        f = self.backbone.encode_video(pixels)
        return VideoFeatures(f.frame_tokens, f.frame_pooled, self.video_from_frames(f.frame_tokens, f.frame_pooled))

    def video_from_frames(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        return self.heads.encode_tokens(frame_tokens.float())

    def fingerprint(self) -> str:
        return weights_digest(self.heads.state_dict(), {"backbone": self.backbone.fingerprint()})

    def encode_text(self, texts: list[str]) -> TextFeatures:
        t = self.backbone.encode_text(texts)
        return TextFeatures(t.tokens, t.mask, self.heads.encode_text_tokens(t.tokens, t.mask, t.pooled))

    @staticmethod
    def load(directory: Path | str, backbone: Backbone, expected: PatcherConfig | None = None) -> "PatchedModel":
        """Load a patcher for ``backbone``; a config that does not fit raises ``ConfigMismatch``."""
        directory = Path(directory)
        refuse_pickles(directory, WEIGHTS_FILE)
        if not (directory / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"no patcher checkpoint in {directory} (looked for {CONFIG_FILE}); "
                                    "train one with `actionkit patch`")
        saved = PatcherConfig.from_dict(read_json(directory / CONFIG_FILE)["patcher"])
        fits = patcher_config_for(backbone)
        check_config({k: getattr(saved, k) for k in BACKBONE_FIELDS},
                     {k: getattr(fits, k) for k in BACKBONE_FIELDS}, directory / CONFIG_FILE)
        if expected is not None:
            check_config(asdict(saved), asdict(expected), directory / CONFIG_FILE)
        heads = PaxionHeads(saved)
        heads.load_state_dict(load_tensors(directory / WEIGHTS_FILE))
        heads.requires_grad_(False)
        return PatchedModel(backbone, heads)
