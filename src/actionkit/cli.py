"""``actionkit <command>``: the command line. Each command is a thin wrapper over the library."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

log = logging.getLogger("actionkit")


def _manifest_and_root(data: str, videos: str | None) -> tuple[Path, Path]:
    """``--data`` is a folder holding manifest.jsonl, or a manifest file; videos default to its folder."""
    path = Path(data)
    manifest = path / "manifest.jsonl" if path.is_dir() else path
    return manifest, Path(videos) if videos else manifest.parent


def _default_weights(backbone: str, data: Path) -> Path | None:
    """Where `actionkit backbone train` puts the Action World backbones; real backbones name their own path."""
    return {"world": data / "backbone", "lit": data / "backbone-lit"}.get(backbone)


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


def cmd_backbone_train(args: argparse.Namespace) -> int:
    from actionkit.backbones.world import WorldBackboneConfig
    from actionkit.backbones.world_training import WorldTrainConfig, train_world_backbone

    cfg = WorldTrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                           workers=args.workers, device=args.device)
    model_cfg = WorldBackboneConfig.lit() if args.backbone == "lit" else WorldBackboneConfig()
    out = args.out or str(_default_weights(args.backbone, Path(args.data)))
    summary = train_world_backbone(args.data, out, model_cfg, cfg, progress=not args.no_progress, resume=args.resume)
    print(json.dumps(summary, indent=2))
    print(f"saved the {args.backbone} backbone to {out}")
    return 0


def _load_model(args: argparse.Namespace, root_hint: Path):
    """(backbone, model to evaluate, its name) from --backbone/--weights/--patcher/--fuser."""
    from actionkit.backbones.load import load_backbone

    backbone = model = load_backbone(args.backbone, args.weights or _default_weights(args.backbone, root_hint),
                                     device=args.device)
    name = args.backbone
    if args.patcher:
        from actionkit.methods.paxion.model import PatchedModel

        model, name = PatchedModel.load(args.patcher, backbone), "patched"
    if getattr(args, "fuser", None):
        if not args.patcher:
            raise ValueError("--fuser needs the --patcher it was trained on")
        from actionkit.methods.paxion.fuser import FusedModel

        model, name = FusedModel.load(args.fuser, model), "fused"
    return backbone, model, name


def cmd_probe(args: argparse.Namespace) -> int:
    from actionkit.data.manifest import read_manifest
    from actionkit.probes.actionbench import run_actionbench
    from actionkit.report import probe_table_markdown, write_json_atomic

    start = time.time()
    manifest, root = _manifest_and_root(args.data, args.videos)
    backbone, model, name = _load_model(args, manifest.parent)
    records = read_manifest(manifest, split=None if args.split == "all" else args.split)
    if not records:
        raise ValueError(f"{manifest}: no clips in split {args.split!r}")
    features = _cached_features(args.features, records, backbone)
    result = run_actionbench(model, records, root, batch_size=args.batch_size, workers=args.workers,
                             progress=not args.no_progress, device=args.device, features=features,
                             read=_read_options(args))
    report = {
        "split": args.split, "wall_seconds": round(time.time() - start, 2), "n_clips": result.n_clips,
        "skipped": len(result.skipped), "models": {name: result.to_dict()},
        "skipped_items": [s.to_dict() for s in result.skipped],
    }
    out = Path(args.out) if args.out else manifest.parent / f"probe_{name.replace(':', '_')}_{args.split}.json"
    write_json_atomic(out, report)
    print(probe_table_markdown(report["models"]))
    print(f"\n{result.n_clips} clips scored, {len(result.skipped)} skipped; chance = 0.50; JSON: {out}")
    return 0


def _read_options(args: argparse.Namespace):
    from actionkit.data.clips import ReadOptions

    return ReadOptions(timeout_s=args.timeout, strict=args.strict, allow_outside_root=args.allow_outside_root)


def _cached_features(path: str | None, records, backbone):
    """``--features CACHE``: the cached frame features of ``records`` (the cache must be the backbone's)."""
    if not path:
        return None
    from actionkit.features.clip_features import ClipFeatures

    return ClipFeatures.from_cache(path, records, backbone)


def cmd_extract(args: argparse.Namespace) -> int:
    from actionkit.backbones.load import load_backbone
    from actionkit.data.manifest import read_manifest
    from actionkit.features.extract import ExtractConfig, extract_features
    from actionkit.train.distributed import init_from_env, rank_and_world

    device = init_from_env(args.device)
    manifest, root = _manifest_and_root(args.data, args.videos)
    backbone = load_backbone(args.backbone, args.weights or _default_weights(args.backbone, manifest.parent),
                             device=device)
    records = read_manifest(manifest, split=None if args.split == "all" else args.split)
    cfg = ExtractConfig(dtype=args.dtype, batch_size=args.batch_size, workers=args.workers,
                        shard_size=args.shard_size, device=device, compile=args.compile, read=_read_options(args),
                        retry_skipped=args.retry_skipped)
    s = extract_features(backbone, records, root, args.out, cfg, progress=not args.no_progress)
    rank, world = rank_and_world()
    who = f"rank {rank}/{world}: " if world > 1 else ""
    print(f"{who}{args.out}: {s.extracted} of {s.clips} clips extracted in {s.seconds:.0f} s "
          f"({s.clips_per_s} clips/s), {s.already} already there, {s.skipped} skipped")
    for item in s.skipped_items[:20]:
        print(f"  skipped {item['id']} ({item['path']}): {item['reason']}")
    return 0


def _loss_weights(text: str) -> dict[str, float]:
    """``"vtc=1,vac=0.5"`` -> ``{"vtc": 1.0, "vac": 0.5}``."""
    weights = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--loss-weights: {item!r} is not NAME=NUMBER") from None
        if not sep:
            raise ValueError(f"--loss-weights: {item!r} is not NAME=NUMBER")
    return weights


def cmd_patch(args: argparse.Namespace) -> int:
    from actionkit.backbones.load import load_backbone
    from actionkit.methods.paxion.patcher import PatcherConfig
    from actionkit.methods.paxion.training import PatchTrainConfig, train_patcher

    from actionkit.data.manifest import read_manifest
    from actionkit.train.distributed import init_from_env

    device = init_from_env(args.device)
    manifest, _ = _manifest_and_root(args.data, None)
    weights = args.weights or _default_weights(args.backbone, manifest.parent)
    backbone = load_backbone(args.backbone, weights, device=device)
    features = _cached_features(args.features, read_manifest(manifest, split="train"), backbone)
    patcher = PatcherConfig(num_latents=args.latents, dim=args.dim, depth=args.depth, heads=args.heads,
                            text_perceiver=not args.no_text_perceiver)
    cfg = PatchTrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                           device=device, objectives=tuple(o.strip() for o in args.objectives.split(",")),
                           loss_weights=_loss_weights(args.loss_weights),
                           atm_shuffle=args.atm_shuffle, skip_missing_antonyms=args.skip_missing_antonyms,
                           workers=args.workers)
    out = args.out or str(manifest.parent / "patcher")
    summary = train_patcher(backbone, manifest.parent, out, patcher, cfg, progress=not args.no_progress,
                            resume=args.resume, backbone_name=args.backbone, features=features)
    print(json.dumps(summary, indent=2))
    print(f"saved the patcher to {out}; probe it with `actionkit probe --data {args.data} --patcher {out}`")
    return 0


