"""Render a ``SceneSpec`` into frames: numpy only, anti-aliased, deterministic.

Coordinates: x, y in [-1, 1] across the frame, y pointing down, so a growing angle turns
a shape clockwise on screen. Each verb pair is a function of a motion parameter ``s``
that runs 0 -> 1 over the clip; for a pair that is a reversal the antonym verb runs it
1 -> 0, which makes the antonym clip the exact temporal reversal of the original; a
time-symmetric pair (``reversal=False``) mirrors the motion instead. Dynamics verbs rest
for the first and last eighth of the clip (``motion_schedule``), so the first and last
sampled frames are the same start state for a verb and for its antonym.
"""

from __future__ import annotations

import numpy as np

from actionkit.world.scene import SceneSpec
from actionkit.world.vocabulary import COLOURS, PAIRS_BY_KEY

Image = np.ndarray  # float32 [H, W, 3] in [0, 1]

_MARKER = np.array([0.08, 0.08, 0.08], dtype=np.float32)
_TIP = np.array([0.97, 0.97, 0.97], dtype=np.float32)
_BOX = np.array([0.50, 0.38, 0.25], dtype=np.float32)
_GLOW = np.array([1.0, 0.97, 0.75], dtype=np.float32)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    y, x = np.meshgrid(c, c, indexing="ij")
    return x, y


def _polygon_radius(theta: np.ndarray, n: int, circumradius: float) -> np.ndarray:
    """Boundary radius of a regular n-gon with a vertex pointing up."""
    step = 2 * np.pi / n
    phase = np.mod(theta + np.pi / 2, step) - step / 2
    return circumradius * np.cos(np.pi / n) / np.cos(phase)


def _star_radius(theta: np.ndarray) -> np.ndarray:
    step = 2 * np.pi / 5
    phase = np.mod(theta + np.pi / 2, step) / step           # 0 at a tip, 0.5 between tips
    return 0.5 + 0.65 * np.abs(1 - 2 * phase)


