"""Interpretive prompts (CLAVER, Sec. 3.3, Fig. 4): many text "views" of each action class.

A class's views are

- hand templates of its name (``TEMPLATES``: 16, as in the authors' code; the wording is ours);
- verb-centred descriptions of three kinds (``KINDS``): ``decomposition`` (start state ->
  motion -> end state), ``parts`` (the body parts / objects involved) and ``synonyms``
  (other phrases for the action). The authors had an LLM write five of each per class.
  Offline there is none, so they are generated here from a lexicon: an Action World verb's
  ``Gloss`` (``world.glosses``, handed in by the caller) or, for any other label, generic
  sentences built around the name and its antonym (``text.antonyms``), which say little more
  than the name does. A user with LLM-written descriptions gives them as a JSONL file
  (``read_descriptions``: one ``{"class", "kind", "text"}`` per line); they replace the
  generated ones of the classes they cover.

``PromptBank`` holds the views per class name, which set of them is used (``PROMPT_SETS``:
``names`` = the class name alone, ``templates`` = + templates, ``descriptions`` = +
descriptions, for the ablation), and where the descriptions came from. Views are not
averaged as features: training draws K views per step (each a full C-way classifier) and
inference averages the per-view softmax probabilities (``methods.claver``).

Texts longer than the text encoder's context are cut by the encoder's tokenizer (both
built-in towers truncate), where the authors' code crashes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from actionkit.data.manifest import ManifestError, iter_json_objects
from actionkit.eval.sets import label_name
from actionkit.text.antonyms import action_antonym

KINDS: tuple[str, ...] = ("decomposition", "parts", "synonyms")
PROMPT_SETS: tuple[str, ...] = ("names", "templates", "descriptions")

TEMPLATES: tuple[str, ...] = (
    "{}",
    "a video of {}.",
    "a clip showing {}.",
    "footage of {}.",
    "the action of {}.",
    "an example of {}.",
    "someone is {}.",
    "watch: {}.",
    "a short video where {} happens.",
    "a recording of {}.",
    "what happens here is {}.",
    "a scene of {}.",
    "this clip is about {}.",
    "a moment of {}.",
    "the activity: {}.",
    "a video that shows {}.",
)


class GlossLike(Protocol):
    """What a lexicon entry gives (``world.glosses.Gloss``); ``{x}`` slots name the object."""

    start: str
    motion: str
    end: str
    things: tuple[str, ...]
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class Description:
    cls: str     # the class label
    kind: str    # one of KINDS (a file may hold other kinds; they are counted and not used)
    text: str


def from_gloss(label: str, gloss: GlossLike, obj: str = "thing") -> list[Description]:
    """The three kinds of descriptions of a class from its lexicon entry."""
    x = lambda s: s.format(x=obj)   # noqa: E731
    start, motion, end = x(gloss.start), x(gloss.motion), x(gloss.end)
    things = ", ".join(x(t) for t in gloss.things) or f"the {obj}"
    out = [
        Description(label, "decomposition", f"first {start}; then {motion}; in the end {end}."),
        Description(label, "decomposition", f"at the start {start}. {motion[0].upper() + motion[1:]}. "
                                            f"At the end {end}."),
        Description(label, "decomposition", f"{motion}, starting where {start} and stopping where {end}."),
        Description(label, "parts", f"the {obj} and {things}, while {motion}."),
        Description(label, "parts", f"what takes part: the {obj}, {things}."),
    ]
    out += [Description(label, "synonyms", x(s)) for s in gloss.synonyms]
    return out


def generic(label: str, name: str) -> list[Description]:
    """Descriptions of any class from its name alone (and its antonym, when the lexicon knows one)."""
    opposite = action_antonym(name)
    out = [
        Description(label, "decomposition", f"first the scene before {name}; then the motion of {name}; "
                                             f"in the end the result of {name}."),
        Description(label, "parts", f"the hands, the body and the objects involved in {name}."),
        Description(label, "synonyms", f"the action called {name}."),
    ]
    if opposite:
        out += [Description(label, "decomposition", f"{name}, the reverse of {opposite}: the start of one is the "
                                                    "end of the other."),
                Description(label, "synonyms", f"{name}, not {opposite}.")]
    return out


def read_descriptions(path: Path | str) -> list[Description]:
    """Rows ``{"class", "kind", "text"}`` of a JSONL file; a bad row is a ``ManifestError`` (file:line)."""
    path = Path(path)
    out = []
    for line, row in iter_json_objects(path, "description file"):
        values = {}
        for key in ("class", "kind", "text"):
            value = row.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ManifestError(path, line, f"field {key} must be a non-empty string")
            values[key] = value.strip()
        out.append(Description(values["class"], values["kind"], values["text"]))
    if not out:
        raise ManifestError(path, None, "no descriptions in the file")
    return out


@dataclass
class PromptBank:
    """Text views per class name (the name as prompted), in a fixed order."""

    views: dict[str, tuple[str, ...]]
    prompts: str = "descriptions"              # which set: one of PROMPT_SETS
    source: str = "generated"                  # where descriptions came from: generated / FILE / none
    counts: dict[str, int] = field(default_factory=dict)   # descriptions used per kind, ignored rows
    kinds: tuple[str, ...] = KINDS             # kinds of descriptions used

    def of(self, name: str) -> tuple[str, ...]:
        """The views of a class; a class the bank does not hold gets its name's views, with the
        generic descriptions when the bank uses descriptions."""
        if name in self.views:
            return self.views[name]
        return views_of(name, [d.text for d in generic(name, name) if d.kind in self.kinds], self.prompts)

    def to_json(self) -> dict:
        return {"prompts": self.prompts, "source": self.source, "counts": self.counts, "kinds": list(self.kinds),
                "views": {k: list(v) for k, v in self.views.items()}}

    @staticmethod
    def from_json(d: Mapping) -> "PromptBank":
        return PromptBank({k: tuple(v) for k, v in d.get("views", {}).items()}, d.get("prompts", "descriptions"),
                          d.get("source", "generated"), dict(d.get("counts", {})), tuple(d.get("kinds", KINDS)))


def views_of(name: str, descriptions: list[str], prompts: str) -> tuple[str, ...]:
    """A class's views for the prompt set ``prompts``."""
    if prompts not in PROMPT_SETS:
        raise ValueError(f"prompts must be one of {', '.join(PROMPT_SETS)}, got {prompts!r}")
    if prompts == "names":
        return (name,)
    views = [t.format(name) for t in TEMPLATES]
    if prompts == "descriptions":
        views += descriptions
    return tuple(dict.fromkeys(views))


