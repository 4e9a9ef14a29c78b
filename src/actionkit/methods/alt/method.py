"""ALT (Chen et al., "Align before Adapt"): entity-to-region alignment, then an entity-queried video adapter.

Per clip, over the frozen backbone's cached frame features ``[B, T, P, Dv]``, ``[B, T, D]``:

1. **Region tokens** (Sec. 3.1): per frame, a summary token (the mean patch token) followed by
   the P patch tokens are merged by bipartite soft matching (``merge.py``), ``merge_rounds``
   rounds of ``merge_r``: ``R = 1 + regions`` tokens per frame, the summary never merged.
2. **Entity-to-region alignment** (Sec. 3.2): each region is projected into the joint space
   (``region_projection``: ``backbone``, the backbone's own frozen patch-token map
   ``project_tokens``, so the alignment is the pretrained model's; ``tuned``, the same plus a
   learned residual initialised at zero; ``learned``, a linear map from scratch; the summary
   region is the backbone's frame embedding), its cosine to every entity of the corpus
   (``text.entities``, encoded once by the frozen text encoder) times ``align_scale`` are the
   logits, and a Gumbel-softmax with the straight-through one-hot (``tau``) assigns each region
   one entity: hard in the forward pass, soft gradient in the backward pass; noise only in
   training, plain argmax at evaluation (``assignment="soft"``: the softmax mixture instead).
3. **Video adapter** (Sec. 3.3): queries = MLP(text embeddings of the aligned entities), one per
   region of every frame ``[B, T*R, w]``; keys/values = MLP(region tokens), the patch tokens
   first passed through a depthwise temporal 1-D convolution across frames (per patch place,
   zero-initialised residual) and pooled into the same regions; both get a learnable temporal
   embedding, the keys/values also an embedding of the region's centre on the patch grid.
   ``depth`` blocks of self-attention among the queries -> cross-attention to the regions of all
   frames (log(region size) added to the logits: ToMe's proportional attention) ->
   feed-forward; the mean over queries -> projection to D.
4. **Clip embedding** ``[B, D]``: with ``residual`` (default), the frozen backbone's clip
   embedding plus the adapter's output (the projection initialised at zero, so the untrained
   model is the frozen backbone and keeps its zero-shot alignment), L2-normalised; scored by
   cosine against text, so every probe and task applies.

Training (``prepare``): classification over the class-text embeddings (cosine logits x a
learnable scale, cross-entropy, Sec. 3.3) and video-text contrastive on captions (ours, so
free-text probes read the model). **Explanations** (``explain``): the entity each region was
aligned to, per frame and overall, and per kind the entity closest to the clip's regions.

Open choices, ours: merging after the frozen encoder on cached tokens, similarity of the
tokens themselves (the paper merges inside the encoder by attention keys); the corpus
(``text.entities``); ``align_scale`` (a fixed inverse temperature on the cosine before the
Gumbel-softmax, CLIP's initial 1/0.07: with ``tau`` 1 on raw cosines the noise would decide
every assignment); the region projection, frozen by default: trained through the
straight-through assignment by the classification loss alone (``tuned``), the alignment
drifts to whatever entities serve the classifier and stops naming what is in the clip
(measured in ``benchmarks/alt.py``); one query per region of every
frame (not one per distinct entity); the temporal convolution on patch places before pooling
(regions are not the same set from frame to frame); the residual clip embedding; mean pooling
over queries; the caption contrastive term.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from actionkit.backbones.protocol import VideoTextModel
from actionkit.eval.sets import label_name
from actionkit.eval.tasks import TEMPLATES
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.text_table import TextTable
from actionkit.methods.alt.adapter import AdapterBlock, grid_positions, mlp
from actionkit.methods.alt.merge import Regions, merge_regions, pool
from actionkit.methods.base import (Method, MethodHeads, TrainingPlan, backbone_of, probe_shapes,
                                   temperature_without_decay)
from actionkit.methods.config import check_choice, check_objectives
from actionkit.scoring import CosineScoring
from actionkit.tasksets import class_vocabulary, training_labels
from actionkit.text.entities import KINDS, Entity, build_corpus, read_entities
from actionkit.train.losses import video_text_contrastive_loss
from actionkit.train.trainer import TrainerConfig

OBJECTIVES = ("cls", "vtc")
PROJECTIONS = ("backbone", "tuned", "learned")
ASSIGNMENTS = ("hard", "soft")


@dataclass
class AltConfig:
    # region tokens (merge.py)
    merge_r: int = field(default=4, metadata={"help": "tokens merged away per round (capped at half the mergeable)"})
    merge_rounds: int = field(default=2, metadata={"help": "rounds of bipartite soft matching"})
    # entity corpus (text/entities.py)
    entities: str = field(default="", metadata={
        "help": "JSONL of {unit, description, kind}; empty: built offline from the clips' objects and the lexicon"})
    entity_kinds: tuple[str, ...] = field(default=KINDS, metadata={"help": "kinds of entities used"})
    # entity-to-region alignment
    region_projection: str = field(default="backbone", metadata={
        "help": "backbone: the backbone's own patch-token map (frozen); tuned: + a learned residual (zero-initialised, "
                "trained through the straight-through assignment); learned: a linear map from scratch"})
    assignment: str = field(default="hard", metadata={
        "help": "hard: Gumbel-softmax straight-through one-hot; soft: the softmax mixture of entities"})
    tau: float = field(default=1.0, metadata={"help": "Gumbel-softmax temperature"})
    align_scale: float = field(default=1 / 0.07, metadata={"help": "inverse temperature on the region-entity cosine"})
    # video adapter
    width: int = field(default=128, metadata={"help": "adapter width"})
    depth: int = field(default=1, metadata={"help": "adapter blocks (self-attn, cross-attn, feed-forward)"})
    heads: int = field(default=4, metadata={"help": "attention heads"})
    temporal_kernel: int = field(default=3, metadata={"help": "temporal convolution kernel over frames (1: none)"})
    residual: bool = field(default=True, metadata={
        "help": "clip embedding = frozen backbone's + adapter's (zero-initialised); false: the adapter's alone"})
    # losses
    objectives: tuple[str, ...] = field(default=OBJECTIVES, metadata={
        "help": "cls: classification over class-text embeddings; vtc: video-text contrastive on captions"})
    loss_weights: dict[str, float] = field(default_factory=lambda: {"cls": 1.0, "vtc": 1.0},
                                           metadata={"help": "weight of each objective, NAME=NUMBER,..."})
    label_smoothing: float = field(default=0.1, metadata={"help": "of both objectives"})

    def __post_init__(self):
        check_choice("region_projection", self.region_projection, PROJECTIONS)
        check_choice("assignment", self.assignment, ASSIGNMENTS)
        unknown = [k for k in self.entity_kinds if k not in KINDS]
        if unknown or not self.entity_kinds:
            raise ValueError(f"entity_kinds must be a non-empty subset of {', '.join(KINDS)}, got {self.entity_kinds}")
        check_objectives(self.objectives, self.loss_weights, OBJECTIVES)
        for name, value, low in (("merge_r", self.merge_r, 0), ("merge_rounds", self.merge_rounds, 0),
                                 ("width", self.width, 1), ("depth", self.depth, 1), ("heads", self.heads, 1),
                                 ("temporal_kernel", self.temporal_kernel, 1)):
            if value < low:
                raise ValueError(f"{name} must be at least {low}, got {value}")
        if self.temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel must be odd, got {self.temporal_kernel}")
        if self.tau <= 0 or self.align_scale <= 0:
            raise ValueError("tau and align_scale must be positive")


@dataclass
class Alignment:
    """What the alignment gives for a batch of clips (R = 1 + regions per frame)."""

    regions: Regions            # over the B*T frames: sizes [B*T, R], owner [B*T, 1 + P]
    embeddings: torch.Tensor    # [B, T, R, D] regions in the joint space, L2-normalised
    logits: torch.Tensor        # [B, T, R, E] align_scale x cosine to every entity
    assign: torch.Tensor        # [B, T, R, E] one-hot (hard; straight-through in training) or soft weights


class AltHeads(CosineScoring, MethodHeads):
    """Regions -> aligned entities -> entity-queried adapter -> clip embedding ``[B, D]``."""

    def __init__(self, cfg: AltConfig, num_frames: int, num_patches: int, token_dim: int, embed_dim: int):
        super().__init__()
        self.cfg, self.embed_dim = cfg, embed_dim
        w = cfg.width
        # alignment: regions into the joint space
        if cfg.region_projection == "tuned":
            self.region_residual = nn.Linear(embed_dim, embed_dim)
            nn.init.zeros_(self.region_residual.weight)
            nn.init.zeros_(self.region_residual.bias)
        elif cfg.region_projection == "learned":
            self.region_proj = nn.Linear(token_dim, embed_dim)
        # adapter
        self.temporal_conv = nn.Conv1d(token_dim, token_dim, cfg.temporal_kernel, padding=cfg.temporal_kernel // 2,
                                       groups=token_dim)
        nn.init.zeros_(self.temporal_conv.weight)
        nn.init.zeros_(self.temporal_conv.bias)
        self.query_mlp, self.region_mlp = mlp(embed_dim, w), mlp(token_dim, w)
        self.time_embedding = nn.Parameter(torch.randn(num_frames, w) * 0.02)
        self.place_embedding = nn.Linear(2, w)
        self.register_buffer("places", grid_positions(num_patches), persistent=False)      # [1 + P, 2]
        self.blocks = nn.ModuleList(AdapterBlock(w, cfg.heads) for _ in range(cfg.depth))
        self.norm_out, self.proj_out = nn.LayerNorm(w), nn.Linear(w, embed_dim)
        if cfg.residual:
            nn.init.zeros_(self.proj_out.weight)
            nn.init.zeros_(self.proj_out.bias)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.entities: list[Entity] = []
        self.register_buffer("entity_embeddings", torch.zeros(0, embed_dim))             # [E, D], set by prepare

    # -- the entity corpus ---------------------------------------------------------------------
    def set_entities(self, entities: list[Entity], embeddings: torch.Tensor | None = None) -> None:
        """Keep the corpus; its text embeddings ``[E, D]`` (a buffer: checkpoints keep them)."""
        self.entities = list(entities)
        if embeddings is None:
            embeddings = torch.zeros(len(entities), self.embed_dim)
        self.entity_embeddings = F.normalize(embeddings.float(), dim=-1).to(self.logit_scale.device)

    def json_state(self) -> dict:
        return {"entities": [{"unit": e.unit, "description": e.description, "kind": e.kind} for e in self.entities]}

    def load_json_state(self, state: dict) -> None:
        self.set_entities([Entity(**e) for e in state.get("entities", [])])

    # -- 1-2: regions and their entities ---------------------------------------------------------
    def align(self, base: VideoTextModel, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> Alignment:
        """``[B, T, P, Dv]``, ``[B, T, D]`` -> the regions of every frame and their entities."""
        if not len(self.entities):
            raise ValueError("ALT heads have no entity corpus (train them, or load a trained model)")
        b, t, p, dv = frame_tokens.shape
        tokens = frame_tokens.flatten(0, 1)                                                  # [B*T, P, Dv]
        x = torch.cat([tokens.mean(dim=1, keepdim=True), tokens], dim=1)                      # [B*T, 1 + P, Dv]
        regions = merge_regions(x, self.cfg.merge_r, self.cfg.merge_rounds, protect_first=True)
        if self.cfg.region_projection in ("backbone", "tuned"):
            dense = backbone_of(base).project_tokens(tokens).float()                        # [B*T, P, D]
            joint = torch.cat([frame_pooled.flatten(0, 1)[:, None].float(), dense], dim=1)   # [B*T, 1 + P, D]
            emb = pool(joint, regions)                                                       # [B*T, R, D]
            if self.cfg.region_projection == "tuned":
                emb = emb + self.region_residual(emb)
        else:
            emb = self.region_proj(pool(x.float(), regions))
        with torch.autocast(emb.device.type, enabled=False):        # fp32 cosines: no bf16 ties decide the argmax
            emb = F.normalize(emb.float(), dim=-1).view(b, t, -1, self.embed_dim)          # [B, T, R, D]
            logits = self.cfg.align_scale * emb @ self.entity_embeddings.t()               # [B, T, R, E]
        if self.cfg.assignment == "hard":
            assign = (F.gumbel_softmax(logits, tau=self.cfg.tau, hard=True) if self.training
                      else F.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype))
        else:
            assign = (F.gumbel_softmax(logits, tau=self.cfg.tau, hard=False) if self.training
                      else (logits / self.cfg.tau).softmax(-1))
        return Alignment(regions, emb, logits, assign)

    # -- 3-4: the adapter -------------------------------------------------------------------------
    def video(self, base: VideoTextModel, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        """``[B, T, P, Dv]``, ``[B, T, D]`` -> clip embedding ``[B, D]``, L2-normalised."""
        b, t, p, dv = frame_tokens.shape
        a = self.align(base, frame_tokens, frame_pooled)
        r = a.assign.shape[2]
        queries = self.query_mlp(a.assign @ self.entity_embeddings)                         # [B, T, R, w]
        queries = queries + self.time_embedding[:t, None]
        # keys/values: temporal convolution per patch place, pooled into the same regions
        per_place = frame_tokens.permute(0, 2, 3, 1).reshape(b * p, dv, t)                  # [B*P, Dv, T]
        mixed = frame_tokens + self.temporal_conv(per_place).view(b, p, dv, t).permute(0, 3, 1, 2)
        mixed = mixed.flatten(0, 1)                                                          # [B*T, P, Dv]
        x = torch.cat([mixed.mean(dim=1, keepdim=True), mixed], dim=1)                       # [B*T, 1 + P, Dv]
        places = self.places.to(x.dtype).expand(b * t, -1, -1)                             # [B*T, 1 + P, 2]
        kv = self.region_mlp(pool(x, a.regions)) + self.place_embedding(pool(places, a.regions))
        kv = kv.view(b, t, r, -1) + self.time_embedding[:t, None]                           # [B, T, R, w]
        log_size = a.regions.sizes.log().view(b, t * r)                                     # [B, T*R]
        q, kv = queries.flatten(1, 2), kv.flatten(1, 2)                                       # [B, T*R, w]
        for block in self.blocks:
            q = block(q, kv, log_size)
        out = self.proj_out(self.norm_out(q.mean(dim=1)))                                    # [B, D]
        if self.cfg.residual:
            out = out + F.normalize(base.video_from_frames(frame_tokens, frame_pooled).float(), dim=-1)
        return F.normalize(out, dim=-1)

    @property
    def scale(self) -> torch.Tensor:
        return self.logit_scale.exp().clamp(max=100)

    def optimizer_groups(self) -> list[dict]:
        return temperature_without_decay(self)

    # -- explanations -----------------------------------------------------------------------------
    @torch.no_grad()
    def explain(self, base: VideoTextModel, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor,
                top: int = 5) -> list[dict]:
        """Per clip: the entities its regions were aligned to (argmax), per frame and overall, with the
        share of the frame's tokens they cover (the summary token counts as one); and per kind the entity closest to the clip's regions
        (the mean over frames of the highest cosine of a region)."""
        was = self.training
        self.eval()
        try:
            a = self.align(base, frame_tokens.float(), frame_pooled.float())
        finally:
            self.train(was)
        b, t, r, e = a.logits.shape
        chosen = a.logits.argmax(-1).cpu()                                                   # [B, T, R]
        share = (a.regions.sizes / a.regions.sizes.sum(-1, keepdim=True)).view(b, t, r).float().cpu()
        closest = a.logits.amax(dim=2).mean(dim=1).cpu()                                     # [B, E]
        kinds = sorted({en.kind for en in self.entities}, key=KINDS.index)
        of_kind = {k: torch.tensor([en.kind == k for en in self.entities]) for k in kinds}
        out = []
        for i in range(b):
            frames, totals = [], torch.zeros(e)
            for f in range(t):
                per = torch.zeros(e).index_add_(0, chosen[i, f], share[i, f])
                totals += per
                ranked = per.argsort(descending=True)[:top]
                frames.append([{"unit": self.entities[j].unit, "share": round(float(per[j]), 3)}
                               for j in ranked.tolist() if per[j] > 0])
            ranked = (totals / t).argsort(descending=True)[:top]
            overall = [{"unit": self.entities[j].unit, "kind": self.entities[j].kind,
                        "share": round(float(totals[j] / t), 3)} for j in ranked.tolist() if totals[j] > 0]
            top_kind = {k: self.entities[int(closest[i].masked_fill(~of_kind[k], -torch.inf).argmax())].unit
                        for k in kinds}
            out.append({"overall": overall, "top": top_kind, "frames": frames})
        return out


def entity_corpus(records, cfg: AltConfig) -> tuple[list[Entity], str]:
    """The corpus ALT aligns to: the user's file, or the offline one; (entities, where they came from)."""
    if cfg.entities:
        return read_entities(cfg.entities, cfg.entity_kinds), cfg.entities
    _, glosses = class_vocabulary(records)
    return build_corpus(records, glosses, cfg.entity_kinds), "world lexicon" if glosses else "generic"