def shape_distance(shape: str, lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """Signed distance-like field of a unit-size shape: < 0 inside, in shape radii."""
    if shape == "cross":
        ax, ay = np.abs(lx), np.abs(ly)
        arm_h = np.maximum(ax - 1.0, ay - 0.33)
        arm_v = np.maximum(ax - 0.33, ay - 1.0)
        return np.minimum(arm_h, arm_v)
    if shape == "crescent":
        disc = np.hypot(lx, ly) - 1.0
        bite = np.hypot(lx + 0.55, ly) - 0.8
        return np.maximum(disc, -bite)
    rho = np.hypot(lx, ly)
    theta = np.arctan2(ly, lx)
    if shape == "circle":
        boundary = np.ones_like(rho)
    elif shape == "square":
        boundary = 0.85 / np.maximum(np.abs(np.cos(theta)), np.abs(np.sin(theta)))
    elif shape == "triangle":
        boundary = _polygon_radius(theta, 3, 1.2)
    elif shape == "star":
        boundary = _star_radius(theta)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return rho - boundary


def coverage(shape: str, x: np.ndarray, y: np.ndarray, cx: float, cy: float, radius: float,
             angle: float) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a shape centred at (cx, cy), turned by ``angle``."""
    cos, sin = np.cos(-angle), np.sin(-angle)
    dx, dy = (x - cx) / radius, (y - cy) / radius
    lx, ly = cos * dx - sin * dy, sin * dx + cos * dy
    pixel = 2.0 / x.shape[1]
    return np.clip(0.5 - shape_distance(shape, lx, ly) * radius / pixel, 0.0, 1.0)


def _rect(x, y, x0, y0, x1, y1) -> np.ndarray:
    pixel = 2.0 / x.shape[1]
    d = np.maximum(np.maximum(x0 - x, x - x1), np.maximum(y0 - y, y - y1))
    return np.clip(0.5 - d / pixel, 0.0, 1.0)


def _over(image: Image, alpha: np.ndarray, colour: np.ndarray) -> Image:
    a = alpha[..., None]
    return image * (1 - a) + colour * a


def render_background(spec: SceneSpec, size: int) -> Image:
    bg = spec.background
    x, y = _grid(size)
    g = bg.grey + bg.gradient_amplitude * (np.cos(bg.gradient_angle) * x + np.sin(bg.gradient_angle) * y)
    rng = np.random.default_rng(bg.texture_seed)
    for _ in range(3):  # low-frequency texture
        fx, fy = rng.uniform(1, 4, size=2)
        g = g + 0.03 * np.sin(np.pi * (fx * x + fy * y) + rng.uniform(0, 2 * np.pi))
    image = np.clip(g[..., None] + np.asarray(bg.tint, dtype=np.float32), 0, 1).astype(np.float32)
    if bg.distractor is not None:
        dx, dy, w, h, level = bg.distractor
        image = _over(image, _rect(x, y, dx, dy, dx + w, dy + h), np.full(3, level, np.float32))
    return image


def _draw_object(image: Image, spec: SceneSpec, x, y, cx, cy, radius, angle, colour,
                 alpha: float = 1.0) -> Image:
    """The object with its orientation marker (a dark clock hand from the centre with a white tip), so
    rotations are visible."""
    image = _over(image, alpha * coverage(spec.shape, x, y, cx, cy, radius, angle), colour)
    c, s = np.cos(-angle), np.sin(-angle)
    lx, ly = c * (x - cx) - s * (y - cy), s * (x - cx) + c * (y - cy)    # the object's own frame
    hand = _rect(lx, ly, -0.1 * radius, -0.17 * radius, 0.85 * radius, 0.17 * radius)
    image = _over(image, alpha * hand, _MARKER)
    # a white tip on the hand: orientation stays visible on dark objects and at 64 px
    tip = coverage("circle", lx, ly, 0.62 * radius, 0.0, 0.24 * radius, 0.0)
    return _over(image, alpha * tip, _TIP)


def render_frame(spec: SceneSpec, s: float, size: int, background: Image | None = None) -> Image:
    """One frame at motion parameter ``s`` in [0, 1] (already reversed for backward verbs)."""
    x, y = _grid(size)
    image = render_background(spec, size) if background is None else background.copy()
    colour = np.asarray(COLOURS[spec.colour], dtype=np.float32)
    cx, cy, r, angle = spec.cx, spec.cy, spec.radius, spec.angle
    lerp = lambda a, b: a + (b - a) * s  # noqa: E731

    if spec.pair == "move_horizontal":
        return _draw_object(image, spec, x, y, spec.extent * (2 * s - 1), cy, r, angle, colour)
    if spec.pair == "move_vertical":
        return _draw_object(image, spec, x, y, cx, spec.extent * (1 - 2 * s), r, angle, colour)
    if spec.pair == "approach_recede":
        return _draw_object(image, spec, x, y, cx, lerp(-0.35, 0.3), r * lerp(0.45, 1.3), angle, colour)
    if spec.pair == "grow_shrink":
        return _draw_object(image, spec, x, y, cx, cy, r * lerp(0.35, 1.35), angle, colour)
    if spec.pair == "appear_disappear":
        return _draw_object(image, spec, x, y, cx, cy, r, angle, colour, alpha=s)
    if spec.pair == "rotate":
        return _draw_object(image, spec, x, y, cx, cy, r, angle + s * np.deg2rad(150), colour)
    if spec.pair == "open_close":
        image = _draw_object(image, spec, x, y, cx, cy + 0.2 * r, r, angle, colour)
        # A lid hinged at its left end on top of the object, swinging up by up to 110 degrees.
        hx, hy, length, thick = cx - 1.0 * r, cy - 0.6 * r, 2.0 * r, 0.3 * r
        lid_angle = -np.deg2rad(110) * s
        c, sn = np.cos(-lid_angle), np.sin(-lid_angle)
        lx, ly = c * (x - hx) - sn * (y - hy), sn * (x - hx) + c * (y - hy)
        lid = _rect(lx, ly, 0.0, -thick, length, 0.0)
        return _over(image, lid, 0.5 * colour + 0.5)
    if spec.pair == "fill_empty":
        # A hollow container whose inside fills from the bottom up to a level.
        outer = coverage(spec.shape, x, y, cx, cy, r * 1.15, angle)
        inner = coverage(spec.shape, x, y, cx, cy, r * 0.9, angle)
        image = _over(image, np.clip(outer - inner, 0, 1), colour)
        top, bottom = cy - 0.95 * r, cy + 0.95 * r
        level = bottom - (bottom - top) * s
        liquid = inner * np.clip(0.5 + (y - level) * x.shape[1] / 2, 0, 1)
        return _over(image, liquid, colour)
    if spec.pair == "put_take":
        bx, top, bottom, half = cx, 0.2, 0.9, 1.45 * r
        image = _over(image, _rect(x, y, bx - half, top, bx + half, bottom), 0.6 * _BOX)
        oy = lerp(-0.6, 0.58)
        image = _draw_object(image, spec, x, y, bx, oy, r, angle, colour)
        front = _rect(x, y, bx - half, top + 0.25 * r, bx + half, bottom)
        return _over(image, front, _BOX)
    # -- dynamics: start and end in the same state --------------------------------------
    turn = 2 * np.pi * s
    if spec.pair == "spin":
        return _draw_object(image, spec, x, y, cx, cy, r, angle + turn, colour)
    if spec.pair == "orbit":                  # starts at the top of the circle, clockwise on screen
        rho = 0.42
        return _draw_object(image, spec, x, y, cx + rho * np.sin(turn), cy - rho * np.cos(turn), 0.75 * r, angle,
                            colour)
    if spec.pair == "square_path":            # starts at the top-left corner, clockwise on screen
        px, py = _square_point(s, half=0.38)
        return _draw_object(image, spec, x, y, cx + px, cy + py, 0.75 * r, angle, colour)
    if spec.pair == "out_and_back":           # the antonym goes left: the motion mirrored, not reversed
        side = -1.0 if spec.backward else 1.0
        return _draw_object(image, spec, x, y, side * spec.extent * np.sin(np.pi * s), cy, r, angle, colour)
    if spec.pair == "pulse":                  # the antonym shrinks first
        sign = -1.0 if spec.backward else 1.0
        return _draw_object(image, spec, x, y, cx, cy, r * (1 + sign * 0.55 * np.sin(np.pi * s)), angle, colour)
    if spec.pair == "turn_on_off":
        glow = s * 0.7 * np.clip(1 - np.hypot(x - cx, y - cy) / (2.0 * r), 0, 1)
        image = _over(image, glow, _GLOW)
        return _draw_object(image, spec, x, y, cx, cy, r, angle, colour * lerp(0.35, 1.0) + 0.25 * s)
    raise ValueError(f"unknown verb pair {spec.pair!r}")


def _square_point(s: float, half: float) -> tuple[float, float]:
    """A point going once clockwise around a square of half-side ``half``, from its top-left corner."""
    corners = np.array([(-half, -half), (half, -half), (half, half), (-half, half), (-half, -half)])
    k = min(int(s * 4), 3)
    a, b = corners[k], corners[k + 1]
    u = s * 4 - k
    return float(a[0] + (b[0] - a[0]) * u), float(a[1] + (b[1] - a[1]) * u)


def motion_schedule(spec: SceneSpec, num_frames: int) -> list[float]:
    """The motion parameter s of each frame: 0 -> 1 over the clip; a dynamics verb rests for
    ``num_frames // 8`` frames at each end; a reversal's backward verb runs it 1 -> 0."""
    pair = PAIRS_BY_KEY[spec.pair]
    hold = num_frames // 8 if pair.family == "dynamics" else 0
    span = max(num_frames - 1 - 2 * hold, 1)
    s = [min(max((t - hold) / span, 0.0), 1.0) if num_frames > 1 else 0.0 for t in range(num_frames)]
    return [1.0 - v for v in s] if spec.backward and pair.reversal else s


def render_clip(spec: SceneSpec, num_frames: int = 16, size: int = 64) -> np.ndarray:
    """All frames of a clip as uint8 ``[T, H, W, 3]`` (see ``motion_schedule``)."""
    background = render_background(spec, size)
    frames = []
    for s in motion_schedule(spec, num_frames):
        frame = render_frame(spec, s, size, background)
        frames.append(np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8))
    return np.stack(frames)
