"""A small reusable training loop: AdamW, warm-up + cosine schedule, clipping, AMP, resume.

The loop owns no model logic: it calls ``step_fn(indices, step)`` which returns a dict of
scalar tensors with at least ``"loss"``. What makes ``--resume`` land on exactly the result
of an uninterrupted run:

- the batch order of epoch e is a permutation drawn from ``(seed, e)`` alone;
- the global torch RNG is reseeded from ``(seed, step)`` before every step, so random
  choices inside a step (e.g. frame shuffles) do not depend on what ran before;
- the optimizer state and the step are checkpointed (safetensors + JSON), and the learning
  rate is a pure function of the step.

Parameter groups: a module may define ``optimizer_groups() -> list[dict]``, each dict with
``params`` and optionally ``weight_decay`` and ``lr_scale`` (a multiple of the scheduled
learning rate), e.g. no weight decay on a temperature, or 10x the learning rate on some
layers; otherwise all trainable parameters form one group. ``after_step(step, total)`` runs
after every optimizer step (an EMA teacher follows its student there).

Files in ``out_dir``: ``metrics.jsonl`` (one row per logged step) and ``checkpoint/``
(``module.safetensors``, ``optimizer.safetensors``, ``state.json``).

Under ``torchrun`` (a process group of W ranks) every rank draws the same global batch and
takes its W-th slice (rank r: items ``[r*B/W, (r+1)*B/W)``, the layout ``rank_offset``
assumes), losses gather their negatives across ranks, and gradients are averaged over
ranks before clipping, so each step equals the one-process step on the global batch up to
float rounding. Only rank 0 writes metrics and checkpoints and shows progress.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from actionkit.checkpoint import check_config, load_tensors, read_json, save_tensors, write_json_atomic
from actionkit.train.optimizer_state import load_optimizer_state, optimizer_state
from actionkit.train.distributed import all_finite, average_gradients, mean_over_ranks, rank_and_world

log = logging.getLogger(__name__)

StepFn = Callable[[torch.Tensor, int], dict[str, torch.Tensor]]
AfterStepFn = Callable[[int, int], None]     # (step just taken, total steps): e.g. an EMA teacher update
# Settings that may differ between a run and its resumption without changing the result.
RESUMABLE_CHANGES = ("workers", "log_every", "checkpoint_every", "device")


@dataclass
class TrainerConfig:
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 50
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "cpu"
    log_every: int = 10
    checkpoint_every: int = 0   # steps between checkpoints; 0 = at the end of every epoch


def cosine_with_warmup(step: int, total: int, warmup: int) -> float:
    """Learning-rate multiplier: linear warm-up, then cosine decay to 0."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


