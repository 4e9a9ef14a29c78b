"""LSS's two concept spaces (Sec. 3.1): category names and one description per category.

Both bases are text embeddings from the frozen base model's text side, computed once. A clip
embedding ``v [B, D]`` is projected onto a basis ``E [C, D]`` as cosines ``norm(v) . norm(E)^T``
``[B, C]``; a softmax with a temperature turns them into a distribution over the C concepts
(``methods.lss.losses``).

Where the concepts come from, read without any clip label:

- ``concepts="world"``: every verb of the Action World (``world.vocabulary.verbs``), named as
  the world's class names, each described by its lexicon entry (``world.glosses``);
- ``concepts=FILE``: one category name per line (e.g. the union of the action classes a
  researcher expects); each is described generically from its name (``text.prompts.generic``).

``descriptions=FILE.jsonl`` (``{"class", "kind", "text"}``, e.g. LLM-written) replaces the
description of the categories it names (by label or by name); the first row of the chosen
``kind`` wins. [open] which description kind is the basis: ``description_kind``, default the
decomposition (start state -> motion -> end state), the kind that names what changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from actionkit.backbones.protocol import VideoTextModel
from actionkit.data.kinetics import class_lines
from actionkit.eval.sets import label_name
from actionkit.features.text_table import TextTable
from actionkit.text.prompts import Description, from_gloss, generic, read_descriptions
from actionkit.world.downstream import class_name
from actionkit.world.glosses import GLOSSES
from actionkit.world.vocabulary import verbs

WORLD = "world"


@dataclass(frozen=True)
class ConceptSpaces:
    """C categories, one-to-one with C descriptions."""

    labels: tuple[str, ...]          # category labels (world verbs, or the file's names)
    names: tuple[str, ...]           # the category basis texts
    descriptions: tuple[str, ...]    # the description basis texts
    source: str                      # where they came from, for the summary

    def __len__(self) -> int:
        return len(self.labels)


def concept_spaces(concepts: str, descriptions: str = "", kind: str = "decomposition") -> ConceptSpaces:
    """The category and description texts of ``concepts`` ("world" or a file of names)."""
    if concepts == WORLD:
        labels = tuple(verbs())
        names = tuple(class_name(v) for v in labels)
        described = {v: _first(from_gloss(v, GLOSSES[v]), kind) for v in labels}
        source = "Action World verbs, lexicon descriptions"
    else:
        labels = tuple(name for _, name in class_lines(concepts))
        names = tuple(label_name(v) for v in labels)
        described = {v: _first(generic(v, n), kind) for v, n in zip(labels, names)}
        source = f"{concepts}, generic descriptions"
    if descriptions:
        user = [d for d in read_descriptions(descriptions) if d.kind == kind]
        by_class: dict[str, str] = {}
        for d in user:
            by_class.setdefault(d.cls, d.text)
        for label, name in zip(labels, names):
            text = by_class.get(label, by_class.get(name))
            if text is not None:
                described[label] = text
        source += f"; {sum(1 for v, n in zip(labels, names) if v in by_class or n in by_class)} from {descriptions}"
    if len(labels) < 2:
        raise ValueError(f"a concept space needs at least two categories, got {len(labels)} from {concepts}")
    return ConceptSpaces(labels, names, tuple(described[v] for v in labels), source)


def _first(descriptions: list[Description], kind: str) -> str:
    for d in descriptions:
        if d.kind == kind:
            return d.text
    return descriptions[0].text


def encode_bases(base: VideoTextModel, spaces: ConceptSpaces) -> tuple[torch.Tensor, torch.Tensor]:
    """(category basis ``[C, D]``, description basis ``[C, D]``), L2-normalised, by the frozen text side."""
    table = TextTable.build(base, list(spaces.names) + list(spaces.descriptions))
    names = F.normalize(table.pooled[table.ids(list(spaces.names))], dim=-1)
    described = F.normalize(table.pooled[table.ids(list(spaces.descriptions))], dim=-1)
    return names, described
