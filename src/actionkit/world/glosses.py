"""What each Action World verb looks like, in words: the lexicon interpretive prompts are written from.

Per verb: the start state, the motion, the end state, the things involved (besides the
object), and synonymous phrases. ``text.prompts`` turns these into CLAVER's three kinds of
descriptions (decomposition, parts, synonyms) for every verb of the world, including verbs a
zero-shot split holds out of training (as the paper writes descriptions for every class).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gloss:
    start: str                  # "the {x} is on the left"
    motion: str                 # "it slides to the right"
    end: str                    # "it is on the right"
    things: tuple[str, ...]     # what else takes part: "a flat surface", "a box"
    synonyms: tuple[str, ...]   # other ways to say the verb, about "{x}"


def _g(start: str, motion: str, end: str, things: str, *synonyms: str) -> Gloss:
    return Gloss(start, motion, end, tuple(t.strip() for t in things.split(";") if t.strip()), synonyms)


GLOSSES: dict[str, Gloss] = {
    # state family: a monotone change from one state to another
    "move_left_to_right": _g("the {x} is at the left edge", "it slides sideways towards the right",
                             "it rests at the right edge", "a flat background; a hand pushing",
                             "pushing the {x} rightwards", "the {x} shifts to the right side"),
    "move_right_to_left": _g("the {x} is at the right edge", "it slides sideways towards the left",
                             "it rests at the left edge", "a flat background; a hand pushing",
                             "pushing the {x} leftwards", "the {x} shifts to the left side"),
    "move_bottom_to_top": _g("the {x} is low in the frame", "it travels upwards",
                             "it is high in the frame", "a flat background; a hand lifting",
                             "raising the {x}", "the {x} goes up"),
    "move_top_to_bottom": _g("the {x} is high in the frame", "it travels downwards",
                             "it is low in the frame", "a flat background; a hand lowering",
                             "lowering the {x}", "the {x} goes down"),
    "approach": _g("the {x} is small and far away", "it comes nearer and gets larger",
                   "it is big and close to the camera", "the camera",
                   "the {x} draws near", "bringing the {x} towards the lens"),
    "recede": _g("the {x} is big and close to the camera", "it moves away and gets smaller",
                 "it is small and far away", "the camera",
                 "the {x} backs away", "taking the {x} away from the lens"),
    "grow": _g("the {x} is small", "it swells in place", "it is large", "its outline",
               "the {x} enlarges", "blowing up a {x}"),
    "shrink": _g("the {x} is large", "it contracts in place", "it is small", "its outline",
                 "the {x} gets smaller", "letting the air out of a {x}"),
    "appear": _g("there is nothing to see", "the {x} becomes more and more visible", "the {x} is fully visible",
                 "an empty background", "the {x} shows up", "the {x} comes into view"),
    "disappear": _g("the {x} is fully visible", "it becomes fainter and fainter", "nothing is left to see",
                    "an empty background", "the {x} goes out of view", "the {x} fades away"),
    "open": _g("the lid of the {x} is shut", "the lid swings up", "the lid stands open",
               "a lid; a hinge; a hand", "lifting the lid of a {x}", "uncovering a {x}"),
    "close": _g("the lid of the {x} stands open", "the lid swings down", "the lid is shut",
                "a lid; a hinge; a hand", "shutting a {x}", "putting the lid back on a {x}"),
    "fill": _g("the {x} is empty", "liquid rises inside it", "the {x} is full",
               "liquid; a container", "the {x} fills with liquid", "topping up a {x}"),
    "empty": _g("the {x} is full", "the liquid level drops", "the {x} is empty",
                "liquid; a container", "draining a {x}", "the liquid runs out of a {x}"),
    "rotate_clockwise": _g("the {x}'s marker points one way", "it turns in the direction of a clock's hands",
                           "the marker points further round to the right", "a marker on the shape; a hand",
                           "turning the {x} like a clock's hands", "twisting the {x} rightwards"),
    "rotate_counterclockwise": _g("the {x}'s marker points one way", "it turns against a clock's hands",
                                  "the marker points further round to the left", "a marker on the shape; a hand",
                                  "turning the {x} against a clock's hands", "twisting the {x} leftwards"),
    "put_into": _g("the {x} is above a box", "it is lowered into the box", "it is inside the box",
                   "a box; a hand", "placing a {x} in a box", "dropping a {x} into a box"),
    "take_out_of": _g("the {x} is inside a box", "it is lifted up out of the box", "it is above the box",
                      "a box; a hand", "removing a {x} from a box", "lifting a {x} out of a box"),
    "turn_on": _g("the {x} lamp is dark", "its light comes on", "the lamp shines brightly",
                  "a lamp; a switch; light", "switching on a {x} lamp", "a {x} lamp lights up"),
    "turn_off": _g("the {x} lamp shines brightly", "its light goes off", "the lamp is dark",
                   "a lamp; a switch; light", "switching off a {x} lamp", "a {x} lamp goes out"),
    # dynamics family: same start and end, only the motion tells
    "spin_clockwise": _g("the {x} rests with its marker up", "it turns a whole circle the way a clock's hands go",
                         "it is back where it started", "a marker on the shape; a hand",
                         "a full clockwise turn of a {x}", "twirling a {x} once to the right"),
    "spin_counterclockwise": _g("the {x} rests with its marker up", "it turns a whole circle against a clock's hands",
                                "it is back where it started", "a marker on the shape; a hand",
                                "a full counterclockwise turn of a {x}", "twirling a {x} once to the left"),
    "orbit_clockwise": _g("the {x} rests on a round path", "it travels round the circle the way a clock's hands go",
                          "it is back at its starting point", "a round path; the centre of the circle",
                          "a {x} going round in a clockwise circle", "a {x} looping to the right"),
    "orbit_counterclockwise": _g("the {x} rests on a round path", "it travels round the circle against a clock's "
                                 "hands", "it is back at its starting point", "a round path; the centre of the circle",
                                 "a {x} going round in a counterclockwise circle", "a {x} looping to the left"),
    "square_clockwise": _g("the {x} rests at a corner", "it follows four straight sides the way a clock's hands go",
                           "it is back at its corner", "four corners; straight sides",
                           "a {x} taking a square route clockwise", "a {x} going round a box-shaped loop clockwise"),
    "square_counterclockwise": _g("the {x} rests at a corner", "it follows four straight sides against a clock's "
                                  "hands", "it is back at its corner", "four corners; straight sides",
                                  "a {x} taking a square route counterclockwise",
                                  "a {x} going round a box-shaped loop counterclockwise"),
    "out_right_and_back": _g("the {x} rests in the middle", "it moves out to the right and returns",
                             "it is in the middle again", "a flat background; a hand pushing",
                             "a {x} going right and coming back", "a rightward trip and return of a {x}"),
    "out_left_and_back": _g("the {x} rests in the middle", "it moves out to the left and returns",
                            "it is in the middle again", "a flat background; a hand pushing",
                            "a {x} going left and coming back", "a leftward trip and return of a {x}"),
    "grow_then_shrink": _g("the {x} has its normal size", "it swells and then contracts",
                           "it has its normal size again", "its outline",
                           "a {x} puffing up and going back down", "a {x} enlarging then reducing"),
    "shrink_then_grow": _g("the {x} has its normal size", "it contracts and then swells",
                           "it has its normal size again", "its outline",
                           "a {x} shrinking down and coming back up", "a {x} reducing then enlarging"),
}


# The motion primitives (``text.entities.MOTION_PRIMITIVES``) each world verb shows: the ground
# truth ALT's explanations are checked against ("the top motion entity fits the verb").
MOTIONS: dict[str, tuple[str, ...]] = {
    "move_left_to_right": ("moving right",), "move_right_to_left": ("moving left",),
    "move_bottom_to_top": ("moving up",), "move_top_to_bottom": ("moving down",),
    "approach": ("getting bigger", "coming closer"), "recede": ("getting smaller", "going away"),
    "grow": ("getting bigger",), "shrink": ("getting smaller",),
    "appear": ("appearing",), "disappear": ("fading away",),
    "open": ("opening",), "close": ("closing",), "fill": ("filling up",), "empty": ("emptying",),
    "rotate_clockwise": ("turning clockwise",), "rotate_counterclockwise": ("turning counterclockwise",),
    "put_into": ("going into something", "moving down"), "take_out_of": ("coming out of something", "moving up"),
    "turn_on": ("lighting up",), "turn_off": ("going dark",),
    "spin_clockwise": ("turning clockwise",), "spin_counterclockwise": ("turning counterclockwise",),
    "orbit_clockwise": ("going round clockwise",), "orbit_counterclockwise": ("going round counterclockwise",),
    "square_clockwise": ("going round clockwise",), "square_counterclockwise": ("going round counterclockwise",),
    "out_right_and_back": ("moving right", "moving left"), "out_left_and_back": ("moving left", "moving right"),
    "grow_then_shrink": ("getting bigger", "getting smaller"), "shrink_then_grow": ("getting smaller", "getting bigger"),
}
