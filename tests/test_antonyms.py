"""Action antonyms: the lexicon, the SSv2 templates, and the involution property.

Over the 174 SSv2 templates (tests/fixtures/ssv2_templates.txt) 69 get an antonym (measured;
the floor below), 34 of them another SSv2 template ("Opening something" <-> "Closing
something"). The 105 without one are mostly ignore-list verbs (poking, dropping, throwing,
spilling, tearing, ...), outcome clauses ("... so that it falls off the table") and actions with
no opposite (holding, hitting, "next to", "underneath"); ``coverage_report()`` lists them with
their reasons (run ``pytest -s tests/test_antonyms.py -k report`` to print it).
"""

import sys
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actionkit.text import antonyms
from actionkit.text.antonyms import action_antonym, antonym_with_reason, verb_forms, wordnet_verb_antonyms

_FIXTURE = Path(__file__).parent / "fixtures" / "ssv2_templates.txt"
TEMPLATES = [line.strip() for line in _FIXTURE.read_text().splitlines() if line.strip() and not line.startswith("#")]
COVERAGE_FLOOR = 69


def coverage_report() -> str:
    """The templates without an antonym, one per line with the reason."""
    rows = [(t, antonym_with_reason(t)) for t in TEMPLATES]
    missing = [f"  {t}  [{reason}]" for t, (a, reason) in rows if a is None]
    head = f"{len(rows) - len(missing)} of {len(rows)} SSv2 templates get an antonym; without one:\n"
    return head + "\n".join(missing)


@pytest.mark.parametrize("text, antonym", [
    ("Opening a drawer", "Closing a drawer"),
    ("opening", "closing"),
    ("C opens the fridge", "C closes the fridge"),
    ("Putting something into something", "Taking something out of something"),
    ("Taking something out of something", "Putting something into something"),
    ("Pushing something from left to right", "Pushing something from right to left"),
    ("Turning the camera upwards while filming something", "Turning the camera downwards while filming something"),
    ("Picking something up", "Putting something down"),
    ("Putting a red cup onto the table", "Taking a red cup off of the table"),
    ("He puts on a jacket", "He takes off a jacket"),
    ("Turning the light on", "Turning the light off"),
    ("Switching on the lamp", "Switching off the lamp"),
    ("Plugging in the charger", "Unplugging the charger"),
    ("Plugging the cable into the socket", "Unplugging the cable from the socket"),
    ("Attaching something to something", "Detaching something from something"),
    ("Folding a shirt", "Unfolding a shirt"),
    ("Uncovering something", "Covering something"),
    ("Filling a glass", "Emptying a glass"),
    ("Lifting a box", "Lowering a box"),
    ("Tightening a screw", "Loosening a screw"),
    ("Zipping the bag", "Unzipping the bag"),
    ("Tying a shoe", "Untying a shoe"),
    ("The door opens", "The door closes"),
    ("Moving something towards the camera", "Moving something away from the camera"),
    ("Approaching something with your camera", "Moving away from something with your camera"),
    ("Moving something and something closer to each other",
     "Moving something and something further away from each other"),
    ("Turning something upside down", "Turning something right side up"),
    ("Pretending to open something without actually opening it",
     "Pretending to close something without actually closing it"),
    ("Closing an open box", "Opening an open box"),         # a later base form is an adjective: kept
    ("PUSHING THE CART", "PULLING THE CART"),
])
def test_lexicon_and_rules(text, antonym):
    assert action_antonym(text) == antonym
    assert action_antonym(antonym) == text


@pytest.mark.parametrize("text, reason", [
    ("Opening a drawer", "lexicon:open->close"),
    ("Pushing something from right to left", "rule:left<->right"),
    ("Putting something into something", "lexicon:put ... into->take ... out of"),
    ("Poking something", "no antonym: verb 'poking' is in the ignore list"),
    ("Tearing something into two pieces", "no antonym: verb 'tearing' is in the ignore list"),
    ("Spinning a top", "no antonym: verb 'spinning' is in the ignore list"),
    ("Pouring something onto something", "no antonym: 'pouring ... onto' is in the ignore list"),
    ("Holding something", "no antonym: no rule applies"),
    ("Raising a flag", "no antonym: no rule applies"),           # lift <-> lower is canonical
    ("Pushing something so that it falls off the table", "no antonym: outcome clause ('so' ...)"),
    ("Moving something across a surface without it falling down", "no antonym: no rule applies"),
    ("", "no antonym: no rule applies"),
])
def test_reasons(text, reason):
    antonym, why = antonym_with_reason(text)
    assert why == reason
    assert (antonym is None) == why.startswith("no antonym")


def test_fixed_phrases_and_whole_words_are_left_alone():
    assert action_antonym("Showing something on top of something") == "Hiding something on top of something"
    assert action_antonym("Showing something next to something") == "Hiding something next to something"
    assert action_antonym("Turning leftover rice") is None               # "left" only as a whole word
    assert action_antonym("Reopening the box") is None


def test_a_non_invertible_replacement_is_refused():
    # "out  of" (two spaces) would come back as "out of": refused rather than returned
    antonym, reason = antonym_with_reason("Taking something out  of something")
    assert antonym is None and "not invertible" in reason


