"""ALT's entity corpus: the things an action can be explained by, each a unit + a short description.

Four kinds (ALT, Sec. 3.2): ``body_part``, ``object``, ``scene`` and ``motion`` (primitive
motions such as "moving left", "getting bigger", "turning"). The paper builds its corpus with
part-of-speech tagging of the label names, an LLM and dictionary glosses; none of that is
published, so here (the spec's [open] choice) the corpus is built offline:

- ``object``: the object nouns of the clips (``text.objects.build_vocabulary``: each record's
  placeholders or ``object``), and the things the lexicon's glosses name ("a box", "a lid");
- ``body_part``, ``scene``: fixed lists reused across datasets, plus the glosses' things that
  are body parts (a hand) or surroundings (a background, the camera);
- ``motion``: ``MOTION_PRIMITIVES``, a fixed list of primitive motions.

``read_entities`` reads a user corpus (``--entities FILE.jsonl``: ``{"unit", "description",
"kind"}`` per line). The text an entity is encoded by is ``"unit: description"`` (``text``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from actionkit.data.manifest import ClipRecord, ManifestError, iter_json_objects
from actionkit.text.objects import build_vocabulary

KINDS: tuple[str, ...] = ("body_part", "object", "scene", "motion")

BODY_PARTS: dict[str, str] = {
    "hand": "a human hand with fingers and a palm",
    "fingers": "the fingers of a hand, gripping or pushing",
    "arm": "an arm reaching out from the side",
    "head": "a person's head and face",
    "legs": "legs and feet, standing or walking",
    "body": "a person's whole body",
}

SCENES: dict[str, str] = {
    "plain background": "a flat, empty grey background",
    "table top": "the flat surface of a table",
    "indoors": "a room inside a building",
    "outdoors": "the open air, sky and ground",
}

MOTION_PRIMITIVES: dict[str, str] = {
    "moving right": "something moving towards the right side",
    "moving left": "something moving towards the left side",
    "moving up": "something rising towards the top",
    "moving down": "something sinking towards the bottom",
    "getting bigger": "something growing larger",
    "getting smaller": "something becoming smaller",
    "coming closer": "something approaching the camera",
    "going away": "something moving away from the camera",
    "appearing": "something becoming visible",
    "fading away": "something becoming fainter until it is gone",
    "opening": "a lid or door swinging open",
    "closing": "a lid or door swinging shut",
    "filling up": "liquid rising inside a container",
    "emptying": "liquid draining out of a container",
    "turning clockwise": "something rotating the way a clock's hands go",
    "turning counterclockwise": "something rotating against a clock's hands",
    "going round clockwise": "something travelling round a loop the way a clock's hands go",
    "going round counterclockwise": "something travelling round a loop against a clock's hands",
    "going into something": "something entering a box or container",
    "coming out of something": "something leaving a box or container",
    "lighting up": "a light switching on and shining",
    "going dark": "a light switching off",
    "staying still": "nothing moves",
}

# The lexicon's "things" (``world.glosses``) are sorted into kinds by these whole words.
_BODY_WORDS = {"hand", "hands", "finger", "fingers", "arm", "arms"}
_SCENE_WORDS = {"background", "camera", "surface", "path", "centre", "corner", "corners", "side", "sides"}


@dataclass(frozen=True)
class Entity:
    unit: str          # "circle", "moving left"
    description: str   # a short phrase about what it looks like
    kind: str          # one of KINDS

    @property
    def text(self) -> str:
        """What the text encoder reads: ``"unit: description"``."""
        return f"{self.unit}: {self.description}"


def _unit(thing: str) -> str:
    """A gloss's thing as a unit: "a lid" -> "lid" (articles and "{x}" slots dropped)."""
    words = [w for w in thing.replace("{x}", "").split() if w not in ("a", "an", "the", "its")]
    return " ".join(words)


def _kind_of_thing(unit: str) -> str:
    words = set(unit.lower().split())
    if words & _BODY_WORDS:
        return "body_part"
    if words & _SCENE_WORDS:
        return "scene"
    return "object"


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def build_corpus(records: Iterable[ClipRecord], glosses: Mapping[str, object] | None = None,
                 kinds: tuple[str, ...] = KINDS) -> list[Entity]:
    """The offline corpus of ``kinds`` for a dataset: its object nouns, the lexicon's things
    (``glosses``: ``{label: Gloss}``, may be empty) and the fixed lists; one entry per unit."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"entity kinds must be a non-empty subset of {', '.join(KINDS)}, got {kinds}")
    out: dict[str, Entity] = {}

    def add(unit: str, description: str, kind: str) -> None:
        if kind in kinds and unit and unit not in out:
            out[unit] = Entity(unit, description, kind)

    for unit, description in BODY_PARTS.items():
        add(unit, description, "body_part")
    for noun in build_vocabulary(records):
        add(noun, f"{_a(noun)}, an object someone handles", "object")
    for gloss in (glosses or {}).values():
        for thing in getattr(gloss, "things", ()):
            unit = _unit(thing)
            add(unit, thing.replace("{x}", "the object"), _kind_of_thing(unit))
    for unit, description in SCENES.items():
        add(unit, description, "scene")
    for unit, description in MOTION_PRIMITIVES.items():
        add(unit, description, "motion")
    return list(out.values())


def read_entities(path: Path | str, kinds: tuple[str, ...] = KINDS) -> list[Entity]:
    """A user corpus: JSONL rows ``{"unit", "description", "kind"}``; rows of kinds not asked for are
    left out; a bad row is a ``ManifestError`` naming file and line."""
    path = Path(path)
    out: list[Entity] = []
    seen: dict[str, int] = {}
    for line, row in iter_json_objects(path, "entity corpus"):
        values = {}
        for key in ("unit", "description", "kind"):
            value = row.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ManifestError(path, line, f"field {key} must be a non-empty string")
            values[key] = " ".join(value.split())
        if values["kind"] not in KINDS:
            raise ManifestError(path, line, f"kind must be one of {', '.join(KINDS)}, got {values['kind']!r}")
        if values["unit"] in seen:
            raise ManifestError(path, line, f"unit {values['unit']!r} repeats line {seen[values['unit']]}")
        seen[values["unit"]] = line
        if values["kind"] in kinds:
            out.append(Entity(values["unit"], values["description"], values["kind"]))
    if not out:
        raise ManifestError(path, None, f"no entities of kind(s) {', '.join(kinds)} in the file")
    return out
