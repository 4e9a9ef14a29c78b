"""The one shape of a method: trainable heads on a frozen base model, one wrapper around them.

A method (``Method``, one line of ``actionkit.methods.METHODS``) is

- ``config``: a dataclass of its options (defaults that run; every field is a CLI flag of
  ``actionkit train NAME`` and a key of ``--config FILE`` / ``--set key=value``);
- ``build(base, cfg) -> MethodHeads``: its trainable modules, sized for ``base``;
- ``prepare(base, heads, data, cfg, device) -> TrainingPlan``: what it computes once before
  training (text tables, frozen outputs) and its training step over cached frame features;
- ``after_step(heads, step, total)`` (optional): runs after every optimizer step (EMA teachers);
- ``wrap(base, heads) -> VideoTextModel``: the model it gives, ``MethodModel`` unless it says
  otherwise.

``base`` is any ``VideoTextModel``: a frozen backbone, or another method's model (the Knowledge
Fuser sits on a patched model). Training (``methods.training.train_method``), the checkpoint
format and ``load_model`` (``methods.checkpoint``) are shared by every method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from actionkit.backbones.fingerprint import weights_digest
from actionkit.backbones.protocol import TextFeatures, VideoFeatures, VideoTextModel
from actionkit.features.clip_features import ClipFeatures
from actionkit.train.trainer import StepFn, TrainerConfig


class MethodHeads(nn.Module):
    """A method's trainable part, and how its model turns base features into its own.

    Subclasses mix in a scoring (``scoring.CosineScoring`` or ``scoring.MaxOverSetScoring``,
    or their own ``similarity`` / ``paired_similarity`` / ``clip_vector``), set ``embed_dim``,
    and implement ``video``; ``text`` defaults to the base model's text embedding.
    """

    embed_dim: int

    def video(self, base: VideoTextModel, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        """The backbone's frame features ``[B, T, P, Dv]``, ``[B, T, D]`` -> this model's clip representation."""
        raise NotImplementedError

    def text(self, base: VideoTextModel, text: TextFeatures) -> torch.Tensor:
        """The base model's text features -> this model's text embedding ``[B, D]`` (default: the base's)."""
        return text.pooled

    def json_state(self) -> dict:
        """What the heads keep that is not a tensor (e.g. CLAVER's prompt bank): saved in ``method.json``."""
        return {}

    def load_json_state(self, state: dict) -> None:
        """Restore ``json_state()`` after building (before the weights load)."""

    def explain(self, base: VideoTextModel, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor
                ) -> list[dict] | None:
        """Per clip, what the method says the clip is made of (ALT: its aligned entities), JSON-ready;
        None: the method gives no explanations."""
        return None

    def class_scores(self, model: VideoTextModel, video: torch.Tensor, class_names: list[str]) -> torch.Tensor | None:
        """Scores ``[Nv, C]`` of clips against classes, if the method scores classes its own way
        (CLAVER: the mean of per-view probabilities); None: the tasks' prompt ensemble."""
        return None


def temperature_without_decay(heads: nn.Module) -> list[dict]:
    """``optimizer_groups`` that exempt a learnable temperature (``logit_scale``) from weight decay."""
    rest = [p for name, p in heads.named_parameters() if name != "logit_scale"]
    return [{"params": rest}, {"params": [heads.logit_scale], "weight_decay": 0.0}]


@dataclass
class TrainingPlan:
    """What ``Method.prepare`` hands the trainer."""

    step: StepFn                    # (batch of item indices [B], step) -> {"loss": ..., other terms}
    num_items: int                  # items the batches index (clips, after the method's own filtering)
    summary: dict = field(default_factory=dict)   # what the method reports of its data (e.g. clips dropped)


def device_of(model: VideoTextModel) -> torch.device:
    """Where a model computes: the device of its backbone's parameters (the CPU if it has none)."""
    backbone = backbone_of(model)
    module = backbone if isinstance(backbone, nn.Module) else getattr(backbone, "model", None)
    if isinstance(module, nn.Module):
        for p in module.parameters():
            return p.device
    return torch.device("cpu")


@torch.no_grad()
def probe_shapes(base: VideoTextModel) -> tuple[torch.Size, torch.Size, torch.Size]:
    """Shapes of what ``base`` gives for one dummy clip and text, for sizing heads: (frame tokens
    ``[1, T, P, Dv]``, its clip representation ``[1, ...]``, text tokens ``[1, L, Dt]``). The
    global RNG is left as it was, so heads built after it initialise the same whatever the base."""
    with torch.random.fork_rng(devices=[]):
        dummy = torch.zeros(1, base.num_frames, 3, base.image_size, base.image_size, device=device_of(base))
        video = base.encode_video(dummy)
        text = base.encode_text(["a"])
    return video.frame_tokens.shape, video.video.shape, text.tokens.shape


def backbone_of(model: VideoTextModel) -> VideoTextModel:
    """The frozen backbone at the bottom of a stack of methods (the model itself for a backbone)."""
    while isinstance(model, MethodModel):
        model = model.base
    return model


class MethodModel:
    """A frozen base model + a method's heads, answering ``VideoTextModel``: the one wrapper."""

    def __init__(self, base: VideoTextModel, heads: MethodHeads, name: str, method: str):
        self.base, self.heads, self.name, self.method = base, heads.eval(), name, method
        self.embed_dim = heads.embed_dim
        self.num_frames, self.image_size = base.num_frames, base.image_size
        self.frame_independent = base.frame_independent

    @property
    def backbone(self) -> VideoTextModel:
        return backbone_of(self)

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        return self.base.preprocess(frames)

    def encode_video(self, pixels: torch.Tensor) -> VideoFeatures:
        f = self.backbone.encode_video(pixels)
        return VideoFeatures(f.frame_tokens, f.frame_pooled, self.video_from_frames(f.frame_tokens, f.frame_pooled))

    def video_from_frames(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        return self.heads.video(self.base, frame_tokens.float(), frame_pooled.float())

    def encode_text(self, texts: list[str]) -> TextFeatures:
        t = self.base.encode_text(texts)
        return TextFeatures(t.tokens, t.mask, self.heads.text(self.base, t))

    def similarity(self, video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.heads.similarity(video, text)

    def paired_similarity(self, video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.heads.paired_similarity(video, text)

    def clip_vector(self, video: torch.Tensor) -> torch.Tensor:
        return self.heads.clip_vector(video)

    def explain(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> list[dict] | None:
        """Per clip, the heads' explanation of frame features ``[B, T, P, Dv]``, ``[B, T, D]`` (or None)."""
        return self.heads.explain(self.base, frame_tokens.float(), frame_pooled.float())

    def class_scores(self, video: torch.Tensor, class_names: list[str]) -> torch.Tensor | None:
        """``[Nv, C]`` if the method scores classes its own way, else None (see ``eval.tasks.class_scores``)."""
        return self.heads.class_scores(self, video, class_names)

    def fingerprint(self) -> str:
        return weights_digest(self.heads.state_dict(), {"method": self.method, "base": self.base.fingerprint()})


@dataclass(frozen=True)
class Method:
    name: str                     # the key in METHODS: `actionkit train NAME`
    model_name: str               # what reports call its model ("patched")
    description: str              # one line for --help, citing the paper
    config: type                  # its options, a dataclass
    build: Callable[[VideoTextModel, Any], MethodHeads]
    prepare: Callable[[VideoTextModel, MethodHeads, ClipFeatures, Any, torch.device], TrainingPlan]
    train_defaults: TrainerConfig = field(default_factory=TrainerConfig)
    base_method: str | None = None   # the method whose model it trains on (None: a frozen backbone)
    after_step: Callable[[MethodHeads, int, int], None] | None = None
    wrap: Callable[[VideoTextModel, MethodHeads, "Method"], VideoTextModel] | None = None   # None: MethodModel

    def model(self, base: VideoTextModel, heads: MethodHeads) -> VideoTextModel:
        """The model this method gives on ``base`` with trained ``heads``."""
        if self.wrap is not None:
            return self.wrap(base, heads, self)
        return MethodModel(base, heads, self.model_name, self.name)
