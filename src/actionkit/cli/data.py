"""``actionkit world generate``, ``actionkit bench build``, ``actionkit extract``: making and caching data."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from actionkit.cli.common import (HELP, backbone_options, common_options, data_options, load_backbone_from,
                                  manifest_and_root, read_options, reading_options)


def cmd_world_generate(args: argparse.Namespace) -> int:
    from actionkit.world.generate import WorldConfig, generate_world

    cfg = WorldConfig(seed=args.seed, num_frames=args.frames, size=args.size, fps=args.fps, codec=args.codec)
    s = generate_world(args.out, args.n, cfg, workers=args.workers, progress=not args.no_progress)
    print(f"{args.out}: {s.n} clips ({s.written} written, {s.existing} already there, {len(s.replaced)} bad files "
          f"rendered again, {len(s.failed)} failed); manifest {Path(args.out) / 'manifest.jsonl'}")
    for cid, reason in s.replaced[:20]:
        print(f"  rendered again {cid}: {reason}")
    for cid, reason in s.failed[:20]:
        print(f"  failed {cid}: {reason}")
    return 1 if s.failed else 0


def cmd_bench_build(args: argparse.Namespace) -> int:
    from actionkit.data.manifest import ManifestError
    from actionkit.data.ssv2 import read_ssv2
    from actionkit.data.validate import check_clip_windows
    from actionkit.fileio import write_text_atomic
    from actionkit.text.actionbench import build_actionbench, write_actionbench

    errors: list[ManifestError] = []
    records = read_ssv2(args.annotations, args.labels, videos_ext=args.videos_ext, split=args.split, errors=errors)
    rows = [{"reason": e.kind, "detail": str(e)} for e in errors]
    if args.videos:      # each kept row's video must open and hold its window
        bad = {p.record.id: p for p in check_clip_windows(records, args.videos, probe_all=True)}
        rows += [{"id": p.record.id, "reason": p.kind, "detail": p.detail} for p in bad.values()]
        records = [r for r in records if r.id not in bad]
    build = build_actionbench(records, seed=args.seed)
    write_actionbench(args.out, build)
    rows += [{"id": cid, "reason": reason} for cid, reason in build.dropped_ids]
    dropped_path = Path(args.out).with_suffix(".dropped.jsonl")
    write_text_atomic(dropped_path, "".join(json.dumps(r) + "\n" for r in rows))
    total = build.kept + len(rows)
    print(f"{args.out}: {build.kept} of {total} records kept, {len(rows)} dropped (listed in {dropped_path})")
    for reason, n in Counter(r["reason"] for r in rows).most_common():
        print(f"  dropped {n}: {reason}")
    for row in [r for r in rows if "detail" in r][:20]:
        print(f"    {row['detail']}")
    for reason, n in build.no_object_replacement.items():
        print(f"  kept without an object replacement {n}: {reason}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from actionkit.data.manifest import read_manifest
    from actionkit.features.extract import ExtractConfig, extract_features
    from actionkit.train.distributed import init_from_env, rank_and_world

    device = init_from_env(args.device)
    manifest, root = manifest_and_root(args.data, args.videos)
    backbone, _ = load_backbone_from(args, manifest.parent, device)
    records = read_manifest(manifest, split=None if args.split == "all" else args.split)
    cfg = ExtractConfig(dtype=args.dtype, batch_size=args.batch_size, workers=args.workers,
                        shard_size=args.shard_size, device=device, compile=args.compile, read=read_options(args),
                        retry_skipped=args.retry_skipped)
    s = extract_features(backbone, records, root, args.out, cfg, progress=not args.no_progress)
    rank, world = rank_and_world()
    who = f"rank {rank}/{world}: " if world > 1 else ""
    print(f"{who}{args.out}: {s.extracted} of {s.clips} clips extracted in {s.seconds:.0f} s "
          f"({s.clips_per_s} clips/s), {s.already} already there, {s.skipped} skipped")
    for item in s.skipped_items[:20]:
        print(f"  skipped {item['id']} ({item['path']}): {item['reason']}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    common, reading = common_options(), reading_options()
    world = sub.add_parser("world", help="the procedural Action World").add_subparsers(dest="world_command",
                                                                                        required=True)
    gen = world.add_parser("generate", parents=[common], formatter_class=HELP,
                           help="write clips (.mp4) and manifest.jsonl")
    gen.add_argument("--n", type=int, default=4000, help="number of clips")
    gen.add_argument("--out", required=True, help="output folder (rerunning skips finished clips)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--frames", type=int, default=16, help="frames per clip")
    gen.add_argument("--size", type=int, default=64, help="frame size in pixels (even)")
    gen.add_argument("--fps", type=int, default=8)
    gen.add_argument("--codec", default="libx264", choices=["libx264", "mpeg4"])
    gen.set_defaults(func=cmd_world_generate)

    bench = sub.add_parser("bench", help="ActionBench records").add_subparsers(dest="bench_command", required=True)
    build = bench.add_parser("build", parents=[common], formatter_class=HELP,
                             help="antonym and object-replaced captions -> JSONL")
    build.add_argument("--format", required=True, choices=["ssv2"], help="annotation format")
    build.add_argument("--labels", required=True, help="labels.json (template -> class index)")
    build.add_argument("--annotations", required=True, help="SSv2 annotation JSON (a list of items)")
    build.add_argument("--out", required=True, help="output manifest (.jsonl)")
    build.add_argument("--split", default="val", choices=["train", "val", "test"])
    build.add_argument("--seed", type=int, default=0, help="seed of the object replacement")
    build.add_argument("--videos", help="video folder: rows whose video is missing, unreadable or shorter "
                                        "than their window are dropped and listed")
    build.add_argument("--videos-ext", default=".webm", help="file extension of the SSv2 videos")
    build.set_defaults(func=cmd_bench_build)

    extract = sub.add_parser("extract", parents=[common, reading, backbone_options(), data_options("all", False)],
                             formatter_class=HELP, help="cache a frozen backbone's frame features once")
    extract.add_argument("--out", required=True, help="cache folder (rerunning continues where it stopped)")
    extract.add_argument("--dtype", default="float16", choices=["float16", "bfloat16", "float32"])
    extract.add_argument("--batch-size", type=int, default=32, help="clips per backbone call")
    extract.add_argument("--shard-size", type=int, default=512, help="clips per shard file")
    extract.add_argument("--compile", action="store_true", help="torch.compile the video encoder")
    extract.add_argument("--retry-skipped", action="store_true",
                         help="decode again the clips an earlier run skipped (e.g. after a timeout)")
    extract.set_defaults(func=cmd_extract)
