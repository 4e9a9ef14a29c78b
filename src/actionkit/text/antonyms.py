"""Action antonyms of captions: "Opening a drawer" -> "Closing a drawer" (ActionBench, Paxion).

A caption gets exactly one antonymic change, from the first of three tiers that matches:

1. ``PHRASAL_PAIRS``: verb frames whose particle changes with the verb, "put * into" <->
   "take * out of" ("*" is a gap of up to ``MAX_GAP`` words, e.g. the object);
2. ``DIRECTION_PAIRS``: direction words, left <-> right, up <-> down, into <-> out of ...
   (so "Pushing something from left to right" keeps its verb and flips the direction);
3. ``VERB_PAIRS``: single verbs, open <-> close, push <-> pull ...

The first (leftmost) match of the chosen tier picks one pair; every occurrence of that pair
is then swapped in one simultaneous pass ("from left to right" -> "from right to left"),
whole words only, keeping the case of the word it replaces. In tier 3 a later occurrence in
the base form is left alone, since it is usually an adjective ("Closing an open box").
Verbs are matched in the base, third-person and -ing forms (past tenses are not).

No antonym (``None`` with a reason) when the caption holds a verb or frame of the ignore list
(``NO_ANTONYM_VERBS``: no clean antonym, e.g. tearing, poking, dropping, throwing; and
``NO_ANTONYM_FRAMES``/``NO_ANTONYM_PHRASES``: "showing that ...", "pouring ... onto", "behind of"),
an outcome clause (``OUTCOME_WORDS``: "so", "until", "then", "but", "because": flipping the
action would contradict the outcome), or no match before the first "without" (the main clause).
Words of ``FIXED_PHRASES`` ("on top of", "next to", "right away") are never matched nor swapped.
Finally every antonym is checked to map back to its input and refused when it does not, so for
every returned antonym ``action_antonym(action_antonym(t)) == t``.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_GAP = 4   # words allowed between the parts of a verb frame ("Putting a red cup into ...")

# Tier 1: verb frames, first word a verb (inflected), "*" a gap of 0..MAX_GAP words.
PHRASAL_PAIRS: list[tuple[str, str]] = [
    ("put * into", "take * out of"),
    ("put * onto", "take * off of"),
    ("put * on", "take * off"),          # also "puts on a jacket" <-> "takes off a jacket"
    ("pick * up", "put * down"),
    ("turn * on", "turn * off"),
    ("switch * on", "switch * off"),
    ("plug * into", "unplug * from"),
    ("plug in", "unplug"),
    ("attach * to", "detach * from"),
    ("bury * in", "dig * out of"),
    ("show * to", "hide * from"),
    ("approach", "move away from"),
]

# Tier 2: direction words, not inflected.
DIRECTION_PAIRS: list[tuple[str, str]] = [
    ("left", "right"),
    ("up", "down"),
    ("upwards", "downwards"),
    ("upward", "downward"),
    ("forwards", "backwards"),
    ("forward", "backward"),
    ("into", "out of"),
    ("onto", "off of"),
    ("towards", "away from"),
    ("closer to", "further away from"),
    ("close to", "far from"),
    ("behind", "in front of"),
    ("above", "below"),
    ("upside down", "right side up"),
    ("clockwise", "counterclockwise"),
]

# Tier 3: single verbs; one canonical antonym per verb (lift <-> lower, so "raise" has none).
VERB_PAIRS: list[tuple[str, str]] = [
    ("open", "close"),
    ("push", "pull"),
    ("fold", "unfold"),
    ("cover", "uncover"),
    ("wrap", "unwrap"),
    ("zip", "unzip"),
    ("lock", "unlock"),
    ("tie", "untie"),
    ("button", "unbutton"),
    ("fasten", "unfasten"),
    ("screw", "unscrew"),
    ("pack", "unpack"),
    ("load", "unload"),
    ("stack", "unstack"),
    ("connect", "disconnect"),
    ("assemble", "disassemble"),
    ("inflate", "deflate"),
    ("attach", "detach"),
    ("insert", "remove"),
    ("fill", "empty"),
    ("lift", "lower"),
    ("tighten", "loosen"),
    ("show", "hide"),
    ("start", "stop"),
    ("enter", "exit"),
    ("appear", "disappear"),
    ("rise", "fall"),
    ("increase", "decrease"),
    ("dress", "undress"),
    ("mount", "dismount"),
]

# Verbs (inflected) and frames whose presence means "no antonym".
NO_ANTONYM_VERBS: tuple[str, ...] = (
    "tear", "spin", "poke", "drop", "throw", "squeeze", "twist", "wipe", "spill", "spread", "sprinkle",
    "scoop", "stuff", "pile", "reveal", "slide", "shake", "wave", "hit", "rub", "stir", "cut", "chop", "tap",
)
NO_ANTONYM_FRAMES: tuple[str, ...] = ("show that", "pour * onto")   # verb frames ("showing that X is empty")
NO_ANTONYM_PHRASES: tuple[str, ...] = ("behind of",)                 # SSv2's "from behind of"
FIXED_PHRASES: tuple[str, ...] = ("on top of", "next to", "right away", "right now", "right here", "right there",
                                  "all right")
OUTCOME_WORDS: frozenset[str] = frozenset({"so", "until", "then", "but", "because"})
MAIN_CLAUSE_END: frozenset[str] = frozenset({"without"})

# base -> (third person, -ing) where the regular rules get it wrong (doubled consonants).
IRREGULAR_FORMS: dict[str, tuple[str, str]] = {
    "put": ("puts", "putting"), "dig": ("digs", "digging"), "stop": ("stops", "stopping"),
    "zip": ("zips", "zipping"), "unzip": ("unzips", "unzipping"), "plug": ("plugs", "plugging"),
    "unplug": ("unplugs", "unplugging"), "wrap": ("wraps", "wrapping"), "unwrap": ("unwraps", "unwrapping"),
    "drop": ("drops", "dropping"), "spin": ("spins", "spinning"), "hit": ("hits", "hitting"),
    "cut": ("cuts", "cutting"), "chop": ("chops", "chopping"), "tap": ("taps", "tapping"),
    "rub": ("rubs", "rubbing"), "stir": ("stirs", "stirring"),
}


def _both_ways(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            if x in out:
                raise ValueError(f"antonym lexicon: {x!r} appears in two pairs")
            out[x] = y
    return out


VERB_ANTONYMS: dict[str, str] = _both_ways(VERB_PAIRS)          # "open" -> "close", "close" -> "open"
PHRASAL_ANTONYMS: dict[str, str] = _both_ways(PHRASAL_PAIRS)    # "put * into" -> "take * out of", ...
DIRECTION_ANTONYMS: dict[str, str] = _both_ways(DIRECTION_PAIRS)


def verb_forms(base: str) -> tuple[str, str, str]:
    """(base, third person, -ing) of a verb: "open" -> ("open", "opens", "opening")."""
    if base in IRREGULAR_FORMS:
        return (base, *IRREGULAR_FORMS[base])
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        third = base + "es"
    elif base.endswith("y") and len(base) > 1 and base[-2] not in "aeiou":
        third = base[:-1] + "ies"
    else:
        third = base + "s"
    if base.endswith("ie"):
        ing = base[:-2] + "ying"
    elif base.endswith("e") and not base.endswith(("ee", "ye", "oe")):
        ing = base[:-1] + "ing"
    else:
        ing = base + "ing"
    return base, third, ing


# --- matching ------------------------------------------------------------------------------

Pattern = tuple[tuple[str, ...], ...]    # segments of words; a gap of 0..MAX_GAP words between segments


@dataclass(frozen=True)
class _Entry:
    pattern: Pattern
    partner: Pattern | None     # None: no antonym (ignore list)
    pair: int                   # entries of one lexicon pair (all forms, both ways) share it
    label: str                  # "open->close", "left<->right", "pouring ... onto"
    base_form: bool

    @property
    def n_words(self) -> int:
        return sum(len(s) for s in self.pattern)


@dataclass(frozen=True)
class _Tier:
    kind: str                   # "lexicon" or "rule"
    by_first: dict[str, tuple[_Entry, ...]]
    later_base_forms: bool = True   # False: a later base-form occurrence may be an adjective, keep it


def _pattern(text: str) -> Pattern:
    return tuple(tuple(seg.split()) for seg in text.split(" * "))


def _inflect(pattern: Pattern, form: int) -> Pattern:
    first = (verb_forms(pattern[0][0])[form], *pattern[0][1:])
    return (first, *pattern[1:])


def _show(pattern: Pattern) -> str:
    return " ... ".join(" ".join(s) for s in pattern)


def _tier(kind: str, entries: list[_Entry], later_base_forms: bool = True) -> _Tier:
    by_first: dict[str, list[_Entry]] = {}
    seen: set[Pattern] = set()
    for e in entries:
        if e.pattern in seen:
            raise ValueError(f"antonym lexicon: {_show(e.pattern)!r} appears twice")
        seen.add(e.pattern)
        by_first.setdefault(e.pattern[0][0], []).append(e)
    # most words first: "take * out of" is tried before "take * off"
    return _Tier(kind, {w: tuple(sorted(es, key=lambda e: -e.n_words)) for w, es in by_first.items()},
                 later_base_forms)


def _verbal_tier(pairs: list[tuple[str, str]], offset: int = 0, later_base_forms: bool = True) -> _Tier:
    entries = []
    for i, (a, b) in enumerate(pairs):
        pa, pb = _pattern(a), _pattern(b)
        for form in range(3):
            for x, y in ((pa, pb), (pb, pa)):
                entries.append(_Entry(_inflect(x, form), _inflect(y, form), offset + i,
                                      f"{_show(x)}->{_show(y)}", form == 0))
    return _tier("lexicon", entries, later_base_forms)


def _direction_tier(pairs: list[tuple[str, str]]) -> _Tier:
    entries = []
    for i, (a, b) in enumerate(pairs):
        for x, y in ((a, b), (b, a)):
            entries.append(_Entry(_pattern(x), _pattern(y), i, f"{a}<->{b}", True))
    return _tier("rule", entries)


def _ignore_tier() -> _Tier:
    entries = [_Entry(_inflect(_pattern(v), form), None, -1, "verb" if v in NO_ANTONYM_VERBS else "frame", form == 0)
               for v in NO_ANTONYM_VERBS + NO_ANTONYM_FRAMES for form in range(3)]
    entries += [_Entry(_pattern(p), None, -1, "phrase", True) for p in NO_ANTONYM_PHRASES]
    return _tier("ignore", entries)


def _fixed_tier() -> _Tier:
    return _tier("fixed", [_Entry(_pattern(p), None, -1, "fixed", True) for p in FIXED_PHRASES])


TIERS: tuple[_Tier, ...] = (_verbal_tier(PHRASAL_PAIRS), _direction_tier(DIRECTION_PAIRS),
                            _verbal_tier(VERB_PAIRS, later_base_forms=False))
_IGNORE = _ignore_tier()
_FIXED = _fixed_tier()

_WORD = re.compile(r"\w+(?:['’-]\w+)*")


@dataclass(frozen=True)
class _Match:
    entry: _Entry
    spans: tuple[tuple[int, int], ...]    # token ranges [start, end) of each segment


def _segment_at(words: list[str], j: int, seg: tuple[str, ...], free: list[bool]) -> bool:
    end = j + len(seg)
    return end <= len(words) and all(free[k] and words[k] == w for k, w in zip(range(j, end), seg))


def _match_entry(words: list[str], i: int, entry: _Entry, free: list[bool]) -> _Match | None:
    spans = []
    pos = i
    for k, seg in enumerate(entry.pattern):
        starts = [i] if k == 0 else range(pos, min(pos + MAX_GAP, len(words) - 1) + 1)
        j = next((j for j in starts if _segment_at(words, j, seg, free)), None)
        if j is None:
            return None
        spans.append((j, j + len(seg)))
        pos = j + len(seg)
    return _Match(entry, tuple(spans))


def _scan(words: list[str], tier: _Tier, free: list[bool]) -> list[_Match]:
    """Non-overlapping matches, left to right; at each word the longest entry, then the nearest."""
    free = list(free)
    matches = []
    for i, word in enumerate(words):
        if not free[i] or word not in tier.by_first:
            continue
        found = [m for m in (_match_entry(words, i, e, free) for e in tier.by_first[word]) if m]
        if not found:
            continue
        best = min(found, key=lambda m: (-m.entry.n_words, m.spans[-1][1]))
        matches.append(best)
        for a, b in best.spans:
            free[a:b] = [False] * (b - a)
    return matches


def _cased(replacement: str, source: str) -> str:
    if len(source) > 1 and source.isupper():
        return replacement.upper()
    if source[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _apply(text: str, tokens: list[re.Match], matches: list[_Match]) -> str:
    edits = []
    for m in matches:
        for (a, b), seg in zip(m.spans, m.entry.partner):
            edits.append((tokens[a].start(), tokens[b - 1].end(), _cased(" ".join(seg), tokens[a].group())))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _one_way(text: str, extra: _Tier | None = None) -> tuple[str | None, str]:
    tokens = list(_WORD.finditer(text))
    words = [t.group().lower() for t in tokens]
    free = [True] * len(words)
    for m in _scan(words, _FIXED, free):
        for a, b in m.spans:
            free[a:b] = [False] * (b - a)
    ignored = _scan(words, _IGNORE, free)
    if ignored:
        m = ignored[0]
        shown = " ... ".join(" ".join(words[a:b]) for a, b in m.spans)
        what = f"verb {shown!r}" if m.entry.label == "verb" else repr(shown)
        return None, f"no antonym: {what} is in the ignore list"
    outcome = next((w for w in words if w in OUTCOME_WORDS), None)
    if outcome:
        return None, f"no antonym: outcome clause ({outcome!r} ...)"
    main_end = next((i for i, w in enumerate(words) if w in MAIN_CLAUSE_END), len(words))
    for tier in TIERS + ((extra,) if extra else ()):
        matches = _scan(words, tier, free)
        first = next((m for m in matches if m.spans[0][0] < main_end), None)
        if first is None:
            continue
        chosen = [m for m in matches if m.entry.pair == first.entry.pair
                  and (m is first or tier.later_base_forms or not m.entry.base_form)]
        return _apply(text, tokens, chosen), f"{tier.kind}:{first.entry.label}"
    return None, "no antonym: no rule applies"


@functools.lru_cache(maxsize=8)
def _extra_tier(items: tuple[tuple[str, str], ...]) -> _Tier:
    return _verbal_tier(list(items), offset=len(VERB_PAIRS), later_base_forms=False)


def _extra_pairs(extra: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Pairs of ``extra`` (verb -> antonym) that the curated lexicon and ignore list leave free."""
    taken = set(VERB_ANTONYMS) | set(NO_ANTONYM_VERBS) | {p.split()[0] for p in PHRASAL_ANTONYMS}
    pairs: list[tuple[str, str]] = []
    for a, b in sorted(extra.items()):
        if a.isalpha() and b.isalpha() and a != b and not {a, b} & taken:
            pairs.append((a, b))
            taken |= {a, b}
    return tuple(pairs)


