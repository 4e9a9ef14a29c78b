"""CLAVER (Yang et al.): Kronecker-mask temporal attention + interpretive prompts, on a frozen backbone.

``ClaverConfig`` lists every option; ``ClaverHeads`` is what trains (the temporal module of
``temporal.py`` with the mask of ``masks.py``, and a learnable logit scale); its text side
is the frozen base's text embedding. The clip embedding is one vector ``[B, D]``, scored by
cosine, so every probe and task applies.

Training (``prepare``), over cached frame features, per step:

- **classification over class-text views** (Sec. 3.3): K views are drawn (``views``; each
  picks one text per class from the class's interpretive prompts, ``text.prompts``), each is a
  C-way classifier of cosine logits times the learnable scale, cross-entropy with label
  smoothing 0.1 per view, averaged over the K views;
- **video-text contrastive on captions** (symmetric InfoNCE with the same scale), so the
  model also scores free text: the ActionBench probes and retrieval read captions.

Inference: a class's score is the mean over views of the per-view softmax probabilities
(``class_scores``); a class the bank does not hold gets its name's template views.

Open choices, ours (each an option, measured in ``benchmarks/claver.py``): the backbone is
frozen and its text side too (the authors fine-tune both; ``text.prompts`` are encoded once);
the summary token is the backbone's pooled frame feature, projected (identity-initialised
when the width equals D); a spatial embedding per token position for CNN backbones whose
tokens carry no position (``spatial_embedding``); the caption contrastive term and its weight
(the paper trains classification only); the optimizer puts the temporal module (blocks,
embeddings and the patch-token projection, all new) at ``temporal_lr_scale`` x the learning
rate and the summary projection in, the projection out (the analogues of CLIP's pretrained
projection) and the scale at 1x (the authors' 10x for new temporal layers vs. the pretrained
encoder). Weight decay applies to every parameter but the scale, norms, biases and
embeddings included (X-CLIP-style optimizers exempt those: not measured here).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from actionkit.backbones.protocol import VideoTextModel
from actionkit.eval.sets import label_name
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.text_table import TextTable
from actionkit.methods.base import Method, MethodHeads, TrainingPlan, probe_shapes
from actionkit.methods.config import check_choice, check_objectives
from actionkit.methods.claver.masks import MASK_KINDS
from actionkit.methods.claver.temporal import (KroneckerTransformer, MultiFrameIntegration, TemporalShape,
                                               mean_of_normalised)
from actionkit.scoring import CosineScoring
from actionkit.tasksets import class_vocabulary, training_labels
from actionkit.text.prompts import KINDS, PROMPT_SETS, PromptBank, build_bank, read_descriptions
from actionkit.train.losses import video_text_contrastive_loss
from actionkit.train.trainer import TrainerConfig

log = logging.getLogger(__name__)

TEMPORAL_MODULES = ("kronecker", "mit")
OBJECTIVES = ("cls", "vtc")


@dataclass
class ClaverConfig:
    # video side (Sec. 3.1-3.2)
    temporal: str = field(default="kronecker", metadata={
        "help": "kronecker: CLAVER's temporal transformer over frame + patch tokens; mit: X-CLIP's transformer "
                "over pooled frames (the anchor)"})
    mask: str = field(default="kmt", metadata={"help": f"Kronecker mask: {', '.join(MASK_KINDS)} (kronecker only)"})
    width: int = field(default=128, metadata={"help": "width of the Kronecker transformer (equal to D: "
                                                      "identity-initialised projections; MIT runs at D)"})
    depth: int = field(default=2, metadata={"help": "blocks (authors: a third of the image encoder's depth)"})
    heads: int = field(default=4, metadata={"help": "attention heads"})
    mlp_ratio: int = field(default=4, metadata={"help": "MLP width multiple (authors: 4)"})
    spatial_embedding: bool = field(default=True, metadata={
        "help": "learnable per-position embedding (for backbones whose tokens carry no position, e.g. CNNs)"})
    # text side (Sec. 3.3)
    prompts: str = field(default="descriptions", metadata={
        "help": "class text views: names (the name alone), templates (+16 templates), descriptions (+ interpretive "
                "descriptions)"})
    descriptions: str = field(default="", metadata={
        "help": "JSONL of {class, kind, text} (e.g. written by an LLM); empty: generated offline from the lexicon"})
    description_kinds: tuple[str, ...] = field(default=KINDS, metadata={"help": "kinds of descriptions used"})
    views: int = field(default=5, metadata={"help": "K text views drawn per training step (authors: 5)"})
    # losses
    objectives: tuple[str, ...] = field(default=OBJECTIVES, metadata={
        "help": "cls: classification over class-text views; vtc: video-text contrastive on captions"})
    loss_weights: dict[str, float] = field(default_factory=lambda: {"cls": 1.0, "vtc": 1.0},
                                           metadata={"help": "weight of each objective, NAME=NUMBER,..."})
    label_smoothing: float = field(default=0.1, metadata={"help": "of both objectives (authors: 0.1)"})
    temporal_lr_scale: float = field(default=10.0, metadata={
        "help": "learning-rate multiple of the temporal module (authors: 10)"})

    def __post_init__(self):
        check_choice("temporal", self.temporal, TEMPORAL_MODULES)
        check_choice("mask", self.mask, MASK_KINDS)
        check_choice("prompts", self.prompts, PROMPT_SETS)
        unknown = [k for k in self.description_kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown description kind(s) {', '.join(unknown)}; kinds: {', '.join(KINDS)}")
        check_objectives(self.objectives, self.loss_weights, OBJECTIVES)
        for name, value, low in (("width", self.width, 1), ("depth", self.depth, 0), ("heads", self.heads, 1),
                                 ("mlp_ratio", self.mlp_ratio, 1), ("views", self.views, 1)):
            if value < low:
                raise ValueError(f"{name} must be at least {low}, got {value}")


class ClaverHeads(CosineScoring, MethodHeads):
    """The trainable part: frame features -> per-frame embeddings -> clip embedding ``[B, D]``."""

    def __init__(self, shape: TemporalShape, temporal: str, lr_scale: float = 10.0):
        super().__init__()
        self.embed_dim, self.lr_scale = shape.embed_dim, lr_scale
        self.temporal = KroneckerTransformer(shape) if temporal == "kronecker" else MultiFrameIntegration(shape)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.bank = PromptBank({})

    def frames(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        """``[B, T, P, Dv]``, ``[B, T, D]`` -> per-frame embeddings ``[B, T, D]``."""
        return self.temporal(frame_tokens, frame_pooled)

    def video(self, base: VideoTextModel, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        """-> clip embedding ``[B, D]``: the mean of the L2-normalised frame embeddings, L2-normalised."""
        return mean_of_normalised(self.frames(frame_tokens, frame_pooled))

    @property
    def scale(self) -> torch.Tensor:
        return self.logit_scale.exp().clamp(max=100)

    def class_scores(self, model: VideoTextModel, video: torch.Tensor, class_names: list[str]) -> torch.Tensor:
        """``[Nv, C]``: per view, softmax over the C classes of scale x cosine; mean over views.

        View v of class c is its (v mod n_c)-th text, so every text of every class is used and
        classes with fewer views repeat theirs."""
        per_class = [self.bank.of(name) for name in class_names]
        texts = list(dict.fromkeys(t for views in per_class for t in views))
        table = TextTable.build(model, texts)             # model.encode_text: this model's text side
        position = {t: i for i, t in enumerate(texts)}
        text = F.normalize(table.pooled.to(video.device), dim=-1)
        num_views = max(len(v) for v in per_class)
        probs = torch.zeros(video.shape[0], len(class_names), device=video.device)
        for v in range(num_views):
            ids = torch.tensor([position[views[v % len(views)]] for views in per_class], device=video.device)
            probs += (float(self.scale) * model.similarity(video, text[ids])).softmax(dim=-1)
        return probs / num_views

    def json_state(self) -> dict:
        return {"prompt_bank": self.bank.to_json()}

    def load_json_state(self, state: dict) -> None:
        self.bank = PromptBank.from_json(state.get("prompt_bank", {}))

    def optimizer_groups(self) -> list[dict]:
        """The temporal module's new layers at ``lr_scale`` x; the summary projection in, the projection
        out and the scale at 1x; no weight decay on the scale."""
        base_names = ("summary_in.", "proj_out.")
        fast, slow = [], []
        for name, p in self.temporal.named_parameters():
            (slow if name.startswith(base_names) else fast).append(p)
        return [{"params": fast, "lr_scale": self.lr_scale}, {"params": slow},
                {"params": [self.logit_scale], "weight_decay": 0.0}]


def build(base: VideoTextModel, cfg: ClaverConfig) -> ClaverHeads:
    tokens, _, _ = probe_shapes(base)                                    # [1, T, P, Dv]
    shape = TemporalShape(num_frames=tokens[1], num_patches=tokens[2], token_dim=tokens[3],
                          embed_dim=base.embed_dim, width=cfg.width, depth=cfg.depth, heads=cfg.heads,
                          mlp_ratio=cfg.mlp_ratio, mask=cfg.mask, spatial_embedding=cfg.spatial_embedding)
    return ClaverHeads(shape, cfg.temporal, cfg.temporal_lr_scale)


def prompt_bank(names: dict[str, str], glosses: dict, cfg: ClaverConfig) -> PromptBank:
    """The views of every class the model may be asked about (``tasksets.class_vocabulary``)."""
    user = read_descriptions(cfg.descriptions) if cfg.descriptions else None
    lexicon = "world lexicon" if glosses else "generic"
    source = f"{cfg.descriptions} (other classes: {lexicon})" if cfg.descriptions else lexicon
    return build_bank(names, cfg.prompts, cfg.description_kinds, glosses, user, source=source)


def prepare(base: VideoTextModel, heads: ClaverHeads, data: ClipFeatures, cfg: ClaverConfig,
            device: torch.device) -> TrainingPlan:
    """Text features of every class view and caption once; the step over cached frame features."""
    records = data.records
    names, glosses = class_vocabulary(records)
    heads.bank = prompt_bank(names, glosses, cfg)
    labels_sorted, labels = training_labels(records, "cls" in cfg.objectives)
    class_views = [heads.bank.of(names.get(label, label_name(label))) for label in labels_sorted]
    captions = [r.caption for r in records]
    table = TextTable.build(base, [t for views in class_views for t in views] + captions)
    text = F.normalize(table.pooled, dim=-1)                                   # [U, D], frozen
    view_ids = [table.ids(list(views)) for views in class_views]               # per class [n_c]
    num_views = torch.tensor([len(v) for v in view_ids])
    padded = torch.stack([v[torch.arange(int(num_views.max())) % len(v)] for v in view_ids])  # [C, Vmax]
    caption_ids = table.ids(captions)
    weights = {k: cfg.loss_weights.get(k, 1.0) for k in cfg.objectives}
    tokens, pooled = data.frame_tokens, data.frame_pooled

    def step(idx: torch.Tensor, _: int) -> dict[str, torch.Tensor]:
        video = heads.video(base, tokens[idx].to(device).float(), pooled[idx].to(device).float())   # [B, D]
        losses: dict[str, torch.Tensor] = {}
        if "cls" in weights:
            # K random views, each one text per class: [K, C] rows of the table
            pick = (torch.rand(cfg.views, len(labels_sorted)) * num_views).long()
            views = padded.gather(1, pick.t()).t()                                 # [K, C]
            logits = heads.scale * torch.einsum("bd,kcd->kbc", video, text[views].to(device))
            target = labels[idx].to(device)
            losses["cls"] = torch.stack([F.cross_entropy(logits[k], target, label_smoothing=cfg.label_smoothing)
                                         for k in range(cfg.views)]).mean()
        if "vtc" in weights:
            ids = caption_ids[idx]
            losses["vtc"] = video_text_contrastive_loss(video, text[ids].to(device), heads.scale, ids.to(device),
                                                        cfg.label_smoothing, heads.similarity)
        loss = sum(weights[k] * v for k, v in losses.items())
        return {"loss": loss, **losses}

    return TrainingPlan(step, len(records), {
        "classes": len(labels_sorted), "prompts": cfg.prompts, "descriptions_source": heads.bank.source,
        "views_per_class": {"min": int(num_views.min()), "max": int(num_views.max())},
        "description_counts": heads.bank.counts})


CLAVER = Method(
    name="claver", model_name="claver",
    description="CLAVER: Kronecker-mask temporal attention + interpretive prompts, Yang et al.",
    config=ClaverConfig, build=build, prepare=prepare,
    train_defaults=TrainerConfig(epochs=10, batch_size=64, lr=5e-4, weight_decay=0.05, warmup_steps=30,
                                 grad_clip=1.0),
)
