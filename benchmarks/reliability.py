"""Every hostile media case through every entry point that reads media.

    python benchmarks/reliability.py

Writes the hostile corpus (``actionkit.video.hostile``) into a temp folder beside a few good
Action World clips, then runs ``probe``, ``extract`` and ``eval`` (the CLI, in this process,
2 decoding workers) over one manifest holding all of them, and ``world generate`` over a
world folder where each hostile file sits at a clip's path. Prints one row per case: what
each entry point did with it (read / skipped with the reason / re-rendered), whether any
run crashed, and how many good items it lost (must be 0). The last line is machine-readable:
``RESULT cases=<n> crashes=<n> items_lost=<n>``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import tempfile
import traceback
from dataclasses import replace
from pathlib import Path

import torch

from actionkit.backbones.world import WorldBackbone, WorldBackboneConfig
from actionkit.cli import main as cli
from actionkit.data.manifest import read_manifest, write_manifest
from actionkit.features.cache import FeatureCache
from actionkit.video.hostile import write_hostile_corpus
from actionkit.world.generate import WorldConfig, generate_world

GOOD = 6   # good clips in every run: losing any of them counts as items lost


def _short(reason: str) -> str:
    """The reason without the exception name and the file path (the row names the case)."""
    reason = reason.removeprefix("VideoDecodeError: ")
    if reason.startswith("/"):
        reason = reason.split(": ", 1)[-1]
    reason = reason.split(" (InvalidDataError")[0]
    return reason if len(reason) < 60 else reason[:57] + "..."


def run_cli(args: list[str]) -> tuple[int | None, str | None]:
    """(exit code, crash traceback) of one in-process CLI run."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return cli(args), None
    except BaseException:  # noqa: BLE001 - a crash is what this benchmark looks for
        return None, traceback.format_exc(limit=3)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        world = tmp / "world"
        generate_world(world, 24, WorldConfig(seed=0, num_frames=8), workers=1, progress=False)
        good = [r for r in read_manifest(world / "manifest.jsonl")][:GOOD]
        cases = write_hostile_corpus(tmp / "videos")
        for r in good:
            (tmp / "videos" / r.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(world / r.path, tmp / "videos" / r.path)
        hostile = [replace(good[i % GOOD], id=f"case{i:02d}", path=c.path, split="test") for i, c in enumerate(cases)]
        records = [replace(r, split="test") for r in good] + hostile
        write_manifest(tmp / "manifest.jsonl", records)
        torch.manual_seed(0)
        WorldBackbone(WorldBackboneConfig(num_frames=4, width=8, token_dim=16, embed_dim=16)).save(tmp / "bb")
        common = ["--data", str(tmp / "manifest.jsonl"), "--videos", str(tmp / "videos"), "--weights", str(tmp / "bb"),
                  "--workers", "2", "--no-progress", "--timeout", "30"]

        outcome: dict[str, dict[str, str]] = {"probe": {}, "extract": {}, "eval": {}, "world generate": {}}
        crashes, lost = 0, 0
        # probe / eval: the output JSON lists the skipped clips with reasons
        for name, args in (("probe", ["probe", "--split", "all"]), ("eval", ["eval", "--task", "retrieval", "--split", "all"])):
            out = tmp / f"{name}.json"
            rc, crash = run_cli([*args, *common, "--out", str(out)])
            if crash or rc != 0:
                crashes += 1
                print(f"{name} crashed or failed (rc {rc}):\n{crash}")
                continue
            skipped = {s["id"]: s["reason"] for s in json.loads(out.read_text())["skipped_items"]}
            lost += sum(r.id in skipped for r in good)
            outcome[name] = {r.id: f"skipped: {_short(skipped[r.id])}" if r.id in skipped else "read" for r in hostile}
        rc, crash = run_cli(["extract", *common, "--out", str(tmp / "cache")])
        if crash or rc != 0:
            crashes += 1
            print(f"extract crashed or failed (rc {rc}):\n{crash}")
        else:
            cache = FeatureCache(tmp / "cache")
            lost += sum(r.id not in cache for r in good)
            outcome["extract"] = {r.id: "cached" if r.id in cache else f"skipped: {_short(cache.skipped[r.id]['reason'])}"
                                  for r in hostile}
        # world generate: each hostile file put at clip 0's path of a fresh copy of a small world
        for r, case in zip(hostile, cases):
            folder = tmp / f"w-{r.id}"
            shutil.copytree(world, folder, symlinks=True)
            target = folder / read_manifest(folder / "manifest.jsonl")[0].path
            target.unlink()
            source = tmp / "videos" / case.path
            if source.is_symlink():
                target.symlink_to(target.name)                 # a link to itself
            elif source.exists():
                shutil.copy(source, target)
            try:
                s = generate_world(folder, 24, WorldConfig(seed=0, num_frames=8), workers=1, progress=False)
            except BaseException:  # noqa: BLE001
                crashes += 1
                outcome["world generate"][r.id] = "crashed"
                continue
            lost += len(s.failed)
            replaced = dict(s.replaced)
            first = read_manifest(folder / "manifest.jsonl")[0].id
            outcome["world generate"][r.id] = (f"re-rendered: {_short(replaced[first])}" if first in replaced
                                               else "written" if s.written else "kept")

    print("| case | expected | probe | extract | eval | world generate |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r, case in zip(hostile, cases):
        cells = [outcome[e].get(r.id, "crashed") for e in ("probe", "extract", "eval", "world generate")]
        print(f"| {case.name} | {case.expect} | " + " | ".join(cells) + " |")
    print(f"\n{len(cases)} cases x 4 entry points; {GOOD} good clips in each media run; items lost: {lost}")
    print(f"RESULT cases={len(cases)} crashes={crashes} items_lost={lost}")


if __name__ == "__main__":
    main()