def test_verb_forms():
    assert verb_forms("open") == ("open", "opens", "opening")
    assert verb_forms("put") == ("put", "puts", "putting")
    assert verb_forms("close") == ("close", "closes", "closing")
    assert verb_forms("tie") == ("tie", "ties", "tying")
    assert verb_forms("empty") == ("empty", "empties", "emptying")
    assert verb_forms("push") == ("push", "pushes", "pushing")


def test_lexicon_is_a_bijection_and_disjoint_from_the_ignore_list():
    for table in (antonyms.VERB_ANTONYMS, antonyms.PHRASAL_ANTONYMS, antonyms.DIRECTION_ANTONYMS):
        assert all(table[b] == a for a, b in table.items())
    assert not set(antonyms.VERB_ANTONYMS) & set(antonyms.NO_ANTONYM_VERBS)
    assert "raise" not in antonyms.VERB_ANTONYMS and antonyms.VERB_ANTONYMS["lower"] == "lift"


def test_template_coverage_report():
    report = coverage_report()
    print(report)
    n = sum(action_antonym(t) is not None for t in TEMPLATES)
    assert len(TEMPLATES) == 174 and len(set(TEMPLATES)) == 174
    assert n >= COVERAGE_FLOOR, report


def test_template_antonyms_are_involutions_and_often_other_templates():
    pairs = {t: action_antonym(t) for t in TEMPLATES}
    got = {t: a for t, a in pairs.items() if a is not None}
    assert all(action_antonym(a) == t for t, a in got.items())
    assert all(a != t for t, a in got.items())
    assert sum(a in pairs for a in got.values()) >= 34
    assert got["Moving something up"] == "Moving something down"
    assert got["Pushing something onto something"] == "Pushing something off of something"
    assert got["Burying something in something"] == "Digging something out of something"


def test_extra_lexicon_adds_verbs_but_curated_entries_win():
    extra = {"inhale": "exhale", "exhale": "inhale", "open": "shut"}
    assert action_antonym("Inhaling slowly", extra) == "Exhaling slowly"
    assert action_antonym("Inhaling slowly") is None
    assert action_antonym("Opening a door", extra) == "Closing a door"


def _fake_wordnet(monkeypatch, pairs=(), error=None):
    """Inject a tiny ``nltk.corpus.wordnet``: one verb synset per (lemma, antonym lemmas) pair."""

    class Lemma:
        def __init__(self, name, antonyms=()):
            self._name, self._antonyms = name, [Lemma(a) for a in antonyms]

        def name(self):
            return self._name

        def antonyms(self):
            return self._antonyms

    class Synset:
        def __init__(self, lemma):
            self._lemmas = [lemma]

        def lemmas(self):
            return self._lemmas

    class WordNet:
        def all_synsets(self, pos=None):
            if error is not None:
                raise error
            return [Synset(Lemma(name, ants)) for name, ants in pairs] if pos == "v" else []

    nltk, corpus = types.ModuleType("nltk"), types.ModuleType("nltk.corpus")
    corpus.wordnet, nltk.corpus = WordNet(), corpus
    monkeypatch.setitem(sys.modules, "nltk", nltk)
    monkeypatch.setitem(sys.modules, "nltk.corpus", corpus)


def test_wordnet_without_nltk_gives_nothing_and_the_lexicon_still_answers(monkeypatch):
    monkeypatch.setitem(sys.modules, "nltk", None)           # import nltk -> ImportError
    monkeypatch.setitem(sys.modules, "nltk.corpus", None)
    assert wordnet_verb_antonyms() == {}
    assert action_antonym("Opening a drawer", wordnet_verb_antonyms()) == "Closing a drawer"
    _fake_wordnet(monkeypatch, error=LookupError("Resource wordnet not found"))   # corpus not on disk
    assert wordnet_verb_antonyms() == {}


def test_wordnet_pairs_both_ways_without_the_curated_words(monkeypatch):
    _fake_wordnet(monkeypatch, [
        ("inhale", ["exhale"]), ("exhale", ["inhale"]),
        ("Ascend", ["descend"]),             # listed one way only, capitalised
        ("open", ["close"]), ("shut", ["open"]),    # curated lexicon words
        ("throw", ["catch"]),                # ignore-list verb
        ("take", ["give"]),                  # first word of a curated verb frame ("take * out of")
        ("take_off", ["land"]),              # not a single word
    ])
    found = wordnet_verb_antonyms()
    assert found == {"inhale": "exhale", "exhale": "inhale", "ascend": "descend", "descend": "ascend"}
    assert action_antonym("Inhaling slowly", found) == "Exhaling slowly"
    assert action_antonym("Opening a door", found) == "Closing a door"


_WORDS = sorted({w for table in (antonyms.VERB_ANTONYMS, antonyms.PHRASAL_ANTONYMS, antonyms.DIRECTION_ANTONYMS)
                 for phrase in table for w in phrase.replace("*", "").split()}
                | {f for v in antonyms.VERB_ANTONYMS for f in verb_forms(v)}
                | {"something", "the", "cup", "Left", "UP", "Opening", "so", "without", "on", "top", "of", ",", "-"})


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises_and_maps_back(text):
    antonym, reason = antonym_with_reason(text)
    assert isinstance(reason, str)
    if antonym is not None:
        assert action_antonym(antonym) == text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=12).map(" ".join))
def test_lexicon_word_salad_maps_back(text):
    antonym = action_antonym(text)
    if antonym is not None:
        assert antonym != text
        assert action_antonym(antonym) == text