def antonym_with_reason(text: str, extra_lexicon: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """The action antonym of ``text`` and why: ("Closing a drawer", "lexicon:open->close").

    Without an antonym: (None, "no antonym: ..."). ``extra_lexicon`` (verb -> antonym, e.g.
    ``wordnet_verb_antonyms()``) adds single verbs after the curated tiers; curated entries win.
    """
    extra = _extra_tier(_extra_pairs(extra_lexicon)) if extra_lexicon else None
    antonym, reason = _one_way(text, extra)
    if antonym is None:
        return None, reason
    back, _ = _one_way(antonym, extra)
    if back != text:
        return None, f"no antonym: {reason} is not invertible here ({antonym!r} maps back to {back!r})"
    return antonym, reason


def action_antonym(text: str, extra_lexicon: Mapping[str, str] | None = None) -> str | None:
    """The action antonym of ``text``, or None: "Opening a drawer" -> "Closing a drawer"."""
    return antonym_with_reason(text, extra_lexicon)[0]


def wordnet_verb_antonyms() -> dict[str, str]:
    """Single-word verb antonyms from WordNet (both ways), without the curated lexicon's words.

    Uses nltk's wordnet corpus only when nltk is installed and the corpus is already on disk;
    never downloads. Returns {} otherwise.
    """
    try:
        from nltk.corpus import wordnet

        found = sorted({(lemma.name().lower(), ant.name().lower())
                        for synset in wordnet.all_synsets("v")
                        for lemma in synset.lemmas() for ant in lemma.antonyms()})
    except (ImportError, LookupError, OSError) as e:
        log.debug("WordNet verb antonyms unavailable: %s", e)
        return {}
    return dict(_both_ways(list(_extra_pairs(dict(found)))))
