"""Run downstream tasks for one model over the clips of a split.

Clip embeddings are computed once per model (from a feature cache when given, else by
decoding) and every task reads them. On the Action World the class names, questions and
counterfactual sets are built from the records; on other data they come from the user's
files (``eval.sets``): ``classes`` for recognition (labels = the records' ``verb``),
``questions`` for multiple-choice QA, ``counterfactuals`` for RCAD.
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from actionkit.backbones.protocol import Backbone
from actionkit.data.clips import ReadOptions, SkippedClip
from actionkit.data.manifest import ClipRecord
from actionkit.eval import tasks as T
from actionkit.eval.sets import read_class_list, read_counterfactuals, read_mcqa
from actionkit.features.clip_features import ClipFeatures
from actionkit.probes.actionbench import encode_clips
from actionkit.world import downstream as world

log = logging.getLogger(__name__)

TASKS: tuple[str, ...] = ("zeroshot", "fewshot", "retrieval", "video2action", "mcqa", "rcad")


@dataclass
class EvalInputs:
    """What the tasks need besides the clips: user files (None on the Action World)."""

    classes: tuple[Path | str, ...] = ()       # class lists (split files) for zeroshot / fewshot / video2action
    questions: Path | str | None = None        # multiple-choice JSONL
    counterfactuals: Path | str | None = None  # RCAD JSONL
    shots: tuple[int, ...] = T.SHOTS
    seeds: tuple[int, ...] = (0, 1, 2)
    seed: int = 0                              # of the Action World's question building


@dataclass
class EvalResult:
    metrics: dict[str, dict[str, float]]
    n_clips: int
    skipped: list[SkippedClip] = field(default_factory=list)


@torch.no_grad()
def embed_clips(model: Backbone, records: list[ClipRecord], root: Path | str, features: ClipFeatures | None = None,
                batch_size: int = 32, workers: int = 2, progress: bool = True,
                device: str | torch.device = "cpu", read: ReadOptions = ReadOptions()
                ) -> tuple[list[ClipRecord], torch.Tensor, list[SkippedClip]]:
    """(the clips that could be embedded, their embeddings [N, (K,) D], the skipped ones)."""
    if features is not None:
        f = features.for_records(records)
        return f.records, f.videos(model, device=device), f.skipped
    skipped: list[SkippedClip] = []
    indices, video, _ = encode_clips(model, records, root, batch_size, workers, progress, skipped, device, read,
                                     with_reversed=False)
    if not indices:
        raise RuntimeError(f"none of the {len(records)} clips under {root} could be read")
    return [records[i] for i in indices], video, skipped


def _class_setup(records: list[ClipRecord], class_file: Path | str | None
                 ) -> tuple[list[ClipRecord], torch.Tensor, list[str]]:
    """(records of the evaluated classes, their labels, the class names as prompted)."""
    counts = Counter(r.verb for r in records)
    if class_file is not None:
        classes = read_class_list(class_file, set(counts), counts)
    else:
        classes = sorted(counts)
    position = {c: i for i, c in enumerate(classes)}
    kept = [r for r in records if r.verb in position]
    on_world = world.is_world(kept)
    names = [world.class_name(c) if on_world else c.replace("_", " ") for c in classes]
    return kept, torch.tensor([position[r.verb] for r in kept]), names


def _over_splits(runs: list[dict[str, float]]) -> dict[str, float]:
    """One split: its metrics. Several: each metric's mean, with ``<metric>_splits_std``."""
    if len(runs) == 1:
        return runs[0]
    out: dict[str, float] = {"splits": len(runs)}
    for key in runs[0]:
        values = [r[key] for r in runs]
        out[key] = statistics.fmean(values)
        if not key.endswith("_std") and key not in ("n", "classes"):
            out[f"{key}_splits_std"] = statistics.pstdev(values)
    return out