def build_bank(names: Mapping[str, str], prompts: str = "descriptions", kinds: tuple[str, ...] = KINDS,
               glosses: Mapping[str, GlossLike] | None = None, user: list[Description] | None = None,
               source: str = "generated") -> PromptBank:
    """The views of every class of ``names`` (label -> name as prompted) and of every class the
    user's rows name (by label or by name; a label not in ``names`` is read with "_" as spaces).

    Descriptions per class: the user's rows for it if ``user`` has any, else its gloss's
    (``glosses``), else the generic ones; only the kinds in ``kinds`` are kept.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown description kind(s) {', '.join(unknown)}; kinds: {', '.join(KINDS)}")
    names = dict(names)
    label_of_name = {name: label for label, name in names.items()}
    by_class: dict[str, list[Description]] = {}
    for d in user or []:
        label = label_of_name.get(d.cls, d.cls)                  # a row may name the class by its name
        names.setdefault(label, label_name(label))               # a class not trained on: zero-shot
        by_class.setdefault(label, []).append(d)
    counts: Counter[str] = Counter()
    views = {}
    for label, name in names.items():
        if label in by_class:
            found = by_class[label]
        elif glosses is not None and label in glosses:
            found = from_gloss(label, glosses[label])
        else:
            found = generic(label, name)
        kept = [d.text for d in found if d.kind in kinds]
        counts.update(d.kind if d.kind in kinds else "ignored" for d in found)
        views[name] = views_of(name, kept, prompts)
    return PromptBank(views, prompts, source if prompts == "descriptions" else "none", dict(counts), tuple(kinds))
