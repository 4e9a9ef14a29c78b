"""Build ActionBench records (Paxion) from captioned clips: antonym and object-shuffled captions.

Each kept record gets ``antonym_caption`` (the action antonym of its label) and
``object_replaced_caption`` (its label with the objects swapped for nouns of other records),
plus the fields of the original ActionBench SSv2 records in ``extra``: ``label``, ``template``,
``placeholders``, ``label_action_antonym_clip_text``, ``template_action_antonym_clip_text``,
``label_object_shuffled_clip_text``.

The antonym is taken of the template and the placeholders filled back in, so object words
("left shoe") are never flipped; a label that is not its filled template is antonymised
directly. A record without an antonym is dropped (counted by reason); one whose objects do not
occur in its label is kept with an empty object-replaced caption (counted apart, in
``no_object_replacement``), since the antonym probe can still use it.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from actionkit.data.manifest import ClipRecord, write_manifest
from actionkit.data.ssv2 import fill_template, template_slots
from actionkit.text.antonyms import antonym_with_reason
from actionkit.text.objects import build_vocabulary, object_replaced, object_spans

log = logging.getLogger(__name__)


@dataclass
class BenchBuild:
    records: list[ClipRecord]                                   # the kept records, input order
    dropped: dict[str, int] = field(default_factory=dict)       # reason -> records left out
    kept: int = 0
    no_object_replacement: dict[str, int] = field(default_factory=dict)   # reason -> kept records without one
    dropped_ids: list[tuple[str, str]] = field(default_factory=list)      # (record id, reason), input order


def _label_antonym(label: str, template: str, placeholders: list[str],
                   template_antonym: str) -> tuple[str | None, str]:
    same_slots = len(template_slots(template)) == len(placeholders) == len(template_slots(template_antonym))
    if same_slots and fill_template(template, placeholders).lower() == label.lower():
        filled = fill_template(template_antonym, placeholders)
        if label[:1].islower():          # SSv2 labels start in lowercase, templates do not
            filled = filled[:1].lower() + filled[1:]
        return filled, ""
    antonym, reason = antonym_with_reason(label)
    return antonym, f"label: {reason}"


def _object_reason(label: str, placeholders: list[str]) -> str:
    if not placeholders:
        return "no object: the record has no placeholders"
    if not object_spans(label, placeholders):
        return "object not found in label"
    return "no other noun in the vocabulary"


def build_actionbench(records: list[ClipRecord], seed: int = 0) -> BenchBuild:
    """ActionBench records of ``records``; object nouns drawn with ``random.Random(seed)``."""
    rng = random.Random(seed)
    vocabulary = build_vocabulary(records)
    kept: list[ClipRecord] = []
    dropped: Counter[str] = Counter()
    dropped_ids: list[tuple[str, str]] = []
    no_object: Counter[str] = Counter()
    for r in records:
        label = r.extra.get("label") or r.caption
        template = r.extra.get("template") or r.verb
        placeholders = list(r.extra.get("placeholders") or ([r.object] if r.object else []))
        template_antonym, reason = antonym_with_reason(template)
        if template_antonym is None:
            dropped[reason] += 1
            dropped_ids.append((r.id, reason))
            continue
        label_antonym, reason = _label_antonym(label, template, placeholders, template_antonym)
        if label_antonym is None:
            dropped[reason] += 1
            dropped_ids.append((r.id, reason))
            continue
        shuffled = object_replaced(label, placeholders, vocabulary, rng)
        if shuffled is None:
            no_object[_object_reason(label, placeholders)] += 1
        kept.append(replace(r, antonym_caption=label_antonym, object_replaced_caption=shuffled or "", extra={
            **r.extra, "label": label, "template": template, "placeholders": placeholders,
            "label_action_antonym_clip_text": label_antonym,
            "template_action_antonym_clip_text": template_antonym,
            "label_object_shuffled_clip_text": shuffled or "",
        }))
    log.info("ActionBench: kept %d of %d records (%d dropped, %d without an object replacement)",
             len(kept), len(records), sum(dropped.values()), sum(no_object.values()))
    return BenchBuild(kept, dict(dropped.most_common()), len(kept), dict(no_object.most_common()), dropped_ids)


def write_actionbench(path: Path | str, build: BenchBuild) -> None:
    """Write the kept records as a JSONL manifest (readable by ``actionkit probe``)."""
    write_manifest(path, build.records)