def cmd_fuse(args: argparse.Namespace) -> int:
    from actionkit.backbones.load import load_backbone
    from actionkit.data.manifest import read_manifest
    from actionkit.methods.paxion.fuser import FuserConfig, train_fuser
    from actionkit.methods.paxion.model import PatchedModel
    from actionkit.train.distributed import init_from_env
    from actionkit.train.trainer import TrainerConfig

    args.device = init_from_env(args.device)
    manifest, _ = _manifest_and_root(args.data, None)
    weights = args.weights or _default_weights(args.backbone, manifest.parent)
    patched = PatchedModel.load(args.patcher, load_backbone(args.backbone, weights, device=args.device))
    features = _cached_features(args.features, read_manifest(manifest, split="train"), patched.backbone)
    out = args.out or str(manifest.parent / "fuser")
    train = TrainerConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                          device=args.device)
    summary = train_fuser(patched, manifest.parent, out, FuserConfig(variant=args.variant), train,
                          workers=args.workers, progress=not args.no_progress, resume=args.resume, features=features)
    print(json.dumps(summary, indent=2))
    print(f"saved the fuser to {out}; probe it with `actionkit probe --data {args.data} --patcher {args.patcher} "
          f"--fuser {out}`")
    return 0


def _eval_inputs(args: argparse.Namespace):
    from actionkit.eval.run import EvalInputs

    return EvalInputs(classes=tuple(args.classes or ()), questions=args.questions, counterfactuals=args.counterfactuals,
                      shots=tuple(args.shots), seeds=tuple(range(args.fewshot_seeds)), seed=args.seed)