def _rows(records: list[ClipRecord], video: torch.Tensor, wanted: list[ClipRecord]) -> torch.Tensor:
    at = {r.id: i for i, r in enumerate(records)}
    return video[[at[r.id] for r in wanted]]


def evaluate(model: Backbone, records: list[ClipRecord], root: Path | str, tasks: tuple[str, ...] = TASKS,
             inputs: EvalInputs = EvalInputs(), features: ClipFeatures | None = None, progress: bool = True,
             workers: int = 2, device: str | torch.device = "cpu", read: ReadOptions = ReadOptions()) -> EvalResult:
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown task(s) {', '.join(unknown)}; tasks: {', '.join(TASKS)}")
    on_world = world.is_world(records)
    questions = read_mcqa(inputs.questions) if "mcqa" in tasks and inputs.questions else None
    counterfactuals = read_counterfactuals(inputs.counterfactuals) if "rcad" in tasks and inputs.counterfactuals \
        else None
    for task, given in (("mcqa", questions), ("rcad", counterfactuals)):
        if task in tasks and given is None and not on_world:
            raise ValueError(f"task {task} needs --{'questions' if task == 'mcqa' else 'counterfactuals'} FILE "
                             "outside the Action World")

    clips, video, skipped = embed_clips(model, records, root, features, workers=workers, progress=progress,
                                        device=device, read=read)
    metrics: dict[str, dict[str, float]] = {}
    recognition = [t for t in ("zeroshot", "fewshot", "video2action") if t in tasks]
    if recognition:
        per_split: dict[str, list[dict[str, float]]] = {t: [] for t in recognition}
        for class_file in inputs.classes or (None,):        # several split files: mean +- std over them
            kept, labels, names = _class_setup(clips, class_file)
            v = _rows(clips, video, kept)
            if "zeroshot" in tasks:
                per_split["zeroshot"].append(T.zero_shot(model, v, labels, names))
            if "fewshot" in tasks:
                per_split["fewshot"].append(T.few_shot(model, v, labels, names, shots=inputs.shots,
                                                       seeds=inputs.seeds))
            if "video2action" in tasks:
                per_split["video2action"].append(T.video_to_action(model, v, labels, names))
        metrics.update({t: _over_splits(runs) for t, runs in per_split.items()})
    if "retrieval" in tasks:
        metrics["retrieval"] = T.retrieval(model, video, [r.caption for r in clips])
    # The videos of user-given questions / counterfactual sets: clips already embedded are reused,
    # the others are embedded once for both tasks.
    given_items = [it for items in (questions, counterfactuals) if items for it in items]
    have = {c.id for c in clips}
    new = [r for r in {it.record.id: it.record for it in given_items}.values() if r.id not in have]
    pool_records, pool_video = clips, video
    if new:
        try:
            kept, more_video, more_skipped = embed_clips(model, new, root, features, workers=workers,
                                                         progress=progress, device=device, read=read)
            pool_records, pool_video = clips + kept, torch.cat([video, more_video])
            skipped = skipped + more_skipped
        except RuntimeError as e:          # not one of them readable: all skipped, the tasks say so below
            skipped = skipped + [SkippedClip(r.id, r.path, str(e)) for r in new]
    embedded = {r.id for r in pool_records}
    for task in ("mcqa", "rcad"):
        if task not in tasks:
            continue
        given = questions if task == "mcqa" else counterfactuals
        if given is None:       # Action World: built from the clips that were embedded
            items = world.mcqa_items(clips, inputs.seed) if task == "mcqa" else world.rcad_items(clips)
        else:
            items = [it for it in given if it.record.id in embedded]
        if not items:
            raise RuntimeError(f"task {task}: none of its {len(given or [])} items has a readable video")
        v = _rows(pool_records, pool_video, [it.record for it in items])
        metrics[task] = T.multiple_choice(model, v, items) if task == "mcqa" else T.rcad(model, v, items)
    return EvalResult(metrics, len(clips), skipped)
