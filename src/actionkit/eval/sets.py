"""Evaluation sets a user provides: class lists (split files), multiple-choice questions, RCAD sets.

Formats:

- class list: one class name per line (blank lines ignored), e.g. the
  test classes of a zero-shot split; every class must be in the data's label set and have
  at least one clip;
- multiple-choice QA, JSONL: ``{"id", "path", "question", "candidates": [...], "answer": int,
  "type"?, "num_candidates"?, "start"?, "end"?}``;
- RCAD, JSONL: ``{"id", "path", "caption", "counterfactuals": [...], "start"?, "end"?}``.

A bad row raises ``ManifestError`` naming the file, the line and the problem.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from actionkit.data.kinetics import class_lines
from actionkit.data.manifest import ClipRecord, ManifestError, iter_json_objects


@dataclass
class TaskSets:
    """What the downstream tasks need besides the clips, built by the caller (``actionkit.tasksets``:
    from Action World records, or from the user's files)."""

    class_lists: tuple[list[str] | None, ...] = (None,)   # per split file: the evaluated classes (None: every
                                                          # label of the clips); several -> mean +- std
    class_names: dict[str, str] = field(default_factory=dict)   # label -> text prompted (default: "_" as spaces)
    questions: list["MCQItem"] | None = None               # multiple-choice QA items
    counterfactuals: list["RCADItem"] | None = None        # RCAD items

    def prompt(self, label: str) -> str:
        return self.class_names.get(label, label_name(label))


def label_name(label: str) -> str:
    """A class label as prompted when nothing else names it: "_" read as spaces."""
    return label.replace("_", " ")


@dataclass(frozen=True)
class MCQItem:
    record: ClipRecord          # the video (caption = question)
    question: str
    candidates: tuple[str, ...]
    answer: int                 # index into candidates
    type: str                   # question type, for accuracy by type


@dataclass(frozen=True)
class RCADItem:
    record: ClipRecord
    caption: str                       # the true caption
    counterfactuals: tuple[str, ...]   # same objects and scene, another action


def read_class_list(path: Path | str, label_set: set[str] | None = None,
                    counts: Counter[str] | None = None) -> list[str]:
    """Class names of a split file, in file order; checked against ``label_set`` and ``counts``."""
    classes = []
    for line, name in class_lines(path):
        if label_set is not None and name not in label_set:
            raise ManifestError(path, line, f"class {name!r} is not in the label set of the data "
                                            f"({len(label_set)} classes)")
        if counts is not None and counts[name] == 0:
            raise ManifestError(path, line, f"class {name!r} has no clips in the evaluated split")
        classes.append(name)
    if not classes:
        raise ManifestError(path, None, "no class names in the file")
    return classes


def _text(row: dict, key: str, path: Path, line: int) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(path, line, f"field {key} must be a non-empty string")
    return value


def _texts(row: dict, key: str, path: Path, line: int) -> list[str]:
    value = row.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ManifestError(path, line, f"field {key} must be a non-empty list of non-empty strings")
    return value


def _record(row: dict, path: Path, line: int, caption: str, kind: str) -> ClipRecord:
    times = {k: row.get(k) for k in ("start", "end")}
    for k, v in times.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
            raise ManifestError(path, line, f"field {k} must be a non-negative number of seconds")
    return ClipRecord(id=_text(row, "id", path, line), path=_text(row, "path", path, line), caption=caption,
                      verb=kind, split="test", start=times["start"], end=times["end"])


def read_mcqa(path: Path | str, num_candidates: int | None = None) -> list[MCQItem]:
    """Questions of a JSONL file; a row with fewer candidates than declared (its own
    ``num_candidates`` or the argument) or an answer out of range is refused."""
    path = Path(path)
    items = []
    for line, row in iter_json_objects(path, "question file"):
        question = _text(row, "question", path, line)
        candidates = _texts(row, "candidates", path, line)
        declared = row.get("num_candidates", num_candidates)
        if declared is not None and (not isinstance(declared, int) or len(candidates) < declared):
            raise ManifestError(path, line, f"{len(candidates)} candidates, fewer than the {declared} declared")
        answer = row.get("answer")
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(candidates):
            raise ManifestError(path, line, f"answer must be an index into the {len(candidates)} candidates, "
                                            f"got {answer!r}")
        kind = row.get("type", "all")
        if not isinstance(kind, str) or not kind:
            raise ManifestError(path, line, "field type must be a non-empty string")
        items.append(MCQItem(_record(row, path, line, question, kind), question, tuple(candidates), answer, kind))
    if not items:
        raise ManifestError(path, None, "no questions in the file")
    return items


def read_counterfactuals(path: Path | str) -> list[RCADItem]:
    """RCAD items of a JSONL file: each video's caption and its counterfactual captions."""
    path = Path(path)
    items = []
    for line, row in iter_json_objects(path, "counterfactual file"):
        caption = _text(row, "caption", path, line)
        counterfactuals = _texts(row, "counterfactuals", path, line)
        if caption in counterfactuals:
            raise ManifestError(path, line, "a counterfactual equals the caption")
        items.append(RCADItem(_record(row, path, line, caption, "rcad"), caption, tuple(counterfactuals)))
    if not items:
        raise ManifestError(path, None, "no items in the file")
    return items
