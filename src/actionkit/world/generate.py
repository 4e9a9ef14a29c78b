"""Generate an Action World folder: real ``.mp4`` clips plus a JSONL manifest.

Layout of ``out/``::

    world.json        the WorldConfig it was made with (a rerun must use the same one)
    manifest.jsonl    one ClipRecord per clip (see actionkit.data.manifest)
    clips/aw_000000.mp4 ...

Generation is idempotent: a clip whose file exists and opens as a video of the configured
frame count and size is not rendered again (files are written atomically, so a complete
run leaves only complete files); any other file at a clip's path (empty, truncated, not a
video, a looping link, a stale temp file's leftovers) is rendered again and reported in
``replaced``. The manifest is rebuilt from the seed. Growing ``n`` adds clips without
changing the existing ones.

Splits: ``test`` holds every clip of a held-out colour-shape combination and of a held-out
(shape, verb pair); the rest is ``val`` (``val_fraction``) or ``train``. So the test split
measures generalisation to unseen combinations, not memorisation.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from actionkit.data.manifest import ClipRecord, write_manifest
from actionkit.fileio import write_json_atomic
from actionkit.video.decode import VideoDecodeError, probe_video
from actionkit.video.write import write_mp4
from actionkit.world.render import render_clip
from actionkit.world.scene import SceneSpec, sample_scene
from actionkit.world.vocabulary import PAIRS_BY_KEY, caption

log = logging.getLogger(__name__)

# One held-out colour per shape and one held-out verb pair per shape (a Latin-square-like
# choice, so every colour and six different pairs are involved).
HELD_OUT_COMBOS: frozenset[tuple[str, str]] = frozenset({
    ("circle", "green"), ("square", "yellow"), ("triangle", "purple"),
    ("crescent", "red"), ("star", "blue"), ("cross", "orange"),
})
HELD_OUT_PAIRS: frozenset[tuple[str, str]] = frozenset({
    ("circle", "rotate"), ("square", "open_close"), ("triangle", "grow_shrink"),
    ("crescent", "move_horizontal"), ("star", "fill_empty"), ("cross", "turn_on_off"),
    # and one dynamics pair per shape
    ("circle", "orbit"), ("square", "spin"), ("triangle", "square_path"),
    ("crescent", "out_and_back"), ("star", "pulse"), ("cross", "spin"),
})


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 0
    num_frames: int = 16   # frames written per clip
    size: int = 64         # pixels (square, even)
    fps: int = 8
    codec: str = "libx264"
    val_fraction: float = 0.1


@dataclass
class GenerateSummary:
    n: int
    written: int
    existing: int
    failed: list[tuple[str, str]]  # (clip id, reason)
    replaced: list[tuple[str, str]] = field(default_factory=list)   # (clip id, what was wrong with the file)


class WorldConfigMismatch(ValueError):
    pass


def clip_id(index: int) -> str:
    return f"aw_{index:06d}"


def split_of(spec: SceneSpec, cfg: WorldConfig) -> str:
    pair = PAIRS_BY_KEY[spec.pair]
    if (spec.shape, spec.colour) in HELD_OUT_COMBOS or (spec.shape, pair.key) in HELD_OUT_PAIRS:
        return "test"
    u = np.random.default_rng([cfg.seed, spec.index, 1]).random()
    return "val" if u < cfg.val_fraction else "train"


def record_of(spec: SceneSpec, cfg: WorldConfig) -> ClipRecord:
    """The manifest row of a clip (captions, verbs, split) from its spec alone."""
    pair = PAIRS_BY_KEY[spec.pair]
    verb, antonym = (pair.backward, pair.forward) if spec.backward else (pair.forward, pair.backward)
    cid = clip_id(spec.index)
    return ClipRecord(
        id=cid,
        path=f"clips/{cid}.mp4",
        caption=caption(pair, spec.backward, spec.template, spec.colour, spec.shape),
        verb=verb,
        antonym_caption=caption(pair, not spec.backward, spec.template, spec.colour, spec.shape),
        object_replaced_caption=caption(pair, spec.backward, spec.template, spec.colour, spec.replaced_shape),
        object=spec.shape,
        colour=spec.colour,
        split=split_of(spec, cfg),
        extra={
            "antonym_verb": antonym, "verb_pair": pair.key, "family": pair.family,
            "pair_kind": "reversal" if pair.reversal else "symmetric", "caption_kind": pair.kind,
            **({} if pair.order_only is None else {"order_only": pair.order_only}),
            "template": spec.template, "replaced_object": spec.replaced_shape,
            "num_frames": cfg.num_frames, "fps": cfg.fps,
        },
    )


def _write_clip(args: tuple[int, dict, str]) -> tuple[int, str | None]:
    """Worker: render and write one clip; returns (index, error or None)."""
    index, cfg_dict, path = args
    cfg = WorldConfig(**cfg_dict)
    try:
        frames = render_clip(sample_scene(cfg.seed, index), cfg.num_frames, cfg.size)
        write_mp4(path, frames, fps=cfg.fps, codec=cfg.codec)
        return index, None
    except Exception as e:  # noqa: BLE001 - a failed clip is counted, not fatal
        return index, f"{type(e).__name__}: {e}"


def _existing_clip_problem(path: Path, cfg: WorldConfig) -> str | None:
    """None if ``path`` is absent (to be written) or a complete clip; else what is wrong with it."""
    if not path.is_file() and not path.is_symlink():
        return None
    try:
        info = probe_video(path)
    except VideoDecodeError as e:
        return e.problem
    if (info.num_frames, info.width, info.height) != (cfg.num_frames, cfg.size, cfg.size):
        return (f"holds {info.num_frames} frames of {info.width}x{info.height}, expected "
                f"{cfg.num_frames} of {cfg.size}x{cfg.size}")
    return None


# What a seed means: the verb list, the renderer and the encoder settings. Bumped whenever one of
# them changes, so a folder made by another version is refused instead of relabelled.
# 2: the dynamics family (15 pairs), the white-tipped marker, x264 without lookahead.
WORLD_FORMAT = 2


def _check_config(out: Path, cfg: WorldConfig) -> None:
    path = out / "world.json"
    wanted = {**asdict(cfg), "format": WORLD_FORMAT}
    if path.exists():
        old = json.loads(path.read_text())
        if old.get("format", 1) != WORLD_FORMAT:
            raise WorldConfigMismatch(
                f"{out} holds a world of format {old.get('format', 1)} (another verb list, renderer or encoder); "
                f"this version writes format {WORLD_FORMAT}: generate it into another --out")
        if old != wanted:
            diff = ", ".join(f"{k}: {old.get(k)!r} -> {v!r}" for k, v in wanted.items() if old.get(k) != v)
            raise WorldConfigMismatch(
                f"{out} holds a world made with other settings ({diff}); "
                "use the same settings to extend it, or another --out"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, wanted)


def generate_world(out: Path | str, n: int, cfg: WorldConfig = WorldConfig(), workers: int = 2,
                   progress: bool = True) -> GenerateSummary:
    """Write clips 0..n-1 of the world into ``out`` (skipping finished files) and the manifest."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if cfg.size % 2:
        raise ValueError(f"size must be even for mp4 (yuv420p), got {cfg.size}")
    out = Path(out)
    _check_config(out, cfg)
    specs = [sample_scene(cfg.seed, i) for i in range(n)]
    records = [record_of(s, cfg) for s in specs]
    replaced = [(r.id, problem) for r in records if (problem := _existing_clip_problem(out / r.path, cfg))]
    for cid, problem in replaced:
        log.warning("clip %s: %s; rendering it again", cid, problem)
    stale = {cid for cid, _ in replaced}
    todo = [(i, asdict(cfg), str(out / r.path)) for i, r in enumerate(records)
            if r.id in stale or not (out / r.path).is_file()]
    failed: list[tuple[str, str]] = []
    if todo:
        bar = tqdm(total=len(todo), desc="world generate", unit="clip", disable=not progress)
        if workers > 1:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                results = pool.map(_write_clip, todo, chunksize=16)
                for index, error in results:
                    if error:
                        failed.append((clip_id(index), error))
                    bar.update()
        else:
            for item in todo:
                index, error = _write_clip(item)
                if error:
                    failed.append((clip_id(index), error))
                bar.update()
        bar.close()
    bad = {cid for cid, _ in failed}
    for cid, reason in failed:
        log.warning("clip %s failed: %s", cid, reason)
    write_manifest(out / "manifest.jsonl", [r for r in records if r.id not in bad])
    return GenerateSummary(n=n, written=len(todo) - len(failed), existing=n - len(todo), failed=failed,
                           replaced=replaced)
