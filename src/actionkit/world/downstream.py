"""Downstream evaluation sets built from Action World records (no annotation needed).

- class names of the 30 verbs for zero-/few-shot recognition and video-to-action retrieval;
- multiple-choice questions of two types: ``action`` (five captions of the same object with
  different verbs, the antonym among them) and ``object`` (five captions of the same verb
  and template with different coloured shapes);
- RCAD sets: the true caption among the captions of the other 29 verbs for the same object
  and template, i.e. counterfactuals that keep object and scene and change only the action.

Records need the Action World fields ``verb``, ``colour``, ``object`` and ``template``.
"""

from __future__ import annotations

import random

from actionkit.data.manifest import ClipRecord
from actionkit.eval.sets import MCQItem, RCADItem
from actionkit.world.vocabulary import COLOURS, SHAPES, VERB_PAIRS, caption, verbs

_PAIR_OF = {v: (p, v == p.backward) for p in VERB_PAIRS for v in (p.forward, p.backward)}


def is_world(records: list[ClipRecord]) -> bool:
    return bool(records) and all(r.verb in _PAIR_OF and "template" in r.extra for r in records)


def class_name(verb: str) -> str:
    """A verb's class name: its first caption template about "something"."""
    pair, backward = _PAIR_OF[verb]
    return pair.templates[0][int(backward)].format(x="thing")


def verb_caption(verb: str, record: ClipRecord, colour: str | None = None, shape: str | None = None) -> str:
    """The caption ``verb`` would have with ``record``'s template (and object unless given)."""
    pair, backward = _PAIR_OF[verb]
    return caption(pair, backward, int(record.extra["template"]), colour or record.colour, shape or record.object)


def mcqa_items(records: list[ClipRecord], seed: int = 0, num_candidates: int = 5) -> list[MCQItem]:
    rng = random.Random(seed)
    all_verbs = verbs()
    objects = [(c, s) for c in COLOURS for s in SHAPES]
    items = []
    for r in records:
        pair, _ = _PAIR_OF[r.verb]
        antonym = pair.forward if r.verb == pair.backward else pair.backward
        others = rng.sample([v for v in all_verbs if v not in (r.verb, antonym)], num_candidates - 2)
        action = [r.caption, verb_caption(antonym, r)] + [verb_caption(v, r) for v in others]
        wrong_objects = rng.sample([o for o in objects if o != (r.colour, r.object)], num_candidates - 1)
        obj = [r.caption] + [verb_caption(r.verb, r, c, s) for c, s in wrong_objects]
        for kind, question, candidates in (("action", f"What happens to the {r.colour} {r.object}?", action),
                                           ("object", "Which object is in the video?", obj)):
            order = rng.sample(range(len(candidates)), len(candidates))
            items.append(MCQItem(r, question, tuple(candidates[i] for i in order), order.index(0), kind))
    return items


def rcad_items(records: list[ClipRecord]) -> list[RCADItem]:
    return [RCADItem(r, r.caption, tuple(verb_caption(v, r) for v in verbs() if v != r.verb)) for r in records]