def _print_eval(results: dict, out: Path) -> None:
    from actionkit.report import downstream_table_markdown

    print(downstream_table_markdown(results))
    print(f"\nJSON: {out}")


def cmd_eval(args: argparse.Namespace) -> int:
    from actionkit.data.manifest import read_manifest
    from actionkit.eval.run import TASKS, evaluate
    from actionkit.report import write_json_atomic

    manifest, root = _manifest_and_root(args.data, args.videos)
    backbone, model, name = _load_model(args, manifest.parent)
    records = read_manifest(manifest, split=None if args.split == "all" else args.split)
    if not records:
        raise ValueError(f"{manifest}: no clips in split {args.split!r}")
    tasks = TASKS if args.task == "all" else tuple(t.strip() for t in args.task.split(","))
    result = evaluate(model, records, root, tasks, _eval_inputs(args),
                      features=_cached_features(args.features, records, backbone), progress=not args.no_progress,
                      workers=args.workers, device=args.device, read=_read_options(args))
    out = Path(args.out) if args.out else manifest.parent / f"eval_{name.replace(':', '_')}_{args.split}.json"
    report = {name: result.metrics}
    write_json_atomic(out, {"models": report, "split": args.split, "n_clips": result.n_clips,
                            "skipped": len(result.skipped), "skipped_items": [s.to_dict() for s in result.skipped]})
    _print_eval(report, out)
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    """Train the Knowledge Fuser on the train split (patcher frozen), then evaluate on --split."""
    from actionkit.data.manifest import read_manifest
    from actionkit.eval.run import TASKS, evaluate
    from actionkit.methods.paxion.fuser import FuserConfig, FusedModel, train_fuser
    from actionkit.report import write_json_atomic
    from actionkit.train.trainer import TrainerConfig

    from actionkit.train.distributed import init_from_env, rank_and_world

    args.device = init_from_env(args.device)
    manifest, root = _manifest_and_root(args.data, None)
    backbone, patched, _ = _load_model(args, manifest.parent)
    if patched is backbone:
        raise ValueError("finetune needs --patcher (the fuser reads the frozen patcher's latents)")
    out_dir = Path(args.out or manifest.parent / "fuser")
    train = TrainerConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                          device=args.device)
    train_records = read_manifest(manifest, split="train")
    summary = train_fuser(patched, manifest.parent, out_dir, FuserConfig(variant=args.variant), train,
                          workers=args.workers, progress=not args.no_progress, resume=args.resume,
                          features=_cached_features(args.features, train_records, backbone))
    print(json.dumps(summary, indent=2))
    if rank_and_world()[0] != 0:       # under torchrun: training is shared, evaluation is rank 0's
        return 0
    fused = FusedModel.load(out_dir, patched)
    records = read_manifest(manifest, split=args.split)
    tasks = TASKS if args.task == "all" else tuple(t.strip() for t in args.task.split(","))
    result = evaluate(fused, records, root, tasks, _eval_inputs(args),
                      features=_cached_features(args.features, records, backbone), progress=not args.no_progress,
                      workers=args.workers, device=args.device, read=_read_options(args))
    out = out_dir / f"eval_{args.split}.json"
    write_json_atomic(out, {"models": {"fused": result.metrics}, "split": args.split, "n_clips": result.n_clips,
                            "skipped": len(result.skipped), "fuser": summary})
    _print_eval({"fused": result.metrics}, out)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from actionkit.demo import DemoConfig, run_demo
    from actionkit.report import probe_table_markdown

    cfg = DemoConfig(seed=args.seed, workers=args.workers)
    if args.quick:
        cfg = cfg.quick()
    if args.n is not None:
        cfg.n = args.n
    if args.epochs is not None:
        cfg.epochs = args.epochs
    out = Path(args.out) if args.out else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    report = run_demo(out, cfg, progress=not args.no_progress)
    print(probe_table_markdown(report["models"]))
    print(f"\nsplit {report['split']}: {report['n_clips']} clips, {report['skipped']} skipped, "
          f"{report['wall_seconds']:.0f} s; chance = 0.50")
    print(f"report: {out / 'report.md'}, {out / 'report.json'}, {out / 'probe_accuracy.png'}")
    return 0