def build(base: VideoTextModel, cfg: AltConfig) -> AltHeads:
    tokens, video, _ = probe_shapes(base)                                   # [1, T, P, Dv], [1, D]
    if cfg.residual and len(video) != 2:
        raise ValueError(f"ALT's residual clip embedding needs a base with one embedding per clip [B, D]; "
                         f"{base.name} gives {tuple(video[1:])} (set residual=false)")
    if cfg.region_projection != "learned" and not hasattr(backbone_of(base), "project_tokens"):
        raise ValueError(f"backbone {backbone_of(base).name} has no patch-token map into the joint space "
                         "(project_tokens); set region_projection=learned")
    return AltHeads(cfg, num_frames=tokens[1], num_patches=tokens[2], token_dim=tokens[3], embed_dim=base.embed_dim)


def prepare(base: VideoTextModel, heads: AltHeads, data: ClipFeatures, cfg: AltConfig,
            device: torch.device) -> TrainingPlan:
    """The entity corpus and the class and caption texts encoded once; the step over cached frame features."""
    records = data.records
    entities, source = entity_corpus(records, cfg)
    names, _ = class_vocabulary(records)
    labels_sorted, labels = training_labels(records, "cls" in cfg.objectives)
    prompts = [tpl.format(names.get(label, label_name(label))) for label in labels_sorted for tpl in TEMPLATES]
    captions = [r.caption for r in records]
    table = TextTable.build(base, [e.text for e in entities] + prompts + captions)
    heads.set_entities(entities, table.pooled[table.ids([e.text for e in entities])])
    text = F.normalize(table.pooled.float(), dim=-1)                                    # [U, D], frozen
    classes = F.normalize(text[table.ids(prompts)].view(len(labels_sorted), len(TEMPLATES), -1).mean(1), dim=-1)
    classes = classes.to(device)                                                        # [C, D]: prompt ensemble
    caption_ids = table.ids(captions)
    weights = {k: cfg.loss_weights.get(k, 1.0) for k in cfg.objectives}
    tokens, pooled = data.frame_tokens, data.frame_pooled

    def step(idx: torch.Tensor, _: int) -> dict[str, torch.Tensor]:
        video = heads.video(base, tokens[idx].to(device).float(), pooled[idx].to(device).float())   # [B, D]
        losses: dict[str, torch.Tensor] = {}
        if "cls" in weights:
            logits = heads.scale * heads.similarity(video, classes)                     # [B, C]
            losses["cls"] = F.cross_entropy(logits, labels[idx].to(device), label_smoothing=cfg.label_smoothing)
        if "vtc" in weights:
            ids = caption_ids[idx]
            losses["vtc"] = video_text_contrastive_loss(video, text[ids].to(device), heads.scale, ids.to(device),
                                                        cfg.label_smoothing, heads.similarity)
        loss = sum(weights[k] * v for k, v in losses.items())
        return {"loss": loss, **losses}

    counts = {k: sum(e.kind == k for e in entities) for k in KINDS}
    return TrainingPlan(step, len(records), {"classes": len(labels_sorted), "entities": len(entities),
                                             "entity_source": source, "entity_counts": counts})


ALT = Method(
    name="alt", model_name="alt",
    description="ALT: entity-to-region alignment + entity-queried video adapter, Chen et al.",
    config=AltConfig, build=build, prepare=prepare,
    train_defaults=TrainerConfig(epochs=10, batch_size=64, lr=5e-4, weight_decay=0.05, warmup_steps=30,
                                 grad_clip=1.0),
)
