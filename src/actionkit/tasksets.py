"""Which downstream sets a run uses: built from Action World records, or read from the user's files.

The one place that tells the two apart, so ``eval`` knows no dataset and ``world`` no user
file. A user file always wins over the built set of the same task.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from actionkit.data.manifest import ClipRecord
from actionkit.eval.sets import TaskSets, label_name, read_class_list, read_counterfactuals, read_mcqa
from actionkit.world import downstream as world
from actionkit.world.glosses import GLOSSES, Gloss
from actionkit.world.vocabulary import verbs


@dataclass
class TaskFiles:
    """The user's files for the downstream tasks (none needed on the Action World)."""

    classes: tuple[Path | str, ...] = ()       # class lists (split files) for zeroshot / fewshot / video2action
    questions: Path | str | None = None        # multiple-choice JSONL
    counterfactuals: Path | str | None = None  # RCAD JSONL
    seed: int = 0                              # of the Action World's question building


def task_sets(records: list[ClipRecord], files: TaskFiles = TaskFiles(), tasks: tuple[str, ...] = ()) -> TaskSets:
    """The sets for ``tasks`` on ``records``: the user's files where given, the Action World's built
    sets where the records are Action World clips, nothing otherwise (``eval`` then says what is missing)."""
    counts = Counter(r.verb for r in records)
    on_world = world.is_world(records)
    class_lists = tuple(read_class_list(f, set(counts), counts) for f in files.classes) or (None,)
    questions = counterfactuals = None
    if "mcqa" in tasks:
        questions = read_mcqa(files.questions) if files.questions else (
            world.mcqa_items(records, files.seed) if on_world else None)
    if "rcad" in tasks:
        counterfactuals = read_counterfactuals(files.counterfactuals) if files.counterfactuals else (
            world.rcad_items(records) if on_world else None)
    names = {verb: world.class_name(verb) for verb in counts} if on_world else {}
    return TaskSets(class_lists, names, questions, counterfactuals)


def training_labels(records: list[ClipRecord], classify: bool) -> tuple[list[str], torch.Tensor]:
    """The sorted labels of ``records`` and each record's index among them ``[N]``; with ``classify``, fewer
    than two labels is a ValueError (a classifier needs two classes)."""
    labels_sorted = sorted({r.verb for r in records})
    if classify and len(labels_sorted) < 2:
        raise ValueError(f"classification needs at least two classes among the training clips, found "
                         f"{len(labels_sorted)}")
    label_of = {label: i for i, label in enumerate(labels_sorted)}
    return labels_sorted, torch.tensor([label_of[r.verb] for r in records])


def class_vocabulary(records: list[ClipRecord]) -> tuple[dict[str, str], dict[str, Gloss]]:
    """Every class a model trained on ``records`` may be asked about: ``({label: name as prompted},
    {label: lexicon entry})``. On the Action World, every verb of the world with its gloss (so
    verbs a zero-shot split holds out of training have their descriptions too); otherwise the
    records' labels, "_" read as spaces, and no lexicon entries."""
    if world.is_world(records):
        return {verb: world.class_name(verb) for verb in verbs()}, {v: GLOSSES[v] for v in verbs() if v in GLOSSES}
    return {label: label_name(label) for label in sorted({r.verb for r in records})}, {}
