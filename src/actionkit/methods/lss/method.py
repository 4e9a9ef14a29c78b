"""LSS (Ranasinghe et al., 2023): adapt a frozen image-language backbone to video without labels,
by self-distillation in language-based action concept spaces.

The authors published no code; every choice below that the paper leaves open is marked [open],
is an option of ``LssConfig`` and is measured in ``benchmarks/lss.py``.

- **Concept spaces** (``concepts.py``): category names and one description per category,
  encoded once by the base's frozen text side. No clip label or caption is read: the
  concepts come from the configuration (the Action World's verbs, or a file of names).
- **Student** (Sec. 3.2, "partially initialised"): the temporal transformer of CLAVER
  (``methods.claver.temporal.KroneckerTransformer``, mask ``mask``) over the backbone's frozen
  frame tokens, with the summary projection in and the projection out into the joint space
  identity-initialised, so the untrained student is the mean-pooling backbone plus the
  blocks' residuals [open: the temporal design]. Clip embedding: mean of the normalised frame
  embeddings, normalised ``[B, D]``.
- **Teacher**: the exponential moving average of the student, momentum ``ema_momentum``
  rising to 1 on a cosine schedule (``losses.ema_momentum``, run by the method's
  ``after_step`` hook). It sees the global views; the student sees all (``views.py``).
- **Losses** (``losses.py``): concept distillation in the ``distill_spaces``, concept
  alignment (``align_direction``), uniform prior; each switchable (``objectives``) and
  weighted (``loss_weights``). Temperatures: student 0.1, teacher 0.04, centre momentum 0.9
  (the same lab's self-supervised video transformer; [open] for LSS).
- **The model it gives**: the ``encoder`` (teacher by default, as DINO evaluates) over all
  frames and places; the text side is the base's, so zero-shot classification, every probe
  and every task apply (cosine scoring).
- **Collapse monitor**: per epoch, the teacher's mean entropy on the category space and how
  many concepts are ever its argmax, logged and kept in the summary; when at most
  ``collapse_concepts`` concepts are ever the argmax in an epoch, training stops with
  ``LssCollapsed``.

[open] also: the pooled frame embedding is the backbone's in every view (``views.py``). Under
DDP the centre, the prior's batch mean and the monitor's counts are over the global batch, so a
run on several processes is the one-process run; views are drawn from the global RNG, which
the trainer reseeds per step, so a resumed run draws the views an uninterrupted one would.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from actionkit.backbones.protocol import VideoTextModel
from actionkit.features.clip_features import ClipFeatures
from actionkit.methods.base import Method, MethodHeads, TrainingPlan, probe_shapes
from actionkit.methods.claver.masks import MASK_KINDS
from actionkit.methods.claver.temporal import KroneckerTransformer, TemporalShape, mean_of_normalised
from actionkit.methods.config import check_choice, check_objectives
from actionkit.methods.lss.concepts import ConceptSpaces, concept_spaces, encode_bases
from actionkit.methods.lss.losses import (DIRECTIONS, alignment_loss, distillation_loss, ema_momentum, entropy,
                                          teacher_targets, uniform_prior_loss)
from actionkit.methods.lss.views import View, ViewConfig, sample_views
from actionkit.scoring import CosineScoring
from actionkit.text.prompts import KINDS
from actionkit.train.distributed import gather_with_grad, is_distributed, mean_over_ranks, rank_and_world
from actionkit.train.trainer import TrainerConfig

log = logging.getLogger(__name__)

OBJECTIVES = ("distill", "align", "prior")
SPACES = ("category", "description")
ENCODERS = ("teacher", "student")


class LssCollapsed(ValueError):
    """Every clip went to the same concept: the representation collapsed."""


@dataclass
class LssConfig:
    # concept spaces (Sec. 3.1)
    concepts: str = field(default="world", metadata={
        "help": "world: every Action World verb; or a file of category names, one per line"})
    descriptions: str = field(default="", metadata={
        "help": "JSONL of {class, kind, text} (e.g. LLM-written); empty: from the lexicon (world) or generic"})
    description_kind: str = field(default="decomposition", metadata={"help": f"which kind is the basis: {', '.join(KINDS)}"})
    # student (Sec. 3.2)
    mask: str = field(default="kmt", metadata={"help": f"the student's Kronecker mask: {', '.join(MASK_KINDS)}"})
    width: int = field(default=128, metadata={"help": "width of the student's temporal transformer"})
    depth: int = field(default=1, metadata={"help": "its blocks"})
    heads: int = field(default=4, metadata={"help": "attention heads"})
    spatial_embedding: bool = field(default=True, metadata={"help": "learnable per-place embedding"})
    # views
    global_views: int = field(default=2, metadata={"help": "global views (teacher and student)"})
    local_views: int = field(default=2, metadata={"help": "local views (student only)"})
    local_frames: int = field(default=2, metadata={"help": "consecutive frames of a local view"})
    local_grid: int = field(default=3, metadata={"help": "side of a local view's sub-grid of places (0: all)"})
    global_token_drop: float = field(default=0.25, metadata={"help": "chance of dropping a place in a global view"})
    # losses (Sec. 3.3)
    objectives: tuple[str, ...] = field(default=OBJECTIVES, metadata={
        "help": "distill: concept distillation; align: category <-> description alignment; prior: uniform prior"})
    loss_weights: dict[str, float] = field(default_factory=lambda: {"distill": 1.0, "align": 1.0, "prior": 1.0},
                                           metadata={"help": "weight of each objective, NAME=NUMBER,..."})
    distill_spaces: tuple[str, ...] = field(default=SPACES, metadata={"help": "spaces distilled in"})
    align_direction: str = field(default="symmetric", metadata={"help": f"{', '.join(DIRECTIONS)}"})
    student_temperature: float = field(default=0.1, metadata={"help": "tau_s"})
    teacher_temperature: float = field(default=0.04, metadata={"help": "tau_t"})
    center_momentum: float = field(default=0.9, metadata={"help": "of the teacher's running centre"})
    ema_momentum: float = field(default=0.996, metadata={"help": "teacher EMA momentum at the start (-> 1)"})
    encoder: str = field(default="teacher", metadata={"help": "the model's video encoder: teacher or student"})
    collapse_concepts: int = field(default=1, metadata={
        "help": "stop when at most this many concepts are ever the teacher's argmax in an epoch (0: never)"})

    def __post_init__(self):
        check_choice("description_kind", self.description_kind, KINDS)
        check_choice("mask", self.mask, MASK_KINDS)
        check_choice("align_direction", self.align_direction, DIRECTIONS)
        check_choice("encoder", self.encoder, ENCODERS)
        check_objectives(self.objectives, self.loss_weights, OBJECTIVES)
        unknown = [s for s in self.distill_spaces if s not in SPACES]
        if unknown or not self.distill_spaces:
            raise ValueError(f"distill_spaces must be a non-empty subset of {','.join(SPACES)}, got {self.distill_spaces}")
        if "distill" in self.objectives and self.global_views + self.local_views < 2:
            raise ValueError("concept distillation needs at least two views")
        if self.global_views < 1:
            raise ValueError("at least one global view is needed (the teacher's)")
        for name in ("student_temperature", "teacher_temperature"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("center_momentum", "ema_momentum", "global_token_drop"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1)")

    @property
    def views(self) -> ViewConfig:
        return ViewConfig(self.global_views, self.local_views, self.local_frames, self.local_grid,
                          self.global_token_drop)


class LssHeads(CosineScoring, MethodHeads):
    """Student and teacher temporal modules ``[B, T, P, Dv], [B, T, D] -> [B, D]``; the teacher is not trained."""

    def __init__(self, shape: TemporalShape, encoder: str = "teacher", ema_start: float = 0.996):
        super().__init__()
        self.embed_dim, self.encoder, self.ema_start = shape.embed_dim, encoder, ema_start
        self.student = KroneckerTransformer(shape)
        self.teacher = copy.deepcopy(self.student).requires_grad_(False)
        self.spaces: dict = {}     # the concept spaces trained with (saved in method.json)

    def set_concepts(self, spaces: dict) -> None:
        """Keep the concept spaces and a running centre of the teacher's scores per space,
        ``center [2, C]`` (category, description): a buffer, so checkpoints and resume keep it."""
        self.spaces = spaces
        size = (len(SPACES), len(spaces["labels"]))
        if getattr(self, "center", None) is None or tuple(self.center.shape) != size:
            self.register_buffer("center", torch.zeros(size, device=self.student.temporal.device))

    def embed(self, module: KroneckerTransformer, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor,
              view: View | None = None) -> torch.Tensor:
        """A view (default: the whole clip) through ``module`` -> clip embedding ``[B, D]``."""
        if view is None:
            return mean_of_normalised(module(frame_tokens, frame_pooled))
        frames, places = view.frames.to(frame_tokens.device), view.patches.to(frame_tokens.device)
        tokens = frame_tokens[:, frames][:, :, places]                              # [B, T', P', Dv]
        return mean_of_normalised(module(tokens, frame_pooled[:, frames], frames, places))

    def video(self, base: VideoTextModel, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        return self.embed(self.teacher if self.encoder == "teacher" else self.student, frame_tokens, frame_pooled)

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        """teacher <- momentum * teacher + (1 - momentum) * student."""
        for t, s in zip(self.teacher.parameters(), self.student.parameters()):
            t.mul_(momentum).add_(s.detach(), alpha=1 - momentum)

    def json_state(self) -> dict:
        return {"concept_spaces": self.spaces}

    def load_json_state(self, state: dict) -> None:
        if state.get("concept_spaces"):
            self.set_concepts(state["concept_spaces"])


def build(base: VideoTextModel, cfg: LssConfig) -> LssHeads:
    tokens, _, _ = probe_shapes(base)                                    # [1, T, P, Dv]
    shape = TemporalShape(num_frames=tokens[1], num_patches=tokens[2], token_dim=tokens[3],
                          embed_dim=base.embed_dim, width=cfg.width, depth=cfg.depth, heads=cfg.heads,
                          mask=cfg.mask, spatial_embedding=cfg.spatial_embedding)
    return LssHeads(shape, cfg.encoder, cfg.ema_momentum)


class CollapseMonitor:
    """Per epoch: the teacher's mean entropy and which concepts were ever its argmax (over every
    process). An epoch seen only in part (the one a resumed run starts in) is not judged."""

    def __init__(self, steps_per_epoch: int, stop_at: int, num_concepts: int, history: list):
        self.steps_per_epoch, self.stop_at, self.history = max(1, steps_per_epoch), stop_at, history
        self.num_concepts, self.start = num_concepts, None
        self._reset()

    def _reset(self) -> None:
        self.entropy, self.steps = 0.0, 0
        self.wins = torch.zeros(self.num_concepts, dtype=torch.float64)

    def add(self, step: int, targets: torch.Tensor, mean_entropy: float) -> None:
        """Teacher target distributions ``[G, B, C]`` of ``step`` and their mean entropy; closes the epoch
        at its last step."""
        if self.start is None:
            self.start = step
        self.entropy += mean_entropy
        self.steps += 1
        self.wins += torch.bincount(targets.argmax(-1).flatten().cpu(), minlength=self.num_concepts).double()
        if (step + 1) % self.steps_per_epoch:
            return
        epoch = step // self.steps_per_epoch
        whole = self.start <= epoch * self.steps_per_epoch
        totals = mean_over_ranks({"entropy": self.entropy / self.steps,
                                  **{str(k): float(w) for k, w in enumerate(self.wins.tolist())}})
        self._reset()
        if not whole:
            return
        row = {"epoch": epoch, "teacher_entropy": round(totals.pop("entropy"), 4),
               "argmax_concepts": sum(1 for w in totals.values() if w > 0)}
        self.history.append(row)
        log.info("LSS epoch %d: teacher entropy %.3f nats, %d concepts ever the argmax", row["epoch"],
                 row["teacher_entropy"], row["argmax_concepts"])
        if self.stop_at > 0 and row["argmax_concepts"] <= self.stop_at:
            raise LssCollapsed(
                f"LSS collapsed in epoch {row['epoch']}: the teacher sent every clip to "
                f"{row['argmax_concepts']} concept(s) (entropy {row['teacher_entropy']:.3f} nats); keep the "
                "uniform prior on, raise its weight or the teacher temperature, or lower the learning rate")


def prepare(base: VideoTextModel, heads: LssHeads, data: ClipFeatures, cfg: LssConfig,
            device: torch.device) -> TrainingPlan:
    """Concept bases once; the step over cached frame features. Reads no label and no caption."""
    spaces: ConceptSpaces = concept_spaces(cfg.concepts, cfg.descriptions, cfg.description_kind)
    heads.set_concepts(asdict(spaces))
    category, description = (b.to(device) for b in encode_bases(base, spaces))       # [C, D] each
    bases = {"category": category, "description": description}
    weights = {k: cfg.loss_weights.get(k, 1.0) for k in cfg.objectives}
    tokens, pooled = data.frame_tokens, data.frame_pooled
    num_frames, num_patches = heads.student.shape.num_frames, heads.student.shape.num_patches
    history: list[dict] = []
    monitor: list[CollapseMonitor] = []

    def step(idx: torch.Tensor, step_index: int) -> dict[str, torch.Tensor]:
        if not monitor:      # the first step tells the batch size: an epoch is num_items // global batch
            monitor.append(CollapseMonitor(len(data) // (len(idx) * rank_and_world()[1]), cfg.collapse_concepts,
                                           len(spaces), history))
        t, p = tokens[idx].to(device).float(), pooled[idx].to(device).float()        # [B, T, P, Dv], [B, T, D]
        views = sample_views(num_frames, num_patches, cfg.views, None)               # the global RNG (per step)
        student = torch.stack([heads.embed(heads.student, t, p, v) for v in views]).float()   # [V, B, D]
        with torch.no_grad():
            teacher = torch.stack([heads.embed(heads.teacher, t, p, v) for v in views if v.is_global]).float()
        s = {name: student @ basis.t() for name, basis in bases.items()}              # [V, B, C]
        z = {name: teacher @ basis.t() for name, basis in bases.items()}              # [G, B, C]
        targets = {name: teacher_targets(z[name], heads.center[k], cfg.teacher_temperature)
                   for k, name in enumerate(SPACES)}
        losses: dict[str, torch.Tensor] = {}
        if "distill" in weights:
            losses["distill"] = torch.stack([distillation_loss(targets[name], s[name], cfg.student_temperature)
                                             for name in cfg.distill_spaces]).mean()
        if "align" in weights:
            losses["align"] = alignment_loss(s["category"], s["description"], cfg.student_temperature,
                                             cfg.align_direction)
        if "prior" in weights:
            losses["prior"] = torch.stack([uniform_prior_loss(s[name], cfg.student_temperature, gather_with_grad)
                                           for name in SPACES]).mean()
        with torch.no_grad():                       # c <- m c + (1 - m) mean over the global batch
            batch_mean = torch.stack([z[name].mean(dim=(0, 1)) for name in SPACES])   # [2, C]
            if is_distributed():
                torch.distributed.all_reduce(batch_mean)
                batch_mean /= torch.distributed.get_world_size()
            heads.center.mul_(cfg.center_momentum).add_(batch_mean, alpha=1 - cfg.center_momentum)
        teacher_entropy = entropy(targets["category"])
        monitor[0].add(step_index, targets["category"], float(teacher_entropy))
        loss = sum(weights[k] * v for k, v in losses.items())
        return {"loss": loss, **losses, "teacher_entropy": teacher_entropy}

    return TrainingPlan(step, len(data), {"concepts": len(spaces), "concept_source": spaces.source,
                                          "collapse_monitor": history})


def after_step(heads: LssHeads, step: int, total: int) -> None:
    """The teacher follows the student (EMA, cosine momentum schedule)."""
    heads.update_teacher(ema_momentum(step + 1, total, heads.ema_start))


LSS = Method(
    name="lss", model_name="lss",
    description="LSS: self-distillation in language concept spaces, no labels, Ranasinghe et al.",
    config=LssConfig, build=build, prepare=prepare, after_step=after_step,
    train_defaults=TrainerConfig(epochs=10, batch_size=64, lr=5e-4, weight_decay=0.05, warmup_steps=30,
                                 grad_clip=1.0),
)
