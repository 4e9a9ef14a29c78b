"""Run downstream tasks for one model over the clips of a split.

Clip representations are computed once per model (from a feature cache when given, else by
decoding; or handed in already computed, as ``compare`` does) and every task reads them.
What the tasks need besides the clips (class lists, questions, counterfactual sets) comes in
a ``TaskSets``, built by the caller (``actionkit.tasksets``): this module knows no dataset.
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from actionkit.backbones.protocol import VideoTextModel
from actionkit.data.clips import ReadOptions, SkippedClip
from actionkit.data.manifest import ClipRecord
from actionkit.eval import tasks as T
from actionkit.eval.explanations import explanation_report
from actionkit.eval.sets import TaskSets
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.embeddings import ClipEmbeddings, embed_clips

log = logging.getLogger(__name__)

TASKS: tuple[str, ...] = ("zeroshot", "fewshot", "retrieval", "video2action", "mcqa", "rcad")
FLAG_OF = {"mcqa": "--questions", "rcad": "--counterfactuals"}


@dataclass
class EvalResult:
    metrics: dict[str, dict[str, float]]
    n_clips: int
    skipped: list[SkippedClip] = field(default_factory=list)
    explanations: dict | None = None     # eval.explanations.explanation_report of the clips, if the model explains


def class_setup(clips: list[ClipRecord], classes: list[str] | None, sets: TaskSets
                 ) -> tuple[list[ClipRecord], torch.Tensor, list[str]]:
    """(the clips of the evaluated classes, their labels, the class names as prompted)."""
    classes = sorted(Counter(r.verb for r in clips)) if classes is None else classes
    position = {c: i for i, c in enumerate(classes)}
    kept = [r for r in clips if r.verb in position]
    return kept, torch.tensor([position[r.verb] for r in kept]), [sets.prompt(c) for c in classes]


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


def check_tasks(tasks: tuple[str, ...], sets: TaskSets) -> None:
    """Unknown task names, and QA / RCAD without their items, are errors before any work."""
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown task(s) {', '.join(unknown)}; tasks: {', '.join(TASKS)}")
    for task, items in (("mcqa", sets.questions), ("rcad", sets.counterfactuals)):
        if task in tasks and items is None:
            raise ValueError(f"task {task} needs {FLAG_OF[task]} FILE outside the Action World")


def evaluate(model: VideoTextModel, records: list[ClipRecord], root: Path | str, tasks: tuple[str, ...] = TASKS,
             sets: TaskSets = TaskSets(), features: ClipFeatures | None = None, progress: bool = True,
             workers: int = 2, device: str | torch.device = "cpu", read: ReadOptions = ReadOptions(),
             shots: tuple[int, ...] = T.SHOTS, fewshot_seeds: tuple[int, ...] = (0, 1, 2),
             embedded: ClipEmbeddings | None = None) -> EvalResult:
    """Every task of ``tasks`` for ``model`` on ``records`` (``embedded``: their representations, if
    already computed). Clips of questions / counterfactual sets that are not among ``records``
    are embedded once for both tasks."""
    check_tasks(tasks, sets)

    def embed(wanted: list[ClipRecord]) -> ClipEmbeddings:
        return embed_clips(model, wanted, root, features, with_reversed=False, workers=workers, progress=progress,
                           device=device, read=read)

    clips = embedded if embedded is not None else embed(records)
    if not len(clips):
        raise RuntimeError(f"none of the {len(records)} clips under {root} could be read")
    metrics: dict[str, dict[str, float]] = {}
    recognition = [t for t in ("zeroshot", "fewshot", "video2action") if t in tasks]
    if recognition:
        per_split: dict[str, list[dict[str, float]]] = {t: [] for t in recognition}
        for classes in sets.class_lists:                 # several split files: mean +- std over them
            kept, labels, names = class_setup(clips.records, classes, sets)
            v = clips.rows(kept)
            if "zeroshot" in tasks:
                per_split["zeroshot"].append(T.zero_shot(model, v, labels, names))
            if "fewshot" in tasks:
                per_split["fewshot"].append(T.few_shot(model, v, labels, names, shots=shots, seeds=fewshot_seeds))
            if "video2action" in tasks:
                per_split["video2action"].append(T.video_to_action(model, v, labels, names))
        metrics.update({t: _over_splits(runs) for t, runs in per_split.items()})
    if "retrieval" in tasks:
        metrics["retrieval"] = T.retrieval(model, clips.video, [r.caption for r in clips.records])

    given = {"mcqa": sets.questions if "mcqa" in tasks else None,
             "rcad": sets.counterfactuals if "rcad" in tasks else None}
    asked = {r.id for r in records} | {r.id for r in clips.records}   # embedded or already skipped
    new = list({it.record.id: it.record for items in given.values() if items for it in items
                if it.record.id not in asked}.values())
    pool, skipped = clips, list(clips.skipped)
    if new:
        more = embed(new)
        pool, skipped = pool.extended(more), skipped + more.skipped
    embedded_ids = {r.id for r in pool.records}
    for task, items in given.items():
        if items is None:
            continue
        items = [it for it in items if it.record.id in embedded_ids]
        if not items:
            raise RuntimeError(f"task {task}: none of its items has a readable video")
        v = pool.rows([it.record for it in items])
        metrics[task] = T.multiple_choice(model, v, items) if task == "mcqa" else T.rcad(model, v, items)
    said = None if clips.explanations is None else explanation_report(clips.records, clips.explanations)
    return EvalResult(metrics, len(clips), skipped, said)