def cmd_bench_build(args: argparse.Namespace) -> int:
    from collections import Counter

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


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workers", type=int, default=2, help="decoding/rendering worker processes")
    common.add_argument("--no-progress", action="store_true", help="no progress bars")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("--strict", action="store_true",
                         help="stop at the first unreadable clip instead of skipping and counting it")
    reading.add_argument("--timeout", type=float, default=120.0, help="seconds a clip may take to decode")
    reading.add_argument("--allow-outside-root", action="store_true",
                         help="read annotation paths that leave the video root (../, absolute paths elsewhere)")

    parser = argparse.ArgumentParser(prog="actionkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    world = sub.add_parser("world", help="the procedural Action World").add_subparsers(dest="world_command", required=True)
    gen = world.add_parser("generate", parents=[common], help="write clips (.mp4) and manifest.jsonl")
    gen.add_argument("--n", type=int, default=4000, help="number of clips")
    gen.add_argument("--out", required=True, help="output folder (rerunning skips finished clips)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--frames", type=int, default=16, help="frames per clip")
    gen.add_argument("--size", type=int, default=64, help="frame size in pixels (even)")
    gen.add_argument("--fps", type=int, default=8)
    gen.add_argument("--codec", default="libx264", choices=["libx264", "mpeg4"])
    gen.set_defaults(func=cmd_world_generate)

    backbone = sub.add_parser("backbone", help="the built-in world backbone").add_subparsers(dest="backbone_command", required=True)
    train = backbone.add_parser("train", parents=[common], help="train it on the Action World train split")
    train.add_argument("--backbone", default="world", choices=["world", "lit"],
                       help="world: CNN trained from scratch; lit: locked ImageNet EfficientNet-Lite0 + MiniLM")
    train.add_argument("--data", required=True, help="world folder (with manifest.jsonl)")
    train.add_argument("--out", help="checkpoint folder (default: DATA/backbone, lit: DATA/backbone-lit)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    train.add_argument("--epochs", type=int, default=40)
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="cpu")
    train.set_defaults(func=cmd_backbone_train)

    probe = sub.add_parser("probe", parents=[common, reading], help="ActionBench probes: antonym, reversal, object replacement")
    probe.add_argument("--backbone", default="world", help="backbone name (world)")
    probe.add_argument("--weights", help="backbone weights (world: checkpoint folder, default DATA/backbone)")
    probe.add_argument("--data", required=True, help="folder with manifest.jsonl, or a manifest .jsonl file")
    probe.add_argument("--videos", help="folder the manifest paths are relative to (default: the manifest's folder)")
    probe.add_argument("--split", default="test", choices=["train", "val", "test", "all"])
    probe.add_argument("--out", help="JSON output (default: next to the manifest)")
    probe.add_argument("--patcher", help="probe the backbone patched with this PAXION patcher folder")
    probe.add_argument("--fuser", help="probe the patched model fused with this Knowledge Fuser folder")
    probe.add_argument("--features", help="read frame features from this cache (`actionkit extract`) instead of "
                                          "decoding videos")
    probe.add_argument("--batch-size", type=int, default=32)
    probe.add_argument("--device", default="cpu")
    probe.set_defaults(func=cmd_probe)

    extract = sub.add_parser("extract", parents=[common, reading], help="cache a frozen backbone's frame features once")
    extract.add_argument("--backbone", default="world", help="backbone name (world, lit, hf-clip:DIR, hf-xclip:DIR)")
    extract.add_argument("--weights", help="backbone weights (world: default DATA/backbone)")
    extract.add_argument("--data", required=True, help="folder with manifest.jsonl, or a manifest .jsonl file")
    extract.add_argument("--videos", help="folder the manifest paths are relative to (default: the manifest's folder)")
    extract.add_argument("--split", default="all", choices=["train", "val", "test", "all"])
    extract.add_argument("--out", required=True, help="cache folder (rerunning continues where it stopped)")
    extract.add_argument("--dtype", default="float16", choices=["float16", "bfloat16", "float32"])
    extract.add_argument("--batch-size", type=int, default=32, help="clips per backbone call")
    extract.add_argument("--shard-size", type=int, default=512, help="clips per shard file")
    extract.add_argument("--device", default="cpu")
    extract.add_argument("--compile", action="store_true", help="torch.compile the video encoder")
    extract.add_argument("--retry-skipped", action="store_true",
                         help="decode again the clips an earlier run skipped (e.g. after a timeout)")
    extract.set_defaults(func=cmd_extract)

    patch = sub.add_parser("patch", parents=[common], help="train PAXION's Knowledge Patcher with DVDM")
    patch.add_argument("--backbone", default="world", help="backbone name (world)")
    patch.add_argument("--weights", help="backbone weights (world: default DATA/backbone)")
    patch.add_argument("--data", required=True, help="folder with manifest.jsonl (its train split is used)")
    patch.add_argument("--out", help="patcher folder (default DATA/patcher)")
    patch.add_argument("--features", help="frame features of the train clips from this cache (`actionkit extract`)")
    patch.add_argument("--objectives", default="vtc,vac,atm", help="comma-separated subset of vtc,vac,atm")
    patch.add_argument("--loss-weights", default="vtc=1,vac=1,atm=1", help="weights of the objectives, NAME=NUMBER,...")
    patch.add_argument("--epochs", type=int, default=30)
    patch.add_argument("--batch-size", type=int, default=128)
    patch.add_argument("--lr", type=float, default=1e-3)
    patch.add_argument("--seed", type=int, default=0)
    patch.add_argument("--device", default="cpu")
    patch.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    patch.add_argument("--atm-shuffle", action="store_true", help="ATM: add a frame-shuffled candidate")
    patch.add_argument("--skip-missing-antonyms", action="store_true",
                       help="VAC: drop (and count) records without an antonym caption instead of failing")
    patch.add_argument("--no-text-perceiver", action="store_true",
                       help="use the backbone's pooled text embedding instead of the order-aware text perceiver")
    patch.add_argument("--latents", type=int, default=16)
    patch.add_argument("--dim", type=int, default=64)
    patch.add_argument("--depth", type=int, default=1)
    patch.add_argument("--heads", type=int, default=4)
    patch.set_defaults(func=cmd_patch)

    fuse = sub.add_parser("fuse", parents=[common], help="train PAXION's Knowledge Fuser (patcher frozen)")
    fuse.add_argument("--backbone", default="world", help="backbone name (world)")
    fuse.add_argument("--weights", help="backbone weights (world: default DATA/backbone)")
    fuse.add_argument("--patcher", required=True, help="patcher folder written by `actionkit patch`")
    fuse.add_argument("--data", required=True, help="folder with manifest.jsonl (its train split is used)")
    fuse.add_argument("--out", help="fuser folder (default DATA/fuser)")
    fuse.add_argument("--features", help="frame features of the train clips from this cache (`actionkit extract`)")
    fuse.add_argument("--variant", default="cross_attention", choices=["cross_attention", "side_tuning"])
    fuse.add_argument("--epochs", type=int, default=10)
    fuse.add_argument("--batch-size", type=int, default=128)
    fuse.add_argument("--lr", type=float, default=1e-3)
    fuse.add_argument("--seed", type=int, default=0)
    fuse.add_argument("--device", default="cpu")
    fuse.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    fuse.set_defaults(func=cmd_fuse)

    evaluation = argparse.ArgumentParser(add_help=False)
    evaluation.add_argument("--task", default="all",
                            help="all, or comma-separated: zeroshot,fewshot,retrieval,video2action,mcqa,rcad")
    evaluation.add_argument("--backbone", default="world", help="backbone name (world, lit, hf-clip:DIR, ...)")
    evaluation.add_argument("--weights", help="backbone weights (world: default DATA/backbone)")
    evaluation.add_argument("--patcher", help="PAXION patcher folder")
    evaluation.add_argument("--data", required=True, help="folder with manifest.jsonl, or a manifest .jsonl file")
    evaluation.add_argument("--features", help="frame features from this cache instead of decoding videos")
    evaluation.add_argument("--classes", nargs="+", help="class list(s), one class per line, for zeroshot/fewshot/"
                            "video2action; several split files (e.g. the three UCF101 splits) give mean +- std over "
                            "them; default: every verb of the split")
    evaluation.add_argument("--questions", help="multiple-choice JSONL (default on the Action World: built)")
    evaluation.add_argument("--counterfactuals", help="RCAD JSONL (default on the Action World: built)")
    evaluation.add_argument("--shots", type=int, nargs="+", default=[2, 4, 8, 16], help="few-shot K values")
    evaluation.add_argument("--fewshot-seeds", type=int, default=3, help="episodes (seeds 0..N-1) per K")
    evaluation.add_argument("--seed", type=int, default=0)
    evaluation.add_argument("--device", default="cpu")

    ev = sub.add_parser("eval", parents=[common, evaluation, reading], help="downstream tasks for one model")
    ev.add_argument("--fuser", help="Knowledge Fuser folder (needs --patcher)")
    ev.add_argument("--videos", help="folder the manifest paths are relative to (default: the manifest's folder)")
    ev.add_argument("--split", default="test", choices=["train", "val", "test", "all"])
    ev.add_argument("--out", help="JSON output (default: next to the manifest)")
    ev.set_defaults(func=cmd_eval)

    ft = sub.add_parser("finetune", parents=[common, evaluation, reading],
                        help="train the Knowledge Fuser on the train split (patcher frozen), then evaluate")
    ft.add_argument("--out", help="fuser folder (default DATA/fuser); its eval JSON goes inside")
    ft.add_argument("--split", default="test", choices=["val", "test"], help="evaluated split")
    ft.add_argument("--variant", default="cross_attention", choices=["cross_attention", "side_tuning"])
    ft.add_argument("--epochs", type=int, default=10)
    ft.add_argument("--batch-size", type=int, default=128)
    ft.add_argument("--lr", type=float, default=1e-3)
    ft.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    ft.set_defaults(func=cmd_finetune)

    demo = sub.add_parser("demo", parents=[common], help="generate the world, train the backbone, probe it, report")
    demo.add_argument("--out", help="output folder (default runs/<timestamp>/; rerunning resumes)")
    demo.add_argument("--quick", action="store_true", help="the same pipeline, small (under a minute)")
    demo.add_argument("--n", type=int, help="number of clips (default 5000, quick 240)")
    demo.add_argument("--epochs", type=int, help="backbone training epochs")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=cmd_demo)

    bench = sub.add_parser("bench", help="ActionBench records").add_subparsers(dest="bench_command", required=True)
    bench_build = bench.add_parser("build", parents=[common], help="antonym and object-replaced captions -> JSONL")
    bench_build.add_argument("--format", required=True, choices=["ssv2"], help="annotation format")
    bench_build.add_argument("--labels", required=True, help="labels.json (template -> class index)")
    bench_build.add_argument("--annotations", required=True, help="SSv2 annotation JSON (a list of items)")
    bench_build.add_argument("--out", required=True, help="output manifest (.jsonl)")
    bench_build.add_argument("--split", default="val", choices=["train", "val", "test"])
    bench_build.add_argument("--seed", type=int, default=0, help="seed of the object replacement")
    bench_build.add_argument("--videos", help="video folder: rows whose video is missing, unreadable or shorter "
                                              "than their window are dropped and listed")
    bench_build.add_argument("--videos-ext", default=".webm", help="file extension of the SSv2 videos")
    bench_build.set_defaults(func=cmd_bench_build)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from actionkit.data.manifest import ManifestError
    from actionkit.video.decode import VideoDecodeError
    from actionkit.world.generate import WorldConfigMismatch

    try:
        return args.func(args)
    except (ManifestError, VideoDecodeError, WorldConfigMismatch, FileNotFoundError, ValueError) as e:
        # ValueError covers bad arguments and ConfigMismatch (a checkpoint that does not fit)
        print(f"actionkit: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
