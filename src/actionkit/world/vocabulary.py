"""What the Action World is made of: shapes, colours and verb pairs with their captions.

Two families of verb pairs:

- ``state``: a monotone change between two states (opening, filling, moving left to
  right...). The antonym of a clip is the same scene played backwards (as with real
  "opening"/"closing" videos), so the frames of a clip and of its antonym are the same set
  and a model that pools frames without order cannot tell them apart. But the first and the
  last frame show the start and end states, so the last frame alone decides the verb.
- ``dynamics``: the object starts and ends in the same state (it rests for the first and
  last eighth of the clip), so no single frame decides the verb; only the motion does.
  ``order_only`` pairs (a full spin, a loop around a circle or a square, clockwise or
  counterclockwise) are exact time reversals of each other: the same frames in another
  order, which a mean-pooling model ties by construction. The others (out to the right and
  back vs to the left and back, growing then shrinking vs the reverse) are time-symmetric
  (``reversal=False``: the clip played backwards is the same verb, so Video Reversal does
  not apply to them) and their frames, as a set, differ (where and how big the object is
  on average), which an order-blind model can use.

Caption templates are aligned: template ``i`` of a verb and template ``i`` of its antonym
differ only in the action words, so ``antonym_caption`` is a minimal edit of ``caption``.
Some pairs differ by a word ("opening" / "closing", *lexical*), others only by word order
("from left to right" / "from right to left", *word_order*).
"""

from __future__ import annotations

from dataclasses import dataclass

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "crescent", "star", "cross")

# Name -> RGB in [0, 1]; saturated so they stand out on the grey backgrounds.
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.90, 0.12, 0.12),
    "green": (0.15, 0.80, 0.20),
    "blue": (0.15, 0.35, 0.95),
    "yellow": (0.95, 0.88, 0.10),
    "purple": (0.65, 0.20, 0.85),
    "orange": (0.98, 0.55, 0.08),
}


@dataclass(frozen=True)
class VerbPair:
    """Two verbs with aligned captions.

    ``forward`` is rendered with the motion parameter s going 0 -> 1; ``backward`` with s
    going 1 -> 0 when the pair is a ``reversal``, else with the motion mirrored. ``templates``
    holds aligned (forward, backward) caption templates with a ``{x}`` slot for "colour
    shape" (e.g. "red circle").
    """

    key: str
    forward: str
    backward: str
    kind: str  # captions differ by a word ("lexical") or only by word order ("word_order")
    templates: tuple[tuple[str, str], ...]
    family: str = "state"            # "state" | "dynamics"
    reversal: bool = True            # the antonym clip is the clip played backwards
    order_only: bool | None = None   # dynamics: the antonym shows the same frames in another order


STATE_PAIRS: tuple[VerbPair, ...] = (
    VerbPair(
        "move_horizontal", "move_left_to_right", "move_right_to_left", "word_order",
        (
            ("moving a {x} from left to right", "moving a {x} from right to left"),
            ("a {x} slides from the left side to the right side",
             "a {x} slides from the right side to the left side"),
            ("someone pushes a {x} from left to right", "someone pushes a {x} from right to left"),
        ),
    ),
    VerbPair(
        "move_vertical", "move_bottom_to_top", "move_top_to_bottom", "word_order",
        (
            ("moving a {x} from bottom to top", "moving a {x} from top to bottom"),
            ("a {x} travels from the bottom edge to the top edge",
             "a {x} travels from the top edge to the bottom edge"),
            ("someone drags a {x} from the bottom to the top",
             "someone drags a {x} from the top to the bottom"),
        ),
    ),
    VerbPair(
        "approach_recede", "approach", "recede", "lexical",
        (
            ("a {x} approaching the camera", "a {x} receding from the camera"),
            ("a {x} coming towards the viewer", "a {x} going away from the viewer"),
            ("moving a {x} closer", "moving a {x} farther away"),
        ),
    ),
    VerbPair(
        "grow_shrink", "grow", "shrink", "lexical",
        (
            ("a {x} growing bigger", "a {x} shrinking smaller"),
            ("the {x} expands", "the {x} contracts"),
            ("inflating a {x}", "deflating a {x}"),
        ),
    ),
    VerbPair(
        "appear_disappear", "appear", "disappear", "lexical",
        (
            ("a {x} appearing", "a {x} disappearing"),
            ("a {x} fading in", "a {x} fading out"),
            ("the {x} materialises", "the {x} vanishes"),
        ),
    ),
    VerbPair(
        "open_close", "open", "close", "lexical",
        (
            ("opening the lid of a {x}", "closing the lid of a {x}"),
            ("a {x} being opened", "a {x} being closed"),
            ("someone opens a {x}", "someone closes a {x}"),
        ),
    ),
    VerbPair(
        "fill_empty", "fill", "empty", "lexical",
        (
            ("filling a {x}", "emptying a {x}"),
            ("a {x} filling up", "a {x} draining out"),
            ("pouring liquid into a {x}", "pouring liquid out of a {x}"),
        ),
    ),
    VerbPair(
        "rotate", "rotate_clockwise", "rotate_counterclockwise", "lexical",
        (
            ("rotating a {x} clockwise", "rotating a {x} counterclockwise"),
            ("a {x} spinning clockwise", "a {x} spinning anticlockwise"),
            ("turning a {x} to the right", "turning a {x} to the left"),
        ),
    ),
    VerbPair(
        "put_take", "put_into", "take_out_of", "word_order",
        (
            ("putting a {x} into a box", "taking a {x} out of a box"),
            ("a {x} goes into the box", "a {x} comes out of the box"),
            ("someone moves a {x} from above the box to inside the box",
             "someone moves a {x} from inside the box to above the box"),
        ),
    ),
    VerbPair(
        "turn_on_off", "turn_on", "turn_off", "lexical",
        (
            ("turning on a {x} lamp", "turning off a {x} lamp"),
            ("a {x} light switching on", "a {x} light switching off"),
            ("a {x} lighting up", "a {x} going dark"),
        ),
    ),
)