class Trainer:
    def __init__(self, module: nn.Module, step_fn: StepFn, num_items: int, cfg: TrainerConfig,
                 out_dir: Path | str, desc: str = "train", progress: bool = True, model_config: dict | None = None,
                 after_step: AfterStepFn | None = None):
        self.module, self.step_fn, self.cfg, self.after_step = module, step_fn, cfg, after_step
        self.model_config = model_config or {}
        self.out_dir = Path(out_dir)
        self.desc, self.progress = desc, progress
        self.steps_per_epoch = num_items // cfg.batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(f"{num_items} training items are fewer than one batch of {cfg.batch_size}")
        self.num_items = num_items
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.rank, self.world_size = rank_and_world()
        if cfg.batch_size % self.world_size:
            raise ValueError(f"batch size {cfg.batch_size} is not divisible by the {self.world_size} ranks")
        self.params = [p for p in module.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self._groups(module), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.device = torch.device(cfg.device)

    def _groups(self, module: nn.Module) -> list[dict]:
        """The module's own parameter groups (trainable parameters only), or one group of all of them."""
        if not hasattr(module, "optimizer_groups"):
            return [{"params": self.params}]
        groups = [dict(g, params=[p for p in g["params"] if p.requires_grad]) for g in module.optimizer_groups()]
        grouped = {id(p) for g in groups for p in g["params"]}
        if grouped != {id(p) for p in self.params} or sum(len(g["params"]) for g in groups) != len(self.params):
            raise ValueError(f"{type(module).__name__}.optimizer_groups() must list every trainable parameter once")
        return [g for g in groups if g["params"]]

    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / "checkpoint"

    def batch(self, step: int) -> torch.Tensor:
        epoch, j = divmod(step, self.steps_per_epoch)
        gen = torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch)
        perm = torch.randperm(self.num_items, generator=gen)
        return perm[j * self.cfg.batch_size:(j + 1) * self.cfg.batch_size]

    def local_batch(self, step: int) -> torch.Tensor:
        """This rank's slice of the global batch of ``step`` (the whole batch for one process)."""
        size = self.cfg.batch_size // self.world_size
        return self.batch(step)[self.rank * size:(self.rank + 1) * size]

    def save_checkpoint(self, step: int) -> None:
        tensors, meta = optimizer_state(self.optimizer)
        save_tensors(self.checkpoint_dir / "module.safetensors", self.module.state_dict())
        save_tensors(self.checkpoint_dir / "optimizer.safetensors", tensors)
        # state.json last: a checkpoint counts only once all its files are complete.
        write_json_atomic(self.checkpoint_dir / "state.json",
                          {"step": step, "total_steps": self.total_steps, "config": asdict(self.cfg),
                           "model_config": self.model_config, **meta})

    def load_checkpoint(self) -> int:
        state_path = self.checkpoint_dir / "state.json"
        if not state_path.is_file():
            log.info("no checkpoint in %s; starting from step 0", self.checkpoint_dir)
            return 0
        state = read_json(state_path)
        # Resuming with other settings would not give the uninterrupted result: refuse, naming them.
        check_config(state.get("model_config", {}), self.model_config, state_path)
        check_config({k: v for k, v in state["config"].items() if k not in RESUMABLE_CHANGES},
                     {k: v for k, v in asdict(self.cfg).items() if k not in RESUMABLE_CHANGES}, state_path)
        self.module.load_state_dict(load_tensors(self.checkpoint_dir / "module.safetensors", self.device))
        load_optimizer_state(self.optimizer, load_tensors(self.checkpoint_dir / "optimizer.safetensors"), state)
        log.info("resuming from step %d of %d", state["step"], self.total_steps)
        return int(state["step"])

    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def _metrics_rows(self, start: int) -> list[str]:
        """Rows of an earlier run up to the resumed step (later ones are redone)."""
        path = self.out_dir / "metrics.jsonl"
        if start == 0 or not path.is_file():
            return []
        return [line for line in path.read_text().splitlines(keepends=True)
                if line.strip() and json.loads(line)["step"] < start]

    def fit(self, resume: bool = False) -> dict[str, float]:
        """Train to the end (continuing from the checkpoint if ``resume``); returns the last metrics."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        start = self.load_checkpoint() if resume else 0
        lead = self.rank == 0
        metrics_path = self.out_dir / "metrics.jsonl"
        if lead:
            metrics_path.write_text("".join(self._metrics_rows(start)))
        every = self.cfg.checkpoint_every or self.steps_per_epoch
        last: dict[str, float] = {}
        self.module.train()
        bar = tqdm(total=self.total_steps, initial=start, desc=self.desc, unit="step",
                   disable=not (self.progress and lead))
        with (metrics_path.open("a") if lead else nullcontext()) as metrics:
            for step in range(start, self.total_steps):
                lr = self.cfg.lr * cosine_with_warmup(step, self.total_steps, self.cfg.warmup_steps)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr * group.get("lr_scale", 1.0)
                torch.manual_seed(self.cfg.seed * 1_000_003 + step)
                with self._autocast():
                    out = self.step_fn(self.local_batch(step), step)
                loss = out["loss"]
                if not all_finite(loss):
                    raise FloatingPointError(f"loss became {loss.item()} at step {step} (on this rank or another)")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                average_gradients(self.params)
                if self.cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
                self.optimizer.step()
                if self.after_step is not None:
                    self.after_step(step, self.total_steps)
                last = mean_over_ranks({k: float(v.detach()) for k, v in out.items()})
                if lead and (step % self.cfg.log_every == 0 or step == self.total_steps - 1):
                    row = {"step": step, "epoch": step // self.steps_per_epoch, "lr": lr, **last}
                    metrics.write(json.dumps(row) + "\n")
                    metrics.flush()
                bar.update()
                bar.set_postfix(loss=f"{last['loss']:.3f}")
                if lead and ((step + 1) % every == 0 or step + 1 == self.total_steps):
                    self.save_checkpoint(step + 1)
        bar.close()
        self.module.eval()
        return last
