"""The random description of one Action World clip (``SceneSpec``), drawn from a seed.

A spec is plain data: it is stored in the manifest, and ``render.render_clip(spec)`` turns
it into the same pixels on any machine. Specs are drawn from ``numpy.random.default_rng
([world_seed, index])``, so clip ``i`` does not depend on how many clips are generated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from actionkit.world.vocabulary import COLOURS, SHAPES, VERB_PAIRS


@dataclass(frozen=True)
class Background:
    grey: float                       # base grey level in [0, 1]
    tint: tuple[float, float, float]  # per-channel offset added to the grey
    gradient_angle: float             # radians
    gradient_amplitude: float
    texture_seed: int
    distractor: tuple[float, float, float, float, float] | None  # x, y, w, h, grey level


@dataclass(frozen=True)
class SceneSpec:
    index: int
    pair: str            # VerbPair.key
    backward: bool       # play the pair's motion backwards (the antonym verb)
    shape: str
    colour: str
    template: int
    replaced_shape: str  # the shape named in the object-replacement caption
    radius: float        # object radius, in units of half the frame width
    cx: float            # object centre in [-1, 1] (x right, y down)
    cy: float
    extent: float        # how far translations travel from the centre
    angle: float         # initial orientation, radians
    background: Background

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "SceneSpec":
        bg = dict(d["background"])
        bg["tint"] = tuple(bg["tint"])
        bg["distractor"] = tuple(bg["distractor"]) if bg["distractor"] is not None else None
        return SceneSpec(**{**d, "background": Background(**bg)})


def sample_scene(world_seed: int, index: int) -> SceneSpec:
    """Draw clip ``index`` of the world with seed ``world_seed``."""
    rng = np.random.default_rng([world_seed, index])
    pair = VERB_PAIRS[int(rng.integers(len(VERB_PAIRS)))]
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    others = [s for s in SHAPES if s != shape]
    distractor = None
    if rng.random() < 0.5:
        distractor = (
            float(rng.uniform(-0.9, 0.5)), float(rng.uniform(-0.9, 0.5)),
            float(rng.uniform(0.2, 0.4)), float(rng.uniform(0.2, 0.4)),
            float(rng.uniform(0.1, 0.6)),
        )
    background = Background(
        grey=float(rng.uniform(0.2, 0.5)),
        tint=tuple(float(t) for t in rng.uniform(-0.06, 0.06, size=3)),
        gradient_angle=float(rng.uniform(0, 2 * np.pi)),
        gradient_amplitude=float(rng.uniform(0.0, 0.15)),
        texture_seed=int(rng.integers(2**31)),
        distractor=distractor,
    )
    return SceneSpec(
        index=index,
        pair=pair.key,
        backward=bool(rng.random() < 0.5),
        shape=shape,
        colour=list(COLOURS)[int(rng.integers(len(COLOURS)))],
        template=int(rng.integers(len(pair.templates))),
        replaced_shape=others[int(rng.integers(len(others)))],
        radius=float(rng.uniform(0.24, 0.32)),
        cx=float(rng.uniform(-0.2, 0.2)),
        cy=float(rng.uniform(-0.15, 0.15)),
        extent=float(rng.uniform(0.45, 0.6)),
        angle=float(rng.uniform(0, 2 * np.pi)),
        background=background,
    )