DYNAMICS_PAIRS: tuple[VerbPair, ...] = (
    VerbPair(
        "spin", "spin_clockwise", "spin_counterclockwise", "lexical",
        (
            ("a {x} spinning a full turn clockwise", "a {x} spinning a full turn counterclockwise"),
            ("the {x} rotates once all the way around clockwise",
             "the {x} rotates once all the way around counterclockwise"),
            ("someone spins a {x} round clockwise", "someone spins a {x} round counterclockwise"),
        ),
        family="dynamics", order_only=True,
    ),
    VerbPair(
        "orbit", "orbit_clockwise", "orbit_counterclockwise", "lexical",
        (
            ("a {x} circling clockwise", "a {x} circling counterclockwise"),
            ("a {x} travels once around a round path clockwise",
             "a {x} travels once around a round path counterclockwise"),
            ("moving a {x} in a clockwise loop", "moving a {x} in a counterclockwise loop"),
        ),
        family="dynamics", order_only=True,
    ),
    VerbPair(
        "square_path", "square_clockwise", "square_counterclockwise", "lexical",
        (
            ("a {x} going around four corners clockwise", "a {x} going around four corners counterclockwise"),
            ("moving a {x} along a path with four straight sides clockwise",
             "moving a {x} along a path with four straight sides counterclockwise"),
            ("a {x} tracing a four-cornered loop clockwise", "a {x} tracing a four-cornered loop counterclockwise"),
        ),
        family="dynamics", order_only=True,
    ),
    VerbPair(
        "out_and_back", "out_right_and_back", "out_left_and_back", "lexical",
        (
            ("a {x} moving to the right and back", "a {x} moving to the left and back"),
            ("someone pushes a {x} right and then returns it", "someone pushes a {x} left and then returns it"),
            ("a {x} slides out to the right and comes back", "a {x} slides out to the left and comes back"),
        ),
        family="dynamics", reversal=False, order_only=False,
    ),
    VerbPair(
        "pulse", "grow_then_shrink", "shrink_then_grow", "word_order",
        (
            ("a {x} growing and then shrinking back", "a {x} shrinking and then growing back"),
            ("the {x} gets bigger and then smaller again", "the {x} gets smaller and then bigger again"),
            ("inflating a {x} and then deflating it", "deflating a {x} and then inflating it"),
        ),
        family="dynamics", reversal=False, order_only=False,
    ),
)

VERB_PAIRS: tuple[VerbPair, ...] = STATE_PAIRS + DYNAMICS_PAIRS
FAMILIES: tuple[str, ...] = ("state", "dynamics")
PAIRS_BY_KEY: dict[str, VerbPair] = {p.key: p for p in VERB_PAIRS}


def verbs() -> list[str]:
    """All verb names, forward and backward, in a fixed order."""
    return [v for p in VERB_PAIRS for v in (p.forward, p.backward)]


def caption(pair: VerbPair, backward: bool, template: int, colour: str, shape: str) -> str:
    """The caption of a clip: template ``template`` of the forward or backward verb."""
    return pair.templates[template][int(backward)].format(x=f"{colour} {shape}")
