"""Object replacement (the ActionBench control probe): swap a caption's objects for other nouns.

"holding potato next to vicks vaporub bottle" with objects ["potato", "vicks vaporub bottle"]
-> "holding spoon next to pen": each object phrase is replaced (its first occurrence, whole
phrase, case kept) by a noun drawn from the dataset's own vocabulary, never by one of the
record's own objects.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

from actionkit.data.manifest import ClipRecord

_MAX_DRAWS = 64    # rejection-sampling tries before falling back to filtering the vocabulary


def build_vocabulary(records: Iterable[ClipRecord]) -> list[str]:
    """Sorted unique object nouns (lowercase): each record's ``extra["placeholders"]``, else its ``object``."""
    nouns: set[str] = set()
    for r in records:
        placeholders = r.extra.get("placeholders")
        for noun in placeholders if isinstance(placeholders, list) else [r.object]:
            if isinstance(noun, str) and noun.strip():
                nouns.add(" ".join(noun.split()).lower())
    return sorted(nouns)


def object_spans(text: str, objects: list[str]) -> list[tuple[int, int]]:
    """Character spans of the first occurrence of each object phrase (whole phrase, any case).

    Longer phrases claim their span first, so "cup" and "cup holder" do not overlap; a repeated
    object ("cup", "cup") takes the next free occurrence. Objects not found are left out.
    """
    spans: list[tuple[int, int]] = []
    for obj in sorted({o for o in objects if o.strip()}, key=lambda o: (-len(o), o)):
        words = obj.split()
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)
        for _ in range(sum(1 for o in objects if o == obj)):
            found = next((m.span() for m in pattern.finditer(text)
                          if all(m.end() <= a or m.start() >= b for a, b in spans)), None)
            if found:
                spans.append(found)
    return sorted(spans)


def _cased(noun: str, source: str) -> str:
    if len(source) > 1 and source.isupper():
        return noun.upper()
    if source[:1].isupper():
        return noun[:1].upper() + noun[1:]
    return noun


def _draw(vocabulary: list[str], exclude: set[str], rng: random.Random) -> str | None:
    for _ in range(_MAX_DRAWS):
        noun = rng.choice(vocabulary)
        if noun.lower() not in exclude:
            return noun
    rest = [n for n in vocabulary if n.lower() not in exclude]
    return rng.choice(rest) if rest else None


def object_replaced(text: str, objects: list[str], vocabulary: list[str], rng: random.Random) -> str | None:
    """``text`` with each object phrase replaced by another vocabulary noun; None if none occurs.

    None also when the vocabulary holds no noun other than the record's own objects.
    """
    spans = object_spans(text, objects)
    if not spans or not vocabulary:
        return None
    own = {" ".join(o.split()).lower() for o in objects}
    picks: list[str] = []
    for _ in spans:   # distinct nouns while the vocabulary lasts, then repeats
        noun = _draw(vocabulary, own | {p.lower() for p in picks}, rng) or _draw(vocabulary, own, rng)
        if noun is None:
            return None
        picks.append(noun)
    out = text
    for (start, end), noun in sorted(zip(spans, picks), reverse=True):
        out = out[:start] + _cased(noun, text[start:end]) + out[end:]
    return out
